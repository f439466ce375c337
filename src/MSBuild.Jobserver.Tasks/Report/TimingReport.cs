using System;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Net;
using System.Text;

namespace MSBuild.Jobserver.Tasks.Report;

/// <summary>
/// The timing report: one self-contained HTML page (inline SVG, CSS and a few lines of JS; nothing is fetched) with
/// a row per slot where every token hold is a bar coloured by project and labelled with its tool, the waits for a
/// token shaded on rows of their own, the tokens in use over time against the pool's size, a table per project and
/// the pool's facts. The SVG is drawn here, not in the browser, so the page shows at once whatever its size.
/// </summary>
internal static class TimingReport
{
    private const int Width = 1200;
    private const int Left = 96;
    private const int Right = 16;
    private const int AxisHeight = 22;
    private const int SlotRowHeight = 22;
    private const int WaitRowHeight = 12;
    private const int GapHeight = 18;
    private const int ChartHeight = 110;
    private const double CharWidth = 6.4;

    /// <summary>Writes the report of <paramref name="input"/> to <paramref name="path"/>, creating its directory.</summary>
    public static void Write(string path, TimingInput input)
    {
        var directory = Path.GetDirectoryName(Path.GetFullPath(path));
        if (!string.IsNullOrEmpty(directory))
        {
            Directory.CreateDirectory(directory);
        }

        File.WriteAllText(path, Render(input), new UTF8Encoding(false));
    }

    /// <summary>The report's HTML.</summary>
    public static string Render(TimingInput input)
    {
        var layout = new TimingLayout(input);
        var html = new StringBuilder(4096 + (input.Holds.Count * 400));
        html.Append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n")
            .Append("<title>").Append(Text(input.Title)).Append("</title>\n<style>").Append(Style).Append("</style>\n</head>\n<body>\n")
            .Append("<h1>").Append(Text(input.Title)).Append("</h1>\n")
            .Append("<p class=\"summary\" id=\"summary\">").Append(Text(input.SummaryText)).Append("</p>\n")
            .Append("<p class=\"where\">The same line is message JOBS0030 in the build log. The terminal logger (the default since .NET 9) ")
            .Append("hides messages at its default verbosity: build with <code>-tlp:v=d</code> to see it under the entry project, ")
            .Append("or with <code>-tl:off</code>, or open a <code>-bl</code> binary log.</p>\n");
        AppendFacts(html, layout);
        html.Append("<h2>Timeline</h2>\n<p class=\"hint\">One row per slot; each bar is one tool run holding a token (hover for details). ")
            .Append("Hatched rows below: tools waiting for a token. The line: tokens in use, against the pool's size (dashed); ")
            .Append("the grey area behind it: the machine's busy cores (every process). A free slot under a busy CPU went to MSBuild's own work; under an idle one it was wasted. ")
            .Append("Click a project in the table to pick out its bars.</p>\n<div class=\"scroll\">\n");
        AppendTimeline(html, layout);
        html.Append("</div>\n<h2>Projects</h2>\n");
        AppendProjects(html, layout);
        html.Append("<script>").Append(Script).Append("</script>\n</body>\n</html>\n");
        return html.ToString();
    }

