using System;
using System.Diagnostics;
using System.Globalization;
using System.Threading;
using MSBuild.Jobserver.Tasks.BuildPool;
using MSBuild.Jobserver.Tasks.Diagnostics;
using MSBuild.Jobserver.Tasks.Ledger;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;

namespace MSBuild.Jobserver.Tasks.Node;

/// <summary>
/// Takes a token for a task: a free one at once; otherwise it yields the node while it waits (so MSBuild can run
/// other work there, the rendezvous of other nodes included), wakes on cancel, and says so when the wait was long.
/// </summary>
/// <remarks>
/// The token is taken only once the node is back. Reacquire can take long: MSBuild resumes no request while the
/// yielded ones (tools running, other waiters) are at its limit (-m plus one or two). A waiter that held a token
/// through that wait kept a slot idle for as long as a whole cargo build took elsewhere; now it only watches for a
/// free token while yielded, reacquires, takes one if it is still there, and waits again if not.
/// </remarks>
internal static class TokenWaiter
{
    /// <summary>
    /// The held token, or null when the wait was cancelled or timed out (a timeout is logged as an error).
    /// </summary>
    public static HeldToken? Acquire(IBuildEngine engine, TaskLoggingHelper log, NodeJobserver node, ProjectJobserverSettings settings,
        string tool, CancellationToken cancellationToken, TimeSpan? timeout = null)
    {
        var requested = LedgerJournal.NowMs;
        var deadline = timeout is { } t && t != Timeout.InfiniteTimeSpan ? Stopwatch.StartNew() : null;
        var held = node.TryAcquire(settings.ProjectName, tool);
        while (held is null)
        {
            var engine3 = engine as IBuildEngine3;
            engine3?.Yield();
            try
            {
                JobserverTaskSupport.ReportRefill(log, node, node.WaitForFreeToken(cancellationToken, deadline is null ? null : Remaining(timeout!.Value, deadline)));
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

            held = node.TryAcquire(settings.ProjectName, tool, requested);
        }

        var waited = held.Started.WaitMs / 1000.0;
        if (waited >= settings.LongWaitSeconds)
        {
            JobserverLog.Message(log, MessageImportance.Normal, DiagnosticCode.LongWait,
                $"'{tool}' waited {waited.ToString("0.0", CultureInfo.InvariantCulture)} s for a jobserver token: all {node.Handle.Slots} slots of the build were busy.");
        }

        return held;
    }

    private static TimeSpan Remaining(TimeSpan timeout, Stopwatch elapsed) =>
        timeout > elapsed.Elapsed ? timeout - elapsed.Elapsed : TimeSpan.Zero;
}
