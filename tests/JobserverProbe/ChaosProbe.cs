using System.Diagnostics;
using System.Globalization;
using MSBuild.Jobserver.Platform;
using MSBuild.Jobserver.Pools;
using MSBuild.Jobserver.Protocol;
using MSBuild.Jobserver.Tasks.EveryNode;
using MSBuild.Jobserver.Tokens;

/// <summary>
/// A node that, round after round, does random things to the build's pool through the tasks' own ledger: quick holds,
/// extra tokens under its lease (as cargo takes them), a tool killed while it holds a token, a tool whose helper outlives
/// it holding a token (in the background or in a new session), and, between rounds once the round's helpers have ended,
/// a byte given back that was never taken. Every hold it can see is logged as "start end what" (Unix ns, the inside of
/// the real hold); what it lost and gave back too much is printed for the test to balance against the ledger's journal.
/// </summary>
internal static class ChaosProbe
{
    public static int Run(string directory, string identity, int size, int rounds, string barrier, int index, int count, int seed, string logDirectory)
    {
        var node = LedgerProbe.Connect(directory, identity, size);
        var fifo = node.Handle.PoolPath;
        using var pool = PoolPlatform.ConnectToValidated(fifo, node.Handle.PoolIdentity!.Value);
        var random = new Random(seed);
        var holdLog = Path.Combine(logDirectory, "holds-" + index + ".txt");
        var helperLog = Path.Combine(logDirectory, "helpers-" + index + ".txt");
        int lost = 0, over = 0, problems = 0;
        for (var round = 0; round < rounds; round++)
        {
            LedgerProbe.Meet(barrier, "start-" + round, index, count);
            for (var action = 0; action < 3; action++)
            {
                switch (random.Next(4))
                {
                    case 0:
                        QuickHold(node, holdLog, random);
                        break;
                    case 1:
                        HoldWithExtras(node, pool, holdLog, random);
                        break;
                    case 2:
                        lost += KillHoldingTool(node, fifo, holdLog);
                        break;
                    default:
                        OutlivingHelper(node, fifo, helperLog, random);
                        break;
                }
            }

            LedgerProbe.Meet(barrier, "end-" + round, index, count);
            if (random.Next(4) == 0)
            {
                // A client that gives back a byte it never took (an old cc crate killed between its two steps). Only once
                // the round's helpers have ended: one that starts late would otherwise take the surplus byte as an N+1th
                // token, which is that client's doing (a surplus is a real token until a refill finds no lease), not the
                // ledger's.
                if (!NoLeaseHeldWithin(node, round))
                {
                    problems++;
                }

                pool.Release(new JobToken((byte)'+'));
                over++;
            }

            LedgerProbe.Meet(barrier, "over-" + round, index, count);
            if (index == 0 && !Settle(node, pool, size, round))
            {
                problems++;
            }

            LedgerProbe.Meet(barrier, "settled-" + round, index, count);
        }

        Console.WriteLine($"lost={lost} over={over} problems={problems}");
        return problems == 0 ? 0 : 1;
    }

    private static void QuickHold(PoolConnection node, string log, Random random)
    {
        var held = LedgerProbe.TakeOne(node, "quick");
        var start = NowNs();
        Thread.Sleep(random.Next(3));
        Log(log, start, NowNs(), "quick");
        held.Dispose();
    }

    private static void HoldWithExtras(PoolConnection node, JobserverClient pool, string log, Random random)
    {
        var held = LedgerProbe.TakeOne(node, "extras");
        var start = NowNs();
        var extras = new List<(JobToken Token, long Start)>();
        for (var i = random.Next(1, 3); i > 0 && pool.TryAcquire(out var token); i--)
        {
            extras.Add((token, NowNs()));
        }

        Thread.Sleep(random.Next(5));
        foreach (var (token, taken) in extras)
        {
            Log(log, taken, NowNs(), "extra");
            pool.Release(token);
        }

        Log(log, start, NowNs(), "extras");
        held.Dispose();
    }

