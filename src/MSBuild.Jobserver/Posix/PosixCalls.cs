using System;
using System.IO;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using MSBuild.Jobserver.Pools;
using MSBuild.Jobserver.Protocol;
using Mono.Unix.Native;

namespace MSBuild.Jobserver.Posix;

/// <summary>What <c>lstat</c>/<c>fstat</c> said about a file, reduced to what the jobserver checks need.</summary>
internal readonly struct FileStatus
{
    public FileStatus(ulong device, ulong inode, uint mode, uint uid)
    {
        Device = device;
        Inode = inode;
        Mode = mode;
        Uid = uid;
    }

    public ulong Device { get; }

    public ulong Inode { get; }

    /// <summary>st_mode: type bits and permission bits, with POSIX values.</summary>
    public uint Mode { get; }

    public uint Uid { get; }

    public uint Type => Mode & PosixCalls.TypeMask;

    public uint Permissions => Mode & 0xFFF;

    public PipeIdentity Identity => new(Device, Inode);
}

/// <summary>How a non-blocking one-byte read ended.</summary>
internal enum ReadOutcome
{
    Byte,
    WouldBlock,
    EndOfFile,
}

/// <summary>
/// Every POSIX call the library makes, through Mono.Unix, so that nothing else P/Invokes and errno
/// handling lives in one place. Calls retry on EINTR; failures come back as errno or as <see cref="IOException"/>.
/// </summary>
internal static unsafe class PosixCalls
{
    internal const uint TypeMask = 0xF000;
    internal const uint TypeFifo = 0x1000;
    internal const uint TypeDirectory = 0x4000;
    internal const uint TypeSymlink = 0xA000;
    internal const int FdCloseOnExec = 1;
    private const int AccessModeMask = 3;
    private const int SetFdCloseOnExec = 1;

    private static readonly Lazy<JobserverException?> LoadFailure = new(ProbeHelperLibrary);

    private static Errno LastError => Stdlib.GetLastError();

    /// <summary>
    /// Throws <see cref="JobserverException"/> (<see cref="JobserverRejection.PlatformUnsupported"/>) when Mono.Unix or
    /// its native helper cannot load here (osx-arm64, musl ...). The one place that catches load failures.
    /// </summary>
    internal static void EnsureAvailable()
    {
        if (LoadFailure.Value is { } failure)
        {
            throw new JobserverException(failure.Reason, failure.Message, failure.InnerException);
        }
    }

    internal static string Describe(Errno errno) => Stdlib.strerror(errno) + " (" + errno + ")";

    internal static uint GetUid() => Syscall.getuid();

    internal static int GetPid() => Syscall.getpid();

    internal static bool TryLstat(string path, out FileStatus status, out Errno errno) =>
        Convert(Retry(() => { var r = Syscall.lstat(path, out var s); return (r, s); }, out errno), out status);

    internal static bool TryStat(string path, out FileStatus status, out Errno errno) =>
        Convert(Retry(() => { var r = Syscall.stat(path, out var s); return (r, s); }, out errno), out status);

    internal static bool TryFstat(int fd, out FileStatus status, out Errno errno) =>
        Convert(Retry(() => { var r = Syscall.fstat(fd, out var s); return (r, s); }, out errno), out status);

    /// <summary>F_GETFD: the descriptor flags, or -1 with <paramref name="errno"/> (EBADF when it is not open).</summary>
    internal static int GetDescriptorFlags(int fd, out Errno errno) => Fcntl(fd, FcntlCommand.F_GETFD, out errno);

    /// <summary>F_GETFL &amp; O_ACCMODE: 0 read-only, 1 write-only, 2 read-write; -1 with <paramref name="errno"/>.</summary>
    internal static int GetAccessMode(int fd, out Errno errno)
    {
        var flags = Fcntl(fd, FcntlCommand.F_GETFL, out errno);
        return flags < 0 ? flags : flags & AccessModeMask;
    }

