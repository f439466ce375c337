using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;

namespace MSBuild.Jobserver.IntegrationTests;

/// <summary>
/// What the reliability tests (issue 5) need beyond <see cref="FixtureRepo.Run"/>: a build started in the background
/// (to signal or kill it while tools run), the process tree below it from /proc, a RUSTC_WRAPPER that holds its slot
/// until killed, crates heavy enough that rustc is still running when the signal comes, and interval logs that may
/// end with jobs that were killed.
/// </summary>
internal static class ReliabilitySupport
{
    /// <summary>The variable naming the log the slow wrapper appends "S pid crate time jobserver" to.</summary>
    public const string SlowLogVariable = "JBS_SLOW_LOG";

    /// <summary>
    /// A RUSTC_WRAPPER for fixture crates that never finish on their own: logs its start, then sleeps in place of the
    /// compile (exec, so the logged pid is the sleeping process). The slot cargo gave it stays taken until it is killed.
    /// </summary>
    public const string SlowWrapperScript = $$"""
        #!/bin/sh
        # A RUSTC_WRAPPER whose fixture-crate compiles never end: each holds its jobserver slot until it is killed.
        {{IntervalLog.FixtureCratesOnly}}
        echo "S $$ $crate $(date +%s.%N) ${CARGO_MAKEFLAGS:-}" >> "$JBS_SLOW_LOG"
        exec sleep 300

        """;

    /// <summary>
    /// <c>selfkill.sh WRAPPER N</c>: a tool that dies by SIGKILL on its own. Runs cargo with the slow wrapper, waits
    /// until N compiles hold slots, kills cargo with SIGKILL (as a crash or the OOM killer would), then the compiles
    /// it left, and exits 0: the build sees a tool that simply ended.
    /// </summary>
    public const string SelfKillScript = """
        #!/bin/sh
        # selfkill.sh WRAPPER N: cargo holding N slots dies by SIGKILL, then its orphaned compiles are ended too.
        RUSTC_WRAPPER=$1 cargo build --offline &
        cargo=$!
        i=0
        until n=$(grep -c '^S ' "$JBS_SLOW_LOG" 2>/dev/null); [ "${n:-0}" -ge "$2" ]; do
          i=$((i + 1))
          [ "$i" -gt 1200 ] && break
          sleep 0.1
        done
        kill -9 "$cargo"
        wait "$cargo"
        for pid in $(awk '{print $2}' "$JBS_SLOW_LOG"); do kill -9 "$pid" 2>/dev/null; done
        echo "selfkill: cargo $cargo killed with $(grep -c '^S ' "$JBS_SLOW_LOG") compile(s) running"
        exit 0

        """;

    private static int _runs;

