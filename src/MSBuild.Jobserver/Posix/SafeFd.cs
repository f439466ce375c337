using System;
using System.Runtime.InteropServices;

namespace MSBuild.Jobserver.Posix;

/// <summary>
/// A descriptor we own. A SafeHandle so that a Dispose racing with a read or poll on another thread cannot close the
/// number under it (and let the kernel reuse it for an unrelated file).
/// </summary>
internal sealed class SafeFd : SafeHandle
{
    public SafeFd(int fd)
        : base(new IntPtr(-1), ownsHandle: true) => SetHandle(new IntPtr(fd));

    public override bool IsInvalid => handle.ToInt64() < 0;

    /// <summary>Runs <paramref name="action"/> with the raw number, holding a reference so it stays open meanwhile.</summary>
    public T Use<T>(Func<int, T> action)
    {
        var added = false;
        try
        {
            DangerousAddRef(ref added);
            return action(handle.ToInt32());
        }
        finally
        {
            if (added)
            {
                DangerousRelease();
            }
        }
    }

    /// <summary>Like <see cref="Use{T}"/> for several descriptors at once (one poll over many pools).</summary>
    public static T UseAll<T>(SafeFd[] fds, Func<int[], T> action)
    {
        var added = new bool[fds.Length];
        try
        {
            var numbers = new int[fds.Length];
            for (var i = 0; i < fds.Length; i++)
            {
                fds[i].DangerousAddRef(ref added[i]);
                numbers[i] = fds[i].handle.ToInt32();
            }

            return action(numbers);
        }
        finally
        {
            for (var i = 0; i < fds.Length; i++)
            {
                if (added[i])
                {
                    fds[i].DangerousRelease();
                }
            }
        }
    }

    protected override bool ReleaseHandle()
    {
        PosixCalls.Close(handle.ToInt32());
        return true;
    }
}
