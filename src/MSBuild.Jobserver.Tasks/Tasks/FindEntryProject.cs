using MSBuild.Jobserver.Tasks.EntryProcess;
using MSBuild.Jobserver.Tasks.EveryNode;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;

namespace MSBuild.Jobserver.Tasks;

/// <summary>
/// The rendezvous project's task that names the project the build was started on, read from the entry process's
/// command line: worker nodes, whose command line names no project, ask it once per build. With it goes the build's
/// handle when the pool already exists, so that a worker which asks this first need not ask for the pool too. Not meant
/// for user projects.
/// </summary>
public sealed class FindEntryProject : Task
{
    /// <summary>$(MSBuildStartupDirectory): where relative paths on the command line start.</summary>
    [Required]
    public string StartupDirectory { get; set; } = "";

    /// <summary>The entry project's full path; empty when the command line does not say.</summary>
    [Output]
    public string EntryProject { get; private set; } = "";

    /// <summary>The build's handle (as OpenJobserver returns it) when this process already owns the pool; else none.</summary>
    [Output]
    public ITaskItem? Handle { get; private set; }

    /// <inheritdoc/>
    public override bool Execute()
    {
        EntryProject = EntryProcess.EntryProject.Find(StartupDirectory) ?? "";
        Handle = BuildEngine is IBuildEngine4 engine ? BuildJobserverOwner.Current(engine)?.Handle.ToItem() : null;
        return true;
    }
}
