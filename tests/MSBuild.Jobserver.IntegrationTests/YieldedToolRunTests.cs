using System.Globalization;
using System.Text.RegularExpressions;

namespace MSBuild.Jobserver.IntegrationTests;

/// <summary>
/// Issue 22, part A: a listed tool waits for its token, takes it and runs with its node yielded, so a node that another
/// project's non-yielding work pins cannot keep a free token idle; the cap holds when waiters race for freed tokens; a
/// query runs at once without a token; JobserverSlots=1 is one job at a time, and -m:1 alone keeps no pool.
/// </summary>
[TestClass]
public sealed partial class YieldedToolRunTests : EndToEndTest
{
    /// <summary>How long the pinning command runs: the old code's waiter started only after it ended.</summary>
    private const double PinSeconds = 8;

    /// <summary>
    /// Shape (-m:2, JobserverSlots 1 or 2): "holder" takes every token with AcquireJobToken and keeps its own node busy
    /// (non-yielding commands) until it releases them; "waiter" then waits in the Exec of cargo, yielded; "pinner", the
    /// only project left, is scheduled on the waiter's node, the only free one, and runs an unlisted non-yielding
    /// <c>sleep 8</c> there. The holder releases 2 s into the pin. The waiter's tool must start at once: before,
    /// the waiter reacquired its node first, and MSBuild resumed it only once the pin ended, with the token idle.
    /// MSBuild may place the projects otherwise (the pin then lands elsewhere); such a build is retried.
    /// </summary>
    [TestMethod]
    [DataRow(1)]
    [DataRow(2)]
    public void AWaiterWhoseNodeIsPinnedStartsItsToolAtOnce(int slots)
    {
        var repo = NewFixture("y1-pinned-waiter-" + slots.ToString(CultureInfo.InvariantCulture));
        WriteWaitFor(repo);
        var takes = string.Concat(Enumerable.Range(1, slots).Select(i => $"""
                <AcquireJobToken Purpose="hold {i}">
                  <Output TaskParameter="Token" ItemName="HeldTokens" />
                </AcquireJobToken>

            """));
        var holder = repo.AddProject("holder", PackageUse.PackageReference, "", $"""
              <Target Name="Hold" AfterTargets="Build">
            {takes}    <Exec Command="sh ../interval.sh held true" />
                <Exec Command="sh ../wait-for.sh pin; sh ../interval.sh hold sleep 2" />
                <ReleaseJobToken Token="%(HeldTokens.Identity)" />
              </Target>
            """);
        CrateGenerator.WriteWorkspace(Path.Combine(repo.Root, "waiter", "ws"), "waiter", crates: 1);
        var waiter = repo.AddProject("waiter", PackageUse.PackageReference, "", """
              <Target Name="WaitAndBuild" AfterTargets="Build">
                <Exec Command="sh ../wait-for.sh held" />
                <Exec Command="sh ../interval.sh waiting true" />
                <Exec Command="sh $(MSBuildThisFileDirectory)../interval.sh waiter-start true; cargo build --offline" WorkingDirectory="$(MSBuildThisFileDirectory)ws" />
              </Target>
            """);
        var pinner = repo.AddProject("pinner", PackageUse.PackageReference, "", $"""
              <Target Name="Pin" AfterTargets="Build">
                <Exec Command="sh ../wait-for.sh waiting; sleep 1" YieldDuringToolExecution="true" />
                <Exec Command="sh ../interval.sh pin sleep {PinSeconds.ToString(CultureInfo.InvariantCulture)}" />
              </Target>
            """);
        var entry = AddPrimedEntry(repo, holder, waiter, pinner);
        var options = new BuildOptions { Nodes = 2, Properties = new Dictionary<string, string> { ["JobserverSlots"] = slots.ToString(CultureInfo.InvariantCulture) } };

        for (var attempt = 1; attempt <= 4; attempt++)
        {
            var run = repo.Build(entry, options);
            var hold = Single(run, "hold");
            var pin = Single(run, "pin");
            var start = Single(run, "waiter-start");
            var nodes = NodesOf(run);
            var pinnedAtRelease = pin.Start < hold.End && pin.End > hold.End + 2;
            var sameNode = nodes.GetValueOrDefault("pinner") is { } p && p == nodes.GetValueOrDefault("waiter");
            var gap = start.Start - hold.End;
            TestContext.WriteLine($"attempt {attempt}, {slots} slot(s): release→waiter's tool {gap:0.000} s; pin {pin.Start - hold.End:0.00}..{pin.End - hold.End:0.00} s around the release; "
                + $"nodes: {string.Join(", ", nodes.Select(n => n.Key + "=" + n.Value))}; build {run.Outcome.Elapsed.TotalSeconds:0.0} s");
            Assert.IsGreaterThan(-0.05, gap, $"the waiter's tool started {-gap:0.00} s before the holder gave its token(s) back: more tools than slots:\n" + run.Describe());
            if (!pinnedAtRelease || !sameNode)
            {
                continue;
            }

            // The pin still had ~5 s to run at the release; the old code's gap was that long.
            Assert.IsLessThan(2.0, gap, $"the waiter's tool started {gap:0.00} s after the release, behind the pin on its node:\n" + run.Describe());
            Assert.HasCount(1, run.Compiles, run.Describe());
            Fixtures.AssertCompilesUsedTheBuildsPool(run);
            return;
        }

        Assert.Fail("MSBuild never placed the pin on the waiter's node while the tokens were released in 4 builds; the test proved nothing");
    }

