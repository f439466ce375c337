using System;
using System.Collections.Generic;
using System.Runtime.InteropServices;
using MSBuild.Jobserver.Protocol;

namespace MSBuild.Jobserver.Tasks.BuildPool;

/// <summary>
/// The jobserver variables a child gets. Jobserver-aware tools get the build's pool in the form each client
/// reads: cargo and rustc take CARGO_MAKEFLAGS first (FIFO form, any cargo since 1.74), make 4.3 needs
/// descriptors in MAKEFLAGS (opened by the child's own shell, so no descriptor leaks into other children),
/// ninja wants the FIFO form. Everything else must never see a jobserver the build rejected.
/// </summary>
internal static class ChildEnvironment
{
    /// <summary>The variable the child's shell opens the descriptors from.</summary>
    public const string FifoVariable = "MSBUILD_JOBSERVER_FIFO";

    /// <summary>The descriptor numbers the child's shell opens (dash allows only one digit).</summary>
    public const int ReadFd = 8, WriteFd = 9;

    /// <summary>The variables cargo, make and friends read, in the order they read them.</summary>
    public static IReadOnlyList<string> Variables => MakeFlags.VariableNames;

    /// <summary>The shell line that opens the pool on <see cref="ReadFd"/> and <see cref="WriteFd"/>.</summary>
    public static string ShellOpenDescriptors =>
        $"exec {ReadFd}<>\"${FifoVariable}\" {WriteFd}<>\"${FifoVariable}\"";

    /// <summary>
    /// What a jobserver-aware tool's environment gets; a null value removes the variable. <paramref name="usesShell"/>
    /// says whether the child's shell will open the descriptors (Exec); without it only the FIFO form works.
    /// </summary>
    public static IDictionary<string, string?> ForTool(BuildJobserverHandle handle, MakeflagsForm form, bool usesShell)
    {
        var slots = Math.Max(1, handle.Slots);
        if (RuntimeInformation.IsOSPlatform(OSPlatform.Windows))
        {
            var semaphore = MakeFlags.Format(JobserverAuth.Semaphore(handle.PoolPath), slots);
            return new Dictionary<string, string?>
            {
                ["CARGO_MAKEFLAGS"] = semaphore,
                ["MAKEFLAGS"] = form == MakeflagsForm.None ? null : semaphore,
                ["MFLAGS"] = null,
            };
        }

        var fifo = MakeFlags.Format(JobserverAuth.Fifo(handle.PoolPath), slots);
        var descriptors = usesShell && form == MakeflagsForm.Descriptors;
        return new Dictionary<string, string?>
        {
            ["CARGO_MAKEFLAGS"] = fifo,
            ["MAKEFLAGS"] = form == MakeflagsForm.None ? null : descriptors ? MakeFlags.Format(JobserverAuth.Pipe(ReadFd, WriteFd), slots) : fifo,
            ["MFLAGS"] = null,
            [FifoVariable] = descriptors ? handle.PoolPath : null,
        };
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
                var stripped = MakeFlags.WithoutJobserver(value);
                result[name] = stripped.Trim().Length == 0 ? null : stripped;
            }
        }

        return result;
    }
}
