using System;

namespace MSBuild.Jobserver.Pools;

/// <summary>What trying to lock a file found.</summary>
public enum LockAttempt
{
    /// <summary>This process now holds the lock.</summary>
    Acquired,

    /// <summary>A live process (or a child that inherited the holder's lock) holds it.</summary>
    Held,

    /// <summary>The file is not there (and was not to be created).</summary>
    Missing,
}

/// <summary>
/// An exclusive lock on a file that the kernel releases when its holder dies: flock on an open descriptor on POSIX, a
/// file opened with FileShare.None on Windows. Never a process id written into a file: ids are reused, and a process
/// in another PID namespace looks dead to kill(pid, 0).
/// </summary>
public abstract class FileLock : IDisposable
{
    /// <summary>
    /// While true, processes this one starts inherit the lock (the descriptor, or the handle on Windows): it then lasts
    /// until the last of them ends, so a tool that outlives its MSBuild node keeps its lease.
    /// </summary>
    public abstract void ShareWithChildren(bool share);

    /// <summary>
    /// True while <paramref name="path"/> still names the locked file: a lock file its holder removed (to leave nothing
    /// behind) may have been opened by a waiter just before, whose lock then guards nothing. Windows never lets a file
    /// that is being deleted be opened, so there it is always true.
    /// </summary>
    public virtual bool StillNamedBy(string path) => true;

    /// <summary>Releases the lock.</summary>
    public abstract void Dispose();
}