    /// <summary>
    /// Four projects (-m:4, JobserverSlots=2) meet at a barrier in each of 5 rounds and then race for the tokens with a
    /// listed tool each: the tools, which take their tokens while yielded, never run more than 2 at once, and 2 at once.
    /// </summary>
    [TestMethod]
    public void WaitersRacingAtABarrierNeverRunMoreToolsThanSlots()
    {
        var repo = NewFixture("y2-barrier-race");
        repo.Write("barrier.sh", """
            # barrier.sh ROUND COUNT: returns once COUNT processes have arrived at ROUND.
            file="$JBS_INTERVAL_LOG.barrier-$1"
            echo x >> "$file"
            until [ "$(wc -l < "$file")" -ge "$2" ]; do sleep 0.02; done

            """);
        var projects = Enumerable.Range(1, 4).Select(i => repo.AddProject("r" + i, PackageUse.PackageReference, "", """
              <ItemGroup>
                <Round Include="1;2;3;4;5" />
              </ItemGroup>
              <Target Name="Race" AfterTargets="Build" Outputs="%(Round.Identity)">
                <Exec Command="sh ../barrier.sh %(Round.Identity) 4" YieldDuringToolExecution="true" />
                <Exec Command="sh ../interval.sh job-$(MSBuildProjectName)-%(Round.Identity) sleep 0.5" JobserverAware="true" />
              </Target>
            """)).ToList();
        var entry = repo.AddTraversal("all.proj", projects);

        var run = repo.Build(entry, new BuildOptions { Nodes = 4, Properties = new Dictionary<string, string> { ["JobserverSlots"] = "2" } });
        var jobs = run.Intervals.Where(i => i.Label.StartsWith("job-", StringComparison.Ordinal)).ToList();
        var peak = IntervalLog.MaxOverlap(jobs);
        TestContext.WriteLine($"20 tools racing in 5 rounds for 2 slots: peak {peak} at once, build {run.Outcome.Elapsed.TotalSeconds:0.0} s");

        Assert.HasCount(20, jobs, run.Describe());
        Assert.IsLessThanOrEqualTo(2, peak, "more tools ran at once than the 2 slots:\n" + run.Describe());
        Assert.AreEqual(2, peak, "the two slots were never used at the same time:\n" + run.Describe());
        Assert.AreEqual(0, Fixtures.Summaries(run).Single().Lost, "a token was lost:\n" + ProcessRunner.Tail(run.Output));
    }

    /// <summary>
    /// -m:3, JobserverSlots=2: two listed tools hold both slots for 8 s; meanwhile <c>rustc --print sysroot</c> (a
    /// query by the built-in forms) and an Exec marked JobserverQuery="true" run at once, without the pool in their
    /// environment. Before, the query waited until a slot was free.
    /// </summary>
    [TestMethod]
    public void AQueryRunsAtOnceWhileEverySlotIsHeld()
    {
        var repo = NewFixture("y3-query");
        WriteWaitFor(repo);
        var holders = new[] { "h1", "h2" }.Select(name => repo.AddProject(name, PackageUse.PackageReference, "", """
              <Target Name="Hold" AfterTargets="Build">
                <Exec Command="sh ../interval.sh hold-$(MSBuildProjectName) sleep 8" JobserverAware="true" />
              </Target>
            """)).ToList();
        var asker = repo.AddProject("asker", PackageUse.PackageReference, "", """
              <Target Name="Ask" AfterTargets="Build">
                <Exec Command="sh ../wait-for.sh hold-h1; sh ../wait-for.sh hold-h2; sleep 0.5" YieldDuringToolExecution="true" />
                <Exec Command="rustc --print sysroot &amp;&amp; sh ../interval.sh query true &amp;&amp; echo &quot;QUERY-POOL=[$CARGO_MAKEFLAGS]&quot;" ConsoleToMSBuild="true" />
                <Exec Command="sh ../interval.sh marked-query true" JobserverAware="true" JobserverQuery="true" />
              </Target>
            """);
        var entry = repo.AddTraversal("all.proj", holders.Append(asker));

        var run = repo.Build(entry, new BuildOptions { Nodes = 3, Properties = new Dictionary<string, string> { ["JobserverSlots"] = "2" } });
        var firstRelease = run.Intervals.Where(i => i.Label.StartsWith("hold-", StringComparison.Ordinal)).Min(i => i.End);
        var query = Single(run, "query");
        var marked = Single(run, "marked-query");
        TestContext.WriteLine($"both slots held: the query ended {firstRelease - query.End:0.00} s and the marked query {firstRelease - marked.End:0.00} s before the first slot came free; build {run.Outcome.Elapsed.TotalSeconds:0.0} s");

        Assert.IsLessThan(firstRelease, query.End, "rustc --print sysroot waited for a slot:\n" + run.Describe());
        Assert.IsLessThan(firstRelease, marked.End, "the Exec marked JobserverQuery=\"true\" waited for a slot:\n" + run.Describe());
        Assert.IsNotEmpty(run.LinesWith("QUERY-POOL=[]"), "the query was handed a jobserver:\n" + ProcessRunner.Tail(run.Output));
        Assert.IsNotEmpty(run.LinesWith("JOBS0090"), "the query was not reported as one (JOBS0090):\n" + ProcessRunner.Tail(run.Output));
    }

