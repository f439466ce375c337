using System.Globalization;
using MSBuild.Jobserver.Platform;
using MSBuild.Jobserver.Pools;
using MSBuild.Jobserver.Protocol;
using MSBuild.Jobserver.Tasks.EntryProcess;
using MSBuild.Jobserver.Tasks.EveryNode;
using MSBuild.Jobserver.Tokens;
using static MSBuild.Jobserver.Tests.LedgerSupport;
using static MSBuild.Jobserver.Tests.TestSupport;

namespace MSBuild.Jobserver.Tests;

/// <summary>
/// Issue 19: what outlives a tool, gives back too much, or names what cannot be read never mints a token or throws.
/// Real processes hold the tokens; the pool is counted by its owner.
/// </summary>
[TestClass]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class LedgerHardeningTests
{
    private string _parent = null!;

    public TestContext TestContext { get; set; } = null!;

    [TestInitialize]
    public void Setup() => _parent = TestSupport.NewTempDirectory("ledger19");

    [TestCleanup]
    public void Cleanup() => Directory.Delete(_parent, recursive: true);

    [TestMethod]
    [DataRow("background", "( {0} ) </dev/null >/dev/null 2>&1 &")]
    [DataRow("new session", "setsid sh -c '{0}' </dev/null >/dev/null 2>&1 &")]
    [DataRow("nohup, detached twice", "( nohup sh -c '{0}' </dev/null >/dev/null 2>&1 & ) ; exit 0")]
    public void AHelperThatOutlivesItsToolKeepsTheLeaseAndItsToken(string kind, string launch)
    {
        // The tool starts a helper and exits at once; the helper takes a token, holds it 3 s, gives it back. The Exec
        // token goes back when the tool exits. While the helper runs, no refill may mint its token (the old lease ended
        // with the tool's main process, and the next refill minted one: N+1).
        const int Size = 2;
        using var pool = PoolPlatform.CreatePool(Size, _parent);
        var fifo = pool.Auth.Path!;
        var got = Path.Combine(_parent, "got");
        var done = Path.Combine(_parent, "done");
        // It says it is done before it gives the token back: while "done" is missing, it surely holds one.
        var helper = $"dd if={fifo} bs=1 count=1 status=none >/dev/null; : > {got}; sleep 3; : > {done}; printf + > {fifo}";
        var node = View(pool, Size);
        var held = node.TryAcquire("daemon", "tool") ?? throw new AssertFailedException("no token for the tool");
        using (var tool = StartTool(held, string.Format(launch, helper)))
        {
            tool.WaitForExit();
        }

        Assert.IsTrue(WaitFor(() => File.Exists(got), TimeSpan.FromSeconds(10)), "the helper never took its token");
        held.Dispose();
        Assert.AreEqual(default, held.Refill, kind + ": the tool's give-back minted the helper's token");

        var other = View(pool, Size);
        var checks = 0;
        while (!File.Exists(done))
        {
            var refill = TakeAndGiveBack(other);
            if (!File.Exists(done))
            {
                Assert.AreEqual(default, refill, kind + ": a refill minted the token the helper holds");
                Assert.AreEqual(Size - 1, pool.CountAvailable(), kind + ": tokens while the helper holds one");
                checks++;
            }

            Thread.Sleep(100);
        }

        TestContext.WriteLine($"{kind}: checked {checks} times while the helper ran: no refill");
        Assert.IsTrue(checks >= 5, "checked while the helper ran (" + checks + " times)");
        var after = WaitFor(() => TakeAndGiveBack(other), r => r == default && pool.CountAvailable() == Size, TimeSpan.FromSeconds(10));
        Assert.AreEqual(default, after, kind + ": once the helper gave its token back, nothing is lost");
        Assert.AreEqual(Size, pool.CountAvailable());
        Assert.IsEmpty(Directory.GetFiles(pool.Directory, "lease-*"), "the lease is removed once nobody holds it");
    }

    [TestMethod]
    public void RandomInterleavingsAcrossProcessesNeverLetMoreThanNHoldAndEndAtExactlyN()
    {
        // N node processes meet at a barrier every round and then each does three random things at once: quick holds
        // (each last give-back refills), extra tokens under its lease, a tool killed holding a token, a tool whose helper
        // outlives it holding one (background or new session); between rounds, once the round's helpers have ended,
        // some give back a byte they never took, and node 0 settles the pool once no lease is held. Every visible hold
        // is logged; the ledger's journal must mint only what was lost and take out only what was given back too much.
        const int Size = 3, Rounds = 25;
        using var pool = PoolPlatform.CreatePool(Size, _parent);
        var barrier = Directory.CreateDirectory(Path.Combine(_parent, "barrier")).FullName;
        var logs = Directory.CreateDirectory(Path.Combine(_parent, "logs")).FullName;
        // JOBSERVER_CHAOS_SEED replays a failed run: every node's choices follow from it.
        var seed = int.TryParse(Environment.GetEnvironmentVariable("JOBSERVER_CHAOS_SEED"), NumberStyles.Integer, CultureInfo.InvariantCulture, out var fixedSeed)
            ? fixedSeed
            : Environment.TickCount;
        TestContext.WriteLine("seed " + seed + " (set JOBSERVER_CHAOS_SEED to replay it)");
        var results = RunNodes(Size, i => ProbeArguments("chaos", pool, Rounds, barrier, i, Size, seed + i, logs), TimeSpan.FromMinutes(8), TestContext);
        results.ForEach(r => Assert.AreEqual(0, r.ExitCode, r.ToString()));
        var counts = results.Select(r => r.Stdout.Split('\n').Last(l => l.StartsWith("lost=", StringComparison.Ordinal)).Split(' ')
            .Select(kv => int.Parse(kv.Split('=')[1], CultureInfo.InvariantCulture)).ToArray()).ToList();
        var lost = counts.Sum(c => c[0]);
        var over = counts.Sum(c => c[1]);
        var journal = LedgerJournal.Read(pool.Directory);
        var holds = Directory.GetFiles(logs).SelectMany(f => File.ReadAllLines(f).Select(l => l + " " + Path.GetFileNameWithoutExtension(f))).ToList();
        var peak = TestSupport.MaxOverlap(holds);
        TestContext.WriteLine($"lost {lost}, given back too much {over}; journal: minted {journal.Recovered}, removed {journal.Removed}; peak {peak} holding at once");

        Assert.IsLessThanOrEqualTo(Size, peak, "more than N held tokens at once; the holds open at the busiest moment:\n" + string.Join("\n", BusiestHolds(holds)));
        Assert.IsLessThanOrEqualTo(lost, journal.Recovered, "minted a token that was not lost");
        Assert.IsLessThanOrEqualTo(over, journal.Removed, "took out a token that was not a surplus (or minted one that became one)");
        Assert.AreEqual(lost - over, journal.Recovered - journal.Removed, "tokens minted and taken out balance what was lost and given back");
        Assert.AreEqual(Size, pool.CountAvailable(), "the pool ends at exactly N");
    }

    // The "start end what node" lines open together at the first moment the most are open (touching ones do not overlap).
    private static IEnumerable<string> BusiestHolds(IReadOnlyList<string> holds)
    {
        var parsed = holds.Select(h => (Line: h, Start: long.Parse(h.Split(' ')[0], CultureInfo.InvariantCulture), End: long.Parse(h.Split(' ')[1], CultureInfo.InvariantCulture))).ToList();
        var busiest = parsed.Select(p => p.Start).OrderBy(t => t).MaxBy(t => parsed.Count(p => p.Start <= t && t < p.End));
        return parsed.Where(p => p.Start <= busiest && busiest < p.End).Select(p => p.Line);
    }

    [TestMethod]
    public void AWaitingNodeRecoversTheTokensOfAHelperThatDiedHoldingThem()
    {
        // Now that a helper keeps its tool's lease, nobody gives anything back when it dies holding every token: the
        // node waiting for one must refill the idle pool itself, not wait for ever.
        const int Size = 2;
        using var pool = PoolPlatform.CreatePool(Size, _parent);
        var fifo = pool.Auth.Path!;
        var got = Path.Combine(_parent, "got");
        var node = View(pool, Size);
        var held = node.TryAcquire("daemon", "tool") ?? throw new AssertFailedException("no token for the tool");
        var helper = $"dd if={fifo} bs=1 count=2 iflag=fullblock status=none >/dev/null; : > {got}; exec sleep 60";
        using var tool = StartTool(held, $"( {helper} ) </dev/null >/dev/null 2>&1 & echo $!", redirectOutput: true);
        var helperPid = int.Parse(tool.StandardOutput.ReadLine()!.Trim(), System.Globalization.CultureInfo.InvariantCulture);
        tool.WaitForExit();
        held.Dispose();
        Assert.IsTrue(WaitFor(() => File.Exists(got), TimeSpan.FromSeconds(10)), "the helper never took both tokens");
        Assert.AreEqual(0, Mono.Unix.Native.Syscall.kill(helperPid, Mono.Unix.Native.Signum.SIGKILL));
        Assert.IsTrue(WaitFor(() => !Directory.Exists("/proc/" + helperPid), TimeSpan.FromSeconds(10)), "the helper did not die");

        var waiter = View(pool, Size);
        var refill = waiter.WaitForFreeToken(CancellationToken.None, TimeSpan.FromSeconds(30));
        Assert.AreEqual(new RefillResult(Size, 0), refill, "the waiter minted the two tokens the dead helper kept");
        Assert.AreEqual(Size, pool.CountAvailable());
    }

    [TestMethod]
    public void EverySurplusIsTakenOutByOneRefillAndCounted()
    {
        // A client gave back 7 bytes it never took: the next idle refill takes out all 7 (it took out one per refill).
        const int Size = 2, Extra = 7;
        using var pool = PoolPlatform.CreatePool(Size, _parent);
        var node = View(pool, Size);
        using (var buggy = PoolPlatform.ConnectToValidated(pool.Auth.Path!, pool.Identity!.Value))
        {
            for (var i = 0; i < Extra; i++)
            {
                buggy.Release(new JobToken((byte)'+'));
            }
        }

        Assert.AreEqual(new RefillResult(0, Extra), TakeAndGiveBack(node), "one refill removes the whole surplus");
        Assert.AreEqual(Size, pool.CountAvailable());
        Assert.AreEqual(Extra, node.Ledger.Journal.Removed, "the journal counts it for the summary");
    }

    [TestMethod]
    public void ACountWhileALeaseIsHeldReportsTheSurplusAndChangesNothing()
    {
        // The end-of-build count sees a surplus even when it may not remove it (a tool still holds a lease), instead of
        // clamping it to "0 lost".
        const int Size = 2;
        using var pool = PoolPlatform.CreatePool(Size, _parent);
        var node = View(pool, Size);
        var held = node.TryAcquire("p", "t") ?? throw new AssertFailedException("no token");
        using (var buggy = PoolPlatform.ConnectToValidated(pool.Auth.Path!, pool.Identity!.Value))
        {
            buggy.Release(new JobToken((byte)'+'));
            buggy.Release(new JobToken((byte)'+'));
            var count = node.Ledger.Count(buggy, Size, mintMissing: false);
            Assert.AreEqual(new PoolCount(Size - 1 + 2, false, default), count);
        }

        held.Dispose();
        Assert.AreEqual(new RefillResult(0, 2), held.Refill, "the last give-back takes the whole surplus out");
        Assert.AreEqual(Size, pool.CountAvailable());
    }

    [TestMethod]
    public void DescriptorsTheBuildInheritedAreNeverHandedToATool()
    {
        // A make recipe `( flock 9; dotnet build ) 9>lock` (and an 8 for good measure): the build's process inherits 8 and
        // 9, and so would every Exec's shell. The pool must be opened on other numbers, or the inner commands' lock
        // descriptor becomes the pool (and a token is written into the lock file). The old choice looked only at the
        // command's text, and gave 8,9.
        var lockFile = Path.Combine(_parent, "lock");
        var script = $"exec dotnet '{TestSupport.ProbeDll}' free-pair 'cargo build' 9>'{lockFile}' 8>>'{lockFile}'";
        var result = TestSupport.Run("/bin/sh", new[] { "-c", script });
        Assert.AreEqual(0, result.ExitCode, result.ToString());
        var pair = result.Stdout.Trim();
        TestContext.WriteLine("with 8 and 9 inherited: " + pair);
        Assert.AreEqual("6,7", pair, "the pair skips the inherited 8 and 9 (and the .NET runtime's own descriptors are close-on-exec)");

        var plain = TestSupport.Run("dotnet", new[] { TestSupport.ProbeDll, "free-pair", "( flock 9; make ) 9>lock" });
        Assert.AreEqual("7,8", plain.Stdout.Trim(), "with nothing inherited, only the numbers the command names are skipped");
    }

    [TestMethod]
    public void AnUnreadableDirectoryOnTheCommandLineNamesNoProjectAndThrowsNothing()
    {
        // `dotnet build -o DIR` with DIR unreadable: the rendezvous's entry-project lookup threw (MSB4018) and the build
        // ran without a pool. Root reads any mode-000 directory, so as root a /proc directory it may not list stands in.
        var unreadable = Path.Combine(_parent, "unreadable");
        Directory.CreateDirectory(unreadable);
        File.WriteAllText(Path.Combine(unreadable, "a.csproj"), "<Project />");
        File.SetUnixFileMode(unreadable, UnixFileMode.None);
        var candidates = new[] { unreadable, "/proc/1/map_files" };
        var target = candidates.FirstOrDefault(CannotList);
        File.SetUnixFileMode(unreadable, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        if (target is null)
        {
            Assert.Inconclusive("no directory here that this user cannot list");
        }

        File.WriteAllText(Path.Combine(_parent, "entry.csproj"), "<Project />");
        File.SetUnixFileMode(unreadable, UnixFileMode.None);
        try
        {
            var found = EntryProject.Find(_parent, new[] { "dotnet.dll", "build", "-o", target, "-p:X=a|b" });
            Assert.AreEqual(Path.Combine(_parent, "entry.csproj"), found, "the one project in the startup directory");
            Assert.IsFalse(EntryProject.Same("bad\0path", found), "a path .NET rejects is no project");
        }
        finally
        {
            File.SetUnixFileMode(unreadable, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
    }

    private static bool CannotList(string directory)
    {
        try
        {
            _ = Directory.EnumerateFiles(directory).ToList();
            return false;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return Directory.Exists(directory);
        }
    }
}
