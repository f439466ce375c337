using System;
using MSBuild.Jobserver.Diagnostics;
using MSBuild.Jobserver.Tasks.Diagnostics;
using MSBuild.Jobserver.Tokens;
using Microsoft.Build.Utilities;

namespace MSBuild.Jobserver.Tasks.EveryNode;

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

        if (!node.Pool.TryConnect(out var problem))
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
            return NodeJobserver.Get(task.BuildEngine, task.Log, settings);
        }
        catch (Exception ex) when (ex is InvalidOperationException or FormatException)
        {
            JobserverLog.Warning(task.Log, DiagnosticCode.RendezvousFailed, ex.Message + " " + consequence);
            return null;
        }
    }

    /// <summary>Gives <paramref name="held"/> back and says what its release found.</summary>
    public static void Release(Task task, NodeJobserver node, HeldToken held)
    {
        held.Dispose();
        ReportRelease(task, node, held);
    }

    /// <summary>
    /// After <paramref name="held"/> was given back: says so when its byte could not be written back (JOBS0042), or when
    /// the refill after it found tokens lost by tools that died (JOBS0034).
    /// </summary>
    public static void ReportRelease(Task task, NodeJobserver node, HeldToken held)
    {
        if (held.ReleaseFailure is { } failure)
        {
            JobserverLog.Warning(task.Log, DiagnosticCode.TokenReturnFailed,
                $"The jobserver token of '{held.Started.Tool}' could not be given back ({failure.Message}). The build recovers it once no tool holds a token.");
        }

        ReportRefill(task.Log, node, held.Refill);
    }

    /// <summary>Says what a refill found (JOBS0034), if it found anything.</summary>
    public static void ReportRefill(TaskLoggingHelper log, NodeJobserver node, RefillResult refill)
    {
        if (refill.Recovered > 0 || refill.Removed > 0)
        {
            JobserverLog.Warning(log, DiagnosticCode.TokensRecovered,
                $"The build's jobserver was missing {refill.Recovered} token(s) and had {refill.Removed} too many once no tool held one: a tool that died (killed by a timeout, Ctrl+C or a crash) kept them. The pool is back to {node.Handle.Slots} slots.");
        }
    }
}
