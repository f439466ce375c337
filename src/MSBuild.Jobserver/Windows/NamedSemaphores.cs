using System;
using System.Security.Cryptography;
using System.Threading;
using MSBuild.Jobserver.Protocol;

namespace MSBuild.Jobserver.Windows;

/// <summary>What every pool the package makes as a named semaphore needs: a fresh name, and a count of its free tokens.</summary>
#if NET
[System.Runtime.Versioning.SupportedOSPlatform("windows")]
#endif
internal static class NamedSemaphores
{
    /// <summary>
    /// Creates a semaphore of <paramref name="tokens"/> counts under <paramref name="prefix"/> and a cryptographic random
    /// of <paramref name="randomBytes"/> bytes: a name another user's process could predict (new Random() is seeded
    /// from the clock) could be created first by it, with its own count and its own security. A name that exists
    /// already belongs to someone else and is never shared.
    /// </summary>
    public static Semaphore CreateUnique(int tokens, string prefix, int randomBytes, out string name)
    {
        using var random = RandomNumberGenerator.Create();
        var bytes = new byte[randomBytes];
        for (var attempt = 0; ; attempt++)
        {
            random.GetBytes(bytes);
            name = prefix + BitConverter.ToString(bytes).Replace("-", string.Empty).ToLowerInvariant();
            var semaphore = new Semaphore(tokens, tokens, name, out var createdNew);
            if (createdNew)
            {
                return semaphore;
            }

            semaphore.Dispose();
            if (attempt == 10)
            {
                throw new JobserverException(JobserverRejection.SemaphoreOpenFailed, "Cannot create a uniquely named jobserver semaphore (last tried " + name + "); try again.");
            }
        }
    }

    /// <summary>How many counts <paramref name="semaphore"/> holds: drained, counted and given back.</summary>
    public static int Count(Semaphore semaphore)
    {
        var count = Drain(semaphore);
        if (count > 0)
        {
            semaphore.Release(count);
        }

        return count;
    }

    /// <summary>Takes every free count of <paramref name="semaphore"/>; returns how many it took.</summary>
    public static int Drain(Semaphore semaphore)
    {
        var count = 0;
        while (semaphore.WaitOne(0))
        {
            count++;
        }

        return count;
    }
}
