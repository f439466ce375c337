using System;
using System.Globalization;
using System.Security.Cryptography;
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

    private protected override int CountAvailableCore()
    {
        var count = Drain();
        if (count > 0)
        {
            _semaphore.Release(count);
        }

        return count;
    }

    private protected override int CloseCore()
    {
        var count = Drain();
        _semaphore.Dispose();
        return count;
    }

    private int Drain()
    {
        var count = 0;
        while (_semaphore.WaitOne(0))
        {
            count++;
        }

        return count;
    }

    private static Semaphore CreateSemaphore(int tokens, out string name)
    {
        // A cryptographic random: a name another user's process could predict (new Random() is seeded from the clock)
        // could be created first by it, with its own count and its own security.
        using var random = RandomNumberGenerator.Create();
        var bytes = new byte[8];
        for (var attempt = 0; ; attempt++)
        {
            // Unique per process and attempt; a name that already exists belongs to someone else, so never share it.
            random.GetBytes(bytes);
            name = "msbuild_jobserver_" + System.Diagnostics.Process.GetCurrentProcess().Id.ToString(CultureInfo.InvariantCulture) + "_"
                + BitConverter.ToString(bytes).Replace("-", string.Empty).ToLowerInvariant();
            var semaphore = new Semaphore(tokens, tokens, name, out var createdNew);
            if (createdNew)
            {
                return semaphore;
            }

            semaphore.Dispose();
            if (attempt == 10)
            {
                throw new JobserverException(JobserverRejection.SemaphoreOpenFailed, "Cannot create a uniquely named jobserver semaphore (last tried " + name + "); try again.");
            }
        }
    }
}
