using System;
using System.IO;
using System.Threading;
using MSBuild.Jobserver.Pools;
using MSBuild.Jobserver.Protocol;

namespace MSBuild.Jobserver.Tokens;

/// <summary>
/// A claim that a token may be out: a file in the build's directory, locked by its holder for as long as the claim
/// lasts. A refill mints nothing while any lease is locked. The kernel releases the lock when the holder dies, or,
/// when the holder shared it with its tool, when the last process of that tool's tree that kept it is gone too
/// (rules 2 and 3 of <see cref="TokenLedger"/>).
/// </summary>
public sealed class Lease : IDisposable
{
    // One tool start at a time in this process while its lease is inheritable (see ShareWithChildren).
    private static readonly SemaphoreSlim StartGate = new(1, 1);

    private readonly PoolDirectory? _directory;
    private readonly string _path;
    private FileLock? _lock;
    private int _sharing;

    private Lease(PoolDirectory? directory, string path, FileLock? fileLock)
    {
        _directory = directory;
        _path = path;
        _lock = fileLock;
    }

    /// <summary>A lease of a build without a directory: holds nothing.</summary>
    public static Lease None => new(null, "", null);

    /// <summary>
    /// Registers a lease in <paramref name="directory"/>, before its holder reads a token. Under the shared ledger lock
    /// it is made and locked under a pending name, then renamed: a count never runs while a lease appears, and never
    /// sees an unlocked live lease. A lease in a directory that is gone (the build ended) is a no-op.
    /// <paramref name="kind"/> starts its id: what the lease is for, when that matters.
    /// </summary>
    public static Lease Begin(PoolDirectory directory, string kind = "")
    {
        switch (LedgerLock.Wait(directory, shared: true, out var gate))
        {
            case LedgerLockOutcome.Gone:
                return None;
            case LedgerLockOutcome.Unavailable:
                // No lease can be seen by a count: the token read next would look lost, so refilling stops first.
                LedgerLock.DisableRefill(directory);
                return None;
        }

        using (gate)
        {
            return BeginUnderGate(directory, kind);
        }
    }

    /// <summary>
    /// While true, processes started meanwhile (the tool) hold the lease with this process; see
    /// <see cref="FileLock.ShareWithChildren"/>. Never throws: a lease that cannot be shared turns refilling off.
    /// </summary>
    /// <remarks>
    /// Process.Start cannot pass one chosen handle or descriptor (Windows' PROC_THREAD_ATTRIBUTE_HANDLE_LIST is out of
    /// ToolTask's reach), so the lease is inheritable for the moment its tool starts, and anything else this process
    /// starts in that moment inherits it too. The package's own tools start one at a time per process (the gate
    /// below), so no tool holds another's lease; a process MSBuild itself starts then (a worker node) would keep the
    /// lease for its life: refills wait for it, which never lets more than N run.
    /// </remarks>
    public void ShareWithChildren(bool share)
    {
        if (_lock is null)
        {
            return;
        }

        if (share && Interlocked.Exchange(ref _sharing, 1) == 0)
        {
            StartGate.Wait();
        }

        try
        {
            _lock?.ShareWithChildren(share);
        }
        catch (Exception ex) when (ex is IOException or JobserverException or ObjectDisposedException)
        {
            // The tool's tree may not count as a holder: a refill could mint its token after this process is gone.
            LedgerLock.DisableRefill(_directory!);
        }
        finally
        {
            if (!share && Interlocked.Exchange(ref _sharing, 0) == 1)
            {
                StartGate.Release();
            }
        }
    }

    /// <summary>
    /// Ends this process's part of the lease: the lock goes first; the file goes only when no other process (a tool's
    /// helper that outlived it) still holds the lock. Otherwise the lease stays, and whoever later finds it free
    /// removes it (<see cref="IsHeld"/>). Idempotent.
    /// </summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _sharing, 0) == 1)
        {
            StartGate.Release();
        }

        var fileLock = Interlocked.Exchange(ref _lock, null);
        if (fileLock is null)
        {
            return;
        }

        fileLock.Dispose();
        IsHeld(_directory!, _path);
    }

    /// <summary>
    /// True while a live process holds the lease at <paramref name="path"/>. A lease nobody holds is left by a holder
    /// that ended with its whole tree: it is removed, and means nothing.
    /// </summary>
    public static bool IsHeld(PoolDirectory directory, string path)
    {
        try
        {
            var attempt = directory.TryLock(path, create: false, out var fileLock);
            using (fileLock)
            {
                if (attempt == LockAttempt.Acquired)
                {
                    File.Delete(path);
                }
            }

            return attempt == LockAttempt.Held;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Cannot tell: count it as held, so that nothing is minted on a guess.
            return true;
        }
    }

    private static Lease BeginUnderGate(PoolDirectory directory, string kind)
    {
        var id = kind + Guid.NewGuid().ToString("N");
        var pending = directory.PendingLeasePath(id);
        FileLock? fileLock;
        LockAttempt attempt;
        try
        {
            attempt = directory.TryLock(pending, create: true, out fileLock);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            attempt = LockAttempt.Held;
            fileLock = null;
        }

        switch (attempt)
        {
            case LockAttempt.Missing:
                // The build's directory is gone: the build is over, nothing is left to refill.
                return None;
            case LockAttempt.Held:
                // No lease could be made (out of descriptors, access denied; a fresh name is never someone else's): a
                // count could not see this token, so refilling stops rather than take the lease for held.
                LedgerLock.DisableRefill(directory);
                return None;
        }

        var path = directory.LeasePath(id);
        try
        {
            File.Move(pending, path);
            return new Lease(directory, path, fileLock);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // The directory went away between the two steps: nothing is left to refill.
            fileLock!.Dispose();
            return None;
        }
    }
}
