using System.Diagnostics;

namespace MSBuild.Jobserver.IntegrationTests;

/// <summary>
/// Issue test 9. Every build of every test is followed by <see cref="LeftoverCheck.AssertNothingLeft"/>; these tests
/// show that the check looks where the pool really is, and that it fails when something is left.
/// </summary>
[TestClass]
public sealed class LeftoverTests : EndToEndTest
{
    /// <summary>During the build the pool is a FIFO in TMPDIR/msbuild-jobserver-UID/PID-RAND/; afterwards that directory is gone.</summary>
    [TestMethod]
    public void ThePoolLivesInTheBuildsTmpdirAndIsRemovedWithIt()
    {
        var repo = NewFixture("t9-leftovers");
        var project = repo.AddProject("probe", PackageUse.PackageReference, "", """
              <!-- make is a listed tool: Exec takes a token and hands it the pool; the recipe records what it was given. -->
              <Target Name="RecordPool" AfterTargets="Build">
                <Exec Command="make -f ../record-pool.mk" />
              </Target>
            """);
        repo.Write("record-pool.mk", string.Join('\n',
            "all:",
            "\t@echo \"fifo=$$MSBUILD_JOBSERVER_FIFO\" > ../pool.txt",
            "\t@if [ -p \"$$MSBUILD_JOBSERVER_FIFO\" ]; then echo type=fifo; else echo type=other; fi >> ../pool.txt",
            "\t@echo \"makeflags=$$MAKEFLAGS\" >> ../pool.txt",
            ""));

        var run = repo.Build(project, new BuildOptions { Nodes = 2 });

        var record = File.ReadAllLines(Path.Combine(repo.Root, "pool.txt")).Select(l => l.Split('=', 2)).ToDictionary(p => p[0], p => p[1]);
        TestContext.WriteLine($"pool during the build: {record["fifo"]} ({record["type"]}); make saw MAKEFLAGS '{record["makeflags"]}'");
        var privateDirectory = LeftoverCheck.PrivateDirectory(run.TempDirectory);
        Assert.StartsWith(privateDirectory + "/", record["fifo"], "the pool was not created in the build's TMPDIR; the leftover checks would look in the wrong place");
        Assert.AreEqual("fifo", record["type"], "the pool was not a FIFO while the build ran");
        Assert.Contains("--jobserver-auth=8,9", record["makeflags"], "make was not handed the descriptor form");
        Assert.IsFalse(File.Exists(record["fifo"]) || Directory.Exists(Path.GetDirectoryName(record["fifo"])), "the pool outlived the build");
        Assert.IsTrue(Directory.Exists(privateDirectory), "the private directory should stay (only its per-build subdirectories go)");
    }

    /// <summary>The check itself fails on a leftover pool directory and on a stray FIFO.</summary>
    [TestMethod]
    public void TheCheckFailsOnALeftoverDirectoryOrFifo()
    {
        var repo = NewFixture("t9-check");
        var temp = Path.Combine(repo.Root, "tmp-fake");
        var pool = Path.Combine(LeftoverCheck.PrivateDirectory(temp), "123-abc");
        Directory.CreateDirectory(pool);
        var run = new BuildRun(new ProcessOutcome(0, "", TimeSpan.Zero, ""), Array.Empty<Interval>(), temp);
        Assert.ThrowsExactly<AssertFailedException>(() => LeftoverCheck.AssertNothingLeft(run));

        Directory.Delete(pool);
        using (var mkfifo = Process.Start("mkfifo", new[] { Path.Combine(temp, "stray") }))
        {
            mkfifo.WaitForExit();
        }

        Assert.ThrowsExactly<AssertFailedException>(() => LeftoverCheck.AssertNothingLeft(run));
        File.Delete(Path.Combine(temp, "stray"));
        LeftoverCheck.AssertNothingLeft(run);
    }
}
