using System;
using System.Threading;
using MSBuild.Jobserver.Protocol;

namespace MSBuild.Jobserver.Windows;

/// <summary>Validation of an advertised jobserver on Windows, where only the semaphore form exists.</summary>
#if NET
[System.Runtime.Versioning.SupportedOSPlatform("windows")]
#endif
internal static class WindowsJobserver
{
    public static JobserverValidation Validate(JobserverAuth auth, string source)
    {
        if (auth.Kind != JobserverAuthKind.Semaphore)
        {
            return JobserverValidation.Invalid(
                auth,
                JobserverRejection.PlatformUnsupported,
                source + " names a POSIX pipe or FIFO, which cannot be used on Windows: the value came from a POSIX build (or an MSYS make); unset the variable.");
        }

        try
        {
            Open(auth.Name!, source).Dispose();
            return JobserverValidation.Valid(auth, "The jobserver semaphore '" + auth.Name + "' from " + source + " exists.", null);
        }
        catch (JobserverException e)
        {
            return JobserverValidation.Invalid(auth, e.Reason, e.Message);
        }
    }

    public static Semaphore Open(string name, string source)
    {
        try
        {
            return Semaphore.OpenExisting(name);
        }
        catch (Exception e) when (e is WaitHandleCannotBeOpenedException or UnauthorizedAccessException or System.IO.IOException or ArgumentException)
        {
            throw new JobserverException(
                JobserverRejection.SemaphoreOpenFailed,
                "Cannot open the jobserver semaphore '" + name + "' from " + source + ": " + e.Message + " The make that created it has probably exited; unset the variable.",
                e);
        }
    }
}
