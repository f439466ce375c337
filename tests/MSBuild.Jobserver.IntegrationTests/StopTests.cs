using System.Diagnostics;
using System.Globalization;

namespace MSBuild.Jobserver.IntegrationTests;

/// <summary>
/// Issue 5, stopping: Ctrl+C (SIGINT to the `dotnet build` process the test started) while cargo compiles or while
/// tasks wait for a token ends the build within 5 s, with no cargo, rustc or tool left running and nothing of the
/// pool left in the build's TMPDIR; a build whose entry process is SIGKILLed leaves its pool directory, and the next
/// build (here one that fails) sweeps it and removes its own. Issue 22: the package's stop is measured against stock
/// Exec's stop of the same commands, and make counts its tokens after a stopped build that joined its jobserver.
/// </summary>
[TestClass]
public sealed class StopTests : EndToEndTest
{
    private const int SigInt = 2;
    private const int SigKill = 9;

    /// <summary>The bound the issue sets, from the signal to the entry process's exit.</summary>
    private static readonly TimeSpan CancelBound = TimeSpan.FromSeconds(5);

    /// <summary>How much longer than stock Exec's the package's stop may take (best of the rounds, on a busy machine).</summary>
    private static readonly TimeSpan PackageShareBound = TimeSpan.FromSeconds(1);

    private const int Rounds = 2;

    /// <summary>Ctrl+C while two cargo builds compile: out within 5 s, no cargo/rustc survives, nothing left, the next build works.</summary>
    [TestMethod]
    public void CtrlCDuringCargoBuildsStopsWithinFiveSecondsAndTheNextBuildWorks()
    {
        var repo = NewFixture("r4-ctrl-c");
        var projects = new[] { "c1", "c2" }.Select(name => ReliabilitySupport.AddHeavyCargoProject(repo, name, crates: 2, copies: 10)).ToList();
        var entry = repo.AddTraversal("all.proj", projects);

        using var build = ReliabilitySupport.StartBuild(repo, entry, new BuildOptions { Nodes = 2 });
        Assert.IsTrue(ReliabilitySupport.WaitFor(() => build.Process.HasExited || ReliabilitySupport.Starts(build.IntervalLogPath).Count >= 2, TimeSpan.FromMinutes(3)),
            "two compiles never started:\n" + ProcessRunner.Tail(build.ReadOutput()));
        Assert.IsFalse(build.Process.HasExited, "the build ended before it could be stopped:\n" + ProcessRunner.Tail(build.ReadOutput()));

        var (elapsed, tree) = Interrupt(build, SigInt);
        var run = build.WaitForExit(TimeSpan.FromSeconds(30));
        var tools = tree.Where(IsTool).ToList();
        TestContext.WriteLine($"SIGINT with {tools.Count} tool process(es) running [{string.Join(", ", tools)}]: the build exited {elapsed.TotalSeconds:0.00} s later with code {run.Outcome.ExitCode}");

        Assert.IsTrue(tools.Any(p => p.Name == "rustc") && tools.Any(p => p.Name == "cargo"), "rustc and cargo should have been running at the signal: " + string.Join(", ", tree));
        AssertStopped(run, tree, elapsed);

        // The next build in the same directory, with the crates made light again.
        foreach (var name in new[] { "c1", "c2" })
        {
            CrateGenerator.WriteWorkspace(Path.Combine(repo.Root, name, "ws"), name, crates: 2);
        }

        var next = repo.Build(entry, new BuildOptions { Nodes = 2 });
        Report("the build after Ctrl+C", next);
        Assert.HasCount(4, next.Compiles, next.Describe());
        Fixtures.AssertCompilesUsedTheBuildsPool(next);
    }

