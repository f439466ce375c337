using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace MSBuild.Jobserver.IntegrationTests;

/// <summary>
/// sccache (Debian 12's 0.4) as a fixture's RUSTC_WRAPPER, with a private cache directory and a private server port,
/// so its server is the one the fixture's first compile starts and no other build's. RUSTC is the logging rustc, so
/// the compiles the server runs are measured. Disposing stops that server: by its port, then by its PID.
/// </summary>
internal sealed class Sccache : IDisposable
{
    /// <summary>Debian's sccache (apt-get install sccache).</summary>
    public const string Executable = "/usr/bin/sccache";

    private readonly FixtureRepo _repo;
    private readonly string _port;

    public Sccache(FixtureRepo repo)
    {
        _repo = repo;
        _port = FreePort().ToString(CultureInfo.InvariantCulture);
        Environment = new Dictionary<string, string?>
        {
            ["RUSTC_WRAPPER"] = Executable,
            ["RUSTC"] = OldClientFixtures.LoggedRustc(repo),
            ["SCCACHE_DIR"] = Path.Combine(repo.Root, "sccache"),
            ["SCCACHE_SERVER_PORT"] = _port,
            // A server a failed test could not stop ends by itself.
            ["SCCACHE_IDLE_TIMEOUT"] = "300",
        };
    }

    /// <summary>The variables a build needs to compile through this sccache.</summary>
    public IReadOnlyDictionary<string, string?> Environment { get; }

    /// <summary>The PID of the server listening on this fixture's port, if one runs.</summary>
    public int? ServerPid()
    {
        var tag = "SCCACHE_SERVER_PORT=" + _port;
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid) || ReadText(Path.Combine(dir, "comm")).Trim() != "sccache"
                || ReadText(Path.Combine(dir, "stat")).Contains(") Z ", StringComparison.Ordinal))
            {
                continue;
            }

            var environ = ReadText(Path.Combine(dir, "environ")).Split('\0');
            if (environ.Contains(tag, StringComparer.Ordinal) && environ.Contains("SCCACHE_START_SERVER=1", StringComparer.Ordinal))
            {
                return pid;
            }
        }

        return null;
    }

    /// <summary>The server's counters, one line (for the test's output).</summary>
    public string Stats()
    {
        var outcome = Client("--show-stats");
        return string.Join("; ", outcome.Output.Split('\n').Where(l => l.StartsWith("Compile requests", StringComparison.Ordinal) || l.StartsWith("Cache hits", StringComparison.Ordinal) || l.StartsWith("Cache misses", StringComparison.Ordinal))
            .Select(l => string.Join(' ', l.Split(' ', StringSplitOptions.RemoveEmptyEntries))));
    }

    /// <summary>Stops the server: `sccache --stop-server` on its port, then SIGKILL by PID if it is still there.</summary>
    public void Dispose()
    {
        var pid = ServerPid();
        if (pid is null)
        {
            return;
        }

        Client("--stop-server");
        if (!ReliabilitySupport.WaitFor(() => ServerPid() is null, TimeSpan.FromSeconds(10)))
        {
            WorkerNodes.Kill(new[] { pid.Value });
        }
    }

    private ProcessOutcome Client(string argument) =>
        ProcessRunner.Run(Executable, new[] { argument }, _repo.Root, Path.Combine(_repo.Root, "logs", "sccache" + argument + ".log"),
            Environment.ToDictionary(p => p.Key, p => p.Value), TimeSpan.FromSeconds(60));

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static string ReadText(string path)
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
