using System.Globalization;
using MSBuild.Jobserver.Testing;

namespace MSBuild.Jobserver.IntegrationTests;

/// <summary>
/// Issue 11: a tool gets exactly what stock Exec gives it plus the pool, in the form its client reads; GNU make 4.4.1,
/// ninja 1.13.2 and cmake's generators draw on the pool; plain commands keep what is theirs. Every concurrency claim
/// is measured with interval.sh around real jobs (2-second sleeps), never taken from the package's own counters.
/// </summary>
[TestClass]
public sealed class ToolHandoverTests : EndToEndTest
{
    private const int Slots = 3;
    private const int Jobs = 6;

    /// <summary>
    /// make 4.4.1 (on PATH as `make`) as a tool of the build, with flags and a variable given through Exec's
    /// EnvironmentVariables: its 6 jobs run within the 3 slots and in parallel (alone, make runs one at a time), and
    /// its MAKEFLAGS keeps `k` and `-- GREETING=hello` beside the pool.
    /// </summary>
    [TestMethod]
    public void Make441AsAToolKeepsItsFlagsAndDrawsOnThePool()
    {
        var repo = NewFixture("t11-make441-tool");
        var path = Peers.OnPath(repo, ("make", Peers.Make441)).Path;
        WriteJobsMakefile(repo);
        var project = repo.AddProject("Native", PackageUse.PackageReference, $"<JobserverSlots>{Slots}</JobserverSlots>", """
              <Target Name="Native" AfterTargets="Build">
                <Exec Command="make -f ../jobs.mk" EnvironmentVariables="MAKEFLAGS=k -- GREETING=hello" />
              </Target>
            """);

        var run = repo.Build(project, new BuildOptions { Nodes = 2, Environment = new Dictionary<string, string?> { ["PATH"] = path } });

        var record = Record(repo);
        TestContext.WriteLine($"make saw MAKEFLAGS '{record["makeflags"]}', GREETING '{record["greeting"]}', {record["version"]}");
        Assert.StartsWith("GNU Make 4.4.1", record["version"]);
        Assert.StartsWith("k", record["makeflags"], "the single-letter flags given through EnvironmentVariables were lost");
        Assert.Contains("-- GREETING=hello", record["makeflags"], "the variable definition given through EnvironmentVariables was lost");
        Assert.AreEqual("hello", record["greeting"]);
        AssertWithinSlotsAndParallel(run, "make-");
    }

    /// <summary>ninja 1.13.2 run directly: the fifo: form reaches it, so its 6 jobs stay within the 3 slots (alone: nproc + 2).</summary>
    [TestMethod]
    public void Ninja1132DirectlyIsCapped()
    {
        var repo = NewFixture("t11-ninja");
        var path = Peers.OnPath(repo, ("ninja", Peers.Ninja1132)).Path;
        WriteNinjaFile(repo, "ninjatree");
        var project = repo.AddProject("Native", PackageUse.PackageReference, $"<JobserverSlots>{Slots}</JobserverSlots>", """
              <Target Name="Native" AfterTargets="Build">
                <Exec Command="ninja -C ../ninjatree" />
              </Target>
            """);

        var run = repo.Build(project, new BuildOptions { Nodes = 2, Environment = new Dictionary<string, string?> { ["PATH"] = path } });

        AssertWithinSlotsAndParallel(run, "ninja-");
        Assert.IsEmpty(run.LinesWith("Ignoring jobserver"), "ninja could not read the form it was handed:\n" + ProcessRunner.Tail(run.Output));
        Assert.IsEmpty(Fixtures.WarningCodes(run), ProcessRunner.Tail(run.Output));
    }

