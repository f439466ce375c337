using System;
using MSBuild.Jobserver.Diagnostics;

namespace MSBuild.Jobserver.Tasks.ExecHook;

/// <summary>
/// Recognises what cargo, rustc, make and ninja print about jobservers, so the line becomes a coded warning
/// that keeps the tool's text instead of a bare "EXEC : warning".
/// </summary>
internal static class ToolMessageClassifier
{
    private static readonly (string Needle, string Code)[] Known =
    {
        ("failed to connect to jobserver", DiagnosticCode.ToolFailedToConnect),
        ("ignoring the `-j` parameter", DiagnosticCode.ToolIgnoringJobsArgument),
        ("jobserver unavailable: using -j1", DiagnosticCode.ToolJobserverUnavailable),
        ("forced in submake: resetting jobserver mode", DiagnosticCode.ToolForcedInSubmake),
        ("invalid --jobserver-auth string", DiagnosticCode.ToolInvalidAuth),
        ("cannot open jobserver", DiagnosticCode.ToolCannotOpenJobserver),
        ("Ignoring jobserver", DiagnosticCode.ToolIgnoringJobserver),
    };

    /// <summary>The code for <paramref name="line"/>, or null when it is not about the jobserver.</summary>
    public static string? Classify(string line)
    {
        foreach (var (needle, code) in Known)
        {
            if (line.IndexOf(needle, StringComparison.Ordinal) >= 0)
            {
                return code;
            }
        }

        return null;
    }

    /// <summary>What to do about the line with <paramref name="code"/>, appended to the tool's text.</summary>
    public static string Advice(string code) => code switch
    {
        DiagnosticCode.ToolFailedToConnect => "The tool was handed a jobserver it cannot open; make sure every jobserver tool runs through Exec or ExecWithJobserver, and that a make rule running the build has a '+' prefix.",
        DiagnosticCode.ToolIgnoringJobsArgument => "cargo uses the build's jobserver and ignores -j; drop -j from the command, or set JobserverSlots.",
        DiagnosticCode.ToolJobserverUnavailable => "make got jobserver descriptors it cannot use; run it through Exec or ExecWithJobserver so the build hands it the pool.",
        DiagnosticCode.ToolForcedInSubmake => "A -jN on the make command line makes it leave the build's jobserver; remove -jN and let the pool size the work.",
        DiagnosticCode.ToolInvalidAuth => "make could not parse the jobserver it was given; this make may be older than the form handed to it.",
        DiagnosticCode.ToolCannotOpenJobserver => "make could not open the jobserver FIFO it was given; check that the build is still running and the path is readable.",
        _ => "This ninja cannot use the form of jobserver it was given (ninja 1.13 on POSIX needs the FIFO form: set MakeflagsForm=\"fifo\" on its JobserverTool item).",
    };
}
