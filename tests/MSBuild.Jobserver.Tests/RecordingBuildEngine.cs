using System.Collections;
using Microsoft.Build.Framework;

namespace MSBuild.Jobserver.Tests;

/// <summary>
/// The smallest IBuildEngine a task or a TaskLoggingHelper needs: records every warning, error and message, so a test
/// can assert exactly which JOBS codes the package's real code logged.
/// </summary>
internal sealed class RecordingBuildEngine : IBuildEngine
{
    public List<BuildWarningEventArgs> Warnings { get; } = new();

    public List<BuildErrorEventArgs> Errors { get; } = new();

    public List<BuildMessageEventArgs> Messages { get; } = new();

    /// <summary>Every JOBS code logged: warnings' and errors' code field, and messages that start "JOBSnnnn:".</summary>
    public IReadOnlyList<string> Codes =>
        Warnings.Select(w => w.Code)
            .Concat(Errors.Select(e => e.Code))
            .Concat(Messages.Select(m => m.Message ?? "").Where(IsCodedMessage).Select(m => m[..8]))
            .ToList();

    /// <summary>Everything logged, one line each, for assertion messages.</summary>
    public string Describe() => string.Join('\n',
        Warnings.Select(w => $"warning {w.Code}: {w.Message}")
            .Concat(Errors.Select(e => $"error {e.Code}: {e.Message}"))
            .Concat(Messages.Select(m => "message: " + m.Message)));

    public bool ContinueOnError => false;

    public int LineNumberOfTaskNode => 0;

    public int ColumnNumberOfTaskNode => 0;

    public string ProjectFileOfTaskNode => "corpus.proj";

    public bool BuildProjectFile(string projectFileName, string[] targetNames, IDictionary globalProperties, IDictionary targetOutputs) =>
        throw new NotSupportedException("the corpus never reaches the rendezvous");

    public void LogCustomEvent(CustomBuildEventArgs e)
    {
    }

    public void LogErrorEvent(BuildErrorEventArgs e) => Errors.Add(e);

    public void LogMessageEvent(BuildMessageEventArgs e) => Messages.Add(e);

    public void LogWarningEvent(BuildWarningEventArgs e) => Warnings.Add(e);

    private static bool IsCodedMessage(string text) =>
        text.Length > 9 && text.StartsWith("JOBS", StringComparison.Ordinal) && text[8] == ':' && text[4..8].All(char.IsAsciiDigit);
}
