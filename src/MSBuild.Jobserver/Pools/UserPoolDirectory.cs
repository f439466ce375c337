using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Threading;
using MSBuild.Jobserver.Protocol;

namespace MSBuild.Jobserver.Pools;

/// <summary>
/// The directory of the one pool all of a user's builds share (JobserverScope=User): <c>user-pool/</c> in the per-user
/// directory. Every build using it holds a lock <c>member-&lt;id&gt;</c> in it for its whole life, and
/// <c>user-pool.lock</c> beside it serializes joining and leaving: the last member to leave removes the pool, and a pool
/// whose members all died (killed builds) is found without a live member and made anew. Leases, the ledger lock and the
/// journals live in it exactly as in a build's own directory, so they work across builds as they do across nodes.
/// </summary>
internal sealed class UserPoolDirectory : IDisposable
{
    private const string DirectoryName = "user-pool";
    private const string GateName = "user-pool.lock";
    private const string MemberPrefix = "member-";
    private const string SizeName = "size";
    private static readonly TimeSpan GatePatience = TimeSpan.FromSeconds(60);

    private readonly IPoolPlatform _platform;
    private readonly FileLock _gate;
    private readonly string _gatePath;

    private UserPoolDirectory(IPoolPlatform platform, string path, FileLock gate, string gatePath)
    {
        _platform = platform;
        Path = path;
        _gate = gate;
        _gatePath = gatePath;
    }

    /// <summary>The shared directory.</summary>
    public string Path { get; }

    /// <summary>The pool's FIFO (POSIX).</summary>
    public string FifoPath => System.IO.Path.Combine(Path, "fifo");

    /// <summary>
    /// Finds the per-user directory (it must be a private directory of this user: a shared pool is never put anywhere
    /// else) and waits for the gate; the caller creates or joins, then disposes this to let the next build in.
    /// </summary>
    /// <exception cref="JobserverException">No private per-user directory, or the gate stays held; the message says why.</exception>
    public static UserPoolDirectory LockGate(IPoolPlatform platform, string? parent)
    {
        var problems = new List<string>();
        foreach (var candidate in platform.CandidateParents(parent))
        {
            if (platform.AdvertiseProblem(candidate) is { } unadvertisable)
            {
                problems.Add(unadvertisable);
                continue;
            }

            string userDirectory;
            try
            {
                (userDirectory, _, var privacy) = PoolDirectory.UserDirectory(platform, candidate);
                if (privacy is { } problem)
                {
                    problems.Add(userDirectory + " " + problem);
                    continue;
                }
            }
            catch (JobserverException ex)
            {
                problems.Add(ex.Message);
                continue;
            }

            var gatePath = System.IO.Path.Combine(userDirectory, GateName);
            return new UserPoolDirectory(platform, System.IO.Path.Combine(userDirectory, DirectoryName), WaitForGate(platform, gatePath), gatePath);
        }

        throw new JobserverException(JobserverRejection.FifoOpenFailed,
            "No private per-user directory can hold the shared jobserver (" + string.Join("; ", problems) + ").");
    }

    /// <summary>
    /// Under the gate: the size of the live pool here, or null when there is none (nothing here, or only members that
    /// died, whose remains are removed now).
    /// </summary>
    public int? LiveSize()
    {
        if (!_platform.IsOwnDirectory(Path))
        {
            if (File.Exists(Path) || Directory.Exists(Path))
            {
                throw new JobserverException(JobserverRejection.FifoNotPrivate, Path + " is not a directory of this user; remove it.");
            }

            return null;
        }

        if (_platform.PrivacyProblem(Path) is null && LiveMembers() > 0 && ReadSize() is { } size)
        {
            return size;
        }

        RemoveAll();
        return null;
    }

    /// <summary>Under the gate, with no live pool here: makes the directory and records its size.</summary>
    public void CreateFresh(int size)
    {
        if (!_platform.TryCreatePrivateDirectory(Path))
        {
            throw new JobserverException(JobserverRejection.FifoOpenFailed, "Cannot create the shared jobserver directory " + Path + ".");
        }

        File.WriteAllText(System.IO.Path.Combine(Path, SizeName), size.ToString(CultureInfo.InvariantCulture));
    }

