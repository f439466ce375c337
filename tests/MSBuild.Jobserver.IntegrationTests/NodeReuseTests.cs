namespace MSBuild.Jobserver.IntegrationTests;

/// <summary>Issue test 5: builds in a row on reused worker nodes each get a fresh pool and stay capped.</summary>
[TestClass]
public sealed class NodeReuseTests : EndToEndTest
{
    /// <summary>
    /// Three builds of the 4 × 3-crate fixture with node reuse on (-nr:true, MSBUILDDISABLENODEREUSE unset), cargo
    /// targets cleaned between them: each stays within 4 compiles at once and hands its compilers its own pool.
    /// Afterwards the worker nodes these builds started are ended by PID.
    /// </summary>
    [TestMethod]
    public void ThreeBuildsOnReusedNodesAreEachCapped()
    {
        var repo = NewFixture("t5-node-reuse");
        var entry = Fixtures.CargoProjects(repo, projects: 4, crates: 3);
        var before = WorkerNodes.Snapshot();
        var nodesAfterFirst = new List<int>();
        var pools = new List<string?>();
        try
        {
            for (var build = 1; build <= 3; build++)
            {
                repo.CleanCargoTargets();
                var run = repo.Build(entry, new BuildOptions { Nodes = 4, NodeReuse = true });
                Report($"node reuse, build {build}", run);
                Assert.HasCount(12, run.Compiles, run.Describe());
                Assert.IsLessThanOrEqualTo(4, run.MaxConcurrentCompiles, $"build {build} on reused nodes ran more than 4 compiles at once:\n{run.Describe()}");
                Fixtures.AssertCompilesUsedTheBuildsPool(run);
                pools.Add(run.Compiles[0].FifoPath);
                if (build == 1)
                {
                    nodesAfterFirst.AddRange(WorkerNodes.StartedSince(before, repo.Marker));
                }
            }
        }
        finally
        {
            var ours = WorkerNodes.StartedSince(before, repo.Marker);
            TestContext.WriteLine($"worker nodes after build 1: [{string.Join(", ", nodesAfterFirst)}]; ending [{string.Join(", ", ours)}]");
            WorkerNodes.Kill(ours);
        }

        Assert.IsNotEmpty(nodesAfterFirst, "the first build left no reusable worker node: node reuse was not on, so the test proves nothing");
        Assert.HasCount(3, pools.Distinct().ToList(), "each build must get a pool of its own");
        Assert.IsEmpty(WorkerNodes.StartedSince(before, repo.Marker), "a worker node of these builds is still running after being killed");
    }
}
