using System.Text.RegularExpressions;

namespace MSBuild.Jobserver.IntegrationTests;

/// <summary>What the package tells the user: a bad JobserverSlots, and the end-of-build summary.</summary>
[TestClass]
public sealed partial class DiagnosticsTests : EndToEndTest
{
    /// <summary>A JobserverSlots that is not a whole number from 1 up fails the build with JOBS0020, naming the value.</summary>
    [TestMethod]
    [DataRow("abc")]
    [DataRow("0")]
    public void BadJobserverSlotsIsErrorJobs0020NamingTheValue(string slots)
    {
        var run = AssertBadSlotsAreRejected("t11-bad-slots", slots);
        Assert.IsEmpty(Fixtures.ErrorCodes(run).Where(c => c != "JOBS0020").ToList(), "other JOBS errors:\n" + ProcessRunner.Tail(run.Output));
    }

    /// <summary>
    /// The summary (JOBS0030) is logged once, by the entry project, when it references the package, here a project
    /// that builds two others in parallel (-m:4), wherever MSBuild schedules it.
    /// </summary>
    [TestMethod]
    public void EntryProjectThatReferencesThePackageLogsOneSummary()
    {
        var repo = NewFixture("t13-summary");
        var entry = Fixtures.CargoProjects(repo, projects: 2, crates: 2);

        var run = repo.Build(entry, new BuildOptions { Nodes = 4 });
        Report("summary build", run);

        var summaries = Fixtures.Summaries(run);
        Assert.HasCount(1, summaries, "exactly one JOBS0030 summary expected:\n" + ProcessRunner.Tail(run.Output));
        var summary = summaries[0];
        TestContext.WriteLine("summary: " + summary);
        Assert.AreEqual(4, summary.Slots, "the pool should have -m:4 slots");
        Assert.AreEqual("own pool", summary.Kind);
        Assert.AreEqual(2, summary.ToolRuns, "two cargo runs took tokens");
        Assert.IsInRange(1, 2, summary.Peak, "peak tokens held by the two cargo runs");
        Assert.AreEqual(0, summary.Lost, "no token may be lost");
    }

    /// <summary>
    /// `dotnet build` passes its command name ("build") on to MSBuild's command line: a directory of that name beside
    /// the entry project (a NUKE-style build/ folder with one project) must not be taken for the project built.
    /// </summary>
    [TestMethod]
    public void EntryProjectIsFoundBesideABuildDirectory()
    {
        var repo = NewFixture("t13-build-directory");
        var project = repo.AddCargoProject("app", crates: 1);
        repo.Write("build/_build.csproj", "<Project Sdk=\"Microsoft.NET.Sdk\" />\n");

        var run = repo.Build(project, new BuildOptions { Nodes = 2 });

        var summaries = Fixtures.Summaries(run);
        Assert.HasCount(1, summaries, "the entry project's summary is missing:\n" + ProcessRunner.Tail(run.Output));
        Assert.AreEqual(1, summaries[0].ToolRuns);
    }

    /// <summary>A multi-targeting entry project logs the summary once, after all its inner builds, counting every tool run.</summary>
    [TestMethod]
    public void MultiTargetingEntryProjectLogsOneSummary()
    {
        var repo = NewFixture("t13-multi-targeting");
        CrateGenerator.WriteWorkspace(Path.Combine(repo.Root, "multi", "ws"), "multi", crates: 1);
        var project = repo.AddProject("multi", PackageUse.PackageReference, "    <TargetFrameworks>net10.0;net9.0</TargetFrameworks>", """
              <!-- Runs in each inner build (not the outer one): two tool runs. -->
              <Target Name="CargoBuild" AfterTargets="Build" Condition="'$(TargetFramework)' != ''">
                <Exec Command="cargo build --offline" WorkingDirectory="$(MSBuildThisFileDirectory)ws" />
              </Target>
            """);

        var run = repo.Build(project, new BuildOptions { Nodes = 2 });

        var summaries = Fixtures.Summaries(run);
        TestContext.WriteLine("summaries: " + string.Join("; ", summaries));
        Assert.HasCount(1, summaries, "a multi-targeting entry project should log one summary, not one per target framework:\n" + ProcessRunner.Tail(run.Output));
        Assert.AreEqual(2, summaries[0].ToolRuns, "the summary should come after both inner builds' cargo runs");
    }

