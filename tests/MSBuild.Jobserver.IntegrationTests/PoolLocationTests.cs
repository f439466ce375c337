using System.Globalization;

namespace MSBuild.Jobserver.IntegrationTests;

/// <summary>
/// Issues 10 and 11, end to end with real cargo builds: where the pool lives, who may remove it, and that any TMPDIR
/// works. Every build's compiles are measured by the RUSTC_WRAPPER against the build's cap.
/// </summary>
[TestClass]
public sealed class PoolLocationTests : EndToEndTest
{
    private static readonly string UserDirectoryName = "msbuild-jobserver-" + PackageFeed.UserId.ToString(CultureInfo.InvariantCulture);

    /// <summary>
    /// Build A runs; build B starts with the same TMPDIR in a PID namespace of its own (as job containers sharing a
    /// /tmp volume do). A's owner looks dead from B's namespace (kill(pid, 0) says ESRCH), but it holds its pool's lock,
    /// so B's sweep leaves A's pool alone: both pass, each within its own cap.
    /// </summary>
    [TestMethod]
    public void TwoBuildsInSeparatePidNamespacesSharingATmpdirBothKeepTheirPools()
    {
        if (!OperatingSystem.IsLinux() || PackageFeed.UserId != 0 || !File.Exists("/usr/bin/unshare"))
        {
            Assert.Inconclusive("Needs Linux, root and unshare (util-linux) for a PID namespace.");
        }

        var a = NewFixture("t10-pidns-a");
        var b = NewFixture("t10-pidns-b");
        var entryA = Fixtures.CargoProjects(a, projects: 4, crates: 4);
        var entryB = Fixtures.CargoProjects(b, projects: 2, crates: 2);
        var shared = Directory.CreateDirectory(Path.Combine(a.Root, "shared-tmp")).FullName;
        var environment = new Dictionary<string, string?> { ["TMPDIR"] = shared };

        var buildA = Task.Run(() => a.Build(entryA, new BuildOptions { Nodes = 2, Environment = environment, Properties = Slots(2) }));

        // B starts once A's pool exists and A compiles, so that B's sweep meets A's live pool. Only a build-* directory
        // is a pool: A makes it as .new-* and renames it, which a poll can catch (more often now that A makes it early).
        var userDirectory = Path.Combine(shared, UserDirectoryName);
        var deadline = DateTime.UtcNow.AddMinutes(3);
        while (!(Directory.Exists(userDirectory) && Directory.EnumerateDirectories(userDirectory, "build-*").Any()) && !buildA.IsCompleted && DateTime.UtcNow < deadline)
        {
            Thread.Sleep(100);
        }

        Assert.IsFalse(buildA.IsCompleted, "build A ended before B could start beside it");
        var poolA = Directory.EnumerateDirectories(userDirectory, "build-*").Single();
        var argsB = new List<string> { "--pid", "--fork", "--mount-proc", "dotnet", "build", entryB, "-m:2", "-v:n", "-tl:off", "-nologo", "-nr:false", "-p:JobserverSlots=3" };
        var runB = b.Run("/usr/bin/unshare", argsB, new BuildOptions { Environment = environment });
        Assert.IsFalse(buildA.IsCompleted, "build A had ended before B's pool was made: B's sweep did not meet A's pool");
        Assert.IsTrue(Directory.Exists(poolA), "B's sweep removed the pool of A, a live build in another PID namespace");
        var runA = buildA.Result;

        Report("A (host namespace, 2 slots)", runA);
        Report("B (own PID namespace, 3 slots)", runB);
        Assert.HasCount(16, runA.Compiles, runA.Describe());
        Assert.HasCount(4, runB.Compiles, runB.Describe());
        Assert.IsLessThanOrEqualTo(2, runA.MaxConcurrentCompiles, "A ran more compiles than its 2 slots:\n" + runA.Describe());
        Assert.IsLessThanOrEqualTo(3, runB.MaxConcurrentCompiles, "B ran more compiles than its 3 slots:\n" + runB.Describe());
        AssertUsedOnePoolUnder(runA, userDirectory);
        AssertUsedOnePoolUnder(runB, userDirectory);
        Assert.AreNotEqual(runA.Compiles[0].FifoPath, runB.Compiles[0].FifoPath, "the two builds shared a pool");
        Assert.DoesNotContain("failed to connect to jobserver", runA.Output, "a tool of A lost its pool");
        Assert.IsEmpty(Directory.GetFileSystemEntries(userDirectory), "a pool outlived its build in the shared TMPDIR");
    }

