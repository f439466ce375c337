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
}
