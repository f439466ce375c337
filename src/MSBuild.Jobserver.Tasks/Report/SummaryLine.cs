using MSBuild.Jobserver.Tasks.Diagnostics;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;

namespace MSBuild.Jobserver.Tasks.Report;

/// <summary>
/// One line of the end-of-build summary: computed where the pool lives, and logged by the entry project, which may
/// run in another process, so it can travel as a task item.
/// </summary>
internal sealed class SummaryLine
{
    private const string SeverityMetadata = "Severity";
    private const string TextMetadata = "Text";
    private const string WarningSeverity = "Warning";
    private const string MessageSeverity = "Message";
    private const string NoCode = "-";

    private SummaryLine(bool isWarning, string? code, string text)
    {
        IsWarning = isWarning;
        Code = code;
        Text = text;
    }

    /// <summary>A warning (with a code) rather than a high-importance message.</summary>
    public bool IsWarning { get; }

    /// <summary>The JOBS code, null for a plain message.</summary>
    public string? Code { get; }

    /// <summary>What the user reads.</summary>
    public string Text { get; }

    /// <summary>A coded warning.</summary>
    public static SummaryLine Warning(string code, string text) => new(true, code, text);

    /// <summary>A high-importance message, coded or not.</summary>
    public static SummaryLine Message(string? code, string text) => new(false, code, text);

    /// <summary>Reads a line returned by the rendezvous project.</summary>
    public static SummaryLine FromItem(ITaskItem item)
    {
        var code = item.ItemSpec == NoCode ? null : item.ItemSpec;
        var text = item.GetMetadata(TextMetadata);
        return item.GetMetadata(SeverityMetadata) == WarningSeverity && code is not null
            ? Warning(code, text)
            : Message(code, text);
    }

    /// <summary>This line as a task item, to return from the rendezvous project.</summary>
    public ITaskItem ToItem()
    {
        var item = new TaskItem(Code ?? NoCode);
        item.SetMetadata(SeverityMetadata, IsWarning ? WarningSeverity : MessageSeverity);
        item.SetMetadata(TextMetadata, Text);
        return item;
    }

    /// <summary>Logs this line in the name of the task's project.</summary>
    public void Log(TaskLoggingHelper log)
    {
        if (IsWarning)
        {
            JobserverLog.Warning(log, Code!, Text);
        }
        else if (Code is null)
        {
            log.LogMessage(MessageImportance.High, Text);
        }
        else
        {
            JobserverLog.Message(log, MessageImportance.High, Code, Text);
        }
    }
}
