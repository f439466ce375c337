using System.Globalization;
using System.Text.RegularExpressions;

namespace MSBuild.Jobserver.IntegrationTests;

/// <summary>
/// Issue 18: with a user's defaults (node reuse, the compiler server, optionally the MSBuild server), a make or cargo
/// that runs `dotnet build` ends with the build, instead of waiting until the build servers that inherited its
/// jobserver pipe exit (15 minutes for a reused worker node, 10 for VBCSCompiler). The build servers these tests start
/// are found by the fixture's marker in their environment and ended by PID.
/// </summary>
[TestClass]
public sealed class MakeExitsWithTheBuildTests : EndToEndTest
{
    /// <summary>How long make may outlive `dotnet build`: generous for a busy machine, far below any server's idle time.</summary>
    private const int ExitBoundSeconds = 20;

    private static readonly Regex ExitLine = new(@"^MAKE-EXITED status (\d+) after (\d+) s", RegexOptions.Multiline);

    /// <summary>
    /// make -j2 runs `+dotnet build` of C# projects that use the package (Directory.Build.props), beside another job,
    /// twice: make exits within a few seconds of each build; the second build runs on the nodes the first left
    /// (reused), where a listed tool (a sub-make) still gets make's pool; a plain Exec of an unlisted program in the
    /// entry process still gets make's descriptors, as stock Exec gives them.
    /// </summary>
    [TestMethod]
    [DataRow("4.3", "", DisplayName = "make 4.3")]
    [DataRow("4.4.1", "--jobserver-style=pipe", DisplayName = "make 4.4.1 --jobserver-style=pipe")]
    public void MakeExitsWithTheBuildOnReusedNodesAndTheCompilerServer(string makeVersion, string style)
    {
        var repo = NewFixture("i18-make-" + makeVersion);
        var entry = WriteProjects(repo);
        var path = makeVersion == "4.3" ? null : Peers.OnPath(repo, ("make", Peers.Make441)).Path;
        var before = WorkerNodes.BuildServerSnapshot();
        try
        {
            for (var build = 1; build <= 2; build++)
            {
                var run = RunMake(repo, makeVersion, style, entry, path is null ? new() : new() { ["PATH"] = path });
                AssertMakeEndedWithTheBuild(repo, before, run, $"make {makeVersion} {style}, build {build}");
                Assert.IsEmpty(run.LinesWith("jobserver unavailable"), "the sub-make (a listed tool) did not get make's pool:\n" + ProcessRunner.Tail(run.Output));
                var plain = run.LinesWith("PLAIN-PROBE:");
                Assert.IsTrue(plain.Count == 1 && plain[0].Contains(" open", StringComparison.Ordinal), "a plain Exec in the entry process should get make's descriptors as stock Exec gives them: " + string.Join(" | ", plain));
                Assert.IsNotEmpty(run.LinesWith("JOBS0031"), "the build did not join make's jobserver:\n" + ProcessRunner.Tail(run.Output));
                if (build == 1)
                {
                    // MSBuild 18 keeps a node for reuse only while the machine has at most 1.5 × cores of them (other
                    // builds' count too), so on a busy machine the nodes may go; VBCSCompiler always stays.
                    var kept = WorkerNodes.BuildServersStartedSince(before, repo.Marker);
                    TestContext.WriteLine($"build servers kept after build 1: [{string.Join(", ", kept)}]");
                    Assert.IsNotEmpty(kept, "no build server of this build outlived it (node reuse and the compiler server were off), so the test proves nothing");
                }
            }
        }
        finally
        {
            EndBuildServers(repo, before);
        }
    }

