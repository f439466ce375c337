using MSBuild.Jobserver.Protocol;


namespace MSBuild.Jobserver.Diagnostics;

/// <summary>
/// Every code this package logs. Codes are stable: a code is never reused for another meaning. Each one has a
/// row in docs/diagnostics.md, which the help link points at.
/// </summary>
public static class DiagnosticCode
{
    /// <summary>Where every help link points; the anchor is the lower-case code.</summary>
    public const string HelpLinkBase = "https://github.com/msbuild-jobserver/MSBuild.Jobserver/blob/main/docs/diagnostics.md#";

    // Inherited jobserver rejected: one code per reason, so a user can search for exactly their case.
    /// <summary>JOBS0001: The inherited MAKEFLAGS/CARGO_MAKEFLAGS/MFLAGS names a jobserver that cannot be parsed.</summary>
    public const string InheritedUnparsable = "JOBS0001";
    /// <summary>JOBS0002: An inherited jobserver descriptor is not open (the make rule lacks <c>+</c>).</summary>
    public const string InheritedDescriptorClosed = "JOBS0002";
    /// <summary>JOBS0003: An inherited descriptor is not a pipe.</summary>
    public const string InheritedNotAPipe = "JOBS0003";
    /// <summary>JOBS0004: The inherited read and write descriptors are different pipes.</summary>
    public const string InheritedDifferentPipes = "JOBS0004";
    /// <summary>JOBS0005: An inherited descriptor has the wrong access mode (ends swapped).</summary>
    public const string InheritedWrongAccessMode = "JOBS0005";
    /// <summary>JOBS0006: An inherited descriptor is close-on-exec: it is not the parent's pipe.</summary>
    public const string InheritedCloseOnExec = "JOBS0006";
    /// <summary>JOBS0007: The inherited <c>fifo:</c> path does not exist.</summary>
    public const string InheritedFifoMissing = "JOBS0007";
    /// <summary>JOBS0008: The inherited <c>fifo:</c> path is a symbolic link.</summary>
    public const string InheritedFifoIsSymlink = "JOBS0008";
    /// <summary>JOBS0009: The inherited <c>fifo:</c> path is not a FIFO.</summary>
    public const string InheritedFifoNotAFifo = "JOBS0009";
    /// <summary>JOBS0010: The inherited FIFO is not private to you.</summary>
    public const string InheritedFifoNotPrivate = "JOBS0010";
    /// <summary>JOBS0011: The inherited FIFO could not be opened.</summary>
    public const string InheritedFifoOpenFailed = "JOBS0011";
    /// <summary>JOBS0012: The jobserver a node was handed is not the one the entry process validated.</summary>
    public const string InheritedIdentityMismatch = "JOBS0012";
    /// <summary>JOBS0013: A semaphore-form jobserver was inherited on a system without named semaphores.</summary>
    public const string InheritedSemaphoreUnsupported = "JOBS0013";
    /// <summary>JOBS0014: The inherited Windows semaphore could not be opened.</summary>
    public const string InheritedSemaphoreOpenFailed = "JOBS0014";
    /// <summary>JOBS0015: This platform cannot run a jobserver.</summary>
    public const string PlatformUnsupported = "JOBS0015";

    // Configuration and pool life.
    /// <summary>JOBS0020: <c>JobserverSlots</c> is not a whole number from 1 to 4096.</summary>
    public const string InvalidSlots = "JOBS0020";
    /// <summary>JOBS0021: Tokens did not come back to the pool by the end of the build.</summary>
    public const string TokensMissing = "JOBS0021";
    /// <summary>JOBS0022: A tool waited long for a token.</summary>
    public const string LongWait = "JOBS0022";
    /// <summary>JOBS0023: The build's pool could not be created.</summary>
    public const string PoolCreationFailed = "JOBS0023";
    /// <summary>JOBS0024: ReleaseJobToken was given a token it did not hand out.</summary>
    public const string UnknownToken = "JOBS0024";
    /// <summary>JOBS0025: AcquireJobToken timed out.</summary>
    public const string AcquireTimedOut = "JOBS0025";
    /// <summary>JOBS0026: Projects of one build ask for different pool sizes.</summary>
    public const string SlotsDiffer = "JOBS0026";
    /// <summary>JOBS0027: Tokens taken with AcquireJobToken were never released.</summary>
    public const string TokenNotReleased = "JOBS0027";
    /// <summary>JOBS0028: The per-build rendezvous failed.</summary>
    public const string RendezvousFailed = "JOBS0028";
    /// <summary>JOBS0029: The trace file could not be written.</summary>
    public const string TraceFileFailed = "JOBS0029";
    /// <summary>JOBS0034: Tokens kept by tools that died were put back into the pool.</summary>
    public const string TokensRecovered = "JOBS0034";

