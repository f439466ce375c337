using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Security.Cryptography;
using System.Threading;
using MSBuild.Jobserver.Protocol;

namespace MSBuild.Jobserver.Pools;

/// <summary>
/// A build's private directory, and the one place that names, creates and removes what lives in it: the FIFO (POSIX),
/// the owner's lock, the ledger's lock, leases, the journal. The owner holds <c>owner.lock</c> for the build's whole
/// life; a sweep removes only directories whose lock no live process holds, whatever PID namespace either is in.
/// </summary>
/// <remarks>
/// A directory appears under its final name already locked: it is made as <c>.new-…</c>, locked, then renamed, so a
/// sweep never sees a live directory without its lock; it leaves the same way, renamed to <c>.closing-…</c> before it
/// is emptied (see <see cref="Dispose"/>). Sweeps and creations in the same parent never fail one
/// another: whatever vanishes under a sweep was being removed by someone else.
/// </remarks>
public sealed class PoolDirectory : IDisposable
{
    private const string BuildPrefix = "build-";
    private const string NewPrefix = ".new-";
    private const string ClosingPrefix = ".closing-";
    private const string OwnerLockName = "owner.lock";
    private const string LeasePrefix = "lease-";
    private const string PendingLeasePrefix = ".pending-";
    private const string JournalPrefix = "events-";
    private const string RecoveredPrefix = "recovered-";
    private const string JournalSuffix = ".tsv";
    private static readonly TimeSpan AbandonedCreation = TimeSpan.FromMinutes(10);

    private FileLock? _ownerLock;

    private PoolDirectory(IPoolPlatform platform, string path, FileLock? ownerLock, IReadOnlyList<PoolLocationNote> notes)
    {
        Platform = platform;
        Path = path;
        _ownerLock = ownerLock;
        Notes = notes;
    }

    /// <summary>The operating system the directory's files are locked and removed through.</summary>
    public IPoolPlatform Platform { get; }

    /// <summary>The directory.</summary>
    public string Path { get; }

    /// <summary>Why the directory is not where it would normally be (empty when it is).</summary>
    public IReadOnlyList<PoolLocationNote> Notes { get; }

    /// <summary>The pool's FIFO (POSIX).</summary>
    public string FifoPath => Combine("fifo");

    /// <summary>The lock that serializes refills.</summary>
    public string LedgerLockPath => Combine("ledger.lock");

    /// <summary>Present when something takes tokens without a lease, so refilling is off.</summary>
    public string NoRefillPath => Combine("no-refill");

    /// <summary>
    /// Creates a build's directory: in a private per-user directory under the first candidate parent whose path tools
    /// can be told, or in a private directory of its own when the per-user one is not private. Removes stale ones first.
    /// </summary>
    /// <exception cref="JobserverException">No candidate location works; the message says why.</exception>
    public static PoolDirectory Create(IPoolPlatform platform, string? parent)
    {
        var notes = new List<PoolLocationNote>();
        JobserverException? failure = null;
        foreach (var candidate in platform.CandidateParents(parent))
        {
            if (platform.UnsafeParent(candidate) is { } unsafeParent)
            {
                notes.Add(new PoolLocationNote(unsafeParent.Problem, candidate, unsafeParent.Detail));
                continue;
            }

            if (platform.AdvertiseProblem(candidate) is { } unadvertisable)
            {
                notes.Add(new PoolLocationNote(PoolLocationProblem.PathNotAdvertisable, candidate, unadvertisable));
                continue;
            }

            if (platform.SharedParentProblem(candidate) is { } shared)
            {
                notes.Add(new PoolLocationNote(PoolLocationProblem.SharedParent, candidate, shared));
            }

            try
            {
                return CreateIn(platform, candidate, notes);
            }
            catch (LocksUnsupportedException ex)
            {
                notes.Add(new PoolLocationNote(PoolLocationProblem.LocksUnsupported, candidate, ex.Message));
            }
            catch (JobserverException ex)
            {
                failure ??= ex;
            }
        }

        throw failure ?? new JobserverException(JobserverRejection.FifoOpenFailed,
            "No directory can hold the jobserver (" + string.Join("; ", notes.Select(n => n.Parent + ": " + n.Detail)) +
            "). Point TMPDIR at an absolute, local directory of your own whose path has no spaces, quotes or non-ASCII characters.");
    }

