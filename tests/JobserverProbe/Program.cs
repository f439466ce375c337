using System.Diagnostics;
using System.Globalization;
using MSBuild.Jobserver.Commands;
using MSBuild.Jobserver.Platform;
using MSBuild.Jobserver.Protocol;

// Usage:
//   probe inherited <items>                              work through items with the jobserver from the environment;
//                                                        prints OK ... extra=<items done on extra tokens> or REJECTED <reason>
//   probe stress <fifo> <dev:ino> <iterations> <log>     acquire/hold/release, logging "start end" ticks per hold
//   probe load <fifo> <dev:ino> <threads> <iterations> <counter file>
//                                                        threads acquire/release, counting holders in a shared file
//   probe platform                                       prints how Create, Validate and Connect report this platform
//   probe fds                                            prints the descriptors open in this process (diagnostics)
//   probe create-pools <parent> <count>                 creates and closes pools in <parent> one after another (sweeping)
//   probe give-back <dir> <dev:ino> <size> <rounds> <barrier dir> <index> <count>
//                                                        as a node: take a token, meet the others, give it back at once;
//                                                        prints recovered=<n> removed=<n> (the refills it did)
//   probe hold-tool <dir> <dev:ino> <size> <program> [args]  as a node: take a token, start the program sharing its lease,
//                                                        print STARTED <pid>, then hold it until killed
//   probe free-pair <command>                           prints the descriptor pair Exec would open the pool on for <command>
//   probe load-in-background                            prints whether Mono.Unix is loaded before PoolPlatform.LoadInBackground
//                                                        and within 10 s after it, and on which thread (BEFORE=… AFTER=… THREAD=…)
//   probe chaos <dir> <dev:ino> <size> <rounds> <barrier dir> <index> <count> <seed> <log dir>
//                                                        as a node: random holds, extras, killed tools, outliving helpers
//                                                        and over-returns; prints lost=<n> over=<n> problems=<n>
return args[0] switch
{
    "inherited" => Inherited(int.Parse(args[1], CultureInfo.InvariantCulture)),
    "stress" => Stress(args[1], args[2], int.Parse(args[3], CultureInfo.InvariantCulture), args[4]),
    "load" => LoadProbe.Run(args[1], args[2], int.Parse(args[3], CultureInfo.InvariantCulture), int.Parse(args[4], CultureInfo.InvariantCulture), args[5]),
    "platform" => Platform(),
    "fds" => ListDescriptors(),
    "create-pools" => CreatePools(args[1], int.Parse(args[2], CultureInfo.InvariantCulture)),
    "give-back" => LedgerProbe.GiveBack(args[1], args[2], int.Parse(args[3], CultureInfo.InvariantCulture), int.Parse(args[4], CultureInfo.InvariantCulture), args[5], int.Parse(args[6], CultureInfo.InvariantCulture), int.Parse(args[7], CultureInfo.InvariantCulture)),
    "hold-tool" => LedgerProbe.HoldTool(args[1], args[2], int.Parse(args[3], CultureInfo.InvariantCulture), args[4], args.Skip(5).ToArray()),
    "free-pair" => FreePair(args[1]),
    "load-in-background" => LoadInBackground(),
    "chaos" => ChaosProbe.Run(args[1], args[2], int.Parse(args[3], CultureInfo.InvariantCulture), int.Parse(args[4], CultureInfo.InvariantCulture), args[5],
        int.Parse(args[6], CultureInfo.InvariantCulture), int.Parse(args[7], CultureInfo.InvariantCulture), int.Parse(args[8], CultureInfo.InvariantCulture), args[9]),
    _ => 2,
};

