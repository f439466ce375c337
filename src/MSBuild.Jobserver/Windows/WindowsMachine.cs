using System;
using System.Runtime.InteropServices;

namespace MSBuild.Jobserver.Windows;

/// <summary>What the entry process reads from a Windows machine: available physical memory (GlobalMemoryStatusEx) and the CPU's busy time (GetSystemTimes).</summary>
internal static class WindowsMachine
{
    /// <summary>The physical memory available now, in bytes; null when it cannot be read.</summary>
    public static long? AvailableMemory()
    {
        var status = new MemoryStatusEx { Length = (uint)Marshal.SizeOf<MemoryStatusEx>() };
        return GlobalMemoryStatusEx(ref status) ? (long)Math.Min(status.AvailablePhysical, long.MaxValue) : null;
    }


    /// <summary>Busy and total time of every CPU since boot (kernel time includes idle time).</summary>
    public static (ulong Busy, ulong Total)? ReadSystemTimes()
    {
        if (!GetSystemTimes(out var idle, out var kernel, out var user))
        {
            return null;
        }

        var total = kernel + user;
        return (total - Math.Min(total, idle), total);
    }

    [DllImport("kernel32.dll", SetLastError = true)]
    [return: MarshalAs(UnmanagedType.Bool)]
    private static extern bool GetSystemTimes(out ulong idleTime, out ulong kernelTime, out ulong userTime);

    [StructLayout(LayoutKind.Sequential)]
    private struct MemoryStatusEx
    {
        public uint Length;
        public uint MemoryLoad;
        public ulong TotalPhysical;
        public ulong AvailablePhysical;
        public ulong TotalPageFile;
        public ulong AvailablePageFile;
        public ulong TotalVirtual;
        public ulong AvailableVirtual;
        public ulong AvailableExtendedVirtual;
    }

    [DllImport("kernel32.dll", SetLastError = true)]
    [return: MarshalAs(UnmanagedType.Bool)]
    private static extern bool GlobalMemoryStatusEx(ref MemoryStatusEx buffer);
}
