using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using MSBuild.Jobserver.Diagnostics;
using MSBuild.Jobserver.Platform;
using MSBuild.Jobserver.Pools;
using MSBuild.Jobserver.Protocol;
using MSBuild.Jobserver.Tasks.Diagnostics;
using MSBuild.Jobserver.Tasks.EntryProcess;
using MSBuild.Jobserver.Tasks.EveryNode;
using MSBuild.Jobserver.Tasks.Report;
using MSBuild.Jobserver.Tokens;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;

namespace MSBuild.Jobserver.Tasks;

/// <summary>
/// Runs when a project finishes; in the project the build was started on (in the entry process, which owns the
/// pool) it logs how the slots were used, counts the tokens back (a missing one is a warning), and writes the
/// trace file when asked. When MSBuild built that project on a worker node, it has the rendezvous project do
/// the same in the entry process and logs what comes back. Elsewhere it does nothing.
/// </summary>
public sealed class JobserverSummary : Task
{
    /// <summary>$(MSBuildProjectFullPath).</summary>
    [Required]
    public string ProjectFullPath { get; set; } = "";

    /// <summary>$(MSBuildStartupDirectory): where relative paths on the command line start.</summary>
    [Required]
    public string StartupDirectory { get; set; } = "";

    /// <summary>JobserverTraceFile: where to write a Chrome trace-event file; empty writes none.</summary>
    public string TraceFile { get; set; } = "";

    /// <summary>JobserverReport: where to write the HTML timing report; empty writes none.</summary>
    public string ReportFile { get; set; } = "";

    /// <summary>
    /// Set by the rendezvous project: compute the summary in the entry process but return it in
    /// <see cref="Report"/> instead of logging it, so the entry project logs it in its own name.
    /// </summary>
    public bool ReturnReport { get; set; }

    /// <summary>With <see cref="ReturnReport"/>: one item per line to log; ItemSpec is the code, metadata Severity and Text.</summary>
    [Output]
    public ITaskItem[] Report { get; private set; } = Array.Empty<ITaskItem>();

    /// <inheritdoc/>
    public override bool Execute()
    {
        // The rendezvous's own Summarize (ReturnReport) never forwards: under -mt every task runs in a TaskHost
        // process, which looks like a worker node, and forwarding from there would ask for itself.
        if (ProcessInfo.IsWorkerNode && !ReturnReport)
        {
            return ForwardToEntryProcess();
        }

        if (!EntryProject.Is(ProjectFullPath, StartupDirectory))
        {
            return true;
        }

        if (!ReturnReport)
        {
            ProjectJobserverSettings.MarkSummaryLogged();
        }

        var owner = BuildJobserverOwner.Current((IBuildEngine4)BuildEngine);
        if (owner is null || owner.Handle.Mode == BuildJobserverMode.None)
        {
            return true;
        }

        var lines = Summarize(owner);
        if (ReturnReport)
        {
            Report = lines.Select(l => l.ToItem()).ToArray();
        }
        else
        {
            lines.ForEach(l => l.Log(Log));
        }

        return !Log.HasLoggedErrors;
    }

