using System.Diagnostics;
using MSBuild.Jobserver.Platform;
using MSBuild.Jobserver.Protocol;
using MSBuild.Jobserver.Tasks.EveryNode;
using MSBuild.Jobserver.Tokens;

/// <summary>A process that acts as an MSBuild node on a test's pool, through the tasks' own pool connection and ledger.</summary>
internal static class LedgerProbe
{
    public static int GiveBack(string directory, string identity, int size, int rounds, string barrier, int index, int count)
    {
        var node = Connect(directory, identity, size);
        using var pool = PoolPlatform.ConnectToValidated(node.Handle.PoolPath, node.Handle.PoolIdentity!.Value);
        int recovered = 0, removed = 0;
        for (var round = 0; round < rounds; round++)
        {
            var held = TakeOne(node, "give-back");
            Meet(barrier, "taken-" + round, index, count);
            held.Dispose();
            recovered += held.Refill.Recovered;
            removed += held.Refill.Removed;
            Meet(barrier, "back-" + round, index, count);

            // Then every node refills at the same instant, as nodes that give back one after another with no lease
            // left between them do.
            for (var i = 0; i < 5; i++)
            {
                var idle = node.Ledger.RefillIfIdle(pool, size);
                recovered += idle.Recovered;
                removed += idle.Removed;
            }

            Meet(barrier, "idle-" + round, index, count);
        }

        Console.WriteLine($"recovered={recovered} removed={removed}");
        return 0;
    }

    public static int HoldTool(string directory, string identity, int size, string program, string[] arguments)
    {
        var node = Connect(directory, identity, size);
        var held = TakeOne(node, program);
        var start = new ProcessStartInfo(program) { UseShellExecute = false };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        // As ExecWithJobserver does around the tool's start.
        held.ShareWithTool(true);
        using var tool = Process.Start(start)!;
        held.ShareWithTool(false);
        Console.WriteLine("STARTED " + tool.Id);
        Console.Out.Flush();
        Thread.Sleep(Timeout.Infinite);
        return 0;
    }

    internal static PoolConnection Connect(string directory, string identity, int size)
    {
        var node = new PoolConnection(new BuildJobserverHandle
        {
            Mode = BuildJobserverMode.Owned,
            Slots = size,
            PoolPath = Path.Combine(directory, "fifo"),
            PoolIdentity = PipeIdentity.TryParse(identity, out var id) ? id : throw new ArgumentException("Bad identity " + identity),
            Directory = directory,
        });
        return node.TryConnect(out var problem) ? node : throw new InvalidOperationException(problem);
    }

    internal static HeldToken TakeOne(PoolConnection node, string tool)
    {
        while (true)
        {
            if (node.TryAcquire("probe", tool) is { } held)
            {
                return held;
            }

            try
            {
                node.WaitForFreeToken(CancellationToken.None, TimeSpan.FromSeconds(1));
            }
            catch (TimeoutException)
            {
                // Look again.
            }
        }
    }

    // Every process marks its arrival, then spins until all have: they leave within microseconds of each other.
    internal static void Meet(string barrier, string name, int index, int count)
    {
        File.WriteAllText(Path.Combine(barrier, name + "." + index), "");
        var spin = new SpinWait();
        var patience = Stopwatch.StartNew();
        while (Directory.GetFiles(barrier, name + ".*").Length < count)
        {
            // A node that died (the refill threw in it) never comes: say so instead of waiting for ever.
            if (patience.Elapsed > TimeSpan.FromSeconds(30))
            {
                throw new TimeoutException("Not every node reached " + name + " within 30 s: one of them failed.");
            }

            spin.SpinOnce(-1);
        }
    }
}