    /// <summary>
    /// `cmake --build` of a Ninja tree (ninja 1.13.2) and of a Unix Makefiles tree (make 4.3): the package reads the
    /// tree's generator from CMakeCache.txt and hands each the form its tool reads; both run their 6 jobs within the 3
    /// slots and in parallel (make alone would run them one at a time, ninja nproc + 2).
    /// </summary>
    [TestMethod]
    [DataRow("Ninja")]
    [DataRow("Unix Makefiles")]
    public void CMakeBuildOfEitherGeneratorDrawsOnThePool(string generator)
    {
        var repo = NewFixture("t11-cmake-" + (generator == "Ninja" ? "ninja" : "make"));
        var path = Peers.OnPath(repo, ("ninja", Peers.Ninja1132)).Path;
        var environment = new Dictionary<string, string?> { ["PATH"] = path };
        var lines = new List<string> { "cmake_minimum_required(VERSION 3.20)", "project(jobs NONE)" };
        for (var i = 1; i <= Jobs; i++)
        {
            lines.Add($"add_custom_command(OUTPUT out{i} COMMAND sh {repo.IntervalScript} cmake-{i} sleep 2 COMMAND touch out{i})");
        }

        lines.Add("add_custom_target(jobs ALL DEPENDS " + string.Join(' ', Enumerable.Range(1, Jobs).Select(i => "out" + i.ToString(CultureInfo.InvariantCulture))) + ")");
        repo.Write("cm/CMakeLists.txt", string.Join('\n', lines) + "\n");
        var configure = ProcessRunner.Run("cmake", new[] { "-G", generator, "-S", "cm", "-B", "cm/build" }, repo.Root,
            Path.Combine(repo.Root, "logs", "configure.log"), environment, TimeSpan.FromMinutes(2));
        Assert.AreEqual(0, configure.ExitCode, configure.Output);
        var project = repo.AddProject("Native", PackageUse.PackageReference, $"<JobserverSlots>{Slots}</JobserverSlots>", """
              <Target Name="Native" AfterTargets="Build">
                <Exec Command="cmake --build ../cm/build" />
              </Target>
            """);

        var run = repo.Build(project, new BuildOptions { Nodes = 2, Environment = environment });

        AssertWithinSlotsAndParallel(run, "cmake-");
        Assert.IsEmpty(run.LinesWith("Ignoring jobserver"), ProcessRunner.Tail(run.Output));
        Assert.IsEmpty(Fixtures.WarningCodes(run), ProcessRunner.Tail(run.Output));
    }

    /// <summary>Debian's ninja 1.11 is no jobserver client: said once (JOBS0052) for two Execs, with the fix; the build passes.</summary>
    [TestMethod]
    public void NinjaOlderThan113IsSaidOnce()
    {
        var repo = NewFixture("t11-old-ninja");
        WriteNinjaFile(repo, "ninjatree");
        var project = repo.AddProject("Native", PackageUse.PackageReference, $"<JobserverSlots>{Slots}</JobserverSlots>", """
              <Target Name="Native" AfterTargets="Build">
                <Exec Command="ninja -C ../ninjatree -t clean &amp;&amp; ninja -C ../ninjatree" />
                <Exec Command="ninja -C ../ninjatree -t clean &amp;&amp; ninja -C ../ninjatree" />
              </Target>
            """);

        var run = repo.Build(project, new BuildOptions { Nodes = 1 });

        Assert.AreEqual("JOBS0052", Fixtures.WarningCodes(run).Single(), ProcessRunner.Tail(run.Output));
        Assert.IsNotEmpty(run.LinesWith("ninja 1.13 or later"), "the warning should give the fix");
    }

    /// <summary>
    /// The flock idiom `( flock 9; make ) 9&gt;lock`: the pool is opened on numbers the command does not name, so no token
    /// is written into the lock file, and make still draws on the pool.
    /// </summary>
    [TestMethod]
    public void TheFlockIdiomKeepsItsDescriptor()
    {
        var repo = NewFixture("t11-flock");
        WriteJobsMakefile(repo);
        var project = repo.AddProject("Native", PackageUse.PackageReference, $"<JobserverSlots>{Slots}</JobserverSlots>", """
              <Target Name="Native" AfterTargets="Build">
                <Exec Command="( flock 9; make -f ../jobs.mk ) 9&gt;../lock" />
              </Target>
            """);

        var run = repo.Build(project, new BuildOptions { Nodes = 2 });

        Assert.AreEqual(0L, new FileInfo(Path.Combine(repo.Root, "lock")).Length, "tokens were written into the command's lock file");
        Assert.Contains("--jobserver-auth=7,8", Record(repo)["makeflags"]);
        AssertWithinSlotsAndParallel(run, "make-");
    }

    /// <summary>JobserverAdvertiseToAllTools: a plain `./build.sh` (no listed tool) keeps the advertised pool.</summary>
    [TestMethod]
    public void AdvertiseToAllToolsReachesAPlainCommand()
    {
        var repo = NewFixture("t11-advertise-plain");
        repo.Write("Native/build.sh", "#!/bin/sh\necho \"$CARGO_MAKEFLAGS\" > ../plain.txt\n");
        var project = repo.AddProject("Native", PackageUse.PackageReference, "<JobserverAdvertiseToAllTools>true</JobserverAdvertiseToAllTools>", """
              <Target Name="Native" AfterTargets="Build">
                <Exec Command="sh ./build.sh" />
              </Target>
            """);

        var run = repo.Build(project, new BuildOptions { Nodes = 2 });

        var seen = File.ReadAllText(Path.Combine(repo.Root, "plain.txt")).Trim();
        Assert.Contains("--jobserver-auth=fifo:" + LeftoverCheck.PrivateDirectory(run.TempDirectory) + "/", seen, "the plain command lost the advertised pool");
    }

