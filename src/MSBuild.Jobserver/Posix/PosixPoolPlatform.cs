using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Threading;
using MSBuild.Jobserver.Pools;
using MSBuild.Jobserver.Protocol;
using Mono.Unix.Native;

namespace MSBuild.Jobserver.Posix;

/// <summary>Pools in FIFOs under private 0700 directories; locks with flock.</summary>
internal sealed class PosixPoolPlatform : IPoolPlatform
{
    /// <summary>Linux: another process's descriptors can be reopened by path (<c>/proc/PID/fd/N</c>); other POSIX systems cannot.</summary>
    internal static readonly bool HasProcDescriptorPaths = System.Runtime.InteropServices.RuntimeInformation.IsOSPlatform(System.Runtime.InteropServices.OSPlatform.Linux);

    private const uint PrivateDirectoryMode = 0x1C0; // 0700
    private const uint GroupOrOtherAccess = 0x3F; // 0077
    private const uint GroupOrOtherWrite = 0x12; // 0022
    private const uint Sticky = 0x200; // 01000

    // The user id, -1 until first read: choosing this platform must not need the helper library (see EnsureAvailable).
    // Not a Lazy<uint>: that instantiation is JIT-compiled on every build's critical path (docs/performance.md).
    private long _uid = -1;

    public void EnsureAvailable() => PosixCalls.EnsureAvailable();

    public bool CanReopenDescriptorsByPath => HasProcDescriptorPaths;

    private uint Uid
    {
        get
        {
            var uid = Volatile.Read(ref _uid);
            if (uid < 0)
            {
                uid = PosixCalls.GetUid();
                Volatile.Write(ref _uid, uid);
            }

            return (uint)uid;
        }
    }

    public string UserDirectoryName => "msbuild-jobserver-" + Uid.ToString(CultureInfo.InvariantCulture);

    public IReadOnlyList<string> CandidateParents(string? requested)
    {
        var candidates = new List<string>();

        // XDG_RUNTIME_DIR is per-user tmpfs cleaned at logout; use it only when it really is ours and private.
        var runtime = Environment.GetEnvironmentVariable("XDG_RUNTIME_DIR");
        if (requested is null && !string.IsNullOrEmpty(runtime) && PrivacyProblem(runtime!) is null)
        {
            candidates.Add(runtime!);
        }

        candidates.Add(requested ?? Path.GetTempPath());

        // Where the temporary directory cannot be named in MAKEFLAGS, the system's own, in the order mkstemp users know.
        candidates.AddRange(new[] { "/tmp", "/var/tmp", "/dev/shm" });
        return candidates.Select(c => c.TrimEnd('/')).Where(c => c.Length > 0).Distinct(StringComparer.Ordinal).ToList();
    }

    public string? AdvertiseProblem(string path)
    {
        // MAKEFLAGS is split at whitespace by every client, and quotes or backslashes are read differently by make,
        // the shells and the Rust crate; non-ASCII bytes depend on the locale. A FIFO path must avoid them all.
        var bad = default(char);
        foreach (var c in path)
        {
            if (c <= ' ' || c >= 0x7F || c is '"' or '\'' or '\\' or '`' or '$')
            {
                bad = c;
                break;
            }
        }

        return bad == default(char) ? null
            : "its path '" + path + "' holds " + (char.IsWhiteSpace(bad) ? "whitespace" : "'" + bad + "'") + ", which a --jobserver-auth=fifo:PATH word cannot carry";
    }

    public (PoolLocationProblem Problem, string Detail)? UnsafeParent(string path)
    {
        if (!Path.IsPathRooted(path))
        {
            return (PoolLocationProblem.RelativeParent, "is a relative path, which every MSBuild node would resolve against its own working directory (a project's, or the package's own folder)");
        }

        // A missing or unreadable parent fails when the directory is made, with its own message.
        if (!PosixCalls.TryStat(path, out var status, out _))
        {
            return null;
        }

        return status.Uid != Uid && status.Uid != 0
            ? (PoolLocationProblem.ParentNotTrusted, "belongs to user id " + status.Uid + ", who could replace the jobserver's directory in it")
            : (status.Permissions & GroupOrOtherWrite) != 0 && (status.Permissions & Sticky) == 0
            ? (PoolLocationProblem.ParentNotTrusted, "has mode " + System.Convert.ToString(status.Permissions, 8) + ": other users can write in it and, without the sticky bit, rename or remove the jobserver's directory")
            : null;
    }

    // A parent others could write in is never used (UnsafeParent); the directories made in it are 0700.
    public string? SharedParentProblem(string path) => null;

    public bool TryCreatePrivateDirectory(string path)
    {
        // Decided by mkdir's result and what is there now, not by errno alone: in some hosts errno reads back as 0.
        if (!PosixCalls.TryMakeDirectory(path, PrivateDirectoryMode, out var errno))
        {
            if (errno == Errno.EEXIST || PosixCalls.TryLstat(path, out _, out _))
            {
                return false;
            }

            throw new JobserverException(JobserverRejection.FifoOpenFailed,
                "Cannot create the jobserver directory " + path + ": " + PosixCalls.Describe(errno) + ". Point TMPDIR (or XDG_RUNTIME_DIR) at a writable local directory.");
        }

        // mkdir's mode is narrowed by the umask; the exact one matters.
        PosixCalls.ChangeMode(path, PrivateDirectoryMode);
        return true;
    }

