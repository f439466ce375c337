using System;
using System.Collections.Generic;
using System.Threading;
using MSBuild.Jobserver.Protocol;

namespace MSBuild.Jobserver.Pools;

/// <summary>
/// What a pool and its directory need from the operating system, chosen once per process (the shape of jobserver-rs:
/// one API, a POSIX and a Windows implementation in their own files).
/// </summary>
public interface IPoolPlatform
{
    /// <summary>
    /// Throws <see cref="JobserverException"/> (<see cref="JobserverRejection.PlatformUnsupported"/>) where this platform
    /// cannot work here (POSIX without its helper library); every other member may assume it passed.
    /// </summary>
    void EnsureAvailable();

    /// <summary>True where another process's descriptors can be reopened by path (<c>/proc/PID/fd/N</c> on Linux), and /proc can be scanned.</summary>
    bool CanReopenDescriptorsByPath { get; }

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

    /// <summary>See <see cref="PoolDirectory.TryLock"/> and <see cref="PoolDirectory.TryLockShared"/>.</summary>
    LockAttempt TryLock(string path, bool create, bool shared, out FileLock? held);

    /// <summary>Creates the token pool in <paramref name="directory"/>.</summary>
    JobTokenPool CreatePool(int tokens, PoolDirectory directory);

    /// <summary>Joins the pool all of this user's builds share, creating it with <paramref name="tokens"/> tokens when no live build has one.</summary>
    JobTokenPool JoinUserPool(int tokens, string? parent);

    /// <summary>Checks that <paramref name="auth"/> names a usable jobserver of this user; <paramref name="source"/> names where the value came from.</summary>
    JobserverValidation Validate(JobserverAuth auth, string source);

    /// <summary>Connects to a jobserver that passed <see cref="Validate"/>.</summary>
    JobserverClient Connect(JobserverValidation validation);

    /// <summary>Opens <paramref name="path"/>, a pipe another process validated, and checks it is still the pipe <paramref name="expected"/> names.</summary>
    JobserverClient ConnectToValidated(string path, PipeIdentity expected);

    /// <summary>Waits on several clients and takes the first token any offers; <paramref name="deadline"/> is a Stopwatch timestamp, null for none.</summary>
    (int Index, JobToken Token) AcquireAny(IReadOnlyList<JobserverClient> clients, CancellationToken cancellationToken, long? deadline);

    /// <summary>Waits until one of <paramref name="clients"/> seems to have a free token, and takes none.</summary>
    int WaitForFreeToken(IReadOnlyList<JobserverClient> clients, CancellationToken cancellationToken, long? deadline);

    /// <summary>
    /// Connects to a build's own pool as the entry process described it: <paramref name="path"/> is a FIFO or a
    /// descriptor path checked against <paramref name="identity"/> (POSIX), or a semaphore's name (Windows).
    /// </summary>
    /// <exception cref="JobserverException">It cannot be opened, or it is not the pool the entry process made.</exception>
    JobserverClient ConnectToBuildPool(string path, PipeIdentity? identity);

    /// <summary>True where a look for a free token takes one (a semaphore): such a look is a hold, made under a lease.</summary>
    bool LookingTakesAToken { get; }

    /// <summary>
    /// Keeps <paramref name="descriptor"/>, an inherited pipe end already validated, from every process started from now
    /// on (close-on-exec); false where inherited descriptors are not how a pool is passed (Windows).
    /// </summary>
    /// <exception cref="System.IO.IOException">The descriptor's flags cannot be changed.</exception>
    bool KeepFromChildren(int descriptor);

    /// <summary>Closes <paramref name="descriptor"/> if it is still the pipe <paramref name="identity"/> names.</summary>
    void CloseIfStill(int descriptor, PipeIdentity identity);

    /// <summary>
    /// The path by which another process of this user reopens this process's <paramref name="descriptor"/>
    /// (<c>/proc/PID/fd/N</c> on Linux); null where there is none.
    /// </summary>
    string? DescriptorPath(int processId, int descriptor);

    /// <summary>"POSIX" or "Windows": which of the props' per-platform defaults apply.</summary>
    string Family { get; }

    /// <summary>How a tool is told the pool at <paramref name="path"/>: <c>fifo:PATH</c> (POSIX) or the semaphore's name (Windows).</summary>
    JobserverAuth PoolAuth(string path);

    /// <summary>True where a tool's shell can open the pool on descriptors (<c>R,W</c>); false where the pool's name is the only form.</summary>
    bool HasDescriptorForm { get; }

    /// <summary>The memory this build can still use, in bytes; null where it cannot be read.</summary>
    long? AvailableMemory();

    /// <summary>Reads the machine's busy and total CPU time; null where the CPU's use is not sampled.</summary>
    Func<(ulong Busy, ulong Total)?>? CpuTimes { get; }

    /// <summary>The processors the CPU times cover.</summary>
    int CpuCount();

    /// <summary>
    /// The build servers other than this process that hold one of <paramref name="pipes"/> inheritably (a /proc scan on
    /// Linux); empty where they cannot be found.
    /// </summary>
    IReadOnlyList<PipeHolder> LingeringPipeHolders(IReadOnlyCollection<PipeIdentity> pipes);
}
