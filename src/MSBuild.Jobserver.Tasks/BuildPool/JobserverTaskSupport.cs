using System;
using Microsoft.Build.Utilities;
using MSBuild.Jobserver.Tasks.Diagnostics;

namespace MSBuild.Jobserver.Tasks.BuildPool;

/// <summary>What every task that takes tokens does first: find the build's pool and connect to it.</summary>
internal static class JobserverTaskSupport
{
    /// <summary>
    /// The connected node view, or null when this build has no usable pool here (the reason is logged once per
    /// process); the task then runs its work without a token.
    /// </summary>
    public static NodeJobserver? TryGetConnectedNode(Task task, ProjectJobserverSettings settings)
    {
        var node = TryGetNode(task, settings, "This task runs without a jobserver token.");
        if (node is null || node.Handle.Mode == BuildJobserverMode.None)
        {
            return null;
        }

        if (!node.TryConnect(out var problem))
        {
            if (node.FirstConnectProblemReport())
            {
                JobserverLog.Warning(task.Log, DiagnosticCode.InheritedIdentityMismatch,
                    (problem ?? "The build's jobserver cannot be opened in this MSBuild process.") + " Tools started from this process run without the build's jobserver.");
            }

            return null;
        }

        return node;
    }

    /// <summary>The build's view for this process; null (warned, with <paramref name="consequence"/>) when the rendezvous failed.</summary>
    public static NodeJobserver? TryGetNode(Task task, ProjectJobserverSettings settings, string consequence)
    {
        try
        {
            return NodeJobserver.Get(task.BuildEngine, settings.Slots);
        }
        catch (Exception ex) when (ex is InvalidOperationException or FormatException)
        {
            JobserverLog.Warning(task.Log, DiagnosticCode.RendezvousFailed, ex.Message + " " + consequence);
            return null;
        }
    }

    /// <summary>Gives <paramref name="held"/> back and says so when that refilled tokens lost by tools that died.</summary>
    public static void Release(Task task, NodeJobserver node, HeldToken held) => ReportRefill(task, node, node.Release(held));

    /// <summary>Says so when giving a token back refilled tokens lost by tools that died (JOBS0034).</summary>
    public static void ReportRefill(Task task, NodeJobserver node, RefillResult refill)
    {
        if (refill.Recovered > 0 || refill.Removed > 0)
        {
            JobserverLog.Warning(task.Log, DiagnosticCode.TokensRecovered,
                $"The build's jobserver was missing {refill.Recovered} token(s) and had {refill.Removed} too many once no tool held one: a tool that died (killed by a timeout, Ctrl+C or a crash) kept them. The pool is back to {node.Handle.Slots} slots.");
        }
    }
}
