using MSBuild.Jobserver.Platform;
using MSBuild.Jobserver.Protocol;

namespace WindowsProbe;

/// <summary>
/// The jobserver-aware tool of the end-to-end builds, started by a hooked Exec under cmd.exe. It runs on the slot
/// the build gave it, optionally takes extra tokens from the pool handed over in CARGO_MAKEFLAGS (as many as it gets within 15 s), and writes one
/// line per held slot, "start end", to its own file in the log directory ("pid.log"), after a first line saying
/// what it inherited. With "die" it ends abruptly (TerminateProcess) while holding its extra tokens.
/// </summary>
internal static class ToolProbe
{
    public static int Run(string[] args)
    {
        var start = Clock.Now();
        var holdMs = int.Parse(args[0], System.Globalization.CultureInfo.InvariantCulture);
        var log = Path.Combine(args[1], Environment.ProcessId + ".log");
        var extra = args.Length > 2 ? int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 0;
        var die = args.Length > 3 && args[3] == "die";
        var lines = new List<string> { Describe("CARGO_MAKEFLAGS") + " " + Describe("MAKEFLAGS") };

        var advertised = MakeFlags.FromEnvironment(Environment.GetEnvironmentVariable);
        var client = advertised?.Auth is { } auth ? PoolPlatform.Connect(auth, advertised.VariableName) : null;
        var extras = new List<(JobToken Token, long Start)>();
        try
        {
            for (var i = 0; i < extra && client is not null; i++)
            {
                extras.Add((client.Acquire(CancellationToken.None, TimeSpan.FromSeconds(15)), Clock.Now()));
            }
        }
        catch (TimeoutException)
        {
            // Tokens missing from the pool: the line below says how many this tool got.
        }

        lines.Add("EXTRA " + extras.Count);
        if (die)
        {
            File.WriteAllLines(log, lines);
            Environment.FailFast("tool killed while holding " + extras.Count + " token(s)");
        }

        Thread.Sleep(holdMs);
        foreach (var (token, taken) in extras)
        {
            lines.Add(taken + " " + Clock.Now());
            client!.Release(token);
        }

        lines.Add(start + " " + Clock.Now());
        client?.Dispose();
        File.WriteAllLines(log, lines);
        return 0;
    }

    private static string Describe(string variable)
    {
        var value = Environment.GetEnvironmentVariable(variable);
        if (value is null)
        {
            return variable + "=none";
        }

        var advertised = MakeFlags.Parse(variable, value);
        if (advertised.Auth is not { } auth)
        {
            return variable + "=unparsable";
        }

        var validation = JobserverValidator.Validate(auth, variable);
        return variable + "=" + (validation.IsValid ? "valid:" + auth.ToAuthString() : "invalid:" + validation.Reason);
    }
}
