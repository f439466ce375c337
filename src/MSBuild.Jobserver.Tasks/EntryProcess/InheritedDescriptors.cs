using System;
using System.Collections.Generic;
using MSBuild.Jobserver.Platform;
using MSBuild.Jobserver.Protocol;
using Microsoft.Build.Framework;

namespace MSBuild.Jobserver.Tasks.EntryProcess;

/// <summary>
/// Keeps the jobserver pipe a parent (make ≤ 4.3, make 4.4 with <c>--jobserver-style=pipe</c>, cargo) handed this
/// process out of every process it starts later. Such a parent counts its tokens back at exit by reading its pipe
/// until no process holds the write end; a reused MSBuild worker node, the MSBuild server or VBCSCompiler that
/// inherited it keeps that end open for minutes after the build, and the parent waits for them.
/// <para>
/// In every process the package runs in, the first of its tasks validates the advertised descriptors as inherited
/// (close-on-exec clear, one pipe), then sets close-on-exec on them: processes started afterwards never get them, and
/// the package reaches the pipe by path (<c>/proc/PID/fd/N</c>) or hands it to its own tools through their shell.
/// Registered with Build lifetime: when the build ends in this process the descriptors are closed, so a process that
/// outlives the build (a reused node, the server) stops holding the parent's pipe.
/// </para>
/// </summary>
internal sealed class InheritedDescriptors : IDisposable
{
    private const string RegistrationKey = "MSBuild.Jobserver.InheritedDescriptors";
    private static readonly object Gate = new();

    private readonly List<JobserverValidation> _hidden = new();

    private InheritedDescriptors()
    {
    }

    /// <summary>
    /// Hides the inherited jobserver descriptors named by <paramref name="environment"/>'s CARGO_MAKEFLAGS, MAKEFLAGS
    /// and MFLAGS; once per build and process (later calls only add descriptors not seen yet). Never throws: what is
    /// not a valid inherited pipe is left as it is, for the rendezvous to judge and report.
    /// </summary>
    public static void Hide(IBuildEngine4 engine, Func<string, string?> environment)
    {
        lock (Gate)
        {
            var current = Current(engine);
            foreach (var name in MakeFlags.VariableNames)
            {
                if (environment(name) is not { } value
                    || MakeFlags.Parse(name, value) is not { Auth: { Kind: JobserverAuthKind.Pipe } auth }
                    || (current is not null && current.Find(auth) is not null))
                {
                    continue;
                }

                // Validated before it is touched: afterwards close-on-exec is set, and the check that tells an inherited
                // pipe from one this process opened could no longer be made.
                var validation = JobserverValidator.Validate(auth, name);
                if (!validation.IsValid)
                {
                    continue;
                }

                try
                {
                    if (!PoolPlatform.KeepFromChildren(auth.ReadFd) || !PoolPlatform.KeepFromChildren(auth.WriteFd))
                    {
                        continue;
                    }
                }
                catch (System.IO.IOException)
                {
                    continue;
                }

                if (current is null)
                {
                    current = new InheritedDescriptors();
                    engine.RegisterTaskObject(RegistrationKey, current, RegisteredTaskObjectLifetime.Build, allowEarlyCollection: false);
                }

                current._hidden.Add(validation);
            }
        }
    }

    /// <summary>
    /// The validation made before <paramref name="auth"/>'s descriptors were hidden in this build, null when they were
    /// not: then close-on-exec says nothing about where they came from, and they are validated as usual.
    /// </summary>
    public static JobserverValidation? HiddenValidation(IBuildEngine4 engine, JobserverAuth auth)
    {
        lock (Gate)
        {
            return Current(engine)?.Find(auth);
        }
    }

    /// <summary>
    /// The pipes hidden in this process this build (their identities), for finding who else holds them; null when none
    /// was (no make or cargo above this build, the common case, which then needs no collection of structs compiled).
    /// </summary>
    public static IReadOnlyList<PipeIdentity>? HiddenPipes(IBuildEngine4 engine)
    {
        lock (Gate)
        {
            if (Current(engine) is not { } current)
            {
                return null;
            }

            var result = new List<PipeIdentity>();
            foreach (var validation in current._hidden)
            {
                if (validation.Identity is { } identity && !result.Contains(identity))
                {
                    result.Add(identity);
                }
            }

            return result;
        }
    }

    /// <summary>At the end of the build: closes each hidden descriptor that is still the pipe it was.</summary>
    public void Dispose()
    {
        lock (Gate)
        {
            foreach (var validation in _hidden)
            {
                foreach (var fd in new[] { validation.Auth.ReadFd, validation.Auth.WriteFd })
                {
                    if (validation.Identity is { } identity)
                    {
                        PoolPlatform.CloseIfStill(fd, identity);
                    }
                }
            }

            _hidden.Clear();
        }
    }

    private static InheritedDescriptors? Current(IBuildEngine4 engine) =>
        engine.GetRegisteredTaskObject(RegistrationKey, RegisteredTaskObjectLifetime.Build) as InheritedDescriptors;

    private JobserverValidation? Find(JobserverAuth auth) =>
        _hidden.Find(v => v.Auth.ReadFd == auth.ReadFd && v.Auth.WriteFd == auth.WriteFd);
}
