using System;
using System.Collections.Generic;
using System.IO;
using System.Threading;
using MSBuild.Jobserver.Pools;
using MSBuild.Jobserver.Protocol;

namespace MSBuild.Jobserver.Windows;

/// <summary>
/// Pools in named semaphores; their directories (ledger, journal, locks) under the user's own temporary folder, which
/// Windows keeps private to the user. Locks are files opened sharing nothing but deletion, which the kernel closes with the process.
/// </summary>
#if NET
[System.Runtime.Versioning.SupportedOSPlatform("windows")]
#endif
internal sealed class WindowsPoolPlatform : IPoolPlatform
{
    public string UserDirectoryName => "msbuild-jobserver";

    public void EnsureAvailable()
    {
    }

    public bool CanReopenDescriptorsByPath => false;

    public IReadOnlyList<string> CandidateParents(string? requested) =>
        new[] { (requested ?? Path.GetTempPath()).TrimEnd('\\', '/') };

    // Tools are told the semaphore's name, never a path.
    public string? AdvertiseProblem(string path) => null;

    public (PoolLocationProblem Problem, string Detail)? UnsafeParent(string path) =>
        Path.IsPathRooted(path) ? null
            : (PoolLocationProblem.RelativeParent, "is a relative path, which every MSBuild node would resolve against its own working directory");

    // The user's own TEMP lies in the profile, which only the user (and administrators) may write; a TEMP elsewhere
    // (C:\Temp) usually lets every user create and delete there, and the directories made in it get its permissions.
    public string? SharedParentProblem(string path)
    {
        var profile = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile).TrimEnd('\\', '/');
        return profile.Length > 0 && (path + "\\").StartsWith(profile + "\\", StringComparison.OrdinalIgnoreCase) ? null
            : "is outside your user profile (" + profile + "), where other users may be allowed to delete files";
    }

    public bool TryCreatePrivateDirectory(string path)
    {
        try
        {
            if (Directory.Exists(path))
            {
                return false;
            }

            Directory.CreateDirectory(path);
            return true;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new JobserverException(JobserverRejection.SemaphoreOpenFailed,
                "Cannot create the jobserver directory " + path + ": " + ex.Message + " Point TEMP at a writable local folder.", ex);
        }
    }

    public string? PrivacyProblem(string path) =>
        IsOwnDirectory(path) ? null : "is not a folder (a link or a file)";

    public bool IsOwnDirectory(string path)
    {
        try
        {
            var attributes = File.GetAttributes(path);
            return (attributes & FileAttributes.Directory) != 0 && (attributes & FileAttributes.ReparsePoint) == 0;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    public bool TryRename(string from, string to)
    {
        try
        {
            Directory.Move(from, to);
            return true;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    public void Remove(string path, bool isDirectory)
    {
        try
        {
            if (isDirectory)
            {
                Directory.Delete(path);
            }
            else
            {
                File.Delete(path);
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // In use (a live lock, a journal being written) or gone: a later sweep or the owner removes it.
        }
    }

    public bool IsProcessAlive(int pid)
    {
        try
        {
            using var process = System.Diagnostics.Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    // Tools are told a semaphore's name, never descriptor numbers.
    public bool PassesToChildren(int descriptor) => false;

    public LockAttempt TryLock(string path, bool create, bool shared, out FileLock? held)
    {
        held = null;
        try
        {
            // Shared holders read and let others read; an exclusive holder writes and lets no one read or write: each
            // kind's open fails while the other kind has the file open.
            var stream = shared
                ? new FileStream(path, create ? FileMode.OpenOrCreate : FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete)
                : new FileStream(path, create ? FileMode.OpenOrCreate : FileMode.Open, FileAccess.ReadWrite, FileShare.Delete);
            held = new WindowsFileLock(stream);
            return LockAttempt.Acquired;
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            return LockAttempt.Missing;
        }
        catch (IOException ex) when (IsSharingViolation(ex))
        {
            // Another process (or another handle of ours) has it open. FileShare.Delete lets its holder (and a sweep)
            // delete it while it is held; no one else can open it.
            return LockAttempt.Held;
        }

        // Anything else (access denied, a full disk, a path too long) is no holder: it goes to the caller as it is, so
        // that a lease that could not be made is never taken for a held one.
    }

    public JobTokenPool CreatePool(int tokens, PoolDirectory directory) => new WindowsJobTokenPool(tokens, directory);

    public JobTokenPool JoinUserPool(int tokens, string? parent) => WindowsUserPool.Join(this, tokens, parent);

    public JobserverValidation Validate(JobserverAuth auth, string source) => WindowsJobserver.Validate(auth, source);

    public JobserverClient Connect(JobserverValidation validation) => new WindowsJobserverClient(validation.Auth);

    public JobserverClient ConnectToValidated(string path, PipeIdentity expected) =>
        throw new JobserverException(JobserverRejection.PlatformUnsupported, "A jobserver path (" + path + ") cannot be used on Windows; connect to the semaphore instead.");

    public (int Index, JobToken Token) AcquireAny(IReadOnlyList<JobserverClient> clients, CancellationToken cancellationToken, long? deadline) =>
        WindowsJobserverClient.AcquireAny(JobserverClient.Own<WindowsJobserverClient>(clients), cancellationToken, deadline);

    // ERROR_SHARING_VIOLATION and ERROR_LOCK_VIOLATION, in the low word of the HResult .NET gives an IOException.
    private static bool IsSharingViolation(IOException ex) => (ex.HResult & 0xFFFF) is 32 or 33;

    // A semaphore cannot be looked at without taking a count: take one and give it straight back.
    public int WaitForFreeToken(IReadOnlyList<JobserverClient> clients, CancellationToken cancellationToken, long? deadline)
    {
        var (index, token) = AcquireAny(clients, cancellationToken, deadline);
        clients[index].Release(token);
        return index;
    }

    public JobserverClient ConnectToBuildPool(string path, PipeIdentity? identity)
    {
        var auth = JobserverAuth.Semaphore(path);
        var validation = Validate(auth, "--jobserver-auth=" + auth.ToAuthString());
        return validation.IsValid ? Connect(validation) : throw validation.ToException();
    }

    public bool LookingTakesAToken => true;

    public bool KeepFromChildren(int descriptor) => false;

    public void CloseIfStill(int descriptor, PipeIdentity identity)
    {
        // Nothing was kept from children here (KeepFromChildren is false): there is nothing to close.
    }

    public string? DescriptorPath(int processId, int descriptor) => null;

    public string Family => "Windows";

    public JobserverAuth PoolAuth(string path) => JobserverAuth.Semaphore(path);

    public bool HasDescriptorForm => false;

    public long? AvailableMemory() => WindowsMachine.AvailableMemory();

    public Func<(ulong Busy, ulong Total)?>? CpuTimes => WindowsMachine.ReadSystemTimes;

    public int CpuCount() => Environment.ProcessorCount;

    public IReadOnlyList<PipeHolder> LingeringPipeHolders(IReadOnlyCollection<PipeIdentity> pipes) => Array.Empty<PipeHolder>();
}