static int Inherited(int items)
{
    var advertisement = MakeFlags.FromEnvironment(Environment.GetEnvironmentVariable);
    if (advertisement?.Auth is not { } auth)
    {
        Console.WriteLine("NO-JOBSERVER " + advertisement?.Error);
        return 4;
    }

    var validation = JobserverValidator.Validate(auth, advertisement.VariableName);
    if (!validation.IsValid)
    {
        Console.WriteLine("REJECTED " + validation.Reason + ": " + validation.Message);
        return 3;
    }

    // Like a real tool: the main thread works on the slot this process was started with; helpers take extra tokens.
    using var client = PoolPlatform.Connect(auth, advertisement.VariableName);
    int next = -1, extra = 0;
    using var done = new CancellationTokenSource();
    var helpers = Enumerable.Range(0, 2).Select(_ => Task.Run(() =>
    {
        while (true)
        {
            JobToken token;
            try
            {
                token = client.Acquire(done.Token);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            try
            {
                if (Interlocked.Increment(ref next) >= items)
                {
                    return;
                }

                Interlocked.Increment(ref extra);
                Thread.Sleep(5);
            }
            finally
            {
                client.Release(token);
            }
        }
    })).ToArray();
    while (Interlocked.Increment(ref next) < items)
    {
        Thread.Sleep(5);
    }

    done.Cancel();
    Task.WaitAll(helpers);
    Console.WriteLine("OK " + auth + " extra=" + extra);
    return 0;
}

static int Stress(string fifo, string identity, int iterations, string log)
{
    if (!PipeIdentity.TryParse(identity, out var expected))
    {
        return 2;
    }

    using var client = PoolPlatform.ConnectToValidated(fifo, expected);
    var lines = new List<string>(iterations);
    for (var i = 0; i < iterations; i++)
    {
        var token = client.Acquire(CancellationToken.None, TimeSpan.FromSeconds(30));
        var start = Stopwatch.GetTimestamp();
        Thread.SpinWait(2000);
        var end = Stopwatch.GetTimestamp();
        client.Release(token);
        lines.Add(start.ToString(CultureInfo.InvariantCulture) + " " + end.ToString(CultureInfo.InvariantCulture));
    }

    File.WriteAllLines(log, lines);
    return 0;
}

static int CreatePools(string parent, int count)
{
    for (var i = 0; i < count; i++)
    {
        PoolPlatform.CreatePool(2, parent).Dispose();
    }

    return 0;
}

static int Platform()
{
    var auth = JobserverAuth.Fifo("/nonexistent/fifo");
    Console.WriteLine("Validate " + (JobserverValidator.Validate(auth).Reason?.ToString() ?? "Valid"));
    Report("Connect", () => PoolPlatform.Connect(auth).Dispose());
    Report("Create", () => PoolPlatform.CreatePool(1).Dispose());
    return 0;

    static void Report(string what, Action action)
    {
        try
        {
            action();
            Console.WriteLine(what + " OK");
        }
        catch (JobserverException e)
        {
            Console.WriteLine(what + " " + e.Reason + " " + e.Message);
        }
    }
}

static int FreePair(string command)
{
    Console.WriteLine(MSBuild.Jobserver.Commands.CommandDescriptors.FreePair(command) is { } pair ? pair.Read + "," + pair.Write : "none");
    return 0;
}

static int LoadInBackground()
{
    static bool Loaded() => AppDomain.CurrentDomain.GetAssemblies().Any(a => a.GetName().Name == "Mono.Unix");
    var before = Loaded();
    var loadingThread = -1;
    AppDomain.CurrentDomain.AssemblyLoad += (_, e) =>
    {
        if (e.LoadedAssembly.GetName().Name == "Mono.Unix")
        {
            Volatile.Write(ref loadingThread, Environment.CurrentManagedThreadId);
        }
    };
    PoolPlatform.LoadInBackground();
    PoolPlatform.LoadInBackground();

    // Wait for the load event itself: the assembly can be listed before its handler has run.
    var clock = Stopwatch.StartNew();
    while (Volatile.Read(ref loadingThread) == -1 && clock.Elapsed < TimeSpan.FromSeconds(10))
    {
        Thread.Sleep(5);
    }

    var thread = loadingThread == -1 ? "none" : loadingThread == Environment.CurrentManagedThreadId ? "caller" : "other";
    Console.WriteLine("BEFORE=" + before + " AFTER=" + Loaded() + " THREAD=" + thread);
    return 0;
}

static int ListDescriptors()
{
    foreach (var fd in Directory.GetFileSystemEntries("/proc/self/fd").OrderBy(f => f.Length).ThenBy(f => f, StringComparer.Ordinal))
    {
        Console.WriteLine(Path.GetFileName(fd) + " -> " + new FileInfo(fd).LinkTarget);
    }

    return 0;
}
