namespace MSBuild.Jobserver.IntegrationTests;

/// <summary>
/// Issue 15: clients nobody here wrote read the build's pool. Two projects under <c>dotnet build -m:2</c> each run
/// <c>cargo build</c> through a plain &lt;Exec&gt; on a crate whose build script compiles 6 C files with the cc
/// crate's `parallel` feature (cc 1.0.73 on jobserver 0.1.24, Debian 12's sources). A CC wrapper logs each C compile
/// next to the rustc log; C compiles and rustc together must stay within the pool's 2 slots with today's cargo,
/// with Debian's cargo 1.65 / rustc 1.63, through a freshly started sccache server, and under make 4.3 and 4.4.1.
/// A cc that cannot read the pool silently makes its own (2 compiles per build script here: 4 at once).
/// </summary>
[TestClass]
public sealed class OldClientTests : EndToEndTest
{
    private const int Slots = 2;

    /// <summary>Today's cargo (first on PATH): cc's compiles and every rustc stay within the build's 2 slots.</summary>
    [TestMethod]
    public void CcBuildScriptsUnderTodaysCargoStayWithinTheSlots()
    {
        var repo = NewFixture("oc-cc-cargo");
        var entry = OldClientFixtures.TwoNativeProjects(repo);

        var run = repo.Build(entry, Options(OldClientFixtures.Environment(repo)));
        ReportOldClients("cargo on PATH, -m:2 -p:JobserverSlots=2", run);

        AssertWithinSlots(run, Slots);
        AssertNoJobserverComplaint(run);
    }

    /// <summary>
    /// Debian's cargo 1.65 and rustc 1.63 first on PATH (they read only the descriptor form): the same cap. The Exec
    /// prints both versions, so the test checks that the build really ran them.
    /// </summary>
    [TestMethod]
    public void DebianCargo165AndRustc163StayWithinTheSlots()
    {
        OldClientFixtures.RequireFile(Path.Combine(OldClientFixtures.DebianToolchainDirectory, "cargo"), "cargo (Debian's 1.65)");
        var repo = NewFixture("oc-debian-cargo");
        var entry = OldClientFixtures.TwoNativeProjects(repo);
        var environment = OldClientFixtures.Environment(repo);
        environment["PATH"] = OldClientFixtures.DebianToolchainDirectory + ":" + System.Environment.GetEnvironmentVariable("PATH");

        var run = repo.Build(entry, Options(environment));
        var versions = run.Output.Split('\n').Select(l => l.Trim()).Where(l => l.StartsWith("cargo 1.", StringComparison.Ordinal) || l.StartsWith("rustc 1.", StringComparison.Ordinal)).Distinct().ToList();
        TestContext.WriteLine("toolchain the build ran: " + string.Join(", ", versions));
        ReportOldClients("Debian's cargo/rustc first on PATH, -m:2 -p:JobserverSlots=2", run);

        Assert.IsTrue(versions.Count == 2 && versions.Any(v => v.StartsWith("cargo 1.65", StringComparison.Ordinal)) && versions.Any(v => v.StartsWith("rustc 1.63", StringComparison.Ordinal)),
            $"the build did not run Debian's cargo 1.65 / rustc 1.63 alone: [{string.Join(", ", versions)}]");
        AssertWithinSlots(run, Slots);
        AssertNoJobserverComplaint(run);
    }

    /// <summary>
    /// sccache 0.4 as RUSTC_WRAPPER, its server started by the first of two builds (private port and cache) and
    /// still running for the second, whose changed sources make it run rustc again: both builds pass within the
    /// slots, with no warning and no hang. The server is stopped by its port and then by its PID.
    /// </summary>
    [TestMethod]
    public void SccacheServerStartedByTheFirstBuildServesTheSecond()
    {
        OldClientFixtures.RequireFile(Sccache.Executable, "sccache");
        var repo = NewFixture("oc-sccache");
        var entry = OldClientFixtures.TwoNativeProjects(repo);
        using var sccache = new Sccache(repo);
        var environment = OldClientFixtures.Environment(repo);
        foreach (var (key, value) in sccache.Environment)
        {
            environment[key] = value;
        }

        var first = repo.Build(entry, Options(environment));
        ReportOldClients("sccache, first build (starts the server)", first);
        var server = sccache.ServerPid();
        Assert.IsNotNull(server, "the first build did not leave an sccache server running on its port:\n" + ProcessRunner.Tail(first.Output));

        repo.CleanCargoTargets();
        OldClientFixtures.ChangeSources(repo, seed: 10);
        var second = repo.Build(entry, Options(environment));
        ReportOldClients("sccache, second build (same server)", second);
        TestContext.WriteLine($"sccache server {server}; second build stats: {sccache.Stats()}");
        TestContext.WriteLine("  the server's descriptors: " + string.Join(", ", ReliabilitySupport.DescriptorTargets(server.Value).Where(t => !t.StartsWith("socket:", StringComparison.Ordinal)).Distinct()));
        TestContext.WriteLine("  fixture compiles of the second build and the pool each found:\n" + IntervalLog.Describe(second.Compiles));

        Assert.AreEqual(server, sccache.ServerPid(), "the second build did not run through the server the first one started");
        Assert.IsTrue(second.Intervals.Any(i => i.Label.StartsWith(CrateGenerator.CratePrefix, StringComparison.Ordinal)),
            "the second build ran no rustc of a fixture crate (all cache hits?); the server's compiles went unmeasured:\n" + second.Describe());
        foreach (var run in new[] { first, second })
        {
            AssertWithinSlots(run, Slots);
            AssertNoJobserverComplaint(run);
        }
    }

