using System.Globalization;

namespace MSBuild.Jobserver.IntegrationTests;

/// <summary>
/// Issue 20, JobserverScope=User: concurrent <c>dotnet build -m:2</c>s of one user share one pool. Every compile of
/// every build logs to one RUSTC_WRAPPER log, and the compiles of all of them together never exceed the pool (each
/// build alone would take its own JobserverSlots: the old code runs up to twice or three times as many). A build killed
/// by SIGKILL leaves the others capped and nothing behind once the last ends; a default-scope build beside them keeps
/// a pool of its own.
/// </summary>
[TestClass]
public sealed class UserScopeTests : EndToEndTest
{
    private const int Slots = 3;

    /// <summary>Two user-scope builds share one pool of 3; a default-scope build beside them keeps its own pool of 2.</summary>
    [TestMethod]
    public void TwoBuildsShareOnePoolAndADefaultBuildKeepsItsOwn()
    {
        var repo = NewFixture("u2");
        var shared = SharedTemp(repo);
        var log = Path.Combine(repo.Root, "logs", "shared-intervals.log");
        var separateLog = Path.Combine(repo.Root, "logs", "default-intervals.log");
        var entries = new[] { AddBuild(repo, "ua", 2, 3), AddBuild(repo, "ub", 2, 3), AddBuild(repo, "ud", 2, 3) };

        var started = UnixSeconds(DateTime.UtcNow);
        using var a = ReliabilitySupport.StartBuild(repo, entries[0], UserOptions(log, Slots), shared);
        using var b = ReliabilitySupport.StartBuild(repo, entries[1], UserOptions(log, Slots), shared);
        using var d = ReliabilitySupport.StartBuild(repo, entries[2], DefaultOptions(separateLog), shared);
        var runs = new[] { a, b, d }.Select(r => r.WaitForExit(TimeSpan.FromMinutes(10))).ToList();

        foreach (var run in runs)
        {
            Assert.AreEqual(0, run.Outcome.ExitCode, $"a build failed ({run.Outcome}):\n{ProcessRunner.Tail(run.Output)}");
        }

        var compiles = IntervalLog.Read(log).Where(i => i.IsCompile).ToList();
        var separate = IntervalLog.Read(separateLog).Where(i => i.IsCompile).ToList();
        TestContext.WriteLine($"user scope: {compiles.Count} compiles, max {IntervalLog.MaxOverlap(compiles)} at once; default scope: {separate.Count} compiles, max {IntervalLog.MaxOverlap(separate)} at once");
        TestContext.WriteLine(runs[0].Body.Split('\n').FirstOrDefault(l => l.Contains("JOBS0030", StringComparison.Ordinal)) ?? "");
        TestContext.WriteLine(runs[1].Body.Split('\n').FirstOrDefault(l => l.Contains("JOBS0030", StringComparison.Ordinal)) ?? "");

        Assert.HasCount(12, compiles, IntervalLog.Describe(compiles));
        AssertBuildsRanTogether(compiles, started, ("ua", a), ("ub", b));
        Assert.IsLessThanOrEqualTo(Slots, IntervalLog.MaxOverlap(compiles), "the two builds together ran more compiles than their shared pool:\n" + IntervalLog.Describe(compiles));
        var pools = compiles.Select(c => c.FifoPath).Distinct().ToList();
        Assert.HasCount(1, pools, "the user-scope builds' compiles were not all handed one pool:\n" + IntervalLog.Describe(compiles));
        StringAssert.EndsWith(pools[0], "/user-pool/fifo");
        Assert.IsFalse(separate.Any(c => c.FifoPath == pools[0]), "the default-scope build used the shared pool");
        Assert.IsLessThanOrEqualTo(2, IntervalLog.MaxOverlap(separate), "the default-scope build ran more than its own -m:2 pool");
        foreach (var run in runs.Take(2))
        {
            var summary = Fixtures.Summaries(run).Single();
            Assert.AreEqual(Slots, summary.Slots, run.Output);
            StringAssert.StartsWith(summary.Kind, "shared by this user's builds; other builds held");
            Assert.IsNotEmpty(run.LinesWith("JOBS0085"), "the build did not say it shares the user's pool");
        }

        Assert.AreEqual("own pool", Fixtures.Summaries(runs[2]).Single().Kind);
        AssertNothingLeft(shared);
    }

