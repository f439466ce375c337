using System;
using System.Diagnostics;
using System.Globalization;
using System.Threading;
using MSBuild.Jobserver.Diagnostics;
using MSBuild.Jobserver.Tasks.Diagnostics;
using MSBuild.Jobserver.Tokens;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;

namespace MSBuild.Jobserver.Tasks.EveryNode;

/// <summary>
/// Takes a token for a task: a free one at once; otherwise it waits (yielded, so MSBuild can run other work on the
/// node, the rendezvous of other nodes included), wakes on cancel, and says so when the wait was long.
/// </summary>
/// <remarks>
/// A token is never held while a task waits to get its node back: MSBuild resumes a reacquiring request only on its
/// own node, and only when nothing executes there (a Csc, which never yields, can keep it out for seconds), so a
/// token taken before Reacquire would stand idle that long. A tool run (<see cref="ExecHook.ToolRun"/>) therefore waits, takes
/// the token and runs its tool all while yielded; AcquireJobToken, which hands the token to its project, yields only
/// around each wait and takes a token once the node is back, waiting again if it was taken meanwhile.
/// </remarks>
internal static class TokenWaiter
{
    /// <summary>
    /// For a task that keeps the token after it returns: the held token, taken with the node held, or null when the
    /// wait was cancelled or timed out (a timeout is logged as an error).
    /// </summary>
    public static HeldToken? Acquire(IBuildEngine engine, TaskLoggingHelper log, NodeJobserver node, ProjectJobserverSettings settings,
        string tool, CancellationToken cancellationToken, TimeSpan? timeout = null) =>
        Take(engine as IBuildEngine3, log, node, settings, tool, cancellationToken, timeout);

    /// <summary>
    /// For a task that has yielded its node already: waits and takes the token without touching the node. Null when
    /// the wait was cancelled.
    /// </summary>
    public static HeldToken? AcquireWhileYielded(TaskLoggingHelper log, NodeJobserver node, ProjectJobserverSettings settings,
        string tool, CancellationToken cancellationToken) =>
        Take(null, log, node, settings, tool, cancellationToken, null);

    // Yields around each wait when yieldEach is given (the caller holds its node), not at all otherwise.
    private static HeldToken? Take(IBuildEngine3? yieldEach, TaskLoggingHelper log, NodeJobserver node, ProjectJobserverSettings settings,
        string tool, CancellationToken cancellationToken, TimeSpan? timeout)
    {
        var requested = LedgerJournal.NowMs;
        var deadline = timeout is { } t && t != Timeout.InfiniteTimeSpan ? Stopwatch.StartNew() : null;
        var held = node.Pool.TryAcquire(settings.ProjectName, tool);
        while (held is null)
        {
            yieldEach?.Yield();
            try
            {
                JobserverTaskSupport.ReportRefill(log, node, node.Pool.WaitForFreeToken(cancellationToken, deadline is null ? null : Remaining(timeout!.Value, deadline)));
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
                yieldEach?.Reacquire();
            }

            held = node.Pool.TryAcquire(settings.ProjectName, tool, requested);
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