    /// <summary>
    /// The same with the MSBuild server on (DOTNET_CLI_USE_MSBUILD_SERVER=1): the server this build starts is the entry.
    /// The entry takes the package as an Sdk, as troubleshooting.md advises: the server may start worker nodes while it
    /// restores, before a PackageReference's targets exist, and a node that then builds none of the package's projects
    /// would hold make's pipe (JOBS0060).
    /// </summary>
    [TestMethod]
    public void MakeExitsWithTheBuildOnTheMSBuildServer()
    {
        var repo = NewFixture("i18-server");
        var entry = WriteProjects(repo, entrySdk: true);
        var before = WorkerNodes.BuildServerSnapshot();
        try
        {
            var run = RunMake(repo, "4.3", "", entry, new Dictionary<string, string?> { ["DOTNET_CLI_USE_MSBUILD_SERVER"] = "1" });
            // In the server (a /nodemode process) make's descriptors are not joined (JOBS0012); in the dotnet process they are (JOBS0031).
            Assert.IsTrue(run.LinesWith("JOBS0012").Count > 0 && run.LinesWith("JOBS0031").Count == 0,
                "the build did not run in the MSBuild server, so the test proves nothing:\n" + ProcessRunner.Tail(run.Output));
            // The server cannot reach make's descriptors of a later client, so it never joins them (JOBS0012, as before).
            AssertMakeEndedWithTheBuild(repo, before, run, "make 4.3 with the MSBuild server", "JOBS0012");
        }
        finally
        {
            EndBuildServers(repo, before);
        }
    }

    /// <summary>The same with a .slnx entry that has the Directory.Solution.targets opt-in.</summary>
    [TestMethod]
    public void MakeExitsWithASolutionBuildWithTheOptIn()
    {
        var repo = NewFixture("i18-slnx");
        WriteProjects(repo);
        repo.Write("all.slnx", "<Solution>\n  <Project Path=\"A/A.csproj\" />\n  <Project Path=\"B/B.csproj\" />\n</Solution>\n");
        repo.Write("Directory.Solution.targets", $"<Project>\n  <Import Project=\"Sdk.targets\" Sdk=\"{PackageFeed.Id}\" Version=\"{PackageFeed.Version}\" />\n</Project>\n");
        var before = WorkerNodes.BuildServerSnapshot();
        try
        {
            var run = RunMake(repo, "4.3", "", "all.slnx", new Dictionary<string, string?>());
            AssertMakeEndedWithTheBuild(repo, before, run, "make 4.3, .slnx entry");
        }
        finally
        {
            EndBuildServers(repo, before);
        }
    }

    /// <summary>cargo runs a build script that runs `dotnet build` (cargo's own jobserver pipe in CARGO_MAKEFLAGS): cargo ends with it.</summary>
    [TestMethod]
    public void CargoRunningABuildScriptThatBuildsEndsWithTheBuild()
    {
        var repo = NewFixture("i18-cargo");
        var entry = WriteProjects(repo);
        repo.Write("driver/Cargo.toml", "[package]\nname = \"driver\"\nversion = \"0.1.0\"\nedition = \"2021\"\nbuild = \"build.rs\"\n\n[workspace]\n");
        repo.Write("driver/src/lib.rs", "pub fn driver() {}\n");
        repo.Write("driver/build.rs", $$"""
            use std::process::Command;

            // Builds the .NET part as a build script would, then marks the moment the build ended.
            fn main() {
                let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
                let status = Command::new("dotnet")
                    .args(["build", "{{entry}}", "-m:2", "-nologo", "-tl:off", "-v:n"])
                    .current_dir(root)
                    .status()
                    .expect("dotnet runs");
                std::fs::write(format!("{root}/built.stamp"), "").expect("stamp");
                assert!(status.success(), "dotnet build failed");
            }

            """);
        var before = WorkerNodes.BuildServerSnapshot();
        try
        {
            var run = repo.Run("sh", new[] { "./measure.sh", "cargo", "build", "-vv", "--offline", "-j2", "--manifest-path", "driver/Cargo.toml" },
                new BuildOptions { NodeReuse = true, Environment = UserDefaults(new Dictionary<string, string?>()) });
            AssertMakeEndedWithTheBuild(repo, before, run, "cargo running dotnet build from a build script");
        }
        finally
        {
            EndBuildServers(repo, before);
        }
    }

