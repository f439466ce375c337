using System.Globalization;
using System.Text.RegularExpressions;
using MSBuild.Jobserver.BrowserTesting;
using MSBuild.Jobserver.Tasks.Report;

namespace MSBuild.Jobserver.Tests;

/// <summary>The timing report (JobserverReport) from a generated input: its layout, its HTML, and a real browser loading it.</summary>
[TestClass]
public sealed partial class TimingReportTests
{
    private const int Slots = 8;
    private const int Projects = 12;
    private const int Runs = 500;

    /// <summary>Set by MSTest.</summary>
    public TestContext TestContext { get; set; } = null!;

    /// <summary>
    /// 500 tool runs of 12 projects on 8 slots: no two holds share a slot row at once, the rows used equal the peak of
    /// holds at once (never more than the 8 slots), every hold is one bar, every project one table row, and the page
    /// names nothing to fetch.
    /// </summary>
    [TestMethod]
    public void FiveHundredRunsLayOutOnePerSlotAtATime()
    {
        var input = Generate(Runs, Projects, Slots);
        var layout = new TimingLayout(input);

        foreach (var row in layout.HoldRows.GroupBy(p => p.Value))
        {
            var ordered = row.Select(p => p.Key).OrderBy(h => h.AcquiredMs).ToList();
            for (var i = 1; i < ordered.Count; i++)
            {
                Assert.IsLessThanOrEqualTo(ordered[i].AcquiredMs, ordered[i - 1].ReleasedMs, $"holds overlap on slot row {row.Key}");
            }
        }

        var peak = layout.InUse.Max(s => s.InUse);
        Assert.AreEqual(Slots, peak, "the generated build should fill its 8 slots");
        Assert.AreEqual(peak, layout.HoldRows.Values.Max() + 1, "the slot rows used should equal the peak of holds at once");
        Assert.AreEqual(Slots, layout.SlotRowCount);
        Assert.IsGreaterThan(0, layout.WaitRowCount, "the generated build waits for tokens");

        var html = TimingReport.Render(input);
        Assert.AreEqual(Runs, Count(html, "<g class=\"hold\""), "one bar per tool run");
        Assert.AreEqual(input.Holds.Count(h => h.WaitMs > 0), Count(html, "<g class=\"wait\""), "one shaded bar per wait");
        Assert.AreEqual(Projects, Count(html, "<tr class=\"project-row\""), "one table row per project");
        Assert.AreEqual(Slots, Count(html, "<g class=\"slot-row\""), "one row per slot");
        Assert.IsEmpty(ExternalReference().Matches(html), "the page must fetch nothing: " + string.Join(", ", ExternalReference().Matches(html)));
    }

    /// <summary>
    /// The same 500-run report in Debian's headless chromium: no console error or exception, no request but the file
    /// itself, 500 bars, 8 slot rows and 12 project rows in the DOM, the CPU area drawn, and the page loaded and painted.
    /// The times are printed (the target is under a second; a busy 2-core machine can take longer, so they are measured
    /// here, not asserted). The screenshot is kept in artifacts/report/.
    /// </summary>
    [TestMethod]
    public void FiveHundredRunReportLoadsOfflineInChromium()
    {
        var directory = ArtifactsDirectory();
        var file = Path.Combine(directory, "generated-500.html");
        TimingReport.Write(file, Generate(Runs, Projects, Slots));

        using var browser = HeadlessChromium.Start(TestSupport.NewTempDirectory("chromium"));
        var load = browser.Open(file);
        browser.Screenshot(Path.Combine(directory, "generated-500.png"));
        TestContext.WriteLine($"500-run report ({new FileInfo(file).Length / 1024} KiB), first page of a fresh browser: load event end {load.LoadEventEndMs:0} ms, first contentful paint {load.FirstContentfulPaintMs:0} ms");

        Assert.IsEmpty(load.ConsoleErrors, "console errors:\n" + string.Join('\n', load.ConsoleErrors));
        Assert.IsTrue(load.Requests.All(r => r.StartsWith("file://", StringComparison.Ordinal)), "the page fetched: " + string.Join(", ", load.Requests));
        Assert.AreEqual(Runs, browser.Evaluate("document.querySelectorAll('#timeline g.hold').length").GetValue<int>());
        Assert.AreEqual(Slots, browser.Evaluate("document.querySelectorAll('#timeline g.slot-row').length").GetValue<int>());
        Assert.AreEqual(Projects, browser.Evaluate("document.querySelectorAll('#projects tr.project-row').length").GetValue<int>());
        Assert.IsGreaterThan(0.0, browser.Evaluate("document.getElementById('cpu-use').getBBox().height").GetValue<double>(), "the machine's CPU use should be drawn");
        Assert.IsGreaterThan(0.0, load.LoadEventEndMs, "the page should finish loading");
        Assert.IsGreaterThan(0.0, load.FirstContentfulPaintMs, "the page should paint");

        // The page's one script: a click on a project row picks out that project's bars.
        browser.Evaluate("document.querySelector('#projects tr.project-row').click(), true");
        var picked = browser.Evaluate("document.querySelectorAll('#timeline .picked').length").GetValue<int>();
        Assert.IsGreaterThan(0, picked, "clicking a project row picked out none of its bars");

        // For the record: how much of that is the browser starting a renderer, and the same report loaded again.
        var blank = Path.Combine(directory, "blank.html");
        File.WriteAllText(blank, "<!DOCTYPE html><title>blank</title><p>blank</p>");
        var baseline = browser.Open(blank);
        var again = browser.Open(file);
        TestContext.WriteLine($"a one-line page after it: load event end {baseline.LoadEventEndMs:0} ms; the report again: {again.LoadEventEndMs:0} ms");
        File.Delete(blank);
    }