    /// <summary>
    /// An empty CARGO_MAKEFLAGS (as a cargo build script leaves) beside a broken MAKEFLAGS: the broken one is still
    /// validated (JOBS0002: descriptors that are not open, once) and still removed from a plain command's MAKEFLAGS, its other flags kept.
    /// </summary>
    [TestMethod]
    public void AnEmptyCargoMakeflagsHidesNoBrokenMakeflags()
    {
        var repo = NewFixture("t11-empty-cargo-makeflags");
        var project = repo.AddProject("Native", PackageUse.PackageReference, "", """
              <Target Name="Native" AfterTargets="Build">
                <Exec Command="echo &quot;$MAKEFLAGS&quot; &gt; ../plain.txt" />
              </Target>
            """);

        var run = repo.Build(project, new BuildOptions
        {
            Nodes = 2,
            Environment = new Dictionary<string, string?> { ["CARGO_MAKEFLAGS"] = "", ["MAKEFLAGS"] = "k -j4 --jobserver-auth=950,951" },
        });

        Assert.AreEqual("JOBS0002", Fixtures.WarningCodes(run).Single(), ProcessRunner.Tail(run.Output));
        Assert.AreEqual("k -j4", File.ReadAllText(Path.Combine(repo.Root, "plain.txt")).Trim());
    }

    /// <summary>
    /// A pool directory whose path holds a space (XDG_RUNTIME_DIR, where the pool lives; stock Exec itself cannot run
    /// with such a TMPDIR on Unix: it sources its script unquoted): every Exec of a listed tool works (no MSB4018), the
    /// compiles are capped on the build's pool through descriptors, and ninja, which could only read fifo:PATH, is
    /// told once (JOBS0050) instead of crashing.
    /// </summary>
    [TestMethod]
    public void APoolPathWithASpaceDoesNotCrashExec()
    {
        var repo = NewFixture("t11-space");
        var path = Peers.OnPath(repo, ("ninja", Peers.Ninja1132)).Path;
        WriteNinjaFile(repo, "ninjatree");
        var ninja = repo.AddProject("Ninja", PackageUse.PackageReference, "", """
              <Target Name="Native" AfterTargets="Build">
                <Exec Command="ninja -C ../ninjatree" />
              </Target>
            """);
        var all = repo.AddTraversal("all.proj", new[] { repo.AddCargoProject("p1", 3), repo.AddCargoProject("p2", 3), ninja });
        var spaced = Path.Combine(repo.Root, "run time");
        Directory.CreateDirectory(spaced);
        File.SetUnixFileMode(spaced, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);

        var run = repo.Build(all, new BuildOptions
        {
            Nodes = 2,
            Properties = new Dictionary<string, string> { ["JobserverSlots"] = "2" },
            Environment = new Dictionary<string, string?> { ["XDG_RUNTIME_DIR"] = spaced, ["PATH"] = path },
        });

        Assert.IsEmpty(run.LinesWith("MSB4018"), ProcessRunner.Tail(run.Output));
        Assert.HasCount(6, run.Compiles, run.Describe());
        Assert.IsLessThanOrEqualTo(2, run.MaxConcurrentCompiles, run.Describe());
        Assert.IsTrue(run.Compiles.All(c => c.FifoPath?.Contains("/msbuild-jobserver-", StringComparison.Ordinal) == true), "a compile did not reach the build's pool:\n" + run.Describe());
        var codes = Fixtures.WarningCodes(run);
        Assert.IsTrue(codes.All(c => c == "JOBS0050") && codes.Count <= 1, "at most one JOBS0050 (none if the pool was placed where its path can be advertised):\n" + ProcessRunner.Tail(run.Output));
        TestContext.WriteLine($"pool: {run.Compiles[0].FifoPath}; warnings: {string.Join(", ", codes)}");
    }

