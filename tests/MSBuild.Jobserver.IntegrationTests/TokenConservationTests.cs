using System.Globalization;
using System.Text.RegularExpressions;

namespace MSBuild.Jobserver.IntegrationTests;

/// <summary>
/// Issue 5, token conservation end to end. A cargo holding three slots (its own and two extra, taken by compiles that
/// never end) is killed; the two extra tokens die with it. In the build's own pool they are minted again when the
/// last lease ends (JOBS0034), so the next cargo of the same build runs at the full width again and the summary
/// counts nothing lost. In make's pool they are make's: the build never mints, and make's own count at exit shows
/// exactly the two the killed tool took.
/// </summary>
[TestClass]
public sealed partial class TokenConservationTests : EndToEndTest
{
    private const int Slots = 3;

    /// <summary>(a) Exec's Timeout kills cargo (ToolTask kills the whole tree) while it holds 3 slots.</summary>
    [TestMethod]
    public void ExecTimeoutKillingCargoLosesNoSlotForTheNextCargo()
    {
        var repo = NewFixture("r3-timeout");
        var wrapper = ReliabilitySupport.AddSlowTools(repo);
        var project = AddKillThenBuildProject(repo, "timeout",
            $"<Exec Command=\"RUSTC_WRAPPER={wrapper} cargo build --offline\" WorkingDirectory=\"$(MSBuildThisFileDirectory)slow\" Timeout=\"15000\" ContinueOnError=\"true\" />");
        var slowLog = Path.Combine(repo.Root, "slow.log");

        var run = repo.Build(project, Options(slowLog));

        AssertRecoveredAndFullWidthAfterwards(run, slowLog);
        Assert.IsNotEmpty(run.LinesWith("MSB5002"), "Exec's Timeout did not kill the tool:\n" + ProcessRunner.Tail(run.Output));
    }

    /// <summary>(b) cargo dies by SIGKILL on its own (a wrapper script kills it, as a crash or the OOM killer would).</summary>
    [TestMethod]
    public void CargoKilledBySigkillLosesNoSlotForTheNextCargo()
    {
        var repo = NewFixture("r3-sigkill");
        var wrapper = ReliabilitySupport.AddSlowTools(repo);
        var project = AddKillThenBuildProject(repo, "sigkill",
            $"<Exec Command=\"sh ../../selfkill.sh {wrapper} {Slots}\" JobserverAware=\"true\" WorkingDirectory=\"$(MSBuildThisFileDirectory)slow\" />");
        var slowLog = Path.Combine(repo.Root, "slow.log");

        var run = repo.Build(project, Options(slowLog));

        AssertRecoveredAndFullWidthAfterwards(run, slowLog);
        Assert.IsNotEmpty(run.LinesWith("selfkill: cargo"), "the self-killing tool did not run:\n" + ProcessRunner.Tail(run.Output));
    }

    /// <summary>
    /// (c) make -j4 runs `+dotnet build`; a cargo holding two of make's tokens dies by SIGKILL. The build never mints
    /// into make's pool: no JOBS0034, the next cargo gets no more than what is left, and make's own count at exit is
    /// short by exactly the two tokens the killed tool took (make prints its INTERNAL line with those numbers; had the
    /// build minted them back, the count would be complete and the line would not appear).
    /// </summary>
    [TestMethod]
    public void KilledToolUnderMakeNeverMintsIntoMakesPool()
    {
        var repo = NewFixture("r3-make");
        var wrapper = ReliabilitySupport.AddSlowTools(repo);
        var project = AddKillThenBuildProject(repo, "undermake",
            $"<Exec Command=\"sh ../../selfkill.sh {wrapper} {Slots}\" JobserverAware=\"true\" WorkingDirectory=\"$(MSBuildThisFileDirectory)slow\" />");
        var slowLog = Path.Combine(repo.Root, "slow.log");
        repo.Write("Makefile", string.Join('\n',
            "# make -j4: one recursive dotnet build; make's pipe holds its 3 other tokens.",
            "all:",
            $"\t+dotnet build {project} -m:2 -v:n -tl:off -nologo -nr:false",
            ""));

        var run = repo.Run("make", new[] { "-j4" }, new BuildOptions { Environment = new Dictionary<string, string?> { [ReliabilitySupport.SlowLogVariable] = slowLog } });

        var held = ReliabilitySupport.Starts(slowLog).Count;
        var next = run.Compiles;
        var makeCheck = MakeTokenCheck().Match(run.Output);
        TestContext.WriteLine($"killed cargo held {held} slot(s); next cargo: {next.Count} compiles, max {run.MaxConcurrentCompiles} at once; make: '{makeCheck.Value}'");
        Assert.AreEqual(Slots, held, "the killed cargo should have held 3 slots (its own + 2 of make's):\n" + ProcessRunner.Tail(run.Output));
        Assert.IsNotEmpty(run.LinesWith("JOBS0031"), "the build did not join make's jobserver:\n" + ProcessRunner.Tail(run.Output));
        Assert.IsEmpty(run.LinesWith("JOBS0034"), "the build minted tokens into make's pool:\n" + ProcessRunner.Tail(run.Output));
        Assert.HasCount(4, next, run.Describe());
        Assert.IsLessThanOrEqualTo(2, run.MaxConcurrentCompiles, "the next cargo ran on more slots than were left (minted tokens?):\n" + run.Describe());
        Assert.IsTrue(makeCheck.Success, "make should report the tokens the killed tool took from it:\n" + ProcessRunner.Tail(run.Output));
        var available = int.Parse(makeCheck.Groups["available"].Value, CultureInfo.InvariantCulture);
        var should = int.Parse(makeCheck.Groups["should"].Value, CultureInfo.InvariantCulture);
        Assert.AreEqual(4, should, makeCheck.Value);
        Assert.AreEqual(should - (held - 1), available, "make's pool should be short by exactly the killed tool's extra tokens, never more full: " + makeCheck.Value);
    }

