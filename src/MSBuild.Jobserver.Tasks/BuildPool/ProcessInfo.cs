using System.Diagnostics;

namespace MSBuild.Jobserver.Tasks.BuildPool;

/// <summary>Facts about this process that several parts need (netstandard2.0 has no Environment.ProcessId).</summary>
internal static class ProcessInfo
{
    /// <summary>This process's id.</summary>
    public static int CurrentId { get; } = GetId();

    private static int GetId()
    {
        using var self = Process.GetCurrentProcess();
        return self.Id;
    }
}