    private static void AppendFacts(StringBuilder html, TimingLayout layout)
    {
        var pool = layout.Input.Pool;
        var holds = layout.Input.Holds;
        var form = pool.Form switch
        {
            PoolForm.JoinedMake => "joined make's jobserver",
            PoolForm.JoinedCargo => "joined cargo's jobserver",
            PoolForm.SharedByUser => "shared by this user's builds (JobserverScope=User)",
            _ => "own pool",
        };
        html.Append("<table class=\"facts\" id=\"pool\">\n");
        Fact(html, "form", "Pool", form);
        Fact(html, "size", "Size", Number(pool.Size) + " tokens");
        Fact(html, "peak", "Peak in use", Number(pool.Peak));
        Fact(html, "runs", "Tool runs", Number(holds.Count));
        Fact(html, "waited", "Time waiting for tokens", TimingLayout.Seconds(holds.Sum(h => h.WaitMs)));
        Fact(html, "free-wait", "Of it, with a slot free", TimingLayout.Seconds(layout.FreeSlotWaitMs));
        Fact(html, "cpu", "Machine CPU (all processes)", layout.Input.Cpu.Unavailable is { } why
            ? "not drawn: " + why
            : Number(layout.Input.Cpu.Cores) + " cores, sampled every " + TimingLayout.Seconds(TimingLayout.CpuSampleMs));
        Fact(html, "span", "First request to last release", TimingLayout.Seconds(holds.Count == 0 ? 0 : layout.SpanMs));
        Fact(html, "lost", "Tokens lost", Number(pool.Lost));
        Fact(html, "recovered", "Tokens recovered", Number(pool.Recovered));
        if (layout.Input.MemoryWaits.Count > 0)
        {
            Fact(html, "memory-waits", "Waits for memory", Number(layout.Input.MemoryWaits.Count) + ", " + TimingLayout.Seconds(layout.Input.MemoryWaits.Sum(w => w.EndMs - w.StartMs)) + " in all");
        }

        if (pool.OtherBuilds is { } others)
        {
            Fact(html, "other-builds", "Held by other builds meanwhile",
                TimingLayout.Seconds((long)(others.TokenSeconds * 1000)) + " of token time, at most " + Number(others.Peak) + " at once");
        }

        html.Append("</table>\n");
    }

    private static void Fact(StringBuilder html, string key, string name, string value) =>
        html.Append("<tr data-fact=\"").Append(key).Append("\"><th>").Append(name).Append("</th><td>").Append(Text(value)).Append("</td></tr>\n");

    private static void AppendTimeline(StringBuilder html, TimingLayout layout)
    {
        var slotsTop = AxisHeight;
        var waitsTop = slotsTop + (layout.SlotRowCount * SlotRowHeight) + (layout.WaitRowCount > 0 ? GapHeight : 0);
        var chartTop = waitsTop + (layout.WaitRowCount * WaitRowHeight) + GapHeight;
        var height = chartTop + ChartHeight + 20;
        html.Append("<svg id=\"timeline\" xmlns=\"http://www.w3.org/2000/svg\" width=\"").Append(Width).Append("\" height=\"").Append(height)
            .Append("\" viewBox=\"0 0 ").Append(Width).Append(' ').Append(height).Append("\">\n")
            .Append("<defs><pattern id=\"hatch\" width=\"6\" height=\"6\" patternUnits=\"userSpaceOnUse\" patternTransform=\"rotate(45)\">")
            .Append("<rect width=\"3\" height=\"6\" fill=\"#fff\" fill-opacity=\"0.7\"/></pattern></defs>\n");

        AppendGrid(html, layout, height - 20);
        AppendMemoryWaits(html, layout, chartTop + ChartHeight);
        for (var row = 0; row < layout.SlotRowCount; row++)
        {
            var y = slotsTop + (row * SlotRowHeight);
            html.Append("<g class=\"slot-row\"><rect class=\"lane\" x=\"").Append(Left).Append("\" y=\"").Append(y).Append("\" width=\"").Append(Width - Left - Right)
                .Append("\" height=\"").Append(SlotRowHeight - 2).Append("\"/><text class=\"row-label\" x=\"").Append(Left - 8).Append("\" y=\"").Append(y + 15)
                .Append("\">slot ").Append(row + 1).Append("</text></g>\n");
        }

        foreach (var pair in layout.HoldRows.OrderBy(p => p.Key.AcquiredMs))
        {
            var hold = pair.Key;
            AppendBar(html, layout, "hold", hold, hold.AcquiredMs, hold.ReleasedMs, slotsTop + (pair.Value * SlotRowHeight), SlotRowHeight - 2, hold.Tool);
        }

        if (layout.WaitRowCount > 0)
        {
            html.Append("<text class=\"row-label\" x=\"").Append(Left - 8).Append("\" y=\"").Append(waitsTop + 10).Append("\">waiting</text>\n");
            foreach (var pair in layout.WaitRows.OrderBy(p => p.Key.RequestedMs))
            {
                var hold = pair.Key;
                AppendBar(html, layout, "wait", hold, hold.RequestedMs, hold.AcquiredMs, waitsTop + (pair.Value * WaitRowHeight), WaitRowHeight - 2, null);
            }
        }

        AppendInUseChart(html, layout, chartTop);
        html.Append("</svg>\n");
    }

