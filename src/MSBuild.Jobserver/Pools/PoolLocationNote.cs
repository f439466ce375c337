namespace MSBuild.Jobserver.Pools;

/// <summary>Why a pool is not in the usual place.</summary>
public enum PoolLocationProblem
{
    /// <summary>The parent's path cannot be named in <c>--jobserver-auth=fifo:PATH</c>; a later candidate was used.</summary>
    PathNotAdvertisable,

    /// <summary>The per-user directory is not private (made first by someone else); a private one of this build's own was used.</summary>
    UserDirectoryNotPrivate,

    /// <summary>The parent is a relative path (a relative TMPDIR), which each node would resolve differently; a later candidate was used.</summary>
    RelativeParent,

    /// <summary>Another user could replace what is made in the parent (theirs, or writable by others without the sticky bit); a later candidate was used.</summary>
    ParentNotTrusted,

    /// <summary>The parent's file system cannot lock files (flock fails: ENOSYS, ENOLCK); a later candidate was used.</summary>
    LocksUnsupported,

    /// <summary>The parent is used, but others may delete files in it (Windows: a TEMP outside the user's profile), so refilling is off.</summary>
    SharedParent,
}

/// <summary>One reason the pool's directory is not in the usual place, for the tasks to report with a code.</summary>
public sealed record PoolLocationNote(PoolLocationProblem Problem, string Parent, string Detail);
