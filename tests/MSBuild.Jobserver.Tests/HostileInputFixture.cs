using System.IO.Pipes;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using Mono.Unix.Native;

namespace MSBuild.Jobserver.Tests;

/// <summary>
/// The real descriptors and paths one hostile-input case needs, made in this process the way a parent would hand
/// them down (no close-on-exec unless the case is about it), each with a sentinel: a byte left in every pipe,
/// socket and FIFO, the content and offset of every file. <see cref="Untouched"/> then proves that nothing was read
/// from or written to any of them.
/// </summary>
internal sealed class HostileInputFixture : IDisposable
{
    private const byte Sentinel = (byte)'#';
    private const ulong Fionread = 0x541B; // FIONREAD on Linux: bytes waiting to be read, without reading them.

    private readonly List<int> _fds = new();
    private readonly List<(string What, Func<string?> Problem)> _checks = new();
    private readonly List<IDisposable> _owned = new();

    public HostileInputFixture() => Directory = TestSupport.NewTempDirectory("hostile");

    /// <summary>A private temporary directory for the case's paths (0700 is not needed: the test runs as one user).</summary>
    public string Directory { get; }

    /// <summary>A pipe without close-on-exec (as make hands it down), holding one sentinel byte.</summary>
    public (int R, int W) Pipe()
    {
        Assert.AreEqual(0, Syscall.pipe(out var r, out var w));
        _fds.AddRange(new[] { r, w });
        Assert.AreEqual(1L, Native.Write(w, Sentinel));
        ExpectBytes("pipe " + r + "," + w, r, 1);
        return (r, w);
    }

    /// <summary>A connected pair of Unix sockets; one sentinel byte waits on the second.</summary>
    public (int A, int B) SocketPair()
    {
        Assert.AreEqual(0, Syscall.socketpair(UnixAddressFamily.AF_UNIX, UnixSocketType.SOCK_STREAM, 0, out var a, out var b));
        _fds.AddRange(new[] { a, b });
        Assert.AreEqual(1L, Native.Write(a, Sentinel));
        ExpectBytes("socket " + a, a, 0);
        ExpectBytes("socket " + b, b, 1);
        return (a, b);
    }

    /// <summary>A regular file with content, and a descriptor on it; its content and the descriptor's offset must not change.</summary>
    public int OpenFile(string name, OpenFlags flags)
    {
        var path = RegularFile(name);
        var fd = Open(path, flags);
        _checks.Add(("offset of " + path, () => Syscall.lseek(fd, 0, SeekFlags.SEEK_CUR) is var at && at == 0 ? null : "the offset moved to " + at));
        return fd;
    }

    /// <summary>Opens any path without close-on-exec.</summary>
    public int Open(string path, OpenFlags flags)
    {
        var fd = Syscall.open(path, flags);
        Assert.IsGreaterThanOrEqualTo(0, fd, "open " + path + ": " + Stdlib.GetLastError());
        _fds.Add(fd);
        return fd;
    }

    /// <summary>A regular file holding "++++"; it must still hold exactly that.</summary>
    public string RegularFile(string name)
    {
        var path = Path.Combine(Directory, name);
        File.WriteAllText(path, "++++");
        _checks.Add(("content of " + path, () => File.ReadAllText(path) == "++++" ? null : "the content changed to '" + File.ReadAllText(path) + "'"));
        return path;
    }

    /// <summary>
    /// A FIFO at <paramref name="relative"/> with <paramref name="octalMode"/> (and owner <paramref name="uid"/>), kept
    /// open here read-write with one sentinel byte in it: a reader that took it or a writer that added one shows.
    /// </summary>
    public string Fifo(string relative, string octalMode = "600", uint? uid = null)
    {
        if (uid is not null && Syscall.getuid() != 0)
        {
            Assert.Inconclusive("Needs root to give a FIFO to another user.");
        }

        var path = Path.Combine(Directory, relative);
        System.IO.Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var mode = (FilePermissions)Convert.ToUInt32(octalMode, 8);
        Assert.AreEqual(0, Syscall.mkfifo(path, mode), "mkfifo " + path);
        Assert.AreEqual(0, Syscall.chmod(path, mode));
        if (uid is { } owner)
        {
            Assert.AreEqual(0, Syscall.chown(path, (int)owner, (int)owner), "chown " + path);
        }

        var holder = Open(path, OpenFlags.O_RDWR | OpenFlags.O_NONBLOCK);
        Assert.AreEqual(1L, Native.Write(holder, Sentinel));
        ExpectBytes("FIFO " + path, holder, 1);
        return path;
    }

    /// <summary>A symbolic link at <paramref name="name"/> to <paramref name="target"/>.</summary>
    public string Symlink(string name, string target)
    {
        var path = Path.Combine(Directory, name);
        Assert.AreEqual(0, Syscall.symlink(target, path));
        return path;
    }

    /// <summary>A Unix socket bound to a path.</summary>
    public string BoundSocket(string name)
    {
        var path = Path.Combine(Directory, name);
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        socket.Bind(new UnixDomainSocketEndPoint(path));
        _owned.Add(socket);
        return path;
    }

    /// <summary>A descriptor number that is not open in this process (checked).</summary>
    public int ClosedDescriptor(int near = 900)
    {
        for (var fd = near; ; fd++)
        {
            if (Syscall.fcntl(fd, FcntlCommand.F_GETFD) == -1)
            {
                return fd;
            }
        }
    }

    /// <summary>
    /// A pipe of the .NET runtime's own, close-on-exec as everything the runtime opens: what a make rule without '+'
    /// leaves under the numbers make put in MAKEFLAGS. Nothing is added to it; its byte count must not change.
    /// </summary>
    public (int R, int W) RuntimePipe()
    {
        var server = new AnonymousPipeServerStream(PipeDirection.Out, HandleInheritability.None);
        _owned.Add(server);
        var w = (int)server.SafePipeHandle.DangerousGetHandle();
        var r = (int)server.ClientSafePipeHandle.DangerousGetHandle();
        Assert.AreNotEqual(0, Syscall.fcntl(r, FcntlCommand.F_GETFD) & 1, "the runtime's pipe should be close-on-exec");
        server.WriteByte(Sentinel);
        ExpectBytes("runtime pipe " + r + "," + w, r, 1);
        return (r, w);
    }

    /// <summary>Sets close-on-exec on <paramref name="fd"/>.</summary>
    public static void SetCloseOnExec(int fd) => Assert.AreEqual(0, Syscall.fcntl(fd, FcntlCommand.F_SETFD, 1L));

    /// <summary>Every sentinel as it was: nothing read, nothing written. Returns the problems found.</summary>
    public IReadOnlyList<string> Untouched() =>
        _checks.Select(c => c.Problem() is { } problem ? c.What + ": " + problem : null).OfType<string>().ToList();

    public void Dispose()
    {
        _owned.ForEach(o => o.Dispose());
        _fds.ForEach(fd => Syscall.close(fd));
        System.IO.Directory.Delete(Directory, recursive: true);
    }

    private void ExpectBytes(string what, int fd, int expected) =>
        _checks.Add((what, () => BytesWaiting(fd) is var n && n == expected ? null : n + " byte(s) waiting instead of " + expected));

    private static int BytesWaiting(int fd) => ioctl(fd, Fionread, out var count) == 0 ? count : -1;

    [DllImport("libc", SetLastError = true)]
    private static extern int ioctl(int fd, ulong request, out int count);
}
