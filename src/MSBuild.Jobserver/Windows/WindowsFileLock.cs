using System.IO;
using MSBuild.Jobserver.Pools;

namespace MSBuild.Jobserver.Windows;

/// <summary>A lock file held open with FileShare.None; Windows closes it when the process ends, however it ends.</summary>
internal sealed class WindowsFileLock : FileLock
{
    private readonly FileStream _stream;

    public WindowsFileLock(FileStream stream) => _stream = stream;

    // Windows hands a child only the handles it is told to: a lease ends with its node (see docs/reliability.md).
    public override void ShareWithChildren(bool share)
    {
    }

    public override void Dispose() => _stream.Dispose();
}
