namespace MSBuild.Jobserver.Protocol;

/// <summary>
/// One token taken from a jobserver: the exact byte that was read. Clients must write back the byte they read
/// (make writes '+', the Rust crate '|', ninja 'x'); on Windows the value is unused.
/// </summary>
public readonly struct JobToken
{
    /// <summary>Wraps the byte read from the pool.</summary>
    public JobToken(byte value) => Value = value;

    /// <summary>The byte read from the pool, to be written back on release.</summary>
    public byte Value { get; }
}