    private List<SummaryLine> Summarize(BuildJobserverOwner owner)
    {
        var lines = new List<SummaryLine>();
        var handle = owner.Handle;
        var journal = LedgerJournal.Read(handle.Directory, handle.JournalTag);
        var holds = journal.Holds;
        var unreleased = NodeJobserver.Existing(BuildEngine)?.Outstanding.Count ?? 0;
        var size = owner.Pool?.Size ?? 0;

        // What a shared pool lacks now may be held by the other builds: only the last build to leave can count it.
        // The memory gate's tokens are the pool's, held back, not lost: it takes and gives back nothing meanwhile.
        PoolCount? count = null;
        int CountFree()
        {
            count = CountPool(owner);
            return count?.Found ?? owner.Pool?.CountAvailable() ?? 0;
        }

        var found = owner.Pool is null || owner.Pool.IsShared ? size : owner.MemoryGate?.CountWithHeld(CountFree) ?? CountFree();
        var missing = Math.Max(0, size - found - unreleased);
        var surplus = Math.Max(0, found - size);
        var removedNow = count?.Refill.Removed ?? 0;

        if (unreleased > 0)
        {
            lines.Add(SummaryLine.Warning(DiagnosticCode.TokenNotReleased,
                $"{unreleased} token(s) taken with AcquireJobToken were never given back with ReleaseJobToken; the build returns them now. Pair every AcquireJobToken with a ReleaseJobToken (in a target that also runs on failure)."));
        }

        if (missing > 0)
        {
            lines.Add(SummaryLine.Warning(DiagnosticCode.TokensMissing,
                $"{missing} jobserver token(s) did not come back to the pool by the end of the build: a tool was killed while holding them, or a tool still runs in the background. Later jobs of this build had fewer slots."));
        }

        var hidden = InheritedDescriptors.HiddenPipes((IBuildEngine4)BuildEngine);
        foreach (var holder in hidden is null ? Array.Empty<PipeHolder>() : PoolPlatform.LingeringPipeHolders(hidden))
        {
            lines.Add(SummaryLine.Warning(DiagnosticCode.InheritedPipeHeldByServer, string.Format(CultureInfo.InvariantCulture,
                "Process {0}, {1}, holds the jobserver pipe this build inherited from make or cargo: it started before the package could make the pipe non-inheritable, and ran none of the package's tasks since. "
                + "Unless MSBuild ends it with the build, make (4.3, or 4.4 with --jobserver-style=pipe) waits after the build until it exits (an idle worker node after 15 minutes, VBCSCompiler after 10). "
                + "Take the package into the entry as <Sdk Name=\"MSBuild.Jobserver\" ...> (a solution: the Directory.Solution.targets opt-in), which acts before NuGet's restore starts worker nodes, and into every project (Directory.Build.props); or, for builds that make runs, turn the servers off: -nr:false, -p:UseSharedCompilation=false, DOTNET_CLI_USE_MSBUILD_SERVER=0.",
                holder.ProcessId, holder.Kind)));
        }

        if (surplus > 0)
        {
            lines.Add(SummaryLine.Warning(DiagnosticCode.TokensSurplus, removedNow == surplus
                ? $"The build's jobserver held {surplus} token(s) more than its {size} slot(s) at the end of the build: a tool gave back more than it took (a buggy client, or an old cc crate killed between giving back its own token and taking it again). They were taken out."
                : $"The build's jobserver holds {surplus} token(s) more than its {size} slot(s) at the end of the build: a tool gave back more than it took. They could not be taken out (a tool of the build still runs, or refilling is off), so up to {size + surplus} jobs may have run at once."));
        }

        var kind = handle.Mode == BuildJobserverMode.Inherited ? "joined from the parent make"
            : handle.Shared ? SharedKind(journal, owner.StartedMs, handle.Slots)
            : "own pool";
        var memoryWaits = owner.MemoryGate?.Waits ?? Array.Empty<MemoryWait>();
        var memoryText = owner.MemoryGate is { } gate
            ? string.Format(CultureInfo.InvariantCulture, "; {0} wait(s) for memory below {1} MiB, {2:0.0} s", memoryWaits.Count, gate.ThresholdMiB, memoryWaits.Sum(w => w.EndMs - w.StartMs) / 1000.0)
            : "";
        var summary = SummaryLine.Message(DiagnosticCode.Summary, string.Format(CultureInfo.InvariantCulture,
            "Jobserver: {0} slots ({1}); {2} tool run(s) took a slot, at most {3} at once; {4:0.0} s spent waiting for slots, {5:0.0} s of it with a slot free; {6} token(s) lost, {7} recovered, {8} surplus removed{9}.",
            handle.Slots, kind, holds.Count, journal.PeakConcurrent(), journal.WaitSeconds(), journal.FreeSlotWaitSeconds(handle.Slots, owner.Cpu.EmptyPoolAtMs()), missing, journal.Recovered, journal.Removed + removedNow, memoryText));
        lines.Add(summary);
        if (memoryWaits.Count > 0)
        {
            lines.Add(SummaryLine.Message(DiagnosticCode.MemoryWait, string.Format(CultureInfo.InvariantCulture,
                "The pool handed out no new token {0} time(s), {1:0.0} s in all (the longest {2:0.0} s), while less than {3} MiB of memory was available (least {4} MiB) and a job ran; it held back up to {5} token(s).",
                memoryWaits.Count, memoryWaits.Sum(w => w.EndMs - w.StartMs) / 1000.0, memoryWaits.Max(w => w.EndMs - w.StartMs) / 1000.0,
                owner.MemoryGate!.ThresholdMiB, memoryWaits.Min(w => w.LowestAvailableMiB), memoryWaits.Max(w => w.TokensHeld))));
        }

        if (TraceFile.Trim().Length > 0)
        {
            lines.Add(WriteTrace(holds, handle.Slots));
        }

        if (ReportFile.Trim().Length > 0)
        {
            var title = "Jobserver timing report: " + ProjectFullPath.Substring(ProjectFullPath.LastIndexOfAny(new[] { '/', '\\' }) + 1);
            var input = JournalAdapter.FromJournal(title, summary.Code + ": " + summary.Text, handle, journal, missing, owner.StartedMs, memoryWaits, owner.Cpu);
            lines.Add(ReportFileWriter.Write(StartupDirectory, ReportFile.Trim(), input));
        }

        return lines;
    }

