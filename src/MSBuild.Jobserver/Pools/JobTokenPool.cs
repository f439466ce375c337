using System;
using System.Collections.Generic;
using MSBuild.Jobserver.Protocol;


namespace MSBuild.Jobserver.Pools;

/// <summary>
/// A jobserver this process owns: a pool of tokens that tools (make, cargo, rustc, our own clients) take from and give
/// back. On POSIX a private FIFO (<c>fifo:PATH</c>), on Windows a named semaphore. The owner keeps it open for its whole
/// life and, at <see cref="Close()"/>, counts what came back.
/// </summary>
public abstract class JobTokenPool : IDisposable
{
    /// <summary>The largest pool: every token must fit in the FIFO's buffer at once (64 KiB on Linux, less elsewhere).</summary>
    public const int MaxTokens = 4096;

    private readonly object _gate = new();
    private PoolCloseReport? _closed;

    private readonly PoolDirectory _home;

    private protected JobTokenPool(JobserverAuth auth, int size, PoolDirectory home, PipeIdentity? identity)
    {
        Auth = auth;
        Size = size;
        _home = home;
        Identity = identity;
    }

    /// <summary>What to advertise in <c>--jobserver-auth=</c>: <c>fifo:PATH</c> on POSIX, the semaphore name on Windows.</summary>
    public JobserverAuth Auth { get; }

    /// <summary>How many tokens the pool was created with.</summary>
    public int Size { get; }

    /// <summary>The build's private directory: the FIFO (POSIX), the ledger and the journal live there.</summary>
    public string Directory => _home.Path;

    /// <summary>Why the directory is not in the usual place (empty when it is).</summary>
    public IReadOnlyList<PoolLocationNote> LocationNotes => _home.Notes;

    /// <summary>The FIFO's (st_dev, st_ino) (POSIX), which a client checks before it trusts the FIFO; null on Windows.</summary>
    public PipeIdentity? Identity { get; }

    /// <summary>True for the pool shared by all of the user's builds (PoolPlatform.JoinUserPool).</summary>
    public virtual bool IsShared => false;

    /// <summary>For a shared pool: true when this build created it, false when it joined one another build made.</summary>
    public virtual bool SharedPoolCreated => true;

    /// <summary>
    /// Counts the tokens in the pool right now by taking them all and writing the same bytes back. Tokens held by
    /// clients are not counted; a client that finds the pool empty meanwhile simply waits a moment.
    /// </summary>
    public int CountAvailable()
    {
        lock (_gate)
        {
            if (_closed is not null)
            {
                throw new ObjectDisposedException(GetType().Name, "The jobserver pool is closed.");
            }

            return CountAvailableCore();
        }
    }

    /// <summary>
    /// Takes every token left, compares the count with <see cref="Size"/>, closes the pool and removes its directory
    /// (the FIFO, the ledger, the journal). Later calls return the same report.
    /// </summary>
    public PoolCloseReport Close() => Close(null);

    /// <summary>
    /// Like <see cref="Close()"/>; <paramref name="releaseAfterDrain"/> (the ledger's lock, held so that no refill runs
    /// while the pool is counted) is disposed once the pool is drained and closed, before its directory is removed.
    /// </summary>
    public PoolCloseReport Close(IDisposable? releaseAfterDrain)
    {
        lock (_gate)
        {
            if (_closed is null)
            {
                try
                {
                    _closed = new PoolCloseReport(Size, CloseCore());
                }
                finally
                {
                    releaseAfterDrain?.Dispose();
                }

                _home.Dispose();
            }
            else
            {
                releaseAfterDrain?.Dispose();
            }

            return _closed;
        }
    }

    /// <summary>Same as <see cref="Close()"/>.</summary>
    public void Dispose()
    {
        Close();
        GC.SuppressFinalize(this);
    }

    /// <summary>
    /// Whether a token sits in the pool right now, looked at without taking it: a token a tool's own client holds (a
    /// rustc's codegen thread, a cargo's second job) is not free, though no task of the build holds it. Null when the
    /// pool cannot be looked at without taking (a Windows semaphore) or is closed.
    /// </summary>
    public bool? HasFreeToken()
    {
        lock (_gate)
        {
            return _closed is null ? HasFreeTokenCore() : null;
        }
    }

    /// <summary>Counts the tokens in the pool and puts them back.</summary>
    private protected abstract int CountAvailableCore();

    /// <summary>See <see cref="HasFreeToken"/>; null where the pool cannot be looked at.</summary>
    private protected virtual bool? HasFreeTokenCore() => null;

    /// <summary>Drains and counts the tokens, then closes the pool (the directory is removed after); called once.</summary>
    private protected abstract int CloseCore();
}
