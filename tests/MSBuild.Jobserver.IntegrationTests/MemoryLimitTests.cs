using System.Globalization;

namespace MSBuild.Jobserver.IntegrationTests;

/// <summary>
/// Issue 20, JobserverMinFreeMemory: a <c>dotnet build -m:2</c> of four cargo projects runs in a memory cgroup (v1,
/// as root) limited to <see cref="LimitMiB"/>. Every compile first needs <see cref="CompileMiB"/> (a RUSTC_WRAPPER
/// allocates and touches it, holds it, frees it, then runs rustc), so three at once exceed the limit with the build's
/// own processes. With the threshold the pool hands out no new token while less than <see cref="ThresholdMiB"/> is
/// available and a compile runs: no compile is OOM-killed and the build passes. The threshold is above what is free
/// when the build starts: the gate sees memory only once a compile has taken it, so compiles that start in the same
/// instant all see the memory free before them (a first run with 2200 MiB started three within 0.4 s: one was
/// OOM-killed); above it, once a compile runs the next waits. Without it, the kernel's OOM killer
/// ends compiles (the run says how many) and the build fails.
/// </summary>
[TestClass]
public sealed class MemoryLimitTests : EndToEndTest
{
    private const int LimitMiB = 3000;
    private const int CompileMiB = 1000;
    private const int ThresholdMiB = 2950;
    private const string CgroupRoot = "/sys/fs/cgroup/memory";

    private const string HogWrapperScript = $$"""
        #!/bin/sh
        # RUSTC_WRAPPER: each compile of a fixture crate first needs $JBS_HOG_MIB MiB for $JBS_HOG_SECONDS s (allocated and
        # touched), logged as its interval; a compile whose allocation is killed (OOM) is logged to $JBS_HOG_LOG and fails.
        {{IntervalLog.FixtureCratesOnly}}
        echo "S $$ $crate $(date +%s.%N)" >> "$JBS_INTERVAL_LOG"
        python3 -c 'import sys, time; b = b"x" * (int(sys.argv[1]) << 20); time.sleep(float(sys.argv[2]))' "$JBS_HOG_MIB" "$JBS_HOG_SECONDS"
        status=$?
        echo "E $$ $crate $(date +%s.%N)" >> "$JBS_INTERVAL_LOG"
        if [ "$status" -ne 0 ]; then
          echo "killed $crate status $status" >> "$JBS_HOG_LOG"
          exit 1
        fi
        exec "$@"

        """;

    /// <summary>With JobserverMinFreeMemory, the compiles that would not fit wait: none is OOM-killed and the build passes.</summary>
    [TestMethod]
    public void WithTheThresholdNoCompileIsOomKilled()
    {
        var result = RunInCgroup("mt", ThresholdMiB);

        Assert.AreEqual(0, result.OomKills, "the OOM killer ran in the build's cgroup:\n" + result.Describe());
        Assert.AreEqual("", result.Killed, result.Describe());
        Assert.AreEqual(0, result.Run.Outcome.ExitCode, "the build failed:\n" + result.Describe());
        Assert.HasCount(4, result.Compiles, result.Describe());
        Assert.IsLessThanOrEqualTo(2, IntervalLog.MaxOverlap(result.Compiles), "more compiles ran at once than the memory allows:\n" + result.Describe());
        Assert.IsNotEmpty(result.Run.LinesWith("wait(s) for memory below " + ThresholdMiB.ToString(CultureInfo.InvariantCulture) + " MiB"), "the summary does not count the waits for memory:\n" + result.Describe());
        Assert.IsNotEmpty(result.Run.LinesWith("JOBS0086"), "the summary does not say the pool held tokens back:\n" + result.Describe());
        Assert.AreEqual(0, Fixtures.Summaries(result.Run).Single().Lost, "the tokens the gate held were counted as lost");
        Assert.DoesNotContain("JOBS0021", Fixtures.WarningCodes(result.Run));
    }

    /// <summary>Without it (the same build, the same cgroup limit), says what happens: the OOM killer ends compiles.</summary>
    [TestMethod]
    public void WithoutTheThresholdCompilesAreOomKilled()
    {
        var result = RunInCgroup("mn", null);

        Assert.IsGreaterThan(0, result.OomKills, "without the threshold the compiles should not have fit the cgroup:\n" + result.Describe());
        Assert.AreNotEqual(0, result.Run.Outcome.ExitCode, "the build passed although compiles were OOM-killed:\n" + result.Describe());
    }

