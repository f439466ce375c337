using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Threading;
using MSBuild.Jobserver.Pools;

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
    /// Validates <paramref name="auth"/> (see <see cref="JobserverValidator"/>) and connects. For the <c>R,W</c> form on
    /// Linux the pipe is reopened through /proc/self/fd, so this client never changes the inherited file description.
    /// </summary>
    /// <exception cref="JobserverException">The jobserver was rejected or cannot be opened; the message says what to do.</exception>
    public static JobserverClient Connect(JobserverAuth auth) => Connect(auth, null);

    /// <summary>Like <see cref="Connect(JobserverAuth)"/>, naming <paramref name="variableName"/> in error messages.</summary>
    public static JobserverClient Connect(JobserverAuth auth, string? variableName)
    {
        var validation = JobserverValidator.ValidateOrThrow(auth, variableName);
        return PoolPlatform.Current.Connect(validation);
    }

    /// <summary>
    /// Opens <paramref name="path"/>, a pipe that another process already validated (such as <c>/proc/&lt;pid&gt;/fd/&lt;n&gt;</c>
    /// or a pool's FIFO), and checks that it is still that pipe. POSIX only.
    /// </summary>
    /// <exception cref="JobserverException">It cannot be opened, or it is not the pipe <paramref name="expected"/> names.</exception>
    public static JobserverClient ConnectToValidated(string path, PipeIdentity expected)
    {
        if (string.IsNullOrEmpty(path))
        {
            throw new ArgumentException("A path is required.", nameof(path));
        }

        return PoolPlatform.Current.ConnectToValidated(path, expected);
    }

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
        AcquireAny(new[] { this }, cancellationToken, timeout).Token;

    /// <summary>Takes a token if one is available now, without waiting.</summary>
    public bool TryAcquire(out JobToken token) => TryTake(out token);

    /// <summary>Gives <paramref name="token"/> back: the exact byte that was read.</summary>
    public abstract void Release(JobToken token);

    /// <summary>
    /// Waits on several jobservers at once and takes the first token any of them offers. All clients must come from
    /// this platform's <see cref="Connect(JobserverAuth)"/>; on Windows at most 63.
    /// </summary>
    /// <returns>Which client gave the token (an index into <paramref name="clients"/>), and the token.</returns>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    /// <exception cref="TimeoutException">No token came within <paramref name="timeout"/>.</exception>
    public static (int Index, JobToken Token) AcquireAny(IReadOnlyList<JobserverClient> clients, CancellationToken cancellationToken, TimeSpan? timeout = null)
    {
        return PoolPlatform.Current.AcquireFirst(clients, cancellationToken, Deadline(clients, timeout));
    }

    /// <summary>
    /// Waits until one of <paramref name="clients"/> seems to have a free token, and takes none: for a waiter that
    /// must do something slow (reacquire its MSBuild node) before it can use a token, and must not hold one
    /// meanwhile. A token that a blocked reader (cargo, rustc) takes the moment it comes back does not count. The
    /// token may be gone by the time the caller asks for it; the caller then waits again.
    /// </summary>
    /// <returns>The index of a client that had a token.</returns>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    /// <exception cref="TimeoutException">No token came within <paramref name="timeout"/>.</exception>
    public static int WaitForFreeToken(IReadOnlyList<JobserverClient> clients, CancellationToken cancellationToken, TimeSpan? timeout = null)
    {
        return PoolPlatform.Current.WaitForFreeToken(clients, cancellationToken, Deadline(clients, timeout));
    }

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

    // Checks the arguments of a wait on several clients; its deadline as a Stopwatch timestamp, null for none.
    private static long? Deadline(IReadOnlyList<JobserverClient> clients, TimeSpan? timeout)
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

}
