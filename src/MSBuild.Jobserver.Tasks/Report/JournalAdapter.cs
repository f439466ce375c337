using System;
using System.Collections.Generic;
using System.Linq;
using MSBuild.Jobserver.Host;
using MSBuild.Jobserver.Tasks.EntryProcess;
using MSBuild.Jobserver.Tokens;

namespace MSBuild.Jobserver.Tasks.Report;

/// <summary>
/// The one place that turns the build's token journal into the report's input. Point this at another record of
/// holds and the report follows.
/// </summary>
internal static class JournalAdapter
{
    /// <summary>
    /// The report's input for the build whose pool is <paramref name="handle"/>, from the ledger's <paramref name="journal"/>,
    /// the memory gate's <paramref name="memoryWaits"/> and the machine's <paramref name="cpu"/> use.
    /// </summary>
    public static TimingInput FromJournal(string title, string summaryText, BuildJobserverHandle handle, LedgerJournal journal, int lost, long startedMs,
        IReadOnlyList<MemoryWait> memoryWaits, MachineCpuSampler cpu)
    {
        var others = handle.Shared ? journal.OtherBuildsBetween(startedMs, LedgerJournal.NowMs) : default;
        var facts = new PoolFacts(FormOf(handle), handle.Slots, journal.PeakConcurrent(), lost, journal.Recovered,
            handle.Shared ? new OtherBuildsUse(others.TokenSeconds, others.Peak) : null);
        var machine = cpu.Unavailable is { } why
            ? MachineCpu.None(why)
            : new MachineCpu(cpu.Cores, cpu.Samples.Select(s => (s.AtMs, s.BusyCores)).ToList(), null) { EmptyPoolAtMs = cpu.EmptyPoolAtMs() };
        var reportHolds = journal.Holds.Select(h => new ReportHold(h.Project, h.Tool, h.RequestedMs, h.AcquiredMs, h.ReleasedMs)).ToList();
        return new TimingInput(title, summaryText, facts, reportHolds, machine)
        {
            MemoryWaits = memoryWaits.Select(w => new ReportMemoryWait(w.StartMs, w.EndMs, w.LowestAvailableMiB)).ToList(),
        };
    }

    // The entry process joined the first of CARGO_MAKEFLAGS, MAKEFLAGS, MFLAGS that exists (as the Rust crate reads
    // them), and its own environment is still the one it was started with: CARGO_MAKEFLAGS there means cargo's pool.
    private static PoolForm FormOf(BuildJobserverHandle handle) => handle.Mode switch
    {
        BuildJobserverMode.Inherited when Environment.GetEnvironmentVariable("CARGO_MAKEFLAGS") is not null => PoolForm.JoinedCargo,
        BuildJobserverMode.Inherited => PoolForm.JoinedMake,
        _ when handle.Shared => PoolForm.SharedByUser,
        _ => PoolForm.Own,
    };
}
