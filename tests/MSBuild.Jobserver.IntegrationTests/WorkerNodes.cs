namespace MSBuild.Jobserver.IntegrationTests;

/// <summary>
/// MSBuild worker node processes (command line with /nodemode), found through /proc. Used to end, by PID, exactly
/// the reusable nodes a test's builds started: new since a snapshot, and carrying the fixture's marker variable
/// in their environment (another build on the machine may start nodes at the same time).
/// </summary>
internal static class WorkerNodes
{
    /// <summary>The PIDs of every MSBuild worker node now running.</summary>
    public static IReadOnlySet<int> Snapshot()
    {
        var pids = new HashSet<int>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (int.TryParse(Path.GetFileName(dir), out var pid) && Read(Path.Combine(dir, "cmdline")).Contains("nodemode", StringComparison.OrdinalIgnoreCase))
            {
                pids.Add(pid);
            }
        }

        return pids;
    }

    /// <summary>The nodes running now that were not in <paramref name="before"/> and whose environment holds <paramref name="marker"/>.</summary>
    public static IReadOnlyList<int> StartedSince(IReadOnlySet<int> before, string marker)
    {
        var tag = FixtureRepo.MarkerVariable + "=" + marker;
        return Snapshot().Where(pid => !before.Contains(pid))
            .Where(pid => Read($"/proc/{pid}/environ").Split('\0').Contains(tag, StringComparer.Ordinal))
            .ToList();
    }

    /// <summary>The PIDs of every build server now running: worker nodes, the MSBuild server, VBCSCompiler.</summary>
    public static IReadOnlySet<int> BuildServerSnapshot()
    {
        var pids = new HashSet<int>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (int.TryParse(Path.GetFileName(dir), out var pid) && IsBuildServer(Read(Path.Combine(dir, "cmdline"))))
            {
                pids.Add(pid);
            }
        }

        return pids;
    }

    /// <summary>The build servers running now that were not in <paramref name="before"/> and whose environment holds <paramref name="marker"/>.</summary>
    public static IReadOnlyList<BuildServer> BuildServersStartedSince(IReadOnlySet<int> before, string marker)
    {
        var tag = FixtureRepo.MarkerVariable + "=" + marker;
        return BuildServerSnapshot().Where(pid => !before.Contains(pid))
            .Where(pid => Read($"/proc/{pid}/environ").Split('\0').Contains(tag, StringComparer.Ordinal))
            .Select(pid => new BuildServer(pid, Read($"/proc/{pid}/cmdline").Replace('\0', ' ').Trim()))
            .ToList();
    }

    /// <summary>Kills each of <paramref name="pids"/> (only those) and waits for them to go.</summary>
    public static void Kill(IEnumerable<int> pids)
    {
        foreach (var pid in pids)
        {
            try
            {
                using var process = System.Diagnostics.Process.GetProcessById(pid);
                process.Kill();
                process.WaitForExit(10_000);
            }
            catch (ArgumentException)
            {
                // Already gone.
            }
        }
    }

    private static bool IsBuildServer(string commandLine) =>
        commandLine.Contains("nodemode", StringComparison.OrdinalIgnoreCase) || commandLine.Contains("VBCSCompiler", StringComparison.Ordinal);

    private static string Read(string path)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return "";
        }
    }
}

/// <summary>A build server process: its PID and command line.</summary>
internal sealed record BuildServer(int ProcessId, string CommandLine);