    /// <summary>
    /// The summary shows in each place a user reads a build: the terminal logger with its own detailed verbosity
    /// (<c>-tl:on -tlp:v=d</c>: at its default it shows no messages of any project), under the entry project's line;
    /// the binary log of that same build; and the classic console logger at minimal verbosity, replaying that log.
    /// </summary>
    [TestMethod]
    public void SummaryShowsInTheTerminalLoggerTheBinaryLogAndTheClassicLogger()
    {
        var repo = NewFixture("t13-summary-loggers");
        var projects = new[] { repo.AddCargoProject("l1", crates: 1), repo.AddCargoProject("l2", crates: 1) };
        var entry = repo.AddTraversal("all.proj", projects);
        var binlog = Path.Combine(repo.Root, "build.binlog");
        var options = new BuildOptions { Nodes = 2, Environment = new Dictionary<string, string?> { ["MSBUILDTERMINALLOGGER"] = null } };

        var live = repo.Run("dotnet", ["build", entry, "-m:2", "-tl:on", "-tlp:v=d", "-nologo", "-nr:false", "-bl:" + binlog], options);
        var terminal = AnsiEscape().Replace(live.Output, "");
        var terminalSummary = terminal.Split('\n').Where(l => l.Contains("JOBS0030", StringComparison.Ordinal)).ToList();
        TestContext.WriteLine("terminal logger: " + string.Join(" | ", terminalSummary));
        Assert.HasCount(1, terminalSummary, "the terminal logger should show one summary:\n" + ProcessRunner.Tail(terminal));
        Assert.IsTrue(terminalSummary[0].StartsWith("    JOBS0030: Jobserver: 2 slots (own pool); 2 tool run(s)", StringComparison.Ordinal),
            "the summary should be indented under its project: " + terminalSummary[0]);
        var lines = terminal.Split('\n');
        var summaryAt = Array.FindIndex(lines, l => l.Contains("JOBS0030", StringComparison.Ordinal));
        var projectLine = lines.Take(summaryAt).LastOrDefault(l => l.StartsWith("  ", StringComparison.Ordinal) && !l.StartsWith("   ", StringComparison.Ordinal) && l.Trim().Length > 0) ?? "";
        TestContext.WriteLine("its project line: " + projectLine);
        Assert.IsTrue(projectLine.StartsWith("  all ", StringComparison.Ordinal) && projectLine.Contains("succeeded", StringComparison.Ordinal),
            "the summary should stand under the entry project's line, not the rendezvous project's: " + projectLine);

        Assert.IsTrue(File.Exists(binlog), "no binary log was written");
        var replay = repo.Run("dotnet", ["msbuild", binlog, "-v:m", "-tl:off", "-nologo"], new BuildOptions());
        var replayed = Fixtures.Summaries(replay);
        TestContext.WriteLine("classic logger replaying the binary log: " + string.Join("; ", replayed));
        Assert.HasCount(1, replayed, "the binary log should hold one summary, shown by the classic logger at -v:m:\n" + ProcessRunner.Tail(replay.Output));
        Assert.AreEqual(2, replayed[0].ToolRuns);
        Assert.AreEqual(0, replayed[0].Lost);
    }

    [GeneratedRegex(@"\x1b(?:\[[0-9;?]*[A-Za-z]|\][^\x1b\x07]*(?:\x07|\x1b\\))")]
    private static partial Regex AnsiEscape();

