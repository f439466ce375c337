using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text;
using MSBuild.Jobserver.Tokens;

namespace MSBuild.Jobserver.Tasks.Report;

/// <summary>
/// Writes token holds as a Chrome trace-event file (Perfetto, chrome://tracing): one track per slot with a bar
/// for every hold, labelled with the tool and project, and the waits on tracks of their own.
/// </summary>
internal static class ChromeTrace
{
    private const int SlotsProcess = 1;
    private const int WaitsProcess = 2;

    /// <summary>Writes <paramref name="holds"/> to <paramref name="path"/>; returns how many slot tracks were used.</summary>
    public static int Write(string path, IReadOnlyList<TokenHold> holds, int slots, string title)
    {
        var origin = holds.Count == 0 ? 0 : holds.Min(h => h.RequestedMs);
        var events = new List<string>
        {
            Metadata("process_name", SlotsProcess, 0, $"{title}: {slots} jobserver slots"),
            Metadata("process_name", WaitsProcess, 0, "waiting for a token"),
        };

        var slotLanes = HoldOverlap.Rows(holds, h => h.AcquiredMs, h => h.ReleasedMs);
        var waitLanes = HoldOverlap.Rows(holds.Where(h => h.WaitMs > 0), h => h.RequestedMs, h => h.AcquiredMs);
        foreach (var lane in slotLanes.Values.Distinct().OrderBy(l => l))
        {
            events.Add(Metadata("thread_name", SlotsProcess, lane, "slot " + (lane + 1).ToString(CultureInfo.InvariantCulture)));
        }

        foreach (var hold in holds)
        {
            var label = hold.Tool + " (" + hold.Project + ")";
            events.Add(Bar(label, "token", SlotsProcess, slotLanes[hold], hold.AcquiredMs - origin, hold.ReleasedMs - hold.AcquiredMs, hold));
            if (hold.WaitMs > 0)
            {
                events.Add(Bar("wait: " + label, "wait", WaitsProcess, waitLanes[hold], hold.RequestedMs - origin, hold.WaitMs, hold));
            }
        }

        var directory = Path.GetDirectoryName(Path.GetFullPath(path));
        if (!string.IsNullOrEmpty(directory))
        {
            Directory.CreateDirectory(directory);
        }

        File.WriteAllText(path, "{\"displayTimeUnit\":\"ms\",\"traceEvents\":[\n" + string.Join(",\n", events) + "\n]}\n");
        return slotLanes.Count == 0 ? 0 : slotLanes.Values.Max() + 1;
    }

    private static string Bar(string name, string category, int pid, int tid, long startMs, long durationMs, TokenHold hold) =>
        "{\"name\":" + Quote(name) + ",\"cat\":" + Quote(category) + ",\"ph\":\"X\",\"pid\":" + pid + ",\"tid\":" + tid
        + ",\"ts\":" + (startMs * 1000).ToString(CultureInfo.InvariantCulture)
        + ",\"dur\":" + (durationMs * 1000).ToString(CultureInfo.InvariantCulture)
        + ",\"args\":{\"project\":" + Quote(hold.Project) + ",\"tool\":" + Quote(hold.Tool) + ",\"source\":" + Quote(hold.Source)
        + ",\"process\":" + hold.ProcessId.ToString(CultureInfo.InvariantCulture)
        + ",\"waitMs\":" + hold.WaitMs.ToString(CultureInfo.InvariantCulture) + "}}";

    private static string Metadata(string kind, int pid, int tid, string name) =>
        "{\"name\":" + Quote(kind) + ",\"ph\":\"M\",\"pid\":" + pid + ",\"tid\":" + tid + ",\"args\":{\"name\":" + Quote(name) + "}}";

    private static string Quote(string text)
    {
        var sb = new StringBuilder("\"");
        foreach (var c in text)
        {
            switch (c)
            {
                case '"': sb.Append("\\\""); break;
                case '\\': sb.Append("\\\\"); break;
                default:
                    if (c < ' ')
                    {
                        sb.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                    }
                    else
                    {
                        sb.Append(c);
                    }

                    break;
            }
        }

        return sb.Append('"').ToString();
    }
}