    /// <summary>
    /// Three builds: two ask for one slot more than the core count, which the third takes by default. Whichever came first
    /// sized the pool; the others say so (JOBS0080) and keep that size, and all compiles stay within it.
    /// </summary>
    [TestMethod]
    public void ThreeBuildsShareOnePoolOfOneSize()
    {
        var repo = NewFixture("u3");
        var shared = SharedTemp(repo);
        var log = Path.Combine(repo.Root, "logs", "shared-intervals.log");
        var cores = Environment.ProcessorCount;
        var asked = cores + 1;
        var entries = new[] { AddBuild(repo, "va", 2, 3), AddBuild(repo, "vb", 2, 3), AddBuild(repo, "vc", 2, 3) };

        var started = UnixSeconds(DateTime.UtcNow);
        using var a = ReliabilitySupport.StartBuild(repo, entries[0], UserOptions(log, asked), shared);
        using var b = ReliabilitySupport.StartBuild(repo, entries[1], UserOptions(log, asked), shared);
        using var c = ReliabilitySupport.StartBuild(repo, entries[2], UserOptions(log, null), shared);
        var runs = new[] { a, b, c }.Select(r => r.WaitForExit(TimeSpan.FromMinutes(10))).ToList();

        foreach (var run in runs)
        {
            Assert.AreEqual(0, run.Outcome.ExitCode, $"a build failed ({run.Outcome}):\n{ProcessRunner.Tail(run.Output)}");
        }

        var compiles = IntervalLog.Read(log).Where(i => i.IsCompile).ToList();
        var sizes = runs.Select(r => Fixtures.Summaries(r).Single().Slots).ToList();
        var differs = runs.Sum(r => r.LinesWith("warning JOBS0080").Count);
        TestContext.WriteLine($"3 builds: {compiles.Count} compiles, max {IntervalLog.MaxOverlap(compiles)} at once; sizes {string.Join(",", sizes)}; JOBS0080 x{differs}");

        Assert.HasCount(18, compiles, IntervalLog.Describe(compiles));
        AssertBuildsRanTogether(compiles, started, ("va", a), ("vb", b), ("vc", c));
        Assert.HasCount(1, sizes.Distinct(), "the builds did not agree on one size");
        Assert.IsTrue(sizes[0] == cores || sizes[0] == asked, $"size {sizes[0]}");
        Assert.IsGreaterThanOrEqualTo(1, differs, "a build that asked for another size was not told (JOBS0080)");
        Assert.IsLessThanOrEqualTo(sizes[0], IntervalLog.MaxOverlap(compiles), "the three builds together ran more compiles than their shared pool:\n" + IntervalLog.Describe(compiles));
        AssertNothingLeft(shared);
    }