    /// <summary>A node's view of a directory the owner created: names only, owns nothing.</summary>
    public static PoolDirectory Open(IPoolPlatform platform, string path) => new(platform, path, null, Array.Empty<PoolLocationNote>());

    /// <summary>Tries once to lock <paramref name="path"/> (creating it when <paramref name="create"/>); never waits.</summary>
    /// <exception cref="LocksUnsupportedException">The file system cannot lock files.</exception>
    public LockAttempt TryLock(string path, bool create, out FileLock? held) => Platform.TryLock(path, create, shared: false, out held);

    /// <summary>
    /// Tries once to take a shared lock on <paramref name="path"/> (created when missing): any number of shared holders,
    /// and none while someone holds it exclusively (<see cref="TryLock"/>). Held means an exclusive holder has it.
    /// </summary>
    public LockAttempt TryLockShared(string path, out FileLock? held) => Platform.TryLock(path, create: true, shared: true, out held);

    /// <summary>A lease file's final name.</summary>
    public string LeasePath(string id) => Combine(LeasePrefix + id);

    /// <summary>Where a lease is made and locked before it is renamed to <see cref="LeasePath"/>.</summary>
    public string PendingLeasePath(string id) => Combine(PendingLeasePrefix + id);

    /// <summary>The leases present now (none once the directory is gone).</summary>
    public IReadOnlyList<string> Leases() => Files(LeasePrefix + "*");

    /// <summary>A process's journal of token holds; <paramref name="tag"/> names the build in a directory builds share.</summary>
    public string JournalPath(int processId, string tag = "") => Combine(JournalPrefix + TagPart(tag) + processId.ToString(CultureInfo.InvariantCulture) + JournalSuffix);

    /// <summary>Every process's journal of the build <paramref name="tag"/> names (every build's when empty).</summary>
    public IReadOnlyList<string> Journals(string tag = "") => Files(JournalPrefix + TagPart(tag) + "*" + JournalSuffix);

    /// <summary>A process's record of refills.</summary>
    public string RecoveredPath(int processId, string tag = "") => Combine(RecoveredPrefix + TagPart(tag) + processId.ToString(CultureInfo.InvariantCulture) + JournalSuffix);

    /// <summary>Every process's record of refills of the build <paramref name="tag"/> names (every build's when empty).</summary>
    public IReadOnlyList<string> RecoveredRecords(string tag = "") => Files(RecoveredPrefix + TagPart(tag) + "*" + JournalSuffix);

    /// <summary>
    /// Removes everything in the directory and the directory itself; the owner's lock goes last. A view
    /// (<see cref="Open"/>) removes nothing.
    /// </summary>
    /// <remarks>
    /// After a Ctrl+C the entry process closes the pool while worker nodes may still write their last records (a
    /// journal line, a lease, the ledger's lock), and each of those creates its file anew by name. So the directory is
    /// renamed first: from then on every such name leads nowhere and nothing new can appear in it. Where the rename
    /// is refused (Windows may refuse it while files in it are open), it is emptied in place, retrying briefly for a
    /// late writer.
    /// </remarks>
    public void Dispose()
    {
        var ownerLock = Interlocked.Exchange(ref _ownerLock, null);
        if (ownerLock is null)
        {
            return;
        }

        var platform = Platform;
        var closing = ClosingPath(Path);
        var path = platform.TryRename(Path, closing) ? closing : Path;
        for (var attempt = 0; attempt < 6; attempt++)
        {
            if (attempt > 0)
            {
                Thread.Sleep(50);
            }

            RemoveContents(platform, path, keep: OwnerLockName);
            if (EntriesOf(path).All(e => System.IO.Path.GetFileName(e) == OwnerLockName))
            {
                break;
            }
        }

        RemoveLockedDirectory(platform, path, ownerLock);
    }

