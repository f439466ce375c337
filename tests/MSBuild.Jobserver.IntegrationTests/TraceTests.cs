using System.Text.Json;

namespace MSBuild.Jobserver.IntegrationTests;

/// <summary>JobserverTraceFile: a Chrome trace-event file of every token hold.</summary>
[TestClass]
public sealed class TraceTests : EndToEndTest
{
    /// <summary>
    /// Test 1's fixture with -p:JobserverTraceFile=trace.json: valid JSON with traceEvents, one "X" bar per tool run on
    /// the slot process (pid 1), never more slot tracks than slots, and bars on one track never overlap.
    /// </summary>
    [TestMethod]
    public void TraceFileHasOneBarPerToolRunOnNonOverlappingSlotTracks()
    {
        var repo = NewFixture("t12-trace");
        var entry = Fixtures.CargoProjects(repo, projects: 4, crates: 3);

        var run = repo.Build(entry, new BuildOptions { Nodes = 4, Properties = new Dictionary<string, string> { ["JobserverTraceFile"] = "trace.json" } });
        Report("trace build", run);

        var path = Path.Combine(repo.Root, "trace.json");
        Assert.IsTrue(File.Exists(path), "no trace file at " + path + ":\n" + ProcessRunner.Tail(run.Output));
        using var trace = JsonDocument.Parse(File.ReadAllText(path));
        Assert.IsTrue(trace.RootElement.TryGetProperty("traceEvents", out var events) && events.ValueKind == JsonValueKind.Array, "no traceEvents array");

        var bars = events.EnumerateArray()
            .Where(e => e.GetProperty("ph").GetString() == "X" && e.GetProperty("pid").GetInt32() == 1)
            .Select(e => (Tid: e.GetProperty("tid").GetInt32(), Start: e.GetProperty("ts").GetInt64(), End: e.GetProperty("ts").GetInt64() + e.GetProperty("dur").GetInt64(),
                Name: e.GetProperty("name").GetString() ?? ""))
            .ToList();
        var tracks = bars.Select(b => b.Tid).Distinct().Count();
        TestContext.WriteLine($"trace: {bars.Count} slot bars on {tracks} track(s); {events.GetArrayLength()} events");

        Assert.HasCount(4, bars, "one bar per tool run (the four cargo runs):\n" + string.Join('\n', bars));
        Assert.IsTrue(bars.All(b => b.Name.StartsWith("cargo", StringComparison.Ordinal)), "bars should name the tool:\n" + string.Join('\n', bars));
        Assert.IsInRange(1, 4, tracks, "more slot tracks than the 4 slots");
        foreach (var track in bars.GroupBy(b => b.Tid))
        {
            var ordered = track.OrderBy(b => b.Start).ToList();
            for (var i = 1; i < ordered.Count; i++)
            {
                Assert.IsLessThanOrEqualTo(ordered[i].Start, ordered[i - 1].End, $"bars overlap on slot track {track.Key}: {ordered[i - 1]} and {ordered[i]}");
            }
        }

        var summary = Fixtures.Summaries(run);
        Assert.HasCount(1, summary, "the trace build should log one summary:\n" + ProcessRunner.Tail(run.Output));
        Assert.AreEqual(summary[0].ToolRuns, bars.Count, "the trace and the summary disagree on the number of tool runs");
        Assert.AreEqual(summary[0].Peak, tracks, "the trace should use as many slot tracks as the peak the summary reports");
    }
}
