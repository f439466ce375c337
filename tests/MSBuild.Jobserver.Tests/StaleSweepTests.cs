using System.Diagnostics;
using MSBuild.Jobserver.Platform;
using MSBuild.Jobserver.Pools;
using MSBuild.Jobserver.Tokens;
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

    /// <summary>
    /// A Ctrl+C stop: the owner closes the pool while nodes still write their last records by name (journal lines, the
    /// ledger's lock), each of which creates its file anew. Two writers race the close from a barrier, many times:
    /// nothing is left in the per-user directory, not the build's directory nor its closing name.
    /// </summary>
    [TestMethod]
    public void ClosingWhileNodesStillWriteTheirRecordsLeavesNothing()
    {
        for (var round = 0; round < 20; round++)
        {
            var pool = PoolPlatform.CreatePool(2, _parent);
            var userDir = Path.GetDirectoryName(pool.Directory)!;
            var node = PoolPlatform.OpenDirectory(pool.Directory);
            using var closed = new ManualResetEventSlim();
            using var barrier = new Barrier(3);
            var writers = Enumerable.Range(0, 2).Select(w => Task.Run(() =>
            {
                var hold = new TokenHold(0, 1, 2, 1000 + w, "node", "p", "cargo");
                void WriteRecords()
                {
                    LedgerJournal.Append(node, "", hold);
                    if (node.TryLockShared(node.LedgerLockPath, out var held) == LockAttempt.Acquired)
                    {
                        held!.Dispose();
                    }
                }

                barrier.SignalAndWait();
                while (!closed.IsSet)
                {
                    WriteRecords();
                }

                // And on for a while after the close, as a slow node would.
                var afterClose = Stopwatch.StartNew();
                while (afterClose.ElapsedMilliseconds < 300)
                {
                    WriteRecords();
                }
            })).ToArray();

            barrier.SignalAndWait();
            Thread.Sleep(round % 5);
            pool.Dispose();
            closed.Set();
            Task.WaitAll(writers);

            Assert.IsEmpty(Directory.GetFileSystemEntries(userDir),
                $"round {round}: the close left {string.Join(", ", Directory.GetFileSystemEntries(userDir))} behind while nodes wrote records");
        }
    }

    /// <summary>An owner killed while it closed leaves its directory under the closing name: the next pool sweeps it, unless it is still locked.</summary>
    [TestMethod]
    public void TheNextPoolSweepsADirectoryLeftWhileClosingButNotOneStillLocked()
    {
        string userDir;
        using (var first = PoolPlatform.CreatePool(1, _parent))
        {
            userDir = Path.GetDirectoryName(first.Directory)!;
        }

        var abandoned = Path.Combine(userDir, ".closing-build-0123456789abcdef");
        Directory.CreateDirectory(abandoned);
        File.WriteAllText(Path.Combine(abandoned, "events-1.tsv"), "x");
        var closing = Path.Combine(userDir, ".closing-build-fedcba9876543210");
        Directory.CreateDirectory(closing);
        Assert.AreEqual(LockAttempt.Acquired, PoolPlatform.OpenDirectory(closing).TryLock(Path.Combine(closing, "owner.lock"), create: true, out var ownerLock));

        using (ownerLock)
        using (PoolPlatform.CreatePool(1, _parent))
        {
            Assert.IsFalse(Directory.Exists(abandoned), "a closing directory nobody holds is swept");
            Assert.IsTrue(File.Exists(Path.Combine(closing, "owner.lock")), "a closing directory whose owner still holds its lock stays");
        }
    }

    private static int DeadProcessId()
    {
        using var process = Process.Start(new ProcessStartInfo("true") { UseShellExecute = false })!;
        process.WaitForExit();
        return process.Id;
    }
}
