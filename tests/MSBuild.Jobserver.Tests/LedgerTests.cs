using System.Diagnostics;
using System.Globalization;
using MSBuild.Jobserver.Platform;
using MSBuild.Jobserver.Pools;
using MSBuild.Jobserver.Tasks.EveryNode;
using MSBuild.Jobserver.Tokens;
using Mono.Unix.Native;
using MSBuild.Jobserver.Protocol;
using static MSBuild.Jobserver.Tests.LedgerSupport;
using static MSBuild.Jobserver.Tests.TestSupport;

namespace MSBuild.Jobserver.Tests;

/// <summary>
/// Issue 10: the token ledger under races. Nodes are real processes (the probe, running the tasks' PoolConnection and
/// TokenLedger); tools are real processes; the pool's tokens are counted by its owner, never taken from our counters.
/// </summary>
[TestClass]
public sealed class LedgerTests
{
    private string _parent = null!;

    public TestContext TestContext { get; set; } = null!;

    [TestInitialize]
    public void Setup() => _parent = TestSupport.NewTempDirectory("ledger");

    [TestCleanup]
    public void Cleanup() => Directory.Delete(_parent, recursive: true);

    [TestMethod]
    public void NodesGivingBackTheirLastTokensAtOnceConserveExactlyN()
    {
        // Every round, each of N nodes holds one of the N tokens; they meet at a barrier and give them all back at
        // once, so several see no lease left and refill together; then all refill again at one instant, five times.
        // Nothing was lost: no refill may change the pool, and none may fail (the previous lock file crashed here).
        const int Size = 4, Rounds = 50;
        using var pool = PoolPlatform.CreatePool(Size, _parent);
        var barrier = Directory.CreateDirectory(Path.Combine(_parent, "barrier")).FullName;
        var results = RunNodes(Size, i => ProbeArguments("give-back", pool, Rounds, barrier, i, Size), TimeSpan.FromMinutes(3), TestContext);

        foreach (var result in results.OrderBy(r => r.Stderr.Contains("TimeoutException", StringComparison.Ordinal)))
        {
            Assert.AreEqual(0, result.ExitCode, result.ToString());
            Assert.AreEqual("recovered=0 removed=0", result.Stdout.Trim(), "a refill changed a pool that lost nothing (a false JOBS0034)");
        }

        Assert.AreEqual(Size, pool.CountAvailable(), "tokens in the pool after every round");
    }

    [TestMethod]
    public void AKilledNodesToolStillHoldsItsTokenUntilItEnds()
    {
        // A node takes a token and starts a tool (a shell that runs a while, then marks that it is done); the node is
        // killed and its tool lives on as an orphan. Until the tool ends, its token is in use: no refill may mint it.
        const int Size = 2;
        using var pool = PoolPlatform.CreatePool(Size, _parent);
        var done = Path.Combine(_parent, "tool-done");
        var node = StartHoldTool(pool, "/bin/sh", "-c", $"sleep 4; : > '{done}'");
        var toolPid = ReadStarted(node);
        node.Kill();
        node.WaitForExit();

        var view = View(pool, Size);
        var sawRunning = 0;
        while (!File.Exists(done))
        {
            var refill = TakeAndGiveBack(view);
            if (!File.Exists(done))
            {
                sawRunning++;
                Assert.AreEqual(default, refill, "a refill minted the orphaned tool's token while it ran");
                Assert.AreEqual(Size - 1, pool.CountAvailable(), "tokens while the orphan holds one");
            }

            Thread.Sleep(200);
        }

        TestContext.WriteLine($"orphan (pid {toolPid}) checked {sawRunning} times while it ran: no refill, {Size - 1} token(s) in the pool");
        Assert.IsTrue(sawRunning >= 5, "the orphan was checked while it ran (" + sawRunning + " times)");
        var recovered = WaitFor(() => TakeAndGiveBack(view), r => r.Recovered == 1, TimeSpan.FromSeconds(20));
        Assert.AreEqual(new RefillResult(1, 0), recovered, "once the tool (pid " + toolPid + ") is gone, its token is minted again");
        Assert.AreEqual(Size, pool.CountAvailable());
    }

    [TestMethod]
    public void AToolsOwnImplicitTokenIsNeitherCountedNorMintedNorDrained()
    {
        // The old cc crate's trick: a tool writes one byte into the pool when it starts (its process's implicit token,
        // never read) and reads one back at the end. Its parent holds a token meanwhile, and other nodes come and go.
        const int Size = 2;
        using var pool = PoolPlatform.CreatePool(Size, _parent);
        var fifo = pool.Auth.Path!;
        var parentView = View(pool, Size);
        var parent = parentView.TryAcquire("cc-crate", "cargo") ?? throw new AssertFailedException("no token for the parent");
        var wrote = Path.Combine(_parent, "wrote");
        var script = $"printf + > '{fifo}'; : > '{wrote}'; sleep 3; dd if='{fifo}' bs=1 count=1 status=none > /dev/null";
        using var tool = StartTool(parent, script);

        WaitFor(() => File.Exists(wrote), w => w, TimeSpan.FromSeconds(10));
        var other = View(pool, Size);
        var checks = 0;
        while (!tool.HasExited)
        {
            Assert.AreEqual(default, TakeAndGiveBack(other), "a refill while the tool runs");
            if (!tool.HasExited)
            {
                Assert.AreEqual(Size, pool.CountAvailable(), "one free token plus the tool's own byte stay in the pool");
                checks++;
            }

            Thread.Sleep(100);
        }

        Assert.AreEqual(0, tool.ExitCode);
        TestContext.WriteLine($"checked {checks} times while the tool ran: no refill, {Size} bytes in the pool");
        Assert.IsTrue(checks >= 5, "checked while the tool ran (" + checks + " times)");
        parent.Dispose();
        Assert.AreEqual(default, parent.Refill, "the last give-back finds nothing lost (no false JOBS0034)");
        Assert.AreEqual(Size, pool.CountAvailable());
    }

    private static Process StartHoldTool(JobTokenPool pool, params string[] tool)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var arg in ProbeArguments("hold-tool", pool, tool))
        {
            info.ArgumentList.Add(arg);
        }

        return Process.Start(info)!;
    }

    private static int ReadStarted(Process node)
    {
        var line = node.StandardOutput.ReadLine() ?? "";
        Assert.IsTrue(line.StartsWith("STARTED ", StringComparison.Ordinal), "probe said: " + line);
        return int.Parse(line.Substring(8), CultureInfo.InvariantCulture);
    }
}
