using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using MSBuild.Jobserver.Platform;
using MSBuild.Jobserver.Pools;

namespace MSBuild.Jobserver.Tokens;

/// <summary>
/// The build's journal, as read back: every token hold (who, which tool, waited from/to, held from/to) and every
/// refill (tokens lost and minted again, surplus taken out). Kept in the build's directory, one file per process so
/// writers never interleave. The end-of-build summary, the trace and reports read it through <see cref="Read(string, string)"/>.
/// </summary>
public sealed class LedgerJournal
{
    private static readonly object Gate = new();

    private LedgerJournal(IReadOnlyList<TokenHold> holds, int recovered, int removed, IReadOnlyList<TokenHold> otherBuilds)
    {
        Holds = holds;
        Recovered = recovered;
        Removed = removed;
        OtherBuilds = otherBuilds;
    }

    /// <summary>Now, in the unit the journal uses.</summary>
    public static long NowMs => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

    /// <summary>Every hold recorded so far, by the time it was got.</summary>
    public IReadOnlyList<TokenHold> Holds { get; }

    /// <summary>Tokens lost by tools that died and minted again.</summary>
    public int Recovered { get; }

    /// <summary>Surplus tokens taken out of the pool.</summary>
    public int Removed { get; }

    /// <summary>In a pool builds share: the holds of the other builds (empty in a build's own pool).</summary>
    public IReadOnlyList<TokenHold> OtherBuilds { get; }

    /// <summary>
    /// The journal kept in the build directory <paramref name="directory"/> (empty when there is none); in a directory
    /// builds share, the build <paramref name="tag"/> names, with the other builds' holds apart.
    /// </summary>
    public static LedgerJournal Read(string directory, string tag = "") =>
        Read(directory.Length == 0 ? null : PoolDirectory.Open(PoolPlatform.Current, directory), tag);

    internal static LedgerJournal Read(PoolDirectory? directory, string tag)
    {
        if (directory is null)
        {
            return new LedgerJournal(Array.Empty<TokenHold>(), 0, 0, Array.Empty<TokenHold>());
        }

        var own = directory.Journals(tag);
        var others = tag.Length == 0 ? Array.Empty<string>() : directory.Journals().Except(own, StringComparer.Ordinal).ToArray();
        int recovered = 0, removed = 0;
        foreach (var line in directory.RecoveredRecords(tag).SelectMany(ReadLines))
        {
            var f = line.Split('\t');
            recovered += f.Length > 0 && int.TryParse(f[0], NumberStyles.Integer, CultureInfo.InvariantCulture, out var r) ? r : 0;
            removed += f.Length > 1 && int.TryParse(f[1], NumberStyles.Integer, CultureInfo.InvariantCulture, out var s) ? s : 0;
        }

        return new LedgerJournal(HoldsIn(own), recovered, removed, HoldsIn(others));
    }

    private static IReadOnlyList<TokenHold> HoldsIn(IEnumerable<string> journals)
    {
        var holds = new List<TokenHold>();
        foreach (var line in journals.SelectMany(ReadLines))
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

        // Usually already in order (one journal, few holds): then no sort, and no JIT of a generic one.
        return IsInOrder(holds) ? holds : holds.OrderBy(h => h.AcquiredMs).ToList();
    }

    private static bool IsInOrder(List<TokenHold> holds)
    {
        for (var i = 1; i < holds.Count; i++)
        {
            if (holds[i].AcquiredMs < holds[i - 1].AcquiredMs)
            {
                return false;
            }
        }

        return true;
    }

    internal static void Append(PoolDirectory? directory, string tag, TokenHold hold)
    {
        if (directory is not null)
        {
            AppendLine(directory.JournalPath(hold.ProcessId, tag), string.Join("\t",
                hold.RequestedMs.ToString(CultureInfo.InvariantCulture),
                hold.AcquiredMs.ToString(CultureInfo.InvariantCulture),
                hold.ReleasedMs.ToString(CultureInfo.InvariantCulture),
                hold.ProcessId.ToString(CultureInfo.InvariantCulture),
                Clean(hold.Source), Clean(hold.Project), Clean(hold.Tool)));
        }
    }

    internal static void AppendRefill(PoolDirectory directory, string tag, RefillResult refill) =>
        AppendLine(directory.RecoveredPath(ProcessInfo.CurrentId, tag),
            refill.Recovered.ToString(CultureInfo.InvariantCulture) + "\t" + refill.Removed.ToString(CultureInfo.InvariantCulture));

    // Appends never create the directory: once the owner has removed it, a late record is dropped.
    private static void AppendLine(string path, string line)
    {
        try
        {
            lock (Gate)
            {
                File.AppendAllText(path, line + "\n");
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // The build is over (cancelled, or a node died) and its directory is gone with its records.
        }
    }

    private static IEnumerable<string> ReadLines(string path)
    {
        try
        {
            return File.ReadAllLines(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return Array.Empty<string>();
        }
    }

    private static string Clean(string text) => text.Replace('\t', ' ').Replace('\n', ' ').Replace('\r', ' ');
}