    // A tool that takes one more token (if one is free) and is killed holding it: that token is lost. 1 when it was.
    private static int KillHoldingTool(PoolConnection node, string fifo, string log)
    {
        var held = LedgerProbe.TakeOne(node, "killed");
        var start = NowNs();
        var script = $"if dd if={fifo} bs=1 count=1 iflag=nonblock status=none 2>/dev/null | grep -q .; then echo got; exec sleep 60; fi; echo none";
        var info = new ProcessStartInfo("/bin/sh") { ArgumentList = { "-c", script }, UseShellExecute = false, RedirectStandardOutput = true };
        held.ShareWithTool(true);
        using var tool = Process.Start(info)!;
        held.ShareWithTool(false);
        var line = tool.StandardOutput.ReadLine();
        var got = NowNs();
        tool.Kill(entireProcessTree: true);
        tool.WaitForExit();
        var end = NowNs();
        if (line == "got")
        {
            Log(log, got, end, "killed-tool");
        }

        Log(log, start, end, "killed");
        held.Dispose();
        return line == "got" ? 1 : 0;
    }

    // A tool that leaves a helper behind and exits at once; the helper takes a token, holds it a while, gives it back.
    private static void OutlivingHelper(PoolConnection node, string fifo, string log, Random random)
    {
        var held = LedgerProbe.TakeOne(node, "daemon");
        var start = NowNs();
        var sleep = (random.Next(20, 300) / 1000.0).ToString("0.000", CultureInfo.InvariantCulture);
        var helper = $"if dd if={fifo} bs=1 count=1 iflag=nonblock status=none 2>/dev/null | grep -q .; then a=$(date +%s%N); sleep {sleep}; b=$(date +%s%N); echo \"$a $b helper\" >> {log}; printf + > {fifo}; fi";
        var script = random.Next(2) == 0
            ? $"( {helper} ) </dev/null >/dev/null 2>&1 &"
            : $"setsid sh -c '{helper}' </dev/null >/dev/null 2>&1 &";
        held.ShareWithTool(true);
        using (var tool = Process.Start(new ProcessStartInfo("/bin/sh") { ArgumentList = { "-c", script }, UseShellExecute = false })!)
        {
            held.ShareWithTool(false);
            tool.WaitForExit();
        }

        Log(log, start, NowNs(), "daemon");
        held.Dispose();
    }

    // Between rounds, once every helper has ended: the pool is brought back to exactly its size, and stays there.
    private static bool Settle(PoolConnection node, JobserverClient pool, int size, int round)
    {
        if (!NoLeaseHeldWithin(node, round))
        {
            return false;
        }

        node.Ledger.Count(pool, size, mintMissing: true);
        var after = node.Ledger.Count(pool, size, mintMissing: false);
        if (after is not { Found: var found } || found != size)
        {
            Console.WriteLine($"round {round}: the pool holds {after?.Found} tokens after settling, not {size}");
            return false;
        }

        return true;
    }

    // Between rounds no node begins a lease, so once none is held every helper of the round has ended.
    private static bool NoLeaseHeldWithin(PoolConnection node, int round)
    {
        var patience = Stopwatch.StartNew();
        var directory = PoolPlatform.OpenDirectory(node.Handle.Directory);
        while (directory.Leases().Any(lease => Lease.IsHeld(directory, lease)))
        {
            if (patience.Elapsed > TimeSpan.FromSeconds(30))
            {
                Console.WriteLine($"round {round}: a lease is still held after 30 s");
                return false;
            }

            Thread.Sleep(10);
        }

        return true;
    }

    private static long NowNs() => (DateTime.UtcNow.Ticks - DateTime.UnixEpoch.Ticks) * 100;

    // "start end what": what the hold was, for a failure's message.
    private static void Log(string path, long start, long end, string what) =>
        File.AppendAllText(path, start.ToString(CultureInfo.InvariantCulture) + " " + end.ToString(CultureInfo.InvariantCulture) + " " + what + "\n");
}
