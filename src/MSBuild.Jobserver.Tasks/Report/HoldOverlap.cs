using System;
using System.Collections.Generic;
using System.Linq;

namespace MSBuild.Jobserver.Tasks.Report;

/// <summary>
/// How token holds (or waits) overlap in time, the one answer the summary, the trace and the report all draw on: the
/// row each is drawn on, and how many were open at once. An interval that ends at the instant another starts is a
/// hand-over, not an overlap.
/// </summary>
internal static class HoldOverlap
{
    /// <summary>
    /// A row for every item, the lowest free at its start (greedy interval partitioning, by start, then end): no two
    /// items on one row overlap, and the rows used equal the <see cref="Peak"/> of the items.
    /// </summary>
    public static IReadOnlyDictionary<T, int> Rows<T>(IEnumerable<T> items, Func<T, long> start, Func<T, long> end)
        where T : class
    {
        var rowEnds = new List<long>();
        var rows = new Dictionary<T, int>(ReferenceComparer<T>.Instance);
        foreach (var item in items.OrderBy(start).ThenBy(end))
        {
            var row = rowEnds.FindIndex(e => e <= start(item));
            if (row < 0)
            {
                row = rowEnds.Count;
                rowEnds.Add(0);
            }

            rowEnds[row] = end(item);
            rows[item] = row;
        }

        return rows;
    }

    /// <summary>
    /// How many <paramref name="intervals"/> are open from each instant until the next, in ms after
    /// <paramref name="origin"/>, starting with none there.
    /// </summary>
    public static IReadOnlyList<(long AtMs, int InUse)> Steps(IEnumerable<(long From, long To)> intervals, long origin)
    {
        // Releases before acquisitions at one instant: a hand-over is not an overlap.
        var edges = intervals.SelectMany(i => new[] { (At: i.From - origin, Delta: 1), (At: i.To - origin, Delta: -1) })
            .OrderBy(e => e.At).ThenBy(e => e.Delta);
        var steps = new List<(long AtMs, int InUse)> { (0, 0) };
        var current = 0;
        foreach (var edge in edges)
        {
            current += edge.Delta;
            if (steps[steps.Count - 1].AtMs == edge.At)
            {
                steps[steps.Count - 1] = (edge.At, current);
            }
            else
            {
                steps.Add((edge.At, current));
            }
        }

        return steps;
    }

    /// <summary>The most <paramref name="items"/> open at any instant, each open from <paramref name="from"/> to <paramref name="to"/>.</summary>
    public static int Peak<T>(IReadOnlyList<T> items, Func<T, long> from, Func<T, long> to)
        where T : class
    {
        // An edge is one long, its instant times two plus 1 for a start, so ends sort before starts at the same instant
        // (a hand-over is not an overlap).
        var edges = new long[items.Count * 2];
        for (var i = 0; i < items.Count; i++)
        {
            edges[2 * i] = from(items[i]) * 2 + 1;
            edges[2 * i + 1] = to(items[i]) * 2;
        }

        SortEdges(edges);
        int current = 0, peak = 0;
        foreach (var edge in edges)
        {
            current += (edge & 1) == 1 ? 1 : -1;
            peak = Math.Max(peak, current);
        }

        return peak;
    }

    /// <summary>
    /// Sorts <paramref name="edges"/> in place (heapsort). Every build's summary sorts its edges, and CoreLib ships no
    /// precompiled sort of longs: JIT-compiling List&lt;long&gt;.Sort cost more than the count itself (docs/performance.md).
    /// </summary>
    internal static void SortEdges(long[] edges)
    {
        for (var root = edges.Length / 2 - 1; root >= 0; root--)
        {
            SiftDown(edges, root, edges.Length);
        }

        for (var end = edges.Length - 1; end > 0; end--)
        {
            (edges[0], edges[end]) = (edges[end], edges[0]);
            SiftDown(edges, 0, end);
        }
    }

    // Moves edges[root] down the max-heap of the first count edges until both its children are smaller.
    private static void SiftDown(long[] edges, int root, int count)
    {
        while (2 * root + 1 < count)
        {
            var child = 2 * root + 1;
            if (child + 1 < count && edges[child + 1] > edges[child])
            {
                child++;
            }

            if (edges[root] >= edges[child])
            {
                return;
            }

            (edges[root], edges[child]) = (edges[child], edges[root]);
            root = child;
        }
    }

    private sealed class ReferenceComparer<T> : IEqualityComparer<T>
        where T : class
    {
        public static readonly ReferenceComparer<T> Instance = new();

        public bool Equals(T? x, T? y) => ReferenceEquals(x, y);

        public int GetHashCode(T obj) => System.Runtime.CompilerServices.RuntimeHelpers.GetHashCode(obj);
    }
}
