using System;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Runtime.InteropServices;

namespace MSBuild.Jobserver.Posix;

/// <summary>
/// What the entry process reads from a POSIX machine: the memory available (Linux: the cgroup limits, v1 or v2, of the
/// process and every ancestor, minus what is in use, not counting inactive file cache, never more than MemAvailable;
/// macOS: free, inactive, purgeable and speculative pages) and the CPU's busy time (Linux's /proc/stat).
/// </summary>
internal static class PosixMachine
{
    private const long Unlimited = 1L << 60;

    /// <summary>True on Linux, whose /proc/stat the CPU sampler reads.</summary>
    public static readonly bool SamplesCpu = RuntimeInformation.IsOSPlatform(OSPlatform.Linux);

    /// <summary>The bytes available now; null where this system's sources cannot be read.</summary>
    public static long? AvailableMemory() =>
        RuntimeInformation.IsOSPlatform(OSPlatform.Linux) ? AvailableMemory("/proc/self/cgroup", "/proc/meminfo", "/sys/fs/cgroup")
        : RuntimeInformation.IsOSPlatform(OSPlatform.OSX) ? MacOsAvailableMemory() : null;

    /// <summary>Linux, from the files given (tests point them at copies).</summary>
    internal static long? AvailableMemory(string cgroupFile, string meminfoFile, string cgroupRoot)
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

    // vm_statistics64: free, active, inactive, wire counts (32-bit), eight 64-bit counters, then purgeable and
    // speculative counts; HOST_VM_INFO64 is 4, its count 38 natural_t.
    private static long? MacOsAvailableMemory()
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


    /// <summary>
    /// The busy and total jiffies of the aggregate "cpu" line of /proc/stat text: busy is user, nice, system, irq,
    /// softirq and steal; idle and iowait are not busy; guest time is already inside user. Null when it cannot be read.
    /// </summary>
    internal static (ulong Busy, ulong Total)? ParseProcStat(string text)
    {
        var end = text.IndexOf('\n');
        var first = end < 0 ? text : text.Substring(0, end);
        var fields = first.Split(new[] { ' ' }, StringSplitOptions.RemoveEmptyEntries);
        if (fields.Length < 5 || fields[0] != "cpu")
        {
            return null;
        }

        var values = new ulong[8];
        for (var i = 0; i < values.Length && i + 1 < fields.Length; i++)
        {
            if (!ulong.TryParse(fields[i + 1], NumberStyles.None, CultureInfo.InvariantCulture, out values[i]))
            {
                return null;
            }
        }

        var idle = values[3] + values[4];
        var busy = values[0] + values[1] + values[2] + values[5] + values[6] + values[7];
        return (busy, busy + idle);
    }

    public static (ulong Busy, ulong Total)? ReadProcStat()
    {
        try
        {
            using var stream = new FileStream("/proc/stat", FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1, FileOptions.None);
            var buffer = new byte[256];
            var read = stream.Read(buffer, 0, buffer.Length);
            return ParseProcStat(System.Text.Encoding.ASCII.GetString(buffer, 0, read));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    // The online processors /proc/stat counts (every "cpuN" line), which may be more than this process may use.
    public static int Cores()
    {
        try
        {
            var cores = 0;
            foreach (var line in File.ReadLines("/proc/stat"))
            {
                if (line.Length > 3 && line.StartsWith("cpu", StringComparison.Ordinal) && char.IsDigit(line[3]))
                {
                    cores++;
                }
            }

            return Math.Max(1, cores);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return Environment.ProcessorCount;
        }
    }

    [DllImport("libSystem.dylib")]
    private static extern uint mach_host_self();

    [DllImport("libSystem.dylib")]
    private static extern int host_statistics64(uint host, int flavor, int[] info, ref int count);

    [DllImport("libSystem.dylib")]
    private static extern int sysctlbyname(string name, ref long value, ref IntPtr size, IntPtr newValue, IntPtr newSize);
}
