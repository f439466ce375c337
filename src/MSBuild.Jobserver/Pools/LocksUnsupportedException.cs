using System.IO;

namespace MSBuild.Jobserver.Pools;

/// <summary>
/// The file system under the build's directory cannot lock files (flock fails with ENOSYS, ENOLCK or EOPNOTSUPP: some
/// network and parallel file systems). Nothing there can tell a live holder from a dead one, so no pool may live there.
/// </summary>
internal sealed class LocksUnsupportedException : IOException
{
    public LocksUnsupportedException(string message)
        : base(message)
    {
    }
}
