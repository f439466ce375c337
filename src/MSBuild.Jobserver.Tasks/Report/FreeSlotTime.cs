using System;
using System.Collections.Generic;

namespace MSBuild.Jobserver.Tasks.Report;

/// <summary>
/// The time a slot stood free while a tool waited for one: the integral over the build of min(free slots, waiting
/// tools), from the journal's waits and holds. Zero when the pool is the bottleneck; above zero when a token sat unused
/// while a tool that could have run with it was still waiting (a waiter that had not woken, or had not got its node back).
/// </summary>
internal static class FreeSlotTime
{
    private const long Requested = 0;
    private const long Acquired = 1;
    private const long Released = 2;

    /// <summary>
    /// The milliseconds of <paramref name="runs"/> (each asked for a token at <paramref name="requested"/>, got it at
    /// <paramref name="acquired"/>, gave it back at <paramref name="released"/>) during which a slot of the
    /// <paramref name="slots"/> was free and a tool waited.
    /// </summary>
    public static long Milliseconds<T>(IReadOnlyList<T> runs, Func<T, long> requested, Func<T, long> acquired, Func<T, long> released, int slots)
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
        int held = 0, waiting = 0;
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

            if (i + 1 < edges.Length)
            {
                total += ((edges[i + 1] >> 2) - (edges[i] >> 2)) * Math.Min(Math.Max(0, slots - held), Math.Max(0, waiting));
            }
        }

        return total;
    }
}
