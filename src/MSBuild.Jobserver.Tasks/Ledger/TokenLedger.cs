using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Threading;
using MSBuild.Jobserver.Pools;
using MSBuild.Jobserver.Protocol;

namespace MSBuild.Jobserver.Tasks.Ledger;

/// <summary>What a refill found: tokens minted again, and surplus tokens taken out.</summary>
internal readonly record struct RefillResult(int Recovered, int Removed);

/// <summary>
/// Who could hold the build's tokens, and the way back for the ones lost. A FIFO cannot tell who holds a byte, so every
/// token request begins a <see cref="Lease"/> before it reads, and ends it only after the byte is back. When no lease
/// is held, nothing can legitimately hold a token, so the pool must hold all of them: tokens that tools took and never
/// gave back (killed by a timeout, Ctrl+C, a crash) are minted again, and the build keeps its full width.
/// </summary>
/// <remarks>
/// Refills are serialized by <c>ledger.lock</c>, a lock the kernel releases with its holder. Sound because an acquirer
/// leases before it reads, and a refill drains the pool, then checks the leases again before it writes anything back:
/// a lease that appeared meanwhile makes it put back exactly what it drained. A tool that wrote its own implicit token
/// into the pool (old cc crate) runs under its Exec's lease, so nothing is drained or minted while it runs. Tools that
/// get the pool without a lease (JobserverAdvertiseToAllTools) turn refilling off for the build.
/// </remarks>
internal sealed class TokenLedger
{
    private const byte MintedToken = (byte)'+';
    private static readonly TimeSpan LockPatience = TimeSpan.FromSeconds(10);

    private readonly PoolDirectory? _directory;
    private readonly string _journalTag;

    /// <summary>
    /// The ledger kept in <paramref name="directory"/>; without a directory it keeps nothing. <paramref name="journalTag"/>
    /// names this build's journals in a directory other builds share (empty in a build's own).
    /// </summary>
    public TokenLedger(string directory, string journalTag = "")
    {
        _directory = directory.Length == 0 ? null : PoolDirectory.Open(directory);
        _journalTag = journalTag;
    }

    /// <summary>The journal of this build so far.</summary>
    public LedgerJournal Journal => LedgerJournal.Read(_directory, _journalTag);

    /// <summary>Registers a lease before a token is read.</summary>
    public Lease BeginLease() => _directory is null ? Lease.None : Lease.Begin(_directory);

    /// <summary>Adds a finished hold to this process's journal; a build that ended meanwhile records nothing.</summary>
    public void Record(TokenHold hold) => LedgerJournal.Append(_directory, _journalTag, hold);

    /// <summary>Turns refilling off for the build: something takes tokens without a lease.</summary>
    public void DisableRefill()
    {
        if (_directory is not null)
        {
            TryWrite(() => File.WriteAllBytes(_directory.NoRefillPath, Array.Empty<byte>()));
        }
    }

    /// <summary>
    /// When no lease is held, tops <paramref name="pool"/> back up to <paramref name="size"/> tokens (or takes out a
    /// surplus). Returns what it changed; nothing while leases remain or when refilling is off.
    /// </summary>
    public RefillResult RefillIfIdle(JobserverClient pool, int size)
    {
        if (_directory is null || File.Exists(_directory.NoRefillPath) || AnyLease(_directory))
        {
            return default;
        }

        using var ledgerLock = WaitForLock(_directory);
        if (ledgerLock is null || AnyLease(_directory))
        {
            return default;
        }

        var drained = new List<JobToken>();
        while (drained.Count <= size && pool.TryAcquire(out var token))
        {
            drained.Add(token);
        }

        if (AnyLease(_directory))
        {
            // Someone started asking while we counted: they may hold what we miss. Put back exactly what we took.
            drained.ForEach(pool.Release);
            return default;
        }

        var keep = Math.Min(drained.Count, size);
        drained.Take(keep).ToList().ForEach(pool.Release);
        for (var i = keep; i < size; i++)
        {
            pool.Release(new JobToken(MintedToken));
        }

        var result = new RefillResult(size - keep, drained.Count - keep);
        if (result.Recovered > 0 || result.Removed > 0)
        {
            LedgerJournal.AppendRefill(_directory, _journalTag, result);
        }

        return result;
    }

    private static bool AnyLease(PoolDirectory directory) => directory.Leases().Any(Lease.IsHeld);

    // Refills are short (a drain and a write-back); wait for another process's rather than skip it, so that the last
    // release of a build always gets its turn. Null when the directory is gone (the build ended).
    private static FileLock? WaitForLock(PoolDirectory directory)
    {
        var patience = Stopwatch.StartNew();
        while (patience.Elapsed < LockPatience)
        {
            try
            {
                switch (FileLock.TryAcquire(directory.LedgerLockPath, create: true, out var held))
                {
                    case LockAttempt.Acquired:
                        return held;
                    case LockAttempt.Missing:
                        return null;
                }
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                return null;
            }

            Thread.Sleep(1);
        }

        return null;
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
