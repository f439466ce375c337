using System;
using MSBuild.Jobserver.Pools;
using MSBuild.Jobserver.Protocol;

namespace MSBuild.Jobserver.Tokens;

/// <summary>What the build's jobserver is: ours, one inherited from make, or none.</summary>
public enum BuildJobserverMode
{
    /// <summary>No pool: one slot, disabled, or the platform cannot run one. Tools run as stock Exec runs them.</summary>
    None,

    /// <summary>The build created its own pool of <see cref="BuildJobserverHandle.Slots"/> tokens.</summary>
    Owned,

    /// <summary>The build joined a valid jobserver inherited from make or cargo.</summary>
    Inherited,
}

/// <summary>
/// Everything a node needs to use the build's jobserver, as the entry process describes it. It travels between
/// processes as an MSBuild item (the rendezvous target's output), so it is flat strings.
/// </summary>
public sealed class BuildJobserverHandle
{
    /// <summary>A fresh build-wide identity; tokens from another build are refused by it.</summary>
    public string Nonce { get; init; } = "";

    /// <summary>Owned, inherited or none.</summary>
    public BuildJobserverMode Mode { get; init; }

    /// <summary>Tokens in the pool (owned) or the -j advertised by the parent (inherited).</summary>
    public int Slots { get; init; }

    /// <summary>The pool to take tools' tokens from and hand to children: our FIFO, the parent's FIFO, or
    /// <c>/proc/&lt;owner&gt;/fd/&lt;n&gt;</c> for a parent's anonymous pipe; the semaphore name on Windows.</summary>
    public string PoolPath { get; init; } = "";

    /// <summary>The pipe <see cref="PoolPath"/> must be (POSIX); checked before any byte is read.</summary>
    public PipeIdentity? PoolIdentity { get; init; }

    /// <summary>Inherited mode: the build-local pool holding the entry process's implicit slot.</summary>
    public string LocalPath { get; init; } = "";

    /// <summary>The identity of <see cref="LocalPath"/>.</summary>
    public PipeIdentity? LocalIdentity { get; init; }

    /// <summary>The private directory of our pool(s): events for the summary and the trace live there.</summary>
    public string Directory { get; init; } = "";

    /// <summary>The entry process that owns the pool.</summary>
    public int OwnerProcessId { get; init; }

    /// <summary>True when an inherited MAKEFLAGS value was rejected: children must not see it.</summary>
    public bool InheritedRejected { get; init; }

    /// <summary>Why there is no pool (mode None), for the log.</summary>
    public string Reason { get; init; } = "";

    /// <summary>True for the pool shared by all of the user's builds (JobserverScope=User): its directory holds every build's leases.</summary>
    public bool Shared { get; init; }

    /// <summary>No new token while less memory than this (MiB) is available and a job runs; 0 is off.</summary>
    public long MinFreeMemoryMiB { get; init; }

    /// <summary>What names this build's journals in a directory that other builds' share (empty in a build's own).</summary>
    public string JournalTag => Shared ? Nonce : "";

    /// <summary>The handle of a build without a pool.</summary>
    public static BuildJobserverHandle None(string reason, bool inheritedRejected) => new()
    {
        Nonce = Guid.NewGuid().ToString("N"),
        Mode = BuildJobserverMode.None,
        Slots = 1,
        OwnerProcessId = ProcessInfo.CurrentId,
        InheritedRejected = inheritedRejected,
        Reason = reason,
    };
}