    /// <summary>
    /// A build is killed (SIGKILL of its entry process and nodes, by PID) while its compiles run; the other build goes
    /// on, within the pool together with whatever the killed one's orphaned tools still run, and passes. Once it ends,
    /// nothing of either is left: no process, no pool directory, no lease, no FIFO.
    /// </summary>
    [TestMethod]
    public void AKilledBuildLeavesTheOtherCappedAndNothingBehind()
    {
        var repo = NewFixture("uk");
        var shared = SharedTemp(repo);
        var log = Path.Combine(repo.Root, "logs", "shared-intervals.log");
        var heavy = new[] { "wk0", "wk1" }.Select(name => ReliabilitySupport.AddHeavyCargoProject(repo, name, crates: 3, copies: 3)).ToList();
        var killedEntry = repo.AddTraversal("wk.proj", heavy);
        var survivorEntry = AddBuild(repo, "ws", 2, 4);

        using var killed = ReliabilitySupport.StartBuild(repo, killedEntry, UserOptions(log, Slots), shared);
        Assert.IsTrue(ReliabilitySupport.WaitFor(() => ReliabilitySupport.Starts(log).Any(s => s[2].StartsWith("jbs_wk", StringComparison.Ordinal)), TimeSpan.FromMinutes(5)),
            "the build to kill never started a compile:\n" + ProcessRunner.Tail(killed.ReadOutput()));
        using var survivor = ReliabilitySupport.StartBuild(repo, survivorEntry, UserOptions(log, Slots), shared);
        // The survivor has joined the shared pool; its compiles may wait for the killed build's tokens (a FIFO is not
        // fair), so the kill comes as soon as it is in, while the killed build still compiles.
        Assert.IsTrue(ReliabilitySupport.WaitFor(() => survivor.ReadOutput().Contains("JOBS0085", StringComparison.Ordinal), TimeSpan.FromMinutes(5)),
            "the surviving build never joined the shared pool:\n" + ProcessRunner.Tail(survivor.ReadOutput()));
        Assert.IsFalse(killed.Process.HasExited, "the build to kill ended before the survivor joined: the test would prove nothing");

        // The build's processes, found by what their environment holds (worker nodes need not be the entry process's children).
        var mark = "JBS_OUTPUT_FILE=" + killed.OutputFile;
        var tree = ReliabilitySupport.Descendants(0).Where(p => Environ(p.Pid).Contains(mark, StringComparer.Ordinal)).ToList();
        var msbuild = tree.Where(p => ReliabilitySupport.CommandLine(p.Pid).Contains("nodemode", StringComparison.OrdinalIgnoreCase)).ToList();
        ReliabilitySupport.Signal(killed.Process.Id, 9);
        foreach (var node in msbuild)
        {
            ReliabilitySupport.Signal(node.Pid, 9);
        }

        killed.Process.WaitForExit();
        Assert.IsNotEmpty(msbuild, "the killed build had no worker node to kill: " + string.Join(", ", tree));
        var run = survivor.WaitForExit(TimeSpan.FromMinutes(10));
        Assert.AreEqual(0, run.Outcome.ExitCode, $"the surviving build failed ({run.Outcome}):\n{ProcessRunner.Tail(run.Output)}");
        Assert.IsTrue(ReliabilitySupport.WaitFor(() => ReliabilitySupport.StillRunning(tree).Count == 0, TimeSpan.FromMinutes(3)),
            "processes of the killed build are still running: " + string.Join(", ", ReliabilitySupport.StillRunning(tree)));

        // The killed build's compiles that were cut off have no end; the ones that finished count with the survivor's.
        var lines = File.ReadAllLines(log).Where(l => l.Length > 0).ToList();
        var ended = lines.Where(l => l.StartsWith("E ", StringComparison.Ordinal)).Select(l => string.Join(' ', l.Split(' ').Skip(1).Take(2))).ToHashSet();
        File.WriteAllLines(log + ".completed", lines.Where(l => ended.Contains(string.Join(' ', l.Split(' ').Skip(1).Take(2)))));
        var compiles = IntervalLog.Read(log + ".completed").Where(i => i.IsCompile).ToList();
        var cutOff = lines.Count(l => l.StartsWith("S ", StringComparison.Ordinal)) - compiles.Count;
        TestContext.WriteLine($"killed {msbuild.Count} MSBuild process(es) of {tree.Count}; {compiles.Count} compiles ended, {cutOff} cut off; max {IntervalLog.MaxOverlap(compiles)} at once; {run.Body.Split('\n').FirstOrDefault(l => l.Contains("JOBS0030", StringComparison.Ordinal))}");

        Assert.HasCount(8, compiles.Where(c => c.Label.StartsWith("jbs_ws", StringComparison.Ordinal)).ToList(), IntervalLog.Describe(compiles));
        Assert.IsLessThanOrEqualTo(Slots, IntervalLog.MaxOverlap(compiles), "the builds together ran more compiles than their shared pool:\n" + IntervalLog.Describe(compiles));
        AssertNothingLeft(shared);
    }

