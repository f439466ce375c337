using System;
using MSBuild.Jobserver.Tasks.EveryNode;
using MSBuild.Jobserver.Tasks.EntryProcess;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;

namespace MSBuild.Jobserver.Tasks;

/// <summary>
/// The rendezvous project's task: creates the build's pool, or joins the inherited one, once per build in the
/// entry process, and returns the handle every node uses. Not meant for user projects.
/// </summary>
public sealed class CreateBuildJobserver : Task
{
    /// <summary>The pool size asked for.</summary>
    [Required]
    public int Slots { get; set; }

    /// <summary>"User" joins the pool shared by all of the user's builds; anything else is the build's own pool.</summary>
    public string Scope { get; set; } = "";

    /// <summary>No new token while less memory than this (MiB) is available and a job runs; 0 is off.</summary>
    public long MinFreeMemoryMiB { get; set; }

    /// <summary>$(MSBuildStartupDirectory): to find the entry project, which the warnings name and the handle carries.</summary>
    public string StartupDirectory { get; set; } = "";

    /// <summary>The handle: item spec is the build's nonce, metadata describe the pool and name the entry project.</summary>
    [Output]
    public ITaskItem? Handle { get; private set; }

    /// <inheritdoc/>
    public override bool Execute()
    {
        var blame = StartupDirectory.Length > 0 ? EntryProject.Find(StartupDirectory) : null;
        var owner = BuildJobserverOwner.GetOrCreate((IBuildEngine4)BuildEngine, Log,
            new OwnerRequest(Slots, string.Equals(Scope, "User", StringComparison.OrdinalIgnoreCase), MinFreeMemoryMiB), Environment.GetEnvironmentVariable, blame);
        Handle = owner.Handle.ToItem();
        Handle.SetMetadata(HandleItem.EntryProjectMetadata, blame ?? "");
        return !Log.HasLoggedErrors;
    }
}