    /// <summary>A report path that is a directory gives warning JOBS0070 naming the path, not an exception.</summary>
    [TestMethod]
    public void UnwritableReportPathIsWarningJobs0070()
    {
        var directory = TestSupport.NewTempDirectory("report-path");
        Directory.CreateDirectory(Path.Combine(directory, "taken"));

        var line = ReportFileWriter.Write(directory, "taken", Generate(3, 2, 2));

        Assert.IsTrue(line.IsWarning, "expected a warning, got: " + line.Text);
        Assert.AreEqual("JOBS0070", line.Code);
        StringAssert.Contains(line.Text, Path.Combine(directory, "taken"));
    }

    /// <summary>
    /// A deterministic build: each project runs its tools one after another, a tool asks for a token and waits when
    /// all 8 are held, holds it 0.2–3 s, then gives it back; 12 projects at once keep the pool full.
    /// </summary>
    private static TimingInput Generate(int runs, int projects, int slots)
    {
        var random = new Random(13);
        var names = Enumerable.Range(1, projects).Select(i => "Project" + i.ToString("00", CultureInfo.InvariantCulture)).ToList();
        var tools = new[] { "cargo", "rustc", "make", "cmake", "ninja" };
        var ready = names.ToDictionary(n => n, _ => 1_000_000L + random.Next(0, 500));
        var free = Enumerable.Repeat(1_000_000L, slots).ToList();
        var holds = new List<ReportHold>();
        for (var i = 0; i < runs; i++)
        {
            var project = names[i % projects];
            var requested = ready[project];
            var slot = free.IndexOf(free.Min());
            var acquired = Math.Max(requested, free[slot]);
            var released = acquired + random.Next(200, 3000);
            free[slot] = released;
            ready[project] = released + random.Next(0, 50);
            holds.Add(new ReportHold(project, tools[random.Next(tools.Length)], requested, acquired, released));
        }

        var waited = holds.Count(h => h.WaitMs > 0);
        var summary = $"JOBS0030: Jobserver: {slots} slots (own pool); {runs} tool run(s) took a slot, at most {slots} at once; {waited} waited.";
        var end = holds.Max(h => h.ReleasedMs);
        var cpu = new List<(long AtMs, double BusyCores)>();
        for (var at = 1_000_250L; at <= end; at += 250)
        {
            cpu.Add((at, random.NextDouble() * slots));
        }

        return new TimingInput("Jobserver timing report: generated.proj", summary, new PoolFacts(PoolForm.Own, slots, slots, 0, 0), holds, new MachineCpu(slots, cpu, null));
    }

    private static string ArtifactsDirectory()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "MSBuild.Jobserver.sln")))
        {
            directory = directory.Parent;
        }

        var path = Path.Combine(directory?.FullName ?? Path.GetTempPath(), "artifacts", "report");
        Directory.CreateDirectory(path);
        return path;
    }

    private static int Count(string text, string what) => Regex.Matches(text, Regex.Escape(what)).Count;

    // Anything a browser would fetch: a src/href attribute, a CSS url() other than the page's own #hatch pattern, an import.
    [GeneratedRegex(@"\s(?:src|href)\s*=|url\((?!#)|@import")]
    private static partial Regex ExternalReference();
}
