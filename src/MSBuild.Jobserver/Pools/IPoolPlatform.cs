using System;
using System.Collections.Generic;
using System.Runtime.InteropServices;
using System.Threading;
using MSBuild.Jobserver.Posix;
using MSBuild.Jobserver.Protocol;
using MSBuild.Jobserver.Windows;

namespace MSBuild.Jobserver.Pools;

/// <summary>
/// What a pool and its directory need from the operating system, chosen once per process (the shape of jobserver-rs:
/// one API, a POSIX and a Windows implementation in their own files).
/// </summary>
internal interface IPoolPlatform
{
    /// <summary>The per-user directory's name: <c>msbuild-jobserver-&lt;uid&gt;</c> on POSIX.</summary>
    string UserDirectoryName { get; }

    /// <summary>Where pools may live, best first; <paramref name="requested"/> (when given) replaces the temporary directory.</summary>
    IReadOnlyList<string> CandidateParents(string? requested);

    /// <summary>Null when tools can be told <paramref name="path"/> (in MAKEFLAGS); otherwise why not.</summary>
    string? AdvertiseProblem(string path);

    /// <summary>
    /// Null when a pool may be made in <paramref name="path"/>; otherwise why not: a relative path (each node would
    /// resolve it against its own working directory), or a directory another user could replace things in.
    /// </summary>
    (PoolLocationProblem Problem, string Detail)? UnsafeParent(string path);

    /// <summary>
    /// Null when only this user can delete what a pool keeps in <paramref name="path"/>; otherwise why not. The pool is
    /// made there anyway (there is no other place), and refilling is turned off: a lease someone else deleted would
    /// look like a lost token.
    /// </summary>
    string? SharedParentProblem(string path);

    /// <summary>Creates a directory only this user can enter; false when it exists; throws <see cref="JobserverException"/> otherwise.</summary>
    bool TryCreatePrivateDirectory(string path);

    /// <summary>Null when <paramref name="path"/> is a real directory of this user that no one else can enter; otherwise why not.</summary>
    string? PrivacyProblem(string path);

    /// <summary>True for a real directory (not a link) of this user: the only kind a sweep may empty.</summary>
    bool IsOwnDirectory(string path);

    /// <summary>Renames a directory; false when the target exists or the source is gone.</summary>
    bool TryRename(string from, string to);

    /// <summary>Removes a file or an empty directory without following links; gone already counts as removed.</summary>
    void Remove(string path, bool isDirectory);

    /// <summary>Only for pool directories of earlier versions, named after their owner's process id.</summary>
    bool IsProcessAlive(int pid);

    /// <summary>
    /// True when this process has <paramref name="descriptor"/> open without close-on-exec, so a process it starts (a
    /// tool's shell) inherits it: something the build's own parent left open (a make recipe's <c>9&gt;lock</c>).
    /// </summary>
    bool PassesToChildren(int descriptor);

    /// <summary>See <see cref="FileLock.TryAcquire"/> and <see cref="FileLock.TryAcquireShared"/>.</summary>
    LockAttempt TryLock(string path, bool create, bool shared, out FileLock? held);

    /// <summary>Creates the token pool in <paramref name="directory"/>.</summary>
    JobTokenPool CreatePool(int tokens, PoolDirectory directory);

    /// <summary>See <see cref="JobTokenPool.JoinUserPool"/>.</summary>
    JobTokenPool JoinUserPool(int tokens, string? parent);

    /// <summary>See <see cref="JobserverValidator.Validate(JobserverAuth, string)"/>; <paramref name="source"/> names where the value came from.</summary>
    JobserverValidation Validate(JobserverAuth auth, string source);

    /// <summary>Connects to a jobserver that passed <see cref="Validate"/>.</summary>
    JobserverClient Connect(JobserverValidation validation);

    /// <summary>See <see cref="JobserverClient.ConnectToValidated"/>.</summary>
    JobserverClient ConnectToValidated(string path, PipeIdentity expected);

    /// <summary>See <see cref="JobserverClient.AcquireAny"/>; <paramref name="deadline"/> is a Stopwatch timestamp, null for none.</summary>
    (int Index, JobToken Token) AcquireFirst(IReadOnlyList<JobserverClient> clients, CancellationToken cancellationToken, long? deadline);

    /// <summary>See <see cref="JobserverClient.WaitForFreeToken"/>.</summary>
    int WaitForFreeToken(IReadOnlyList<JobserverClient> clients, CancellationToken cancellationToken, long? deadline);
}

/// <summary>The platform of this process.</summary>
internal static class PoolPlatform
{
    // The run-time platform checks of the library and the tasks, made once, here: everything that differs goes
    // through the flags and the implementation chosen below.

    /// <summary>Windows: pools are named semaphores and Exec runs cmd.exe; otherwise POSIX (a FIFO, sh).</summary>
    public static readonly bool IsWindows = RuntimeInformation.IsOSPlatform(OSPlatform.Windows);

    /// <summary>Linux: another process's descriptors can be reopened by path (<c>/proc/PID/fd/N</c>).</summary>
    public static readonly bool CanReopenDescriptorsByPath = RuntimeInformation.IsOSPlatform(OSPlatform.Linux);

    // The same check as IsWindows, written out where the platform analyzer (CA1416) can see it guard the Windows type.
    private static readonly Lazy<IPoolPlatform> Chosen = new(() =>
        RuntimeInformation.IsOSPlatform(OSPlatform.Windows) ? new WindowsPoolPlatform() : new PosixPoolPlatform());

    /// <summary>Chosen on first use; POSIX checks that its helper library loads (JobserverException otherwise).</summary>
    public static IPoolPlatform Current => Chosen.Value;

    /// <summary>The clients as this platform's own type: every client comes from this platform's Connect.</summary>
    public static T[] Own<T>(IReadOnlyList<JobserverClient> clients)
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