    /// <summary>Opens a FIFO (or a /proc fd link) read-write, non-blocking, close-on-exec: a description of our own.</summary>
    internal static SafeFd? TryOpenFifo(string path, bool noFollow, out Errno errno)
    {
        var flags = OpenFlags.O_RDWR | OpenFlags.O_NONBLOCK | OpenFlags.O_CLOEXEC | (noFollow ? OpenFlags.O_NOFOLLOW : 0);
        var fd = RetryInt(() => Syscall.open(path, flags), out errno);
        return fd < 0 ? null : new SafeFd(fd);
    }

    /// <summary>
    /// A close-on-exec copy of <paramref name="fd"/>, so it never leaks into processes we start: made so atomically with
    /// F_DUPFD_CLOEXEC; where that call is not found (macOS), dup(2) and then FD_CLOEXEC.
    /// </summary>
    internal static SafeFd Duplicate(int fd)
    {
        if (CloseOnExecCalls.Exist)
        {
            var atomic = CloseOnExecCalls.DuplicateCloseOnExecOf(fd);
            if (atomic < 0)
            {
                throw Failure("fcntl(F_DUPFD_CLOEXEC)", NativeConvert.ToErrno(Marshal.GetLastWin32Error()));
            }

            return new SafeFd(atomic);
        }

        var copy = RetryInt(() => Syscall.dup(fd), out var errno);
        Check(copy, errno, "dup");
        var result = new SafeFd(copy);
        if (RetryInt(() => Syscall.fcntl(copy, FcntlCommand.F_SETFD, SetFdCloseOnExec), out errno) < 0)
        {
            result.Dispose();
            throw Failure("fcntl(F_SETFD)", errno);
        }

        return result;
    }

