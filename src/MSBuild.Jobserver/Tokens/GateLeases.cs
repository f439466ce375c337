using System;
using System.IO;
using System.Linq;
using MSBuild.Jobserver.Pools;

namespace MSBuild.Jobserver.Tokens;

/// <summary>
/// The leases a memory gate (JobserverMinFreeMemory) holds in the pool's directory: while its <c>gate-</c> lease is
/// held, the pool is closed to the package's tools, which then wait without reading a token.
/// </summary>
public static class GateLeases
{
    /// <summary>The kind of the lease held while the gate keeps the pool closed.</summary>
    public const string ClosedKind = "gate-";

    /// <summary>The file-name prefix of the leases of <paramref name="kind"/> in <paramref name="directory"/>.</summary>
    public static string Prefix(PoolDirectory directory, string kind) => Path.GetFileName(directory.LeasePath(kind));

    /// <summary>True while a build's memory gate holds the pool in <paramref name="directory"/> closed to new jobs.</summary>
    public static bool IsClosed(PoolDirectory directory)
    {
        var prefix = Prefix(directory, ClosedKind);
        return directory.Leases().Any(l => Path.GetFileName(l).StartsWith(prefix, StringComparison.Ordinal) && Lease.IsHeld(directory, l));
    }
}
