namespace MSBuild.Jobserver.IntegrationTests;

/// <summary>
/// Issue tests 1, 2, 3 and 7: how many rustc processes a real `dotnet build -m` of cargo projects runs at once,
/// with and without the package, measured by the RUSTC_WRAPPER on a 2-core machine.
/// </summary>
[TestClass]
public sealed class CargoConcurrencyTests : EndToEndTest
{
    /// <summary>Test 1: 4 projects × 3 crates, -m:4 → the pool's 4 slots cap the compiles, and the pool is used (more than 2).</summary>
    [TestMethod]
    public void FourProjectsWithFourNodesRunAtMostFourCompilesAndMoreThanTwo()
    {
        var repo = NewFixture("t1-four-projects");
        var entry = Fixtures.CargoProjects(repo, projects: 4, crates: 3);

        var run = repo.Build(entry, new BuildOptions { Nodes = 4 });
        Report("-m:4", run);

        Assert.HasCount(12, run.Compiles, run.Describe());
        Assert.IsLessThanOrEqualTo(4, run.MaxConcurrentCompiles, "more compiles at once than the build's 4 slots:\n" + run.Describe());
        Assert.IsGreaterThan(2, run.MaxConcurrentCompiles, "the build never ran more than 2 compiles at once (cargo's own limit on 2 cores):\n" + run.Describe());
        Fixtures.AssertCompilesUsedTheBuildsPool(run);
    }

    /// <summary>
    /// The tokens, not the MSBuild nodes, decide how many tools run: with two nodes (-m:2) and JobserverSlots=3,
    /// three one-crate cargo projects compile at the same time, because a running cargo does not pin its node (the
    /// node is yielded while the tool runs, so MSBuild starts the third project there). A cargo run as stock Exec
    /// runs it holds its node, and the third project could start only when one of the first two had finished.
    /// </summary>
    [TestMethod]
    public void ARunningCargoDoesNotPinItsNode()
    {
        var repo = NewFixture("t1-node-not-pinned");
        var entry = Fixtures.CargoProjects(repo, projects: 3, crates: 1);

        var run = repo.Build(entry, new BuildOptions { Nodes = 2, Properties = new Dictionary<string, string> { ["JobserverSlots"] = "3" } });
        Report("-m:2 -p:JobserverSlots=3, three one-crate projects", run);

        Assert.HasCount(3, run.Compiles, run.Describe());
        Assert.AreEqual(3, run.MaxConcurrentCompiles, "the third project's compile did not overlap the first two: a cargo held its node:\n" + run.Describe());
    }

    /// <summary>Test 2: JobserverSlots=2 caps the same build at 2 compiles at once.</summary>
    [TestMethod]
    public void TwoSlotsCapFourProjectsAtTwoCompiles()
    {
        var repo = NewFixture("t2-two-slots");
        var entry = Fixtures.CargoProjects(repo, projects: 4, crates: 3);

        var run = repo.Build(entry, new BuildOptions { Nodes = 4, Properties = new Dictionary<string, string> { ["JobserverSlots"] = "2" } });
        Report("-m:4 -p:JobserverSlots=2", run);

        Fixtures.AssertCompilesFilledExactly(run, compiles: 12, slots: 2, "JobserverSlots=2");
    }

    /// <summary>Test 2, the control: the same fixture without the package goes past 4 compiles at once, so the caps above can fail.</summary>
    [TestMethod]
    public void WithoutThePackageTheSameBuildGoesPastFourCompiles()
    {
        var repo = NewFixture("t2-no-package");
        var entry = Fixtures.CargoProjects(repo, projects: 4, crates: 3, PackageUse.None);

        var run = repo.Build(entry, new BuildOptions { Nodes = 4 });
        Report("-m:4 without the package", run);

        Assert.HasCount(12, run.Compiles, run.Describe());
        Assert.IsGreaterThan(4, run.MaxConcurrentCompiles, "without the package the compiles stayed within 4; the capped tests prove nothing:\n" + run.Describe());
        Assert.IsTrue(run.Compiles.All(c => c.FifoPath is null || !c.FifoPath.Contains("msbuild-jobserver", StringComparison.Ordinal)),
            "a compile saw a package pool although the package is not referenced:\n" + run.Describe());
    }

    /// <summary>Test 3: one cargo of 4 crates with JobserverSlots=3 runs exactly 3 compiles at once (cargo alone would run 2 here).</summary>
    [TestMethod]
    public void OneCargoOfFourCratesWithThreeSlotsRunsExactlyThree()
    {
        var repo = NewFixture("t3-three-slots");
        var project = repo.AddCargoProject("single", crates: 4);

        var run = repo.Build(project, new BuildOptions { Nodes = 2, Properties = new Dictionary<string, string> { ["JobserverSlots"] = "3" } });
        Report("one project, -p:JobserverSlots=3", run);

        Fixtures.AssertCompilesFilledExactly(run, compiles: 4, slots: 3, "JobserverSlots=3 on one cargo");

        var summary = Fixtures.Summaries(run);
        Assert.HasCount(1, summary, "one JOBS0030 summary expected:\n" + ProcessRunner.Tail(run.Output));
        Assert.AreEqual(new Summary(3, "own pool", 1, 1, 0), summary[0], "summary of one cargo run on a 3-slot pool");
    }

    /// <summary>Test 7: <c>&lt;Sdk Name="MSBuild.Jobserver"/&gt;</c> instead of a PackageReference gives the same cap as test 3.</summary>
    [TestMethod]
    public void SdkElementGivesTheSameCapAsThePackageReference()
    {
        var repo = NewFixture("t7-sdk");
        var project = repo.AddCargoProject("viasdk", crates: 4, PackageUse.Sdk);
        Assert.DoesNotContain("PackageReference", File.ReadAllText(Path.Combine(repo.Root, project)), "the fixture must use the Sdk element only");

        var run = repo.Build(project, new BuildOptions { Nodes = 2, Properties = new Dictionary<string, string> { ["JobserverSlots"] = "3" } });
        Report("<Sdk Name=\"MSBuild.Jobserver\"/>, -p:JobserverSlots=3", run);

        Fixtures.AssertCompilesFilledExactly(run, compiles: 4, slots: 3, "the Sdk element's JobserverSlots=3 (as with the PackageReference)");
    }
}
