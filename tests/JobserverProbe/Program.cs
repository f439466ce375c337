using System.Diagnostics;
using System.Globalization;
using MSBuild.Jobserver.Protocol;

// Usage:
//   probe inherited <iterations>                         take the jobserver from the environment; prints OK or REJECTED <reason>
//   probe stress <fifo> <dev:ino> <iterations> <log>     acquire/hold/release, logging "start end" ticks per hold
//   probe fds                                            prints the descriptors open in this process (diagnostics)
return args[0] switch
{
    "inherited" => Inherited(int.Parse(args[1], CultureInfo.InvariantCulture)),
    "stress" => Stress(args[1], args[2], int.Parse(args[3], CultureInfo.InvariantCulture), args[4]),
    "fds" => ListDescriptors(),
    _ => 2,
};

static int Inherited(int iterations)
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

    using var client = JobserverClient.Connect(auth, advertisement.VariableName);
    for (var i = 0; i < iterations; i++)
    {
        var token = client.Acquire(CancellationToken.None, TimeSpan.FromSeconds(30));
        Thread.Sleep(1);
        client.Release(token);
    }

    Console.WriteLine("OK " + auth);
    return 0;
}

static int Stress(string fifo, string identity, int iterations, string log)
{
    if (!PipeIdentity.TryParse(identity, out var expected))
    {
        return 2;
    }

    using var client = JobserverClient.ConnectToValidated(fifo, expected);
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

static int ListDescriptors()
{
    foreach (var fd in Directory.GetFileSystemEntries("/proc/self/fd").OrderBy(f => f.Length).ThenBy(f => f, StringComparer.Ordinal))
    {
        Console.WriteLine(Path.GetFileName(fd) + " -> " + new FileInfo(fd).LinkTarget);
    }

    return 0;
}
