using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Threading;

namespace MSBuild.Jobserver.Protocol;

/// <summary>
/// A connection to a jobserver (ours or a parent's): take a token before starting a job, give the same token back
/// when it ends. Thread-safe: several threads may acquire and release through one client.
/// </summary>
public abstract class JobserverClient : IDisposable
{
    private protected JobserverClient(JobserverAuth auth, PipeIdentity? identity)
    {
        Auth = auth;
        Identity = identity;
    }

    /// <summary>The jobserver this client is connected to.</summary>
    public JobserverAuth Auth { get; }

    /// <summary>The pipe's (st_dev, st_ino) on POSIX; null on Windows.</summary>
    public PipeIdentity? Identity { get; }

    /// <summary>
    /// Waits for a token. Cancellation ends the wait at once; when this throws, no token was taken.
    /// </summary>
    /// <remarks>
    /// One exception: an inherited <c>R,W</c> pipe on a POSIX system other than Linux cannot be reopened, so the
    /// client shares make's blocking file description; if another process takes the token between poll and read,
    /// the read (and so the cancellation) waits until a token comes back.
    /// </remarks>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    /// <exception cref="TimeoutException">No token came within <paramref name="timeout"/>.</exception>
    public JobToken Acquire(CancellationToken cancellationToken, TimeSpan? timeout = null) =>
        AcquireCore(cancellationToken, Deadline(new[] { this }, timeout));

    /// <summary>Takes a token if one is available now, without waiting.</summary>
    public bool TryAcquire(out JobToken token) => TryTake(out token);

    /// <summary>Gives <paramref name="token"/> back: the exact byte that was read.</summary>
    public abstract void Release(JobToken token);

    /// <summary>Closes this client's handles. Tokens it still holds are not returned.</summary>
    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Releases the handles.</summary>
    private protected abstract void Dispose(bool disposing);

    /// <summary>Takes a token without waiting.</summary>
    private protected abstract bool TryTake(out JobToken token);

    /// <summary>Waits for a token from this client alone until <paramref name="deadline"/> (a Stopwatch timestamp, null for none).</summary>
    private protected abstract JobToken AcquireCore(CancellationToken cancellationToken, long? deadline);

    // Checks the arguments of a wait on several clients; its deadline as a Stopwatch timestamp, null for none.
    internal static long? Deadline(IReadOnlyList<JobserverClient> clients, TimeSpan? timeout)
    {
        if (clients is null || clients.Count == 0)
        {
            throw new ArgumentException("At least one client is required.", nameof(clients));
        }

        if (timeout is { } t && t < TimeSpan.Zero && t != Timeout.InfiniteTimeSpan)
        {
            throw new ArgumentOutOfRangeException(nameof(timeout), t, "The timeout must not be negative.");
        }

        return timeout is { } limit && limit != Timeout.InfiniteTimeSpan ? Stopwatch.GetTimestamp() + (long)(limit.TotalSeconds * Stopwatch.Frequency) : null;
    }

    /// <summary>Milliseconds until <paramref name="deadline"/> (a Stopwatch timestamp), or -1 when there is none.</summary>
    private protected static int RemainingMilliseconds(long? deadline) =>
        deadline is { } d ? (int)Math.Max(0, Math.Min(int.MaxValue, (d - Stopwatch.GetTimestamp()) * 1000 / Stopwatch.Frequency)) : -1;

    /// <summary>The clients as one platform's own type: every client comes from that platform's Connect.</summary>
    internal static T[] Own<T>(IReadOnlyList<JobserverClient> clients)
        where T : JobserverClient
    {
        var result = new T[clients.Count];
        for (var i = 0; i < result.Length; i++)
        {
            result[i] = clients[i] as T ?? throw new ArgumentException("Client " + i + " is null or belongs to another platform.", nameof(clients));
        }

        return result;
    }
}