    /// <summary>
    /// Removes the build directories under <paramref name="home"/> (names starting with <paramref name="prefix"/>) whose
    /// owner is gone. Never throws for what another sweep or build does meanwhile.
    /// </summary>
    private static void Sweep(IPoolPlatform platform, string home, string prefix)
    {
        foreach (var entry in EntriesOf(home))
        {
            var name = System.IO.Path.GetFileName(entry);
            try
            {
                if (name.StartsWith(prefix + BuildPrefix, StringComparison.Ordinal)
                    || name.StartsWith(ClosingPrefix + prefix + BuildPrefix, StringComparison.Ordinal)
                    || (name.StartsWith(NewPrefix + prefix, StringComparison.Ordinal) && IsOlderThan(entry, AbandonedCreation)))
                {
                    RemoveIfUnlocked(platform, entry);
                }
                else if (prefix.Length == 0 && LegacyOwner(name) is { } pid && !platform.IsProcessAlive(pid) && platform.IsOwnDirectory(entry))
                {
                    // A directory of an earlier version (named <pid>-<hex>, no lock): its owner's id is all there is.
                    RemoveContents(platform, entry, keep: null);
                    platform.Remove(entry, isDirectory: true);
                }
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // Removed or changed by another sweep or its owner meanwhile: not ours to worry about.
            }
        }
    }

    /// <summary>
    /// The per-user directory in <paramref name="parent"/>, made private now or found: null <c>Problem</c> when it is
    /// this user's alone (build pools and the shared pool live only in such a one).
    /// </summary>
    /// <exception cref="JobserverException">It cannot be made.</exception>
    internal static (string Path, bool MadeNow, string? Problem) UserDirectory(IPoolPlatform platform, string parent)
    {
        var path = System.IO.Path.Combine(parent, platform.UserDirectoryName);
        var madeNow = platform.TryCreatePrivateDirectory(path);
        return (path, madeNow, madeNow ? null : platform.PrivacyProblem(path));
    }

    private static PoolDirectory CreateIn(IPoolPlatform platform, string parent, List<PoolLocationNote> notes)
    {
        var (userDirectory, madeNow, privacy) = UserDirectory(platform, parent);
        if (privacy is { } problem)
        {
            // Someone else made it first (another user in a shared /tmp, or a link): a directory of our own beside it.
            notes.Add(new PoolLocationNote(PoolLocationProblem.UserDirectoryNotPrivate, userDirectory, problem));
            var prefix = platform.UserDirectoryName + "-";
            Sweep(platform, parent, prefix);
            return CreateBuildDirectory(platform, parent, prefix, notes);
        }

        try
        {
            Sweep(platform, userDirectory, "");
            return CreateBuildDirectory(platform, userDirectory, "", notes);
        }
        catch (LocksUnsupportedException) when (madeNow)
        {
            // The pool goes elsewhere: the per-user directory made for it goes too (only when empty).
            platform.Remove(userDirectory, isDirectory: true);
            throw;
        }
    }