    /// <summary>
    /// JobserverSlots=2: two projects hold both slots (AcquireJobToken, then a long sleep), a third waits in
    /// AcquireJobToken and a fourth in the Exec of cargo (each logs a mark just before, and a waiter holds no lease
    /// until a token is free). Ctrl+C wakes both waiters: the build ends within 5 s and leaves nothing.
    /// </summary>
    [TestMethod]
    public void WaitingAcquireJobTokenAndExecWakeOnCtrlC()
    {
        var repo = NewFixture("r4-waiters");
        var holders = new[] { "h1", "h2" }.Select(name => repo.AddProject(name, PackageUse.PackageReference, "", """
              <Target Name="Hold" AfterTargets="Build">
                <AcquireJobToken Purpose="hold in $(MSBuildProjectName)">
                  <Output TaskParameter="Token" PropertyName="HeldToken" />
                </AcquireJobToken>
                <Exec Command="sh ../interval.sh hold-$(MSBuildProjectName) sleep 300" YieldDuringToolExecution="true" />
                <ReleaseJobToken Token="$(HeldToken)" />
              </Target>
            """)).ToList();
        // The waiters ask only once both holders hold their slot (a plain command: it takes no token). Every long
        // command yields its node: the rendezvous runs in the entry process, whose node a blocking Exec would keep.
        repo.Write("wait-for-holders.sh", "until n=$(grep -c '^S [0-9]* hold-' \"$JBS_INTERVAL_LOG\" 2>/dev/null); [ \"${n:-0}\" -ge 2 ]; do sleep 0.1; done\n");
        var acquirer = repo.AddProject("w1", PackageUse.PackageReference, "", """
              <Target Name="Wait" AfterTargets="Build">
                <Exec Command="sh ../wait-for-holders.sh" YieldDuringToolExecution="true" />
                <Exec Command="sh ../interval.sh waiting-$(MSBuildProjectName) true" />
                <AcquireJobToken Purpose="waiter">
                  <Output TaskParameter="Token" PropertyName="WaitedToken" />
                </AcquireJobToken>
                <Exec Command="sh ../interval.sh got-token true" />
                <ReleaseJobToken Token="$(WaitedToken)" />
              </Target>
            """);
        CrateGenerator.WriteWorkspace(Path.Combine(repo.Root, "w2", "ws"), "w2", crates: 1);
        var cargo = repo.AddProject("w2", PackageUse.PackageReference, "", """
              <Target Name="CargoBuild" AfterTargets="Build">
                <Exec Command="sh ../wait-for-holders.sh" YieldDuringToolExecution="true" />
                <Exec Command="sh ../interval.sh waiting-$(MSBuildProjectName) true" />
                <Exec Command="cargo build --offline" WorkingDirectory="$(MSBuildThisFileDirectory)ws" />
              </Target>
            """);
        var entry = repo.AddTraversal("all.proj", holders.Append(acquirer).Append(cargo));
        var options = new BuildOptions { Nodes = 4, Properties = new Dictionary<string, string> { ["JobserverSlots"] = "2" } };

        using var build = ReliabilitySupport.StartBuild(repo, entry, options);
        Assert.IsTrue(ReliabilitySupport.WaitFor(
                () => build.Process.HasExited || (ReliabilitySupport.Starts(build.IntervalLogPath).Count(s => s[2].StartsWith("hold-", StringComparison.Ordinal)) == 2
                    && ReliabilitySupport.Starts(build.IntervalLogPath).Count(s => s[2].StartsWith("waiting-", StringComparison.Ordinal)) == 2),
                TimeSpan.FromMinutes(3)),
            $"the holders and both waiters never were all in place ({build.Leases} leases):\n" + ProcessRunner.Tail(build.ReadOutput()));

        // The marks come just before the waits: give both tasks a moment to be in them.
        Thread.Sleep(TimeSpan.FromSeconds(2));
        Assert.IsFalse(build.Process.HasExited, "the build ended before it could be stopped:\n" + ProcessRunner.Tail(build.ReadOutput()));
        var leases = build.Leases;

        var (elapsed, tree) = Interrupt(build, SigInt);
        var run = build.WaitForExit(TimeSpan.FromSeconds(30));
        TestContext.WriteLine($"SIGINT with {leases} leases (2 held) and 2 waiters and [{string.Join(", ", tree.Where(IsTool))}]: exited {elapsed.TotalSeconds:0.00} s later with code {run.Outcome.ExitCode}");

        Assert.AreEqual(2, leases, "the 2 holders should each hold a lease, and the waiters none (they take one only with a token)");
        Assert.IsFalse(ReliabilitySupport.Starts(build.IntervalLogPath).Any(s => s[2] == "got-token" || s[2].StartsWith(CrateGenerator.CratePrefix, StringComparison.Ordinal)),
            "a waiter got a token although both were held");
        AssertStopped(run, tree, elapsed);
    }

