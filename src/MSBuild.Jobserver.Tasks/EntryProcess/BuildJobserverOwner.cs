using System;
using System.IO;
using MSBuild.Jobserver.Diagnostics;
using MSBuild.Jobserver.Host;
using MSBuild.Jobserver.Platform;
using MSBuild.Jobserver.Pools;
using MSBuild.Jobserver.Protocol;
using MSBuild.Jobserver.Tasks.Diagnostics;
using MSBuild.Jobserver.Tokens;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;

namespace MSBuild.Jobserver.Tasks.EntryProcess;

/// <summary>What the rendezvous asks of the owner: the size, the scope (the user's shared pool or the build's own) and the memory limit.</summary>
internal readonly record struct OwnerRequest(int Slots, bool UserScope, long MinFreeMemoryMiB);

/// <summary>
/// Owns the build's jobserver in the entry process: creates our pool, or validates and joins the one inherited
/// through MAKEFLAGS. Registered with Build lifetime, so MSBuild disposes it (drain, count, close, unlink) when
/// the build ends.
/// </summary>
internal sealed class BuildJobserverOwner : IDisposable
{
    /// <summary>The resolved size that asks for no pool: -m:1 with JobserverSlots left empty.</summary>
    public const int NoPool = 0;

    private const string RegistrationKey = "MSBuild.Jobserver.Owner";
    private static readonly object Gate = new();

    private readonly JobTokenPool? _pool;
    private JobserverClient? _gateClient;

    private BuildJobserverOwner(BuildJobserverHandle handle, JobTokenPool? pool)
    {
        Handle = handle;
        _pool = pool;
        // The pool is looked at only where it is the build's own: an inherited one's local pool is not where tools wait.
        Cpu = handle.Mode == BuildJobserverMode.None ? MachineCpuSampler.NotSampled("the build has no jobserver")
            : MachineCpuSampler.Start(handle.Mode == BuildJobserverMode.Owned && pool is not null ? pool.HasFreeToken : null);
    }

    /// <summary>The free-memory limit's gate (JobserverMinFreeMemory), null when there is none.</summary>
    public MemoryGate? MemoryGate { get; private set; }

    /// <summary>What nodes receive.</summary>
    public BuildJobserverHandle Handle { get; }

    /// <summary>The pool this process created (ours, or the one-token local pool when inherited).</summary>
    public JobTokenPool? Pool => _pool;

    /// <summary>When the build's pool was set up (journal milliseconds): the window in which other builds' holds count.</summary>
    public long StartedMs { get; } = LedgerJournal.NowMs;

    /// <summary>The machine's CPU use while the build runs, for the timing report.</summary>
    public MachineCpuSampler Cpu { get; }

    /// <summary>The owner of the current build in this process, if one was created.</summary>
    public static BuildJobserverOwner? Current(IBuildEngine4 engine) =>
        engine.GetRegisteredTaskObject(RegistrationKey, RegisteredTaskObjectLifetime.Build) as BuildJobserverOwner;

    /// <summary>
    /// The build's owner: created on the first call of the build, reused by later calls (another rendezvous
    /// configuration asking with a different slot count gets the same pool and a warning). Warnings name
    /// <paramref name="blame"/> (the entry project) rather than the rendezvous project in the NuGet cache.
    /// </summary>
    public static BuildJobserverOwner GetOrCreate(IBuildEngine4 engine, TaskLoggingHelper log, OwnerRequest request, Func<string, string?> environment, string? blame)
    {
        lock (Gate)
        {
            if (Current(engine) is { } existing)
            {
                if (Mismatch(existing.Handle, request) is { } why)
                {
                    JobserverLog.Warning(log, DiagnosticCode.SlotsDiffer, why, blame);
                }

                return existing;
            }

            // The rendezvous may be the first of the package's tasks in this process (a solution entry without the opt-in).
            InheritedDescriptors.Hide(engine, environment);
            var owner = Create(log, request, environment, blame, auth => InheritedDescriptors.HiddenValidation(engine, auth),
                slots => EarlyPool.Take(engine, slots) ?? PoolPlatform.CreatePool(slots));
            owner.StartMemoryGate(log, request.MinFreeMemoryMiB, blame);
            engine.RegisterTaskObject(RegistrationKey, owner, RegisteredTaskObjectLifetime.Build, allowEarlyCollection: false);
            return owner;
        }
    }

