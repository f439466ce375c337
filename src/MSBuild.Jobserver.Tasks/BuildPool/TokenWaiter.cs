using System;
using System.Globalization;
using System.Threading;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;
using MSBuild.Jobserver.Tasks.Diagnostics;

namespace MSBuild.Jobserver.Tasks.BuildPool;

/// <summary>
/// Takes a token for a task: a free one at once; otherwise it yields the node while it waits (so MSBuild can run
/// other work there, the rendezvous of other nodes included), wakes on cancel, and says so when the wait was long.
/// </summary>
internal static class TokenWaiter
{
    /// <summary>
    /// The held token, or null when the wait was cancelled or timed out (a timeout is logged as an error).
    /// </summary>
    public static HeldToken? Acquire(IBuildEngine engine, TaskLoggingHelper log, NodeJobserver node, ProjectJobserverSettings settings,
        string tool, CancellationToken cancellationToken, TimeSpan? timeout = null)
    {
        // Yield and Reacquire are round trips to the scheduler, and Reacquire waits for whatever MSBuild started on
        // the node meanwhile: not worth it when a token is free.
        var free = node.TryAcquire(settings.ProjectName, tool);
        if (free is not null)
        {
            return free;
        }

        var engine3 = engine as IBuildEngine3;
        HeldToken held;
        engine3?.Yield();
        try
        {
            held = node.Acquire(settings.ProjectName, tool, cancellationToken, timeout);
        }
        catch (OperationCanceledException)
        {
            return null;
        }
        catch (TimeoutException)
        {
            JobserverLog.Error(log, DiagnosticCode.AcquireTimedOut,
                $"No jobserver token came within {timeout?.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture)} s for '{tool}'. Raise the Timeout, raise JobserverSlots, or look for a task that holds tokens too long.");
            return null;
        }
        finally
        {
            engine3?.Reacquire();
        }

        var waited = (held.AcquiredMs - held.RequestedMs) / 1000.0;
        if (waited >= settings.LongWaitSeconds)
        {
            JobserverLog.Message(log, MessageImportance.Normal, DiagnosticCode.LongWait,
                $"'{tool}' waited {waited.ToString("0.0", CultureInfo.InvariantCulture)} s for a jobserver token: all {node.Handle.Slots} slots of the build were busy.");
        }

        return held;
    }
}
