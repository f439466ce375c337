using System.Diagnostics;
using MSBuild.Jobserver.Platform;
using MSBuild.Jobserver.Protocol;

namespace WindowsProbe;

/// <summary>The semaphore pool and client, exercised in one Windows process; every fact printed as "KEY value".</summary>
internal static class PoolChecks
{
    public static int Acquire(int tokens)
    {
        using var pool = PoolPlatform.CreatePool(tokens);
        Console.WriteLine("AUTH " + pool.Auth.ToAuthString());
        using var client = PoolPlatform.Connect(pool.Auth);
        var held = new List<JobToken>();
        while (held.Count < tokens + 1 && client.TryAcquire(out var token))
        {
            held.Add(token);
        }

        Console.WriteLine("TAKEN " + held.Count);
        Console.WriteLine("COUNT-EMPTY " + pool.CountAvailable());
        foreach (var token in held)
        {
            client.Release(token);
        }

        Console.WriteLine("COUNT-FULL " + pool.CountAvailable());
        var report = pool.Close();
        Console.WriteLine("CLOSE " + report.Expected + " " + report.Found);
        return 0;
    }

    public static int Wait(string how)
    {
        using var pool = PoolPlatform.CreatePool(1);
        using var client = PoolPlatform.Connect(pool.Auth);
        var only = client.Acquire(CancellationToken.None, TimeSpan.FromSeconds(5));
        using var cancellation = new CancellationTokenSource();
        var timeout = TimeSpan.FromSeconds(30);
        switch (how)
        {
            case "timeout":
                timeout = TimeSpan.FromMilliseconds(400);
                break;
            case "cancel":
                cancellation.CancelAfter(400);
                break;
            default:
                Task.Delay(400).ContinueWith(_ => client.Release(only), TaskScheduler.Default);
                break;
        }

        var clock = Stopwatch.StartNew();
        try
        {
            var token = client.Acquire(cancellation.Token, timeout);
            Console.WriteLine("ACQUIRED " + clock.ElapsedMilliseconds);
            client.Release(token);
        }
        catch (TimeoutException)
        {
            Console.WriteLine("TIMEOUT " + clock.ElapsedMilliseconds);
            client.Release(only);
        }
        catch (OperationCanceledException)
        {
            Console.WriteLine("CANCELED " + clock.ElapsedMilliseconds);
            client.Release(only);
        }

        var report = pool.Close();
        Console.WriteLine("CLOSE " + report.Expected + " " + report.Found);
        return 0;
    }

    public static int OverRelease(int tokens)
    {
        using var pool = PoolPlatform.CreatePool(tokens);
        using var client = PoolPlatform.Connect(pool.Auth);
        var token = client.Acquire(CancellationToken.None, TimeSpan.FromSeconds(5));
        client.Release(token);
        try
        {
            client.Release(token);
            Console.WriteLine("SECOND-RELEASE ok");
        }
        catch (Exception e)
        {
            Console.WriteLine("SECOND-RELEASE " + e.GetType().Name);
        }

        Console.WriteLine("COUNT " + pool.CountAvailable());
        var report = pool.Close();
        Console.WriteLine("CLOSE " + report.Expected + " " + report.Found);
        return 0;
    }

    public static int CloseHeld(int tokens, int kept)
    {
        var pool = PoolPlatform.CreatePool(tokens);
        using var client = PoolPlatform.Connect(pool.Auth);
        for (var i = 0; i < kept; i++)
        {
            client.Acquire(CancellationToken.None, TimeSpan.FromSeconds(5));
        }

        var report = pool.Close();
        Console.WriteLine("CLOSE " + report.Expected + " " + report.Found + " missing=" + report.Missing);
        return 0;
    }

    public static int Names()
    {
        using var first = PoolPlatform.CreatePool(1);
        using var second = PoolPlatform.CreatePool(1);
        Console.WriteLine("NAME " + first.Auth.Name);
        Console.WriteLine("NAME " + second.Auth.Name);
        return 0;
    }
}
