using System.Diagnostics;
using System.Globalization;
using MSBuild.Jobserver.Platform;
using Mono.Unix.Native;

namespace MSBuild.Jobserver.Tests;

/// <summary>
/// Issue 10: sweeps and creations at the same time, in separate processes, against many stale directories, never
/// fail and never remove a live pool.
/// </summary>
[TestClass]
public sealed class ConcurrentSweepTests
{
    [TestMethod]
    public void ManyBuildsStartingAtOnceSweepManyStaleDirectoriesWithoutFailing()
    {
        var parent = TestSupport.NewTempDirectory("sweeps");
        try
        {
            using var live = PoolPlatform.CreatePool(1, parent);
            var userDir = Path.GetDirectoryName(live.Directory)!;
            for (var round = 0; round < 4; round++)
            {
                var stale = PlantStale(userDir, 150);
                var creators = Enumerable.Range(0, 6).Select(_ => Task.Run(() => TestSupport.Run("dotnet",
                    new[] { TestSupport.ProbeDll, "create-pools", parent, "5" }, timeout: TimeSpan.FromMinutes(2)))).ToArray();
                Task.WaitAll(creators);
                foreach (var result in creators.Select(c => c.Result))
                {
                    Assert.AreEqual(0, result.ExitCode, "a pool creation failed while others swept: " + result);
                }

                Assert.AreEqual(0, stale.Count(Directory.Exists), "stale directories left after round " + round);
                Assert.IsTrue(Directory.Exists(live.Directory), "the live pool's directory survived round " + round);
                Assert.AreEqual(1, live.CountAvailable());
            }
        }
        finally
        {
            Directory.Delete(parent, recursive: true);
        }
    }

    // Half as this version leaves them (an owner lock nobody holds), half as earlier versions did (named <dead pid>-<hex>).
    private static List<string> PlantStale(string userDir, int count)
    {
        var deadPid = DeadProcessId().ToString(CultureInfo.InvariantCulture);
        var planted = new List<string>();
        for (var i = 0; i < count; i++)
        {
            var name = i % 2 == 0 ? "build-" + Guid.NewGuid().ToString("N")[..16] : deadPid + "-" + Guid.NewGuid().ToString("N")[..12];
            var dir = Directory.CreateDirectory(Path.Combine(userDir, name)).FullName;
            Assert.AreEqual(0, Syscall.mkfifo(Path.Combine(dir, "fifo"), FilePermissions.S_IRUSR | FilePermissions.S_IWUSR));
            File.WriteAllText(Path.Combine(dir, "events-1.tsv"), "x");
            File.WriteAllText(Path.Combine(dir, "lease-1-x"), "");
            if (i % 2 == 0)
            {
                File.WriteAllText(Path.Combine(dir, "owner.lock"), "");
            }

            planted.Add(dir);
        }

        return planted;
    }

    private static int DeadProcessId()
    {
        using var process = Process.Start(new ProcessStartInfo("true") { UseShellExecute = false })!;
        process.WaitForExit();
        return process.Id;
    }
}