    private static BuildOptions Options(string slowLog) => new()
    {
        Nodes = 2,
        Properties = new Dictionary<string, string> { ["JobserverSlots"] = Slots.ToString(CultureInfo.InvariantCulture) },
        Environment = new Dictionary<string, string?> { [ReliabilitySupport.SlowLogVariable] = slowLog },
    };

    // A project whose build first runs the command that gets killed (on 3 slow crates), then cargo on 4 crates.
    private static string AddKillThenBuildProject(FixtureRepo repo, string name, string killedExec)
    {
        CrateGenerator.WriteWorkspace(Path.Combine(repo.Root, name, "slow"), name + "_slow", crates: Slots);
        CrateGenerator.WriteWorkspace(Path.Combine(repo.Root, name, "ws"), name, crates: 4);
        return repo.AddProject(name, PackageUse.PackageReference, "", $"""
              <Target Name="KillThenBuild" AfterTargets="Build">
                {killedExec}
                <Exec Command="cargo build --offline" WorkingDirectory="$(MSBuildThisFileDirectory)ws" />
              </Target>
            """);
    }

    private void AssertRecoveredAndFullWidthAfterwards(BuildRun run, string slowLog)
    {
        var starts = ReliabilitySupport.Starts(slowLog);
        var recovered = run.Body.Split('\n').Where(l => l.Contains("warning JOBS0034", StringComparison.Ordinal)).Select(l => l.Trim()).ToList();
        var summaries = Fixtures.Summaries(run);
        var recoveredInSummary = RecoveredInSummary().Match(run.Output);
        TestContext.WriteLine($"killed cargo held {starts.Count} slot(s); JOBS0034: {recovered.FirstOrDefault()}; next cargo: {run.Compiles.Count} compiles, max {run.MaxConcurrentCompiles} at once; summary: {summaries.FirstOrDefault()} / {recoveredInSummary.Value}");

        Assert.AreEqual(Slots, starts.Count, "the killed cargo should have held all 3 slots:\n" + ProcessRunner.Tail(run.Output));
        Assert.HasCount(1, recovered, "one JOBS0034 expected:\n" + ProcessRunner.Tail(run.Output));
        Assert.Contains($"missing {Slots - 1} token(s)", recovered[0], "JOBS0034 should count the killed tool's extra tokens");
        Assert.HasCount(4, run.Compiles, run.Describe());
        Assert.AreEqual(Slots, run.MaxConcurrentCompiles, "the next cargo did not get the pool's full width back:\n" + run.Describe());
        Fixtures.AssertCompilesUsedTheBuildsPool(run);
        Assert.HasCount(1, summaries, ProcessRunner.Tail(run.Output));
        Assert.AreEqual(0, summaries[0].Lost, "the summary should count nothing lost");
        Assert.AreEqual((Slots - 1).ToString(CultureInfo.InvariantCulture), recoveredInSummary.Groups["recovered"].Value, "the summary should count the recovered tokens");
        var survivors = starts.Select(s => int.Parse(s[1], CultureInfo.InvariantCulture)).Where(pid => ReliabilitySupport.CommandLine(pid) == "sleep 300").ToList();
        Assert.IsEmpty(survivors, "a compile of the killed cargo survived the build");
    }

    [GeneratedRegex(@"INTERNAL: Exiting with (?<available>\d+) jobserver tokens available; should be (?<should>\d+)!")]
    private static partial Regex MakeTokenCheck();

    [GeneratedRegex(@"JOBS0030: .*token\(s\) lost, (?<recovered>\d+) recovered")]
    private static partial Regex RecoveredInSummary();
}
