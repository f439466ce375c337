using System.IO.Pipes;
using MSBuild.Jobserver.Platform;
using MSBuild.Jobserver.Protocol;
using Mono.Unix.Native;

namespace MSBuild.Jobserver.Tests;

/// <summary>Validation on real descriptors and paths of this process, each opened the way the case needs.</summary>
[TestClass]
public sealed class ValidationTests
{
    private readonly List<int> _fds = new();
    private string _dir = null!;

    [TestInitialize]
    public void Setup() => _dir = TestSupport.NewTempDirectory("validate");

    [TestCleanup]
    public void Cleanup()
    {
        _fds.ForEach(fd => Syscall.close(fd));
        Directory.Delete(_dir, recursive: true);
    }

    [TestMethod]
    public void AcceptsAnInheritablePipeAndReadsNothing()
    {
        var (r, w) = Pipe();
        Write(w, (byte)'+');
        var v = JobserverValidator.Validate(JobserverAuth.Pipe(r, w));
        Assert.IsTrue(v.IsValid, v.Message);
        Assert.IsNull(v.Reason);
        Assert.AreEqual(0, Syscall.fstat(r, out var stat));
        Assert.AreEqual(new PipeIdentity(stat.st_dev, stat.st_ino), v.Identity);
        Assert.AreEqual(1, ReadAll(r), "validation must not take the token");
    }

    [TestMethod]
    public void AcceptsTwoReadWriteDescriptorsOfOneFifo()
    {
        var fifo = MakeFifo("ok", "600");
        int a = Open(fifo, OpenFlags.O_RDWR), b = Open(fifo, OpenFlags.O_RDWR);
        Assert.IsTrue(JobserverValidator.Validate(JobserverAuth.Pipe(a, b)).IsValid);
    }

    [TestMethod]
    public void RejectsClosedDescriptorsAndNamesTheFix()
    {
        var (r, _) = Pipe();
        var closed = FreeDescriptor();
        var v = JobserverValidator.Validate(JobserverAuth.Pipe(r, closed), "MAKEFLAGS");
        Expect(v, JobserverRejection.DescriptorClosed, "descriptor " + closed, "MAKEFLAGS", "'+'", "$(MAKE)");
        Expect(JobserverValidator.Validate(JobserverAuth.Pipe(-2, -2)), JobserverRejection.DescriptorClosed, "'+'");
    }

    [TestMethod]
    public void MessagesDoNotAssumeMakeflags()
    {
        var closed = FreeDescriptor();
        var plain = JobserverValidator.Validate(JobserverAuth.Pipe(closed, closed));
        Assert.DoesNotContain("MAKEFLAGS", plain.Message);
        StringAssert.Contains(plain.Message, "--jobserver-auth=" + closed + "," + closed);
        StringAssert.Contains(JobserverValidator.Validate(JobserverAuth.Pipe(closed, closed), "CARGO_MAKEFLAGS").Message, "CARGO_MAKEFLAGS");
    }

    [TestMethod]
    public void RejectsARegularFile()
    {
        var file = Path.Combine(_dir, "file");
        File.WriteAllText(file, "++++");
        var fd = Open(file, OpenFlags.O_RDWR);
        Expect(JobserverValidator.Validate(JobserverAuth.Pipe(fd, fd)), JobserverRejection.NotAPipe, "regular file");
        Assert.AreEqual("++++", File.ReadAllText(file));
    }

    [TestMethod]
    public void RejectsDevNull()
    {
        var fd = Open("/dev/null", OpenFlags.O_RDWR);
        Expect(JobserverValidator.Validate(JobserverAuth.Pipe(fd, fd)), JobserverRejection.NotAPipe, "character device");
    }

    [TestMethod]
    public void RejectsASocket()
    {
        Assert.AreEqual(0, Syscall.socketpair(UnixAddressFamily.AF_UNIX, UnixSocketType.SOCK_STREAM, 0, out var a, out var b));
        _fds.AddRange(new[] { a, b });
        Expect(JobserverValidator.Validate(JobserverAuth.Pipe(a, b)), JobserverRejection.NotAPipe, "socket");
    }

    [TestMethod]
    public void RejectsEndsOfDifferentPipes()
    {
        var (r1, _) = Pipe();
        var (_, w2) = Pipe();
        Expect(JobserverValidator.Validate(JobserverAuth.Pipe(r1, w2)), JobserverRejection.DifferentPipes, "different pipes");
    }

    [TestMethod]
    public void RejectsSwappedEnds()
    {
        var (r, w) = Pipe();
        Expect(JobserverValidator.Validate(JobserverAuth.Pipe(w, r)), JobserverRejection.WrongAccessMode, "swapped");
    }

    [TestMethod]
    public void RejectsAPipeThisProcessCreated()
    {
        // .NET opens its descriptors close-on-exec; make hands its pipe down with the flag clear.
        using var server = new AnonymousPipeServerStream(PipeDirection.Out, HandleInheritability.None);
        var w = (int)server.SafePipeHandle.DangerousGetHandle();
        var r = (int)server.ClientSafePipeHandle.DangerousGetHandle();
        Expect(JobserverValidator.Validate(JobserverAuth.Pipe(r, w)), JobserverRejection.CloseOnExec, "close-on-exec", "'+'");
    }

    [TestMethod]
    public void AcceptsAPrivateFifo()
    {
        var fifo = MakeFifo("fifo", "600");
        var v = JobserverValidator.Validate(JobserverAuth.Fifo(fifo));
        Assert.IsTrue(v.IsValid, v.Message);
        Assert.AreEqual(0, Syscall.stat(fifo, out var stat));
        Assert.AreEqual(new PipeIdentity(stat.st_dev, stat.st_ino), v.Identity);
    }