    // JobserverMinFreeMemory: a band across every row for each stretch in which no token was handed out for want of memory.
    private static void AppendMemoryWaits(StringBuilder html, TimingLayout layout, int bottom)
    {
        foreach (var wait in layout.Input.MemoryWaits)
        {
            var from = X(layout, Math.Max(0, wait.StartMs - layout.Origin));
            var to = X(layout, Math.Min(layout.SpanMs, Math.Max(0, wait.EndMs - layout.Origin)));
            html.Append("<g class=\"memory-wait\"><title>no new job for want of memory: ").Append(TimingLayout.Seconds(wait.EndMs - wait.StartMs))
                .Append(" from ").Append(TimingLayout.Seconds(wait.StartMs - layout.Origin)).Append(", least available ").Append(Number((int)Math.Min(int.MaxValue, wait.LowestAvailableMiB)))
                .Append(" MiB</title><rect x=\"").Append(F(from)).Append("\" y=\"").Append(AxisHeight).Append("\" width=\"").Append(F(Math.Max(1.0, to - from)))
                .Append("\" height=\"").Append(bottom - AxisHeight).Append("\" fill=\"#d62728\" fill-opacity=\"0.15\"/></g>\n");
        }
    }

    private static void AppendGrid(StringBuilder html, TimingLayout layout, int bottom)
    {
        var step = layout.TickStepMs(12);
        for (var at = 0L; at <= layout.SpanMs; at += step)
        {
            var x = X(layout, at);
            html.Append("<line class=\"grid\" x1=\"").Append(x).Append("\" y1=\"").Append(AxisHeight - 4).Append("\" x2=\"").Append(x).Append("\" y2=\"").Append(bottom)
                .Append("\"/><text class=\"tick\" x=\"").Append(x).Append("\" y=\"").Append(AxisHeight - 8).Append("\">").Append(TimingLayout.Seconds(at)).Append("</text>\n");
        }
    }

    private static void AppendBar(StringBuilder html, TimingLayout layout, string kind, ReportHold hold, long fromMs, long toMs, int y, int height, string? label)
    {
        var x = X(layout, fromMs - layout.Origin);
        var width = Math.Max(1.0, X(layout, toMs - layout.Origin) - x);
        var colour = layout.Colours[hold.Project];
        html.Append("<g class=\"").Append(kind).Append("\" data-project=\"").Append(Text(hold.Project)).Append("\"><title>")
            .Append(Text(hold.Tool)).Append(" (").Append(Text(hold.Project)).Append(")\nwaited ").Append(TimingLayout.Seconds(hold.WaitMs))
            .Append(", held ").Append(TimingLayout.Seconds(hold.HoldMs)).Append(", from ").Append(TimingLayout.Seconds(hold.AcquiredMs - layout.Origin))
            .Append("</title><rect x=\"").Append(F(x)).Append("\" y=\"").Append(y).Append("\" width=\"").Append(F(width)).Append("\" height=\"").Append(height)
            .Append("\" fill=\"").Append(colour).Append("\"/>");
        if (kind == "wait")
        {
            html.Append("<rect x=\"").Append(F(x)).Append("\" y=\"").Append(y).Append("\" width=\"").Append(F(width)).Append("\" height=\"").Append(height)
                .Append("\" fill=\"url(#hatch)\"/>");
        }

        // A label only where it fits: at 500 runs most bars are slivers, and their tooltips carry the names.
        if (label is not null && width >= (label.Length * CharWidth) + 6)
        {
            html.Append("<text class=\"bar-label\" x=\"").Append(F(x + 3)).Append("\" y=\"").Append(y + 14).Append("\">").Append(Text(label)).Append("</text>");
        }

        html.Append("</g>\n");
    }