    /// <summary>
    /// Projects of one build that ask for different pool sizes (1 and 3, at -m:2: two of them end up on the worker node,
    /// which asks through the rendezvous): the build keeps the first size asked for, every compile stays within it,
    /// and the others get JOBS0026 naming both sizes.
    /// </summary>
    [TestMethod]
    public void ProjectsAskingDifferentSizesShareTheFirstPoolAndGetJobs0026()
    {
        var repo = NewFixture("jobs0026-sizes");
        var projects = new[]
        {
            repo.AddCargoProject("s1", crates: 1, extraProperties: "<JobserverSlots>1</JobserverSlots>"),
            repo.AddCargoProject("s3", crates: 1, extraProperties: "<JobserverSlots>3</JobserverSlots>"),
            repo.AddCargoProject("t1", crates: 1, extraProperties: "<JobserverSlots>1</JobserverSlots>"),
            repo.AddCargoProject("t3", crates: 1, extraProperties: "<JobserverSlots>3</JobserverSlots>"),
        };
        var entry = repo.AddTraversal("all.proj", projects);

        var run = repo.Build(entry, new BuildOptions { Nodes = 2 });
        Report("sizes 1 and 3 in one build", run);

        var summaries = Fixtures.Summaries(run);
        Assert.HasCount(1, summaries, "one summary expected:\n" + ProcessRunner.Tail(run.Output));
        var slots = summaries[0].Slots;
        Assert.Contains(slots, new[] { 1, 3 }, "the build's pool has neither size a project asked for");
        Assert.AreEqual(4, summaries[0].ToolRuns);
        Assert.IsLessThanOrEqualTo(slots, run.MaxConcurrentCompiles, $"compiles exceeded the build's {slots} slots:\n" + run.Describe());
        var warnings = run.LinesWith("JOBS0026");
        Assert.IsNotEmpty(warnings, "no JOBS0026 for projects that asked for another size:\n" + ProcessRunner.Tail(run.Output));
        Assert.IsTrue(warnings.All(w => w.Contains(slots == 1 ? "(1 and 3)" : "(3 and 1)", StringComparison.Ordinal)), "JOBS0026 should name the kept size first:\n" + string.Join("\n", warnings));
    }

    /// <summary>
    /// A one-project build whose cargo target (AfterTargets="Build") is declared after an explicit Sdk.targets import:
    /// the cargo runs after the package's summary, which then has no tool run to report, and the run says so
    /// (JOBS0035). Declared before the import, the same target runs first and the summary counts it, with no JOBS0035.
    /// </summary>
    [TestMethod]
    [DataRow(true)]
    [DataRow(false)]
    public void AToolOfTheEntryProjectAfterItsSummarySaysSoJobs0035(bool cargoAfterSdkTargets)
    {
        var repo = NewFixture("jobs0035-" + (cargoAfterSdkTargets ? "late" : "early"));
        var project = repo.AddExplicitImportCargoProject("solo", crates: 1, cargoAfterSdkTargets);

        var run = repo.Build(project, new BuildOptions { Nodes = 2 });
        Report("cargo target declared " + (cargoAfterSdkTargets ? "after" : "before") + " Sdk.targets", run);

        Assert.HasCount(1, run.Compiles, run.Describe());
        var late = run.LinesWith("JOBS0035");
        var summaries = Fixtures.Summaries(run);
        if (cargoAfterSdkTargets)
        {
            Assert.IsNotEmpty(late, "the cargo that ran after the summary did not say so:\n" + ProcessRunner.Tail(run.Output));
            Assert.IsEmpty(summaries, "the summary ran before the project's only tool, so it had nothing to report:\n" + ProcessRunner.Tail(run.Output));
        }
        else
        {
            Assert.IsEmpty(late, "JOBS0035 for a tool that ran before the summary:\n" + string.Join("\n", late));
            Assert.HasCount(1, summaries, "one summary expected:\n" + ProcessRunner.Tail(run.Output));
            Assert.AreEqual(1, summaries[0].ToolRuns);
        }
    }

    /// <summary>A build whose entry project does not reference the package logs no summary (only the entry project does).</summary>
    [TestMethod]
    public void EntryProjectWithoutThePackageLogsNoSummary()
    {
        var repo = NewFixture("t13-no-summary");
        var projects = new[] { repo.AddCargoProject("q1", crates: 1), repo.AddCargoProject("q2", crates: 1) };
        var entry = repo.AddTraversal("all.proj", projects, PackageUse.None);

        var run = repo.Build(entry, new BuildOptions { Nodes = 4 });

        Assert.HasCount(2, run.Compiles, run.Describe());
        Assert.IsEmpty(Fixtures.Summaries(run), "a project that is not the entry logged the summary:\n" + ProcessRunner.Tail(run.Output));
    }
}