    // Where the pool lives and how tokens come back (the ledger).
    /// <summary>JOBS0040: The temporary directory cannot be named in MAKEFLAGS; the pool lives elsewhere.</summary>
    public const string PoolPathNotAdvertisable = "JOBS0040";
    /// <summary>JOBS0041: The per-user directory is not private; the build uses a private directory of its own.</summary>
    public const string UserDirectoryNotPrivate = "JOBS0041";
    /// <summary>JOBS0042: A token could not be written back to the pool.</summary>
    public const string TokenReturnFailed = "JOBS0042";
    /// <summary>JOBS0043: The pool held more tokens than its size at the end of the build.</summary>
    public const string TokensSurplus = "JOBS0043";
    /// <summary>JOBS0044: The temporary directory is a relative path; the pool went elsewhere.</summary>
    public const string TempDirectoryRelative = "JOBS0044";
    /// <summary>JOBS0045: Another user could replace things in the temporary directory; the pool went elsewhere.</summary>
    public const string TempDirectoryNotTrusted = "JOBS0045";
    /// <summary>JOBS0046: The temporary directory's file system cannot lock files; the pool went elsewhere.</summary>
    public const string LocksUnsupported = "JOBS0046";
    /// <summary>JOBS0047: Windows: TEMP is outside your profile; tokens of tools that die are not recovered.</summary>
    public const string SharedTemporaryDirectory = "JOBS0047";

    // Handing the pool to a tool: a form that cannot reach its client.
    /// <summary>JOBS0050: The pool cannot be written in the form a tool reads (a path with whitespace, no free descriptor number).</summary>
    public const string PoolNotAdvertisable = "JOBS0050";
    /// <summary>JOBS0051: <c>sudo</c> or a sandbox in the command closes the pool's descriptors.</summary>
    public const string DescriptorsClosed = "JOBS0051";
    /// <summary>JOBS0052: The tool is not a jobserver client (ninja older than 1.13).</summary>
    public const string ToolNotAClient = "JOBS0052";
    /// <summary>JOBS0053: GNU make older than 4.4 was listed to get the <c>fifo:</c> form; it gets descriptors.</summary>
    public const string ToolCannotReadFifo = "JOBS0053";

    // A parent's jobserver pipe held by a process that outlives the build.
    /// <summary>JOBS0060: A build server (worker node, MSBuild server, VBCSCompiler) holds the jobserver pipe inherited from make: make will wait for it after the build.</summary>
    public const string InheritedPipeHeldByServer = "JOBS0060";

    // The pool shared by a user's builds (JobserverScope=User) and the free-memory limit.
    /// <summary>JOBS0080: <c>JobserverScope=User</c>: this build asks for another size than the shared pool has.</summary>
    public const string SharedPoolSizeDiffers = "JOBS0080";
    /// <summary>JOBS0081: <c>JobserverScope=User</c>: the shared pool cannot be used; the build makes its own.</summary>
    public const string SharedPoolUnavailable = "JOBS0081";
    /// <summary>JOBS0082: <c>JobserverScope</c> is neither <c>Build</c> nor <c>User</c>.</summary>
    public const string InvalidScope = "JOBS0082";
    /// <summary>JOBS0083: <c>JobserverMinFreeMemory</c> is not a size.</summary>
    public const string InvalidMinFreeMemory = "JOBS0083";
    /// <summary>JOBS0084: <c>JobserverMinFreeMemory</c> is not applied (memory cannot be read, or the pool is make's).</summary>
    public const string MemoryUnknown = "JOBS0084";
    /// <summary>JOBS0085: The build created or joined the pool its user's builds share.</summary>
    public const string SharedPoolJoined = "JOBS0085";
    /// <summary>JOBS0086: The memory limit is on; at the end: how the pool held tokens back for want of memory.</summary>
    public const string MemoryWait = "JOBS0086";