    /// <summary>
    /// Issue 22: Ctrl+C while a listed tool runs with its token, and while one waits for a token the other holds
    /// (JobserverSlots=1), ends the build about as soon as stock MSBuild ends the same build of the same commands
    /// (the package's share of the stop is within <see cref="PackageShareBound"/> of stock Exec's, measured in the same
    /// test, best of <see cref="Rounds"/> rounds), and leaves nothing.
    /// </summary>
    [TestMethod]
    public void CtrlCDuringAToolAndItsWaitEndsTheBuildAsSoonAsStockExecDoes()
    {
        var repo = NewFixture("r4-cancel-time");
        const string Mark = "<Exec Command=\"sh ../interval.sh mark-$(MSBuildProjectName) true\" />";
        const string Tool = "sh ../interval.sh run-$(MSBuildProjectName) sleep 300";
        var stock = new[] { "s1", "s2" }.Select(name => repo.AddProject(name, PackageUse.None, "", $"""
              <Target Name="RunTools" AfterTargets="Build">
                {Mark}
                <Exec Command="{Tool}" />
              </Target>
            """)).ToList();
        var ours = new[] { "p1", "p2" }.Select(name => repo.AddProject(name, PackageUse.PackageReference, "", $"""
              <Target Name="RunTools" AfterTargets="Build">
                {Mark}
                <Exec Command="{Tool}" JobserverAware="true" />
              </Target>
            """)).ToList();
        var stockEntry = repo.AddTraversal("stock.proj", stock, PackageUse.None);
        var oursEntry = repo.AddTraversal("ours.proj", ours);
        BuildOptions Slots(string slots) => new() { Nodes = 2, Properties = new Dictionary<string, string> { ["JobserverSlots"] = slots } };

        var times = new Dictionary<string, List<double>> { ["stock"] = new(), ["tool"] = new(), ["wait"] = new() };
        for (var round = 0; round < Rounds; round++)
        {
            times["stock"].Add(StopWhenRunning(repo, stockEntry, new BuildOptions { Nodes = 2 }, running: 2, "stock Exec, both tools running"));
            times["tool"].Add(StopWhenRunning(repo, oursEntry, Slots("2"), running: 2, "the package, both tools running with a token"));
            times["wait"].Add(StopWhenRunning(repo, oursEntry, Slots("1"), running: 1, "the package, one tool running with the only token and one waiting"));
        }

        var best = times.ToDictionary(t => t.Key, t => t.Value.Min());
        TestContext.WriteLine("seconds from SIGINT to exit: " + string.Join("; ", times.Select(t => $"{t.Key} [{string.Join(", ", t.Value.Select(s => s.ToString("0.00", CultureInfo.InvariantCulture)))}]")));
        Assert.IsLessThanOrEqualTo(best["stock"] + PackageShareBound.TotalSeconds, best["tool"], "Ctrl+C while a tool runs: the package adds too much to stock Exec's stop");
        Assert.IsLessThanOrEqualTo(best["stock"] + PackageShareBound.TotalSeconds, best["wait"], "Ctrl+C while a tool waits for its token: the package adds too much to stock Exec's stop");
    }

    /// <summary>
    /// Issue 22, no token held after Ctrl+C, proven by make's own count: `make -j2` runs a 300 s job beside the build,
    /// so the build has one slot (its own); one tool runs with it and the other waits on make's empty pipe and the
    /// build's slot. SIGINT to the build: it ends as fast as stock Exec's does (above) and, once make's other job is
    /// ended, make 4.3 finds both of its tokens at exit (it says "INTERNAL: Exiting with 1 jobserver tokens available"
    /// when one is missing).
    /// </summary>
    [TestMethod]
    public void CtrlCUnderMakeGivesEveryTokenBackToMake()
    {
        var repo = NewFixture("r4-cancel-make");
        var projects = new[] { "p1", "p2" }.Select(name => repo.AddProject(name, PackageUse.PackageReference, "", """
              <Target Name="RunTools" AfterTargets="Build">
                <Exec Command="sh ../interval.sh mark-$(MSBuildProjectName) true" />
                <Exec Command="sh ../interval.sh run-$(MSBuildProjectName) sleep 300" JobserverAware="true" />
              </Target>
            """)).ToList();
        var entry = repo.AddTraversal("all.proj", projects);
        repo.Write("Makefile", string.Join('\n',
            "# make -j2: a long job beside the build, so the build's tools share one slot.",
            ".PHONY: all hold build",
            "all: hold build",
            "hold:",
            "\t@sh ./interval.sh make-hold sleep 300",
            "build:",
            $"\t+dotnet build {entry} -m:2 -v:n -tl:off -nologo -nr:false",
            ""));

        using var make = ReliabilitySupport.Start(repo, "make", new[] { "-j2" }, new BuildOptions());
        int Count(string prefix) => ReliabilitySupport.Starts(make.IntervalLogPath).Count(s => s[2].StartsWith(prefix, StringComparison.Ordinal));
        Assert.IsTrue(ReliabilitySupport.WaitFor(() => make.Process.HasExited || (Count("make-hold") == 1 && Count("mark-") == 2 && Count("run-") == 1), TimeSpan.FromMinutes(3)),
            "the tool, its waiter and make's job never were all in place:\n" + ProcessRunner.Tail(make.ReadOutput()));
        Thread.Sleep(TimeSpan.FromSeconds(1));
        Assert.AreEqual(1, Count("run-"), "a tool started without a token:\n" + ProcessRunner.Tail(make.ReadOutput()));

        var tree = ReliabilitySupport.Descendants(make.Process.Id);
        var build = tree.Single(p => p.Name == "dotnet" && p.ParentPid == make.Process.Id);
        var buildTree = ReliabilitySupport.Descendants(build.Pid);
        var clock = Stopwatch.StartNew();
        ReliabilitySupport.Signal(build.Pid, SigInt);
        Assert.IsTrue(ReliabilitySupport.WaitFor(() => ReliabilitySupport.StillRunning(new[] { build }).Count == 0, CancelBound), "the build did not stop");
        var elapsed = clock.Elapsed;
        var toolsLeft = ReliabilitySupport.StillRunning(buildTree.Where(IsTool)).ToList();

        // make waits for its other job before it exits and counts its tokens.
        ReliabilitySupport.KillSurvivors(tree.Where(p => p.Name == "sleep" && !buildTree.Contains(p)));
        var run = make.WaitForExit(TimeSpan.FromSeconds(30));
        TestContext.WriteLine($"SIGINT to the build under make -j2 (one tool running, one waiting): stopped within {elapsed.TotalSeconds:0.0} s (polled every 0.1 s); make exited with {run.Outcome.ExitCode}");
        Assert.IsEmpty(toolsLeft, "tools survived the cancelled build: " + string.Join(", ", toolsLeft));
        Assert.AreNotEqual(0, run.Outcome.ExitCode, "make should report the cancelled build");
        Assert.Contains("[Makefile:7: build] Error", run.Output, "make did not see the build fail:\n" + ProcessRunner.Tail(run.Output));
        Assert.DoesNotContain("INTERNAL: Exiting with", run.Output, "make found tokens missing at exit: the build kept one\n" + ProcessRunner.Tail(run.Output));
        LeftoverCheck.AssertNothingLeft(run);
    }