    /// <summary>
    /// A pipe whose ends are both close-on-exec, so neither leaks into processes we start: (read end, write end). pipe2
    /// makes them so atomically; where there is none (macOS), pipe(2) and then FD_CLOEXEC.
    /// </summary>
    internal static (SafeFd Read, SafeFd Write) Pipe()
    {
        if (CloseOnExecCalls.Exist)
        {
            var fds = new int[2];
            if (CloseOnExecCalls.PipeCloseOnExec(fds) < 0)
            {
                throw Failure("pipe2", NativeConvert.ToErrno(Marshal.GetLastWin32Error()));
            }

            return (new SafeFd(fds[0]), new SafeFd(fds[1]));
        }

        int read = -1, write = -1;
        Check(RetryInt(() => Syscall.pipe(out read, out write), out var errno), errno, "pipe");
        var ends = (Read: new SafeFd(read), Write: new SafeFd(write));
        try
        {
            SetCloseOnExec(read, closeOnExec: true);
            SetCloseOnExec(write, closeOnExec: true);
            return ends;
        }
        catch
        {
            ends.Read.Dispose();
            ends.Write.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Opens (creating it 0600 when <paramref name="create"/>) a lock file without following a symbolic link, close-on-exec;
    /// null with <paramref name="errno"/> when it cannot.
    /// </summary>
    internal static SafeFd? TryOpenLockFile(string path, bool create, out Errno errno)
    {
        var flags = OpenFlags.O_RDWR | OpenFlags.O_CLOEXEC | OpenFlags.O_NOFOLLOW | (create ? OpenFlags.O_CREAT : 0);
        var fd = RetryInt(() => Syscall.open(path, flags, FilePermissions.S_IRUSR | FilePermissions.S_IWUSR), out errno);
        return fd < 0 ? null : new SafeFd(fd);
    }

    /// <summary>
    /// flock(2) LOCK_EX|LOCK_NB (LOCK_SH when <paramref name="shared"/>): true when this open file description now holds
    /// the lock. The lock belongs to the description, so the kernel drops it when the last process holding the
    /// description (inherited ones too) ends. A file system without flock throws <see cref="LocksUnsupportedException"/>.
    /// </summary>
    internal static bool TryLock(int fd, bool shared)
    {
        const int LockShared = 1, LockExclusive = 2, LockNonBlocking = 4;
        while (true)
        {
            if (NativeLock.Flock(fd, (shared ? LockShared : LockExclusive) | LockNonBlocking) == 0)
            {
                return true;
            }

            var errno = NativeConvert.ToErrno(Marshal.GetLastWin32Error());
            if (errno == Errno.EWOULDBLOCK || errno == Errno.EAGAIN)
            {
                return false;
            }

            if (errno is Errno.ENOSYS or Errno.ENOLCK or Errno.EOPNOTSUPP)
            {
                throw new LocksUnsupportedException("This file system cannot lock files (flock: " + Describe(errno) + ").");
            }

            if (errno != Errno.EINTR)
            {
                throw Failure("lock a jobserver file (flock)", errno);
            }
        }
    }

    /// <summary>Sets or clears FD_CLOEXEC: a cleared descriptor is inherited by the processes started meanwhile.</summary>
    internal static void SetCloseOnExec(int fd, bool closeOnExec)
    {
        var r = RetryInt(() => Syscall.fcntl(fd, FcntlCommand.F_SETFD, closeOnExec ? SetFdCloseOnExec : 0), out var errno);
        Check(r, errno, "fcntl(F_SETFD)");
    }

    /// <summary>rename(2): atomic within one file system; false with <paramref name="errno"/> when it fails.</summary>
    internal static bool TryRename(string from, string to, out Errno errno) =>
        RetryInt(() => Syscall.rename(from, to), out errno) == 0;

    /// <summary>mkdir(2); false with <paramref name="errno"/> when it failed.</summary>
    internal static bool TryMakeDirectory(string path, uint mode, out Errno errno) =>
        RetryInt(() => Syscall.mkdir(path, (FilePermissions)mode), out errno) == 0;

    internal static Errno MakeFifo(string path, uint mode)
    {
        RetryInt(() => Syscall.mkfifo(path, (FilePermissions)mode), out var errno);
        return errno;
    }

    /// <summary>chmod(2), because mkdir/mkfifo modes are narrowed by the umask and we need exact ones.</summary>
    internal static void ChangeMode(string path, uint mode)
    {
        var r = RetryInt(() => Syscall.chmod(path, (FilePermissions)mode), out var errno);
        Check(r, errno, "chmod " + path);
    }

    /// <summary>Best effort: a pool that is already gone is as good as removed.</summary>
    internal static void Unlink(string path) => Syscall.unlink(path);

    /// <summary>Best effort, like <see cref="Unlink"/>.</summary>
    internal static void RemoveDirectory(string path) => Syscall.rmdir(path);

    internal static void Close(int fd) => Syscall.close(fd);

    /// <summary>readlink(2): what a link (such as <c>/proc/PID/fd/N</c>) points to; null when it cannot be read.</summary>
    internal static string? TryReadLink(string path)
    {
        var target = new System.Text.StringBuilder(256);
        return Syscall.readlink(path, target) < 0 ? null : target.ToString();
    }

    /// <summary>False only when no process has this id (ESRCH); a process of another user counts as alive.</summary>
    internal static bool IsProcessAlive(int pid) =>
        Syscall.kill(pid, 0) == 0 || LastError != Errno.ESRCH;

    /// <summary>Reads one byte. On a blocking descriptor this waits; on a non-blocking one EAGAIN becomes WouldBlock.</summary>
    internal static ReadOutcome ReadByte(int fd, out byte value)
    {
        byte buffer = 0;
        long n;
        Errno errno;
        do
        {
            n = Syscall.read(fd, &buffer, 1);
            errno = n < 0 ? LastError : 0;
        }
        while (errno == Errno.EINTR);

        value = buffer;
        if (n > 0)
        {
            return ReadOutcome.Byte;
        }

        if (n == 0)
        {
            return ReadOutcome.EndOfFile;
        }

        if (errno == Errno.EAGAIN || errno == Errno.EWOULDBLOCK)
        {
            return ReadOutcome.WouldBlock;
        }

        throw Failure("read from the jobserver", errno);
    }

    /// <summary>Writes one byte; false if a non-blocking pipe is full (EAGAIN).</summary>
    internal static bool TryWriteByte(int fd, byte value)
    {
        long n;
        Errno errno;
        do
        {
            n = Syscall.write(fd, &value, 1);
            errno = n < 0 ? LastError : 0;
        }
        while (errno == Errno.EINTR);

        if (n == 1)
        {
            return true;
        }

        if (n < 0 && (errno == Errno.EAGAIN || errno == Errno.EWOULDBLOCK))
        {
            return false;
        }

        throw Failure("write to the jobserver", errno);
    }

    /// <summary>
    /// poll(2) for readability (or writability) of <paramref name="fds"/>; returns the index of the first ready one, or
    /// -1 on timeout or EINTR. Error or hang-up conditions count as ready so that the following read reports them.
    /// </summary>
    internal static int Poll(int[] fds, bool forWrite, int timeoutMs)
    {
        var want = forWrite ? PollEvents.POLLOUT : PollEvents.POLLIN;
        var set = new Pollfd[fds.Length];
        for (var i = 0; i < fds.Length; i++)
        {
            set[i].fd = fds[i];
            set[i].events = want;
        }

        if (Syscall.poll(set, timeoutMs) < 0)
        {
            var errno = LastError;
            return errno == Errno.EINTR ? -1 : throw Failure("poll the jobserver", errno);
        }

        for (var i = 0; i < set.Length; i++)
        {
            if (set[i].revents != 0)
            {
                return i;
            }
        }

        return -1;
    }

    internal static IOException Failure(string what, Errno errno) => new("Could not " + what + ": " + Describe(errno) + ".");

    private static int Fcntl(int fd, FcntlCommand command, out Errno errno)
    {
        return RetryInt(() => Syscall.fcntl(fd, command), out errno);
    }

    private static void Check(int result, Errno errno, string what)
    {
        if (result < 0)
        {
            throw Failure(what, errno);
        }
    }

    private static bool Convert((int Result, Stat Stat) call, out FileStatus status)
    {
        if (call.Result < 0)
        {
            status = default;
            return false;
        }

        status = new FileStatus(call.Stat.st_dev, call.Stat.st_ino, (uint)call.Stat.st_mode, call.Stat.st_uid);
        return true;
    }

    // errno is read exactly once per failure: reading it runs a conversion P/Invoke that resets it.
    private static int RetryInt(Func<int> call, out Errno errno)
    {
        while (true)
        {
            var r = call();
            errno = r < 0 ? LastError : 0;
            if (errno != Errno.EINTR)
            {
                return r;
            }
        }
    }

    private static (int Result, Stat Stat) Retry(Func<(int Result, Stat Stat)> call, out Errno errno)
    {
        while (true)
        {
            var r = call();
            errno = r.Result < 0 ? LastError : 0;
            if (errno != Errno.EINTR)
            {
                return r;
            }
        }
    }

    private static JobserverException? ProbeHelperLibrary()
    {
        try
        {
            TouchHelperLibrary();
            return null;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException or BadImageFormatException
                                      or TypeInitializationException or FileNotFoundException or FileLoadException)
        {
            return new JobserverException(
                JobserverRejection.PlatformUnsupported,
                "The POSIX helper library (Mono.Unix's libMono.Unix) cannot be loaded on " +
                RuntimeInformation.OSDescription + " " + RuntimeInformation.ProcessArchitecture +
                ", so no jobserver can be used here; tools run with their own parallelism. (" + e.GetType().Name + ": " +
                e.Message.Split('\n')[0].Trim() + ")",
                e);
        }
    }

    // Not inlined: loading Mono.Unix happens when this method is compiled, inside ProbeHelperLibrary's try.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void TouchHelperLibrary()
    {
        _ = Syscall.getpid();
        _ = Syscall.fstat(0, out _);
    }
}
