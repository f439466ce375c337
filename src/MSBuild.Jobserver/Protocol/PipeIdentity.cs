namespace MSBuild.Jobserver.Protocol;

/// <summary>
/// The identity of a pipe or FIFO (st_dev, st_ino). Two descriptors or paths with the same identity are the same
/// pipe; a worker node compares it before it trusts a path that the entry process validated.
/// </summary>
public readonly record struct PipeIdentity(ulong Device, ulong Inode)
{
    /// <summary><c>dev:ino</c>, for handing the identity to another process.</summary>
    public override string ToString() => Device + ":" + Inode;

    /// <summary>Parses what <see cref="ToString"/> wrote; false for anything else.</summary>
    public static bool TryParse(string? text, out PipeIdentity identity)
    {
        identity = default;
        var parts = text?.Split(':');
        if (parts is not { Length: 2 }
            || !ulong.TryParse(parts[0], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var dev)
            || !ulong.TryParse(parts[1], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var ino))
        {
            return false;
        }

        identity = new PipeIdentity(dev, ino);
        return true;
    }
}
