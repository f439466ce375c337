using System;
using System.Collections.Generic;
using System.Linq;
using MSBuild.Jobserver.Host;
using MSBuild.Jobserver.Tokens;

namespace MSBuild.Jobserver.Tasks.Report;

/// <summary>What a build's journal adds up to, for the summary and the report: the peak, the waits, the other builds' share.</summary>
internal static class JournalFigures
{
    /// <summary>The most holds that overlapped at any instant.</summary>
    public static int PeakConcurrent(this LedgerJournal journal) => PeakOf(journal.Holds);

    /// <summary>Seconds spent waiting for tokens, all holds together.</summary>
    public static double WaitSeconds(this LedgerJournal journal)
    {
        long total = 0;
        foreach (var hold in journal.Holds)
        {
            total += hold.WaitMs;
        }

        return total / 1000.0;
    }

    /// <summary>
    /// How much of a shared pool the other builds held between <paramref name="fromMs"/> and <paramref name="toMs"/>:
    /// token-seconds, and the most tokens at once.
    /// </summary>
    public static (double TokenSeconds, int Peak) OtherBuildsBetween(this LedgerJournal journal, long fromMs, long toMs)
    {
        var clipped = journal.OtherBuilds
            .Select(h => h with { AcquiredMs = Math.Max(h.AcquiredMs, fromMs), ReleasedMs = Math.Min(h.ReleasedMs, toMs) })
            .Where(h => h.ReleasedMs > h.AcquiredMs)
            .ToList();
        return (clipped.Sum(h => h.ReleasedMs - h.AcquiredMs) / 1000.0, PeakOf(clipped));
    }

    /// <summary>
    /// Seconds during which one of <paramref name="slots"/> slots stood free while a tool waited, but for the quarter
    /// seconds ending at <paramref name="emptyPoolAtMs"/>, when the pool was seen empty (see FreeSlotTime).
    /// </summary>
    public static double FreeSlotWaitSeconds(this LedgerJournal journal, int slots, long[] emptyPoolAtMs) =>
        FreeSlotTime.Milliseconds(journal.Holds, h => h.RequestedMs, h => h.AcquiredMs, h => h.ReleasedMs, slots, emptyPoolAtMs, MachineCpuSampler.IntervalMs) / 1000.0;

    /// <summary>The most holds of <paramref name="holds"/> that overlapped at any instant.</summary>
    public static int PeakOf(IReadOnlyList<TokenHold> holds) => HoldOverlap.Peak(holds, h => h.AcquiredMs, h => h.ReleasedMs);
}
