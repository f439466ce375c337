using System.Globalization;
using MSBuild.Jobserver.BrowserTesting;

namespace MSBuild.Jobserver.IntegrationTests;

/// <summary>
/// A .sln/.slnx build with the documented opt-in (Directory.Solution.targets importing the package's Sdk.targets):
/// the solution logs the summary once and writes the timing report, which headless chromium then loads.
/// </summary>
[TestClass]
public sealed partial class SolutionReportTests : EndToEndTest
{
    private const int Projects = 3;
    private const int Slots = 2;

    // The documented one-line opt-in, beside the solution.
    private static readonly string OptIn =
        $"<Project>\n  <Import Project=\"Sdk.targets\" Sdk=\"{PackageFeed.Id}\" Version=\"{PackageFeed.Version}\" />\n</Project>\n";

    /// <summary>
    /// Three cargo projects in a solution, -m:2 -p:JobserverReport=out/report.html: one JOBS0030 line naming the
    /// three tool runs, the report written, compiles within the 2 slots; in chromium the report has no console error,
    /// fetches nothing, and shows one bar per tool run, one row per slot and one table row per project. The
    /// screenshot is kept in artifacts/report/.
    /// </summary>
    [TestMethod]
    [DataRow("slnx")]
    [DataRow("sln")]
    public void SolutionWithOptInLogsTheSummaryOnceAndWritesAReportChromiumLoads(string format)
    {
        var repo = NewFixture("t13-" + format);
        var projects = Enumerable.Range(1, Projects).Select(i => repo.AddCargoProject("p" + i.ToString(CultureInfo.InvariantCulture), crates: 2)).ToList();
        var solution = "all." + format;
        repo.Write(solution, format == "slnx" ? Slnx(projects) : Sln(projects));
        repo.Write("Directory.Solution.targets", OptIn);

        var run = repo.Build(solution, new BuildOptions { Nodes = Slots, Properties = new Dictionary<string, string> { ["JobserverReport"] = "out/report.html" } });
        Report(format + " build", run);

        var summaries = Fixtures.Summaries(run);
        Assert.HasCount(1, summaries, "the solution build should log one summary:\n" + ProcessRunner.Tail(run.Output));
        Assert.AreEqual(Projects, summaries[0].ToolRuns, "one tool run per project");
        Assert.AreEqual(Slots, summaries[0].Slots);
        Assert.IsLessThanOrEqualTo(Slots, run.MaxConcurrentCompiles, "compiles exceeded the slots:\n" + run.Describe());
        Fixtures.AssertCompilesUsedTheBuildsPool(run);

        var report = Path.Combine(repo.Root, "out", "report.html");
        Assert.IsTrue(File.Exists(report), "no report at " + report + ":\n" + ProcessRunner.Tail(run.Output));
        Assert.HasCount(1, run.LinesWith("Jobserver timing report written to " + report), "the build should say where the report is");

        using var browser = HeadlessChromium.Start(repo.Root);
        var load = browser.Open(report);
        var screenshot = Path.Combine(PackageFeed.RepositoryRoot, "artifacts", "report", $"e2e-{format}.png");
        browser.Screenshot(screenshot);
        TestContext.WriteLine($"report loaded: load event end {load.LoadEventEndMs:0} ms; screenshot {screenshot}");

        Assert.IsEmpty(load.ConsoleErrors, "console errors:\n" + string.Join('\n', load.ConsoleErrors));
        Assert.IsTrue(load.Requests.All(r => r.StartsWith("file://", StringComparison.Ordinal)), "the page fetched: " + string.Join(", ", load.Requests));
        Assert.AreEqual(summaries[0].ToolRuns, browser.Evaluate("document.querySelectorAll('#timeline g.hold').length").GetValue<int>(), "one bar per tool run");
        Assert.AreEqual(Slots, browser.Evaluate("document.querySelectorAll('#timeline g.slot-row').length").GetValue<int>(), "one row per slot");
        Assert.AreEqual(Projects, browser.Evaluate("document.querySelectorAll('#projects tr.project-row').length").GetValue<int>(), "one table row per project");
        Assert.AreEqual("own pool", browser.Evaluate("document.querySelector('#pool [data-fact=form] td').textContent").GetValue<string>());
        Assert.IsInRange(1, 999, load.LoadEventEndMs, "the report should load in under a second");

        // Where the time went: the summary and the report give the same seconds of a slot free while a tool waited,
        // and the report draws the machine's CPU use, sampled by the entry process through the build.
        var summaryFree = FreeSlotSeconds().Match(run.Output);
        Assert.IsTrue(summaryFree.Success, "JOBS0030 should give the seconds with a slot free:\n" + ProcessRunner.Tail(run.Output));
        var reportFree = browser.Evaluate("document.querySelector('#pool [data-fact=free-wait] td').textContent").GetValue<string>();
        Assert.AreEqual(double.Parse(summaryFree.Groups["seconds"].Value, CultureInfo.InvariantCulture), double.Parse(reportFree.Replace(" s", ""), CultureInfo.InvariantCulture), 0.051);
        StringAssert.StartsWith(browser.Evaluate("document.querySelector('#pool [data-fact=cpu] td').textContent").GetValue<string>(), Environment.ProcessorCount + " cores");
        Assert.IsGreaterThan(0.0, browser.Evaluate("document.getElementById('cpu-use').getBBox().width").GetValue<double>(), "the machine's CPU use should be drawn under the tokens");
    }

