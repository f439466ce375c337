using System.Runtime.InteropServices;
using System.Text.RegularExpressions;

namespace MSBuild.Jobserver.IntegrationTests;

/// <summary>
/// The package's fixed cost per build: in the entry process a tool's task asks the pool's owner itself instead of
/// building the rendezvous project (an evaluation and two trips through the scheduler); worker nodes still ask MSBuild.
/// On Linux x64 the tasks load from the precompiled (ReadyToRun) folder, so a no-op build compiles few of our methods.
/// </summary>
[TestClass]
public sealed class FixedCostTests : EndToEndTest
{
    private const string PrecompiledFolder = "net8.0-linux-x64";

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
    /// rendezvous project, and the compiles stay within the 2 slots. The worker asks once: its tool runs before its
    /// summary, and the pool's answer names the entry project too, so the summary does not ask again.
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
        Assert.IsEmpty(run.LinesWith("(FindEntryProject target(s))"), "the worker asked for the entry project after the pool's answer had named it:\n" + ProcessRunner.Tail(run.Output));
        Assert.IsLessThanOrEqualTo(2, run.MaxConcurrentCompiles, "compiles exceeded the slots:\n" + run.Describe());
        Fixtures.AssertCompilesUsedTheBuildsPool(run);
    }

    /// <summary>
    /// The other order: four cargo projects at -m:2 whose cargo target is declared after the package's targets, so each
    /// project's summary runs before its cargo, and an entry that runs a cargo of its own before it builds them (the
    /// pool exists before any worker asks). The worker asks for the entry project once; the pool comes with the
    /// answer, so it never builds the rendezvous's pool target, and its compiles still use the one pool. (Restored in
    /// the same command, MSBuild built the entry project itself on the worker here: that worker's first ask was its tool's.)
    /// </summary>
    [TestMethod]
    public void AWorkerThatAsksForTheEntryProjectFirstGetsThePoolWithTheAnswer()
    {
        var repo = NewFixture("fixed-cost-ask-first");
        var projects = new[] { "p1", "p2", "p3", "p4" }.Select(p => repo.AddExplicitImportCargoProject(p, crates: 1, cargoAfterSdkTargets: true)).ToList();
        CrateGenerator.WriteWorkspace(Path.Combine(repo.Root, "own", "ws"), "own", 1);
        var references = string.Concat(projects.Select(p => $"""<ProjectReference Include="{p}" ReferenceOutputAssembly="false" />"""));
        repo.Write("all.proj", $"""
            <Project Sdk="{PackageFeed.NoTargetsSdk}">
              <PropertyGroup><TargetFramework>net10.0</TargetFramework></PropertyGroup>
              <ItemGroup><PackageReference Include="{PackageFeed.Id}" Version="{PackageFeed.Version}" PrivateAssets="all" />{references}</ItemGroup>
              <Target Name="OwnCargo" BeforeTargets="BeforeBuild">
                <Exec Command="cargo build --offline" WorkingDirectory="$(MSBuildThisFileDirectory)own/ws" />
              </Target>
            </Project>
            """);

        // Restored first, as a separate build: the build is then MSBuild's first request, which only the entry process can take.
        var options = new BuildOptions { Nodes = 2 };
        repo.Run("dotnet", new[] { "restore", "all.proj", "-nologo" }, options);
        var arguments = FixtureRepo.BuildArguments("all.proj", options);
        arguments.Add("--no-restore");
        var run = repo.Run("dotnet", arguments, options);
        Report("4 projects, summary before cargo, -m:2", run);

        var summaries = Fixtures.Summaries(run);
        Assert.HasCount(1, summaries, "one summary expected:\n" + ProcessRunner.Tail(run.Output));
        Assert.AreEqual(5, summaries[0].ToolRuns);
        Assert.IsNotEmpty(run.LinesWith("all.proj\" on node 1 (default targets)"), "the entry project was not built in the entry process:\n" + ProcessRunner.Tail(run.Output));
        Assert.IsNotEmpty(run.LinesWith(" on node 2 (default targets)"),
            "MSBuild built no project on the worker node, so nothing here asked the rendezvous:\n" + ProcessRunner.Tail(run.Output));
        Assert.IsLessThanOrEqualTo(1, run.LinesWith("(FindEntryProject target(s))").Count, "the entry project is asked once per build");
        Assert.IsEmpty(run.LinesWith("(OpenJobserver target(s))"), "the worker built the pool's target though the pool had come with the entry project:\n" + ProcessRunner.Tail(run.Output));
        Assert.IsLessThanOrEqualTo(2, run.MaxConcurrentCompiles, "compiles exceeded the slots:\n" + run.Describe());
        Fixtures.AssertCompilesUsedTheBuildsPool(run);
    }

    /// <summary>
    /// On .NET on Linux x64 the tasks load from tasks/net8.0-linux-x64, whose images the runtime uses: a no-op build
    /// JIT-compiles few of the package's methods (1 here; over 500 from the IL folder, most of the package's fixed cost,
    /// docs/performance.md). The runtime lists what it compiles in DOTNET_JitStdOutFile with DOTNET_JitDisasmSummary=1.
    /// </summary>
    [TestMethod]
    public void NoOpBuildRunsThePackagesPrecompiledCode()
    {
        RequireLinuxX64();
        var repo = NewFixture("fixed-cost-r2r");
        var project = repo.AddCargoProject("solo", crates: 1);
        repo.Build(project, new BuildOptions { Nodes = 2 });
        var jitList = Path.Combine(repo.Root, "jit.txt");

        var run = BuildDetailed(repo, project, new BuildOptions
        {
            Nodes = 2,
            Environment = new Dictionary<string, string?> { ["DOTNET_JitStdOutFile"] = jitList, ["DOTNET_JitDisasmSummary"] = "1" },
        });
        Report("no-op build, JIT list", run);

        Assert.HasCount(1, Fixtures.Summaries(run), "one summary expected:\n" + ProcessRunner.Tail(run.Output));
        CollectionAssert.AreEquivalent(new[] { PrecompiledFolder }, TaskAssemblies(run).Select(l => FolderOf(l.File)).Distinct().ToList(), "the tasks did not load from the precompiled folder");
        var lines = File.ReadAllLines(jitList);
        Assert.IsGreaterThan(500, lines.Length, "the runtime listed too few compiled methods to be its whole list");
        var ours = lines.Where(l => l.Contains(" MSBuild.Jobserver.", StringComparison.Ordinal)).ToList();
        Assert.IsLessThan(150, ours.Count, $"{ours.Count} methods of the package were JIT-compiled: its ReadyToRun code was not used. The first:\n" + string.Join("\n", ours.Take(20)));
    }

    /// <summary>
    /// The same no-op build with the package on and off (JobserverEnabled=false: nothing of it runs): what the runtime
    /// JIT-compiles only with the package on is the package's compile cost on every build's critical path. Generic
    /// collections of our structs, LINQ over tuples, Lazy&lt;uint&gt; and Mono.Unix's IL made it 146 methods; now the
    /// P/Invoke stubs and MSBuild's reflection stubs for our task parameters are most of what is left.
    /// </summary>
    [TestMethod]
    public void NoOpBuildCompilesFewMethodsBeyondTheSameBuildWithoutThePackage()
    {
        RequireLinuxX64();
        var repo = NewFixture("fixed-cost-jit");
        var project = repo.AddCargoProject("solo", crates: 1);
        repo.Build(project, new BuildOptions { Nodes = 2 });

        HashSet<string> Compiled(string enabled)
        {
            var jitList = Path.Combine(repo.Root, "jit-" + enabled + ".txt");
            var run = repo.Build(project, new BuildOptions
            {
                Nodes = 2,
                Properties = new Dictionary<string, string> { ["JobserverEnabled"] = enabled },
                Environment = new Dictionary<string, string?> { ["DOTNET_JitStdOutFile"] = jitList, ["DOTNET_JitDisasmSummary"] = "1" },
            });
            Report("no-op build, JobserverEnabled=" + enabled, run);
            Assert.AreEqual(0, run.Outcome.ExitCode, ProcessRunner.Tail(run.Output));
            var lines = File.ReadAllLines(jitList);
            Assert.IsGreaterThan(500, lines.Length, "the runtime listed too few compiled methods to be its whole list");
            // "  12: JIT compiled Type:Method(args) [Tier0, IL size=..]": the method, without its number and tier.
            return lines.Select(l => Regex.Replace(l, @"^\s*\d+: JIT compiled | \[[^\]]*\]$", "")).ToHashSet(StringComparer.Ordinal);
        }

        var without = Compiled("false");
        var extra = Compiled("true").Where(m => !without.Contains(m)).Order(StringComparer.Ordinal).ToList();
        TestContext.WriteLine($"{extra.Count} methods compiled only with the package:\n" + string.Join("\n", extra));
        Assert.IsLessThanOrEqualTo(30, extra.Count, $"{extra.Count} methods were JIT-compiled only with the package on (146 before docs/performance.md's no-op pass):\n" + string.Join("\n", extra));
        Assert.IsEmpty(extra.Where(m => m.StartsWith("Mono.Unix.", StringComparison.Ordinal)).ToList(), "Mono.Unix's methods were compiled: its ReadyToRun image was not used");
    }

    /// <summary>
    /// Four cargo projects at -m:2: every task, the rendezvous project's for the worker node included, loads one and
    /// the same file, the precompiled one on Linux x64, or the IL one when JobserverPrecompiledTasks=false (a global
    /// property here, which the rendezvous call strips: the tasks tell the rendezvous which file they run from).
    /// </summary>
    [TestMethod]
    [DataRow("", PrecompiledFolder)]
    [DataRow("false", "net8.0")]
    public void TheRendezvousLoadsTheTasksOwnAssembly(string precompiled, string folder)
    {
        RequireLinuxX64();
        var repo = NewFixture("fixed-cost-folder");
        var projects = Enumerable.Range(1, 4).Select(i => repo.AddCargoProject("p" + i, crates: 2)).ToList();
        var entry = repo.AddTraversal("all.proj", projects);
        var properties = precompiled.Length == 0 ? new Dictionary<string, string>() : new Dictionary<string, string> { ["JobserverPrecompiledTasks"] = precompiled };

        var run = BuildDetailed(repo, entry, new BuildOptions { Nodes = 2, Properties = properties });
        Report("4 projects, -m:2, JobserverPrecompiledTasks=" + precompiled, run);

        var loads = TaskAssemblies(run);
        Assert.IsTrue(loads.Any(l => l.Task == "CreateBuildJobserver"), "the rendezvous project was not built for a worker node, so this run proves nothing:\n" + ProcessRunner.Tail(run.Output));
        var files = loads.Select(l => l.File).Distinct().ToList();
        Assert.HasCount(1, files, "the tasks loaded from more than one file:\n" + string.Join("\n", loads.Select(l => l.Task + ": " + l.File)));
        Assert.AreEqual(folder, FolderOf(files[0]));
        var summaries = Fixtures.Summaries(run);
        Assert.HasCount(1, summaries, "one summary expected:\n" + ProcessRunner.Tail(run.Output));
        Assert.AreEqual(4, summaries[0].ToolRuns);
        Assert.IsLessThanOrEqualTo(2, run.MaxConcurrentCompiles, "compiles exceeded the slots:\n" + run.Describe());
    }

    private static void RequireLinuxX64()
    {
        if (RuntimeInformation.ProcessArchitecture != Architecture.X64)
        {
            Assert.Inconclusive("The package's precompiled task folder is for linux-x64 only.");
        }
    }

    // At -v:d MSBuild names the file each task of each project is loaded from.
    private static BuildRun BuildDetailed(FixtureRepo repo, string entry, BuildOptions options)
    {
        var args = FixtureRepo.BuildArguments(entry, options);
        args.Add("-v:d");
        return repo.Run("dotnet", args, options);
    }

    // The package's tasks the build used, each with the file it was loaded from.
    private static List<(string Task, string File)> TaskAssemblies(BuildRun run)
    {
        var loads = Regex.Matches(run.Output, "Using \"(\\w+)\" task from assembly \"([^\"]*MSBuild\\.Jobserver\\.Tasks\\.dll)\"")
            .Select(m => (m.Groups[1].Value, Path.GetFullPath(m.Groups[2].Value)))
            .Distinct()
            .ToList();
        Assert.IsNotEmpty(loads, "the build named no task assembly of the package:\n" + ProcessRunner.Tail(run.Output));
        return loads;
    }

    private static string FolderOf(string assembly) => Path.GetFileName(Path.GetDirectoryName(assembly))!;

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