    /// <summary>
    /// Why <paramref name="request"/> does not get the pool it asks for from the build's existing one (the warning
    /// <see cref="GetOrCreate"/> logs then); null when it gets exactly that pool.
    /// </summary>
    public static string? Mismatch(BuildJobserverHandle existing, OwnerRequest request) =>
        existing.Mode != BuildJobserverMode.Owned ? null
        : existing.Shared != request.UserScope
            ? $"Projects of this build ask for different jobserver scopes (JobserverScope); the build keeps the first, {(existing.Shared ? "User" : "Build")}. Set JobserverScope once for the whole build (Directory.Build.props or -p:JobserverScope=User)."
        : !existing.Shared && existing.Slots != request.Slots
            ? $"Projects of this build ask for different jobserver sizes ({existing.Slots} and {request.Slots}); the build keeps the first, {existing.Slots}. Set JobserverSlots once for the whole build (Directory.Build.props or -p:JobserverSlots=N)."
        : null;

    // createPool makes the build's own pool (or takes the one EarlyPool made); its failures are reported here.
    private static BuildJobserverOwner Create(TaskLoggingHelper log, OwnerRequest request, Func<string, string?> environment, string? blame,
        Func<JobserverAuth, JobserverValidation?> hiddenValidation, Func<int, JobTokenPool> createPool)
    {
        var requestedSlots = request.Slots;
        var inherited = InheritedJobserver.Evaluate(log, environment, ProcessInfo.IsWorkerNode, blame, hiddenValidation);
        if (inherited.Auth is { } auth && inherited.Identity is var identity)
        {
            // A build that make or cargo runs stays within their -j, whatever its scope.
            return Join(log, auth, identity, inherited.Jobs ?? Math.Max(1, requestedSlots), inherited.VariableName, blame);
        }

        if (requestedSlots == NoPool)
        {
            return new BuildJobserverOwner(BuildJobserverHandle.None("The build runs on one node (-m:1) and JobserverSlots is empty: tools run with their own defaults, as under make -j1.", inherited.Rejected), null);
        }

        if (request.UserScope && JoinUserPool(log, request, inherited.Rejected, blame) is { } shared)
        {
            return shared;
        }

        try
        {
            var pool = createPool(requestedSlots);
            ReportLocation(log, pool, blame);
            var handle = new BuildJobserverHandle
            {
                Nonce = Guid.NewGuid().ToString("N"),
                Mode = BuildJobserverMode.Owned,
                Slots = requestedSlots,
                PoolPath = pool.Auth.Name!,
                PoolIdentity = pool.Identity,
                Directory = pool.Directory,
                OwnerProcessId = ProcessInfo.CurrentId,
                InheritedRejected = inherited.Rejected,
                MinFreeMemoryMiB = request.MinFreeMemoryMiB,
            };
            JobserverLog.Message(log, MessageImportance.Normal, DiagnosticCode.PoolCreated,
                $"Created a jobserver of {requestedSlots} slots for this build ({pool.Auth.ToAuthString()}).");
            return new BuildJobserverOwner(handle, pool);
        }
        catch (Exception ex) when (ex is JobserverException or IOException or UnauthorizedAccessException)
        {
            var code = ex is JobserverException { Reason: JobserverRejection.PlatformUnsupported } ? DiagnosticCode.PlatformUnsupported : DiagnosticCode.PoolCreationFailed;
            JobserverLog.Warning(log, code, ex.Message + " The build goes on without a jobserver: tools use their own defaults.", blame);
            return new BuildJobserverOwner(BuildJobserverHandle.None(ex.Message, inherited.Rejected), null);
        }
    }

