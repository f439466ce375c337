namespace MSBuild.Jobserver.IntegrationTests;

/// <summary>Issue test 6: AcquireJobToken and ReleaseJobToken guard work the package cannot see.</summary>
[TestClass]
public sealed class TokenTaskTests : EndToEndTest
{
    /// <summary>
    /// 4 projects each take a token, run a 2-second command that is not a jobserver tool (its interval logged), and
    /// give the token back; with JobserverSlots=2 and -m:4 all 4 run, never more than 2 at once, and 2 at once at some point.
    /// </summary>
    [TestMethod]
    public void AcquireAndReleaseAroundATwoSecondExecRunTwoAtATime()
    {
        var repo = NewFixture("t6-token-tasks");
        var projects = Enumerable.Range(1, 4).Select(i => repo.AddProject("s" + i, PackageUse.PackageReference, "", """
              <Target Name="GuardedSleep" AfterTargets="Build">
                <AcquireJobToken Purpose="sleep in $(MSBuildProjectName)">
                  <Output TaskParameter="Token" PropertyName="SleepToken" />
                </AcquireJobToken>
                <Exec Command="sh ../interval.sh sleep-$(MSBuildProjectName) sleep 2" />
                <ReleaseJobToken Token="$(SleepToken)" />
              </Target>
            """)).ToList();
        var entry = repo.AddTraversal("all.proj", projects);

        var run = repo.Build(entry, new BuildOptions { Nodes = 4, Properties = new Dictionary<string, string> { ["JobserverSlots"] = "2" } });
        var sleeps = run.Intervals.Where(i => i.Label.StartsWith("sleep-", StringComparison.Ordinal)).ToList();
        var peak = IntervalLog.MaxOverlap(sleeps);
        TestContext.WriteLine($"4 token-guarded sleeps, 2 slots: peak {peak} at once, {run.Outcome.Elapsed.TotalSeconds:0.0} s\n{IntervalLog.Describe(sleeps)}");

        Assert.HasCount(4, sleeps, run.Describe());
        Assert.IsLessThanOrEqualTo(2, peak, "more token-guarded commands ran at once than the 2 slots:\n" + run.Describe());
        Assert.AreEqual(2, peak, "the two slots were never used at the same time:\n" + run.Describe());
        Assert.IsFalse(run.Output.Contains("JOBS0024", StringComparison.Ordinal) || run.Output.Contains("JOBS0027", StringComparison.Ordinal),
            "a token was refused or never released:\n" + ProcessRunner.Tail(run.Output));
    }
}
