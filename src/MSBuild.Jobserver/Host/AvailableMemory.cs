using System;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Runtime.InteropServices;

namespace MSBuild.Jobserver.Host;

/// <summary>
/// The memory this build can still use, in bytes: in a Linux memory cgroup (v1 or v2, the process's own and every
/// ancestor with a limit) the limit minus what is in use, not counting inactive file cache the kernel reclaims first;
/// never more than the system's MemAvailable. Windows: GlobalMemoryStatusEx's available physical memory. macOS:
/// free, inactive, purgeable and speculative pages (host_statistics64). Null where none of these can be read.
/// </summary>
public static class AvailableMemory
{
    private const long Unlimited = 1L << 60;

    /// <summary>The bytes available now, or null when this platform's sources cannot be read.</summary>
    public static long? Read()
    {
        try
        {
            if (RuntimeInformation.IsOSPlatform(OSPlatform.Linux))
            {
                return Linux("/proc/self/cgroup", "/proc/meminfo", "/sys/fs/cgroup");
            }

            if (RuntimeInformation.IsOSPlatform(OSPlatform.Windows))
            {
                return Windows();
            }

            return RuntimeInformation.IsOSPlatform(OSPlatform.OSX) ? MacOs() : null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or DllNotFoundException or EntryPointNotFoundException)
        {
            return null;
        }
    }

    /// <summary>Linux, from the files given (tests point them at copies).</summary>
    internal static long? Linux(string cgroupFile, string meminfoFile, string cgroupRoot)
    {
        var system = MemAvailable(meminfoFile);
        var limited = File.Exists(cgroupFile)
            ? File.ReadAllLines(cgroupFile).Select(line => CgroupHeadroom(line, cgroupRoot)).Where(h => h is not null).Select(h => h!.Value).DefaultIfEmpty(long.MaxValue).Min()
            : long.MaxValue;
        var best = Math.Min(system ?? long.MaxValue, limited);
        return best == long.MaxValue ? null : Math.Max(0, best);
    }

    // One line of /proc/self/cgroup: "0::/path" (v2) or "N:memory,...:/path" (v1). The smallest headroom of the
    // process's group and its ancestors: a parent's limit binds its children too.
    private static long? CgroupHeadroom(string line, string root)
    {
        var parts = line.Split(new[] { ':' }, 3);
        if (parts.Length != 3)
        {
            return null;
        }

        var v2 = parts[0] == "0" && parts[1].Length == 0;
        var v1 = parts[1].Split(',').Contains("memory");
        if (!v2 && !v1)
        {
            return null;
        }

        var mount = v1 ? Path.Combine(root, "memory") : Directory.Exists(Path.Combine(root, "unified")) && !File.Exists(Path.Combine(root, "cgroup.controllers")) ? Path.Combine(root, "unified") : root;
        long? best = null;
        var relative = parts[2].Trim('/');
        while (true)
        {
            var directory = relative.Length == 0 ? mount : Path.Combine(mount, relative);
            if (Headroom(directory, v1) is { } headroom)
            {
                best = Math.Min(best ?? long.MaxValue, headroom);
            }

            if (relative.Length == 0)
            {
                return best;
            }

            var slash = relative.LastIndexOf('/');
            relative = slash < 0 ? "" : relative.Substring(0, slash);
        }
    }

    private static long? Headroom(string directory, bool v1)
    {
        var limit = ReadNumber(Path.Combine(directory, v1 ? "memory.limit_in_bytes" : "memory.max"));
        var usage = ReadNumber(Path.Combine(directory, v1 ? "memory.usage_in_bytes" : "memory.current"));
        if (limit is not { } l || l >= Unlimited || usage is not { } u)
        {
            return null;
        }

        var inactiveFile = StatValue(Path.Combine(directory, "memory.stat"), v1 ? "total_inactive_file" : "inactive_file") ?? 0;
        return l - Math.Max(0, u - inactiveFile);
    }

    private static long? MemAvailable(string meminfo)
    {
        if (!File.Exists(meminfo))
        {
            return null;
        }

        var line = File.ReadAllLines(meminfo).FirstOrDefault(l => l.StartsWith("MemAvailable:", StringComparison.Ordinal));
        var fields = line?.Split(new[] { ' ' }, StringSplitOptions.RemoveEmptyEntries);
        return fields is { Length: >= 2 } && long.TryParse(fields[1], NumberStyles.None, CultureInfo.InvariantCulture, out var kib) ? kib * 1024 : null;
    }

    private static long? ReadNumber(string path)
    {
        if (!File.Exists(path))
        {
            return null;
        }

        var text = File.ReadAllText(path).Trim();
        return text == "max" ? long.MaxValue : long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) ? value : null;
    }

    private static long? StatValue(string path, string key)
    {
        if (!File.Exists(path))
        {
            return null;
        }

        foreach (var line in File.ReadAllLines(path))
        {
            var fields = line.Split(' ');
            if (fields.Length == 2 && fields[0] == key && long.TryParse(fields[1], NumberStyles.None, CultureInfo.InvariantCulture, out var value))
            {
                return value;
            }
        }

        return null;
    }

    private static long? Windows()
    {
        var status = new MemoryStatusEx { Length = (uint)Marshal.SizeOf<MemoryStatusEx>() };
        return GlobalMemoryStatusEx(ref status) ? (long)Math.Min(status.AvailablePhysical, long.MaxValue) : null;
    }

    // vm_statistics64: free, active, inactive, wire counts (32-bit), eight 64-bit counters, then purgeable and
    // speculative counts; HOST_VM_INFO64 is 4, its count 38 natural_t.
    private static long? MacOs()
    {
        var info = new int[38];
        var count = info.Length;
        if (host_statistics64(mach_host_self(), 4, info, ref count) != 0)
        {
            return null;
        }

        var pageSize = 0L;
        var size = (IntPtr)sizeof(long);
        if (sysctlbyname("hw.pagesize", ref pageSize, ref size, IntPtr.Zero, IntPtr.Zero) != 0 || pageSize <= 0)
        {
            return null;
        }

        var pages = (long)(uint)info[0] + (uint)info[2] + (uint)info[20] + (uint)info[21];
        return pages * pageSize;
    }

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

    [DllImport("libSystem.dylib")]
    private static extern uint mach_host_self();

    [DllImport("libSystem.dylib")]
    private static extern int host_statistics64(uint host, int flavor, int[] info, ref int count);

    [DllImport("libSystem.dylib")]
    private static extern int sysctlbyname(string name, ref long value, ref IntPtr size, IntPtr newValue, IntPtr newSize);
}
