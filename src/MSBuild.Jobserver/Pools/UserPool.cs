using MSBuild.Jobserver.Protocol;

namespace MSBuild.Jobserver.Pools;

/// <summary>
/// This build's membership of the pool shared by all of the user's builds (see <see cref="UserPoolDirectory"/>): what
/// leaving it means on every platform. A platform's pool says only how its tokens are held, drained and let go.
/// </summary>
internal abstract class UserPool : JobTokenPool
{
    private readonly IPoolPlatform _platform;
    private readonly UserPoolDirectory.Member _member;
    private readonly string? _parent;

    private protected UserPool(IPoolPlatform platform, JobserverAuth auth, int size, string directory, PipeIdentity? identity, UserPoolDirectory.Member member, bool created, string? parent)
        : base(auth, size, PoolDirectory.Open(platform, directory), identity)
    {
        _platform = platform;
        _member = member;
        _parent = parent;
        SharedPoolCreated = created;
    }

    /// <inheritdoc/>
    public override bool IsShared => true;

    /// <inheritdoc/>
    public override bool SharedPoolCreated { get; }

    // Under the gate, so no build joins a pool being removed: the last member drains and removes it; the others only
    // let go of their end (and report a full pool: what the others hold is theirs).
    private protected sealed override int CloseCore()
    {
        using var gate = UserPoolDirectory.LockGate(_platform, _parent);
        var last = gate.Leave(_member);
        var found = last ? Drain() : Size;
        Release();
        if (last)
        {
            gate.RemoveAll();
        }

        return found;
    }

    /// <summary>Takes every token left and counts them (only the last member does).</summary>
    private protected abstract int Drain();

    /// <summary>Closes this build's descriptor or handle of the pool.</summary>
    private protected abstract void Release();
}
