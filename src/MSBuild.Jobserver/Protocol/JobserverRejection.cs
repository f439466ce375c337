namespace MSBuild.Jobserver.Protocol;

/// <summary>Why an advertised jobserver was not trusted. Each value maps to one diagnostic code.</summary>
public enum JobserverRejection
{
    /// <summary>The MAKEFLAGS value could not be parsed as a jobserver.</summary>
    Unparsable,

    /// <summary>A descriptor named in R,W is not open in this process (make's rule had no '+').</summary>
    DescriptorClosed,

    /// <summary>A descriptor is open but is not a pipe or FIFO (a file, socket, /dev/null ...).</summary>
    NotAPipe,

    /// <summary>The read and write descriptors are different pipes.</summary>
    DifferentPipes,

    /// <summary>The read end cannot be read or the write end cannot be written (wrong access mode or swapped).</summary>
    WrongAccessMode,

    /// <summary>A descriptor has FD_CLOEXEC set: it belongs to this process (e.g. the runtime), not to a parent make.</summary>
    CloseOnExec,

    /// <summary>The fifo: path does not exist.</summary>
    FifoMissing,

    /// <summary>The fifo: path is a symbolic link.</summary>
    FifoIsSymlink,

    /// <summary>The fifo: path is not a FIFO (a regular file, a directory ...).</summary>
    FifoNotAFifo,

    /// <summary>The FIFO is owned by another user, or others may write to it.</summary>
    FifoNotPrivate,

    /// <summary>The FIFO could not be opened.</summary>
    FifoOpenFailed,

    /// <summary>A path handed over by the entry process is no longer the pipe it validated.</summary>
    IdentityMismatch,

    /// <summary>A semaphore name was advertised on a platform without named semaphores.</summary>
    SemaphoreUnsupported,

    /// <summary>The named semaphore does not exist or cannot be opened.</summary>
    SemaphoreOpenFailed,

    /// <summary>This platform cannot run a jobserver (no POSIX helper library, for example).</summary>
    PlatformUnsupported,
}
