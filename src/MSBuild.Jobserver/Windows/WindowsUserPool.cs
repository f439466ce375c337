using System;
using System.IO;
using System.Threading;
using MSBuild.Jobserver.Pools;
using MSBuild.Jobserver.Protocol;

namespace MSBuild.Jobserver.Windows;

/// <summary>
/// This build's membership of the semaphore shared by all of the user's builds (see <see cref="UserPool"/>).
/// The semaphore's name is random, made only when no object of that name exists (nobody can have squatted it), and
/// kept in the user's private directory, where the builds that join read it; it lives in the session's namespace
/// (an unprefixed name is <c>Local\</c>) with the default security of its creator, which lets no other user open it.
/// </summary>
#if NET
[System.Runtime.Versioning.SupportedOSPlatform("windows")]
#endif
internal sealed class WindowsUserPool : UserPool
{
    private const string NamePrefix = "msbuild_jobserver_user_";
    private const string NameFile = "semaphore";

    private readonly Semaphore _semaphore;

    private WindowsUserPool(IPoolPlatform platform, int size, string directory, Semaphore semaphore, string name, UserPoolDirectory.Member member, bool created, string? parent)
        : base(platform, JobserverAuth.Semaphore(name), size, directory, null, member, created, parent)
    {
        _semaphore = semaphore;
    }

    /// <summary>Joins the user's pool, creating it with <paramref name="tokens"/> tokens when no live build has one.</summary>
    public static WindowsUserPool Join(IPoolPlatform platform, int tokens, string? parent)
    {
        using var gate = UserPoolDirectory.LockGate(platform, parent);
        var size = gate.LiveSize();
        var created = size is null;
        Semaphore? semaphore = null;
        try
        {
            string name;
            if (created)
            {
                gate.CreateFresh(tokens);
                semaphore = Create(tokens, out name);
                File.WriteAllText(Path.Combine(gate.Path, NameFile), name);
            }
            else
            {
                name = File.ReadAllText(Path.Combine(gate.Path, NameFile)).Trim();
                if (!name.StartsWith(NamePrefix, StringComparison.Ordinal) || name.IndexOf('\\') >= 0)
                {
                    throw new JobserverException(JobserverRejection.SemaphoreOpenFailed, "The shared jobserver's record in " + gate.Path + " names '" + name + "', not one of its semaphores.");
                }

                semaphore = WindowsJobserver.Open(name, gate.Path);
            }

            return new WindowsUserPool(platform, size ?? tokens, gate.Path, semaphore, name, gate.Join(), created, parent);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or JobserverException)
        {
            semaphore?.Dispose();
            if (created)
            {
                gate.RemoveAll();
            }

            throw ex as JobserverException ?? new JobserverException(JobserverRejection.SemaphoreOpenFailed, "Cannot set up the shared jobserver in " + gate.Path + ": " + ex.Message, ex);
        }
    }

    private protected override int CountAvailableCore() => NamedSemaphores.Count(_semaphore);

    private protected override int Drain() => NamedSemaphores.Drain(_semaphore);

    private protected override void Release() => _semaphore.Dispose();

    private static Semaphore Create(int tokens, out string name) => NamedSemaphores.CreateUnique(tokens, NamePrefix, 12, out name);
}