    /// <summary>
    /// `make -j2` running `+dotnet build all.slnx` with the opt-in: the build joins make's jobserver, the solution logs
    /// the summary once, and the report names the pool's form "joined make's jobserver" with make's 2 slots.
    /// </summary>
    [TestMethod]
    public void SolutionBuiltByMakeReportsJoinedMakesPool()
    {
        var repo = NewFixture("t13-make");
        var projects = Enumerable.Range(1, 2).Select(i => repo.AddCargoProject("m" + i.ToString(CultureInfo.InvariantCulture), crates: 1)).ToList();
        repo.Write("all.slnx", Slnx(projects));
        repo.Write("Directory.Solution.targets", OptIn);
        repo.Write("Makefile", "build:\n\t+dotnet build all.slnx -m:2 -v:n -tl:off -nologo -nr:false -p:JobserverReport=report.html\n");

        var run = repo.Run("make", new[] { "-j2" }, new BuildOptions());
        Report("make -j2 (+dotnet build all.slnx)", run);

        var summaries = Fixtures.Summaries(run);
        Assert.HasCount(1, summaries, "the solution build should log one summary:\n" + ProcessRunner.Tail(run.Output));
        Assert.AreEqual("joined from the parent make", summaries[0].Kind);
        Assert.IsLessThanOrEqualTo(2, run.MaxConcurrentCompiles, "compiles exceeded make -j2:\n" + run.Describe());

        using var browser = HeadlessChromium.Start(repo.Root);
        var load = browser.Open(Path.Combine(repo.Root, "report.html"));
        Assert.IsEmpty(load.ConsoleErrors, "console errors:\n" + string.Join('\n', load.ConsoleErrors));
        Assert.AreEqual("joined make's jobserver", browser.Evaluate("document.querySelector('#pool [data-fact=form] td').textContent").GetValue<string>());
        Assert.AreEqual("2 tokens", browser.Evaluate("document.querySelector('#pool [data-fact=size] td').textContent").GetValue<string>());
        Assert.AreEqual(2, browser.Evaluate("document.querySelectorAll('#timeline g.hold').length").GetValue<int>(), "one bar per cargo run");
    }

    [System.Text.RegularExpressions.GeneratedRegex(@"JOBS0030: .* spent waiting for slots, (?<seconds>\d+\.\d) s of it with a slot free;")]
    private static partial System.Text.RegularExpressions.Regex FreeSlotSeconds();

    private static string Slnx(IEnumerable<string> projects) =>
        "<Solution>\n" + string.Concat(projects.Select(p => $"  <Project Path=\"{p}\" />\n")) + "</Solution>\n";

    // The classic format, as `dotnet new sln` + `dotnet sln add` write it for SDK-style C# projects.
    private static string Sln(IReadOnlyList<string> projects)
    {
        var ids = projects.Select(_ => Guid.NewGuid().ToString("B").ToUpperInvariant()).ToList();
        var entries = string.Concat(projects.Select((p, i) =>
            $"Project(\"{{9A19103F-16F7-4668-BE54-9A1E7A4F7556}}\") = \"{Path.GetFileNameWithoutExtension(p)}\", \"{p.Replace('/', '\\')}\", \"{ids[i]}\"\nEndProject\n"));
        var configurations = string.Concat(ids.Select(id =>
            $"\t\t{id}.Debug|Any CPU.ActiveCfg = Debug|Any CPU\n\t\t{id}.Debug|Any CPU.Build.0 = Debug|Any CPU\n"));
        return "\nMicrosoft Visual Studio Solution File, Format Version 12.00\n# Visual Studio Version 17\n" + entries
            + "Global\n\tGlobalSection(SolutionConfigurationPlatforms) = preSolution\n\t\tDebug|Any CPU = Debug|Any CPU\n\tEndGlobalSection\n"
            + "\tGlobalSection(ProjectConfigurationPlatforms) = postSolution\n" + configurations + "\tEndGlobalSection\nEndGlobal\n";
    }
}