    private static void AppendInUseChart(StringBuilder html, TimingLayout layout, int top)
    {
        var max = Math.Max(1, Math.Max(Math.Max(layout.Input.Pool.Size, layout.Input.Cpu.Cores), layout.InUse.Max(s => s.InUse)));
        double Y(double value) => top + ChartHeight - (value * ChartHeight / max);
        AppendCpuArea(html, layout, Y(0), Y);

        html.Append("<text class=\"row-label\" x=\"").Append(Left - 8).Append("\" y=\"").Append(top + (ChartHeight / 2)).Append("\">tokens in use</text>\n")
            .Append("<text class=\"row-label\" x=\"").Append(Left - 8).Append("\" y=\"").Append(F(Y(max) + 4)).Append("\">").Append(max).Append("</text>\n")
            .Append("<text class=\"row-label\" x=\"").Append(Left - 8).Append("\" y=\"").Append(top + ChartHeight + 4).Append("\">0</text>\n")
            .Append("<line class=\"axis\" x1=\"").Append(Left).Append("\" y1=\"").Append(top + ChartHeight).Append("\" x2=\"").Append(Width - Right).Append("\" y2=\"").Append(top + ChartHeight).Append("\"/>\n")
            .Append("<line id=\"pool-size\" class=\"size\" x1=\"").Append(Left).Append("\" y1=\"").Append(F(Y(layout.Input.Pool.Size))).Append("\" x2=\"").Append(Width - Right)
            .Append("\" y2=\"").Append(F(Y(layout.Input.Pool.Size))).Append("\"><title>pool size: ").Append(layout.Input.Pool.Size).Append("</title></line>\n");

        var points = new StringBuilder();
        var previous = 0;
        foreach (var (at, inUse) in layout.InUse)
        {
            var x = F(X(layout, at));
            points.Append(x).Append(',').Append(F(Y(previous))).Append(' ').Append(x).Append(',').Append(F(Y(inUse))).Append(' ');
            previous = inUse;
        }

        points.Append(F(X(layout, layout.SpanMs))).Append(',').Append(F(Y(previous)));
        html.Append("<polyline id=\"in-use\" class=\"in-use\" points=\"").Append(points).Append("\"/>\n");
    }

    // Busy cores as steps, one per sample, closed along the axis.
    private static void AppendCpuArea(StringBuilder html, TimingLayout layout, double baseline, Func<double, double> y)
    {
        if (layout.Cpu.Count == 0)
        {
            return;
        }

        var points = new StringBuilder();
        points.Append(F(X(layout, layout.Cpu[0].From))).Append(',').Append(F(baseline)).Append(' ');
        foreach (var (from, to, busy) in layout.Cpu)
        {
            points.Append(F(X(layout, from))).Append(',').Append(F(y(busy))).Append(' ')
                .Append(F(X(layout, to))).Append(',').Append(F(y(busy))).Append(' ');
        }

        points.Append(F(X(layout, layout.Cpu[layout.Cpu.Count - 1].To))).Append(',').Append(F(baseline));
        html.Append("<polygon id=\"cpu-use\" class=\"cpu\" points=\"").Append(points).Append("\"><title>machine CPU: busy cores of ")
            .Append(layout.Input.Cpu.Cores).Append(", all processes</title></polygon>\n");
    }

