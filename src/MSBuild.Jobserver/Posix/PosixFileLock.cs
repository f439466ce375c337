using MSBuild.Jobserver.Pools;

namespace MSBuild.Jobserver.Posix;

/// <summary>A flock held through a descriptor of our own.</summary>
internal sealed class PosixFileLock : FileLock
{
    private readonly SafeFd _fd;

    public PosixFileLock(SafeFd fd) => _fd = fd;

    public override void ShareWithChildren(bool share) => _fd.Use(fd =>
    {
        PosixCalls.SetCloseOnExec(fd, !share);
        return 0;
    });

    public override bool StillNamedBy(string path) => _fd.Use(fd =>
        PosixCalls.TryFstat(fd, out var held, out _) && PosixCalls.TryLstat(path, out var named, out _) && held.Identity.Equals(named.Identity));

    public override void Dispose() => _fd.Dispose();
}