    private static PoolDirectory CreateBuildDirectory(IPoolPlatform platform, string home, string prefix, List<PoolLocationNote> notes)
    {
        using var random = RandomNumberGenerator.Create();
        var bytes = new byte[8];
        for (var attempt = 0; ; attempt++)
        {
            random.GetBytes(bytes);
            var suffix = BitConverter.ToString(bytes).Replace("-", string.Empty).ToLowerInvariant();
            var building = System.IO.Path.Combine(home, NewPrefix + prefix + suffix);
            var final = System.IO.Path.Combine(home, prefix + BuildPrefix + suffix);
            if (!platform.TryCreatePrivateDirectory(building))
            {
                if (attempt == 10)
                {
                    throw new JobserverException(JobserverRejection.FifoOpenFailed, "Cannot create a uniquely named jobserver directory in " + home + ".");
                }

                continue;
            }

            FileLock? ownerLock;
            LockAttempt locked;
            try
            {
                locked = platform.TryLock(System.IO.Path.Combine(building, OwnerLockName), create: true, shared: false, out ownerLock);
            }
            catch (LocksUnsupportedException)
            {
                // Nothing here can tell a live build from a dead one: nothing is left behind for a sweep that cannot judge it.
                RemoveContents(platform, building, keep: null);
                platform.Remove(building, isDirectory: true);
                throw;
            }

            if (locked != LockAttempt.Acquired || !platform.TryRename(building, final))
            {
                ownerLock?.Dispose();
                RemoveContents(platform, building, keep: null);
                platform.Remove(building, isDirectory: true);
                throw new JobserverException(JobserverRejection.FifoOpenFailed, "Cannot set up the jobserver directory " + final + ".");
            }

            return new PoolDirectory(platform, final, ownerLock, notes);
        }
    }

    private static void RemoveIfUnlocked(IPoolPlatform platform, string directory)
    {
        if (!platform.IsOwnDirectory(directory))
        {
            return;
        }

        var attempt = platform.TryLock(System.IO.Path.Combine(directory, OwnerLockName), create: false, shared: false, out var ownerLock);
        if (attempt == LockAttempt.Held)
        {
            return;
        }

        // Acquired: its owner is gone. Missing: its owner (or another sweep) is removing it right now; helping is harmless.
        RemoveContents(platform, directory, keep: OwnerLockName);
        RemoveLockedDirectory(platform, directory, ownerLock);
    }

    // The lock file goes before the lock is let go (Windows deletes a file only once its last handle closes), the
    // directory after: a sweep that comes between finds no lock and only helps to remove what is left.
    private static void RemoveLockedDirectory(IPoolPlatform platform, string directory, FileLock? ownerLock)
    {
        platform.Remove(System.IO.Path.Combine(directory, OwnerLockName), isDirectory: false);
        ownerLock?.Dispose();
        platform.Remove(directory, isDirectory: true);
    }

    // Entries are unlinked, never followed: a link planted in a directory removes only the link.
    private static void RemoveContents(IPoolPlatform platform, string directory, string? keep)
    {
        foreach (var entry in EntriesOf(directory))
        {
            if (System.IO.Path.GetFileName(entry) != keep)
            {
                platform.Remove(entry, isDirectory: false);
            }
        }
    }

    private static IReadOnlyList<string> EntriesOf(string directory)
    {
        try
        {
            return Directory.EnumerateFileSystemEntries(directory).ToList();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return Array.Empty<string>();
        }
    }

    // Beside the build's directory, under a name no node looks for; a sweep removes it once its lock is free.
    private static string ClosingPath(string path) =>
        System.IO.Path.Combine(System.IO.Path.GetDirectoryName(path)!, ClosingPrefix + System.IO.Path.GetFileName(path));

    private static bool IsOlderThan(string path, TimeSpan age) =>
        DateTime.UtcNow - Directory.GetLastWriteTimeUtc(path) > age;

    private static int? LegacyOwner(string name)
    {
        var dash = name.IndexOf('-');
        return dash > 0 && int.TryParse(name.Substring(0, dash), NumberStyles.None, CultureInfo.InvariantCulture, out var pid) ? pid : null;
    }

    private IReadOnlyList<string> Files(string pattern)
    {
        try
        {
            return Directory.EnumerateFiles(Path, pattern).ToList();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return Array.Empty<string>();
        }
    }

    private static string TagPart(string tag) => tag.Length == 0 ? "" : tag + "-";

    private string Combine(string name) => System.IO.Path.Combine(Path, name);
}
