using System;
using System.Runtime.InteropServices;

namespace MSBuild.Jobserver.Posix;

/// <summary>
/// flock(2), which Mono.Posix does not wrap. BSD locks (not fcntl's) because they belong to the open file
/// description: a child that inherits the descriptor keeps the lock alive, and two descriptions in one process exclude
/// each other, as two processes do.
/// </summary>
internal static class NativeLock
{
    private static readonly Func<int, int, int> Call = Choose();

    /// <summary>flock(fd, operation); -1 with the error in Marshal.GetLastWin32Error().</summary>
    public static int Flock(int fd, int operation) => Call(fd, operation);

    private static Func<int, int, int> Choose()
    {
        // glibc's file is libc.so.6 ("libc.so" is a linker script); macOS and the BSDs resolve "libc".
        try
        {
            _ = LinuxFlock(-1, 0);
            return LinuxFlock;
        }
        catch (DllNotFoundException)
        {
            return OtherFlock;
        }
    }

    [DllImport("libc.so.6", EntryPoint = "flock", SetLastError = true)]
    private static extern int LinuxFlock(int fd, int operation);

    [DllImport("libc", EntryPoint = "flock", SetLastError = true)]
    private static extern int OtherFlock(int fd, int operation);
}
