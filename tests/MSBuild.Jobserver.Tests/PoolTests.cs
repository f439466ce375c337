using Mono.Unix.Native;
using MSBuild.Jobserver.Protocol;

namespace MSBuild.Jobserver.Tests;

/// <summary>The pool's files: where they are, who may touch them, and that nothing is left behind.</summary>
[TestClass]
public sealed class PoolTests
{
    private string _parent = null!;

    [TestInitialize]
    public void Setup() => _parent = TestSupport.NewTempDirectory("pool");

    [TestCleanup]
    public void Cleanup() => Directory.Delete(_parent, recursive: true);

    [TestMethod]
    public void CreatesPrivateDirectoriesAndFifo()
    {
        using var pool = JobTokenPool.Create(3, _parent);
        var userDir = Path.Combine(_parent, "msbuild-jobserver-" + Syscall.getuid());
        Assert.AreEqual(userDir, Path.GetDirectoryName(pool.Directory));
        Assert.AreEqual(JobserverAuthKind.Fifo, pool.Auth.Kind);
        Assert.AreEqual(Path.Combine(pool.Directory!, "fifo"), pool.Auth.Path);
        Assert.AreEqual(3, pool.Size);

        AssertNode(userDir, FilePermissions.S_IFDIR, "700");
        AssertNode(pool.Directory!, FilePermissions.S_IFDIR, "700");
        var fifo = AssertNode(pool.Auth.Path!, FilePermissions.S_IFIFO, "600");
        Assert.AreEqual(new PipeIdentity(fifo.st_dev, fifo.st_ino), pool.Identity);
        StringAssert.StartsWith(Path.GetFileName(pool.Directory), Syscall.getpid() + "-");
    }

    [TestMethod]
    public void HoldsExactlyItsTokensAndCountingLosesNone()
    {
        using var pool = JobTokenPool.Create(5, _parent);
        Assert.AreEqual(5, pool.CountAvailable());
        Assert.AreEqual(5, pool.CountAvailable());
        using var client = JobserverClient.Connect(pool.Auth);
        Assert.IsTrue(client.TryAcquire(out var token));
        Assert.AreEqual((byte)'+', token.Value);
        Assert.AreEqual(4, pool.CountAvailable());
        client.Release(token);
        Assert.AreEqual(5, pool.CountAvailable());
    }

    [TestMethod]
    public void CloseCountsRemovesFilesAndIsIdempotent()
    {
        var pool = JobTokenPool.Create(2, _parent);
        var fifo = pool.Auth.Path!;
        var report = pool.Close();
        Assert.AreEqual(2, report.Expected);
        Assert.AreEqual(2, report.Found);
        Assert.AreEqual(0, report.Missing);
        Assert.IsFalse(File.Exists(fifo) || Directory.Exists(pool.Directory));
        Assert.AreSame(report, pool.Close());
        pool.Dispose();
        Assert.ThrowsExactly<ObjectDisposedException>(() => pool.CountAvailable());
    }

    [TestMethod]
    public void CloseReportsMissingAndExtraTokens()
    {
        var pool = JobTokenPool.Create(3, _parent);
        using (var client = JobserverClient.Connect(pool.Auth))
        {
            Assert.IsTrue(client.TryAcquire(out _));
        }

        var missing = pool.Close();
        Assert.AreEqual((3, 2, 1, 0), (missing.Expected, missing.Found, missing.Missing, missing.Extra));

        var pool2 = JobTokenPool.Create(1, _parent);
        using (var client = JobserverClient.Connect(pool2.Auth))
        {
            client.Release(new JobToken((byte)'|'));
        }

        var extra = pool2.Close();
        Assert.AreEqual((1, 2, 0, 1), (extra.Expected, extra.Found, extra.Missing, extra.Extra));
    }

    [TestMethod]
    public void RejectsBadSizes()
    {
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => JobTokenPool.Create(0, _parent));
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => JobTokenPool.Create(JobTokenPool.MaxTokens + 1, _parent));
        using var big = JobTokenPool.Create(JobTokenPool.MaxTokens, _parent);
        Assert.AreEqual(JobTokenPool.MaxTokens, big.CountAvailable());
    }

    [TestMethod]
    public void RefusesAUserDirectoryThatIsNotPrivate()
    {
        var userDir = Path.Combine(_parent, "msbuild-jobserver-" + Syscall.getuid());
        Directory.CreateDirectory(userDir);
        Assert.AreEqual(0, Syscall.chmod(userDir, (FilePermissions)Convert.ToUInt32("755", 8)));
        var e = Assert.ThrowsExactly<JobserverException>(() => JobTokenPool.Create(1, _parent));
        Assert.AreEqual(JobserverRejection.FifoNotPrivate, e.Reason);
        StringAssert.Contains(e.Message, userDir);
    }

    [TestMethod]
    public void RefusesAUserDirectoryThatIsASymlink()
    {
        var target = Directory.CreateDirectory(Path.Combine(_parent, "elsewhere")).FullName;
        Assert.AreEqual(0, Syscall.chmod(target, (FilePermissions)Convert.ToUInt32("700", 8)));
        File.CreateSymbolicLink(Path.Combine(_parent, "msbuild-jobserver-" + Syscall.getuid()), target);
        var e = Assert.ThrowsExactly<JobserverException>(() => JobTokenPool.Create(1, _parent));
        Assert.AreEqual(JobserverRejection.FifoNotPrivate, e.Reason);
        Assert.IsEmpty(Directory.GetFileSystemEntries(target));
    }

    [TestMethod]
    public void ReusesAPrivateUserDirectoryAndKeepsPoolsApart()
    {
        using var a = JobTokenPool.Create(1, _parent);
        using var b = JobTokenPool.Create(2, _parent);
        Assert.AreEqual(Path.GetDirectoryName(a.Directory), Path.GetDirectoryName(b.Directory));
        Assert.AreNotEqual(a.Auth, b.Auth);
        Assert.AreEqual((1, 2), (a.CountAvailable(), b.CountAvailable()));
    }

    private static Stat AssertNode(string path, FilePermissions type, string octalMode)
    {
        Assert.AreEqual(0, Syscall.lstat(path, out var stat), path);
        Assert.AreEqual(type, stat.st_mode & FilePermissions.S_IFMT, path);
        Assert.AreEqual(octalMode, Convert.ToString((uint)stat.st_mode & 0xFFF, 8), path);
        Assert.AreEqual(Syscall.getuid(), stat.st_uid, path);
        return stat;
    }
}
