namespace MSBuild.Jobserver.Protocol;

/// <summary>
/// What one MAKEFLAGS-style variable says about parallelism: the jobserver it names, its <c>-j</c> count and
/// whether make runs dry. Made by <see cref="MakeFlags.Parse"/>; immutable.
/// </summary>
/// <remarks>
/// At most one of <see cref="Auth"/>, <see cref="IsDisabled"/> and <see cref="Error"/> is set; all three are unset when
/// <see cref="AdvertisesJobserver"/> is false.
/// </remarks>
public sealed class MakeFlagsAdvertisement
{
    internal MakeFlagsAdvertisement(
        string variableName,
        string value,
        JobserverAuth? auth,
        bool isDisabled,
        bool isDryRun,
        int? jobs,
        bool unlimitedJobs,
        string? error,
        bool advertisesJobserver)
    {
        VariableName = variableName;
        Value = value;
        Auth = auth;
        IsDisabled = isDisabled;
        IsDryRun = isDryRun;
        Jobs = jobs;
        UnlimitedJobs = unlimitedJobs;
        Error = error;
        AdvertisesJobserver = advertisesJobserver;
    }

    /// <summary>The variable the value came from: <c>CARGO_MAKEFLAGS</c>, <c>MAKEFLAGS</c> or <c>MFLAGS</c>.</summary>
    public string VariableName { get; }

    /// <summary>The raw value, exactly as read.</summary>
    public string Value { get; }

    /// <summary>
    /// The jobserver named by the last <c>--jobserver-auth=</c> word (or, when there is none, the last
    /// <c>--jobserver-fds=</c> word); null when there is no such word, when it is disabled or when it is unparsable.
    /// Nothing here has been checked against the system: descriptors may be closed, a FIFO may be missing, and a
    /// <see cref="JobserverAuthKind.Semaphore"/> may have been read on a platform without semaphores.
    /// </summary>
    public JobserverAuth? Auth { get; }

    /// <summary>
    /// The chosen jobserver word names a negative descriptor, such as the <c>-2,-2</c> that make 4.4 gives to
    /// non-recursive children: make's way of saying "there is a jobserver, but not for you". Not an error.
    /// </summary>
    public bool IsDisabled { get; }

    /// <summary>make runs with <c>-n</c> (<c>--just-print</c>, <c>--dry-run</c>, <c>--recon</c>): recipes are only printed.</summary>
    public bool IsDryRun { get; }

    /// <summary>The count of the last <c>-jN</c>, <c>-j N</c> or <c>--jobs=N</c>; null when absent or when the last one had no number.</summary>
    public int? Jobs { get; }

    /// <summary>
    /// The last <c>-j</c> had no number: make runs without a limit. Cargo writes a bare <c>-j</c> next to its
    /// jobserver, so when <see cref="Auth"/> is set the jobserver is the limit, not this.
    /// </summary>
    public bool UnlimitedJobs { get; }

    /// <summary>
    /// Why the chosen jobserver word could not be read, quoting the variable and the word, in words a user can act on;
    /// null when there is no jobserver word or it was read.
    /// </summary>
    public string? Error { get; }

    /// <summary>A <c>--jobserver-auth</c> or <c>--jobserver-fds</c> word was present, whether usable, disabled or unparsable.</summary>
    public bool AdvertisesJobserver { get; }

    /// <summary><c>NAME="value"</c>, as a diagnostic would quote it.</summary>
    public override string ToString() => VariableName + "=\"" + Value + "\"";
}
