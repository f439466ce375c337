using System.Diagnostics;
using System.Globalization;
using MSBuild.Jobserver.Platform;
using MSBuild.Jobserver.Protocol;
using WindowsProbe;

// Each command prints "KEY value" lines that the Windows tests read. Times are milliseconds since the Unix epoch, so
// that intervals logged by several processes compare.
//   acquire <n>                     a pool of n: take all, one more fails, counts while empty and full, close report
//   wait <timeout|cancel|release>   a wait on an empty pool ends by its timeout, its cancellation or a release
//   over-release <n>                release one token more than was taken
//   close-held <n> <k>              close while k tokens are held
//   names                           the names of two pools of one process
//   semaphore-facts <n>             the semaphore's maximum count, and how many handles to it a child sees
//   count-handles <name>            (the child) handles in this process named like the semaphore
//   serve                           create a pool, print its MAKEFLAGS and exit (a make that has gone)
//   validate <MAKEFLAGS value>      how an inherited value is judged here
//   run-with-pool <n> <program> [args]   run a program with the pool in CARGO_MAKEFLAGS; close report after it
//   hold <threads> <hold-ms> <log>  join the pool from the environment; each thread takes a token, holds and logs it
//   tool <hold-ms> <log> [extra [die]]   the jobserver-aware tool of the end-to-end builds (see ToolProbe)
//   ledger-orphan <dir>             a killed node's orphaned tool keeps its token until it ends (see LedgerOrphan)
//   hold-tool <pool dir> <semaphore> <args>   (the node) take a token, start this program with args, wait
//   sleep-mark <ms> <file>          (the tool) sleep, then create the file
return args[0] switch
{
    "acquire" => PoolChecks.Acquire(Number(args[1])),
    "wait" => PoolChecks.Wait(args[1]),
    "over-release" => PoolChecks.OverRelease(Number(args[1])),
    "close-held" => PoolChecks.CloseHeld(Number(args[1]), Number(args[2])),
    "names" => PoolChecks.Names(),
    "semaphore-facts" => SemaphoreFacts.Describe(Number(args[1])),
    "count-handles" => SemaphoreFacts.CountHandles(args[1]),
    "serve" => Serve(),
    "validate" => Validate(args[1]),
    "run-with-pool" => RunWithPool(Number(args[1]), args[2], args[3..]),
    "hold" => Hold(Number(args[1]), Number(args[2]), args[3]),
    "tool" => ToolProbe.Run(args[1..]),
    "ledger-orphan" => LedgerOrphan.Run(args[1]),
    "hold-tool" => LedgerOrphan.HoldTool(args[1], args[2], args[3..]),
    "sleep-mark" => LedgerOrphan.SleepMark(Number(args[1]), args[2]),
    _ => 2,
};

static int Number(string text) => int.Parse(text, CultureInfo.InvariantCulture);

static int Serve()
{
    using var pool = PoolPlatform.CreatePool(2);
    Console.WriteLine("MAKEFLAGS " + MakeFlags.Format(pool.Auth, 2));
    return 0;
}

static int Validate(string value)
{
    var advertisement = MakeFlags.Parse("MAKEFLAGS", value);
    if (advertisement.Auth is not { } auth)
    {
        Console.WriteLine("UNPARSABLE " + advertisement.Error);
        return 0;
    }

    var validation = JobserverValidator.Validate(auth, "MAKEFLAGS");
    Console.WriteLine(validation.IsValid ? "VALID" : "INVALID " + validation.Reason);
    Console.WriteLine("MESSAGE " + validation.Message);
    return 0;
}

static int RunWithPool(int tokens, string program, string[] arguments)
{
    using var pool = PoolPlatform.CreatePool(tokens);
    var start = new ProcessStartInfo(program) { UseShellExecute = false };
    foreach (var argument in arguments)
    {
        start.ArgumentList.Add(argument);
    }

    start.Environment["CARGO_MAKEFLAGS"] = MakeFlags.Format(pool.Auth, tokens);
    using (var child = Process.Start(start)!)
    {
        child.WaitForExit();
        Console.WriteLine("CHILD " + child.ExitCode);
    }

    var report = pool.Close();
    Console.WriteLine("CLOSE " + report.Expected + " " + report.Found);
    return 0;
}

static int Hold(int threads, int holdMs, string log)
{
    var advertisement = MakeFlags.FromEnvironment(Environment.GetEnvironmentVariable);
    if (advertisement?.Auth is not { } auth)
    {
        Console.WriteLine("NO-JOBSERVER");
        return 4;
    }

    var validation = JobserverValidator.Validate(auth, advertisement.VariableName);
    if (!validation.IsValid)
    {
        Console.WriteLine("INVALID " + validation.Reason);
        return 3;
    }

    using var client = PoolPlatform.Connect(auth, advertisement.VariableName);
    var lines = new System.Collections.Concurrent.ConcurrentQueue<string>();
    // Threads of their own: pool threads would be injected one by one and hide the pool's width.
    var workers = Enumerable.Range(0, threads).Select(_ => new Thread(() =>
    {
        var token = client.Acquire(CancellationToken.None, TimeSpan.FromSeconds(30));
        var start = Clock.Now();
        Thread.Sleep(holdMs);
        var end = Clock.Now();
        client.Release(token);
        lines.Enqueue(start + " " + end);
    })).ToList();
    workers.ForEach(w => w.Start());
    workers.ForEach(w => w.Join());
    File.AppendAllLines(log, lines);
    Console.WriteLine("OK " + threads);
    return 0;
}
