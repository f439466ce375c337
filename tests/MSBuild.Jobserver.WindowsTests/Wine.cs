using System.Diagnostics;

namespace MSBuild.Jobserver.WindowsTests;

/// <summary>
/// Runs Windows programs under wine in the tier's own prefix (artifacts/windows/prefix), and stops that prefix's
/// wineserver when the run ends, whatever happened: a crashed run can leave a cmd.exe that keeps it alive.
/// </summary>
internal static class Wine
{
    /// <summary>The prefix of this repository's Windows tier, created on first use (~10 s, ~0.7 GB).</summary>
    public static string Prefix => Path.Combine(WindowsArtifacts.WorkDirectory, "prefix");

    /// <summary>Whether this machine can run the tier; the reason when it cannot.</summary>
    public static string? Missing()
    {
        if (!OperatingSystem.IsLinux())
        {
            return "the Windows tier runs Windows programs under wine on Linux";
        }

        foreach (var file in new[] { "/usr/bin/wine", "/usr/bin/wineserver", "/usr/bin/wineboot" })
        {
            if (!File.Exists(file))
            {
                return file + " is missing (build/ci/windows.sh installs it)";
            }
        }

        return null;
    }

    /// <summary>Creates the prefix if it does not exist yet.</summary>
    public static void EnsurePrefix()
    {
        if (File.Exists(Path.Combine(Prefix, "system.reg")))
        {
            return;
        }

        Directory.CreateDirectory(Prefix);
        // Without wine's Mono and Gecko: nothing here needs them, and their installers would want a display.
        var environment = Environment();
        environment["WINEDLLOVERRIDES"] = "mscoree,mshtml=";
        var boot = Host.Run("/usr/bin/wineboot", new[] { "-i" }, environment, TimeSpan.FromMinutes(3), cleanEnvironment: true);
        Assert.IsTrue(boot.ExitCode == 0 && File.Exists(Path.Combine(Prefix, "system.reg")), "wineboot -i failed: " + boot);
    }

    /// <summary>Runs a Windows program to its end; <paramref name="variables"/> are added to its environment.</summary>
    public static ProcessResult Run(string program, IEnumerable<string> args, IDictionary<string, string?>? variables = null, TimeSpan? timeout = null)
    {
        var environment = Environment();
        foreach (var (name, value) in variables ?? new Dictionary<string, string?>())
        {
            environment[name] = value;
        }

        return Host.Run("/usr/bin/wine", new[] { program }.Concat(args), environment, timeout ?? TimeSpan.FromMinutes(2), cleanEnvironment: true);
    }

    /// <summary>The Windows form of a Linux path (wine maps Z: to /).</summary>
    public static string WindowsPath(string path) => "Z:" + path.Replace('/', '\\');

    /// <summary>Ends every process of the prefix and its wineserver.</summary>
    public static void StopServer()
    {
        if (Directory.Exists(Prefix))
        {
            Host.Run("/usr/bin/wineserver", new[] { "-k" }, Environment(), TimeSpan.FromSeconds(30), cleanEnvironment: true);
        }
    }

    private static Dictionary<string, string?> Environment() => new()
    {
        ["WINEPREFIX"] = Prefix,
        ["WINEDEBUG"] = "-all",
        // The CLR under wine crashes with W^X when MSBuild starts a second node process.
        ["DOTNET_EnableWriteXorExecute"] = "0",
    };
}

/// <summary>Runs a Linux process to its end with a timeout; output is collected from both streams.</summary>
internal static class Host
{
    /// <summary>
    /// Runs <paramref name="program"/>; with <paramref name="cleanEnvironment"/> it sees only PATH, HOME and the given
    /// variables: wine hands the whole Linux environment to Windows programs, and the test host's own .NET settings
    /// make a self-contained win-x64 app fail to load its runtime.
    /// </summary>
    public static ProcessResult Run(string program, IEnumerable<string> args, IDictionary<string, string?> environment, TimeSpan timeout,
        string? workingDirectory = null, bool cleanEnvironment = false)
    {
        var start = new ProcessStartInfo(program)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? WindowsArtifacts.WorkDirectory,
        };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        if (cleanEnvironment)
        {
            start.Environment.Clear();
            foreach (var name in new[] { "PATH", "HOME", "USER", "LANG" })
            {
                start.Environment[name] = System.Environment.GetEnvironmentVariable(name);
            }
        }

        foreach (var (name, value) in environment)
        {
            start.Environment[name] = value;
        }

        var output = new System.Text.StringBuilder();
        var clock = Stopwatch.StartNew();
        using var process = new Process { StartInfo = start };
        process.OutputDataReceived += (_, e) => Append(output, e.Data);
        process.ErrorDataReceived += (_, e) => Append(output, e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        if (!process.WaitForExit(timeout))
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit();
            Assert.Fail($"{program} {string.Join(' ', args)} did not end within {timeout.TotalSeconds:0} s:\n{output}");
        }

        process.WaitForExit();
        return new ProcessResult(process.ExitCode, output.ToString(), clock.Elapsed);
    }

    private static void Append(System.Text.StringBuilder output, string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (output)
        {
            output.AppendLine(line);
        }
    }
}
