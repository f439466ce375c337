using System.Diagnostics;
using System.Globalization;

namespace MSBuild.Jobserver.Tests;

/// <summary>Processes, temporary directories and the overlap measurement the real-peer tests share.</summary>
internal static class TestSupport
{
    /// <summary>The checkout the tests were built from.</summary>
    public static string RepositoryRoot()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "MSBuild.Jobserver.sln")))
        {
            directory = directory.Parent;
        }

        Assert.IsNotNull(directory, "the tests run outside the repository");
        return directory.FullName;
    }

    public static string ProbeDll => Path.Combine(AppContext.BaseDirectory, "JobserverProbe.dll");

    public static string NewTempDirectory(string name)
    {
        var path = Path.Combine(Path.GetTempPath(), "jbs-tests", name + "-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(path);
        return path;
    }

    /// <summary>Writes <paramref name="lines"/> to <paramref name="path"/>, each ended by '\n' (a Makefile or script needs no '\r').</summary>
    public static void WriteLines(string path, params string[] lines) => File.WriteAllText(path, string.Concat(lines.Select(l => l + "\n")));

    public static bool HasTool(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(':').Any(d => d.Length > 0 && File.Exists(Path.Combine(d, name)));

    /// <summary>Runs a command to completion; kills it (and fails) after <paramref name="timeout"/>.</summary>
    public static ProcessResult Run(string file, IEnumerable<string> args, IDictionary<string, string?>? environment = null, string? workingDirectory = null, TimeSpan? timeout = null)
    {
        var info = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? Environment.CurrentDirectory,
        };
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        // The test host may itself run under make or cargo; never let a real parent jobserver leak into a peer.
        foreach (var name in new[] { "MAKEFLAGS", "MFLAGS", "CARGO_MAKEFLAGS", "MAKELEVEL" })
        {
            info.Environment.Remove(name);
        }

        foreach (var (key, value) in environment ?? new Dictionary<string, string?>())
        {
            info.Environment[key] = value;
        }

        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(timeout ?? TimeSpan.FromSeconds(60)))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail(file + " " + string.Join(' ', info.ArgumentList) + " did not finish in time.");
        }

        process.WaitForExit();
        return new ProcessResult(process.ExitCode, stdout.Result, stderr.Result);
    }

    /// <summary>Asks <paramref name="probe"/> every 100 ms until <paramref name="done"/> says yes or <paramref name="timeout"/> passes; returns the last answer.</summary>
    public static T WaitFor<T>(Func<T> probe, Func<T, bool> done, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var value = probe();
            if (done(value) || clock.Elapsed > timeout)
            {
                return value;
            }

            Thread.Sleep(100);
        }
    }

    /// <summary>Whether <paramref name="done"/> came true within <paramref name="timeout"/> (asked every 100 ms).</summary>
    public static bool WaitFor(Func<bool> done, TimeSpan timeout) => WaitFor(done, d => d, timeout);

    /// <summary>Lines "start end" (any unit, same clock for all) → the largest number of intervals open at once.</summary>
    public static int MaxOverlap(IEnumerable<string> lines)
    {
        var events = new List<(double Time, int Delta)>();
        foreach (var line in lines.Where(l => l.Trim().Length > 0))
        {
            var parts = line.Trim().Split(' ');
            var start = double.Parse(parts[0], CultureInfo.InvariantCulture);
            var end = double.Parse(parts[1], CultureInfo.InvariantCulture);
            Assert.IsTrue(start <= end, "interval ends before it starts: " + line);
            events.Add((start, +1));
            events.Add((end, -1));
        }

        // At equal times an end comes first: touching intervals do not overlap.
        var open = 0;
        var max = 0;
        foreach (var e in events.OrderBy(e => e.Time).ThenBy(e => e.Delta))
        {
            open += e.Delta;
            max = Math.Max(max, open);
        }

        return max;
    }
}

internal sealed record ProcessResult(int ExitCode, string Stdout, string Stderr)
{
    public override string ToString() => "exit " + ExitCode + "\nstdout:\n" + Stdout + "\nstderr:\n" + Stderr;
}
