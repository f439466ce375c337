using System.Diagnostics;
using MSBuild.Jobserver.Platform;
using MSBuild.Jobserver.Tasks.EveryNode;
using MSBuild.Jobserver.Tokens;

namespace WindowsProbe;

/// <summary>
/// A node (this program, through the tasks' own pool connection and ledger) takes a token, starts a tool that outlives
/// it, and is killed; the tool's token must stay counted as held until the tool ends, then be minted exactly once.
/// </summary>
internal static class LedgerOrphan
{
    private const int Size = 2;

    /// <summary>The test: prints "RUNNING-CHECKS n", "REFILL-WHILE-RUNNING r/m", "AVAILABLE-WHILE-RUNNING a" and "AFTER r/m a".</summary>
    public static int Run(string workDirectory)
    {
        using var pool = PoolPlatform.CreatePool(Size, workDirectory);
        var done = Path.Combine(workDirectory, "tool-done");
        var node = Start("hold-tool", pool.Directory, pool.Auth.Name!, "sleep-mark", "4000", done);
        var line = node.StandardOutput.ReadLine() ?? "";
        if (!line.StartsWith("STARTED ", StringComparison.Ordinal))
        {
            Console.WriteLine("NODE-SAID " + line);
            return 5;
        }

        node.Kill();
        node.WaitForExit();
        var view = Connect(pool.Directory, pool.Auth.Name!);
        int checks = 0, minted = 0, wrongCount = 0;
        while (!File.Exists(done))
        {
            var refill = TakeAndGiveBack(view);
            var available = pool.CountAvailable();
            if (!File.Exists(done))
            {
                checks++;
                minted += refill.Recovered;
                wrongCount += available == Size - 1 ? 0 : 1;
            }

            Thread.Sleep(200);
        }

        Console.WriteLine("RUNNING-CHECKS " + checks);
        Console.WriteLine("MINTED-WHILE-RUNNING " + minted);
        Console.WriteLine("WRONG-COUNT-WHILE-RUNNING " + wrongCount);
        var after = default(RefillResult);
        var patience = Stopwatch.StartNew();
        while (after.Recovered == 0 && patience.Elapsed < TimeSpan.FromSeconds(20))
        {
            Thread.Sleep(200);
            after = TakeAndGiveBack(view);
        }

        Console.WriteLine($"AFTER {after.Recovered}/{after.Removed} {pool.CountAvailable()}");
        return 0;
    }

    /// <summary>The node: takes a token, starts the tool sharing the token's lease as ExecWithJobserver does, waits to be killed.</summary>
    public static int HoldTool(string directory, string poolName, string[] tool)
    {
        var node = Connect(directory, poolName);
        HeldToken? held = null;
        while (held is null)
        {
            held = node.TryAcquire("probe", "tool");
            Thread.Sleep(50);
        }

        held.ShareWithTool(true);
        using var started = Start(tool);
        held.ShareWithTool(false);
        Console.WriteLine("STARTED " + started.Id);
        Console.Out.Flush();
        Thread.Sleep(Timeout.Infinite);
        return 0;
    }

    /// <summary>The tool: runs a while, then marks that it is done.</summary>
    public static int SleepMark(int ms, string done)
    {
        Thread.Sleep(ms);
        File.WriteAllText(done, "");
        return 0;
    }

    private static Process Start(params string[] args)
    {
        var start = new ProcessStartInfo(Environment.ProcessPath!) { UseShellExecute = false, RedirectStandardOutput = true };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        return Process.Start(start)!;
    }

    private static PoolConnection Connect(string directory, string poolName)
    {
        var node = new PoolConnection(new BuildJobserverHandle
        {
            Mode = BuildJobserverMode.Owned,
            Slots = Size,
            PoolPath = poolName,
            Directory = directory,
        });
        return node.TryConnect(out var problem) ? node : throw new InvalidOperationException(problem);
    }

    private static RefillResult TakeAndGiveBack(PoolConnection view)
    {
        var held = view.TryAcquire("test", "probe") ?? throw new InvalidOperationException("no free token");
        held.Dispose();
        return held.Refill;
    }
}
