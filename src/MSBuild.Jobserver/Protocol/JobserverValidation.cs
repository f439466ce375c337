namespace MSBuild.Jobserver.Protocol;

/// <summary>The verdict of the platform's checks on an advertised jobserver.</summary>
public sealed class JobserverValidation
{
    private JobserverValidation(JobserverAuth auth, JobserverRejection? reason, string message, PipeIdentity? identity)
    {
        Auth = auth;
        Reason = reason;
        Message = message;
        Identity = identity;
    }

    /// <summary>The jobserver that was examined.</summary>
    public JobserverAuth Auth { get; }

    /// <summary>True when the jobserver can be connected to.</summary>
    public bool IsValid => Reason is null;

    /// <summary>Why it was rejected; null when valid.</summary>
    public JobserverRejection? Reason { get; }

    /// <summary>What was found and, when rejected, what the user should do about it.</summary>
    public string Message { get; }

    /// <summary>The pipe's (st_dev, st_ino) when valid on POSIX; null otherwise.</summary>
    public PipeIdentity? Identity { get; }

    internal static JobserverValidation Valid(JobserverAuth auth, string message, PipeIdentity? identity) =>
        new(auth, null, message, identity);

    internal static JobserverValidation Invalid(JobserverAuth auth, JobserverRejection reason, string message) =>
        new(auth, reason, message, null);

    internal JobserverException ToException() => new(Reason ?? JobserverRejection.Unparsable, Message);
}