    // The pool all of this user's builds share; null (warned) when it cannot be used, and the build makes its own.
    private static BuildJobserverOwner? JoinUserPool(TaskLoggingHelper log, OwnerRequest request, bool inheritedRejected, string? blame)
    {
        JobTokenPool pool;
        try
        {
            pool = PoolPlatform.JoinUserPool(request.Slots, null);
        }
        catch (Exception ex) when (ex is JobserverException or IOException or UnauthorizedAccessException)
        {
            JobserverLog.Warning(log, DiagnosticCode.SharedPoolUnavailable,
                ex.Message + " This build cannot share the pool of this user's builds (JobserverScope=User), so it uses a pool of its own.", blame);
            return null;
        }

        if (pool.Size != request.Slots)
        {
            JobserverLog.Warning(log, DiagnosticCode.SharedPoolSizeDiffers,
                $"This build asks for {request.Slots} jobserver slots, but the pool this user's builds share (JobserverScope=User) was made with {pool.Size} by a build still running; every build keeps {pool.Size} until the last one using the pool ends. Give every build with JobserverScope=User the same JobserverSlots (or none: the core count).", blame);
        }

        var handle = new BuildJobserverHandle
        {
            Nonce = Guid.NewGuid().ToString("N"),
            Mode = BuildJobserverMode.Owned,
            Slots = pool.Size,
            PoolPath = pool.Auth.Name!,
            PoolIdentity = pool.Identity,
            Directory = pool.Directory,
            OwnerProcessId = ProcessInfo.CurrentId,
            InheritedRejected = inheritedRejected,
            Shared = true,
            MinFreeMemoryMiB = request.MinFreeMemoryMiB,
        };
        JobserverLog.Message(log, MessageImportance.Normal, DiagnosticCode.SharedPoolJoined, pool.SharedPoolCreated
            ? $"Created the jobserver of {pool.Size} slots that this user's builds share (JobserverScope=User; {pool.Auth.ToAuthString()})."
            : $"Joined the jobserver of {pool.Size} slots that this user's builds share (JobserverScope=User; {pool.Auth.ToAuthString()}).");
        return new BuildJobserverOwner(handle, pool);
    }

    private static BuildJobserverOwner Join(TaskLoggingHelper log, JobserverAuth auth, PipeIdentity? identity, int jobs, string variable, string? blame)
    {
        // The entry process's own implicit slot becomes the one token of a build-local pool: a tool starts when it
        // gets either that token or one of the parent's, and each goes back where it came from.
        JobTokenPool? local = null;
        try
        {
            local = PoolPlatform.CreatePool(1);
            ReportLocation(log, local, blame);
        }
        catch (Exception ex) when (ex is JobserverException or IOException or UnauthorizedAccessException)
        {
            JobserverLog.Warning(log, DiagnosticCode.PoolCreationFailed,
                ex.Message + " The build uses only the inherited jobserver's tokens, so it may run one tool fewer than make allows.", blame);
        }

        var poolPath = auth.Kind switch
        {
            // Another process reaches an anonymous pipe only through the owner's descriptor table.
            JobserverAuthKind.Pipe => PoolPlatform.DescriptorPath(ProcessInfo.CurrentId, auth.ReadFd) ?? "",
            _ => auth.Name!,
        };
        var handle = new BuildJobserverHandle
        {
            Nonce = Guid.NewGuid().ToString("N"),
            Mode = BuildJobserverMode.Inherited,
            Slots = jobs,
            PoolPath = poolPath,
            PoolIdentity = identity,
            LocalPath = local?.Auth.Name ?? "",
            LocalIdentity = local?.Identity,
            Directory = local?.Directory ?? "",
            OwnerProcessId = ProcessInfo.CurrentId,
        };
        JobserverLog.Message(log, MessageImportance.Normal, DiagnosticCode.JoinedInherited,
            $"Joined the jobserver inherited through {variable} ({auth.ToAuthString()}, -j{jobs}): every tool of this build shares the parent's slots.");
        return new BuildJobserverOwner(handle, local);
    }

