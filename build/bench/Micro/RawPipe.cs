using System;
using System.Runtime.InteropServices;
using Mono.Unix.Native;

namespace MSBuild.Jobserver.Micro;

/// <summary>
/// The physical floor of a token round trip: a pipe(2) holding one byte; read it, write it back.
/// Two flavours: direct libc P/Invoke (the floor), and Mono.Posix.NETStandard's Syscall wrappers,
/// which is what src/MSBuild.Jobserver uses for every POSIX call.
/// </summary>
public unsafe class RawPipe : IDisposable
{
    private int _read = -1;
    private int _write = -1;

    [DllImport("libc", SetLastError = true, EntryPoint = "pipe")]
    private static extern int LibcPipe(int* fds);

    [DllImport("libc", SetLastError = true, EntryPoint = "read")]
    private static extern nint LibcRead(int fd, byte* buf, nint count);

    [DllImport("libc", SetLastError = true, EntryPoint = "write")]
    private static extern nint LibcWrite(int fd, byte* buf, nint count);

    [DllImport("libc", SetLastError = true, EntryPoint = "open")]
    private static extern int LibcOpen([MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags);

    [DllImport("libc", EntryPoint = "close")]
    private static extern int LibcClose(int fd);

    /// <summary>The read end (no FD_CLOEXEC, like a pipe inherited from make).</summary>
    public int ReadFd => _read;

    /// <summary>The write end.</summary>
    public int WriteFd => _write;

    /// <summary>Creates the pipe and puts one token in it.</summary>
    public void Open()
    {
        var fds = stackalloc int[2];
        if (LibcPipe(fds) != 0)
        {
            throw new InvalidOperationException("pipe() failed: errno " + Marshal.GetLastPInvokeError());
        }

        _read = fds[0];
        _write = fds[1];
        byte token = (byte)'+';
        if (LibcWrite(_write, &token, 1) != 1)
        {
            throw new InvalidOperationException("write() failed");
        }
    }

    /// <summary>
    /// Opens an existing FIFO that already holds one token (a pool's), read+write on one description,
    /// the way our clients open it. The FIFO's owner keeps the token count.
    /// </summary>
    public void OpenFifo(string path)
    {
        const int O_RDWR = 2;
        const int O_CLOEXEC = 0x80000;
        var fd = LibcOpen(path, O_RDWR | O_CLOEXEC);
        if (fd < 0)
        {
            throw new InvalidOperationException("open(" + path + ") failed: errno " + Marshal.GetLastPInvokeError());
        }

        _read = _write = fd;
    }

    /// <summary>read(2) one byte, write(2) it back, through libc directly.</summary>
    public byte RoundTripLibc()
    {
        byte b;
        if (LibcRead(_read, &b, 1) != 1 || LibcWrite(_write, &b, 1) != 1)
        {
            throw new InvalidOperationException("pipe round trip failed");
        }

        return b;
    }

    /// <summary>The same through Mono.Unix.Native.Syscall.</summary>
    public byte RoundTripMonoPosix()
    {
        byte b;
        if (Syscall.read(_read, &b, 1) != 1 || Syscall.write(_write, &b, 1) != 1)
        {
            throw new InvalidOperationException("pipe round trip failed");
        }

        return b;
    }

    public void Dispose()
    {
        if (_read >= 0)
        {
            LibcClose(_read);
            if (_write != _read)
            {
                LibcClose(_write);
            }

            _read = _write = -1;
        }

        GC.SuppressFinalize(this);
    }
}
