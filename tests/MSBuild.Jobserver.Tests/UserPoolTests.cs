using MSBuild.Jobserver.Host;
using MSBuild.Jobserver.Platform;
using MSBuild.Jobserver.Pools;
using MSBuild.Jobserver.Posix;
using MSBuild.Jobserver.Protocol;
using MSBuild.Jobserver.Tasks.EntryProcess;
using MSBuild.Jobserver.Tokens;



namespace MSBuild.Jobserver.Tests;

/// <summary>
/// Issue 20: the pool a user's builds share (membership, size, the last one out removes it, a dead pool is made anew),
/// the memory gate against a real FIFO pool, and how available memory is read from cgroup v1 and v2 files.
/// </summary>
[TestClass]
public sealed class UserPoolTests
{
    [TestMethod]
    public void BuildsShareOnePoolOfTheFirstSizeAndTheLastOneOutRemovesIt()
    {
        var parent = TestSupport.NewTempDirectory("userpool");
        try
        {
            var first = PoolPlatform.JoinUserPool(3, parent);
            var second = PoolPlatform.JoinUserPool(5, parent);
            Assert.IsTrue(first.IsShared && first.SharedPoolCreated);
            Assert.IsFalse(second.SharedPoolCreated);
            Assert.AreEqual(first.Auth.ToAuthString(), second.Auth.ToAuthString());
            Assert.AreEqual(3, second.Size, "a later build keeps the size the pool was made with");
            Assert.AreEqual(3, second.CountAvailable());

            using (var client = PoolPlatform.Connect(first.Auth))
            {
                Assert.IsTrue(client.TryAcquire(out var token));
                first.Close();
                Assert.IsTrue(Directory.Exists(second.Directory), "the pool went while a build still used it");
                Assert.AreEqual(2, second.CountAvailable());
                client.Release(token);
            }

            var userDirectory = Path.GetDirectoryName(second.Directory)!;
            Assert.AreEqual(3, second.Close().Found, "the last build counts every token back");
            Assert.IsFalse(Directory.Exists(second.Directory), "the last build out left the pool behind");
            Assert.IsEmpty(Directory.GetFileSystemEntries(userDirectory), "the gate or the pool was left in " + userDirectory);
        }
        finally
        {
            Directory.Delete(parent, recursive: true);
        }
    }

