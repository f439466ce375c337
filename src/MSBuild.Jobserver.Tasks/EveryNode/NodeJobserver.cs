using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Threading;
using MSBuild.Jobserver.Tokens;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;

namespace MSBuild.Jobserver.Tasks.EveryNode;

/// <summary>
/// This process's view of the build's jobserver: the handle from the rendezvous, the connections, the tokens
/// that AcquireJobToken handed out. Registered with Build lifetime, so a reused node never sees a previous
/// build's pool, and tokens still held when the build ends go back to the pool.
/// </summary>
internal sealed class NodeJobserver : IDisposable
{
    private const string RegistrationKey = "MSBuild.Jobserver.Node";
    private static readonly object Gate = new();

    private readonly ConcurrentDictionary<string, HeldToken> _outstanding = new(StringComparer.Ordinal);
    private int _connectProblemReported;

    private NodeJobserver(BuildJobserverHandle handle) => Pool = new PoolConnection(handle);

    /// <summary>The connection to the build's pool: where this process's tokens come from.</summary>
    public PoolConnection Pool { get; }

    /// <summary>The build's jobserver as the entry process described it.</summary>
    public BuildJobserverHandle Handle => Pool.Handle;

    /// <summary>This build's view for this process, asking the rendezvous on first use (problems logged to <paramref name="log"/>).</summary>
    public static NodeJobserver Get(IBuildEngine engine, TaskLoggingHelper log, ProjectJobserverSettings settings)
    {
        var engine4 = (IBuildEngine4)engine;
        if (engine4.GetRegisteredTaskObject(RegistrationKey, RegisteredTaskObjectLifetime.Build) is NodeJobserver known)
        {
            return known;
        }

        var handle = Rendezvous.Request(engine, log, settings);
        lock (Gate)
        {
            if (engine4.GetRegisteredTaskObject(RegistrationKey, RegisteredTaskObjectLifetime.Build) is NodeJobserver raced)
            {
                return raced;
            }

            var node = new NodeJobserver(handle);
            engine4.RegisterTaskObject(RegistrationKey, node, RegisteredTaskObjectLifetime.Build, allowEarlyCollection: false);
            return node;
        }
    }

    /// <summary>True the first time it is called: the connection problem is reported once per process.</summary>
    public bool FirstConnectProblemReport() => Interlocked.Exchange(ref _connectProblemReported, 1) == 0;

    /// <summary>This build's view for this process if a task here already asked; never starts a rendezvous.</summary>
    public static NodeJobserver? Existing(IBuildEngine engine) =>
        (engine as IBuildEngine4)?.GetRegisteredTaskObject(RegistrationKey, RegisteredTaskObjectLifetime.Build) as NodeJobserver;

    /// <summary>Keeps a token that AcquireJobToken handed to the project until ReleaseJobToken brings it back.</summary>
    public void HoldForProject(HeldToken held) => _outstanding[held.Id] = held;

    /// <summary>Takes back a token AcquireJobToken handed out; null when this process never handed out that id.</summary>
    public HeldToken? TakeBackFromProject(string id) => _outstanding.TryRemove(id, out var held) ? held : null;

    /// <summary>Tokens handed out by AcquireJobToken and not given back yet.</summary>
    public IReadOnlyCollection<HeldToken> Outstanding => (IReadOnlyCollection<HeldToken>)_outstanding.Values;

    /// <summary>At the end of the build: tokens a project never released go back, then the connections close.</summary>
    public void Dispose()
    {
        foreach (var held in _outstanding.Values)
        {
            held.Dispose();
        }

        _outstanding.Clear();
        Pool.Dispose();
    }
}
