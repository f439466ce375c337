using System;
using System.Diagnostics;
using System.Threading;
using MSBuild.Jobserver.Platform;
using MSBuild.Jobserver.Pools;
using MSBuild.Jobserver.Protocol;

namespace MSBuild.Jobserver.Tokens;

/// <summary>
/// One process's connection to the build's pool, and the start of every token's way: it waits for a free token,
/// takes one under a lease (<see cref="TryAcquire"/>) and hands it out as a <see cref="HeldToken"/>, which gives
/// itself back. The hand-over to a tool is <see cref="ChildEnvironment"/>; leases, journal and refill are the
/// <see cref="TokenLedger"/>'s.
/// </summary>
public sealed class PoolConnection : IDisposable
{
    private const int MemoryPollMilliseconds = 20;
    private static readonly TimeSpan RefillInterval = TimeSpan.FromSeconds(1);

    // Spacing of the looks where a look takes a token (a semaphore): brief, so a refill finds no lease between them.
    private static readonly TimeSpan LookInterval = TimeSpan.FromMilliseconds(20);

    private readonly object _connectGate = new();
    private JobserverClient? _pool;
    private JobserverClient? _local;
    private bool _connected;
    private string? _connectProblem;

    /// <summary>A connection to <paramref name="handle"/>'s pool, opened on first use.</summary>
    public PoolConnection(BuildJobserverHandle handle)
    {
        Handle = handle;
        Ledger = new TokenLedger(handle.Directory, handle.JournalTag);
    }

    /// <summary>The build's jobserver as the entry process described it.</summary>
    public BuildJobserverHandle Handle { get; }

    /// <summary>The build's leases, journal and refill.</summary>
    public TokenLedger Ledger { get; }

    /// <summary>
    /// Connects to the pool(s); false (with the reason) when this process cannot use them, in which case tools
    /// run without a token and without the pool in their environment.
    /// </summary>
    public bool TryConnect(out string? problem)
    {
        lock (_connectGate)
        {
            if (!_connected)
            {
                _connected = true;
                try
                {
                    if (Handle.Mode != BuildJobserverMode.None)
                    {
                        _pool = PoolPlatform.ConnectToBuildPool(Handle.PoolPath, Handle.PoolIdentity);
                        if (Handle.LocalPath.Length > 0)
                        {
                            _local = PoolPlatform.ConnectToBuildPool(Handle.LocalPath, Handle.LocalIdentity);
                        }
                    }
                }
                catch (JobserverException ex)
                {
                    _pool?.Dispose();
                    _pool = null;
                    _connectProblem = ex.Message;
                }
            }

            problem = _connectProblem;
            return _pool is not null;
        }
    }

    /// <summary>
    /// Waits until no memory gate holds the pool closed (JobserverMinFreeMemory) and the build-local slot or the pool
    /// seems to have a free token; keeps none. Every second of waiting for a token it refills the build's own pool if no
    /// lease is held: tokens a tool's helper kept past its tool's end and never gave back have nobody else to bring them
    /// back when every task of the build is waiting.
    /// </summary>
    /// <returns>What the refills made meanwhile (for JOBS0034).</returns>
    /// <exception cref="TimeoutException">No token seemed free within <paramref name="timeout"/>.</exception>
    public RefillResult WaitForFreeToken(CancellationToken cancellationToken, TimeSpan? timeout = null)
    {
        var clients = Clients();
        var waited = Stopwatch.StartNew();
        while (MemoryShort())
        {
            if (timeout is { } memoryLimit && waited.Elapsed > memoryLimit)
            {
                throw new TimeoutException("No jobserver token became available in time: memory stayed short.");
            }

            cancellationToken.WaitHandle.WaitOne(MemoryPollMilliseconds);
            cancellationToken.ThrowIfCancellationRequested();
        }

        var refilled = default(RefillResult);
        while (true)
        {
            var slice = timeout is { } limit ? Min(RefillInterval, limit - waited.Elapsed) : RefillInterval;
            if (slice <= TimeSpan.Zero)
            {
                throw new TimeoutException("No jobserver token became free in time.");
            }

            if (PoolPlatform.Current.LookingTakesAToken ? LooksFreeUnderLease(clients, cancellationToken, slice) : LooksFree(clients, cancellationToken, slice))
            {
                return refilled;
            }

            if (Handle.Mode == BuildJobserverMode.Owned)
            {
                var refill = Ledger.RefillIfIdle(_pool!, Handle.Slots);
                refilled = new RefillResult(refilled.Recovered + refill.Recovered, refilled.Removed + refill.Removed);
            }
        }
    }