    /// <summary>
    /// A TMPDIR with non-ASCII letters: its path is not put into MAKEFLAGS (clients read MAKEFLAGS in the locale's
    /// encoding), so the pool lives in /tmp, the build says so (JOBS0040), and the compiles stay within the cap on it.
    /// </summary>
    [TestMethod]
    public void ATmpdirWithNonAsciiLettersWorks()
    {
        var repo = NewFixture("t11-non-ascii-tmpdir");
        var entry = Fixtures.CargoProjects(repo, projects: 2, crates: 2);
        var awkward = Directory.CreateDirectory(Path.Combine(repo.Root, "tmp-é-ü")).FullName;

        var run = repo.Build(entry, new BuildOptions { Nodes = 2, Environment = new Dictionary<string, string?> { ["TMPDIR"] = awkward }, Properties = Slots(2) });
        Report("non-ASCII TMPDIR, 2 slots", run);

        Assert.Contains("JOBS0040", run.Output, "the build did not say where the pool went instead");
        Assert.HasCount(4, run.Compiles, run.Describe());
        Assert.IsLessThanOrEqualTo(2, run.MaxConcurrentCompiles, "more compiles at once than the 2 slots:\n" + run.Describe());
        AssertUsedOnePoolUnder(run, Path.Combine("/tmp", UserDirectoryName));
        Assert.IsFalse(Directory.Exists(Path.GetDirectoryName(run.Compiles[0].FifoPath)), "the fallback pool outlived the build");
    }

    /// <summary>
    /// A TMPDIR with a space, a single quote and non-ASCII letters (stock Exec sources its script from there by an
    /// unquoted path, which failed every command with MSB3073): the pool goes to /tmp (JOBS0040), the cargo builds
    /// pass within the cap, a plain <c>&lt;Exec&gt;</c> runs with that TMPDIR, and neither a pool nor a script is left.
    /// </summary>
    [TestMethod]
    public void ATmpdirWithASpaceAQuoteAndNonAsciiLettersWorks()
    {
        var repo = NewFixture("t11-awkward-tmpdir");
        var cargo = Enumerable.Range(1, 2).Select(i => repo.AddCargoProject("p" + i.ToString(CultureInfo.InvariantCulture), crates: 2)).ToList();
        var plain = repo.AddProject("plain", PackageUse.PackageReference, "", """
              <Target Name="PlainExec" AfterTargets="Build">
                <Exec Command="printf '%s' &quot;$TMPDIR&quot; > plain.txt" WorkingDirectory="$(MSBuildThisFileDirectory)" />
              </Target>
            """);
        var entry = repo.AddTraversal("all.proj", cargo.Append(plain));
        var awkward = Directory.CreateDirectory(Path.Combine(repo.Root, "my tmp's é-ü")).FullName;

        var run = repo.Build(entry, new BuildOptions { Nodes = 2, Environment = new Dictionary<string, string?> { ["TMPDIR"] = awkward }, Properties = Slots(2) });
        Report("TMPDIR with a space, a quote and non-ASCII letters, 2 slots", run);

        Assert.DoesNotContain("MSB4018", run.Output, "a task crashed");
        Assert.DoesNotContain("MSB3073", run.Output, "a command failed");
        Assert.Contains("JOBS0040", run.Output, "the build did not say where the pool went instead");
        Assert.HasCount(4, run.Compiles, run.Describe());
        Assert.IsLessThanOrEqualTo(2, run.MaxConcurrentCompiles, "more compiles at once than the 2 slots:\n" + run.Describe());
        AssertUsedOnePoolUnder(run, Path.Combine("/tmp", UserDirectoryName));
        Assert.AreEqual(awkward, File.ReadAllText(Path.Combine(repo.Root, "plain", "plain.txt")), "the plain Exec did not run with this TMPDIR");
        Assert.IsFalse(Directory.Exists(Path.GetDirectoryName(run.Compiles[0].FifoPath)), "the fallback pool outlived the build");
        Assert.IsEmpty(Directory.GetFiles(awkward, "*.exec.cmd", SearchOption.AllDirectories), "an Exec script was left in TMPDIR");
    }