    /// <summary>
    /// The entry process is SIGKILLed mid-build: it cannot clean up, so its pool directory stays. The next build in
    /// the same TMPDIR (one that fails: a crate that does not compile) sweeps it, and removes its own pool on failure.
    /// </summary>
    [TestMethod]
    public void SigkilledBuildLeavesAStaleDirectoryThatTheNextFailingBuildSweeps()
    {
        var repo = NewFixture("r4-sigkill");
        var victim = ReliabilitySupport.AddHeavyCargoProject(repo, "victim", crates: 1, copies: 10);
        var brokenCrates = CrateGenerator.WriteWorkspace(Path.Combine(repo.Root, "broken", "ws"), "broken", crates: 1);
        File.AppendAllText(Path.Combine(repo.Root, "broken", "ws", brokenCrates[0], "src", "lib.rs"), "pub fn broken( {\n");
        var broken = repo.AddProject("broken", PackageUse.PackageReference, "", FixtureRepo.CargoBuildTarget);

        string[] stale;
        string tempDirectory;
        using (var killed = ReliabilitySupport.StartBuild(repo, victim, new BuildOptions { Nodes = 2 }))
        {
            tempDirectory = killed.TempDirectory;
            Assert.IsTrue(ReliabilitySupport.WaitFor(() => killed.Process.HasExited || ReliabilitySupport.Starts(killed.IntervalLogPath).Count >= 1, TimeSpan.FromMinutes(3)),
                "the compile never started:\n" + ProcessRunner.Tail(killed.ReadOutput()));
            Assert.IsFalse(killed.Process.HasExited, "the build ended before it could be killed");
            var (_, tree) = Interrupt(killed, SigKill);
            killed.WaitForExit(TimeSpan.FromSeconds(30));
            stale = Directory.Exists(killed.PrivateDirectory) ? Directory.GetDirectories(killed.PrivateDirectory) : Array.Empty<string>();
            TestContext.WriteLine($"after SIGKILL of the entry process: left [{string.Join(", ", stale.Select(d => Path.GetFileName(d) + ": " + string.Join(' ', Directory.GetFiles(d).Select(Path.GetFileName))))}]; ending [{string.Join(", ", ReliabilitySupport.StillRunning(tree))}]");
            ReliabilitySupport.KillSurvivors(tree);
            Assert.IsTrue(ReliabilitySupport.WaitFor(() => ReliabilitySupport.StillRunning(tree).Count == 0, TimeSpan.FromSeconds(10)), "the killed build's processes did not end");
        }

        Assert.HasCount(1, stale, "the SIGKILLed build should have left its pool directory (else the sweep proves nothing)");
        Assert.IsTrue(File.Exists(Path.Combine(stale[0], "fifo")), "the stale pool directory should still hold its FIFO");

        using var next = ReliabilitySupport.StartBuild(repo, broken, new BuildOptions { Nodes = 2 }, tempDirectory);
        var run = next.WaitForExit(TimeSpan.FromMinutes(5));
        TestContext.WriteLine($"next build in the same TMPDIR: exit {run.Outcome.ExitCode} after {run.Outcome.Elapsed.TotalSeconds:0.0} s; {run.LinesWith("JOBS0033").FirstOrDefault()}");
        Assert.AreNotEqual(0, run.Outcome.ExitCode, "the broken crate should fail the build:\n" + ProcessRunner.Tail(run.Output));
        Assert.IsNotEmpty(run.LinesWith("JOBS0033"), "the failing build should have created a pool of its own:\n" + ProcessRunner.Tail(run.Output));
        Assert.IsFalse(Directory.Exists(stale[0]), "the stale pool directory was not swept by the next build");
        LeftoverCheck.AssertNothingLeft(run);
    }

