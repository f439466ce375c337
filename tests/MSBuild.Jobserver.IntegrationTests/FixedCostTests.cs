namespace MSBuild.Jobserver.IntegrationTests;

/// <summary>
/// The package's fixed cost per build: in the entry process a tool's task asks the pool's owner itself instead of
/// building the rendezvous project (an evaluation and two trips through the scheduler); worker nodes still ask MSBuild.
/// </summary>
[TestClass]
public sealed class FixedCostTests : EndToEndTest
{
    /// <summary>
    /// One cargo project, -m:2, built twice (the second a no-op: cargo fresh): the project runs in the entry process,
    /// which makes the pool without building the rendezvous project; the summary still counts the tool run each time.
    /// </summary>
    [TestMethod]
    public void EntryProcessTakesItsTokenWithoutTheRendezvousProject()
    {
        var repo = NewFixture("fixed-cost");
        var project = repo.AddCargoProject("solo", crates: 1);

        foreach (var label in new[] { "first build", "no-op build" })
        {
            var run = repo.Build(project, new BuildOptions { Nodes = 2 });
            Report(label, run);

            var summaries = Fixtures.Summaries(run);
            Assert.HasCount(1, summaries, label + ": one summary expected:\n" + ProcessRunner.Tail(run.Output));
            Assert.AreEqual(1, summaries[0].ToolRuns, label + ": cargo should have taken a slot");
            Assert.IsEmpty(run.LinesWith("(OpenJobserver target(s))"), label + ": the entry process built the rendezvous project:\n" + ProcessRunner.Tail(run.Output));
        }
    }

    /// <summary>
    /// The packed net8.0 task assemblies are ReadyToRun for the packing SDK's runtime and platform, and the runtime uses
    /// their code: a no-op build on that runtime JIT-compiles few of the package's methods (about 40 here; over 500 from
    /// IL only, most of the package's fixed cost, docs/performance.md). The runtime lists what it compiles in
    /// DOTNET_JitStdOutFile with DOTNET_JitDisasmSummary=1.
    /// </summary>
    [TestMethod]
    public void NoOpBuildRunsThePackagesPrecompiledCode()
    {
        if (System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture != System.Runtime.InteropServices.Architecture.X64)
        {
            Assert.Inconclusive("The package is packed here with code for linux-x64 only.");
        }

        var repo = NewFixture("fixed-cost-r2r");
        var project = repo.AddCargoProject("solo", crates: 1);
        repo.Build(project, new BuildOptions { Nodes = 2 });
        var jitList = Path.Combine(repo.Root, "jit.txt");

        var run = repo.Build(project, new BuildOptions
        {
            Nodes = 2,
            Environment = new Dictionary<string, string?> { ["DOTNET_JitStdOutFile"] = jitList, ["DOTNET_JitDisasmSummary"] = "1" },
        });
        Report("no-op build, JIT list", run);

        Assert.HasCount(1, Fixtures.Summaries(run), "one summary expected:\n" + ProcessRunner.Tail(run.Output));
        var lines = File.ReadAllLines(jitList);
        Assert.IsGreaterThan(500, lines.Length, "the runtime listed too few compiled methods to be its whole list");
        var ours = lines.Where(l => l.Contains(" MSBuild.Jobserver.", StringComparison.Ordinal)).ToList();
        Assert.IsLessThan(150, ours.Count, $"{ours.Count} methods of the package were JIT-compiled: its ReadyToRun code was not used. The first:\n" + string.Join("\n", ours.Take(20)));
    }

    /// <summary>
    /// Four cargo projects at -m:2: the projects MSBuild puts on the worker node still reach the one pool through the
    /// rendezvous project (built at most once per worker node), and the compiles stay within the 2 slots.
    /// </summary>
    [TestMethod]
    public void WorkerNodesStillUseTheRendezvousAndTheOnePool()
    {
        var repo = NewFixture("fixed-cost-4");
        var projects = Enumerable.Range(1, 4).Select(i => repo.AddCargoProject("p" + i, crates: 2)).ToList();
        var entry = repo.AddTraversal("all.proj", projects);

        var run = repo.Build(entry, new BuildOptions { Nodes = 2 });
        Report("4 projects, -m:2", run);

        var summaries = Fixtures.Summaries(run);
        Assert.HasCount(1, summaries, "one summary expected:\n" + ProcessRunner.Tail(run.Output));
        Assert.AreEqual(4, summaries[0].ToolRuns);
        Assert.IsLessThanOrEqualTo(1, run.LinesWith("(OpenJobserver target(s))").Count, "the rendezvous is built once, for the worker node, if at all");
        Assert.IsLessThanOrEqualTo(2, run.MaxConcurrentCompiles, "compiles exceeded the slots:\n" + run.Describe());
        Fixtures.AssertCompilesUsedTheBuildsPool(run);
    }
}
