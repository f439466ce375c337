namespace MSBuild.Jobserver.IntegrationTests;

/// <summary>
/// Issue tests 4 and 8: a build started by make joins make's pool; a build started with a broken inherited
/// MAKEFLAGS (the seed's failure) warns once and keeps it from every tool.
/// </summary>
[TestClass]
public sealed class InheritedJobserverTests : EndToEndTest
{
    /// <summary>
    /// Test 4: `make -j3` runs two 4-second jobs and `+dotnet build` of 3 cargo projects. make's jobs and every rustc
    /// together stay within make's 3 slots at every instant. The jobs start when the first compile does, so they are
    /// sure to overlap the build (the build's restore alone can outlast them).
    /// </summary>
    /// <remarks>
    /// Run with Debian's make 4.3 (descriptors: the build reaches make's pipe through the entry process) and with
    /// GNU make 4.4.1 on PATH as `make` (fifo: by default); every compile is handed the descriptor form opened on
    /// make's own pool.
    /// </remarks>
    [TestMethod]
    [DataRow("4.3", DisplayName = "make 4.3 (descriptors)")]
    [DataRow("4.4.1", DisplayName = "make 4.4.1 (fifo:)")]
    public void MakeJ3RunningTheBuildKeepsMakesJobsAndAllCompilesWithinThree(string makeVersion)
    {
        var repo = NewFixture("t4-make-" + makeVersion);
        var make = makeVersion == "4.3" ? "make" : Peers.Make441;
        var environment = makeVersion == "4.3"
            ? new Dictionary<string, string?>()
            : new Dictionary<string, string?> { ["PATH"] = Peers.OnPath(repo, ("make", Peers.Make441)).Path };
        var entry = Fixtures.CargoProjects(repo, projects: 3, crates: 3);
        repo.Write("wait-for-compile.sh", """
            #!/bin/sh
            # Holds the make job's slot until the first fixture crate starts compiling (at most 3 minutes).
            i=0
            until grep -q '^S [0-9]* jbs_' "$JBS_INTERVAL_LOG" 2>/dev/null; do
              i=$((i + 1))
              [ "$i" -gt 1800 ] && exit 1
              sleep 0.1
            done

            """);
        repo.Write("Makefile", string.Join('\n',
            "# make -j3: two 4-second jobs and a recursive dotnet build, all within make's three slots.",
            ".PHONY: all sleep1 sleep2 build",
            "all: sleep1 sleep2 build",
            "sleep1 sleep2:",
            "\t@sh ./wait-for-compile.sh && sh ./interval.sh make-$@ sleep 4",
            "build:",
            $"\t+dotnet build {entry} -m:3 -v:n -tl:off -nologo -nr:false",
            ""));

        var run = repo.Run(make, new[] { "-j3" }, new BuildOptions { Environment = environment });
        Report($"make {makeVersion} -j3 (+dotnet build -m:3)", run);
        Assert.Contains("GNU Make " + makeVersion, ProcessRunner.Run(make, new[] { "--version" }, repo.Root, Path.Combine(repo.Root, "logs", "make-version.log"), environment, TimeSpan.FromSeconds(30)).Output);

        var sleeps = run.Intervals.Where(i => i.Label.StartsWith("make-", StringComparison.Ordinal)).ToList();
        Assert.HasCount(2, sleeps, run.Describe());
        Assert.HasCount(9, run.Compiles, run.Describe());
        var peak = IntervalLog.MaxOverlap(run.Intervals);
        Assert.IsLessThanOrEqualTo(3, peak, "make's jobs and the build's compiles exceeded make -j3:\n" + run.Describe());
        foreach (var sleep in sleeps)
        {
            Assert.IsTrue(run.Compiles.Any(c => c.Start < sleep.End && sleep.Start < c.End), $"{sleep.Label} overlapped no compile; the measurement proves nothing:\n{run.Describe()}");
        }

        var pools = run.Compiles.Select(c => c.FifoPath).Distinct().ToList();
        var makesPool = makeVersion == "4.3" ? "pipe:[" : Path.Combine(run.TempDirectory, "GMfifo");
        Assert.IsTrue(pools.Count == 1 && pools[0]?.StartsWith(makesPool, StringComparison.Ordinal) == true,
            $"every compile should be handed make's own pool ({makesPool}...) as descriptors, not [{string.Join(", ", pools)}]");
        Assert.IsTrue(run.Compiles.All(c => c.Jobserver.Contains("--jobserver-auth=") && !c.Jobserver.Contains("fifo:")), "rustc should get the descriptor form, which every client reads");
        Assert.IsNotEmpty(run.LinesWith("JOBS0031"), "the build did not say it joined make's jobserver (JOBS0031):\n" + ProcessRunner.Tail(run.Output));
        Assert.IsEmpty(run.LinesWith("failed to connect to jobserver"), "a tool failed to connect to the jobserver:\n" + ProcessRunner.Tail(run.Output));
        Assert.IsEmpty(Fixtures.WarningCodes(run), "the build warned about the jobserver:\n" + ProcessRunner.Tail(run.Output));
        TestContext.WriteLine($"make's jobs + compiles: peak {peak} at once");
    }

