using System.Text.Json;
using MSBuild.Jobserver.Tasks.Report;
using MSBuild.Jobserver.Tokens;

namespace MSBuild.Jobserver.Tests;

/// <summary>
/// The summary's peak, the trace's tracks and the report's rows are one answer (HoldOverlap): the same holds land on
/// the same row in both drawings, no row holds two at once, and the rows used equal the peak counted by brute force.
/// </summary>
[TestClass]
public sealed class HoldOverlapTests
{
    private const int Slots = 6;

    /// <summary>
    /// The summary's own sort of edges (a heapsort, so no sort of longs is JIT-compiled in every build) orders like
    /// Array.Sort: empty, one, duplicates, sorted, reversed and random arrays, negative values included.
    /// </summary>
    [TestMethod]
    public void TheEdgeSortOrdersLikeArraySort()
    {
        var random = new Random(22);
        var cases = new List<long[]> { Array.Empty<long>(), new long[] { 7 }, new long[] { 3, 3, 3 }, Enumerable.Range(0, 50).Select(i => (long)i).ToArray(), Enumerable.Range(0, 50).Select(i => (long)-i).ToArray() };
        cases.AddRange(Enumerable.Range(0, 200).Select(n => Enumerable.Range(0, n).Select(_ => random.NextInt64(-1000, 1000) * (random.Next(2) == 0 ? 1 : 1L << 40)).ToArray()));
        foreach (var edges in cases)
        {
            var expected = edges.ToArray();
            Array.Sort(expected);
            HoldOverlap.SortEdges(edges);
            CollectionAssert.AreEqual(expected, edges, "length " + edges.Length);
        }
    }

    /// <summary>
    /// 400 holds on a 10 ms grid, so hand-overs (a release and an acquisition at one instant) are common: the trace and
    /// the report put every hold and every wait on the same row, the summary's peak is the brute-force count of holds
    /// open at once, and both drawings use exactly that many slot rows.
    /// </summary>
    [TestMethod]
    public void TraceReportAndSummaryAgreeOnRowsAndPeak()
    {
        var holds = Generate(400);
        var path = Path.Combine(TestSupport.NewTempDirectory("hold-overlap"), "trace.json");

        var traceTracks = ChromeTrace.Write(path, holds, Slots, "generated");
        var layout = new TimingLayout(new TimingInput("generated", "", new PoolFacts(PoolForm.Own, Slots, Slots, 0, 0),
            holds.Select(h => new ReportHold(h.Project, h.Tool, h.RequestedMs, h.AcquiredMs, h.ReleasedMs)).ToList(), MachineCpu.None("generated")));
        var (traceHolds, traceWaits) = TraceRows(path);

        var reportHolds = layout.HoldRows.ToDictionary(p => p.Key.Tool, p => p.Value);
        var reportWaits = layout.WaitRows.ToDictionary(p => p.Key.Tool, p => p.Value);
        CollectionAssert.AreEquivalent(reportHolds.ToList(), traceHolds.ToList(), "the trace and the report should draw every hold on the same row");
        CollectionAssert.AreEquivalent(reportWaits.ToList(), traceWaits.ToList(), "the trace and the report should draw every wait on the same row");

        foreach (var row in reportHolds.GroupBy(p => p.Value, p => holds.Single(h => h.Tool == p.Key)))
        {
            var ordered = row.OrderBy(h => h.AcquiredMs).ToList();
            for (var i = 1; i < ordered.Count; i++)
            {
                Assert.IsLessThanOrEqualTo(ordered[i].AcquiredMs, ordered[i - 1].ReleasedMs, $"two holds overlap on row {row.Key}");
            }
        }

        var peak = holds.Max(at => holds.Count(h => h.AcquiredMs <= at.AcquiredMs && at.AcquiredMs < h.ReleasedMs));
        Assert.AreEqual(peak, JournalFigures.PeakOf(holds), "the summary's peak");
        Assert.AreEqual(peak, layout.InUse.Max(s => s.InUse), "the report's tokens-in-use steps");
        Assert.AreEqual(peak, traceTracks, "the trace's slot tracks");
        Assert.AreEqual(peak, layout.HoldRows.Values.Max() + 1, "the report's slot rows");
    }

    // Each hold's tool is unique, so it names the hold in both drawings.
    private static List<TokenHold> Generate(int count)
    {
        var random = new Random(21);
        var free = Enumerable.Repeat(1_000_000L, Slots).ToList();
        var holds = new List<TokenHold>();
        for (var i = 0; i < count; i++)
        {
            var requested = 1_000_000L + (i * 30L) + (random.Next(0, 5) * 10);
            var slot = free.IndexOf(free.Min());
            var acquired = Math.Max(requested, free[slot]);
            var released = acquired + (random.Next(1, 30) * 10);
            free[slot] = released;
            holds.Add(new TokenHold(requested, acquired, released, 1000 + i, "exec", "P" + (i % 5), "tool" + i));
        }

        return holds;
    }

    private static (Dictionary<string, int> Holds, Dictionary<string, int> Waits) TraceRows(string path)
    {
        using var trace = JsonDocument.Parse(File.ReadAllText(path));
        var bars = trace.RootElement.GetProperty("traceEvents").EnumerateArray()
            .Where(e => e.GetProperty("ph").GetString() == "X")
            .Select(e => (Category: e.GetProperty("cat").GetString(), Tool: e.GetProperty("args").GetProperty("tool").GetString()!, Row: e.GetProperty("tid").GetInt32()))
            .ToList();
        return (bars.Where(b => b.Category == "token").ToDictionary(b => b.Tool, b => b.Row),
            bars.Where(b => b.Category == "wait").ToDictionary(b => b.Tool, b => b.Row));
    }
}
