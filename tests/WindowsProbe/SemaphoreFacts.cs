using System.Diagnostics;
using System.Runtime.InteropServices;
using MSBuild.Jobserver.Platform;

namespace WindowsProbe;

/// <summary>
/// What the pool's semaphore is, as Windows sees it: its maximum count, and whether a child process inherits a handle
/// to it. The child counts the handles in its own table whose object name ends with the semaphore's name, after
/// opening one itself (so a working count is at least 1; an inherited handle would make it 2).
/// </summary>
internal static partial class SemaphoreFacts
{
    public static int Describe(int tokens)
    {
        using var pool = PoolPlatform.CreatePool(tokens);
        var name = pool.Auth.Name!;
        using (var opened = Semaphore.OpenExisting(name))
        {
            var info = Query(opened.SafeWaitHandle.DangerousGetHandle());
            Console.WriteLine("MAXIMUM " + info.Maximum);
            Console.WriteLine("CURRENT " + info.Current);
        }

        // Process.Start lets the child inherit every inheritable handle (bInheritHandles is TRUE).
        var child = Process.Start(new ProcessStartInfo(Environment.ProcessPath!, new[] { "count-handles", name }) { UseShellExecute = false })!;
        child.WaitForExit();
        return child.ExitCode;
    }

    public static int CountHandles(string name)
    {
        using var own = Semaphore.OpenExisting(name);
        var found = 0;
        for (long value = 4; value < 1 << 16; value += 4)
        {
            if (ObjectName((IntPtr)value) is { } objectName && objectName.EndsWith("\\" + name, StringComparison.Ordinal))
            {
                found++;
            }
        }

        Console.WriteLine("HANDLES-NAMED " + found);
        return 0;
    }

    private static (int Current, int Maximum) Query(IntPtr handle)
    {
        var status = NtQuerySemaphore(handle, 0, out var info, Marshal.SizeOf<SemaphoreBasicInformation>(), out _);
        return status == 0 ? (info.CurrentCount, info.MaximumCount) : (-1, -1);
    }

    private static string? ObjectName(IntPtr handle)
    {
        var buffer = Marshal.AllocHGlobal(4096);
        try
        {
            // ObjectNameInformation = 1: a UNICODE_STRING followed by its characters.
            if (NtQueryObject(handle, 1, buffer, 4096, out _) != 0)
            {
                return null;
            }

            var length = Marshal.ReadInt16(buffer);
            var characters = Marshal.ReadIntPtr(buffer, IntPtr.Size);
            return length == 0 || characters == IntPtr.Zero ? null : Marshal.PtrToStringUni(characters, length / 2);
        }
        finally
        {
            Marshal.FreeHGlobal(buffer);
        }
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct SemaphoreBasicInformation
    {
        public int CurrentCount;
        public int MaximumCount;
    }

    [LibraryImport("ntdll.dll")]
    private static partial int NtQuerySemaphore(IntPtr handle, int informationClass, out SemaphoreBasicInformation information, int length, out int returned);

    [LibraryImport("ntdll.dll")]
    private static partial int NtQueryObject(IntPtr handle, int informationClass, IntPtr information, int length, out int returned);
}
