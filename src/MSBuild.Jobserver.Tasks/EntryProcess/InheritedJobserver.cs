using System;
using MSBuild.Jobserver.Diagnostics;
using MSBuild.Jobserver.Platform;
using MSBuild.Jobserver.Protocol;
using MSBuild.Jobserver.Tasks.Diagnostics;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;

namespace MSBuild.Jobserver.Tasks.EntryProcess;

/// <summary>
/// The verdict on the jobserver the build's environment advertises (CARGO_MAKEFLAGS, MAKEFLAGS, MFLAGS): valid
/// and joinable, absent, or rejected with one coded warning that says why and how to fix it.
/// </summary>
internal sealed class InheritedJobserver
{
    private InheritedJobserver(string variableName, JobserverAuth? auth, PipeIdentity? identity, int? jobs, bool rejected)
    {
        VariableName = variableName;
        Auth = auth;
        Identity = identity;
        Jobs = jobs;
        Rejected = rejected;
    }

    /// <summary>The variable the jobserver came from.</summary>
    public string VariableName { get; }

    /// <summary>The validated jobserver; null when there is none to join.</summary>
    public JobserverAuth? Auth { get; }

    /// <summary>The validated pipe's identity (POSIX).</summary>
    public PipeIdentity? Identity { get; }

    /// <summary>The parent's -jN, when it says.</summary>
    public int? Jobs { get; }

    /// <summary>True when a jobserver was advertised but must not be used or passed on.</summary>
    public bool Rejected { get; }

    /// <summary>
    /// Reads and validates the advertised jobserver; logs the verdict when it is not a plain "none".
    /// <paramref name="hiddenValidation"/> gives the validation made before this process hid the descriptors (see
    /// <see cref="InheritedDescriptors"/>), null when it did not hide them.
    /// </summary>
    public static InheritedJobserver Evaluate(TaskLoggingHelper log, Func<string, string?> environment, bool isWorkerNode, string? blame, Func<JobserverAuth, JobserverValidation?> hiddenValidation)
    {
        // The first variable that names a jobserver: one that exists without (an empty CARGO_MAKEFLAGS left by a
        // cargo build script) must not hide a broken MAKEFLAGS from this check, or a good one from the build.
        var advertised = MakeFlags.FirstAdvertising(environment);
        if (advertised is null)
        {
            return new InheritedJobserver("", null, null, null, rejected: false);
        }

        var variable = advertised.VariableName;
        if (advertised.IsDisabled)
        {
            JobserverLog.Message(log, MessageImportance.Normal, DiagnosticCode.InheritedDisabled,
                $"{variable} says the parent's jobserver is disabled for this command ('{advertised.Value.Trim()}'); the build uses its own.");
            return new InheritedJobserver(variable, null, null, null, rejected: true);
        }

        if (advertised.Error is { } error || advertised.Auth is not { } auth)
        {
            Reject(log, blame, DiagnosticCode.InheritedUnparsable, variable,
                (advertised.Error ?? $"{variable} names no usable jobserver") + ".");
            return new InheritedJobserver(variable, null, null, null, rejected: true);
        }

        if (auth.Kind == JobserverAuthKind.Pipe && (isWorkerNode || !PoolPlatform.CanReopenDescriptorsByPath))
        {
            var why = isWorkerNode
                ? "the build's jobserver was opened in an MSBuild worker node, which may hold another build's pipe under the same descriptor numbers"
                : "this operating system cannot hand an anonymous pipe from the entry process to MSBuild's worker nodes";
            Reject(log, blame, DiagnosticCode.InheritedIdentityMismatch, variable,
                $"The jobserver in {variable} (descriptors {auth.ToAuthString()}) is not used: {why}. Use GNU make 4.4 or later (its FIFO jobserver reaches every process).");
            return new InheritedJobserver(variable, null, null, null, rejected: true);
        }

        var validation = hiddenValidation(auth) ?? JobserverValidator.Validate(auth, variable);
        if (!validation.IsValid)
        {
            Reject(log, blame, DiagnosticCode.ForRejection(validation.Reason ?? JobserverRejection.Unparsable), variable, validation.Message);
            return new InheritedJobserver(variable, null, null, null, rejected: true);
        }

        return new InheritedJobserver(variable, auth, validation.Identity, advertised.Jobs, rejected: false);
    }

    private static void Reject(TaskLoggingHelper log, string? blame, string code, string variable, string cause) =>
        JobserverLog.Warning(log, code,
            $"{cause} The build ignores the jobserver in {variable}, uses its own, and hides the broken value from every tool it starts.", blame);
}
