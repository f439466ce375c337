using System;
using System.Collections.Concurrent;
using MSBuild.Jobserver.Diagnostics;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;

namespace MSBuild.Jobserver.Tasks.Diagnostics;

/// <summary>Logs coded diagnostics with their help link, so every message a user sees can be looked up.</summary>
internal static class JobserverLog
{
    private static readonly ConcurrentDictionary<string, bool> Said = new(StringComparer.Ordinal);

    /// <summary>
    /// A coded warning: cause and fix in <paramref name="message"/>. <paramref name="file"/> names the project to
    /// blame when it is not the one the task runs in (the rendezvous project lives in the NuGet cache).
    /// </summary>
    public static void Warning(TaskLoggingHelper log, string code, string message, string? file = null) =>
        log.LogWarning(null, code, null, DiagnosticCode.HelpLink(code), file, 0, 0, 0, 0, message);

    /// <summary>
    /// <see cref="Warning"/>, once per build (<paramref name="buildNonce"/>) and process for the same code and text:
    /// every Exec of a tool that cannot be handed the pool would otherwise repeat it.
    /// </summary>
    public static void WarningOnce(TaskLoggingHelper log, string buildNonce, string code, string message)
    {
        if (Said.TryAdd(buildNonce + "|" + code + "|" + message, true))
        {
            Warning(log, code, message);
        }
    }

    /// <summary>A coded error: cause and fix in <paramref name="message"/>.</summary>
    public static void Error(TaskLoggingHelper log, string code, string message) =>
        log.LogError(null, code, null, DiagnosticCode.HelpLink(code), null, 0, 0, 0, 0, message);

    /// <summary>A coded message; the code leads the text because messages have no code field.</summary>
    public static void Message(TaskLoggingHelper log, MessageImportance importance, string code, string message) =>
        log.LogMessage(importance, code + ": " + message);
}
