namespace MSBuild.Jobserver.IntegrationTests;

/// <summary>
/// MSBuild's experimental multi-threaded mode (`-mt`, MSBuild 18): projects build on threads of one process. The
/// package's tasks are not marked thread-safe, so MSBuild runs them with each project's own environment; these tests
/// keep it so: the cap holds, and one project's settings (carried in MSBUILD_JOBSERVER_PROJECT) never reach another.
/// </summary>
[TestClass]
public sealed class MultiThreadedModeTests : EndToEndTest
{
    /// <summary>4 cargo projects × 3 crates under -mt -m:4 with JobserverSlots=2: at most 2 compiles at once, and 2 reached.</summary>
    [TestMethod]
    public void TheCapHoldsUnderMt()
    {
        var repo = NewFixture("t11-mt-cap");
        var entry = Fixtures.CargoProjects(repo, projects: 4, crates: 3);

        var run = BuildMt(repo, entry, "-p:JobserverSlots=2");
        Report("-mt -m:4, JobserverSlots=2", run);

        Fixtures.AssertCompilesFilledExactly(run, compiles: 12, slots: 2, "the build's JobserverSlots=2 under -mt");
    }

    /// <summary>
    /// Two projects building at the same time in one -mt process: Listed names `probe` as a jobserver tool, Plain does
    /// not and waits until Listed has been configured. Listed's probe gets the pool; Plain's probe, run after Listed's
    /// settings were recorded, must not (it would if the settings leaked through the process's environment; so would
    /// Listed's probe lose the pool if Plain's settings reached it).
    /// </summary>
    [TestMethod]
    public void OneProjectsSettingsDoNotLeakIntoAnother()
    {
        var repo = NewFixture("t11-mt-leak");
        var probe = Path.Combine(repo.Root, "probe");
        repo.Write("probe", "#!/bin/sh\necho \"$1 ${CARGO_MAKEFLAGS:-none}\" >> \"" + Path.Combine(repo.Root, "probes.txt") + "\"\n");
        File.SetUnixFileMode(probe, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var marker = Path.Combine(repo.Root, "listed-configured");
        var listed = repo.AddProject("Listed", PackageUse.PackageReference, "", $"""
              <ItemGroup>
                <JobserverTool Include="probe" />
              </ItemGroup>
              <Target Name="Probe" AfterTargets="Build">
                <Exec Command="touch {marker} &amp;&amp; sleep 4 &amp;&amp; {probe} listed" />
              </Target>
            """);
        var plain = repo.AddProject("Plain", PackageUse.PackageReference, "", $"""
              <Target Name="Probe" AfterTargets="Build">
                <Exec Command="i=0; until [ -e {marker} ] || [ $i -gt 600 ]; do sleep 0.1; i=$((i+1)); done; {probe} plain" />
              </Target>
            """);
        var entry = repo.AddTraversal("all.proj", new[] { listed, plain });

        BuildMt(repo, entry, "-p:JobserverSlots=2");

        var lines = File.ReadAllLines(Path.Combine(repo.Root, "probes.txt")).ToDictionary(l => l.Split(' ', 2)[0], l => l.Split(' ', 2)[1]);
        TestContext.WriteLine(string.Join("\n", lines.Select(p => p.Key + ": " + p.Value)));
        Assert.Contains("--jobserver-auth=", lines["listed"], "Listed lists probe as a jobserver tool: its probe should get the pool");
        Assert.AreEqual("none", lines["plain"], "Listed's settings leaked into Plain (its probe got the pool)");
    }

    private static BuildRun BuildMt(FixtureRepo repo, string entry, params string[] extra) =>
        repo.Run("dotnet",
            new[] { "build", entry, "-mt", "-m:4", "-v:n", "-tl:off", "-nologo", "-nr:false" }.Concat(extra).ToList(),
            new BuildOptions { Nodes = 4 });
}
