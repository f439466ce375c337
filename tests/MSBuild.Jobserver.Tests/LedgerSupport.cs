using System.Diagnostics;
using System.Globalization;
using MSBuild.Jobserver.Pools;
using MSBuild.Jobserver.Protocol;
using MSBuild.Jobserver.Tokens;

namespace MSBuild.Jobserver.Tests;

/// <summary>What the ledger tests do to a pool the way a node does: look at it, take and give back, share a token with a tool.</summary>
internal static class LedgerSupport
{
    /// <summary>A node's connected view of <paramref name="pool"/>, as the tasks see a pool the build owns.</summary>
    public static PoolConnection View(JobTokenPool pool, int size)
    {
        var view = new PoolConnection(new BuildJobserverHandle
        {
            Mode = BuildJobserverMode.Owned,
            Slots = size,
            PoolPath = pool.Auth.Path!,
            PoolIdentity = pool.Identity,
            Directory = pool.Directory,
        });
        Assert.IsTrue(view.TryConnect(out var problem), problem);
        return view;
    }

    /// <summary>Takes a free token and gives it back at once; returns what that give-back's refill did.</summary>
    public static RefillResult TakeAndGiveBack(PoolConnection view)
    {
        var held = view.TryAcquire("test", "probe") ?? throw new AssertFailedException("no free token");
        held.Dispose();
        return held.Refill;
    }

    /// <summary>
    /// The probe's arguments for a ledger <paramref name="command"/> on <paramref name="pool"/>: the pool's directory,
    /// identity and size, then <paramref name="more"/> (numbers written invariantly).
    /// </summary>
    public static string[] ProbeArguments(string command, JobTokenPool pool, params object[] more) =>
        new[] { TestSupport.ProbeDll, command, pool.Directory, pool.Identity!.Value.ToString(), pool.Size.ToString(CultureInfo.InvariantCulture) }
            .Concat(more.Select(m => Convert.ToString(m, CultureInfo.InvariantCulture)!)).ToArray();

    /// <summary>Runs <paramref name="count"/> probe nodes at once (node i with <paramref name="arguments"/>(i)); logs and returns their results.</summary>
    public static List<ProcessResult> RunNodes(int count, Func<int, string[]> arguments, TimeSpan timeout, TestContext context)
    {
        var nodes = Enumerable.Range(0, count).Select(i => Task.Run(() => TestSupport.Run("dotnet", arguments(i), timeout: timeout))).ToArray();
        Task.WaitAll(nodes);
        var results = nodes.Select(n => n.Result).ToList();
        results.ForEach(r => context.WriteLine(r.ToString()));
        return results;
    }

    /// <summary>Starts <c>/bin/sh -c <paramref name="script"/></c> as the tool of <paramref name="held"/>: it inherits the token's pool.</summary>
    public static Process StartTool(HeldToken held, string script, bool redirectOutput = false)
    {
        held.ShareWithTool(true);
        try
        {
            return Process.Start(new ProcessStartInfo("/bin/sh") { ArgumentList = { "-c", script }, UseShellExecute = false, RedirectStandardOutput = redirectOutput })!;
        }
        finally
        {
            held.ShareWithTool(false);
        }
    }
}
