using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using MSBuild.Jobserver.Platform;
using MSBuild.Jobserver.Pools;
using MSBuild.Jobserver.Protocol;

namespace MSBuild.Jobserver.Tokens;

/// <summary>What a refill found: tokens minted again, and surplus tokens taken out.</summary>
public readonly record struct RefillResult(int Recovered, int Removed);

/// <summary>What the pool held when it was counted under the ledger lock, and what the count changed.</summary>
public readonly record struct PoolCount(int Found, bool Idle, RefillResult Refill);

/// <summary>
/// Who could hold the build's tokens, and the way back for the ones lost. A FIFO cannot tell who holds a byte, so the
/// ledger keeps leases: while none is held, nothing can legitimately hold a token, so the pool must hold exactly its
/// size; tokens tools took and never gave back (killed by a timeout, Ctrl+C, a crash) are minted again, and every
/// surplus (a client that gave back more than it took) is taken out.
/// </summary>
/// <remarks>
/// The ledger's rules, each kept where it is written (Lease, HeldToken, LedgerLock, this class, BuildJobserverOwner):
/// <list type="number">
/// <item>Every read of a token from the build's pool happens under a lease that began before the read.</item>
/// <item>A lease begins under the shared <c>ledger.lock</c>: made and locked under a pending name, then renamed, so it
/// is visible and locked before its holder reads, and never appears while the pool is being counted.</item>
/// <item>A lease lasts while any process holds its lock: its holder and, once shared with a tool, every process of
/// the tool's tree that kept the descriptor (a daemon, <c>cmd &amp;</c>, a new session, an escaped child). Its file is
/// removed only by whoever finds the lock free.</item>
/// <item>A byte goes back to the pool before its lease ends.</item>
/// <item>The pool is counted (drained and written back) only under the exclusive <c>ledger.lock</c>: by a refill, the
/// end-of-build count, the owner's close. No lease can begin meanwhile, so "no lease held" stays true for the whole
/// count: every token is in the pool, and the count is exact.</item>
/// <item>A refill drains everything, keeps the size, takes out all surplus and mints what is missing, and records
/// both numbers; with a lease held it changes nothing.</item>
/// <item>Whatever may take a token without a lease (JobserverAdvertiseToAllTools, a lease that could not be made)
/// turns refilling off first, under the shared lock, so no refill is counting at that moment.</item>
/// </list>
/// A tool that wrote its own implicit token into the pool (old cc crate) runs under its Exec's lease (rule 3), so
/// nothing is drained or minted while it runs.
/// </remarks>
public sealed class TokenLedger
{
    private const byte MintedToken = (byte)'+';

    // Bounds a drain against a client that writes faster than we read: far more than a FIFO's buffer holds.
    private const int MaxDrain = 1 << 20;

    private readonly PoolDirectory? _directory;
    private readonly string _journalTag;

    /// <summary>
    /// The ledger kept in <paramref name="directory"/>; without a directory it keeps nothing. <paramref name="journalTag"/>
    /// names this build's journals in a directory other builds share (empty in a build's own).
    /// </summary>
    public TokenLedger(string directory, string journalTag = "")
    {
        _directory = directory.Length == 0 ? null : PoolDirectory.Open(PoolPlatform.Current, directory);
        _journalTag = journalTag;
    }

    /// <summary>The journal of this build so far.</summary>
    public LedgerJournal Journal => LedgerJournal.Read(_directory, _journalTag);

    /// <summary>Registers a lease before a token is read (rules 1 and 2).</summary>
    public Lease BeginLease() => _directory is null ? Lease.None : Lease.Begin(_directory);

    /// <summary>
    /// A token went back to its pool: journals its <paramref name="hold"/>, ends its <paramref name="lease"/>, then refills
    /// <paramref name="refillPool"/> (the build's own pool; null for an inherited one, whose tokens are its owner's) if
    /// that was the last lease (rule 6). Returns what the refill changed.
    /// </summary>
    public RefillResult Returned(TokenHold hold, Lease lease, JobserverClient? refillPool, int poolSize)
    {
        Record(hold);
        lease.Dispose();
        try
        {
            return refillPool is null ? default : RefillIfIdle(refillPool, poolSize);
        }
        catch (Exception ex) when (ex is IOException or JobserverException or ObjectDisposedException)
        {
            // The pool closed under us (the build is ending): there is nothing left to refill.
            return default;
        }
    }

    /// <summary>Adds a finished hold to this process's journal; a build that ended meanwhile records nothing.</summary>
    public void Record(TokenHold hold) => LedgerJournal.Append(_directory, _journalTag, hold);

    /// <summary>Turns refilling off for the rest of the build (see <see cref="LedgerLock.DisableRefill"/>).</summary>
    public void DisableRefill()
    {
        if (_directory is not null)
        {
            LedgerLock.DisableRefill(_directory);
        }
    }

    /// <summary>
    /// When no lease is held, brings <paramref name="pool"/> back to exactly <paramref name="size"/> tokens (rule 6).
    /// Returns what it changed; nothing while leases remain or when refilling is off.
    /// </summary>
    public RefillResult RefillIfIdle(JobserverClient pool, int size)
    {
        // A cheap look first: most releases happen while other tools still hold tokens.
        if (_directory is null || AnyLease(_directory))
        {
            return default;
        }

        return Count(pool, size, mintMissing: true)?.Refill ?? default;
    }

    /// <summary>
    /// Counts <paramref name="pool"/> under the exclusive ledger lock (rule 5). When no lease is held and refilling is
    /// on, every surplus is taken out, and, with <paramref name="mintMissing"/>, every missing token minted again;
    /// otherwise every byte goes back. Null when it cannot count (the build is over, or the lock could not be had).
    /// </summary>
    public PoolCount? Count(JobserverClient pool, int size, bool mintMissing)
    {
        if (_directory is null || LedgerLock.Wait(_directory, shared: false, out var ledgerLock) != LedgerLockOutcome.Held)
        {
            return null;
        }

        using (ledgerLock)
        {
            var idle = !File.Exists(_directory.NoRefillPath) && !AnyLease(_directory);
            // The bytes, not JobTokens: CoreLib's List<byte> is precompiled, a list of our struct is JIT-compiled at every
            // build's end (docs/performance.md).
            var drained = new List<byte>();
            while (drained.Count < MaxDrain && pool.TryAcquire(out var token))
            {
                drained.Add(token.Value);
            }

            if (!idle)
            {
                drained.ForEach(value => pool.Release(new JobToken(value)));
                return new PoolCount(drained.Count, false, default);
            }

            var keep = Math.Min(drained.Count, size);
            for (var i = 0; i < keep; i++)
            {
                pool.Release(new JobToken(drained[i]));
            }

            var minted = mintMissing ? size - keep : 0;
            for (var i = 0; i < minted; i++)
            {
                pool.Release(new JobToken(MintedToken));
            }

            var result = new RefillResult(minted, drained.Count - keep);
            if (result.Recovered > 0 || result.Removed > 0)
            {
                LedgerJournal.AppendRefill(_directory, _journalTag, result);
            }

            return new PoolCount(drained.Count, true, result);
        }
    }

    private static bool AnyLease(PoolDirectory directory) => directory.Leases().Any(lease => Lease.IsHeld(directory, lease));
}
