using System;
using MSBuild.Jobserver.Tasks.EntryProcess;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;

namespace MSBuild.Jobserver.Tasks;

/// <summary>
/// Runs first in every project (and solution, with the opt-in) that uses the package: makes the jobserver pipe this
/// process inherited from make or cargo non-inheritable, so worker nodes, the MSBuild server and the compiler server
/// started later never hold it, and closes it when the build ends here (see InheritedDescriptors). Logs nothing.
/// </summary>
public sealed class HideInheritedJobserver : Task
{
    /// <inheritdoc/>
    public override bool Execute()
    {
        InheritedDescriptors.Hide((IBuildEngine4)BuildEngine, Environment.GetEnvironmentVariable);
        return true;
    }
}
