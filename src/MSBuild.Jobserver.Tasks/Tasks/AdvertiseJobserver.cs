using System;
using MSBuild.Jobserver.Tasks.EveryNode;
using MSBuild.Jobserver.Tokens;
using Microsoft.Build.Utilities;

namespace MSBuild.Jobserver.Tasks;

/// <summary>
/// Puts the build's jobserver (FIFO form) into the environment of every tool this project starts afterwards,
/// whatever task starts it: the way in for CMake-generated projects, whose custom commands do not run through
/// Exec. MSBuild keeps a project's environment changes within that project. The cost: such a tool takes no
/// token before it starts, so it runs on an implicit slot of its own, and the build can exceed the pool by one
/// per such tool running at once.
/// </summary>
public sealed class AdvertiseJobserver : Task
{
    /// <inheritdoc/>
    public override bool Execute()
    {
        var settings = ProjectJobserverSettings.Current() ?? ProjectJobserverSettings.Unconfigured;
        if (!settings.Enabled)
        {
            return true;
        }

        var node = JobserverTaskSupport.TryGetConnectedNode(this, settings);
        var variables = node is null
            ? ChildEnvironment.WithoutJobserver(Environment.GetEnvironmentVariable)
            : ChildEnvironment.ForTool(node.Handle, MakeflagsForm.Fifo, "", usesShell: false, Environment.GetEnvironmentVariable).Variables;
        foreach (var pair in variables)
        {
            Environment.SetEnvironmentVariable(pair.Key, pair.Value);
        }

        if (node is not null)
        {
            // These tools take tokens without a lease, so a refill could not tell their tokens from lost ones.
            node.Pool.Ledger.DisableRefill();
            Log.LogMessage(Microsoft.Build.Framework.MessageImportance.Normal,
                "Every tool this project starts now sees the build's jobserver ({0}).", node.Handle.PoolPath);
        }

        return !Log.HasLoggedErrors;
    }
}