    /// <summary>
    /// Another user made msbuild-jobserver-UID in TMPDIR first: the build neither uses it nor goes without a
    /// jobserver; it warns (JOBS0041) and keeps its pool in a private directory of its own, removed at the end.
    /// </summary>
    [TestMethod]
    public void AUserDirectoryMadeByAnotherUserGetsAPrivateFallback()
    {
        if (!OperatingSystem.IsLinux() || PackageFeed.UserId != 0)
        {
            Assert.Inconclusive("Needs root, to make a directory owned by another user.");
        }

        var repo = NewFixture("t11-hostile-user-dir");
        var entry = Fixtures.CargoProjects(repo, projects: 2, crates: 2);
        var temp = Directory.CreateDirectory(Path.Combine(repo.Root, "shared-tmp")).FullName;
        var hostile = Directory.CreateDirectory(Path.Combine(temp, UserDirectoryName)).FullName;
        Assert.AreEqual(0, ProcessRunner.Run("chown", new[] { "65534:65534", hostile }, repo.Root, Path.Combine(repo.Root, "chown.log"), new Dictionary<string, string?>(), TimeSpan.FromSeconds(30)).ExitCode);
        File.SetUnixFileMode(hostile, (UnixFileMode)Convert.ToInt32("755", 8));

        var run = repo.Build(entry, new BuildOptions { Nodes = 2, Environment = new Dictionary<string, string?> { ["TMPDIR"] = temp }, Properties = Slots(2) });
        Report("per-user directory owned by uid 65534, 2 slots", run);

        CollectionAssert.Contains(Fixtures.WarningCodes(run).ToList(), "JOBS0041", "the build did not warn about the hostile directory");
        Assert.HasCount(4, run.Compiles, run.Describe());
        Assert.IsLessThanOrEqualTo(2, run.MaxConcurrentCompiles, "more compiles at once than the 2 slots:\n" + run.Describe());
        var pool = Path.GetDirectoryName(run.Compiles[0].FifoPath)!;
        Assert.AreEqual(temp, Path.GetDirectoryName(pool), "the pool was not beside the hostile directory");
        StringAssert.StartsWith(Path.GetFileName(pool), UserDirectoryName + "-build-");
        Assert.HasCount(1, run.Compiles.Select(c => c.FifoPath).Distinct().ToList(), "compiles of one build were handed different pools");
        Assert.IsEmpty(Directory.GetFileSystemEntries(hostile), "something was put into the other user's directory");
        Assert.IsEmpty(Directory.GetDirectories(temp, UserDirectoryName + "-*"), "the private fallback outlived the build");
    }

    private static Dictionary<string, string> Slots(int slots) => new() { ["JobserverSlots"] = slots.ToString(CultureInfo.InvariantCulture) };

    private static void AssertUsedOnePoolUnder(BuildRun run, string directory)
    {
        Assert.IsNotEmpty(run.Compiles, "no compile was logged:\n" + run.Describe());
        foreach (var compile in run.Compiles)
        {
            Assert.IsTrue(compile.FifoPath?.StartsWith(directory + "/", StringComparison.Ordinal) == true,
                $"{compile.Label} was not handed a pool under {directory} (CARGO_MAKEFLAGS '{compile.Jobserver}')");
        }

        Assert.HasCount(1, run.Compiles.Select(c => c.FifoPath).Distinct().ToList(), "compiles of one build were handed different pools");
    }
}
