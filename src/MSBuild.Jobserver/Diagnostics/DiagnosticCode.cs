using MSBuild.Jobserver.Protocol;


namespace MSBuild.Jobserver.Diagnostics;

/// <summary>
/// Every code this package logs. Codes are stable: a code is never reused for another meaning. Each one has a
/// row in docs/diagnostics.md, which the help link points at.
/// </summary>
internal static class DiagnosticCode
{
    /// <summary>Where every help link points; the anchor is the lower-case code.</summary>
    public const string HelpLinkBase = "https://github.com/msbuild-jobserver/MSBuild.Jobserver/blob/main/docs/diagnostics.md#";

    // Inherited jobserver rejected: one code per reason, so a user can search for exactly their case.
    public const string InheritedUnparsable = "JOBS0001";
    public const string InheritedDescriptorClosed = "JOBS0002";
    public const string InheritedNotAPipe = "JOBS0003";
    public const string InheritedDifferentPipes = "JOBS0004";
    public const string InheritedWrongAccessMode = "JOBS0005";
    public const string InheritedCloseOnExec = "JOBS0006";
    public const string InheritedFifoMissing = "JOBS0007";
    public const string InheritedFifoIsSymlink = "JOBS0008";
    public const string InheritedFifoNotAFifo = "JOBS0009";
    public const string InheritedFifoNotPrivate = "JOBS0010";
    public const string InheritedFifoOpenFailed = "JOBS0011";
    public const string InheritedIdentityMismatch = "JOBS0012";
    public const string InheritedSemaphoreUnsupported = "JOBS0013";
    public const string InheritedSemaphoreOpenFailed = "JOBS0014";
    public const string PlatformUnsupported = "JOBS0015";

    // Configuration and pool life.
    public const string InvalidSlots = "JOBS0020";
    public const string TokensMissing = "JOBS0021";
    public const string LongWait = "JOBS0022";
    public const string PoolCreationFailed = "JOBS0023";
    public const string UnknownToken = "JOBS0024";
    public const string AcquireTimedOut = "JOBS0025";
    public const string SlotsDiffer = "JOBS0026";
    public const string TokenNotReleased = "JOBS0027";
    public const string RendezvousFailed = "JOBS0028";
    public const string TraceFileFailed = "JOBS0029";
    public const string TokensRecovered = "JOBS0034";

    // Where the pool lives and how tokens come back (the ledger).
    public const string PoolPathNotAdvertisable = "JOBS0040";
    public const string UserDirectoryNotPrivate = "JOBS0041";
    public const string TokenReturnFailed = "JOBS0042";
    public const string TokensSurplus = "JOBS0043";
    public const string TempDirectoryRelative = "JOBS0044";
    public const string TempDirectoryNotTrusted = "JOBS0045";
    public const string LocksUnsupported = "JOBS0046";
    public const string SharedTemporaryDirectory = "JOBS0047";

    // Handing the pool to a tool: a form that cannot reach its client.
    public const string PoolNotAdvertisable = "JOBS0050";
    public const string DescriptorsClosed = "JOBS0051";
    public const string ToolNotAClient = "JOBS0052";
    public const string ToolCannotReadFifo = "JOBS0053";

    // A parent's jobserver pipe held by a process that outlives the build.
    public const string InheritedPipeHeldByServer = "JOBS0060";

    // The pool shared by a user's builds (JobserverScope=User) and the free-memory limit.
    public const string SharedPoolSizeDiffers = "JOBS0080";
    public const string SharedPoolUnavailable = "JOBS0081";
    public const string InvalidScope = "JOBS0082";
    public const string InvalidMinFreeMemory = "JOBS0083";
    public const string MemoryUnknown = "JOBS0084";
    public const string SharedPoolJoined = "JOBS0085";
    public const string MemoryWait = "JOBS0086";

    // The timing report.
    public const string ReportFileFailed = "JOBS0070";

    // Informational messages.
    public const string Summary = "JOBS0030";
    public const string JoinedInherited = "JOBS0031";
    public const string InheritedDisabled = "JOBS0032";
    public const string PoolCreated = "JOBS0033";
    public const string QueryRunsAtOnce = "JOBS0090";

    // Tool output about jobservers, re-logged with a code and the tool's own text.
    public const string ToolFailedToConnect = "JOBS0101";
    public const string ToolIgnoringJobsArgument = "JOBS0102";
    public const string ToolJobserverUnavailable = "JOBS0103";
    public const string ToolForcedInSubmake = "JOBS0104";
    public const string ToolInvalidAuth = "JOBS0105";
    public const string ToolCannotOpenJobserver = "JOBS0106";
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
