using System;
using System.Collections.Generic;
using System.IO;
using System.Threading;
using MSBuild.Jobserver.Platform;
using MSBuild.Jobserver.Protocol;
using MSBuild.Jobserver.Tokens;

namespace MSBuild.Jobserver.Host;

/// <summary>
/// The machine's CPU use (every process's) over one sampling interval ending at <see cref="AtMs"/> (Unix ms), and
/// whether the build's pool held a free token at that instant (null: not looked at). A class: a list of a struct of
/// ours is JIT-compiled in every build, a list of a class shares CoreLib's precompiled code.
/// </summary>
public sealed record CpuSample(long AtMs, double BusyCores, bool? TokenInPool);

/// <summary>
/// Samples the whole machine's CPU use every quarter second while the build's pool owner lives, so the report can draw
/// it under the tokens: a slot left free while the CPU is busy went to MSBuild's own work (or another program's), a slot
/// left free while the CPU idles was wasted. One small read per sample (/proc/stat on Linux, GetSystemTimes on Windows);
/// macOS is not sampled (<see cref="Unavailable"/> says so).
/// </summary>
public sealed class MachineCpuSampler : IDisposable
{
    /// <summary>Milliseconds between samples.</summary>
    public const int IntervalMs = 250;

    // Fourteen hours at 250 ms; a longer build keeps its first fourteen.
    private const int MaxSamples = 200_000;

    private readonly object _gate = new();
    private readonly List<CpuSample> _samples = new();
    private readonly Func<(ulong Busy, ulong Total)?> _read;
    private readonly Func<bool?>? _tokenInPool;
    private readonly Lazy<int> _cores;
    private Timer? _timer;
    private (ulong Busy, ulong Total)? _previous;
    private int _ticking;
    private bool _stopped;

    // Everything is left to a pool thread and the first tick: the pool's owner is made on a build's critical path, and
    // the process's first Timer costs milliseconds there (its queue and native timer are set up on first use).
    private MachineCpuSampler(Func<int> cores, Func<(ulong Busy, ulong Total)?> read, string? unavailable, Func<bool?>? tokenInPool)
    {
        _cores = new Lazy<int>(cores);
        _read = read;
        _tokenInPool = tokenInPool;
        Unavailable = unavailable;
        if (unavailable is null)
        {
            ThreadPool.UnsafeQueueUserWorkItem(_ => StartTimer(), null);
        }
    }

    /// <summary>The processors the samples are shares of.</summary>
    public int Cores => _cores.Value;

    /// <summary>Why the machine's CPU is not sampled here; null when it is.</summary>
    public string? Unavailable { get; }

    /// <summary>The samples so far, oldest first.</summary>
    public IReadOnlyList<CpuSample> Samples
    {
        get
        {
            lock (_gate)
            {
                return _samples.ToArray();
            }
        }
    }

    /// <summary>
    /// Starts sampling on this platform, or says why not; each sample also asks <paramref name="tokenInPool"/> (the
    /// build's pool, looked at without taking: JobTokenPool.HasFreeToken) when given.
    /// </summary>
    public static MachineCpuSampler Start(Func<bool?>? tokenInPool = null) =>
        PoolPlatform.CpuTimes is { } read
            ? new MachineCpuSampler(PoolPlatform.CpuCount, read, null, tokenInPool)
            : NotSampled("the machine's CPU use is not sampled on this platform (only on Linux and Windows)");

    /// <summary>A sampler that takes no samples, for <paramref name="reason"/>.</summary>
    public static MachineCpuSampler NotSampled(string reason) => new(() => Environment.ProcessorCount, () => null, reason, null);

    /// <summary>
    /// The instants (Unix ms, ascending) at which a sample found the pool without a free token: each stands for the
    /// interval before it (<see cref="IntervalMs"/>), when a tool's own clients, not a task of the build, held the slot.
    /// </summary>
    public long[] EmptyPoolAtMs()
    {
        lock (_gate)
        {
            var count = 0;
            foreach (var sample in _samples)
            {
                count += sample.TokenInPool == false ? 1 : 0;
            }

            var instants = new long[count];
            count = 0;
            foreach (var sample in _samples)
            {
                if (sample.TokenInPool == false)
                {
                    instants[count++] = sample.AtMs;
                }
            }

            return instants;
        }
    }

    // A sampler disposed before this ran never starts.
    private void StartTimer()
    {
        lock (_gate)
        {
            if (!_stopped)
            {
                _timer = new Timer(_ => Tick(), null, 0, IntervalMs);
            }
        }
    }

    // One sample, every IntervalMs from the timer.
    private void Tick()
    {
        // A tick that finds the previous one still running skips: a stalled read must not pile up threads.
        if (Interlocked.Exchange(ref _ticking, 1) == 1)
        {
            return;
        }

        try
        {
            var now = _read();
            var token = LookAtPool();
            lock (_gate)
            {
                if (!_stopped && now is { } current && _previous is { } before && current.Total > before.Total && _samples.Count < MaxSamples)
                {
                    var share = (double)(current.Busy - Math.Min(current.Busy, before.Busy)) / (current.Total - before.Total);
                    _samples.Add(new CpuSample(LedgerJournal.NowMs, Math.Min(1.0, share) * Cores, token));
                }

                _previous = now ?? _previous;
            }
        }
        finally
        {
            Volatile.Write(ref _ticking, 0);
        }
    }

    // A timer's callback must not throw (it would end the process): a pool closing under the look is not looked at.
    private bool? LookAtPool()
    {
        try
        {
            return _tokenInPool?.Invoke();
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException or JobserverException)
        {
            return null;
        }
    }

    /// <summary>Stops sampling (a tick under way adds nothing); the samples stay readable.</summary>
    public void Dispose()
    {
        Timer? timer;
        lock (_gate)
        {
            _stopped = true;
            timer = _timer;
        }

        timer?.Dispose();
    }
}
