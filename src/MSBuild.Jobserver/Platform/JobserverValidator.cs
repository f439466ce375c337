using System;
using MSBuild.Jobserver.Pools;
using MSBuild.Jobserver.Protocol;


namespace MSBuild.Jobserver.Platform;

/// <summary>
/// Decides whether an advertised jobserver can be trusted, before a single byte is read from it or written to it:
/// a stale or inherited-by-accident descriptor number may name any file of this process.
/// </summary>
public static class JobserverValidator
{
    /// <summary>Examines <paramref name="auth"/>. Never throws for a bad jobserver; never reads or writes a byte.</summary>
    public static JobserverValidation Validate(JobserverAuth auth) => Validate(auth, null);

    /// <summary>
    /// Like <see cref="Validate(JobserverAuth)"/>; <paramref name="variableName"/> (MAKEFLAGS, CARGO_MAKEFLAGS ...) is
    /// where the value came from, named in the message so that the user knows what to fix.
    /// </summary>
    public static JobserverValidation Validate(JobserverAuth auth, string? variableName)
    {
        if (auth is null)
        {
            throw new ArgumentNullException(nameof(auth));
        }

        var source = DescribeSource(auth, variableName);
        IPoolPlatform platform;
        try
        {
            platform = PoolPlatform.Current;
        }
        catch (JobserverException e)
        {
            // POSIX without its helper library.
            return JobserverValidation.Invalid(auth, e.Reason, e.Message);
        }

        return platform.Validate(auth, source);
    }

    /// <summary>Validates and throws the rejection as a <see cref="JobserverException"/>.</summary>
    internal static JobserverValidation ValidateOrThrow(JobserverAuth auth, string? variableName)
    {
        var validation = Validate(auth, variableName);
        return validation.IsValid ? validation : throw validation.ToException();
    }

    private static string DescribeSource(JobserverAuth auth, string? variableName) =>
        string.IsNullOrEmpty(variableName)
            ? "--jobserver-auth=" + auth.ToAuthString()
            : variableName + " (--jobserver-auth=" + auth.ToAuthString() + ")";
}