    // Sends the signal to the entry process; returns the time until it exited (or 30 s) and its process tree at the signal.
    private static (TimeSpan Elapsed, IReadOnlyList<ProcessEntry> Tree) Interrupt(BackgroundBuild build, int signal)
    {
        var tree = ReliabilitySupport.Descendants(build.Process.Id);
        var clock = Stopwatch.StartNew();
        ReliabilitySupport.Signal(build.Process.Id, signal);
        build.Process.WaitForExit(TimeSpan.FromSeconds(30));
        return (clock.Elapsed, tree);
    }

    // Starts a build of the two projects, sends SIGINT once `running` tools run and both projects are past their mark
    // (and a moment later, so that the other is in its wait), checks it stopped cleanly; the seconds it took.
    private double StopWhenRunning(FixtureRepo repo, string entry, BuildOptions options, int running, string what)
    {
        using var build = ReliabilitySupport.StartBuild(repo, entry, options);
        int Count(string prefix) => ReliabilitySupport.Starts(build.IntervalLogPath).Count(s => s[2].StartsWith(prefix, StringComparison.Ordinal));
        Assert.IsTrue(ReliabilitySupport.WaitFor(() => build.Process.HasExited || (Count("mark-") == 2 && Count("run-") >= running), TimeSpan.FromMinutes(3)),
            $"{what}: the tools never were in place:\n" + ProcessRunner.Tail(build.ReadOutput()));
        Thread.Sleep(TimeSpan.FromSeconds(1));
        Assert.IsFalse(build.Process.HasExited, $"{what}: the build ended before it could be stopped:\n" + ProcessRunner.Tail(build.ReadOutput()));
        Assert.AreEqual(running, Count("run-"), $"{what}: a tool started without a token");

        var (elapsed, tree) = Interrupt(build, SigInt);
        var run = build.WaitForExit(TimeSpan.FromSeconds(30));
        TestContext.WriteLine($"{what}: SIGINT with [{string.Join(", ", tree.Where(IsTool))}]: exited {elapsed.TotalSeconds:0.00} s later with code {run.Outcome.ExitCode}");
        AssertStopped(run, tree, elapsed);
        return elapsed.TotalSeconds;
    }

    private static bool IsTool(ProcessEntry process) => process.Name is "cargo" or "rustc" or "sleep" or "sh" or "make";

    private void AssertStopped(BuildRun run, IReadOnlyList<ProcessEntry> tree, TimeSpan elapsed)
    {
        var tools = ReliabilitySupport.StillRunning(tree.Where(IsTool)).ToList();
        var nodesGone = ReliabilitySupport.WaitFor(() => ReliabilitySupport.StillRunning(tree).Count == 0, TimeSpan.FromSeconds(15));
        var survivors = ReliabilitySupport.StillRunning(tree);
        TestContext.WriteLine($"tools still running at the exit: [{string.Join(", ", tools)}]; processes still running 15 s later: [{string.Join(", ", survivors)}]");
        ReliabilitySupport.KillSurvivors(tree);

        Assert.IsLessThanOrEqualTo(CancelBound, elapsed, "the build took too long to stop:\n" + ProcessRunner.Tail(run.Output));
        Assert.AreNotEqual(0, run.Outcome.ExitCode, "a cancelled build should not report success");
        Assert.IsEmpty(tools, "tools survived the cancelled build");
        Assert.IsTrue(nodesGone, "processes of the cancelled build still run: " + string.Join(", ", survivors));
        LeftoverCheck.AssertNothingLeft(run);
    }
}
