using System.Globalization;
using MSBuild.Jobserver.Host;
using MSBuild.Jobserver.Platform;
using MSBuild.Jobserver.Pools;
using MSBuild.Jobserver.Posix;
using MSBuild.Jobserver.Tasks.EntryProcess;
using MSBuild.Jobserver.Tasks.Report;
using MSBuild.Jobserver.Tokens;




namespace MSBuild.Jobserver.Tests;

/// <summary>
/// Where the time went: the seconds a slot stood free while a tool waited (JOBS0030 and the report), from journals
/// written and read back as the build does, and the machine's CPU use drawn under the tokens.
/// </summary>
[TestClass]
public sealed class FreeSlotTimeTests
{
    /// <summary>
    /// Journals of constructed builds (seconds): each case's holds as (requested, acquired, released), the pool's size,
    /// and the seconds a slot stood free while a tool waited.
    /// </summary>
    [TestMethod]
    [DataRow("2 slots: a waiter wakes 2 s after a slot frees", 2, "0,0,10;0,0,4;1,6,9", 2.0)]
    [DataRow("2 slots, both held while the third waits", 2, "0,0,10;0,0,10;1,10,12", 0.0)]
    [DataRow("1 slot, handed over at once", 1, "0,0,5;1,5,8", 0.0)]
    [DataRow("3 slots, two free, two waiters", 3, "0,0,10;2,5,10;2,7,10", 8.0)]
    [DataRow("2 slots, one free, three waiters", 2, "0,0,10;1,3,10;1,10,11;1,10,12", 2.0)]
    [DataRow("no waits", 2, "0,0,3;5,5,9", 0.0)]
    public void FreeSlotSecondsFromTheJournal(string name, int slots, string holds, double expected)
    {
        var directory = TestSupport.NewTempDirectory("free-slot");
        var view = PoolPlatform.OpenDirectory(directory);
        var runs = holds.Split(';').Select(h => h.Split(',').Select(long.Parse).ToArray()).ToList();
        for (var i = 0; i < runs.Count; i++)
        {
            // Two processes' journals, as two nodes write them.
            var r = runs[i];
            LedgerJournal.Append(view, "", new TokenHold(1_000_000 + (r[0] * 1000), 1_000_000 + (r[1] * 1000), 1_000_000 + (r[2] * 1000), 100 + (i % 2), "pool", "P" + i, "cargo"));
        }

        var journal = LedgerJournal.Read(directory);

        Assert.HasCount(runs.Count, journal.Holds, name);
        Assert.AreEqual(expected, journal.FreeSlotWaitSeconds(slots, Array.Empty<long>()), 1e-9, name);
        Assert.IsLessThanOrEqualTo(journal.WaitSeconds(), journal.FreeSlotWaitSeconds(slots, Array.Empty<long>()), "a slot can stand free with a waiter only while someone waits");
    }

    /// <summary>
    /// The journal says a slot stood free from 4 s to 6 s while a tool waited (2 slots: one holder to 10 s, one to 4 s,
    /// a waiter from 1 s to 6 s). Where the owner's quarter-second looks found the pool empty (a running tool's own client,
    /// such as a rustc's codegen thread, held the token), that time is not free: each look stands for the 250 ms before it.
    /// </summary>
    [TestMethod]
    [DataRow("not looked at", "", 2.0)]
    [DataRow("empty for the whole gap", "4250,4500,4750,5000,5250,5500,5750,6000", 0.0)]
    [DataRow("empty for its first second", "4250,4500,4750,5000", 1.0)]
    [DataRow("looks outside the gap", "1000,3000,3750,6500,9000", 2.0)]
    [DataRow("a look straddling its start", "4100", 1.9)]
    [DataRow("two looks 50 ms apart (a late tick): their overlap counts once", "4250,4300", 1.7)]
    public void TimeThePoolWasSeenEmptyIsNotFree(string name, string emptyAtSeconds, double expected)
    {
        var directory = TestSupport.NewTempDirectory("free-slot-looks");
        var view = PoolPlatform.OpenDirectory(directory);
        const long Start = 1_000_000;
        foreach (var (requested, acquired, released) in new[] { (0L, 0L, 10_000L), (0L, 0L, 4_000L), (1_000L, 6_000L, 9_000L) })
        {
            LedgerJournal.Append(view, "", new TokenHold(Start + requested, Start + acquired, Start + released, 100, "pool", "P", "cargo"));
        }

        var looks = emptyAtSeconds.Split(',', StringSplitOptions.RemoveEmptyEntries).Select(t => Start + long.Parse(t, CultureInfo.InvariantCulture)).ToArray();

        Assert.AreEqual(expected, LedgerJournal.Read(directory).FreeSlotWaitSeconds(2, looks), 1e-9, name);
    }

