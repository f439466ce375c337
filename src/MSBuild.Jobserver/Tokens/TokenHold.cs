namespace MSBuild.Jobserver.Tokens;

/// <summary>
/// One token hold in the journal: when it was asked for, got, and given back (Unix milliseconds), by whom, for which
/// project and tool; Source is "pool" (our pool), "parent" (an inherited one) or "local" (the entry process's implicit slot).
/// </summary>
public sealed record TokenHold(long RequestedMs, long AcquiredMs, long ReleasedMs, int ProcessId, string Source, string Project, string Tool)
{
    /// <summary>How long the holder waited for the token.</summary>
    public long WaitMs => AcquiredMs - RequestedMs;
}