    private static string[] Environ(int pid)
    {
        try
        {
            return File.ReadAllText($"/proc/{pid}/environ").Split('\0');
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return Array.Empty<string>();
        }
    }

    private static string SharedTemp(FixtureRepo repo)
    {
        var path = Path.Combine(repo.Root, "tmp-shared");
        Directory.CreateDirectory(path);
        return path;
    }

    // An entry project building `projects` cargo projects of `crates` crates each, named after `tag`.
    private static string AddBuild(FixtureRepo repo, string tag, int projects, int crates)
    {
        var names = Enumerable.Range(0, projects).Select(i => repo.AddCargoProject(tag + i.ToString(CultureInfo.InvariantCulture), crates)).ToList();
        return repo.AddTraversal(tag + ".proj", names);
    }

    private static BuildOptions UserOptions(string log, int? slots) => new()
    {
        Nodes = 2,
        Properties = slots is { } n
            ? new Dictionary<string, string> { ["JobserverScope"] = "User", ["JobserverSlots"] = n.ToString(CultureInfo.InvariantCulture) }
            : new Dictionary<string, string> { ["JobserverScope"] = "User" },
        Environment = new Dictionary<string, string?> { [IntervalLog.Variable] = log },
    };

    private static BuildOptions DefaultOptions(string log) => new()
    {
        Nodes = 2,
        Environment = new Dictionary<string, string?> { [IntervalLog.Variable] = log },
    };

    // Without builds running at the same time the cap would prove nothing about sharing. Every build started before
    // any compile; each must have compiled while another build was still running, or still run while another compiled.
    // Builds that each had a pool of their own would then have compiled side by side; in a shared pool one may instead
    // wait until the other's compiles free their tokens (a FIFO is not fair), which is the sharing itself.
    private static void AssertBuildsRanTogether(IReadOnlyList<Interval> compiles, double started, params (string Tag, BackgroundBuild Build)[] builds)
    {
        var spans = builds.Select(b => compiles.Where(c => c.Label.StartsWith("jbs_" + b.Tag, StringComparison.Ordinal)).ToList())
            .Select(c => (First: c.Min(i => i.Start), Last: c.Max(i => i.End))).ToList();
        var lifetimes = builds.Select(b => (Start: started, Exit: UnixSeconds(b.Build.Process.ExitTime.ToUniversalTime()))).ToList();
        for (var i = 0; i < builds.Length; i++)
        {
            var together = Enumerable.Range(0, builds.Length).Where(j => j != i).Any(j =>
                (spans[i].First < lifetimes[j].Exit && lifetimes[j].Start < spans[i].Last)
                || (spans[j].First < lifetimes[i].Exit && lifetimes[i].Start < spans[j].Last));
            Assert.IsTrue(together, $"build {builds[i].Tag} ran alone (exits at {string.Join(", ", lifetimes.Select(l => l.Exit.ToString("0.000", CultureInfo.InvariantCulture)))}):\n" + IntervalLog.Describe(compiles));
        }
    }

    private static double UnixSeconds(DateTime utc) => (utc - DateTime.UnixEpoch).TotalSeconds;

    private static void AssertNothingLeft(string tempDirectory)
    {
        var privateDirectory = LeftoverCheck.PrivateDirectory(tempDirectory);
        var left = Directory.Exists(privateDirectory) ? Directory.GetFileSystemEntries(privateDirectory) : Array.Empty<string>();
        Assert.IsEmpty(left, $"the builds left pool files behind in {privateDirectory}: {string.Join(", ", left)}");
        var fifos = LeftoverCheck.FindFifos(tempDirectory).Where(f => !Path.GetFileName(f).StartsWith("clr-debug-pipe-", StringComparison.Ordinal)).ToList();
        Assert.IsEmpty(fifos, "FIFOs left behind: " + string.Join(", ", fifos));
    }
}