    private static void AppendProjects(StringBuilder html, TimingLayout layout)
    {
        html.Append("<table class=\"projects\" id=\"projects\">\n<thead><tr><th>Project</th><th>Tool runs</th><th>Time holding</th>")
            .Append("<th>Time waiting</th><th>Longest wait</th></tr></thead>\n<tbody>\n");
        foreach (var project in layout.Projects)
        {
            html.Append("<tr class=\"project-row\" data-project=\"").Append(Text(project.Project)).Append("\"><td><span class=\"swatch\" style=\"background:")
                .Append(project.Colour).Append("\"></span>").Append(Text(project.Project)).Append("</td><td>").Append(Number(project.ToolRuns))
                .Append("</td><td>").Append(TimingLayout.Seconds(project.HoldMs)).Append("</td><td>").Append(TimingLayout.Seconds(project.WaitMs))
                .Append("</td><td>").Append(TimingLayout.Seconds(project.LongestWaitMs)).Append("</td></tr>\n");
        }

        html.Append("</tbody>\n</table>\n");
    }

    private static double X(TimingLayout layout, long relativeMs) => Left + (relativeMs * (double)(Width - Left - Right) / layout.SpanMs);

    private static string F(double value) => value.ToString("0.#", CultureInfo.InvariantCulture);

    private static string Number(int value) => value.ToString(CultureInfo.InvariantCulture);

    private static string Text(string text) => WebUtility.HtmlEncode(text);

    private const string Style =
        "body{font:14px/1.4 system-ui,-apple-system,'Segoe UI',sans-serif;margin:24px;color:#222;background:#fff}"
        + "h1{font-size:20px;margin:0 0 8px}h2{font-size:16px;margin:24px 0 6px}"
        + ".summary{font-family:ui-monospace,monospace;background:#f4f4f4;padding:8px;border-radius:4px}"
        + ".where,.hint{color:#555;margin:4px 0}code{background:#f4f4f4;padding:0 3px}"
        + "table{border-collapse:collapse}th,td{padding:3px 12px 3px 0;text-align:left}"
        + ".facts th{font-weight:normal;color:#555}.projects thead th{border-bottom:1px solid #ccc}"
        + ".projects td:not(:first-child),.projects th:not(:first-child){text-align:right}"
        + ".project-row{cursor:pointer}.project-row.on{background:#fff4cc}"
        + ".swatch{display:inline-block;width:10px;height:10px;margin-right:6px;border-radius:2px}"
        + ".scroll{overflow-x:auto}svg{font:11px system-ui,sans-serif}"
        + ".lane{fill:#f7f7f7}.grid{stroke:#e4e4e4}.axis{stroke:#999}.tick{fill:#777;text-anchor:middle}"
        + ".row-label{fill:#555;text-anchor:end}.bar-label{fill:#fff;pointer-events:none}"
        + ".wait rect:first-of-type{fill-opacity:.45}.size{stroke:#c00;stroke-dasharray:5 4}"
        + ".in-use{fill:none;stroke:#333;stroke-width:1.5}.cpu{fill:#bbb;fill-opacity:.45;stroke:none}"
        + "svg.picking .hold,svg.picking .wait{opacity:.15}svg.picking .picked{opacity:1}";

    // Clicking a project row picks out that project's bars; clicking it again shows all.
    private const string Script =
        "(function(){var svg=document.getElementById('timeline');var rows=document.querySelectorAll('.project-row');var current=null;"
        + "rows.forEach(function(row){row.addEventListener('click',function(){var name=row.getAttribute('data-project');"
        + "current=current===name?null:name;rows.forEach(function(r){r.classList.toggle('on',r.getAttribute('data-project')===current);});"
        + "svg.classList.toggle('picking',current!==null);svg.querySelectorAll('.hold,.wait').forEach(function(g){"
        + "g.classList.toggle('picked',g.getAttribute('data-project')===current);});});});})();";
}
