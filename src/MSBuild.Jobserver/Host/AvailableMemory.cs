using System;
using System.IO;
using MSBuild.Jobserver.Platform;

namespace MSBuild.Jobserver.Host;

/// <summary>
/// The memory this build can still use, in bytes: in a Linux memory cgroup (v1 or v2, the process's own and every
/// ancestor with a limit) the limit minus what is in use, not counting inactive file cache the kernel reclaims first;
/// never more than the system's MemAvailable. Windows: GlobalMemoryStatusEx's available physical memory. macOS:
/// free, inactive, purgeable and speculative pages (host_statistics64). Null where none of these can be read.
/// </summary>
public static class AvailableMemory
{
    /// <summary>The bytes available now, or null when this platform's sources cannot be read.</summary>
    public static long? Read()
    {
        try
        {
            return PoolPlatform.AvailableMemory();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or DllNotFoundException or EntryPointNotFoundException)
        {
            return null;
        }
    }
}
