namespace MSBuild.Jobserver.IntegrationTests;

/// <summary>
/// Base of the end-to-end test classes: creates fixtures, deletes them when the test passed and keeps them (with
/// their build logs and interval logs) when it failed, so the failure can be read.
/// </summary>
public abstract class EndToEndTest
{
    private readonly List<FixtureRepo> _fixtures = new();

    /// <summary>Set by MSTest.</summary>
    public TestContext TestContext { get; set; } = null!;

    /// <summary>Deletes this test's fixtures if it passed.</summary>
    [TestCleanup]
    public void RemoveFixtures()
    {
        foreach (var fixture in _fixtures)
        {
            if (TestContext.CurrentTestOutcome == UnitTestOutcome.Passed)
            {
                fixture.Delete();
            }
            else
            {
                TestContext.WriteLine("fixture kept for inspection: " + fixture.Root);
            }
        }
    }

    internal FixtureRepo NewFixture(string name)
    {
        var fixture = FixtureRepo.Create(name);
        _fixtures.Add(fixture);
        return fixture;
    }

    /// <summary>Records what a build measured in the test's output (the numbers the report quotes).</summary>
    internal void Report(string what, BuildRun run) =>
        TestContext.WriteLine($"{what}: {run.Compiles.Count} compiles, max {run.MaxConcurrentCompiles} at once, {run.Intervals.Count} intervals, build {run.Outcome.Elapsed.TotalSeconds:0.0} s");

    /// <summary>
    /// Builds a one-crate cargo project with JobserverSlots=<paramref name="slots"/>, not a whole number from 1 up:
    /// the build fails with error JOBS0020 quoting the value, and cargo never runs. Returns the run.
    /// </summary>
    internal BuildRun AssertBadSlotsAreRejected(string fixtureName, string slots)
    {
        var repo = NewFixture(fixtureName);
        var project = repo.AddCargoProject("badslots", crates: 1);

        var run = repo.Build(project, new BuildOptions
        {
            Nodes = 2,
            Properties = new Dictionary<string, string> { ["JobserverSlots"] = slots },
            ExpectSuccess = false,
        });

        var errors = run.LinesWith("error JOBS0020");
        TestContext.WriteLine($"JobserverSlots={slots}: exit {run.Outcome.ExitCode}; {errors.FirstOrDefault()}");
        Assert.AreNotEqual(0, run.Outcome.ExitCode, "the build should fail:\n" + ProcessRunner.Tail(run.Output));
        Assert.IsNotEmpty(errors, "no error JOBS0020:\n" + ProcessRunner.Tail(run.Output));
        Assert.IsTrue(errors.All(e => e.Contains($"'{slots}'", StringComparison.Ordinal)), "JOBS0020 should quote the value:\n" + string.Join('\n', errors));
        Assert.IsEmpty(run.Compiles, "cargo ran although the configuration was rejected");
        return run;
    }
}
