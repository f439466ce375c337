using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;

namespace MSBuild.Jobserver.Tasks.BuildPool;

/// <summary>One token hold: when it was asked for, got, and given back (Unix milliseconds), by whom.</summary>
internal sealed record TokenHold(long RequestedMs, long AcquiredMs, long ReleasedMs, int ProcessId, string Source, string Project, string Tool)
{
    /// <summary>How long the holder waited for the token.</summary>
    public long WaitMs => AcquiredMs - RequestedMs;
}

/// <summary>
/// The build's record of token holds, kept in the pool's private directory: one file per process, so writers
/// never interleave. The end-of-build summary and the trace file read it.
/// </summary>
internal static class TokenEvents
{
    private static readonly object Gate = new();

    /// <summary>Now, in the unit the records use.</summary>
    public static long NowMs => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

    /// <summary>Appends <paramref name="hold"/> to this process's file in <paramref name="directory"/>.</summary>
    public static void Append(string directory, TokenHold hold)
    {
        if (directory.Length == 0 || !Directory.Exists(directory))
        {
            return;
        }

        var line = string.Join("\t",
            hold.RequestedMs.ToString(CultureInfo.InvariantCulture),
            hold.AcquiredMs.ToString(CultureInfo.InvariantCulture),
            hold.ReleasedMs.ToString(CultureInfo.InvariantCulture),
            hold.ProcessId.ToString(CultureInfo.InvariantCulture),
            Clean(hold.Source), Clean(hold.Project), Clean(hold.Tool)) + "\n";
        lock (Gate)
        {
            File.AppendAllText(Path.Combine(directory, $"events-{hold.ProcessId}.tsv"), line);
        }
    }

    /// <summary>Every hold recorded in <paramref name="directory"/> so far, oldest first.</summary>
    public static IReadOnlyList<TokenHold> ReadAll(string directory)
    {
        if (directory.Length == 0 || !Directory.Exists(directory))
        {
            return Array.Empty<TokenHold>();
        }

        var holds = new List<TokenHold>();
        foreach (var file in Directory.EnumerateFiles(directory, "events-*.tsv"))
        {
            foreach (var line in File.ReadAllLines(file))
            {
                var f = line.Split('\t');
                if (f.Length == 7
                    && long.TryParse(f[0], NumberStyles.Integer, CultureInfo.InvariantCulture, out var requested)
                    && long.TryParse(f[1], NumberStyles.Integer, CultureInfo.InvariantCulture, out var acquired)
                    && long.TryParse(f[2], NumberStyles.Integer, CultureInfo.InvariantCulture, out var released)
                    && int.TryParse(f[3], NumberStyles.Integer, CultureInfo.InvariantCulture, out var pid))
                {
                    holds.Add(new TokenHold(requested, acquired, released, pid, f[4], f[5], f[6]));
                }
            }
        }

        return holds.OrderBy(h => h.AcquiredMs).ToList();
    }

    /// <summary>
    /// Removes everything the tasks wrote into the pool's private directory (records, leases, markers): all but the
    /// FIFO, which the pool itself unlinks before it removes the directory.
    /// </summary>
    public static void DeleteAll(string directory)
    {
        if (directory.Length == 0 || !Directory.Exists(directory))
        {
            return;
        }

        foreach (var file in Directory.EnumerateFiles(directory).Where(f => Path.GetFileName(f) != "fifo"))
        {
            File.Delete(file);
        }
    }

    /// <summary>The most holds that overlapped at any instant.</summary>
    public static int PeakConcurrent(IEnumerable<TokenHold> holds)
    {
        // Releases sort before acquisitions at the same instant: a hand-over is not an overlap.
        var edges = holds.SelectMany(h => new[] { (At: h.AcquiredMs, Delta: 1), (At: h.ReleasedMs, Delta: -1) })
            .OrderBy(e => e.At).ThenBy(e => e.Delta);
        int current = 0, peak = 0;
        foreach (var edge in edges)
        {
            current += edge.Delta;
            peak = Math.Max(peak, current);
        }

        return peak;
    }

    private static string Clean(string text) => text.Replace('\t', ' ').Replace('\n', ' ').Replace('\r', ' ');
}