    // Two C# class libraries (the compiler server starts for them) and an entry that references both, every project
    // with the package through Directory.Build.props. A runs a sub-make (a listed tool); the entry runs a plain
    // probe of the descriptors MAKEFLAGS names. Returns the entry's path.
    // With entrySdk the entry takes the package as <Sdk> instead: SDK imports stay while NuGet restores (package
    // imports do not), so it acts before the restore starts worker nodes.
    private static string WriteProjects(FixtureRepo repo, bool entrySdk = false)
    {
        var referenceCondition = entrySdk ? " Condition=\"'$(MSBuildProjectName)' != 'dirs'\"" : "";
        repo.Write("Directory.Build.props", $"""
            <Project>
              <PropertyGroup>
                <ImportDirectoryPackagesProps>false</ImportDirectoryPackagesProps>
              </PropertyGroup>
              <ItemGroup{referenceCondition}>
                <PackageReference Include="{PackageFeed.Id}" Version="{PackageFeed.Version}" PrivateAssets="all" />
              </ItemGroup>
            </Project>

            """);
        foreach (var name in new[] { "A", "B" })
        {
            var subMake = name == "A" ? "\n  <Target Name=\"SubMake\" AfterTargets=\"Build\">\n    <Exec Command=\"make -C $(MSBuildThisFileDirectory)sub\" />\n  </Target>" : "";
            repo.Write($"{name}/{name}.csproj", $"""
                <Project Sdk="Microsoft.NET.Sdk">
                  <PropertyGroup>
                    <TargetFramework>net10.0</TargetFramework>
                  </PropertyGroup>{subMake}
                </Project>

                """);
            repo.Write($"{name}/Class{name}.cs", $"namespace {name};\n\npublic static class Class{name}\n{{\n    public static int Value => 1;\n}}\n");
        }

        repo.Write("A/sub/Makefile", ".PHONY: all x y\nall: x y\nx y:\n\t@echo sub-make $@\n");
        repo.Write("probe.sh", """
            #!/bin/sh
            # A plain program: says whether the descriptors MAKEFLAGS names are open in it.
            auth=$(printf '%s\n' "$MAKEFLAGS" | sed -n 's/.*--jobserver-auth=\([0-9]*,[0-9]*\).*/\1/p')
            [ -z "$auth" ] && { echo "PLAIN-PROBE: no descriptors in MAKEFLAGS"; exit 0; }
            r=${auth%,*}; w=${auth#*,}
            if [ -e /proc/$$/fd/$r ] && [ -e /proc/$$/fd/$w ]; then echo "PLAIN-PROBE: $auth open"; else echo "PLAIN-PROBE: $auth closed"; fi

            """);
        // Named dirs.proj so that MSBuild builds it in the entry process (a traversal), where make's descriptors are real.
        repo.Write("dirs.proj", $$"""
            <Project Sdk="{{PackageFeed.NoTargetsSdk}}">
            {{(entrySdk ? $"  <Sdk Name=\"{PackageFeed.Id}\" Version=\"{PackageFeed.Version}\" />\n" : "")}}  <PropertyGroup>
                <TargetFramework>net10.0</TargetFramework>
              </PropertyGroup>
              <ItemGroup>
                <ProjectReference Include="A/A.csproj" />
                <ProjectReference Include="B/B.csproj" />
              </ItemGroup>
              <Target Name="Probe" AfterTargets="Build">
                <Exec Command="sh $(MSBuildThisFileDirectory)probe.sh" />
              </Target>
            </Project>

            """);
        repo.Write("measure.sh", """
            #!/bin/sh
            # measure.sh COMMAND...: runs COMMAND and says how long it outlived the build (built.stamp), giving up after 90 s.
            rm -f built.stamp
            "$@" &
            pid=$!
            echo "MAKE-PID: $pid"
            while [ ! -e built.stamp ] && kill -0 $pid 2>/dev/null; do sleep 0.2; done
            i=0
            while kill -0 $pid 2>/dev/null && [ $i -lt 450 ]; do sleep 0.2; i=$((i + 1)); done
            if kill -0 $pid 2>/dev/null; then echo "MAKE-STILL-WAITING after $((i / 5)) s"; exit 0; fi
            wait $pid
            echo "MAKE-EXITED status $? after $((i / 5)) s"

            """);
        return "dirs.proj";
    }