    /// <summary>
    /// Issue 15: a build script on jobserver 0.1.24 (Debian 12's, what cc 1.0.73 uses; it cannot read fifo:) reaches the
    /// build's pool through the descriptor form cargo passes on: from_env finds it, and its 4 threads, each holding a
    /// token around a 2-second job, run at most the 2 tokens the 3-slot pool has left beside cargo's own.
    /// </summary>
    [TestMethod]
    public void AnOldJobserverCrateInABuildScriptReachesThePool()
    {
        Prerequisite.RequireFile("/usr/share/cargo/registry/jobserver-0.1.24", "Debian's librust-jobserver-dev, installed by build/ci/peers.sh");
        var repo = NewFixture("t15-jobserver-0.1.24");
        repo.Write("Old/ws/.cargo/config.toml", "[source.crates-io]\nreplace-with = \"debian\"\n\n[source.debian]\ndirectory = \"/usr/share/cargo/registry\"\n");
        repo.Write("Old/ws/Cargo.toml", "[package]\nname = \"oldclient\"\nversion = \"0.1.0\"\nedition = \"2021\"\nbuild = \"build.rs\"\n\n[build-dependencies]\njobserver = \"=0.1.24\"\n");
        repo.Write("Old/ws/src/lib.rs", "pub fn f() {}\n");
        repo.Write("Old/ws/build.rs", $$"""
            fn main() {
                let client = unsafe { jobserver::Client::from_env() }
                    .expect("jobserver 0.1.24 found no jobserver it can read in CARGO_MAKEFLAGS");
                let threads: Vec<_> = (0..4).map(|i| {
                    let client = client.clone();
                    std::thread::spawn(move || {
                        let _token = client.acquire().unwrap();
                        let status = std::process::Command::new("sh")
                            .args(["{{repo.IntervalScript}}", &format!("old-client-{}", i), "sleep", "2"])
                            .status().unwrap();
                        assert!(status.success());
                    })
                }).collect();
                for t in threads { t.join().unwrap(); }
            }
            """);
        var project = repo.AddProject("Old", PackageUse.PackageReference, "<JobserverSlots>3</JobserverSlots>", """
              <Target Name="Old" AfterTargets="Build">
                <Exec Command="cargo build --offline" WorkingDirectory="$(MSBuildThisFileDirectory)ws" />
              </Target>
            """);

        var run = repo.Build(project, new BuildOptions { Nodes = 2 });

        var jobs = run.Intervals.Where(i => i.Label.StartsWith("old-client-", StringComparison.Ordinal)).ToList();
        var peak = IntervalLog.MaxOverlap(jobs);
        TestContext.WriteLine($"jobserver 0.1.24 build script: {jobs.Count} jobs, peak {peak} at once");
        Assert.HasCount(4, jobs, run.Describe());
        Assert.IsLessThanOrEqualTo(2, peak, "the old client took more tokens than the pool has:\n" + run.Describe());
        Assert.AreEqual(2, peak, "the old client never held both free tokens at once:\n" + run.Describe());
    }

    private static void WriteJobsMakefile(FixtureRepo repo)
    {
        var targets = string.Join(' ', Enumerable.Range(1, Jobs).Select(i => "j" + i.ToString(CultureInfo.InvariantCulture)));
        repo.Write("jobs.mk", string.Join('\n',
            $".PHONY: all {targets} record",
            $"all: record {targets}",
            "record:",
            "\t@echo \"makeflags=$(MAKEFLAGS)\" > ../record.txt",
            "\t@echo \"greeting=$(GREETING)\" >> ../record.txt",
            // sed reads all of it: `head -n 1` could exit before make wrote its last line, and make then fails with "write error: stdout".
            "\t@echo \"version=$(shell $(MAKE) --version | sed -n 1p)\" >> ../record.txt",
            $"{targets}:",
            $"\t@sh {repo.IntervalScript} make-$@ sleep 2",
            ""));
    }

    private static void WriteNinjaFile(FixtureRepo repo, string directory)
    {
        var lines = new List<string> { "rule job", $"  command = sh {repo.IntervalScript} ninja-$out sleep 2 && touch $out", "" };
        lines.AddRange(Enumerable.Range(1, Jobs).Select(i => $"build out{i}: job"));
        repo.Write(Path.Combine(directory, "build.ninja"), string.Join('\n', lines) + "\n");
    }

    private static Dictionary<string, string> Record(FixtureRepo repo) =>
        File.ReadAllLines(Path.Combine(repo.Root, "record.txt")).Select(l => l.Split('=', 2)).ToDictionary(p => p[0], p => p[1]);

    private void AssertWithinSlotsAndParallel(BuildRun run, string labelPrefix)
    {
        var jobs = run.Intervals.Where(i => i.Label.StartsWith(labelPrefix, StringComparison.Ordinal)).ToList();
        var peak = IntervalLog.MaxOverlap(jobs);
        TestContext.WriteLine($"{labelPrefix}: {jobs.Count} jobs, peak {peak} at once (slots {Slots})");
        Assert.HasCount(Jobs, jobs, run.Describe());
        Assert.IsLessThanOrEqualTo(Slots, peak, "more jobs than slots:\n" + run.Describe());
        Assert.IsGreaterThanOrEqualTo(2, peak, "the tool did not draw on the pool (it ran one job at a time):\n" + run.Describe());
    }
}
