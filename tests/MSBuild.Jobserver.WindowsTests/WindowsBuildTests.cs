namespace MSBuild.Jobserver.WindowsTests;

/// <summary>
/// The package as packed, in MSBuild 17.7.2 under wine with one and two nodes: a hooked Exec of a listed tool runs
/// under cmd.exe with a token and the semaphore, the token tasks, the cap across both node processes, and nothing
/// left behind. The cap is measured from the probes' own hold intervals, not from the package's counters.
/// </summary>
[TestClass]
public sealed class WindowsBuildTests
{
    public TestContext TestContext { get; set; } = null!;

    [TestMethod]
    public void One_node_a_hooked_Exec_runs_the_listed_tool_under_cmd_with_a_token_and_the_semaphore()
    {
        // Each tool takes one extra token, as a cargo would for a second rustc: the pool of 2 has exactly that one left.
        var build = WindowsBuild.Create("one-node", Enumerable.Repeat<Func<WindowsBuild, string>>(b => $"<Exec Command=\"{b.ProbeCommand(800, extra: 1)}\" />", 3).ToList());
        var result = build.Run(1, "JobserverSlots=2");
        Assert.AreEqual(0, result.ExitCode, result.ToString());
        var semaphore = WindowsBuild.CreatedSemaphore(result);
        Assert.IsNotNull(semaphore, "no JOBS0033 line:\n" + result.Output);

        var runs = build.ToolRuns();
        Assert.AreEqual(3, runs.Count, result.Output);
        Assert.IsTrue(runs.All(r => r.Extra == 1), "every tool should get its extra token");
        foreach (var run in runs)
        {
            // cargo and rustc read CARGO_MAKEFLAGS; a make-like tool (the default form) also gets MAKEFLAGS.
            Assert.AreEqual($"CARGO_MAKEFLAGS=valid:{semaphore} MAKEFLAGS=valid:{semaphore}", run.Inherited);
        }

        var peak = Intervals.MaxOverlap(runs.SelectMany(r => r.Holds));
        TestContext.WriteLine($"one node, 2 slots, 3 tools holding 2 each: at most {peak} slots held at once; {result.Elapsed.TotalSeconds:0.0} s");
        Assert.AreEqual(2, peak, "each tool holds its slot and one extra token, one tool at a time");
    }

    [TestMethod]
    public void By_default_cargo_gets_only_CARGO_MAKEFLAGS_and_make_gets_MAKEFLAGS_too()
    {
        // The probe as cargo.exe and make.exe, with the package's default tool list: an nmake that cargo starts
        // would fail on any MAKEFLAGS, so on Windows only make-like tools get it.
        var build = WindowsBuild.Create("default-tools", new Func<WindowsBuild, string>[]
        {
            b => $"<Exec Command=\"{b.ProbeCommand(100, program: "cargo")}\" />",
            b => $"<Exec Command=\"{b.ProbeCommand(100, program: "make")}\" />",
        }, inOrder: true, listedTools: "");
        var result = build.Run(1, "JobserverSlots=2");
        Assert.AreEqual(0, result.ExitCode, result.ToString());
        var semaphore = WindowsBuild.CreatedSemaphore(result);
        var inherited = build.ToolRuns().Select(r => r.Inherited).OrderBy(i => i.Length).ToList();
        CollectionAssert.AreEqual(new[]
        {
            $"CARGO_MAKEFLAGS=valid:{semaphore} MAKEFLAGS=none",
            $"CARGO_MAKEFLAGS=valid:{semaphore} MAKEFLAGS=valid:{semaphore}",
        }, inherited, string.Join("\n", inherited));
    }

    [TestMethod]
    public void Two_nodes_the_cap_holds_across_both_node_processes()
    {
        // Each tool takes one extra token, as a cargo would for a second rustc: 2 slot holds per tool, 4 slots in all.
        var build = WindowsBuild.Create("two-nodes", Enumerable.Repeat<Func<WindowsBuild, string>>(b => $"<Exec Command=\"{b.ProbeCommand(1200, extra: 1)}\" />", 6).ToList());
        var result = build.Run(2, "JobserverSlots=4");
        Assert.AreEqual(0, result.ExitCode, result.ToString());
        StringAssert.Contains(result.Output, "on node 2", "no project ran on the second node process:\n" + result.Output);

        var runs = build.ToolRuns();
        Assert.AreEqual(6, runs.Count, result.Output);
        Assert.IsTrue(runs.All(r => r.Extra == 1), "every tool should get its extra token");
        var peak = Intervals.MaxOverlap(runs.SelectMany(r => r.Holds));
        TestContext.WriteLine($"two nodes, 4 slots, 6 tools holding 2 each: at most {peak} slots held at once; {result.Elapsed.TotalSeconds:0.0} s");
        Assert.IsTrue(peak <= 4, $"{peak} slots held at once in a pool of 4");
        Assert.IsTrue(peak >= 3, $"only {peak} slots held at once: the two nodes' tools never overlapped");
    }