    /// <summary>
    /// Test 8, the seed's failure: a broken jobserver in the build's MAKEFLAGS. With the package the build passes,
    /// no tool prints rustc's `failed to connect to jobserver`, and exactly one JOBS0001..JOBS0015 warning explains.
    /// Without the package, the same environment makes rustc (run directly by Exec) print that warning. cargo itself
    /// does not: it ignores the broken value silently and hands its compilers its own pool.
    /// </summary>
    [TestMethod]
    [DataRow(" -j4 --jobserver-auth=3,4", DisplayName = "descriptors 3,4 that are not open")]
    [DataRow(" -j4 --jobserver-auth=fifo:/nonexistent/x", DisplayName = "a FIFO that does not exist")]
    public void BrokenInheritedMakeflagsGiveOneCodedWarningAndNoToolWarning(string makeflags)
    {
        var repo = NewFixture("t8-broken-makeflags");
        var with = AddSeedProject(repo, "with", PackageUse.PackageReference);
        var without = AddSeedProject(repo, "without", PackageUse.None);
        var environment = new Dictionary<string, string?> { ["MAKEFLAGS"] = makeflags };

        var fixedRun = repo.Build(with, new BuildOptions { Nodes = 2, Environment = environment });
        var seedRun = repo.Build(without, new BuildOptions { Nodes = 2, Environment = environment });

        var codes = Fixtures.WarningCodes(fixedRun);
        var seedLines = seedRun.Body.Split('\n').Where(l => l.Contains("failed to connect to jobserver", StringComparison.Ordinal)).Select(l => l.Trim()).ToList();
        TestContext.WriteLine($"MAKEFLAGS='{makeflags}': with the package warnings [{string.Join(", ", codes)}]; without it {seedLines.Count} 'failed to connect' line(s): {seedLines.FirstOrDefault()}");
        Assert.IsEmpty(fixedRun.LinesWith("failed to connect to jobserver"), "with the package a tool still failed to connect:\n" + ProcessRunner.Tail(fixedRun.Output));
        Assert.HasCount(1, codes, "exactly one coded warning expected:\n" + ProcessRunner.Tail(fixedRun.Output));
        var number = int.Parse(codes[0].AsSpan(4), System.Globalization.CultureInfo.InvariantCulture);
        Assert.IsInRange(1, 15, number, $"{codes[0]} is not a rejected-jobserver code:\n{ProcessRunner.Tail(fixedRun.Output)}");
        Assert.HasCount(2, fixedRun.Compiles, fixedRun.Describe());
        Fixtures.AssertCompilesUsedTheBuildsPool(fixedRun);

        // The control: the seed's failure is real in this setup, so the assertions above can fail.
        Assert.IsNotEmpty(seedLines, "without the package rustc did not warn; the test proves nothing:\n" + ProcessRunner.Tail(seedRun.Output));
        Assert.IsTrue(seedLines.All(l => l.Contains(makeflags.Trim(), StringComparison.Ordinal)), "rustc's warning should quote the broken value:\n" + string.Join('\n', seedLines));
        Assert.HasCount(2, seedRun.Compiles, seedRun.Describe());
    }

    // A project that runs cargo (2 crates) and rustc directly, as the seed did, through plain <Exec> elements.
    private static string AddSeedProject(FixtureRepo repo, string name, PackageUse use)
    {
        CrateGenerator.WriteWorkspace(Path.Combine(repo.Root, name, "ws"), name, crates: 2);
        CrateGenerator.WriteCrate(Path.Combine(repo.Root, name, "direct"), "direct", seed: 7);
        return repo.AddProject(name, use, "", """
              <Target Name="RustBuild" AfterTargets="Build">
                <Exec Command="cargo build --offline" WorkingDirectory="$(MSBuildThisFileDirectory)ws" />
                <Exec Command="rustc --edition 2021 --crate-type lib --crate-name direct --out-dir target src/lib.rs" WorkingDirectory="$(MSBuildThisFileDirectory)direct" />
              </Target>
            """);
    }
}
