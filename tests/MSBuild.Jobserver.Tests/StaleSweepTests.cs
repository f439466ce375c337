using System.Diagnostics;
using MSBuild.Jobserver.Platform;
using Mono.Unix.Native;

namespace MSBuild.Jobserver.Tests;

/// <summary>A pool left behind by a killed owner is removed by the next pool; a live owner's pool never is.</summary>
[TestClass]
public sealed class StaleSweepTests
{
    private string _parent = null!;

    [TestInitialize]
    public void Setup() => _parent = TestSupport.NewTempDirectory("sweep");

    [TestCleanup]
    public void Cleanup() => Directory.Delete(_parent, recursive: true);

    [TestMethod]
    public void NextPoolRemovesTheDirectoryOfADeadOwnerOnly()
    {
        using (PoolPlatform.CreatePool(1, _parent))
        {
            // Creates the private per-user directory with the right mode.
        }

        var userDir = Path.Combine(_parent, "msbuild-jobserver-" + Syscall.getuid());
        var deadPid = DeadProcessId();
        var stale = Path.Combine(userDir, deadPid + "-0123456789ab");
        Directory.CreateDirectory(stale);
        Assert.AreEqual(0, Syscall.mkfifo(Path.Combine(stale, "fifo"), FilePermissions.S_IRUSR | FilePermissions.S_IWUSR));
        File.WriteAllText(Path.Combine(stale, "events-" + deadPid + ".tsv"), "x");

        var alive = Path.Combine(userDir, Environment.ProcessId + "-ba9876543210");
        Directory.CreateDirectory(alive);
        var outside = Path.Combine(_parent, "outside");
        Directory.CreateDirectory(outside);
        File.WriteAllText(Path.Combine(outside, "keep"), "x");
        var linked = Path.Combine(userDir, deadPid + "-linkedlinked");
        File.CreateSymbolicLink(linked, outside);

        using var pool = PoolPlatform.CreatePool(2, _parent);

        Assert.IsFalse(Directory.Exists(stale), "the dead owner's pool directory is swept");
        Assert.IsTrue(Directory.Exists(alive), "a live owner's pool directory stays");
        Assert.IsTrue(File.Exists(Path.Combine(outside, "keep")), "a symbolic link is never followed");
        Assert.IsTrue(Directory.Exists(pool.Directory), "the new pool exists");
        Directory.Delete(alive);
        File.Delete(linked);
    }

    private static int DeadProcessId()
    {
        using var process = Process.Start(new ProcessStartInfo("true") { UseShellExecute = false })!;
        process.WaitForExit();
        return process.Id;
    }
}