    /// <summary>Under the gate: registers this build as a member; its lock lasts until <see cref="Leave"/> or this process ends.</summary>
    public Member Join()
    {
        var path = System.IO.Path.Combine(Path, MemberPrefix + Guid.NewGuid().ToString("N"));
        if (_platform.TryLock(path, create: true, shared: false, out var held) != LockAttempt.Acquired)
        {
            throw new JobserverException(JobserverRejection.FifoOpenFailed, "Cannot register this build with the shared jobserver in " + Path + ".");
        }

        return new Member(_platform, path, held!);
    }

    /// <summary>
    /// Under the gate: ends <paramref name="member"/>'s membership; true when no other build uses the pool any more, in
    /// which case the caller drains it and then calls <see cref="RemoveAll"/>.
    /// </summary>
    public bool Leave(Member member)
    {
        member.Dispose();
        return LiveMembers() == 0;
    }

    /// <summary>Under the gate: removes the directory and everything in it, never following links.</summary>
    public void RemoveAll()
    {
        foreach (var entry in Entries())
        {
            _platform.Remove(entry, isDirectory: false);
        }

        _platform.Remove(Path, isDirectory: true);
    }

    /// <summary>Lets the next build join or leave; once the pool is gone, the gate's file goes too (see <see cref="WaitForGate"/>).</summary>
    public void Dispose()
    {
        if (!Directory.Exists(Path))
        {
            _platform.Remove(_gatePath, isDirectory: false);
        }

        _gate.Dispose();
    }

    private int LiveMembers()
    {
        var live = 0;
        foreach (var path in Entries().Where(e => System.IO.Path.GetFileName(e).StartsWith(MemberPrefix, StringComparison.Ordinal)))
        {
            var attempt = _platform.TryLock(path, create: false, shared: false, out var held);
            if (attempt == LockAttempt.Acquired)
            {
                // Its build died: the kernel let go of its lock.
                _platform.Remove(path, isDirectory: false);
                held!.Dispose();
            }
            else if (attempt == LockAttempt.Held)
            {
                live++;
            }
        }

        return live;
    }

    private int? ReadSize()
    {
        try
        {
            return int.TryParse(File.ReadAllText(System.IO.Path.Combine(Path, SizeName)).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var size)
                && size >= 1 && size <= JobTokenPool.MaxTokens ? size : null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private IReadOnlyList<string> Entries()
    {
        try
        {
            return Directory.EnumerateFileSystemEntries(Path).ToList();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return Array.Empty<string>();
        }
    }

    // Joining and leaving take milliseconds; a build waits its turn rather than make a pool of its own. A lock on a
    // gate file its last holder removed guards nothing: it is let go, and the file now at the path is locked instead.
    private static FileLock WaitForGate(IPoolPlatform platform, string path)
    {
        var patience = Stopwatch.StartNew();
        while (true)
        {
            if (platform.TryLock(path, create: true, shared: false, out var held) == LockAttempt.Acquired)
            {
                if (held!.StillNamedBy(path))
                {
                    return held;
                }

                held.Dispose();
                continue;
            }

            if (patience.Elapsed > GatePatience)
            {
                throw new JobserverException(JobserverRejection.FifoOpenFailed, "Another build has held " + path + " for over a minute.");
            }

            Thread.Sleep(5);
        }
    }

    /// <summary>One build's membership: a lock the kernel releases with the build's entry process.</summary>
    internal sealed class Member : IDisposable
    {
        private readonly IPoolPlatform _platform;
        private readonly string _path;
        private FileLock? _lock;

        public Member(IPoolPlatform platform, string path, FileLock fileLock)
        {
            _platform = platform;
            _path = path;
            _lock = fileLock;
        }

        /// <summary>The file goes first, then the lock (Windows deletes a file only once its last handle closes).</summary>
        public void Dispose()
        {
            var held = Interlocked.Exchange(ref _lock, null);
            if (held is not null)
            {
                _platform.Remove(_path, isDirectory: false);
                held.Dispose();
            }
        }
    }
}
