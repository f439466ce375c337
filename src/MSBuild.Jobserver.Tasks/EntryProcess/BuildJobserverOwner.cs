using System;
using System.IO;
using MSBuild.Jobserver.Pools;
using MSBuild.Jobserver.Protocol;
using MSBuild.Jobserver.Tasks.BuildPool;
using MSBuild.Jobserver.Tasks.Diagnostics;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;

namespace MSBuild.Jobserver.Tasks.EntryProcess;

/// <summary>
/// Owns the build's jobserver in the entry process: creates our pool, or validates and joins the one inherited
/// through MAKEFLAGS. Registered with Build lifetime, so MSBuild disposes it (drain, count, close, unlink) when
/// the build ends.
/// </summary>
internal sealed class BuildJobserverOwner : IDisposable
{
    private const string RegistrationKey = "MSBuild.Jobserver.Owner";
    private static readonly object Gate = new();

    private readonly JobTokenPool? _pool;

    private BuildJobserverOwner(BuildJobserverHandle handle, JobTokenPool? pool)
    {
        Handle = handle;
        _pool = pool;
    }

    /// <summary>What nodes receive.</summary>
    public BuildJobserverHandle Handle { get; }

    /// <summary>The pool this process created (ours, or the one-token local pool when inherited).</summary>
    public JobTokenPool? Pool => _pool;

    /// <summary>The owner of the current build in this process, if one was created.</summary>
    public static BuildJobserverOwner? Current(IBuildEngine4 engine) =>
        engine.GetRegisteredTaskObject(RegistrationKey, RegisteredTaskObjectLifetime.Build) as BuildJobserverOwner;

    /// <summary>
    /// The build's owner: created on the first call of the build, reused by later calls (another rendezvous
    /// configuration asking with a different slot count gets the same pool and a warning). Warnings name
    /// <paramref name="blame"/> (the entry project) rather than the rendezvous project in the NuGet cache.
    /// </summary>
    public static BuildJobserverOwner GetOrCreate(IBuildEngine4 engine, TaskLoggingHelper log, int requestedSlots, Func<string, string?> environment, string? blame)
    {
        lock (Gate)
        {
            if (Current(engine) is { } existing)
            {
                if (existing.Handle.Mode == BuildJobserverMode.Owned && existing.Handle.Slots != requestedSlots)
                {
                    JobserverLog.Warning(log, DiagnosticCode.SlotsDiffer,
                        $"Projects of this build ask for different jobserver sizes ({existing.Handle.Slots} and {requestedSlots}); the build keeps the first, {existing.Handle.Slots}. Set JobserverSlots once for the whole build (Directory.Build.props or -p:JobserverSlots=N).", blame);
                }

                return existing;
            }

            // The rendezvous may be the first of the package's tasks in this process (a solution entry without the opt-in).
            InheritedDescriptors.Hide(engine, environment);
            var owner = Create(log, requestedSlots, environment, blame, auth => InheritedDescriptors.HiddenValidation(engine, auth));
            engine.RegisterTaskObject(RegistrationKey, owner, RegisteredTaskObjectLifetime.Build, allowEarlyCollection: false);
            return owner;
        }
    }

    private static BuildJobserverOwner Create(TaskLoggingHelper log, int requestedSlots, Func<string, string?> environment, string? blame, Func<JobserverAuth, JobserverValidation?> hiddenValidation)
    {
        var inherited = InheritedJobserver.Evaluate(log, environment, ProcessInfo.IsWorkerNode, blame, hiddenValidation);
        if (inherited.Auth is { } auth && inherited.Identity is var identity)
        {
            return Join(log, auth, identity, inherited.Jobs ?? requestedSlots, inherited.VariableName, blame);
        }

        if (requestedSlots <= 1)
        {
            return new BuildJobserverOwner(BuildJobserverHandle.None("JobserverSlots is 1: tools run with their own defaults, as under make -j1.", inherited.Rejected), null);
        }

        try
        {
            var pool = JobTokenPool.Create(requestedSlots);
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

    private static BuildJobserverOwner Join(TaskLoggingHelper log, JobserverAuth auth, PipeIdentity? identity, int jobs, string variable, string? blame)
    {
        // The entry process's own implicit slot becomes the one token of a build-local pool: a tool starts when it
        // gets either that token or one of the parent's, and each goes back where it came from.
        JobTokenPool? local = null;
        try
        {
            local = JobTokenPool.Create(1);
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
            JobserverAuthKind.Pipe => $"/proc/{ProcessInfo.CurrentId}/fd/{auth.ReadFd}",
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

    // Where the pool went instead of its usual place, and why: once per build, from the entry process.
    private static void ReportLocation(TaskLoggingHelper log, JobTokenPool pool, string? blame)
    {
        foreach (var note in pool.LocationNotes)
        {
            if (note.Problem == PoolLocationProblem.UserDirectoryNotPrivate)
            {
                JobserverLog.Warning(log, DiagnosticCode.UserDirectoryNotPrivate,
                    $"The jobserver directory {note.Parent} {note.Detail}, so no pool goes there (another user may have made it first); this build uses a private directory of its own ({pool.Directory}). Remove {note.Parent}, or point TMPDIR at a directory of your own.", blame);
            }
            else
            {
                JobserverLog.Message(log, MessageImportance.Normal, DiagnosticCode.PoolPathNotAdvertisable,
                    $"The jobserver is not created in {note.Parent}: {note.Detail}. It lives in {pool.Directory} instead.");
            }
        }
    }

    /// <summary>True where the owner's anonymous-pipe descriptors can be reopened by other processes.</summary>
    public static bool CanShareInheritedPipe => PoolPlatform.CanReopenDescriptorsByPath;

    /// <summary>Drains, counts and closes what this build created; its directory goes with it (see PoolDirectory).</summary>
    public void Dispose() => _pool?.Close();
}
