using MSBuild.Jobserver.Platform;
using MSBuild.Jobserver.Pools;
using Mono.Unix.Native;

namespace MSBuild.Jobserver.Tests;

/// <summary>
/// Issue 19, class 6: a temporary directory that is relative, or that another user could replace things in, never
/// holds the pool: it goes to the next candidate (the system's /tmp), the reason is noted for a coded warning, and
/// nothing is made in the odd place.
/// </summary>
[TestClass]
public sealed class OddPlacesTests
{
    private string _parent = null!;

    public TestContext TestContext { get; set; } = null!;

    [TestInitialize]
    public void Setup() => _parent = TestSupport.NewTempDirectory("odd-places");

    [TestCleanup]
    public void Cleanup() => Directory.Delete(_parent, recursive: true);

    [TestMethod]
    [DataRow("tmp")]
    [DataRow(".")]
    public void ARelativeTemporaryDirectoryNeverHoldsThePool(string relative)
    {
        // Every MSBuild node resolves a relative TMPDIR against its own working directory (a project's, the package's
        // rendezvous folder in the NuGet cache, where TMPDIR=. put the pool and left the per-user directory behind).
        var previous = Environment.CurrentDirectory;
        Directory.CreateDirectory(Path.Combine(_parent, relative));
        Environment.CurrentDirectory = _parent;
        try
        {
            using (var pool = PoolPlatform.CreatePool(2, relative))
            {
                TestContext.WriteLine("pool in " + pool.Directory);
                Assert.IsTrue(Path.IsPathRooted(pool.Directory), "the pool's directory is relative: " + pool.Directory);
                Assert.IsTrue(Path.IsPathRooted(pool.Auth.Path!), "tools are told a relative FIFO path: " + pool.Auth.Path);
                Assert.IsTrue(pool.LocationNotes.Any(n => n.Problem == PoolLocationProblem.RelativeParent && n.Parent == relative), "no note says why");
            }

            Assert.IsEmpty(Directory.GetFileSystemEntries(Path.Combine(_parent, relative), "msbuild-jobserver*"), "something was left under the working directory");
        }
        finally
        {
            Environment.CurrentDirectory = previous;
        }
    }

    [TestMethod]
    [DataRow("777", false)]
    [DataRow("775", false)]
    [DataRow("1777", true)]
    [DataRow("755", true)]
    public void ADirectoryOthersCanWriteInWithoutTheStickyBitNeverHoldsThePool(string mode, bool used)
    {
        // Without the sticky bit, anyone who can write in the parent can rename the per-user directory away and put one of
        // their own in its place between two builds (or between two checks).
        var temp = Directory.CreateDirectory(Path.Combine(_parent, "tmp-" + mode)).FullName;
        Assert.AreEqual(0, Syscall.chmod(temp, (FilePermissions)Convert.ToUInt32(mode, 8)));
        using var pool = PoolPlatform.CreatePool(2, temp);
        TestContext.WriteLine($"mode {mode}: pool in {pool.Directory}");
        Assert.AreEqual(used, pool.Directory.StartsWith(temp + "/", StringComparison.Ordinal), "where the pool went with mode " + mode);
        Assert.AreEqual(!used, pool.LocationNotes.Any(n => n.Problem == PoolLocationProblem.ParentNotTrusted && n.Parent == temp), "the note for mode " + mode);
        if (!used)
        {
            Assert.IsEmpty(Directory.GetFileSystemEntries(temp), "something was made in the untrusted directory");
        }
    }
}
