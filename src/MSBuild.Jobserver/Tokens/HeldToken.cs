using System;
using System.IO;
using System.Threading;
using MSBuild.Jobserver.Protocol;

namespace MSBuild.Jobserver.Tokens;

/// <summary>
/// One token a task holds, from the pool to its tool and back: made by <see cref="PoolConnection.TryAcquire"/> after its
/// lease began; <see cref="Dispose"/> gives the byte back to the pool it came from and tells the ledger, which journals
/// the hold, ends the lease and refills the build's own pool if that was the last lease (<see cref="TokenLedger.Returned"/>).
/// Safe to dispose twice and from the tool's thread.
/// </summary>
public sealed class HeldToken : IDisposable
{
    private readonly JobserverClient _source;
    private readonly TokenLedger _ledger;
    private readonly Lease _lease;
    private readonly JobserverClient? _refillPool;
    private readonly int _poolSize;
    private int _released;

    /// <summary>
    /// A hold of <paramref name="token"/> from <paramref name="source"/>, where it goes back. <paramref name="refillPool"/>
    /// is the build's own pool, refilled after the last lease; null for an inherited one (its tokens are its owner's).
    /// </summary>
    public HeldToken(string id, JobserverClient source, JobToken token, Lease lease, TokenLedger ledger, JobserverClient? refillPool, int poolSize, TokenHold started)
    {
        Id = id;
        _source = source;
        Token = token;
        _lease = lease;
        _ledger = ledger;
        _refillPool = refillPool;
        _poolSize = poolSize;
        Started = started;
    }

    /// <summary>An id for AcquireJobToken's output; unique in the build.</summary>
    public string Id { get; }

    /// <summary>The byte read, written back on release.</summary>
    public JobToken Token { get; }

    /// <summary>Who holds it and since when (its release time is set when the hold ends).</summary>
    public TokenHold Started { get; }

    /// <summary>What the refill after the release did (nothing until then).</summary>
    public RefillResult Refill { get; private set; }

    /// <summary>Why the byte could not be written back, if it could not (the token is then lost, and recovered later).</summary>
    public Exception? ReleaseFailure { get; private set; }

    /// <summary>
    /// While true, the processes this one starts (the tool) share the lease (POSIX): if this MSBuild process dies, its
    /// tool's tree still counts as a holder until it has ended, so its token is never minted again while in use.
    /// </summary>
    public void ShareWithTool(bool share) => _lease.ShareWithChildren(share);

    /// <summary>Gives the token back and ends the hold; once.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _released, 1) == 1)
        {
            return;
        }

        // The hold ends before the byte goes back: a waiter elsewhere may record its start the moment it reads it.
        var released = LedgerJournal.NowMs;
        try
        {
            _source.Release(Token);
        }
        catch (Exception ex) when (ex is IOException or JobserverException or ObjectDisposedException)
        {
            ReleaseFailure = ex;
        }

        Refill = _ledger.Returned(Started with { ReleasedMs = released }, _lease, _refillPool, _poolSize);
    }
}
