using System;
using System.Collections;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using Microsoft.Build.Framework;

namespace MSBuild.Jobserver.Tasks.BuildPool;

/// <summary>
/// Finds the build's jobserver through MSBuild's results cache: every node asks MSBuild to build the package's
/// rendezvous project; its target runs once per build (in the entry process: a project named dirs.proj gets
/// in-proc affinity), and every later caller on any node gets the cached handle.
/// </summary>
internal static class Rendezvous
{
    /// <summary>The target that creates or joins the pool and returns its handle.</summary>
    public const string TargetName = "OpenJobserver";

    /// <summary>The rendezvous project shipped beside the task assembly (tasks/rendezvous/dirs.proj).</summary>
    public static string ProjectPath { get; } = Path.GetFullPath(Path.Combine(
        Path.GetDirectoryName(typeof(Rendezvous).Assembly.Location) ?? ".", "..", "rendezvous", "dirs.proj"));

    /// <summary>Asks MSBuild for the build's handle. Must not be called while the task has yielded.</summary>
    public static BuildJobserverHandle Request(IBuildEngine engine, int slots)
    {
        if (engine is not IBuildEngine3 engine3)
        {
            throw new InvalidOperationException("This MSBuild is too old to share a jobserver between nodes (IBuildEngine3 is missing).");
        }

        if (!File.Exists(ProjectPath))
        {
            throw new InvalidOperationException($"The package is incomplete: '{ProjectPath}' is missing. Restore the MSBuild.Jobserver package again.");
        }

        // Strip the caller's global properties so that every caller (inner builds included) maps to one configuration.
        var remove = ProjectJobserverSettings.GlobalPropertyNames(engine)
            .Where(n => !string.Equals(n, "JobserverSlots", StringComparison.OrdinalIgnoreCase))
            .ToList();
        var properties = new Hashtable { ["JobserverSlots"] = slots.ToString(CultureInfo.InvariantCulture) };
        var result = engine3.BuildProjectFilesInParallel(
            new[] { ProjectPath }, new[] { TargetName }, new IDictionary[] { properties }, new IList<string>[] { remove }, new string?[] { null }, true);

        if (!result.Result || result.TargetOutputsPerProject.Count == 0
            || !result.TargetOutputsPerProject[0].TryGetValue(TargetName, out var items) || items.Length != 1)
        {
            throw new InvalidOperationException("The jobserver rendezvous target failed; see the errors above.");
        }

        return BuildJobserverHandle.FromItem(items[0]);
    }
}
