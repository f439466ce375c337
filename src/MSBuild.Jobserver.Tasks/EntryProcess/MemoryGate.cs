using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading;
using MSBuild.Jobserver.Platform;
using MSBuild.Jobserver.Pools;
using MSBuild.Jobserver.Protocol;
using MSBuild.Jobserver.Tokens;

namespace MSBuild.Jobserver.Tasks.EntryProcess;

/// <summary>One stretch during which the pool handed out no new token for want of memory.</summary>
internal sealed record MemoryWait(long StartMs, long EndMs, long LowestAvailableMiB, int TokensHeld);

/// <summary>
/// JobserverMinFreeMemory, in the entry process: while less memory than the threshold is available and at least one job
/// runs, the pool hands out no further token. Every few milliseconds it reads the memory available (see
/// <see cref="PoolPlatform.AvailableMemory"/>). While memory is short it takes every token the pool holds, under a <c>reserve-</c>
/// lease (so no refill mints them again), so that make, cargo and rustc find none; while a job runs it also holds a
/// <c>gate-</c> lease, which tells the package's own Execs, on every node and in every build sharing the pool, not to
/// take a token. When no job runs it leaves exactly one token in the pool, so one job can always start; when memory is
/// back it gives every token back.
/// </summary>
/// <remarks>
/// A FIFO cannot refuse a reader: a client already blocked reading the pool when a job gives a token back may get it
/// before this gate does. The package's own Execs never take a token while the gate is closed.
/// </remarks>
internal sealed class MemoryGate : IDisposable
{
    private const string ReserveKind = "reserve-";
    private const int PollMilliseconds = 20;

    private readonly PoolDirectory _directory;
    private readonly JobserverClient _pool;
    private readonly long _thresholdBytes;
    private readonly Func<long?> _available;
    private readonly Timer _timer;
    private readonly object _gate = new();
    private readonly List<JobToken> _held = new();
    private readonly List<MemoryWait> _waits = new();
    private Lease? _reserve;
    private Lease? _closed;
    private long _waitStartMs;
    private long _lowestBytes;
    private int _mostHeld;
    private bool _disposed;

    private MemoryGate(string directory, JobserverClient pool, long thresholdMiB, Func<long?> available)
    {
        _directory = PoolPlatform.OpenDirectory(directory);
        _pool = pool;
        _thresholdBytes = thresholdMiB * 1024 * 1024;
        _available = available;
        _timer = new Timer(_ => Tick(), null, PollMilliseconds, PollMilliseconds);
    }

    /// <summary>The threshold, MiB.</summary>
    public long ThresholdMiB => _thresholdBytes / (1024 * 1024);

    /// <summary>The waits so far, the current one up to now included.</summary>
    public IReadOnlyList<MemoryWait> Waits
    {
        get
        {
            lock (_gate)
            {
                return _reserve is null ? _waits.ToList() : _waits.Append(CurrentWait(LedgerJournal.NowMs)).ToList();
            }
        }
    }

    /// <summary>
    /// Runs <paramref name="countAvailable"/> (a count of the pool's free tokens) while the gate takes and gives back
    /// nothing, and adds the tokens the gate holds: the pool's tokens not held by a job.
    /// </summary>
    public int CountWithHeld(Func<int> countAvailable)
    {
        lock (_gate)
        {
            return countAvailable() + _held.Count;
        }
    }

    /// <summary>Starts watching the pool in <paramref name="directory"/>; null when this platform's available memory cannot be read.</summary>
    public static MemoryGate? Start(string directory, JobserverClient pool, long thresholdMiB, Func<long?> available) =>
        available() is null ? null : new MemoryGate(directory, pool, thresholdMiB, available);

    /// <summary>Stops watching and gives back every token held.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            _disposed = true;
            _timer.Dispose();
            GiveBackAll(LedgerJournal.NowMs);
        }
    }

    // A job runs while any lease other than a memory gate's is held.
    private bool AnyJobRuns()
    {
        var closed = GateLeases.Prefix(_directory, GateLeases.ClosedKind);
        var reserve = GateLeases.Prefix(_directory, ReserveKind);
        return _directory.Leases().Select(l => (Path: l, Name: Path.GetFileName(l)))
            .Any(l => !l.Name.StartsWith(closed, StringComparison.Ordinal) && !l.Name.StartsWith(reserve, StringComparison.Ordinal) && Lease.IsHeld(_directory, l.Path));
    }

    private void Tick()
    {
        if (!Monitor.TryEnter(_gate))
        {
            return;
        }

        try
        {
            if (_disposed)
            {
                return;
            }

            var now = LedgerJournal.NowMs;
            if (_available() is { } bytes && bytes < _thresholdBytes)
            {
                HoldBack(now, bytes, AnyJobRuns());
            }
            else
            {
                GiveBackAll(now);
            }
        }
        catch (Exception ex) when (ex is IOException or JobserverException or ObjectDisposedException or UnauthorizedAccessException)
        {
            // The pool closed under us (the build is ending): nothing is left to hold back.
            GiveBackAll(LedgerJournal.NowMs);
        }
        finally
        {
            Monitor.Exit(_gate);
        }
    }

    // Memory is short: every token is held back, but one while no job runs, so that the build always moves.
    private void HoldBack(long now, long availableBytes, bool jobRuns)
    {
        if (_reserve is null)
        {
            _reserve = Lease.Begin(_directory, ReserveKind);
            _waitStartMs = now;
            _lowestBytes = availableBytes;
            _mostHeld = 0;
        }

        if (jobRuns && _closed is null)
        {
            _closed = Lease.Begin(_directory, GateLeases.ClosedKind);
        }
        else if (!jobRuns && _closed is not null)
        {
            _closed.Dispose();
            _closed = null;
        }

        _lowestBytes = Math.Min(_lowestBytes, availableBytes);
        while (_pool.TryAcquire(out var token))
        {
            _held.Add(token);
        }

        if (!jobRuns && _held.Count > 0)
        {
            _pool.Release(_held[_held.Count - 1]);
            _held.RemoveAt(_held.Count - 1);
        }

        _mostHeld = Math.Max(_mostHeld, _held.Count);
    }

    private void GiveBackAll(long now)
    {
        if (_reserve is null)
        {
            return;
        }

        try
        {
            _held.ForEach(_pool.Release);
        }
        catch (Exception ex) when (ex is IOException or JobserverException or ObjectDisposedException)
        {
            // The pool is gone with the build: there is nothing to give back to.
        }

        _held.Clear();
        _waits.Add(CurrentWait(now));
        _closed?.Dispose();
        _closed = null;
        _reserve.Dispose();
        _reserve = null;
    }

    private MemoryWait CurrentWait(long now) => new(_waitStartMs, now, _lowestBytes / (1024 * 1024), _mostHeld);
}