    // The warning for each place the pool would not go: its code and text, given the note and where the pool went; null
    // for a note that is only a message. A switch, not a dictionary keyed by the enum: that instantiation is JIT-compiled
    // on the critical path of every build (docs/performance.md).
    private static (string Code, string Text)? LocationWarning(PoolLocationNote note, string directory) => note.Problem switch
    {
        PoolLocationProblem.UserDirectoryNotPrivate => (DiagnosticCode.UserDirectoryNotPrivate,
            $"The jobserver directory {note.Parent} {note.Detail}, so no pool goes there (another user may have made it first); this build uses a private directory of its own ({directory}). Remove {note.Parent}, or point TMPDIR at a directory of your own."),
        PoolLocationProblem.RelativeParent => (DiagnosticCode.TempDirectoryRelative,
            $"The temporary directory '{note.Parent}' {note.Detail}, so no pool goes there; this build's is in {directory}. Set TMPDIR to an absolute path."),
        PoolLocationProblem.ParentNotTrusted => (DiagnosticCode.TempDirectoryNotTrusted,
            $"The directory {note.Parent} {note.Detail}, so no pool goes there; this build's is in {directory}. Point TMPDIR at a directory of your own (or one with the sticky bit, as /tmp has)."),
        PoolLocationProblem.LocksUnsupported => (DiagnosticCode.LocksUnsupported,
            $"The file system of {note.Parent} cannot lock files ({note.Detail}), and the jobserver's ledger needs locks to tell live tools from dead ones; this build's pool is in {directory}. Point TMPDIR at a local file system."),
        PoolLocationProblem.SharedParent => (DiagnosticCode.SharedTemporaryDirectory,
            $"The jobserver's directory {directory} is in {note.Parent}, which {note.Detail}. Tokens kept by tools that die are not recovered in this build (another user could delete its lease files). Set TEMP to a folder of your own (the default, in your profile)."),
        _ => null,
    };

    // Where the pool went instead of its usual place, and why: once per build, from the entry process.
    private static void ReportLocation(TaskLoggingHelper log, JobTokenPool pool, string? blame)
    {
        foreach (var note in pool.LocationNotes)
        {
            if (note.Problem == PoolLocationProblem.SharedParent)
            {
                // A lease file another user deleted would make a held token look lost: never mint on that.
                new TokenLedger(pool.Directory).DisableRefill();
            }

            if (LocationWarning(note, pool.Directory) is { } warning)
            {
                JobserverLog.Warning(log, warning.Code, warning.Text, blame);
            }
            else
            {
                JobserverLog.Message(log, MessageImportance.Normal, DiagnosticCode.PoolPathNotAdvertisable,
                    $"The jobserver is not created in {note.Parent}: {note.Detail}. It lives in {pool.Directory} instead.");
            }
        }
    }

    /// <summary>
    /// Gives back what the memory gate holds, then drains, counts and closes what this build created, under the
    /// ledger's lock (rule 5 of TokenLedger: no node's refill counts at the same time); its directory goes with it (see
    /// PoolDirectory). A shared pool is left to the builds still using it.
    /// </summary>
    public void Dispose()
    {
        Cpu.Dispose();
        MemoryGate?.Dispose();
        _gateClient?.Dispose();
        if (_pool is null)
        {
            return;
        }

        LedgerLock.ClosePool(_pool);
    }

    // JobserverMinFreeMemory: only a pool this build makes or shares can be held closed; make's is make's.
    private void StartMemoryGate(TaskLoggingHelper log, long thresholdMiB, string? blame)
    {
        if (thresholdMiB <= 0 || Handle.Mode == BuildJobserverMode.None)
        {
            return;
        }

        if (Handle.Mode == BuildJobserverMode.Inherited)
        {
            JobserverLog.Warning(log, DiagnosticCode.MemoryUnknown,
                $"JobserverMinFreeMemory ({thresholdMiB} MiB) is not applied: this build runs within the jobserver of the make or cargo that started it, whose tokens it does not hold back.", blame);
            return;
        }

        try
        {
            _gateClient = PoolPlatform.ConnectToBuildPool(Handle.PoolPath, Handle.PoolIdentity);
            MemoryGate = MemoryGate.Start(Handle.Directory, _gateClient, thresholdMiB, PoolPlatform.AvailableMemory);
        }
        catch (JobserverException ex)
        {
            JobserverLog.Warning(log, DiagnosticCode.MemoryUnknown, $"JobserverMinFreeMemory ({thresholdMiB} MiB) is not applied: {ex.Message}", blame);
            return;
        }

        if (MemoryGate is null)
        {
            JobserverLog.Warning(log, DiagnosticCode.MemoryUnknown,
                $"JobserverMinFreeMemory ({thresholdMiB} MiB) is not applied: the memory available to this build cannot be read on this system (docs/platforms.md says where it can).", blame);
        }
        else
        {
            JobserverLog.Message(log, MessageImportance.Normal, DiagnosticCode.MemoryWait,
                $"No new job starts while less than {thresholdMiB} MiB of memory is available and a job runs (JobserverMinFreeMemory; {PoolPlatform.AvailableMemory() / (1024 * 1024)} MiB available now).");
        }
    }
}
