using System;

namespace MSBuild.Jobserver.Protocol;

/// <summary>A jobserver could not be trusted, created or used. The message says what to do about it.</summary>
public sealed class JobserverException : Exception
{
    /// <summary>Creates the exception with the reason and a message a user can act on.</summary>
    public JobserverException(JobserverRejection reason, string message, Exception? inner = null)
        : base(message, inner) => Reason = reason;

    /// <summary>Why the jobserver was rejected.</summary>
    public JobserverRejection Reason { get; }
}
