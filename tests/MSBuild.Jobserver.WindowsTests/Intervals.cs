namespace MSBuild.Jobserver.WindowsTests;

/// <summary>Hold intervals "start end" (ms) logged by probes and Rust peers, and how many overlapped at most.</summary>
internal static class Intervals
{
    public static List<(long Start, long End)> Parse(IEnumerable<string> lines) =>
        lines.Select(l => l.Trim().Split(' ')).Where(p => p.Length == 2 && long.TryParse(p[0], out _) && long.TryParse(p[1], out _))
            .Select(p => (long.Parse(p[0]), long.Parse(p[1]))).ToList();

    /// <summary>The largest number of intervals open at one instant (an end at t comes before a start at t).</summary>
    public static int MaxOverlap(IEnumerable<(long Start, long End)> intervals)
    {
        var events = intervals.SelectMany(i => new[] { (Time: i.Start, Delta: 1), (Time: i.End, Delta: -1) })
            .OrderBy(e => e.Time).ThenBy(e => e.Delta);
        int open = 0, max = 0;
        foreach (var (_, delta) in events)
        {
            open += delta;
            max = Math.Max(max, open);
        }

        return max;
    }
}
