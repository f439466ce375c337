using System;
using System.Collections.Generic;

namespace MSBuild.Jobserver.Tasks.Report;

/// <summary>Where the build's tokens came from.</summary>
internal enum PoolForm
{
    /// <summary>The build created its own pool.</summary>
    Own,

    /// <summary>The build joined the jobserver of the make that started it.</summary>
    JoinedMake,

    /// <summary>The build joined the jobserver of the cargo that started it (a build script).</summary>
    JoinedCargo,

    /// <summary>The build used the pool all of the user's builds share (JobserverScope=User).</summary>
    SharedByUser,
}

/// <summary>How much of a shared pool the user's other builds held while this build ran: token-seconds, most at once.</summary>
internal sealed record OtherBuildsUse(double TokenSeconds, int Peak);

/// <summary>One tool run's token: asked for, got, given back (milliseconds on one clock), by which project and tool.</summary>
internal sealed record ReportHold(string Project, string Tool, long RequestedMs, long AcquiredMs, long ReleasedMs)
{
    /// <summary>How long the tool waited for its token.</summary>
    public long WaitMs => AcquiredMs - RequestedMs;

    /// <summary>How long the tool held its token.</summary>
    public long HoldMs => ReleasedMs - AcquiredMs;
}

/// <summary>The pool's facts at the end of the build.</summary>
internal sealed record PoolFacts(PoolForm Form, int Size, int Peak, int Lost, int Recovered, OtherBuildsUse? OtherBuilds = null);

/// <summary>
/// The machine's CPU use during the build: busy cores (of <paramref name="Cores"/>) per sample, on the holds' clock;
/// <paramref name="Unavailable"/> says why there are none. <see cref="EmptyPoolAtMs"/>: the samples that found the
/// pool without a free token (ascending), for the time a slot stood free while a tool waited.
/// </summary>
internal sealed record MachineCpu(int Cores, IReadOnlyList<(long AtMs, double BusyCores)> Samples, string? Unavailable)
{
    /// <summary>The instants at which the pool was seen without a free token; empty when it was not looked at.</summary>
    public long[] EmptyPoolAtMs { get; init; } = Array.Empty<long>();

    /// <summary>No samples, for <paramref name="reason"/>.</summary>
    public static MachineCpu None(string reason) => new(0, Array.Empty<(long, double)>(), reason);
}

/// <summary>
/// Everything the timing report shows, independent of how the build recorded it: the report reads only this, so
/// the one adapter that fills it is all that changes when the record does.
/// </summary>
internal sealed record TimingInput(string Title, string SummaryText, PoolFacts Pool, IReadOnlyList<ReportHold> Holds, MachineCpu Cpu)
{
    /// <summary>The stretches in which the pool handed out no token for want of memory (JobserverMinFreeMemory).</summary>
    public IReadOnlyList<ReportMemoryWait> MemoryWaits { get; init; } = System.Array.Empty<ReportMemoryWait>();
}

/// <summary>A wait for memory: from, to (milliseconds on the holds' clock), the least memory available meanwhile (MiB).</summary>
internal sealed record ReportMemoryWait(long StartMs, long EndMs, long LowestAvailableMiB);