    /// <summary>
    /// An explicit JobserverSlots=1 is a pool of one slot: one cargo of 3 independent crates compiles one at a time
    /// through the build's pool (before, 1 meant no pool and cargo ran its own -j, 2 at once here).
    /// </summary>
    [TestMethod]
    public void ExplicitOneSlotRunsOneCompileAtATime()
    {
        var repo = NewFixture("y4-one-slot");
        var project = repo.AddCargoProject("single", crates: 3);

        var run = repo.Build(project, new BuildOptions { Nodes = 2, Properties = new Dictionary<string, string> { ["JobserverSlots"] = "1" } });
        Report("-m:2 -p:JobserverSlots=1, 3 crates", run);

        Assert.HasCount(3, run.Compiles, run.Describe());
        Assert.AreEqual(1, run.MaxConcurrentCompiles, "JobserverSlots=1 ran compiles side by side:\n" + run.Describe());
        Fixtures.AssertCompilesUsedTheBuildsPool(run);
        Assert.AreEqual(1, Fixtures.Summaries(run).Single().Slots, "the summary should show a one-slot pool:\n" + ProcessRunner.Tail(run.Output));
    }

    /// <summary>-m:1 with JobserverSlots empty keeps no pool: one project at a time, and its cargo runs its own -j (2 here).</summary>
    [TestMethod]
    public void OneNodeWithoutSlotsKeepsNoPool()
    {
        var repo = NewFixture("y5-one-node");
        var project = repo.AddCargoProject("single", crates: 3);

        var run = repo.Build(project, new BuildOptions { Nodes = 1 });
        Report("-m:1, 3 crates", run);

        Assert.HasCount(3, run.Compiles, run.Describe());
        Assert.IsTrue(run.Compiles.All(c => c.FifoPath is null || !c.FifoPath.Contains("msbuild-jobserver", StringComparison.Ordinal)),
            "a compile was handed the package's pool under -m:1:\n" + run.Describe());
        Assert.IsGreaterThanOrEqualTo(2, run.MaxConcurrentCompiles, "cargo should run its own -j under -m:1:\n" + run.Describe());
    }

    // wait-for.sh LABEL: returns once a job labelled LABEL has started.
    private static void WriteWaitFor(FixtureRepo repo) => repo.Write("wait-for.sh",
        "until grep -q \"^S [0-9]* $1 \" \"$JBS_INTERVAL_LOG\" 2>/dev/null; do sleep 0.05; done\n");

    // An entry project that takes and returns a token before it builds the others in parallel: the entry process's
    // rendezvous is then done, so a project it runs never blocks on it and frees its node for another.
    private static string AddPrimedEntry(FixtureRepo repo, params string[] projects)
    {
        var references = string.Concat(projects.Select(p => $"    <ProjectReference Include=\"../{p}\" ReferenceOutputAssembly=\"false\" />\n"));
        return repo.AddProject("entry", PackageUse.PackageReference, "", $"""
              <ItemGroup>
            {references}  </ItemGroup>
              <Target Name="PrimeJobserver" BeforeTargets="ResolveProjectReferences">
                <AcquireJobToken Purpose="prime">
                  <Output TaskParameter="Token" PropertyName="PrimeToken" />
                </AcquireJobToken>
                <ReleaseJobToken Token="$(PrimeToken)" />
              </Target>
            """);
    }

    private static Interval Single(BuildRun run, string label)
    {
        var matches = run.Intervals.Where(i => i.Label == label).ToList();
        Assert.HasCount(1, matches, $"one '{label}' interval expected:\n" + run.Describe());
        return matches[0];
    }

    // Project name → the node MSBuild built it on, from "... is building "PATH" (2:5) on node M ...".
    private static Dictionary<string, string> NodesOf(BuildRun run) =>
        BuildingOnNode().Matches(run.Output)
            .GroupBy(m => Path.GetFileNameWithoutExtension(m.Groups["path"].Value))
            .ToDictionary(g => g.Key, g => g.First().Groups["node"].Value);

    [GeneratedRegex("is building \"(?<path>[^\"]+)\" \\([\\d:]+\\) on node (?<node>\\d+)")]
    private static partial Regex BuildingOnNode();
}
