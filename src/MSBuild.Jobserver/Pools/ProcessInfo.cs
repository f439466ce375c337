using System;
using System.Diagnostics;
using System.Linq;

namespace MSBuild.Jobserver.Pools;

/// <summary>Facts about this process that several parts need (netstandard2.0 has no Environment.ProcessId).</summary>
public static class ProcessInfo
{
    /// <summary>This process's id.</summary>
    public static int CurrentId { get; } = GetId();

    /// <summary>
    /// True in an MSBuild worker node (started with /nodemode); false in the entry process, the one the build was
    /// started in, which holds the descriptors make handed down and owns the build's pool.
    /// </summary>
    public static bool IsWorkerNode { get; } =
        Environment.GetCommandLineArgs().Any(a => a.IndexOf("nodemode:", StringComparison.OrdinalIgnoreCase) >= 0);

    private static int GetId()
    {
        using var self = Process.GetCurrentProcess();
        return self.Id;
    }
}
