using MSBuild.Jobserver.Protocol;
using Mono.Unix.Native;

namespace MSBuild.Jobserver.Posix;

/// <summary>The POSIX checks of an advertised jobserver: fcntl and fstat/lstat only, no read or write.</summary>
internal static class PosixValidator
{
    private const uint GroupOrOtherWritable = 0x12; // S_IWGRP | S_IWOTH
    private const uint GroupOrOtherReadable = 0x24; // S_IRGRP | S_IROTH

    private const string PassItDown =
        "the jobserver was not passed down to this process. In a Makefile, prefix the rule that runs this build with '+' " +
        "or run it through $(MAKE); otherwise unset the variable";

    private const string Stale = "the value is stale or was set by hand: unset the variable, or start this build from the make rule (with '+') that owns the jobserver";

    public static JobserverValidation Validate(JobserverAuth auth, string source) => auth.Kind switch
    {
        JobserverAuthKind.Pipe => ValidatePipe(auth, source),
        JobserverAuthKind.Fifo => ValidateFifo(auth, source),
        _ => JobserverValidation.Invalid(
            auth,
            JobserverRejection.SemaphoreUnsupported,
            source + " names the Windows semaphore '" + auth.Name + "', which cannot be used on this operating system: " +
            "the value was copied from a Windows build; unset the variable."),
    };

    private static JobserverValidation ValidatePipe(JobserverAuth auth, string source)
    {
        int r = auth.ReadFd, w = auth.WriteFd;
        if (r < 0 || w < 0)
        {
            return Invalid(auth, JobserverRejection.DescriptorClosed, source + " names negative descriptors: the parent disabled the jobserver for this command, so " + PassItDown + ".");
        }

        foreach (var fd in new[] { r, w })
        {
            if (PosixCalls.GetDescriptorFlags(fd, out var errno) is var flags && flags < 0)
            {
                return Invalid(auth, JobserverRejection.DescriptorClosed, "Descriptor " + fd + " from " + source + " is not open in this process (" + PosixCalls.Describe(errno) + "): " + PassItDown + ".");
            }

            // An inherited pipe has close-on-exec clear; a set flag means this process opened the descriptor itself.
            if ((flags & PosixCalls.FdCloseOnExec) != 0)
            {
                return Invalid(auth, JobserverRejection.CloseOnExec, "Descriptor " + fd + " from " + source + " was opened by this process itself (close-on-exec is set), so it is not a jobserver inherited from a parent: " + PassItDown + ".");
            }
        }

        if (!PosixCalls.TryFstat(r, out var read, out var readErrno) || !PosixCalls.TryFstat(w, out var write, out readErrno))
        {
            return Invalid(auth, JobserverRejection.DescriptorClosed, "Descriptors " + r + "," + w + " from " + source + " cannot be examined (" + PosixCalls.Describe(readErrno) + "): " + PassItDown + ".");
        }

        foreach (var (fd, status) in new[] { (r, read), (w, write) })
        {
            if (status.Type != PosixCalls.TypeFifo)
            {
                return Invalid(auth, JobserverRejection.NotAPipe, "Descriptor " + fd + " from " + source + " is " + DescribeType(status.Type) + ", not a pipe: " + Stale + ".");
            }
        }

        if (read.Identity != write.Identity)
        {
            return Invalid(auth, JobserverRejection.DifferentPipes, "Descriptors " + r + " and " + w + " from " + source + " are two different pipes, not the two ends of one jobserver: " + Stale + ".");
        }

        var readMode = PosixCalls.GetAccessMode(r, out _);
        var writeMode = PosixCalls.GetAccessMode(w, out _);
        if (readMode is not (0 or 2) || writeMode is not (1 or 2))
        {
            var which = readMode is not (0 or 2) ? "read end " + r + " cannot be read" : "write end " + w + " cannot be written";
            return Invalid(auth, JobserverRejection.WrongAccessMode, "The jobserver pipe from " + source + " is unusable: its " + which + " (are the two numbers swapped?); " + Stale + ".");
        }

        return JobserverValidation.Valid(auth, "Descriptors " + r + "," + w + " from " + source + " are both ends of an inherited pipe.", read.Identity);
    }

    private static JobserverValidation ValidateFifo(JobserverAuth auth, string source)
    {
        var path = auth.Path!;
        if (!PosixCalls.TryLstat(path, out var status, out var errno))
        {
            return errno == Errno.ENOENT
                ? Invalid(auth, JobserverRejection.FifoMissing, "The jobserver FIFO " + path + " from " + source + " does not exist: the make that created it has probably exited; " + Stale + ".")
                : Invalid(auth, JobserverRejection.FifoOpenFailed, "The jobserver FIFO " + path + " from " + source + " cannot be examined (" + PosixCalls.Describe(errno) + "): check the permissions of its directory, or unset the variable.");
        }

        if (status.Type == PosixCalls.TypeSymlink)
        {
            return Invalid(auth, JobserverRejection.FifoIsSymlink, "The jobserver path " + path + " from " + source + " is a symbolic link, which is not trusted (it could be redirected to any file): name the FIFO itself.");
        }

        if (status.Type != PosixCalls.TypeFifo)
        {
            return Invalid(auth, JobserverRejection.FifoNotAFifo, "The jobserver path " + path + " from " + source + " is " + DescribeType(status.Type) + ", not a FIFO: " + Stale + ".");
        }

        var uid = PosixCalls.GetUid();
        if (status.Uid != uid)
        {
            return Invalid(auth, JobserverRejection.FifoNotPrivate, "The jobserver FIFO " + path + " from " + source + " belongs to user id " + status.Uid + ", not to this user (" + uid + "), so it is not trusted: run the build as the user who started make, or unset the variable.");
        }

        if ((status.Permissions & GroupOrOtherWritable) != 0)
        {
            return Invalid(auth, JobserverRejection.FifoNotPrivate, "The jobserver FIFO " + path + " from " + source + " can be written by other users (mode " + System.Convert.ToString(status.Permissions, 8) + "), so anyone could add tokens: run 'chmod go-w " + path + "' or unset the variable.");
        }

        if ((status.Permissions & GroupOrOtherReadable) != 0)
        {
            return Invalid(auth, JobserverRejection.FifoNotPrivate, "The jobserver FIFO " + path + " from " + source + " can be read by other users (mode " + System.Convert.ToString(status.Permissions, 8) + "), so anyone could take its tokens and starve the build: run 'chmod go-r " + path + "' or unset the variable.");
        }

        return JobserverValidation.Valid(auth, "The jobserver FIFO " + path + " from " + source + " is a private FIFO of this user.", status.Identity);
    }

    private static JobserverValidation Invalid(JobserverAuth auth, JobserverRejection reason, string message) =>
        JobserverValidation.Invalid(auth, reason, message);

    private static string DescribeType(uint type) => type switch
    {
        0x8000 => "a regular file",
        PosixCalls.TypeDirectory => "a directory",
        0x2000 => "a character device (such as /dev/null or a terminal)",
        0x6000 => "a block device",
        0xC000 => "a socket",
        PosixCalls.TypeSymlink => "a symbolic link",
        _ => "not a pipe (file type 0" + System.Convert.ToString(type, 8) + ")",
    };
}
