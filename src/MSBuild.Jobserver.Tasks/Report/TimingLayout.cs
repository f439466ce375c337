using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using MSBuild.Jobserver.Host;

namespace MSBuild.Jobserver.Tasks.Report;

/// <summary>One project's line of the report's table.</summary>
internal sealed record ProjectTotals(string Project, string Colour, int ToolRuns, long HoldMs, long WaitMs, long LongestWaitMs);

/// <summary>
/// Where everything of the report goes, computed once from its input: a row per slot for the holds, rows of their
/// own for the waits, the tokens-in-use steps, each project's colour and totals.
/// </summary>
internal sealed class TimingLayout
{
    // Distinct, readable on white, and still apart for the common colour-vision deficiencies; more projects get hues
    // spread by the golden angle.
    private static readonly string[] Palette =
    {
        "#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948",
        "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac", "#1f77b4", "#8c564b",
    };

    public TimingLayout(TimingInput input)
    {
        Input = input;
        var holds = input.Holds;
        Origin = holds.Count == 0 ? 0 : holds.Min(h => h.RequestedMs);
        SpanMs = Math.Max(1, holds.Count == 0 ? 1 : holds.Max(h => h.ReleasedMs) - Origin);
        HoldRows = HoldOverlap.Rows(holds, h => h.AcquiredMs, h => h.ReleasedMs);
        WaitRows = HoldOverlap.Rows(holds.Where(h => h.WaitMs > 0), h => h.RequestedMs, h => h.AcquiredMs);
        SlotRowCount = Math.Max(input.Pool.Size, HoldRows.Count == 0 ? 0 : HoldRows.Values.Max() + 1);
        WaitRowCount = WaitRows.Count == 0 ? 0 : WaitRows.Values.Max() + 1;

        var projects = holds.Select(h => h.Project).Distinct(StringComparer.Ordinal).OrderBy(p => p, StringComparer.Ordinal).ToList();
        Colours = projects.Select((p, i) => (p, Colour(i))).ToDictionary(x => x.p, x => x.Item2, StringComparer.Ordinal);
        Projects = holds.GroupBy(h => h.Project, StringComparer.Ordinal)
            .Select(g => new ProjectTotals(g.Key, Colours[g.Key], g.Count(), g.Sum(h => h.HoldMs), g.Sum(h => h.WaitMs), g.Max(h => h.WaitMs)))
            .OrderByDescending(p => p.HoldMs).ThenBy(p => p.Project, StringComparer.Ordinal)
            .ToList();
        InUse = HoldOverlap.Steps(holds.Select(h => (h.AcquiredMs, h.ReleasedMs)), Origin);
        FreeSlotWaitMs = FreeSlotTime.Milliseconds(holds, h => h.RequestedMs, h => h.AcquiredMs, h => h.ReleasedMs, input.Pool.Size, input.Cpu.EmptyPoolAtMs, CpuSampleMs);
        Cpu = input.Cpu.Samples
            .Select(c => (From: Math.Max(0, c.AtMs - Origin - CpuSampleMs), To: Math.Min(SpanMs, c.AtMs - Origin), c.BusyCores))
            .Where(c => c.From < c.To)
            .ToList();
    }

    /// <summary>How long one CPU sample covers, up to its time.</summary>
    public const long CpuSampleMs = MachineCpuSampler.IntervalMs;

    /// <summary>What the layout was made from.</summary>
    public TimingInput Input { get; }

    /// <summary>The first request: time zero of the report.</summary>
    public long Origin { get; }

    /// <summary>From the first request to the last release, at least 1 ms.</summary>
    public long SpanMs { get; }

    /// <summary>The slot row of every hold: no two holds on one row overlap, and the rows used equal the peak.</summary>
    public IReadOnlyDictionary<ReportHold, int> HoldRows { get; }

    /// <summary>The wait row of every hold that waited.</summary>
    public IReadOnlyDictionary<ReportHold, int> WaitRows { get; }

    /// <summary>Slot rows drawn: the pool's size, or more if more tokens were ever held at once.</summary>
    public int SlotRowCount { get; }

    /// <summary>Wait rows drawn: the most tools that waited at once.</summary>
    public int WaitRowCount { get; }

    /// <summary>Each project's colour.</summary>
    public IReadOnlyDictionary<string, string> Colours { get; }

    /// <summary>Per-project totals, the busiest first.</summary>
    public IReadOnlyList<ProjectTotals> Projects { get; }

    /// <summary>Tokens in use from each instant (relative ms) until the next.</summary>
    public IReadOnlyList<(long AtMs, int InUse)> InUse { get; }

    /// <summary>Milliseconds during which a slot stood free while a tool waited.</summary>
    public long FreeSlotWaitMs { get; }

    /// <summary>The machine's busy cores over the span, each sample's interval clipped to it (relative ms).</summary>
    public IReadOnlyList<(long From, long To, double BusyCores)> Cpu { get; }

    /// <summary>A round time step giving about <paramref name="ticks"/> grid lines over the span.</summary>
    public long TickStepMs(int ticks)
    {
        var raw = Math.Max(1.0, SpanMs / (double)ticks);
        var power = Math.Pow(10, Math.Floor(Math.Log10(raw)));
        var step = new[] { 1.0, 2.0, 5.0, 10.0 }.First(m => m * power >= raw) * power;
        return Math.Max(1, (long)step);
    }

    /// <summary>A relative time as seconds for labels.</summary>
    public static string Seconds(long ms) => (ms / 1000.0).ToString(ms < 10_000 ? "0.0#" : "0.0", CultureInfo.InvariantCulture) + " s";

    private static string Colour(int index) => index < Palette.Length
        ? Palette[index]
        : "hsl(" + ((index * 137.508) % 360).ToString("0", CultureInfo.InvariantCulture) + ",55%,50%)";
}