    // make 4.4.1 runs with `make` on PATH being 4.4.1 (extra["PATH"]), as its users have it.
    private BuildRun RunMake(FixtureRepo repo, string makeVersion, string style, string entry, Dictionary<string, string?> extra)
    {
        var make = makeVersion == "4.3" ? "make" : Peers.Make441;
        var arguments = new List<string> { "./measure.sh", make, "-j2" };
        if (style.Length > 0)
        {
            arguments.Add(style);
        }

        repo.Write("Makefile", string.Join('\n',
            "# make -j2: a short job beside a recursive dotnet build; built.stamp marks the moment the build ended.",
            ".PHONY: all other build",
            "all: other build",
            "other:",
            "\t@sleep 1",
            "build:",
            $"\t+dotnet build {entry} -m:2 -v:n -tl:off -nologo; s=$$?; touch built.stamp; exit $$s",
            ""));
        var run = repo.Run("sh", arguments, new BuildOptions { NodeReuse = true, Environment = UserDefaults(extra) });
        TestContext.WriteLine($"{make} -j2 {style}: {run.LinesWith("MAKE-").LastOrDefault()}; build servers of any build now: [{string.Join(", ", WorkerNodes.BuildServerSnapshot())}]");
        return run;
    }

    // The child environment of a user: node reuse (FixtureRepo leaves it on with NodeReuse), the compiler server on, the
    // MSBuild server as the SDK decides unless asked.
    private static Dictionary<string, string?> UserDefaults(Dictionary<string, string?> extra)
    {
        // `dotnet test` sets MSBUILDENSURESTDOUTFORTASKPROCESSES, which users do not have and which turns the MSBuild server off.
        var environment = new Dictionary<string, string?>
        {
            ["UseSharedCompilation"] = null, ["DOTNET_CLI_USE_MSBUILD_SERVER"] = null, ["MSBUILDENSURESTDOUTFORTASKPROCESSES"] = null,
        };
        foreach (var (key, value) in extra)
        {
            environment[key] = value;
        }

        return environment;
    }

    private void AssertMakeEndedWithTheBuild(FixtureRepo repo, IReadOnlySet<int> before, BuildRun run, string what, params string[] expectedWarnings)
    {
        Assert.IsNotEmpty(run.LinesWith("Build succeeded"), $"{what}: the build did not succeed:\n{ProcessRunner.Tail(run.Output)}");
        var exit = ExitLine.Match(run.Output);
        if (!exit.Success)
        {
            var holders = WorkerNodes.BuildServersStartedSince(before, repo.Marker);
            EndBuildServers(repo, before);
            Assert.Fail($"{what}: the parent was still waiting 90 s after the build ended ({string.Join(" | ", run.LinesWith("MAKE-"))}); build servers of this test, now ended: [{string.Join(", ", holders)}]");
        }

        var seconds = int.Parse(exit.Groups[2].Value, CultureInfo.InvariantCulture);
        Assert.AreEqual("0", exit.Groups[1].Value, $"{what}: the parent failed:\n{ProcessRunner.Tail(run.Output)}");
        Assert.IsLessThanOrEqualTo(ExitBoundSeconds, seconds, $"{what}: the parent ended {seconds} s after the build");
        Assert.IsEmpty(Fixtures.WarningCodes(run).Except(expectedWarnings), $"{what}: the build warned about the jobserver:\n{ProcessRunner.Tail(run.Output)}");
    }

    // Ends, by PID, the worker nodes, MSBuild server and compiler server this fixture's builds started.
    private void EndBuildServers(FixtureRepo repo, IReadOnlySet<int> before)
    {
        var ours = WorkerNodes.BuildServersStartedSince(before, repo.Marker);
        TestContext.WriteLine($"ending this test's build servers: [{string.Join(", ", ours)}]");
        WorkerNodes.Kill(ours.Select(p => p.ProcessId));
    }
}
