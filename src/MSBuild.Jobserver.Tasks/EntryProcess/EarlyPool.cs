using System;
using System.Threading;
using System.Threading.Tasks;
using MSBuild.Jobserver.Platform;
using MSBuild.Jobserver.Pools;
using MSBuild.Jobserver.Protocol;
using MSBuild.Jobserver.Tokens;
using Microsoft.Build.Framework;

namespace MSBuild.Jobserver.Tasks.EntryProcess;

/// <summary>
/// The build's own pool, made on a background thread from the entry process's first ConfigureJobserver, so that
/// making it (directories, locks, the sweep, the FIFO: tens of milliseconds, most of it first calls) overlaps
/// MSBuild's own work instead of delaying the first tool. Made only when the owner would make exactly this pool (no
/// inherited jobserver advertised, scope Build, a size). The owner takes it once (<see cref="Take(int)"/>); a failure to
/// make it is thrown there, where the owner reports it as before. Registered with Build lifetime: a pool no tool asked
/// for is closed when the build ends.
/// </summary>
internal sealed class EarlyPool : IDisposable
{
    private const string RegistrationKey = "MSBuild.Jobserver.EarlyPool";
    private static readonly object Gate = new();

    private readonly object _takeGate = new();
    private readonly Task<JobTokenPool> _creation;
    private bool _taken;

    /// <summary>Starts making a pool of <paramref name="slots"/> tokens with <paramref name="create"/> on a background thread.</summary>
    internal EarlyPool(int slots, Func<int, JobTokenPool> create)
    {
        Slots = slots;
        // A thread of its own: queued behind a busy thread pool, the first tool could wait for the pool's thread injection.
        _creation = Task.Factory.StartNew(() => create(slots), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
    }

    /// <summary>The size the pool is made with.</summary>
    public int Slots { get; }

    /// <summary>
    /// Starts making the build's pool when this is the entry process, the owner would make one of
    /// <paramref name="slots"/> tokens, and nothing was started or made yet in this build.
    /// </summary>
    public static void StartIfNeeded(IBuildEngine4 engine, int slots, bool userScope, Func<string, string?> environment)
    {
        // A shared pool is joined, an inherited one is joined or judged first: only the plain own pool is certain.
        if (ProcessInfo.IsWorkerNode || userScope || slots == BuildJobserverOwner.NoPool || MakeFlags.FirstAdvertising(environment) is not null)
        {
            return;
        }

        lock (Gate)
        {
            if (engine.GetRegisteredTaskObject(RegistrationKey, RegisteredTaskObjectLifetime.Build) is not null || BuildJobserverOwner.Current(engine) is not null)
            {
                return;
            }

            engine.RegisterTaskObject(RegistrationKey, new EarlyPool(slots, PoolPlatform.CreatePool), RegisteredTaskObjectLifetime.Build, allowEarlyCollection: false);
        }
    }

    /// <summary>The build's early pool if one of <paramref name="slots"/> tokens was started and not taken yet; waits for it.</summary>
    public static JobTokenPool? Take(IBuildEngine4 engine, int slots) =>
        (engine.GetRegisteredTaskObject(RegistrationKey, RegisteredTaskObjectLifetime.Build) as EarlyPool)?.Take(slots);

    /// <summary>
    /// The pool, once: waits until it is made, and throws what making it threw. Null when it was taken already, or when
    /// <paramref name="slots"/> differs (the early pool is closed then, so the build still has one).
    /// </summary>
    internal JobTokenPool? Take(int slots)
    {
        if (!Claim())
        {
            return null;
        }

        if (slots != Slots)
        {
            CloseUnused();
            return null;
        }

        return _creation.GetAwaiter().GetResult();
    }

    /// <summary>At the end of the build: closes the pool if no tool asked for it.</summary>
    public void Dispose()
    {
        if (Claim())
        {
            CloseUnused();
        }
    }

    // The pool goes to one taker: the first tool, or the build's end.
    private bool Claim()
    {
        lock (_takeGate)
        {
            if (_taken)
            {
                return false;
            }

            _taken = true;
            return true;
        }
    }

    // Nobody was told of this pool: a failure to make it says nothing, as a build that never asks makes none.
    private void CloseUnused()
    {
        JobTokenPool pool;
        try
        {
            pool = _creation.GetAwaiter().GetResult();
        }
        catch (Exception ex) when (ex is JobserverException or System.IO.IOException or UnauthorizedAccessException)
        {
            return;
        }

        LedgerLock.ClosePool(pool);
    }
}