    [TestMethod]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public void APoolWhoseBuildsAllDiedIsMadeAnew()
    {
        var parent = TestSupport.NewTempDirectory("userpool-dead");
        try
        {
            // What a killed build leaves: the pool's directory with its size and a member file whose lock died with it.
            var probe = PoolPlatform.JoinUserPool(2, parent);
            var directory = probe.Directory;
            probe.Close();
            Directory.CreateDirectory(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            File.WriteAllText(Path.Combine(directory, "size"), "2");
            File.WriteAllText(Path.Combine(directory, "member-x"), "");
            using var fresh = PoolPlatform.JoinUserPool(4, parent);
            Assert.IsTrue(fresh.SharedPoolCreated, "a pool without a live member was joined");
            Assert.AreEqual(4, fresh.Size);
            Assert.AreEqual(4, fresh.CountAvailable());
            Assert.IsFalse(File.Exists(Path.Combine(directory, "member-x")));
        }
        finally
        {
            Directory.Delete(parent, recursive: true);
        }
    }

    [TestMethod]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public void APoolWhoseFifoCannotHoldItsTokensLeavesNoDescriptorOpen()
    {
        if (!OperatingSystem.IsLinux())
        {
            Assert.Inconclusive("This process's descriptors are listed through /proc.");
        }

        var parent = TestSupport.NewTempDirectory("userpool-full");
        try
        {
            // More tokens than any FIFO's buffer holds (PoolPlatform.JoinUserPool stops at MaxTokens; Join itself does
            // not), so filling the new FIFO fails.
            var ex = Assert.ThrowsExactly<JobserverException>(() => PosixUserPool.Join(PoolPlatform.Current, 1 << 20, parent));
            Assert.AreEqual(JobserverRejection.FifoOpenFailed, ex.Reason);
            StringAssert.Contains(ex.Message, "holds only");
            var open = Directory.GetFiles("/proc/self/fd")
                .Where(fd => new FileInfo(fd).LinkTarget is { } target && target.Contains(Path.GetFileName(parent), StringComparison.Ordinal) && target.Contains("/user-pool/fifo", StringComparison.Ordinal))
                .ToList();
            Assert.IsEmpty(open, "the FIFO that could not be filled is still open in this process");
        }
        finally
        {
            Directory.Delete(parent, recursive: true);
        }
    }

    [TestMethod]
    public void TheMemoryGateHoldsEveryTokenBackWhileAJobRunsAndLeavesOneWhenNone()
    {
        var parent = TestSupport.NewTempDirectory("memgate");
        try
        {
            using var pool = PoolPlatform.CreatePool(3, parent);
            using var client = PoolPlatform.Connect(pool.Auth);
            var home = PoolPlatform.OpenDirectory(pool.Directory);
            long available = 100L << 20;
            using var gate = MemoryGate.Start(pool.Directory, client, 200, () => Interlocked.Read(ref available))!;

            // A job runs (its lease is held): every token is held back and the package's Execs are told.
            using (Lease.Begin(home))
            {
                Assert.IsTrue(SpinWait.SpinUntil(() => GateLeases.IsClosed(home) && pool.CountAvailable() == 0, TimeSpan.FromSeconds(10)), "the gate did not close");
            }

            // No job runs: exactly one token is left, so one job can start.
            Assert.IsTrue(SpinWait.SpinUntil(() => !GateLeases.IsClosed(home) && pool.CountAvailable() == 1, TimeSpan.FromSeconds(10)), "no token was left for one job");
            Thread.Sleep(200);
            Assert.AreEqual(1, pool.CountAvailable());

            // Memory is back: every token is back.
            Interlocked.Exchange(ref available, 300L << 20);
            Assert.IsTrue(SpinWait.SpinUntil(() => pool.CountAvailable() == 3, TimeSpan.FromSeconds(10)), "the gate kept tokens after memory came back");
            Assert.HasCount(1, gate.Waits);
            Assert.AreEqual(100, gate.Waits[0].LowestAvailableMiB);
            Assert.IsGreaterThanOrEqualTo(2, gate.Waits[0].TokensHeld);
        }
        finally
        {
            Directory.Delete(parent, recursive: true);
        }
    }

    [TestMethod]
    [DataRow("", 0L)]
    [DataRow("0", 0L)]
    [DataRow("2048", 2048L)]
    [DataRow("512M", 512L)]
    [DataRow("512 MiB", 512L)]
    [DataRow("2g", 2048L)]
    [DataRow("2GiB", 2048L)]
    public void MemorySizesAreMebibytes(string text, long expected)
    {
        Assert.IsTrue(MemorySize.TryParseMebibytes(text, out var value), text);
        Assert.AreEqual(expected, value);
    }

    [TestMethod]
    [DataRow("-1")]
    [DataRow("2T")]
    [DataRow("1.5G")]
    [DataRow("G")]
    [DataRow("99999999999999999999")]
    public void BadMemorySizesAreRefused(string text) => Assert.IsFalse(MemorySize.TryParseMebibytes(text, out _), text);

    [TestMethod]
    public void AvailableMemoryIsTheTightestCgroupLimitMinusUsageWithoutInactiveCache()
    {
        var root = TestSupport.NewTempDirectory("cgroups");
        try
        {
            const long MiB = 1L << 20;
            File.WriteAllText(Path.Combine(root, "meminfo"), "MemTotal: 24000000 kB\nMemAvailable: 20000000 kB\n");

            // v1: the group's own limit (3000 MiB, 2500 used of which 500 inactive cache) binds before its parent's.
            var v1 = Directory.CreateDirectory(Path.Combine(root, "fs", "memory", "ci", "job")).FullName;
            Write(v1, "memory.limit_in_bytes", 3000 * MiB, "memory.usage_in_bytes", 2500 * MiB);
            File.WriteAllText(Path.Combine(v1, "memory.stat"), $"cache 1\ntotal_inactive_file {500 * MiB}\n");
            Write(Path.GetDirectoryName(v1)!, "memory.limit_in_bytes", 8000 * MiB, "memory.usage_in_bytes", 2600 * MiB);
            File.WriteAllText(Path.Combine(root, "cgroup-v1"), "5:memory:/ci/job\n3:cpu:/x\n");
            Assert.AreEqual(1000 * MiB, PosixMachine.AvailableMemory(Path.Combine(root, "cgroup-v1"), Path.Combine(root, "meminfo"), Path.Combine(root, "fs")));

            // v2: the parent's limit binds; "max" is no limit; without a group it is MemAvailable.
            var v2root = Directory.CreateDirectory(Path.Combine(root, "v2")).FullName;
            File.WriteAllText(Path.Combine(v2root, "cgroup.controllers"), "memory\n");
            var v2 = Directory.CreateDirectory(Path.Combine(v2root, "a", "b")).FullName;
            File.WriteAllText(Path.Combine(v2, "memory.max"), "max\n");
            File.WriteAllText(Path.Combine(v2, "memory.current"), (100 * MiB).ToString(System.Globalization.CultureInfo.InvariantCulture));
            Write(Path.GetDirectoryName(v2)!, "memory.max", 1000 * MiB, "memory.current", 900 * MiB);
            File.WriteAllText(Path.Combine(Path.GetDirectoryName(v2)!, "memory.stat"), $"anon 1\ninactive_file {300 * MiB}\n");
            File.WriteAllText(Path.Combine(root, "cgroup-v2"), "0::/a/b\n");
            Assert.AreEqual(400 * MiB, PosixMachine.AvailableMemory(Path.Combine(root, "cgroup-v2"), Path.Combine(root, "meminfo"), v2root));
            Assert.AreEqual(20000000L * 1024, PosixMachine.AvailableMemory(Path.Combine(root, "none"), Path.Combine(root, "meminfo"), v2root));
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    private static void Write(string directory, string limitName, long limit, string usageName, long usage)
    {
        File.WriteAllText(Path.Combine(directory, limitName), limit.ToString(System.Globalization.CultureInfo.InvariantCulture) + "\n");
        File.WriteAllText(Path.Combine(directory, usageName), usage.ToString(System.Globalization.CultureInfo.InvariantCulture) + "\n");
    }
}