    /// <summary>
    /// A token from the build-local slot or the pool if one is free right now and no memory gate holds the pool closed;
    /// null otherwise. Never waits. Its lease begins before anything is read. <paramref name="requestedMs"/>: when the
    /// caller first asked (for the wait it reports), if not now.
    /// </summary>
    public HeldToken? TryAcquire(string project, string tool, long? requestedMs = null)
    {
        var clients = Clients();
        if (MemoryShort())
        {
            return null;
        }

        var requested = requestedMs ?? LedgerJournal.NowMs;
        var lease = Ledger.BeginLease();
        try
        {
            for (var i = 0; i < clients.Length; i++)
            {
                if (clients[i].TryAcquire(out var token))
                {
                    var source = i == 1 ? "local" : Handle.Mode == BuildJobserverMode.Inherited ? "parent" : "pool";
                    return new HeldToken(
                        Handle.Nonce + "-" + Guid.NewGuid().ToString("N"), clients[i], token, lease, Ledger,
                        Handle.Mode == BuildJobserverMode.Owned ? _pool : null, Handle.Slots,
                        new TokenHold(requested, LedgerJournal.NowMs, 0, ProcessInfo.CurrentId, source, project, tool));
                }
            }
        }
        catch
        {
            lease.Dispose();
            throw;
        }

        lease.Dispose();
        return null;
    }

    private static bool LooksFree(JobserverClient[] clients, CancellationToken cancellationToken, TimeSpan slice)
    {
        try
        {
            PoolPlatform.WaitForFreeToken(clients, cancellationToken, slice);
            return true;
        }
        catch (TimeoutException)
        {
            return false;
        }
    }

    // A semaphore cannot be looked at without taking a count, so a look is a hold like any other: it takes its count
    // under a lease (rule 1 of TokenLedger), and gives it straight back. Looks are brief and spaced, so that a refill
    // finds no lease between them; a look that took a count and gave it back saw a free token.
    private bool LooksFreeUnderLease(JobserverClient[] clients, CancellationToken cancellationToken, TimeSpan slice)
    {
        var until = Stopwatch.StartNew();
        while (true)
        {
            using (Ledger.BeginLease())
            {
                foreach (var client in clients)
                {
                    if (client.TryAcquire(out var token))
                    {
                        client.Release(token);
                        return true;
                    }
                }
            }

            var pause = Min(LookInterval, slice - until.Elapsed);
            if (pause <= TimeSpan.Zero)
            {
                return false;
            }

            if (cancellationToken.WaitHandle.WaitOne(pause))
            {
                cancellationToken.ThrowIfCancellationRequested();
            }
        }
    }

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;

    // A memory gate of this build, or of another sharing the pool, holds it closed: no token for the package's tools.
    private bool MemoryShort() =>
        Handle.Mode == BuildJobserverMode.Owned && (Handle.MinFreeMemoryMiB > 0 || Handle.Shared) && Handle.Directory.Length > 0
        && GateLeases.IsClosed(PoolDirectory.Open(PoolPlatform.Current, Handle.Directory));

    private JobserverClient[] Clients()
    {
        if (!TryConnect(out var problem))
        {
            throw new InvalidOperationException(problem ?? "This build has no jobserver.");
        }

        return _local is null ? new[] { _pool! } : new[] { _pool!, _local };
    }

    /// <summary>Closes the connections.</summary>
    public void Dispose()
    {
        _pool?.Dispose();
        _local?.Dispose();
    }
}
