using System;
using System.Collections.Generic;
using MSBuild.Jobserver.Commands;
using MSBuild.Jobserver.Diagnostics;
using MSBuild.Jobserver.Platform;
using MSBuild.Jobserver.Pools;
using MSBuild.Jobserver.Protocol;

namespace MSBuild.Jobserver.Tokens;

/// <summary>How a tool wants the pool named in MAKEFLAGS.</summary>
public enum MakeflagsForm
{
    /// <summary><c>--jobserver-auth=R,W</c>, descriptors opened by the tool's shell: every make understands it.</summary>
    Descriptors,

    /// <summary><c>--jobserver-auth=fifo:PATH</c>: what ninja 1.13 wants.</summary>
    Fifo,

    /// <summary>No MAKEFLAGS at all (only CARGO_MAKEFLAGS): for tools that choke on it, like nmake.</summary>
    None,
}

/// <summary>What a tool's command is handed: variables to set (null removes one), the shell line that opens the
/// pool's descriptors, and what could not be handed (coded, for the log).</summary>
public sealed class ToolHandover
{
    /// <summary>The jobserver variables of the child; a null value removes the variable.</summary>
    public IDictionary<string, string?> Variables { get; } = new Dictionary<string, string?>();

    /// <summary>The line the command's own shell runs first to open the pool's descriptors; null when none are used.</summary>
    public string? ShellLine { get; set; }

    /// <summary>What the tool could not be handed, and why: (code, message).</summary>
    public List<(string Code, string Message)> Problems { get; } = new();

    /// <summary>The variables the pool could not be written into, and why (said as one problem).</summary>
    internal List<string> Unadvertised { get; } = new();

    /// <summary>Why the pool could not be written into <see cref="Unadvertised"/>.</summary>
    internal string? UnadvertisedReason { get; set; }
}

/// <summary>
/// The jobserver variables a child gets. A listed tool gets the build's pool in the form its clients read: the
/// descriptor form <c>R,W</c> in CARGO_MAKEFLAGS and MAKEFLAGS (every cargo, rustc, jobserver crate and make since
/// the protocol began reads it, and cargo passes it on to rustc and build scripts), opened on the pool by the
/// command's own shell on two numbers the command does not name, so no descriptor leaks into other children;
/// <c>fifo:PATH</c> in MAKEFLAGS for ninja 1.13, which reads nothing else. Only the jobserver words of an existing
/// value change. Everything else must never see a jobserver the build rejected.
/// </summary>
public static class ChildEnvironment
{
    /// <summary>The variable the child's shell opens the descriptors from.</summary>
    public const string FifoVariable = "MSBUILD_JOBSERVER_FIFO";

    /// <summary>The variables cargo, make and friends read, in the order they read them.</summary>
    public static IReadOnlyList<string> Variables => MakeFlags.VariableNames;

    /// <summary>
    /// What a listed tool run by <paramref name="command"/> gets. <paramref name="usesShell"/> says whether a POSIX
    /// shell runs the command (Exec), so it can open descriptors; <paramref name="environment"/> is the child's
    /// environment so far (inherited, with Exec's EnvironmentVariables applied). Never throws for a pool it cannot
    /// advertise: that becomes a problem, and the variable loses its jobserver words instead.
    /// </summary>
    public static ToolHandover ForTool(BuildJobserverHandle handle, MakeflagsForm form, string command, bool usesShell, Func<string, string?> environment)
    {
        var handover = new ToolHandover();
        var slots = Math.Max(1, handle.Slots);
        var platform = PoolPlatform.Current;
        var pool = platform.PoolAuth(handle.PoolPath);
        JobserverAuth? descriptors = null;
        if (usesShell && CommandDescriptors.ClosingLayer(command) is { } layer)
        {
            handover.Problems.Add((DiagnosticCode.DescriptorsClosed,
                $"'{layer}' closes inherited descriptors, so this command's tools get the build's pool only as fifo:PATH in CARGO_MAKEFLAGS (cargo and rustc 1.74+) and for ninja; make and older cargo/rustc run their own -j beside the pool. "
                + $"Run the tool outside '{layer}', or keep CARGO_MAKEFLAGS/MAKEFLAGS through it (sudo --preserve-env=CARGO_MAKEFLAGS,MAKEFLAGS) with a client that reads fifo:."));
        }
        else if (usesShell && CommandDescriptors.FreePair(command) is { } pair)
        {
            descriptors = JobserverAuth.Pipe(pair.Read, pair.Write);
        }
        else if (usesShell)
        {
            handover.Problems.Add((DiagnosticCode.PoolNotAdvertisable,
                "This command names, or its shell inherits from the build, every descriptor from 3 to 9, so its shell cannot open the build's pool on free ones: its tools get the pool only as fifo:PATH in CARGO_MAKEFLAGS (cargo and rustc 1.74+) and for ninja; make and older cargo/rustc run their own -j beside the pool. Use fewer numbered redirections in the command, or move them into a script."));
        }

        var makeflags = form switch
        {
            MakeflagsForm.None => null,
            MakeflagsForm.Fifo => pool,
            _ => platform.HasDescriptorForm ? descriptors : pool,
        };
        Advertise(handover, environment, "CARGO_MAKEFLAGS", descriptors ?? pool, slots, always: true);
        Advertise(handover, environment, "MAKEFLAGS", makeflags, slots, always: true);
        Advertise(handover, environment, "MFLAGS", makeflags, slots, always: false);

        var opened = false;
        foreach (var value in handover.Variables.Values)
        {
            opened |= descriptors is not null && value is not null && value.Contains("=" + descriptors.ToAuthString());
        }

        handover.Variables[FifoVariable] = opened ? handle.PoolPath : null;
        if (opened)
        {
            handover.ShellLine = $"exec {descriptors!.ReadFd}<>\"${FifoVariable}\" {descriptors.WriteFd}<>\"${FifoVariable}\"";
        }

        return Said(handover);
    }