    // The tokens in the pool the owner created, counted under the ledger's lock so that no node's refill counts at the
    // same time (rule 5 of TokenLedger); a surplus is taken out when no tool holds a lease. Null when it cannot count.
    private static PoolCount? CountPool(BuildJobserverOwner owner)
    {
        if (owner.Pool is not { } pool)
        {
            return null;
        }

        try
        {
            using var client = PoolPlatform.ConnectToBuildPool(pool.Auth.Name!, pool.Identity);
            return new TokenLedger(pool.Directory).Count(client, pool.Size, mintMissing: false);
        }
        catch (Exception ex) when (ex is JobserverException or IOException or UnauthorizedAccessException or ObjectDisposedException)
        {
            return null;
        }
    }

    // The shared pool's line says how much of it the user's other builds held while this one ran.
    private static string SharedKind(LedgerJournal journal, long startedMs, int slots)
    {
        var now = LedgerJournal.NowMs;
        var (tokenSeconds, peak) = journal.OtherBuildsBetween(startedMs, now);
        var share = now > startedMs ? tokenSeconds * 1000.0 / ((now - startedMs) * (double)slots) : 0;
        return string.Format(CultureInfo.InvariantCulture,
            "shared by this user's builds; other builds held {0:0.0} token-s, {1:0%} of the pool, while this build ran, at most {2} at once", tokenSeconds, share, peak);
    }

    // MSBuild may build the entry project on a worker node, but the pool, its records and its token count live in
    // the entry process: when this is the entry project, the rendezvous project computes the summary there and
    // this task logs it, so it reads as the entry project's (not as the rendezvous project's).
    private bool ForwardToEntryProcess()
    {
        try
        {
            if (EntryProject.Same(ProjectFullPath, Rendezvous.EntryProject(BuildEngine)))
            {
                ProjectJobserverSettings.MarkSummaryLogged();
                foreach (var item in Rendezvous.Summarize(BuildEngine, ProjectFullPath, TraceFile, ReportFile))
                {
                    SummaryLine.FromItem(item).Log(Log);
                }
            }
        }
        catch (InvalidOperationException ex)
        {
            JobserverLog.Warning(Log, DiagnosticCode.RendezvousFailed, ex.Message + " The build's jobserver summary is not logged.");
        }

        return !Log.HasLoggedErrors;
    }

    private SummaryLine WriteTrace(IReadOnlyList<TokenHold> holds, int slots)
    {
        var path = TraceFile.Trim();
        try
        {
            path = Path.GetFullPath(Path.Combine(StartupDirectory, path));
            ChromeTrace.Write(path, holds, slots, Path.GetFileNameWithoutExtension(ProjectFullPath));
            return SummaryLine.Message(null, $"Jobserver trace written to {path} (open it in https://ui.perfetto.dev or chrome://tracing).");
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            return SummaryLine.Warning(DiagnosticCode.TraceFileFailed, $"Could not write the jobserver trace to '{path}': {ex.Message}");
        }
    }
}