    /// <summary>Writes the slow wrapper and selfkill.sh into the fixture; returns the wrapper's path.</summary>
    public static string AddSlowTools(FixtureRepo repo)
    {
        repo.Write("slow-wrapper.sh", SlowWrapperScript);
        repo.Write("selfkill.sh", SelfKillScript);
        foreach (var script in new[] { "slow-wrapper.sh", "selfkill.sh" })
        {
            File.SetUnixFileMode(Path.Combine(repo.Root, script), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }

        return Path.Combine(repo.Root, "slow-wrapper.sh");
    }

    /// <summary>
    /// A workspace of <paramref name="crates"/> crates, each <paramref name="copies"/> times the usual source (in
    /// modules): rustc needs many seconds for one, so compiles are still running when a test signals the build.
    /// </summary>
    public static void WriteHeavyWorkspace(string directory, string tag, int crates, int copies)
    {
        var names = CrateGenerator.WriteWorkspace(directory, tag, crates);
        for (var i = 0; i < names.Count; i++)
        {
            var source = new StringBuilder();
            for (var copy = 0; copy < copies; copy++)
            {
                source.Append(CultureInfo.InvariantCulture, $"pub mod m{copy} {{\n{CrateGenerator.LibrarySource(i + copy)}}}\n");
            }

            File.WriteAllText(Path.Combine(directory, names[i], "src", "lib.rs"), source.ToString());
        }
    }

    /// <summary>Adds <c>{name}/{name}.csproj</c> running <c>cargo build</c> on a heavy workspace (<see cref="WriteHeavyWorkspace"/>); returns its relative path.</summary>
    public static string AddHeavyCargoProject(FixtureRepo repo, string name, int crates, int copies)
    {
        WriteHeavyWorkspace(Path.Combine(repo.Root, name, "ws"), name, crates, copies);
        return repo.AddProject(name, PackageUse.PackageReference, "", FixtureRepo.CargoBuildTarget);
    }

    /// <summary>Starts <c>dotnet build</c> of <paramref name="entry"/> in the background with the fixture's build environment.</summary>
    public static BackgroundBuild StartBuild(FixtureRepo repo, string entry, BuildOptions options, string? tempDirectory = null) => Start(repo, "dotnet", FixtureRepo.BuildArguments(entry, options), options, tempDirectory);

    /// <summary>Starts <paramref name="file"/> in the fixture's directory with the build environment (as FixtureRepo.Run does).</summary>
    public static BackgroundBuild Start(FixtureRepo repo, string file, IReadOnlyList<string> args, BuildOptions options, string? tempDirectory = null)
    {
        var label = "r" + Interlocked.Increment(ref _runs).ToString("00", CultureInfo.InvariantCulture);
        tempDirectory ??= Path.Combine(repo.Root, "tmp-" + label);
        Directory.CreateDirectory(tempDirectory);
        var logs = Path.Combine(repo.Root, "logs");
        Directory.CreateDirectory(logs);
        var intervals = Path.Combine(logs, $"intervals-{label}.log");
        var output = Path.Combine(logs, $"build-{label}.log");

        var info = ProcessRunner.StartInfo(file, args, repo.Root, output, repo.BuildEnvironment(tempDirectory, intervals, options));
        var clock = Stopwatch.StartNew();
        var process = Process.Start(info) ?? throw new InvalidOperationException("could not start " + file);
        return new BackgroundBuild(process, clock, output, intervals, tempDirectory);
    }

    /// <summary>Every process below <paramref name="pid"/> now, with its start time (to tell a reused pid apart) and name.</summary>
    public static IReadOnlyList<ProcessEntry> Descendants(int pid)
    {
        var all = new List<ProcessEntry>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (int.TryParse(Path.GetFileName(dir), out var id) && Read(id) is { } entry)
            {
                all.Add(entry);
            }
        }

        var result = new List<ProcessEntry>();
        var frontier = new Queue<int>(new[] { pid });
        while (frontier.Count > 0)
        {
            var parent = frontier.Dequeue();
            foreach (var child in all.Where(p => p.ParentPid == parent))
            {
                result.Add(child);
                frontier.Enqueue(child.Pid);
            }
        }

        return result;
    }

    /// <summary>The ones of <paramref name="processes"/> still running (same pid and start time, not a zombie).</summary>
    public static IReadOnlyList<ProcessEntry> StillRunning(IEnumerable<ProcessEntry> processes) =>
        processes.Where(p => Read(p.Pid) is { } now && now.StartTime == p.StartTime && now.State != 'Z').ToList();

    /// <summary>Kills (SIGKILL) those of <paramref name="processes"/> that still run: only processes a test started.</summary>
    public static void KillSurvivors(IEnumerable<ProcessEntry> processes)
    {
        foreach (var process in StillRunning(processes))
        {
            kill(process.Pid, 9);
        }
    }

    /// <summary>Sends <paramref name="signal"/> to one process.</summary>
    public static void Signal(int pid, int signal) => Assert.AreEqual(0, kill(pid, signal), $"kill({pid}, {signal}) failed");

    /// <summary>The lines "S pid crate ..." of a log written by the slow wrapper (or the start lines of any interval log).</summary>
    public static IReadOnlyList<string[]> Starts(string path) =>
        File.Exists(path) ? File.ReadAllLines(path).Where(l => l.StartsWith("S ", StringComparison.Ordinal)).Select(l => l.Split(' ')).ToList() : Array.Empty<string[]>();

    /// <summary>Waits until <paramref name="condition"/> holds, polling; false after <paramref name="timeout"/>.</summary>
    public static bool WaitFor(Func<bool> condition, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            if (clock.Elapsed > timeout)
            {
                return false;
            }

            Thread.Sleep(100);
        }

