using System.Globalization;
using System.Threading;
using MSBuild.Jobserver.Pools;
using MSBuild.Jobserver.Protocol;

namespace MSBuild.Jobserver.Windows;

/// <summary>A pool in a named Windows semaphore, the form GNU make and the Rust crate use on Windows.</summary>
#if NET
[System.Runtime.Versioning.SupportedOSPlatform("windows")]
#endif
internal sealed class WindowsJobTokenPool : JobTokenPool
{
    private readonly Semaphore _semaphore;

    public WindowsJobTokenPool(int tokens, PoolDirectory home)
        : this(tokens, home, CreateSemaphore(tokens, out var name), name)
    {
    }

    private WindowsJobTokenPool(int tokens, PoolDirectory home, Semaphore semaphore, string name)
        : base(JobserverAuth.Semaphore(name), tokens, home, null) => _semaphore = semaphore;

    private protected override int CountAvailableCore() => NamedSemaphores.Count(_semaphore);

    private protected override int CloseCore()
    {
        var count = NamedSemaphores.Drain(_semaphore);
        _semaphore.Dispose();
        return count;
    }

    // Unique per process and attempt.
    private static Semaphore CreateSemaphore(int tokens, out string name) =>
        NamedSemaphores.CreateUnique(tokens, "msbuild_jobserver_" + System.Diagnostics.Process.GetCurrentProcess().Id.ToString(CultureInfo.InvariantCulture) + "_", 8, out name);
}
