using System;
using System.Collections;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using MSBuild.Jobserver.Pools;
using MSBuild.Jobserver.Tasks.EntryProcess;
using MSBuild.Jobserver.Tokens;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;

namespace MSBuild.Jobserver.Tasks.EveryNode;

/// <summary>
/// Finds the build's jobserver through MSBuild's results cache: every node asks MSBuild to build the package's
/// rendezvous project; its target runs once per build (in the entry process: a project named dirs.proj gets
/// in-proc affinity), and every later caller on any node gets the cached handle.
/// </summary>
internal static class Rendezvous
{
    /// <summary>The target that creates or joins the pool and returns its handle.</summary>
    public const string TargetName = "OpenJobserver";

    /// <summary>The target that returns the project the build was started on, as the entry process sees it.</summary>
    public const string EntryProjectTargetName = "FindEntryProject";

    /// <summary>The target that computes the end-of-build summary in the entry process, for an entry project built elsewhere.</summary>
    public const string SummarizeTargetName = "Summarize";

    /// <summary>The rendezvous project's property naming the task assembly it loads.</summary>
    private const string TasksAssemblyProperty = "JobserverTasksAssembly";

    private const string EntryProjectKey = "MSBuild.Jobserver.EntryProject";

    // The handle that came with the entry project's answer, for the first tool of a worker that asked that first.
    private const string KnownHandleKey = "MSBuild.Jobserver.KnownHandle";

    /// <summary>The rendezvous project shipped beside the task assembly (tasks/rendezvous/dirs.proj).</summary>
    public static string ProjectPath { get; } = Path.GetFullPath(Path.Combine(
        Path.GetDirectoryName(typeof(Rendezvous).Assembly.Location) ?? ".", "..", "rendezvous", "dirs.proj"));

    /// <summary>
    /// The build's handle: from the owner itself in the entry process, else from MSBuild. Must not be called while the
    /// task has yielded. Problems making the pool are logged to <paramref name="log"/>.
    /// </summary>
    public static BuildJobserverHandle Request(IBuildEngine engine, TaskLoggingHelper log, ProjectJobserverSettings settings)
    {
        // The entry process owns the pool: building the rendezvous project there would cost an evaluation and two trips
        // through the scheduler (about a third of the package's cost in a no-op build). Worker nodes, and -mt's
        // TaskHosts (which look like them), must ask MSBuild; the target then returns this same owner's handle.
        var request = new OwnerRequest(settings.Slots, settings.UserScope, settings.MinFreeMemoryMiB);
        var engine4 = engine as IBuildEngine4;
        if (!ProcessInfo.IsWorkerNode && engine4 is not null)
        {
            return BuildJobserverOwner.GetOrCreate(engine4, log, request, Environment.GetEnvironmentVariable, blame: null).Handle;
        }

        // The pool the entry process would hand this request anyway, with nothing to warn about: no second trip.
        if (engine4?.GetRegisteredTaskObject(KnownHandleKey, RegisteredTaskObjectLifetime.Build) is ITaskItem known
            && known.ToHandle() is var knownHandle && BuildJobserverOwner.Mismatch(knownHandle, request) is null)
        {
            return knownHandle;
        }

        var properties = new Hashtable
        {
            ["JobserverSlots"] = settings.Slots.ToString(CultureInfo.InvariantCulture),
            ["JobserverScope"] = settings.UserScope ? "User" : "Build",
            ["JobserverMinFreeMemory"] = settings.MinFreeMemoryMiB.ToString(CultureInfo.InvariantCulture),
        };
        var items = Build(engine, TargetName, properties);
        if (items.Length != 1)
        {
            throw new InvalidOperationException("The jobserver rendezvous target failed; see the errors above.");
        }

        // One trip through the scheduler per worker node: the summary's question rides on the pool's answer.
        if (engine4 is not null)
        {
            RememberEntryProject(engine4, items[0].GetMetadata(HandleItem.EntryProjectMetadata));
        }

        return items[0].ToHandle();
    }

    /// <summary>
    /// The full path of the project the build was started on, null when the entry process cannot tell. A worker
    /// node's own command line names no project, so it asks the entry process, once per build.
    /// </summary>
    public static string? EntryProject(IBuildEngine engine)
    {
        var engine4 = (IBuildEngine4)engine;
        if (engine4.GetRegisteredTaskObject(EntryProjectKey, RegisteredTaskObjectLifetime.Build) is string known)
        {
            return known.Length == 0 ? null : known;
        }

        var items = Build(engine, EntryProjectTargetName, new Hashtable());
        var entry = "";
        foreach (var item in items)
        {
            // The handle is one item; the other, if any, names the entry project.
            if (HandleItem.IsHandle(item))
            {
                engine4.RegisterTaskObject(KnownHandleKey, item, RegisteredTaskObjectLifetime.Build, allowEarlyCollection: false);
            }
            else
            {
                entry = item.ItemSpec;
            }
        }

        RememberEntryProject(engine4, entry);
        return entry.Length == 0 ? null : entry;
    }

    // Empty means the entry process could not tell; that answer is kept too, so it is asked once.
    private static void RememberEntryProject(IBuildEngine4 engine, string entry) =>
        engine.RegisterTaskObject(EntryProjectKey, entry, RegisteredTaskObjectLifetime.Build, allowEarlyCollection: false);

    /// <summary>
    /// Has the entry process, which owns the pool, compute the end-of-build summary for
    /// <paramref name="projectFullPath"/>; returns its lines for the caller to log.
    /// </summary>
    public static ITaskItem[] Summarize(IBuildEngine engine, string projectFullPath, string traceFile, string reportFile) =>
        Build(engine, SummarizeTargetName, new Hashtable
        {
            ["JobserverSummaryProject"] = projectFullPath, ["JobserverTraceFile"] = traceFile, ["JobserverReport"] = reportFile,
        });

    // Builds a target of the rendezvous project with exactly `properties` as its global properties: the caller's are
    // stripped, so that every caller (inner builds included) asking the same maps to one configuration, run once.
    private static ITaskItem[] Build(IBuildEngine engine, string target, Hashtable properties)
    {
        if (engine is not IBuildEngine3 engine3)
        {
            throw new InvalidOperationException("This MSBuild is too old to share a jobserver between nodes (IBuildEngine3 is missing).");
        }

        if (!File.Exists(ProjectPath))
        {
            throw new InvalidOperationException($"The package is incomplete: '{ProjectPath}' is missing. Restore the MSBuild.Jobserver package again.");
        }

        // The rendezvous loads the file this code runs from (the IL or the precompiled folder):
        // a second copy of our types in the entry process would not know the first's pool.
        properties[TasksAssemblyProperty] = typeof(Rendezvous).Assembly.Location;
        var remove = ProjectJobserverSettings.GlobalPropertyNames(engine)
            .Where(n => !properties.Keys.Cast<string>().Any(k => string.Equals(k, n, StringComparison.OrdinalIgnoreCase)))
            .ToList();
        var result = engine3.BuildProjectFilesInParallel(
            new[] { ProjectPath }, new[] { target }, new IDictionary[] { properties }, new IList<string>[] { remove }, new string?[] { null }, true);

        if (!result.Result || result.TargetOutputsPerProject.Count == 0
            || !result.TargetOutputsPerProject[0].TryGetValue(target, out var items))
        {
            throw new InvalidOperationException($"The jobserver rendezvous target {target} failed; see the errors above.");
        }

        return items;
    }
}
