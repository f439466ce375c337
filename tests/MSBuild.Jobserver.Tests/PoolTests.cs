using MSBuild.Jobserver.Platform;
using MSBuild.Jobserver.Pools;
using MSBuild.Jobserver.Protocol;
using Mono.Unix.Native;

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
        using var pool = PoolPlatform.CreatePool(3, _parent);
        var userDir = Path.Combine(_parent, "msbuild-jobserver-" + Syscall.getuid());
        Assert.AreEqual(userDir, Path.GetDirectoryName(pool.Directory));
        Assert.AreEqual(JobserverAuthKind.Fifo, pool.Auth.Kind);
        Assert.AreEqual(Path.Combine(pool.Directory!, "fifo"), pool.Auth.Path);
        Assert.AreEqual(3, pool.Size);

        AssertNode(userDir, FilePermissions.S_IFDIR, "700");
        AssertNode(pool.Directory!, FilePermissions.S_IFDIR, "700");
        var fifo = AssertNode(pool.Auth.Path!, FilePermissions.S_IFIFO, "600");
        Assert.AreEqual(new PipeIdentity(fifo.st_dev, fifo.st_ino), pool.Identity);
        StringAssert.StartsWith(Path.GetFileName(pool.Directory), "build-");
    }

    [TestMethod]
    public void HoldsExactlyItsTokensAndCountingLosesNone()
    {
        using var pool = PoolPlatform.CreatePool(5, _parent);
        Assert.AreEqual(5, pool.CountAvailable());
        Assert.AreEqual(5, pool.CountAvailable());
        using var client = PoolPlatform.Connect(pool.Auth);
        Assert.IsTrue(client.TryAcquire(out var token));
        Assert.AreEqual((byte)'+', token.Value);
        Assert.AreEqual(4, pool.CountAvailable());
        client.Release(token);
        Assert.AreEqual(5, pool.CountAvailable());
    }

    /// <summary>
    /// The owner's look at its pool (for the time a slot stood free while a tool waited) sees a token exactly while one
    /// is in the FIFO, takes none, and says nothing once the pool is closed.
    /// </summary>
    [TestMethod]
    public void LooksForAFreeTokenWithoutTakingOne()
    {
        var pool = PoolPlatform.CreatePool(2, _parent);
        using var client = PoolPlatform.Connect(pool.Auth);
        Assert.IsTrue(pool.HasFreeToken());
        Assert.IsTrue(client.TryAcquire(out var first));
        Assert.IsTrue(pool.HasFreeToken(), "one of two is still in the pool");
        Assert.IsTrue(client.TryAcquire(out var second));
        Assert.IsFalse(pool.HasFreeToken(), "both are held by a client the build's journal does not know");
        Assert.AreEqual(0, pool.CountAvailable(), "looking took nothing");
        client.Release(first);
        client.Release(second);
        Assert.IsTrue(pool.HasFreeToken());
        Assert.AreEqual(2, pool.CountAvailable(), "looking took nothing");
        pool.Close();
        Assert.IsNull(pool.HasFreeToken(), "a closed pool is not looked at");
    }

    [TestMethod]
    public void CloseCountsRemovesFilesAndIsIdempotent()
    {
        var pool = PoolPlatform.CreatePool(2, _parent);
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
        var pool = PoolPlatform.CreatePool(3, _parent);
        using (var client = PoolPlatform.Connect(pool.Auth))
        {
            Assert.IsTrue(client.TryAcquire(out _));
        }

        var missing = pool.Close();
        Assert.AreEqual((3, 2, 1, 0), (missing.Expected, missing.Found, missing.Missing, missing.Extra));

        var pool2 = PoolPlatform.CreatePool(1, _parent);
        using (var client = PoolPlatform.Connect(pool2.Auth))
        {
            client.Release(new JobToken((byte)'|'));
        }

        var extra = pool2.Close();
        Assert.AreEqual((1, 2, 0, 1), (extra.Expected, extra.Found, extra.Missing, extra.Extra));
    }

    [TestMethod]
    public void RejectsBadSizes()
    {
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => PoolPlatform.CreatePool(0, _parent));
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => PoolPlatform.CreatePool(JobTokenPool.MaxTokens + 1, _parent));
        using var big = PoolPlatform.CreatePool(JobTokenPool.MaxTokens, _parent);
        Assert.AreEqual(JobTokenPool.MaxTokens, big.CountAvailable());
    }

    [TestMethod]
    public void AUserDirectoryThatIsNotPrivateIsLeftAloneForAPrivateOneOfItsOwn()
    {
        var userDir = Path.Combine(_parent, "msbuild-jobserver-" + Syscall.getuid());
        Directory.CreateDirectory(userDir);
        Assert.AreEqual(0, Syscall.chmod(userDir, (FilePermissions)Convert.ToUInt32("755", 8)));
        using var pool = PoolPlatform.CreatePool(1, _parent);
        AssertPrivateFallback(pool, userDir, "has mode 755");
        Assert.IsEmpty(Directory.GetFileSystemEntries(userDir));
    }

    [TestMethod]
    public void AUserDirectoryThatIsASymlinkIsNeverFollowed()
    {
        var target = Directory.CreateDirectory(Path.Combine(_parent, "elsewhere")).FullName;
        Assert.AreEqual(0, Syscall.chmod(target, (FilePermissions)Convert.ToUInt32("700", 8)));
        var userDir = Path.Combine(_parent, "msbuild-jobserver-" + Syscall.getuid());
        File.CreateSymbolicLink(userDir, target);
        using var pool = PoolPlatform.CreatePool(1, _parent);
        AssertPrivateFallback(pool, userDir, "is not a directory");
        Assert.IsEmpty(Directory.GetFileSystemEntries(target));
    }

    [TestMethod]
    public void ATemporaryDirectoryThatMakeflagsCannotCarryFallsBackToOneItCan()
    {
        // --jobserver-auth=fifo:PATH is one word of MAKEFLAGS: every client cuts it at the first space.
        var awkward = Directory.CreateDirectory(Path.Combine(_parent, "with space 'quote' é")).FullName;
        using var pool = PoolPlatform.CreatePool(2, awkward);
        var note = pool.LocationNotes.Single();
        Assert.AreEqual((PoolLocationProblem.PathNotAdvertisable, awkward), (note.Problem, note.Parent));
        StringAssert.StartsWith(pool.Directory, "/tmp/msbuild-jobserver-" + Syscall.getuid() + "/");
        StringAssert.Contains(MakeFlags.Format(pool.Auth, 2), "--jobserver-auth=fifo:" + pool.Auth.Path, "the pool's path can be advertised");
        Assert.AreEqual(2, pool.CountAvailable());
        Assert.IsEmpty(Directory.GetFileSystemEntries(awkward));
    }

    private void AssertPrivateFallback(JobTokenPool pool, string userDir, string problem)
    {
        Assert.AreEqual(_parent, Path.GetDirectoryName(pool.Directory), "the build's directory sits beside the refused one");
        StringAssert.StartsWith(Path.GetFileName(pool.Directory), "msbuild-jobserver-" + Syscall.getuid() + "-build-");
        AssertNode(pool.Directory, FilePermissions.S_IFDIR, "700");
        AssertNode(pool.Auth.Path!, FilePermissions.S_IFIFO, "600");
        Assert.AreEqual(1, pool.CountAvailable());
        var note = pool.LocationNotes.Single();
        Assert.AreEqual((PoolLocationProblem.UserDirectoryNotPrivate, userDir), (note.Problem, note.Parent));
        StringAssert.Contains(note.Detail, problem);
    }

    [TestMethod]
    public void ReusesAPrivateUserDirectoryAndKeepsPoolsApart()
    {
        using var a = PoolPlatform.CreatePool(1, _parent);
        using var b = PoolPlatform.CreatePool(2, _parent);
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