    /// <summary>
    /// The most holds at once (JOBS0030's "at most N at once") from two processes' journals, written out of order: a
    /// hand-over at one instant is not an overlap; the holds read back sorted by the time they were got.
    /// </summary>
    [TestMethod]
    [DataRow("handed over at one instant", "0,0,5;5,5,8", 1)]
    [DataRow("two overlap, the third after both", "0,0,10;0,2,4;0,12,13", 2)]
    [DataRow("three overlap at 3, written in reverse", "3,3,9;2,2,6;0,0,4", 3)]
    [DataRow("nested and touching", "0,0,10;1,1,5;5,5,9;9,9,12", 2)]
    [DataRow("none", "", 0)]
    public void PeakConcurrentFromTheJournal(string name, string holds, int expected)
    {
        var directory = TestSupport.NewTempDirectory("peak");
        var view = PoolPlatform.OpenDirectory(directory);
        var runs = holds.Split(';', StringSplitOptions.RemoveEmptyEntries).Select(h => h.Split(',').Select(long.Parse).ToArray()).ToList();
        for (var i = 0; i < runs.Count; i++)
        {
            var r = runs[i];
            LedgerJournal.Append(view, "", new TokenHold(1_000_000 + (r[0] * 1000), 1_000_000 + (r[1] * 1000), 1_000_000 + (r[2] * 1000), 100 + (i % 2), "pool", "P" + i, "cargo"));
        }

        var journal = LedgerJournal.Read(directory);

        Assert.AreEqual(expected, journal.PeakConcurrent(), name);
        CollectionAssert.AreEqual(journal.Holds.Select(h => h.AcquiredMs).OrderBy(t => t).ToList(), journal.Holds.Select(h => h.AcquiredMs).ToList(), name + ": holds not in order");
    }

    /// <summary>The report shows the same figure as a fact of the pool, and draws every CPU sample inside the span.</summary>
    [TestMethod]
    public void ReportShowsFreeSlotSecondsAndTheMachinesCpu()
    {
        var holds = new List<ReportHold>
        {
            new("A", "cargo", 1_000_000, 1_000_000, 1_010_000),
            new("B", "cargo", 1_000_000, 1_000_000, 1_004_000),
            new("C", "cargo", 1_001_000, 1_006_000, 1_009_000),
        };
        var cpu = Enumerable.Range(1, 48).Select(i => (AtMs: 1_000_000L + (i * 250L), BusyCores: i % 3 == 0 ? 2.0 : 0.5)).ToList();
        var input = new TimingInput("t", "s", new PoolFacts(PoolForm.Own, 2, 2, 0, 0), holds, new MachineCpu(2, cpu, null));

        var layout = new TimingLayout(input);
        var html = TimingReport.Render(input);

        Assert.AreEqual(2000, layout.FreeSlotWaitMs);
        StringAssert.Contains(html, "<tr data-fact=\"free-wait\"><th>Of it, with a slot free</th><td>2.0 s</td></tr>");
        Assert.HasCount(40, layout.Cpu, "the samples ending inside the 10 s span");
        var polygon = System.Text.RegularExpressions.Regex.Match(html, "<polygon id=\"cpu-use\" class=\"cpu\" points=\"([^\"]*)\"");
        Assert.IsTrue(polygon.Success, "no CPU area in the report");
        Assert.AreEqual(2 + (2 * 40), polygon.Groups[1].Value.Split(' ').Length, "two points per sample and two on the axis");
    }

    /// <summary>Where the CPU is not sampled the report says why, and draws no area.</summary>
    [TestMethod]
    public void ReportWithoutCpuSamplesSaysWhy()
    {
        var holds = new List<ReportHold> { new("A", "cargo", 1_000_000, 1_000_000, 1_010_000) };
        var input = new TimingInput("t", "s", new PoolFacts(PoolForm.Own, 2, 1, 0, 0), holds, MachineCpu.None("not on this platform"));

        var html = TimingReport.Render(input);

        StringAssert.Contains(html, "not drawn: not on this platform");
        Assert.DoesNotContain("cpu-use", html);
    }

    /// <summary>/proc/stat's aggregate line: busy is user+nice+system+irq+softirq+steal, idle and iowait are not.</summary>
    [TestMethod]
    public void ProcStatLineParses()
    {
        var parsed = PosixMachine.ParseProcStat("cpu  100 5 50 1000 20 3 2 1 0 0\ncpu0 50 2 25 500 10 1 1 0 0 0\n");

        Assert.AreEqual((100UL + 5 + 50 + 3 + 2 + 1, 100UL + 5 + 50 + 3 + 2 + 1 + 1000 + 20), parsed);
        Assert.IsNull(PosixMachine.ParseProcStat("intr 1 2 3\n"));
        Assert.IsNull(PosixMachine.ParseProcStat("cpu  1 2 x 4 5\n"));
    }

    /// <summary>
    /// The real sampler on this machine: while a thread spins, samples come about every 250 ms, each between 0 and
    /// the machine's cores, and at least one sees a core busy; after Dispose no more come.
    /// </summary>
    [TestMethod]
    public void SamplerReadsTheMachinesCpuEveryQuarterSecond()
    {
        if (!OperatingSystem.IsLinux())
        {
            Assert.Inconclusive("The sampler reads /proc/stat here; Windows is sampled through GetSystemTimes under wine.");
        }

        using var sampler = MachineCpuSampler.Start();
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(2));
        var spinner = Task.Run(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                Thread.SpinWait(1000);
            }
        });
        spinner.Wait();
        sampler.Dispose();
        var samples = sampler.Samples;
        Thread.Sleep(600);

        Assert.IsNull(sampler.Unavailable);
        Assert.IsInRange(3, 9, samples.Count, "about 8 samples in 2 s (a busy machine delays some)");
        Assert.IsTrue(samples.All(s => s.BusyCores >= 0 && s.BusyCores <= sampler.Cores), string.Join(", ", samples));
        Assert.IsTrue(samples.Any(s => s.BusyCores >= 0.5), "a spinning thread should show: " + string.Join(", ", samples));
        Assert.HasCount(samples.Count, sampler.Samples, "no sample after Dispose");
    }
}
