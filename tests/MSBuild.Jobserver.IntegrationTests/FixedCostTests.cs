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

    /// <summary>
    /// A project with the package that runs no tool, -m:2: the entry process's ConfigureJobserver made the pool in the
    /// background (its per-user directory is there) and the build's end closed it unused (nothing left in it: checked
    /// after every run); nobody asked, so nothing was said about it and there is no summary.
    /// </summary>
    [TestMethod]
    public void APoolMadeEarlyThatNoToolAskedForIsClosedAtTheEnd()
    {
        var repo = NewFixture("fixed-cost-no-tool");
        var project = repo.AddProject("quiet", PackageUse.PackageReference, "", NoToolTarget);

        var run = repo.Build(project, new BuildOptions { Nodes = 2 });
        Report("no tool, -m:2", run);

        Assert.IsTrue(Directory.Exists(LeftoverCheck.PrivateDirectory(run.TempDirectory)), "the entry process did not make the pool early:\n" + ProcessRunner.Tail(run.Output));
        Assert.IsEmpty(run.LinesWith("JOBS0033"), "a pool no tool asked for was announced");
        Assert.IsEmpty(Fixtures.Summaries(run), "a build whose tools never asked for the pool has no summary");
    }

    /// <summary>
    /// JobserverEnabled=false (-m:2), and -m:1 with JobserverSlots empty (no pool, as make -j1): nothing is made, early
    /// or late: the run's TMPDIR never gets the package's directory.
    /// </summary>
    [TestMethod]
    public void ADisabledBuildOrOneNodeMakesNoPool()
    {
        var repo = NewFixture("fixed-cost-disabled");
        var project = repo.AddCargoProject("off", crates: 1);

        var disabled = repo.Build(project, new BuildOptions { Nodes = 2, Properties = new Dictionary<string, string> { ["JobserverEnabled"] = "false" } });
        Report("JobserverEnabled=false, -m:2", disabled);
        Assert.IsFalse(Directory.Exists(LeftoverCheck.PrivateDirectory(disabled.TempDirectory)), "a build with the package disabled made a pool");

        var oneNode = repo.Build(project, new BuildOptions { Nodes = 1 });
        Report("-m:1", oneNode);
        Assert.IsFalse(Directory.Exists(LeftoverCheck.PrivateDirectory(oneNode.TempDirectory)), "a -m:1 build without JobserverSlots made a pool");
    }

    private const string NoToolTarget = """
          <Target Name="SayHello" AfterTargets="Build">
            <Message Importance="high" Text="no tool here" />
          </Target>
        """;
}
