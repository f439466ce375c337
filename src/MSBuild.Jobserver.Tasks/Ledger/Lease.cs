using System;
using System.IO;
using System.Threading;
using MSBuild.Jobserver.Pools;
using MSBuild.Jobserver.Protocol;

namespace MSBuild.Jobserver.Tasks.Ledger;

/// <summary>
/// A claim that a token may be out: a file in the build's directory, locked by its holder for as long as the claim
/// lasts. A refill mints nothing while any lease is locked. The kernel releases the lock when the holder dies, or,
/// when the holder shared it with its tool, when the last process of that tool's tree is gone too.
/// </summary>
internal sealed class Lease : IDisposable
{
    private readonly string _path;
    private FileLock? _lock;

    private Lease(string path, FileLock? fileLock)
    {
        _path = path;
        _lock = fileLock;
    }

    /// <summary>A lease of a build without a directory: holds nothing.</summary>
    public static Lease None => new("", null);

    /// <summary>
    /// Registers a lease in <paramref name="directory"/>, before its holder reads a token. It is made and locked
    /// under a pending name, then renamed: a refill never sees an unlocked live lease. A lease in a directory that is
    /// gone (the build ended) is a no-op. <paramref name="kind"/> starts its id: what the lease is for, when that matters.
    /// </summary>
    public static Lease Begin(PoolDirectory directory, string kind = "")
    {
        var id = kind + Guid.NewGuid().ToString("N");
        var pending = directory.PendingLeasePath(id);
        FileLock? fileLock;
        try
        {
            if (FileLock.TryAcquire(pending, create: true, out fileLock) != LockAttempt.Acquired)
            {
                return None;
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // No lease can be kept (out of descriptors, say): a refill could not see this token, so refilling stops.
            new TokenLedger(directory.Path).DisableRefill();
            return None;
        }

        var path = directory.LeasePath(id);
        try
        {
            File.Move(pending, path);
            return new Lease(path, fileLock);
        }
        catch (IOException)
        {
            // The directory went away between the two steps: nothing is left to refill.
            fileLock!.Dispose();
            return None;
        }
    }

    /// <summary>
    /// While true, processes started meanwhile (the tool) hold the lease with this process; see
    /// <see cref="FileLock.ShareWithChildren"/>. Never throws: a lease that cannot be shared turns refilling off.
    /// </summary>
    public void ShareWithChildren(bool share)
    {
        try
        {
            _lock?.ShareWithChildren(share);
        }
        catch (Exception ex) when (ex is IOException or JobserverException or ObjectDisposedException)
        {
            // The tool's tree may not count as a holder: a refill could mint its token after this process is gone.
            new TokenLedger(Path.GetDirectoryName(_path)!).DisableRefill();
        }
    }

    /// <summary>Ends the lease: the file goes first, then the lock. Idempotent.</summary>
    public void Dispose()
    {
        var fileLock = Interlocked.Exchange(ref _lock, null);
        if (fileLock is null)
        {
            return;
        }

        try
        {
            File.Delete(_path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // The owner removed the directory at the end of the build.
        }

        fileLock.Dispose();
    }

    /// <summary>
    /// True while a live process holds the lease at <paramref name="path"/>. A lease nobody holds is left by a holder
    /// that died with its whole tree: it is removed, and means nothing.
    /// </summary>
    public static bool IsHeld(string path)
    {
        try
        {
            var attempt = FileLock.TryAcquire(path, create: false, out var fileLock);
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
}