    /// <summary>
    /// make -j2 (4.3: descriptors; 4.4.1: a FIFO) running <c>+dotnet build -m:2</c> of the same fixture: the build
    /// joins make's pool and it still reaches cc, so C compiles and rustc stay within make's 2 slots.
    /// </summary>
    [TestMethod]
    [DataRow("4.3", DisplayName = "make 4.3")]
    [DataRow("4.4.1", DisplayName = "make 4.4.1")]
    public void MakeRunningTheBuildReachesCc(string version)
    {
        // Debian 12's make is 4.3; build/ci/peers.sh builds 4.4.1.
        var make = version == "4.3" ? "make" : Peers.Make441;

        var repo = NewFixture("oc-make-" + version);
        var entry = OldClientFixtures.TwoNativeProjects(repo);
        repo.Write("Makefile", string.Join('\n',
            "# make -j2 running the build as a recursive recipe: every tool of the build shares make's 2 slots.",
            ".PHONY: all",
            "all:",
            $"\t+dotnet build {entry} -m:2 -v:n -tl:off -nologo -nr:false",
            ""));

        var makeVersion = ProcessRunner.Run(make, new[] { "--version" }, repo.Root, Path.Combine(repo.Root, "logs", "make-version.log"), new Dictionary<string, string?>(), TimeSpan.FromSeconds(30));
        Assert.StartsWith("GNU Make " + version, makeVersion.Output, "not the make this case is about");
        var run = repo.Run(make, new[] { "-j" + Slots }, new BuildOptions { Environment = OldClientFixtures.Environment(repo) });
        ReportOldClients($"GNU make {version} -j2 (+dotnet build -m:2)", run);

        AssertWithinSlots(run, Slots);
        AssertNoJobserverComplaint(run);
        Assert.IsNotEmpty(run.LinesWith("JOBS0031"), "the build did not join make's jobserver (JOBS0031):\n" + ProcessRunner.Tail(run.Output));
    }

    private static BuildOptions Options(Dictionary<string, string?> environment) => new()
    {
        Nodes = Slots,
        Properties = new Dictionary<string, string> { ["JobserverSlots"] = Slots.ToString(System.Globalization.CultureInfo.InvariantCulture) },
        Environment = environment,
    };

    /// <summary>Every C compile ran, and C compiles and rustc together never exceeded <paramref name="slots"/>, and used them all.</summary>
    private static void AssertWithinSlots(BuildRun run, int slots)
    {
        Assert.HasCount(2 * OldClientFixtures.CFilesPerCrate, OldClientFixtures.CCompiles(run), "not every C file was compiled once:\n" + run.Describe());
        var peak = IntervalLog.MaxOverlap(run.Intervals);
        Assert.IsLessThanOrEqualTo(slots, peak, $"C compiles and rustc ran more at once than the {slots} slots (forms handed out: {OldClientFixtures.Forms(run)}):\n{run.Describe()}");
        Assert.AreEqual(slots, peak, "the slots were never all used; the measurement proves nothing:\n" + run.Describe());
    }

    /// <summary>
    /// No tool failed to reach the pool, no token was wrongly taken for lost (cc's implicit-token trick), and the
    /// package had nothing to warn about: every client here can read the form it is handed.
    /// </summary>
    private static void AssertNoJobserverComplaint(BuildRun run)
    {
        Assert.IsEmpty(Fixtures.WarningCodes(run), "the build warned:\n" + ProcessRunner.Tail(run.Output));
        Assert.IsEmpty(run.LinesWith("failed to connect to jobserver"), "a tool failed to connect to the jobserver:\n" + ProcessRunner.Tail(run.Output));
        Assert.IsEmpty(run.LinesWith("JOBS0034"), "cc's implicit token was taken for a lost one (JOBS0034):\n" + ProcessRunner.Tail(run.Output));
    }

    private void ReportOldClients(string what, BuildRun run)
    {
        Report(what, run);
        TestContext.WriteLine($"  C compiles: {OldClientFixtures.CCompiles(run).Count}, max {IntervalLog.MaxOverlap(OldClientFixtures.CCompiles(run))} at once; " +
            $"rustc runs: {OldClientFixtures.RustcRuns(run).Count}; C + rustc: max {IntervalLog.MaxOverlap(run.Intervals)} at once");
        TestContext.WriteLine("  forms handed out: " + OldClientFixtures.Forms(run));
    }
}
