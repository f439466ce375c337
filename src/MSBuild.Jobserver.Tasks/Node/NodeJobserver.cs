using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Diagnostics;
using System.Threading;
using MSBuild.Jobserver.Pools;
using MSBuild.Jobserver.Protocol;
using MSBuild.Jobserver.Tasks.BuildPool;
using MSBuild.Jobserver.Tasks.Ledger;
using MSBuild.Jobserver.Tasks.Memory;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;

namespace MSBuild.Jobserver.Tasks.Node;

/// <summary>
/// This process's view of the build's jobserver: the handle from the rendezvous, the connections, the tokens
/// that AcquireJobToken handed out. Registered with Build lifetime, so a reused node never sees a previous
/// build's pool, and tokens still held when the build ends go back to the pool.
/// </summary>
internal sealed class NodeJobserver : IDisposable
{
    private const string RegistrationKey = "MSBuild.Jobserver.Node";
    private const int MemoryPollMilliseconds = 20;
    private static readonly object Gate = new();
    private static readonly TimeSpan RefillInterval = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan WindowsLookInterval = TimeSpan.FromMilliseconds(20);

    private readonly object _connectGate = new();
    private readonly ConcurrentDictionary<string, HeldToken> _outstanding = new(StringComparer.Ordinal);
    private JobserverClient? _pool;
    private JobserverClient? _local;
    private bool _connected;
    private string? _connectProblem;
    private int _connectProblemReported;

    private NodeJobserver(BuildJobserverHandle handle)
    {
        Handle = handle;
        Ledger = new TokenLedger(handle.Directory, handle.JournalTag);
    }

    /// <summary>The build's jobserver as the entry process described it.</summary>
    public BuildJobserverHandle Handle { get; }

    /// <summary>The build's leases, journal and refill.</summary>
    public TokenLedger Ledger { get; }

    /// <summary>This build's view for this process, asking the rendezvous on first use (problems logged to <paramref name="log"/>).</summary>
    public static NodeJobserver Get(IBuildEngine engine, TaskLoggingHelper log, ProjectJobserverSettings settings)
    {
        var engine4 = (IBuildEngine4)engine;
        if (engine4.GetRegisteredTaskObject(RegistrationKey, RegisteredTaskObjectLifetime.Build) is NodeJobserver known)
        {
            return known;
        }

        var handle = Rendezvous.Request(engine, log, settings);
        lock (Gate)
        {
            if (engine4.GetRegisteredTaskObject(RegistrationKey, RegisteredTaskObjectLifetime.Build) is NodeJobserver raced)
            {
                return raced;
            }

            var node = new NodeJobserver(handle);
            engine4.RegisterTaskObject(RegistrationKey, node, RegisteredTaskObjectLifetime.Build, allowEarlyCollection: false);
            return node;
        }
    }

    /// <summary>A view of <paramref name="handle"/>'s jobserver outside MSBuild's registry (test peers act as nodes with it).</summary>
    internal static NodeJobserver ForHandle(BuildJobserverHandle handle) => new(handle);

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
                        _pool = Open(Handle.PoolPath, Handle.PoolIdentity);
                        if (Handle.LocalPath.Length > 0)
                        {
                            _local = Open(Handle.LocalPath, Handle.LocalIdentity);
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

    /// <summary>True the first time it is called: the connection problem is reported once per process.</summary>
    public bool FirstConnectProblemReport() => Interlocked.Exchange(ref _connectProblemReported, 1) == 0;

    /// <summary>This build's view for this process if a task here already asked; never starts a rendezvous.</summary>
    public static NodeJobserver? Existing(IBuildEngine engine) =>
        (engine as IBuildEngine4)?.GetRegisteredTaskObject(RegistrationKey, RegisteredTaskObjectLifetime.Build) as NodeJobserver;

    /// <summary>Connects to the build's pool at <paramref name="path"/> (a semaphore's name on Windows), checking its identity.</summary>
    internal static JobserverClient Open(string path, PipeIdentity? identity) =>
        PoolPlatform.IsWindows
            ? JobserverClient.Connect(JobserverAuth.Semaphore(path))
            : JobserverClient.ConnectToValidated(path, identity ?? throw new JobserverException(
                JobserverRejection.IdentityMismatch, $"The build's jobserver '{path}' came without an identity to check it against."));

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

            if (PoolPlatform.IsWindows ? LooksFreeUnderLease(clients, cancellationToken, slice) : LooksFree(clients, cancellationToken, slice))
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

    /// <summary>Keeps a token that AcquireJobToken handed to the project until ReleaseJobToken brings it back.</summary>
    public void HoldForProject(HeldToken held) => _outstanding[held.Id] = held;

    /// <summary>Takes back a token AcquireJobToken handed out; null when this process never handed out that id.</summary>
    public HeldToken? TakeBackFromProject(string id) => _outstanding.TryRemove(id, out var held) ? held : null;

    /// <summary>Tokens handed out by AcquireJobToken and not given back yet.</summary>
    public IReadOnlyCollection<HeldToken> Outstanding => (IReadOnlyCollection<HeldToken>)_outstanding.Values;

    /// <summary>At the end of the build: tokens a project never released go back, then the connections close.</summary>
    public void Dispose()
    {
        foreach (var held in _outstanding.Values)
        {
            held.Dispose();
        }

        _outstanding.Clear();
        _pool?.Dispose();
        _local?.Dispose();
    }

    private static bool LooksFree(JobserverClient[] clients, CancellationToken cancellationToken, TimeSpan slice)
    {
        try
        {
            JobserverClient.WaitForFreeToken(clients, cancellationToken, slice);
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

            var pause = Min(WindowsLookInterval, slice - until.Elapsed);
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
        && MemoryGate.IsClosed(PoolDirectory.Open(Handle.Directory));

    private JobserverClient[] Clients()
    {
        if (!TryConnect(out var problem))
        {
            throw new InvalidOperationException(problem ?? "This build has no jobserver.");
        }

        return _local is null ? new[] { _pool! } : new[] { _pool!, _local };
    }
}
