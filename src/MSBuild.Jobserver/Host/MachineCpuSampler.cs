using System;
using System.Collections.Generic;
using System.Threading;
using MSBuild.Jobserver.Platform;
using MSBuild.Jobserver.Tokens;

namespace MSBuild.Jobserver.Host;

/// <summary>
/// The machine's CPU use (every process's) over one sampling interval ending at <see cref="AtMs"/> (Unix ms). A class:
/// a list of a struct of ours is JIT-compiled in every build, a list of a class shares CoreLib's precompiled code.
/// </summary>
public sealed record CpuSample(long AtMs, double BusyCores);

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
    private readonly Lazy<int> _cores;
    private Timer? _timer;
    private (ulong Busy, ulong Total)? _previous;
    private int _ticking;
    private bool _stopped;

    // Everything is left to a pool thread and the first tick: the pool's owner is made on a build's critical path, and
    // the process's first Timer costs milliseconds there (its queue and native timer are set up on first use).
    private MachineCpuSampler(Func<int> cores, Func<(ulong Busy, ulong Total)?> read, string? unavailable)
    {
        _cores = new Lazy<int>(cores);
        _read = read;
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

    /// <summary>Starts sampling on this platform, or says why not.</summary>
    public static MachineCpuSampler Start() =>
        PoolPlatform.CpuTimes is { } read
            ? new MachineCpuSampler(PoolPlatform.CpuCount, read, null)
            : NotSampled("the machine's CPU use is not sampled on this platform (only on Linux and Windows)");

    /// <summary>A sampler that takes no samples, for <paramref name="reason"/>.</summary>
    public static MachineCpuSampler NotSampled(string reason) => new(() => Environment.ProcessorCount, () => null, reason);

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
            lock (_gate)
            {
                if (!_stopped && now is { } current && _previous is { } before && current.Total > before.Total && _samples.Count < MaxSamples)
                {
                    var share = (double)(current.Busy - Math.Min(current.Busy, before.Busy)) / (current.Total - before.Total);
                    _samples.Add(new CpuSample(LedgerJournal.NowMs, Math.Min(1.0, share) * Cores));
                }

                _previous = now ?? _previous;
            }
        }
        finally
        {
            Volatile.Write(ref _ticking, 0);
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
