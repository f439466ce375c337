using System;
using System.Collections.Generic;
using System.Linq;

namespace MSBuild.Jobserver.Tasks.Report;

/// <summary>
/// The time a slot stood free while a tool waited for one: the integral over the build of min(free slots, waiting
/// tools), from the journal's waits and holds. Zero when the pool is the bottleneck; above zero when a token sat unused
/// while a tool that could have run with it was still waiting (a waiter that had not woken, or had not got its node back).
/// </summary>
internal static class FreeSlotTime
{
    /// <summary>
    /// The milliseconds of <paramref name="runs"/> (each asked for a token at Requested, got it at Acquired, gave it back
    /// at Released) during which a slot of the <paramref name="slots"/> was free and a tool waited.
    /// </summary>
    public static long Milliseconds(IEnumerable<(long Requested, long Acquired, long Released)> runs, int slots)
    {
        // Only time between edges counts, so a hand-over at one instant (a release and the next acquisition) adds nothing.
        var edges = runs.SelectMany(r => new[]
            {
                (At: r.Requested, Held: 0, Waiting: 1),
                (At: r.Acquired, Held: 1, Waiting: -1),
                (At: r.Released, Held: -1, Waiting: 0),
            })
            .OrderBy(e => e.At)
            .ToList();

        long total = 0;
        int held = 0, waiting = 0;
        for (var i = 0; i < edges.Count; i++)
        {
            held += edges[i].Held;
            waiting += edges[i].Waiting;
            if (i + 1 < edges.Count)
            {
                total += (edges[i + 1].At - edges[i].At) * Math.Min(Math.Max(0, slots - held), Math.Max(0, waiting));
            }
        }

        return total;
    }
}