    [TestMethod]
    public void RejectsAMissingFifo() =>
        Expect(JobserverValidator.Validate(JobserverAuth.Fifo(Path.Combine(_dir, "gone")), "MAKEFLAGS"), JobserverRejection.FifoMissing, "does not exist", "MAKEFLAGS");

    [TestMethod]
    public void RejectsASymlinkToAFifo()
    {
        var link = Path.Combine(_dir, "link");
        File.CreateSymbolicLink(link, MakeFifo("target", "600"));
        Expect(JobserverValidator.Validate(JobserverAuth.Fifo(link)), JobserverRejection.FifoIsSymlink, "symbolic link");
    }

    [TestMethod]
    public void RejectsARegularFileAndADirectory()
    {
        var file = Path.Combine(_dir, "file");
        File.WriteAllText(file, string.Empty);
        Expect(JobserverValidator.Validate(JobserverAuth.Fifo(file)), JobserverRejection.FifoNotAFifo, "regular file");
        Expect(JobserverValidator.Validate(JobserverAuth.Fifo(_dir)), JobserverRejection.FifoNotAFifo, "directory");
    }

    [TestMethod]
    public void RejectsAFifoOthersCanWrite()
    {
        var fifo = MakeFifo("open", "622");
        Expect(JobserverValidator.Validate(JobserverAuth.Fifo(fifo)), JobserverRejection.FifoNotPrivate, "622", "chmod go-w");
    }

    [TestMethod]
    [DataRow("640")]
    [DataRow("604")]
    [DataRow("644")]
    public void RejectsAFifoOthersCanRead(string mode)
    {
        // Issue 19: a FIFO other users can read lets them take the build's tokens (make 4.4 makes its own 0600).
        var fifo = MakeFifo("readable-" + mode, mode);
        Expect(JobserverValidator.Validate(JobserverAuth.Fifo(fifo)), JobserverRejection.FifoNotPrivate, mode, "chmod go-r");
    }

    [TestMethod]
    public void RejectsAFifoOfAnotherUser()
    {
        if (Syscall.getuid() != 0)
        {
            Assert.Inconclusive("Needs root to give a FIFO to another user.");
        }

        var fifo = MakeFifo("theirs", "600");
        Assert.AreEqual(0, Syscall.chown(fifo, 65534, 65534));
        Expect(JobserverValidator.Validate(JobserverAuth.Fifo(fifo)), JobserverRejection.FifoNotPrivate, "65534");
    }

    [TestMethod]
    public void RejectsASemaphoreOnPosix() =>
        Expect(JobserverValidator.Validate(JobserverAuth.Semaphore("gmake_semaphore_1")), JobserverRejection.SemaphoreUnsupported, "gmake_semaphore_1");

    [TestMethod]
    public void ConnectThrowsTheSameRejection()
    {
        var e = Assert.ThrowsExactly<JobserverException>(() => PoolPlatform.Connect(JobserverAuth.Fifo(Path.Combine(_dir, "gone")), "CARGO_MAKEFLAGS"));
        Assert.AreEqual(JobserverRejection.FifoMissing, e.Reason);
        StringAssert.Contains(e.Message, "CARGO_MAKEFLAGS");
    }

    private static void Expect(JobserverValidation v, JobserverRejection reason, params string[] fragments)
    {
        Assert.IsFalse(v.IsValid);
        Assert.AreEqual(reason, v.Reason, v.Message);
        Assert.IsNull(v.Identity);
        foreach (var fragment in fragments)
        {
            Assert.Contains(fragment, v.Message, StringComparison.OrdinalIgnoreCase);
        }
    }

    private static int FreeDescriptor()
    {
        // A high number nothing here opens; checked, so the test cannot pass by accident.
        Assert.AreEqual(-1, Syscall.fcntl(987, FcntlCommand.F_GETFD));
        return 987;
    }

    private static void Write(int fd, byte b) => Assert.AreEqual(1L, Native.Write(fd, b));

    private static int ReadAll(int fd)
    {
        Assert.AreEqual(0, Syscall.fcntl(fd, FcntlCommand.F_SETFL, (long)OpenFlags.O_NONBLOCK));
        var n = 0;
        while (Native.Read(fd) >= 0)
        {
            n++;
        }

        return n;
    }

    private (int R, int W) Pipe()
    {
        Assert.AreEqual(0, Syscall.pipe(out var r, out var w));
        _fds.AddRange(new[] { r, w });
        return (r, w);
    }

    private int Open(string path, OpenFlags flags)
    {
        var fd = Syscall.open(path, flags);
        Assert.IsGreaterThanOrEqualTo(0, fd, path);
        _fds.Add(fd);
        return fd;
    }

    private string MakeFifo(string name, string octalMode)
    {
        var path = Path.Combine(_dir, name);
        var mode = (FilePermissions)Convert.ToUInt32(octalMode, 8);
        Assert.AreEqual(0, Syscall.mkfifo(path, mode));
        Assert.AreEqual(0, Syscall.chmod(path, mode));
        return path;
    }
}

/// <summary>One-byte read and write for the tests.</summary>
internal static unsafe class Native
{
    public static long Write(int fd, byte b) => Syscall.write(fd, &b, 1);

    /// <summary>The byte read, or -1.</summary>
    public static int Read(int fd)
    {
        byte b;
        return Syscall.read(fd, &b, 1) == 1 ? b : -1;
    }
}