        return true;
    }

    /// <summary>Open descriptors of a process (entries of /proc/PID/fd); -1 when it is gone.</summary>
    public static int OpenDescriptors(int pid)
    {
        try
        {
            return Directory.GetFileSystemEntries($"/proc/{pid}/fd").Length;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return -1;
        }
    }

    /// <summary>What each open descriptor of a process points at (readlink of /proc/PID/fd/N); empty when it is gone.</summary>
    public static IReadOnlyList<string> DescriptorTargets(int pid)
    {
        try
        {
            return Directory.GetFileSystemEntries($"/proc/{pid}/fd").Select(fd => new FileInfo(fd).LinkTarget ?? "?").ToList();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return Array.Empty<string>();
        }
    }

    /// <summary>A process's command line, arguments joined by spaces; "" when it is gone.</summary>
    public static string CommandLine(int pid)
    {
        try
        {
            return File.ReadAllText($"/proc/{pid}/cmdline").TrimEnd('\0').Replace('\0', ' ');
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return "";
        }
    }

    private static ProcessEntry? Read(int pid)
    {
        try
        {
            // "pid (comm) state ppid ... starttime(22nd)": comm may hold spaces, so split after the last ')'.
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var close = stat.LastIndexOf(')');
            var name = stat[(stat.IndexOf('(') + 1)..close];
            var fields = stat[(close + 2)..].Split(' ');
            return new ProcessEntry(pid, int.Parse(fields[1], CultureInfo.InvariantCulture), name, fields[0][0], fields[19]);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
        {
            return null;
        }
    }

    [DllImport("libc", SetLastError = true)]
    private static extern int kill(int pid, int signal);
}

/// <summary>A process seen in /proc: pid, parent, name (comm), state letter, start time in clock ticks.</summary>
internal sealed record ProcessEntry(int Pid, int ParentPid, string Name, char State, string StartTime)
{
    public override string ToString() => $"{Name}({Pid})";
}

/// <summary>A build running in the background.</summary>
internal sealed class BackgroundBuild : IDisposable
{
    private readonly Stopwatch _clock;

    public BackgroundBuild(Process process, Stopwatch clock, string outputFile, string intervalLogPath, string tempDirectory)
    {
        Process = process;
        _clock = clock;
        OutputFile = outputFile;
        IntervalLogPath = intervalLogPath;
        TempDirectory = tempDirectory;
    }

    /// <summary>The entry process (sh exec'd into dotnet).</summary>
    public Process Process { get; }

    public string OutputFile { get; }

    public string IntervalLogPath { get; }

    public string TempDirectory { get; }

    /// <summary>The package's private directory in this build's TMPDIR.</summary>
    public string PrivateDirectory => LeftoverCheck.PrivateDirectory(TempDirectory);

    /// <summary>Lease files in the build's pool directories now: one per token asked for or held.</summary>
    public int Leases => Directory.Exists(PrivateDirectory) ? Directory.GetFiles(PrivateDirectory, "lease-*", SearchOption.AllDirectories).Length : 0;

    /// <summary>Waits for the build to end; kills its tree and fails after <paramref name="timeout"/>.</summary>
    public BuildRun WaitForExit(TimeSpan timeout)
    {
        if (!Process.WaitForExit(timeout))
        {
            Process.Kill(entireProcessTree: true);
            Process.WaitForExit();
            Assert.Fail($"the build did not end within {timeout.TotalSeconds:0} s and was killed; output in {OutputFile}");
        }

        Process.WaitForExit();
        _clock.Stop();
        var outcome = new ProcessOutcome(Process.ExitCode, ReadOutput(), _clock.Elapsed, OutputFile);
        return new BuildRun(outcome, CompletedIntervals(), TempDirectory);
    }

    /// <summary>What the build printed so far.</summary>
    public string ReadOutput()
    {
        using var stream = new FileStream(OutputFile, FileMode.OpenOrCreate, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    public void Dispose()
    {
        if (!Process.HasExited)
        {
            Process.Kill(entireProcessTree: true);
            Process.WaitForExit();
        }

        Process.Dispose();
    }

    // The intervals that ended (a build that was stopped leaves compiles without an end: those are not read).
    private IReadOnlyList<Interval> CompletedIntervals()
    {
        if (!File.Exists(IntervalLogPath))
        {
            return Array.Empty<Interval>();
        }

        var lines = File.ReadAllLines(IntervalLogPath).Where(l => l.Length > 0).ToList();
        var ended = lines.Where(l => l.StartsWith("E ", StringComparison.Ordinal)).Select(l => string.Join(' ', l.Split(' ').Skip(1).Take(2))).ToHashSet();
        var kept = lines.Where(l => ended.Contains(string.Join(' ', l.Split(' ').Skip(1).Take(2)))).ToList();
        var path = IntervalLogPath + ".completed";
        File.WriteAllLines(path, kept);
        return IntervalLog.Read(path);
    }
}
