using System;
using System.Diagnostics;
using System.IO;
using System.Threading;
using MSBuild.Jobserver.Platform;
using MSBuild.Jobserver.Pools;

namespace MSBuild.Jobserver.Tokens;

/// <summary>What waiting for <c>ledger.lock</c> found.</summary>
public enum LedgerLockOutcome
{
    /// <summary>Held now.</summary>
    Held,

    /// <summary>The build's directory is gone: the build is over.</summary>
    Gone,

    /// <summary>Not got within the patience, or the file system cannot lock: the caller must assume the worst.</summary>
    Unavailable,
}

/// <summary>
/// <c>ledger.lock</c>, the one lock of the ledger's rules (see <see cref="TokenLedger"/>): taken exclusively by whoever
/// counts the pool (a refill, the end-of-build count, the owner's close), shared by whoever begins a lease or turns
/// refilling off. Every holder keeps it for a few file operations only, so a waiter polls.
/// </summary>
public static class LedgerLock
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    /// <summary>Waits (up to 10 s) for the lock; <paramref name="held"/> is set when the outcome is Held.</summary>
    public static LedgerLockOutcome Wait(PoolDirectory directory, bool shared, out FileLock? held)
    {
        held = null;
        var patience = Stopwatch.StartNew();
        while (patience.Elapsed < Patience)
        {
            try
            {
                var attempt = shared
                    ? directory.TryLockShared(directory.LedgerLockPath, out held)
                    : directory.TryLock(directory.LedgerLockPath, create: true, out held);
                switch (attempt)
                {
                    case LockAttempt.Acquired:
                        return LedgerLockOutcome.Held;
                    case LockAttempt.Missing:
                        return LedgerLockOutcome.Gone;
                }
            }
            catch (LocksUnsupportedException)
            {
                return LedgerLockOutcome.Unavailable;
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // Cannot be opened, for a reason other than a missing directory (that is Missing): assume the worst.
                return LedgerLockOutcome.Unavailable;
            }

            Thread.Sleep(1);
        }

        return LedgerLockOutcome.Unavailable;
    }

    /// <summary>
    /// Closes the build's pool with the lock held exclusively (released once the pool is drained), so no refill or lease
    /// is half done while its tokens are counted.
    /// </summary>
    public static void ClosePool(JobTokenPool pool)
    {
        LedgerLock.Wait(PoolPlatform.OpenDirectory(pool.Directory), shared: false, out var held);
        pool.Close(held);
    }

    /// <summary>Turns refilling off for the build: something takes tokens without a lease (rule 7).</summary>
    public static void DisableRefill(PoolDirectory directory)
    {
        // Under the shared lock, so that no count is under way while the file appears; without it (the lock could not
        // be had), written anyway: a refill that never runs again is the safe side.
        var outcome = LedgerLock.Wait(directory, shared: true, out var gate);
        using (gate)
        {
            if (outcome != LedgerLockOutcome.Gone)
            {
                TryWrite(() => File.WriteAllBytes(directory.NoRefillPath, Array.Empty<byte>()));
            }
        }
    }

    private static void TryWrite(Action write)
    {
        try
        {
            write();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // The owner removed the directory at the end of the build.
        }
    }
}
