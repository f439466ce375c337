using System;
using System.Runtime.InteropServices;

namespace MSBuild.Jobserver.Posix;

/// <summary>
/// pipe2(2) with O_CLOEXEC, which Mono.Unix does not wrap: both ends are close-on-exec from their creation, so a process
/// another thread starts at that moment inherits neither (pipe(2) and then fcntl leaves it a window).
/// </summary>
internal static class NativePipe
{
    // O_CLOEXEC on Linux x64, arm64 and arm, the only places glibc's pipe2 is looked for.
    private const int CloseOnExec = 0x80000;

    /// <summary>False where there is no pipe2 (macOS): the caller then sets close-on-exec after pipe(2).</summary>
    public static bool Exists { get; } = Probe();

    /// <summary>pipe2(ends, O_CLOEXEC); -1 with the error in Marshal.GetLastWin32Error().</summary>
    public static int PipeCloseOnExec(int[] ends) => Pipe2(ends, CloseOnExec);

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
}