    // The timing report.
    /// <summary>JOBS0070: The timing report (<c>JobserverReport</c>) could not be written.</summary>
    public const string ReportFileFailed = "JOBS0070";

    // Informational messages.
    /// <summary>JOBS0030: End-of-build summary.</summary>
    public const string Summary = "JOBS0030";
    /// <summary>JOBS0031: The build joined the jobserver it inherited.</summary>
    public const string JoinedInherited = "JOBS0031";
    /// <summary>JOBS0032: The inherited jobserver is disabled for this command.</summary>
    public const string InheritedDisabled = "JOBS0032";
    /// <summary>JOBS0033: The build created its own pool.</summary>
    public const string PoolCreated = "JOBS0033";
    /// <summary>JOBS0035: A tool of the entry project runs after the end-of-build summary, which leaves it out.</summary>
    public const string ToolAfterSummary = "JOBS0035";
    /// <summary>JOBS0090: A command only asks its tool (a query): it runs without a token.</summary>
    public const string QueryRunsAtOnce = "JOBS0090";

    // Tool output about jobservers, re-logged with a code and the tool's own text.
    /// <summary>JOBS0101: cargo/rustc: <c>failed to connect to jobserver</c>.</summary>
    public const string ToolFailedToConnect = "JOBS0101";
    /// <summary>JOBS0102: cargo: <c>-j</c> ignored in favour of the jobserver.</summary>
    public const string ToolIgnoringJobsArgument = "JOBS0102";
    /// <summary>JOBS0103: make: <c>jobserver unavailable: using -j1</c>.</summary>
    public const string ToolJobserverUnavailable = "JOBS0103";
    /// <summary>JOBS0104: make: <c>-jN forced in submake: resetting jobserver mode</c>.</summary>
    public const string ToolForcedInSubmake = "JOBS0104";
    /// <summary>JOBS0105: make: <c>invalid --jobserver-auth string</c>.</summary>
    public const string ToolInvalidAuth = "JOBS0105";
    /// <summary>JOBS0106: make: <c>cannot open jobserver</c>.</summary>
    public const string ToolCannotOpenJobserver = "JOBS0106";
    /// <summary>JOBS0107: ninja: <c>Ignoring jobserver</c>.</summary>
    public const string ToolIgnoringJobserver = "JOBS0107";

    /// <summary>The help link for <paramref name="code"/>.</summary>
    public static string HelpLink(string code) => HelpLinkBase + code.ToLowerInvariant();

    /// <summary>The code that reports an inherited jobserver rejected for <paramref name="reason"/>.</summary>
    public static string ForRejection(JobserverRejection reason) => reason switch
    {
        JobserverRejection.Unparsable => InheritedUnparsable,
        JobserverRejection.DescriptorClosed => InheritedDescriptorClosed,
        JobserverRejection.NotAPipe => InheritedNotAPipe,
        JobserverRejection.DifferentPipes => InheritedDifferentPipes,
        JobserverRejection.WrongAccessMode => InheritedWrongAccessMode,
        JobserverRejection.CloseOnExec => InheritedCloseOnExec,
        JobserverRejection.FifoMissing => InheritedFifoMissing,
        JobserverRejection.FifoIsSymlink => InheritedFifoIsSymlink,
        JobserverRejection.FifoNotAFifo => InheritedFifoNotAFifo,
        JobserverRejection.FifoNotPrivate => InheritedFifoNotPrivate,
        JobserverRejection.FifoOpenFailed => InheritedFifoOpenFailed,
        JobserverRejection.IdentityMismatch => InheritedIdentityMismatch,
        JobserverRejection.SemaphoreUnsupported => InheritedSemaphoreUnsupported,
        JobserverRejection.SemaphoreOpenFailed => InheritedSemaphoreOpenFailed,
        _ => PlatformUnsupported,
    };
}
