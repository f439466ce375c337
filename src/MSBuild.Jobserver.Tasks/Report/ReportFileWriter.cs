using System;
using System.IO;
using MSBuild.Jobserver.Diagnostics;

namespace MSBuild.Jobserver.Tasks.Report;

/// <summary>Writes the timing report at the end of the build and says where, or why not (JOBS0070).</summary>
internal static class ReportFileWriter
{
    /// <summary>Writes <paramref name="input"/> to <paramref name="file"/> (relative to <paramref name="startupDirectory"/>); returns the line to log.</summary>
    public static SummaryLine Write(string startupDirectory, string file, TimingInput input)
    {
        var path = file;
        try
        {
            path = Path.GetFullPath(Path.Combine(startupDirectory, file));
            TimingReport.Write(path, input);
            return SummaryLine.Message(null, $"Jobserver timing report written to {path} (open it in a web browser; it needs no network).");
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or NotSupportedException or ArgumentException)
        {
            return SummaryLine.Warning(DiagnosticCode.ReportFileFailed, $"Could not write the jobserver timing report to '{path}': {ex.Message} Set JobserverReport to a writable file path.");
        }
    }
}
