using System;
using System.Collections.Generic;

namespace MSBuild.Jobserver.Tasks.Report;

/// <summary>
/// The time a slot stood free while a tool waited for one: the integral over the build of min(free slots, waiting
/// tools), from the journal's waits and holds. Zero when the pool is the bottleneck; above zero when a token sat unused
/// while a tool that could have run with it was still waiting (a waiter that had not woken, or had not got its node back).
/// The journal knows only the build's tasks: a token that a running tool's own client took (a rustc's codegen thread, a
/// cargo's second job) looks free there. So the time the pool was seen empty (the owner looks every quarter second,
/// where it can) is left out.
/// </summary>
internal static class FreeSlotTime
{
    private const long Requested = 0;
    private const long Acquired = 1;
    private const long Released = 2;

    /// <summary>
    /// The milliseconds of <paramref name="runs"/> (each asked for a token at <paramref name="requested"/>, got it at
    /// <paramref name="acquired"/>, gave it back at <paramref name="released"/>) during which a slot of the
    /// <paramref name="slots"/> was free and a tool waited, but for the intervals ending at <paramref name="emptyPoolAtMs"/>
    /// (ascending; each <paramref name="lookIntervalMs"/> long), in which the pool was seen without a free token.
    /// </summary>
    public static long Milliseconds<T>(IReadOnlyList<T> runs, Func<T, long> requested, Func<T, long> acquired, Func<T, long> released, int slots,
        long[] emptyPoolAtMs, long lookIntervalMs)
        where T : class
    {
        // Only time between edges counts, so a hand-over at one instant (a release and the next acquisition) adds nothing,
        // and the order of edges at one instant does not matter. An edge is one long, its instant times four plus its
        // kind: an array of longs, not tuples, whose generic code is JIT-compiled in every build's summary.
        var edges = new long[runs.Count * 3];
        for (var i = 0; i < runs.Count; i++)
        {
            edges[3 * i] = requested(runs[i]) * 4 + Requested;
            edges[3 * i + 1] = acquired(runs[i]) * 4 + Acquired;
            edges[3 * i + 2] = released(runs[i]) * 4 + Released;
        }

        HoldOverlap.SortEdges(edges);
        long total = 0;
        int held = 0, waiting = 0, nextEmpty = 0;
        for (var i = 0; i < edges.Length; i++)
        {
            switch (edges[i] & 3)
            {
                case Requested:
                    waiting++;
                    break;
                case Acquired:
                    held++;
                    waiting--;
                    break;
                default:
                    held--;
                    break;
            }

            var free = Math.Min(Math.Max(0, slots - held), Math.Max(0, waiting));
            if (i + 1 < edges.Length && free > 0)
            {
                total += free * NotSeenEmpty(edges[i] >> 2, edges[i + 1] >> 2, emptyPoolAtMs, lookIntervalMs, ref nextEmpty);
            }
        }

        return total;
    }

    // The milliseconds of [from, to) outside every interval (at - lookIntervalMs, at] of emptyPoolAtMs. The spans come in
    // ascending order, so next only moves forward past looks that ended before this span.
    private static long NotSeenEmpty(long from, long to, long[] emptyPoolAtMs, long lookIntervalMs, ref int next)
    {
        while (next < emptyPoolAtMs.Length && emptyPoolAtMs[next] <= from)
        {
            next++;
        }

        long covered = 0, coveredTo = from;
        for (var j = next; j < emptyPoolAtMs.Length && emptyPoolAtMs[j] - lookIntervalMs < to; j++)
        {
            var start = Math.Max(coveredTo, emptyPoolAtMs[j] - lookIntervalMs);
            var end = Math.Min(to, emptyPoolAtMs[j]);
            if (end > start)
            {
                covered += end - start;
                coveredTo = end;
            }
        }

        return to - from - covered;
    }
}
