using System;
using System.Runtime.InteropServices;

namespace MSBuild.Jobserver.Posix;

/// <summary>
/// The calls that make a descriptor close-on-exec in the same system call that creates it, which Mono.Unix does not wrap:
/// pipe2 with O_CLOEXEC and fcntl's F_DUPFD_CLOEXEC. A process another thread starts at that moment inherits nothing
/// (pipe(2) or dup(2) and then fcntl(F_SETFD) leaves it a window).
/// </summary>
internal static class CloseOnExecCalls
{
    // O_CLOEXEC and F_DUPFD_CLOEXEC on Linux x64, arm64 and arm, the only places glibc is looked for.
    private const int CloseOnExec = 0x80000;
    private const int DuplicateCloseOnExec = 1030;

    /// <summary>False where glibc's calls are not there (macOS): the callers then set close-on-exec afterwards.</summary>
    public static bool Exist { get; } = Probe();

    /// <summary>pipe2(ends, O_CLOEXEC); -1 with the error in Marshal.GetLastWin32Error().</summary>
    public static int PipeCloseOnExec(int[] ends) => Pipe2(ends, CloseOnExec);

    /// <summary>fcntl(fd, F_DUPFD_CLOEXEC, 0): the lowest free descriptor, a close-on-exec copy; -1 with the error as above.</summary>
    public static int DuplicateCloseOnExecOf(int fd) => Fcntl(fd, DuplicateCloseOnExec, 0);

    // A null array fails with EFAULT after the kernel has released what it made: the call exists, nothing is opened.
    private static bool Probe()
    {
        try
        {
            _ = Pipe2(null, CloseOnExec);
            return true;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return false;
        }
    }

    // glibc's file is libc.so.6 ("libc.so" is a linker script).
    [DllImport("libc.so.6", EntryPoint = "pipe2", SetLastError = true)]
    private static extern int Pipe2([Out] int[]? ends, int flags);

    // fcntl is variadic; its third argument is an int here, passed as any integer argument is on these platforms.
    [DllImport("libc.so.6", EntryPoint = "fcntl", SetLastError = true)]
    private static extern int Fcntl(int fd, int command, int argument);
}
