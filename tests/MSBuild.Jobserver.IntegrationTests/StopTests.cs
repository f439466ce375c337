using System.Diagnostics;

namespace MSBuild.Jobserver.IntegrationTests;

/// <summary>
/// Issue 5, stopping: Ctrl+C (SIGINT to the `dotnet build` process the test started) while cargo compiles or while
/// tasks wait for a token ends the build within 5 s, with no cargo, rustc or tool left running and nothing of the
/// pool left in the build's TMPDIR; a build whose entry process is SIGKILLed leaves its pool directory, and the next
/// build (here one that fails) sweeps it and removes its own.
/// </summary>
[TestClass]
public sealed class StopTests : EndToEndTest
{
    private const int SigInt = 2;
    private const int SigKill = 9;

    /// <summary>The bound the issue sets, from the signal to the entry process's exit.</summary>
    private static readonly TimeSpan CancelBound = TimeSpan.FromSeconds(5);

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