    public string? PrivacyProblem(string path)
    {
        if (!PosixCalls.TryLstat(path, out var status, out var errno))
        {
            return "cannot be examined (" + PosixCalls.Describe(errno) + ")";
        }

        return status.Type != PosixCalls.TypeDirectory ? "is not a directory (a symbolic link or a file)"
            : status.Uid != Uid ? "belongs to user id " + status.Uid + ", not to this user (" + Uid + ")"
            : (status.Permissions & GroupOrOtherAccess) != 0 ? "has mode " + System.Convert.ToString(status.Permissions, 8) + ", not 700"
            : null;
    }

    public bool IsOwnDirectory(string path) =>
        PosixCalls.TryLstat(path, out var status, out _) && status.Type == PosixCalls.TypeDirectory && status.Uid == Uid;

    public bool TryRename(string from, string to) => PosixCalls.TryRename(from, to, out _);

    public void Remove(string path, bool isDirectory)
    {
        if (isDirectory)
        {
            PosixCalls.RemoveDirectory(path);
        }
        else
        {
            PosixCalls.Unlink(path);
        }
    }

    public bool IsProcessAlive(int pid) => PosixCalls.IsProcessAlive(pid);

    public bool PassesToChildren(int descriptor) => PosixCalls.GetDescriptorFlags(descriptor, out _) is var flags && flags >= 0 && (flags & 1) == 0;

    public LockAttempt TryLock(string path, bool create, bool shared, out FileLock? held)
    {
        held = null;
        var fd = PosixCalls.TryOpenLockFile(path, create, out var errno);
        if (fd is null)
        {
            // Missing is decided by what is there, not by errno alone (see TryCreatePrivateDirectory).
            return errno is Errno.ENOENT or Errno.ENOTDIR || !PosixCalls.TryLstat(path, out _, out _)
                ? LockAttempt.Missing
                : throw PosixCalls.Failure("open the lock file " + path, errno);
        }

        try
        {
            if (!fd.Use(n => PosixCalls.TryLock(n, shared)))
            {
                fd.Dispose();
                return LockAttempt.Held;
            }
        }
        catch
        {
            fd.Dispose();
            throw;
        }

        held = new PosixFileLock(fd);
        return LockAttempt.Acquired;
    }

    public JobTokenPool CreatePool(int tokens, PoolDirectory directory) => PosixJobTokenPool.CreatePool(tokens, directory);

    public JobTokenPool JoinUserPool(int tokens, string? parent) => PosixUserPool.Join(this, tokens, parent);

    public JobserverValidation Validate(JobserverAuth auth, string source) => PosixValidator.Validate(auth, source);

    public JobserverClient Connect(JobserverValidation validation) => PosixJobserverClient.ConnectValidated(validation);

    public JobserverClient ConnectToValidated(string path, PipeIdentity expected) => PosixJobserverClient.OpenValidated(path, expected);

    public (int Index, JobToken Token) AcquireAny(IReadOnlyList<JobserverClient> clients, CancellationToken cancellationToken, long? deadline) =>
        PosixJobserverClient.AcquireAny(JobserverClient.Own<PosixJobserverClient>(clients), cancellationToken, deadline);

    public int WaitForFreeToken(IReadOnlyList<JobserverClient> clients, CancellationToken cancellationToken, long? deadline) =>
        PosixJobserverClient.WaitUntilReadable(JobserverClient.Own<PosixJobserverClient>(clients), cancellationToken, deadline);

    public JobserverClient ConnectToBuildPool(string path, PipeIdentity? identity) =>
        PosixJobserverClient.OpenValidated(path, identity ?? throw new JobserverException(
            JobserverRejection.IdentityMismatch, $"The build's jobserver '{path}' came without an identity to check it against."));

    public bool LookingTakesAToken => false;

    public bool KeepFromChildren(int descriptor)
    {
        PosixCalls.SetCloseOnExec(descriptor, true);
        return true;
    }

    public void CloseIfStill(int descriptor, PipeIdentity identity)
    {
        if (PosixCalls.TryFstat(descriptor, out var status, out _) && status.Identity == identity)
        {
            PosixCalls.Close(descriptor);
        }
    }

    public string? DescriptorPath(int processId, int descriptor) =>
        HasProcDescriptorPaths ? "/proc/" + processId.ToString(CultureInfo.InvariantCulture) + "/fd/" + descriptor.ToString(CultureInfo.InvariantCulture) : null;

    public string Family => "POSIX";

    public JobserverAuth PoolAuth(string path) => JobserverAuth.Fifo(path);

    public bool HasDescriptorForm => true;

    public long? AvailableMemory() => PosixMachine.AvailableMemory();

    public Func<(ulong Busy, ulong Total)?>? CpuTimes => PosixMachine.SamplesCpu ? PosixMachine.ReadProcStat : null;

    public int CpuCount() => PosixMachine.SamplesCpu ? PosixMachine.Cores() : Environment.ProcessorCount;

    public IReadOnlyList<PipeHolder> LingeringPipeHolders(IReadOnlyCollection<PipeIdentity> pipes) => PosixPipeHolders.Lingering(pipes);
}