    private MemoryRun RunInCgroup(string tag, int? threshold)
    {
        if (!Directory.Exists(CgroupRoot) || !IsWritable(CgroupRoot))
        {
            Assert.Inconclusive($"{CgroupRoot} (cgroup v1's memory controller) is not writable here: these tests run as root on a host with it.");
        }

        var repo = NewFixture(tag);
        var entries = Enumerable.Range(0, 4).Select(i => repo.AddCargoProject(tag + i.ToString(CultureInfo.InvariantCulture), crates: 1)).ToList();
        var entry = repo.AddTraversal(tag + ".proj", entries);
        repo.Write("hog-wrapper.sh", HogWrapperScript);
        File.SetUnixFileMode(Path.Combine(repo.Root, "hog-wrapper.sh"), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var log = Path.Combine(repo.Root, "logs", "hog-intervals.log");
        var killedLog = Path.Combine(repo.Root, "logs", "hog-killed.log");
        Directory.CreateDirectory(Path.GetDirectoryName(log)!);

        var cgroup = Path.Combine(CgroupRoot, "jbs-" + tag + "-" + Environment.ProcessId.ToString(CultureInfo.InvariantCulture) + "-" + Path.GetFileName(repo.Root));
        Directory.CreateDirectory(cgroup);
        try
        {
            var limit = ((long)LimitMiB << 20).ToString(CultureInfo.InvariantCulture);
            File.WriteAllText(Path.Combine(cgroup, "memory.limit_in_bytes"), limit);
            if (File.Exists(Path.Combine(cgroup, "memory.memsw.limit_in_bytes")))
            {
                File.WriteAllText(Path.Combine(cgroup, "memory.memsw.limit_in_bytes"), limit);
            }

            var properties = new Dictionary<string, string> { ["JobserverSlots"] = "4" };
            if (threshold is { } t)
            {
                properties["JobserverMinFreeMemory"] = t.ToString(CultureInfo.InvariantCulture) + "M";
            }

            var options = new BuildOptions
            {
                Nodes = 2,
                Properties = properties,
                Environment = new Dictionary<string, string?>
                {
                    ["RUSTC_WRAPPER"] = Path.Combine(repo.Root, "hog-wrapper.sh"),
                    [IntervalLog.Variable] = log,
                    ["JBS_HOG_LOG"] = killedLog,
                    ["JBS_HOG_MIB"] = CompileMiB.ToString(CultureInfo.InvariantCulture),
                    ["JBS_HOG_SECONDS"] = "4",
                    ["JBS_CGROUP_PROCS"] = Path.Combine(cgroup, "cgroup.procs"),
                },
            };
            var args = new List<string> { "-c", "echo $$ > \"$JBS_CGROUP_PROCS\" && exec dotnet \"$@\"", "sh", "build", entry, "-m:2", "-v:n", "-tl:off", "-nologo", "-nr:false" };
            args.AddRange(properties.Select(p => $"-p:{p.Key}={p.Value}"));
            using var build = ReliabilitySupport.Start(repo, "/bin/sh", args, options);
            var run = build.WaitForExit(TimeSpan.FromMinutes(10));
            var compiles = ReadCompleted(log);
            var result = new MemoryRun(run, compiles, OomKills(cgroup), File.Exists(killedLog) ? File.ReadAllText(killedLog).Trim() : "",
                ReadMiB(Path.Combine(cgroup, "memory.max_usage_in_bytes")));
            TestContext.WriteLine($"{(threshold is null ? "without" : "with")} the threshold: exit {run.Outcome.ExitCode}, {compiles.Count} compiles ended, max {IntervalLog.MaxOverlap(compiles)} at once, {result.OomKills} OOM kill(s), peak usage {result.PeakMiB} MiB; killed: {result.Killed}");
            foreach (var line in run.Body.Split('\n').Where(l => l.Contains("JOBS0030", StringComparison.Ordinal) || l.Contains("JOBS0086", StringComparison.Ordinal)).Take(3))
            {
                TestContext.WriteLine(line.Trim());
            }

            return result;
        }
        finally
        {
            RemoveCgroup(cgroup);
        }
    }

    private static IReadOnlyList<Interval> ReadCompleted(string log)
    {
        if (!File.Exists(log))
        {
            return Array.Empty<Interval>();
        }

        var lines = File.ReadAllLines(log).Where(l => l.Length > 0).ToList();
        var ended = lines.Where(l => l.StartsWith("E ", StringComparison.Ordinal)).Select(l => string.Join(' ', l.Split(' ').Skip(1).Take(2))).ToHashSet();
        File.WriteAllLines(log + ".completed", lines.Where(l => ended.Contains(string.Join(' ', l.Split(' ').Skip(1).Take(2)))));
        return IntervalLog.Read(log + ".completed").Where(i => i.IsCompile).ToList();
    }

    private static int OomKills(string cgroup)
    {
        var line = File.ReadAllLines(Path.Combine(cgroup, "memory.oom_control")).FirstOrDefault(l => l.StartsWith("oom_kill ", StringComparison.Ordinal));
        return line is null ? 0 : int.Parse(line.Split(' ')[1], CultureInfo.InvariantCulture);
    }

    private static long ReadMiB(string path) =>
        File.Exists(path) ? long.Parse(File.ReadAllText(path).Trim(), CultureInfo.InvariantCulture) >> 20 : -1;

    private static bool IsWritable(string directory)
    {
        var probe = Path.Combine(directory, "jbs-probe-" + Environment.ProcessId.ToString(CultureInfo.InvariantCulture));
        try
        {
            Directory.CreateDirectory(probe);
            Directory.Delete(probe);
            return true;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    // A cgroup goes once its last process has: the build's nodes may take a moment to end.
    private static void RemoveCgroup(string cgroup)
    {
        ReliabilitySupport.WaitFor(() =>
        {
            try
            {
                Directory.Delete(cgroup);
                return true;
            }
            catch (IOException)
            {
                return false;
            }
        }, TimeSpan.FromMinutes(1));
    }

    private sealed record MemoryRun(BuildRun Run, IReadOnlyList<Interval> Compiles, int OomKills, string Killed, long PeakMiB)
    {
        public string Describe() =>
            $"{OomKills} OOM kill(s), peak {PeakMiB} MiB, killed: {Killed}\n{IntervalLog.Describe(Compiles)}\n{ProcessRunner.Tail(Run.Output)}";
    }
}
