using System.Text.Json;
using System.Text.RegularExpressions;

namespace MSBuild.Jobserver.WindowsTests;

/// <summary>
/// What the ledger gives Linux, under wine: the end-of-build summary's counts, the trace file, and the recovery of
/// tokens kept by a tool that died, with the next tool at full width.
/// </summary>
[TestClass]
public sealed partial class WindowsLedgerTests
{
    public TestContext TestContext { get; set; } = null!;

    [TestMethod]
    public void The_summary_and_the_trace_count_every_tool_run_across_two_nodes()
    {
        var build = WindowsBuild.Create("summary", Enumerable.Repeat<Func<WindowsBuild, string>>(b => $"<Exec Command=\"{b.ProbeCommand(1000)}\" />", 4).ToList());
        var result = build.Run(2);
        Assert.AreEqual(0, result.ExitCode, result.ToString());
        var summaries = WindowsBuild.Summaries(result);
        TestContext.WriteLine(string.Join("\n", summaries));
        Assert.AreEqual(1, summaries.Count, result.Output);
        var summary = SummaryPattern().Match(summaries[0]);
        Assert.IsTrue(summary.Success, summaries[0]);
        Assert.AreEqual("2", summary.Groups["slots"].Value);
        Assert.AreEqual("4", summary.Groups["runs"].Value, "four tool runs took a slot");
        var measured = Intervals.MaxOverlap(build.ToolRuns().SelectMany(r => r.Holds));
        Assert.AreEqual(measured.ToString(System.Globalization.CultureInfo.InvariantCulture), summary.Groups["peak"].Value, "the summary's peak should be the measured one");
        Assert.AreEqual("0", summary.Groups["lost"].Value);

        Assert.IsTrue(File.Exists(build.TraceFile), "no trace file:\n" + result.Output);
        using var trace = JsonDocument.Parse(File.ReadAllText(build.TraceFile));
        var bars = trace.RootElement.GetProperty("traceEvents").EnumerateArray()
            .Where(e => e.GetProperty("ph").GetString() == "X" && e.GetProperty("cat").GetString() == "token").ToList();
        Assert.AreEqual(4, bars.Count, "one slot bar per tool run:\n" + File.ReadAllText(build.TraceFile));
        Assert.IsTrue(bars.All(b => b.GetProperty("name").GetString()!.StartsWith("WindowsProbe (leaf", StringComparison.Ordinal)), "bars name the tool and project");
    }

    [TestMethod]
    public void Tokens_kept_by_a_killed_tool_are_recovered_and_the_next_tool_runs_at_full_width()
    {
        const int Slots = 3;
        // The first tool takes every extra token and dies holding them (TerminateProcess, as a timeout or a crash
        // would end it); the next one, after it, asks for every extra token again.
        var build = WindowsBuild.Create("killed", new Func<WindowsBuild, string>[]
        {
            b => $"<Exec Command=\"{b.ProbeCommand(0, extra: Slots - 1, die: true)}\" IgnoreExitCode=\"true\" />",
            b => $"<Exec Command=\"{b.ProbeCommand(500, extra: Slots - 1)}\" />",
        }, inOrder: true);
        var result = build.Run(1, "JobserverSlots=" + Slots);
        Assert.AreEqual(0, result.ExitCode, result.ToString());
        var runs = build.ToolRuns();
        Assert.AreEqual(2, runs.Count, result.Output);
        Assert.AreEqual(Slots - 1, runs.Min(r => r.Extra), "the next tool should get every extra token:\n" + result.Output);
        var recovered = result.Output.Split('\n').Where(l => l.Contains("JOBS0034", StringComparison.Ordinal)).ToList();
        TestContext.WriteLine(string.Join("\n", recovered.Concat(WindowsBuild.Summaries(result))));
        Assert.IsTrue(recovered.Count >= 1 && recovered[0].Contains($"missing {Slots - 1} token(s)", StringComparison.Ordinal), "JOBS0034 should count the killed tool's tokens:\n" + result.Output);
        var summary = SummaryPattern().Match(WindowsBuild.Summaries(result).Single());
        Assert.AreEqual("0", summary.Groups["lost"].Value, "nothing lost at the end of the build");
    }

    [TestMethod]
    public void A_killed_node_s_orphaned_tool_keeps_its_token_until_it_ends()
    {
        // A node (the probe, through the tasks' PoolConnection and ledger) takes one of 2 tokens and starts a tool that
        // runs 4 s; the node is killed (TerminateProcess). While the tool runs, no refill may mint its token.
        var work = Path.Combine(WindowsArtifacts.WorkDirectory, "orphan-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(work);
        try
        {
            var result = SemaphorePoolTests.Probe("ledger-orphan", Wine.WindowsPath(work));
            TestContext.WriteLine(result.ToString());
            var checks = int.Parse(result.Value("RUNNING-CHECKS"), System.Globalization.CultureInfo.InvariantCulture);
            Assert.IsTrue(checks >= 5, "the orphan was checked while it ran (" + checks + " times):\n" + result);
            Assert.AreEqual("0", result.Value("MINTED-WHILE-RUNNING"), "a refill minted the orphaned tool's token while it ran:\n" + result);
            Assert.AreEqual("0", result.Value("WRONG-COUNT-WHILE-RUNNING"), "1 of 2 tokens in the pool while the orphan holds one:\n" + result);
            Assert.AreEqual("1/0 2", result.Value("AFTER"), "once the tool is gone, exactly its token is minted again:\n" + result);
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    [GeneratedRegex(@"JOBS0030: Jobserver: (?<slots>\d+) slots \([^)]*\); (?<runs>\d+) tool run\(s\)[^;]*?at most (?<peak>\d+) at once; [^;]*; (?<lost>\d+) token\(s\) lost")]
    private static partial Regex SummaryPattern();
}