    /// <summary>
    /// The variables to override so a child never sees the rejected jobserver: each existing variable keeps its
    /// other flags and loses its --jobserver-auth/--jobserver-fds words.
    /// </summary>
    public static IDictionary<string, string?> WithoutJobserver(Func<string, string?> environment)
    {
        var result = new Dictionary<string, string?>();
        foreach (var name in Variables)
        {
            if (environment(name) is { } value)
            {
                result[name] = Stripped(value);
            }
        }

        return result;
    }

    /// <summary>
    /// For a command that is handed no pool: each of the three variables keeps its value when it names nothing, or
    /// names the pool <paramref name="isBuildsPool"/> accepts (the build's own, advertised by
    /// JobserverAdvertiseToAllTools, or the inherited one where it is real); any other jobserver words are removed.
    /// Each variable is judged on its own: an empty CARGO_MAKEFLAGS does not hide a broken MAKEFLAGS.
    /// A kept inherited pipe (descriptors <c>R,W</c>) is no longer inheritable in this process (InheritedDescriptors),
    /// so the command's own shell opens it again under the same numbers from <paramref name="pipePath"/>, as stock Exec
    /// would have passed it; where sh cannot (a number above 9, or one the command names itself) the words go.
    /// </summary>
    public static ToolHandover ForPlainCommand(Func<string, string?> environment, Func<JobserverAuth, bool> isBuildsPool, string command, bool usesShell, string pipePath)
    {
        var handover = new ToolHandover();
        var named = CommandDescriptors.NamedBy(command);
        JobserverAuth? reopened = null;
        foreach (var name in Variables)
        {
            if (environment(name) is not { } value
                || MakeFlags.Parse(name, value) is not { AdvertisesJobserver: true } advertised)
            {
                continue;
            }

            if (advertised.Auth is not { } auth || !isBuildsPool(auth))
            {
                handover.Variables[name] = Stripped(value);
            }
            else if (auth.Kind == JobserverAuthKind.Pipe)
            {
                var reopenable = usesShell && auth.ReadFd is >= 3 and <= 9 && auth.WriteFd is >= 3 and <= 9
                    && !named.Contains(auth.ReadFd) && !named.Contains(auth.WriteFd)
                    && (reopened is null || (reopened.ReadFd == auth.ReadFd && reopened.WriteFd == auth.WriteFd));
                if (reopenable)
                {
                    reopened = auth;
                }
                else
                {
                    handover.Variables[name] = Stripped(value);
                }
            }
        }

        if (reopened is not null)
        {
            handover.Variables[FifoVariable] = pipePath;
            handover.ShellLine = $"exec {reopened.ReadFd}<>\"${FifoVariable}\" {reopened.WriteFd}<>\"${FifoVariable}\"";
        }

        return handover;
    }

    /// <summary>
    /// True when <paramref name="auth"/> names the build's own pool as <paramref name="handle"/> describes it: its FIFO or
    /// semaphore, or the inherited pipe the entry process joined (only in the entry process, whose descriptors they are).
    /// </summary>
    public static bool IsBuildsPool(BuildJobserverHandle? handle, JobserverAuth auth) =>
        handle is not null && handle.Mode != BuildJobserverMode.None && auth.Kind switch
        {
            JobserverAuthKind.Pipe => handle.Mode == BuildJobserverMode.Inherited && handle.OwnerProcessId == ProcessInfo.CurrentId
                && handle.PoolPath == PoolPlatform.Current.DescriptorPath(handle.OwnerProcessId, auth.ReadFd),
            _ => auth.Name == handle.PoolPath,
        };

    // One problem for every variable the pool could not be written into.
    private static ToolHandover Said(ToolHandover handover)
    {
        if (handover.Unadvertised.Count > 0)
        {
            handover.Problems.Add((DiagnosticCode.PoolNotAdvertisable,
                $"{handover.UnadvertisedReason} {string.Join(", ", handover.Unadvertised)} handed without a jobserver, so the clients that read it run their own -j beside the pool. Build with a TMPDIR whose path has no whitespace."));
        }

        return handover;
    }

    private static string? Stripped(string value)
    {
        var stripped = MakeFlags.WithoutJobserver(value);
        return stripped.Trim().Length == 0 ? null : stripped;
    }

    // Sets name to its value with the jobserver words for auth; a variable that is not set is created only when
    // always is set. A null auth, or one that cannot be written, leaves the value without jobserver words.
    private static void Advertise(ToolHandover handover, Func<string, string?> environment, string name, JobserverAuth? auth, int slots, bool always)
    {
        var current = environment(name);
        if (current is null && !always)
        {
            return;
        }

        if (auth is null)
        {
            handover.Variables[name] = current is null ? null : Stripped(current);
            return;
        }

        if (MakeFlags.TryWithJobserver(current, auth, slots, out var value, out var problem))
        {
            handover.Variables[name] = value;
            return;
        }

        handover.Variables[name] = current is null ? null : Stripped(current);
        handover.Unadvertised.Add(name);
        handover.UnadvertisedReason = problem;
    }
}