    [TestMethod]
    public void AcquireJobToken_and_ReleaseJobToken_cap_work_the_package_cannot_see()
    {
        // The probe is not a listed tool here: Exec runs it as stock Exec does (no pool handed over), yielding the node.
        var build = WindowsBuild.Create("token-tasks", Enumerable.Repeat<Func<WindowsBuild, string>>(b => $"""
            <AcquireJobToken Purpose="generator"><Output TaskParameter="Token" PropertyName="T" /></AcquireJobToken>
            <Exec Command="{b.ProbeCommand(1200)}" YieldDuringToolExecution="true" />
            <ReleaseJobToken Token="$(T)" />
            """, 6).ToList(), listedTools: "cargo");
        // Three node processes could run three probes at once; the two tokens allow two.
        var result = build.Run(3, "JobserverSlots=2");
        Assert.AreEqual(0, result.ExitCode, result.ToString());
        StringAssert.Contains(result.Output, "on node 3", "no project ran on the third node process:\n" + result.Output);
        var runs = build.ToolRuns();
        Assert.AreEqual(6, runs.Count, result.Output);
        Assert.IsTrue(runs.All(r => r.Inherited == "CARGO_MAKEFLAGS=none MAKEFLAGS=none"), string.Join("\n", runs.Select(r => r.Inherited)));
        var peak = Intervals.MaxOverlap(runs.SelectMany(r => r.Holds));
        TestContext.WriteLine($"token tasks, 3 nodes, 2 slots, 6 Execs: at most {peak} at once");
        Assert.AreEqual(2, peak);
    }

    [TestMethod]
    public void Nothing_is_left_behind_after_a_build()
    {
        var build = WindowsBuild.Create("leftovers", Enumerable.Repeat<Func<WindowsBuild, string>>(b => $"<Exec Command=\"{b.ProbeCommand(300)}\" />", 2).ToList());
        var temp = Path.Combine(Wine.Prefix, "drive_c", "users", Environment.UserName, "AppData", "Local", "Temp");
        var before = Snapshot(temp);
        var result = build.Run(2);
        Assert.AreEqual(0, result.ExitCode, result.ToString());
        var semaphore = WindowsBuild.CreatedSemaphore(result);
        Assert.IsNotNull(semaphore, result.Output);

        // The semaphore died with the build: a later process cannot open it.
        var validation = SemaphorePoolTests.Probe("validate", "-j2 --jobserver-auth=" + semaphore);
        Assert.AreEqual("SemaphoreOpenFailed", validation.Value("INVALID"), validation.ToString());
        var left = Snapshot(temp).Except(before).ToList();
        Assert.AreEqual(0, left.Count, "left in the Windows temp folder: " + string.Join(", ", left));
        var processes = WindowsProcesses();
        Assert.AreEqual(0, processes.Count, "Windows processes still running: " + string.Join(", ", processes));
    }

    private static HashSet<string> Snapshot(string directory) =>
        System.IO.Directory.Exists(directory)
            ? System.IO.Directory.EnumerateFileSystemEntries(directory, "*", SearchOption.AllDirectories).ToHashSet()
            : new HashSet<string>();

    /// <summary>Our Windows programs (and cmd.exe) still alive in the prefix, from /proc: wine runs each as a Linux process.</summary>
    private static List<string> WindowsProcesses()
    {
        var names = new[] { "WindowsMSBuildHost.exe", "WindowsProbe.exe", "cmd.exe" };
        var found = new List<string>();
        foreach (var entry in System.IO.Directory.EnumerateDirectories("/proc"))
        {
            try
            {
                var commandLine = File.ReadAllText(Path.Combine(entry, "cmdline")).Replace('\0', ' ');
                if (names.Any(n => commandLine.Contains(n, StringComparison.OrdinalIgnoreCase)) && File.ReadAllText(Path.Combine(entry, "environ")).Contains("WINEPREFIX=" + Wine.Prefix + "\0", StringComparison.Ordinal))
                {
                    found.Add(Path.GetFileName(entry) + ": " + commandLine.Trim());
                }
            }
            catch (IOException)
            {
                // The process ended while we looked.
            }
            catch (UnauthorizedAccessException)
            {
                // Not ours.
            }
        }

        return found;
    }
}
