using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Threading;
using MSBuild.Jobserver.Commands;
using MSBuild.Jobserver.Diagnostics;
using MSBuild.Jobserver.Protocol;
using MSBuild.Jobserver.Tasks.Diagnostics;
using MSBuild.Jobserver.Tasks.EveryNode;
using MSBuild.Jobserver.Tasks.ExecHook;
using MSBuild.Jobserver.Tokens;
using Microsoft.Build.Framework;

namespace MSBuild.Jobserver.Tasks;

/// <summary>
/// MSBuild's Exec, for jobserver clients: when the command runs a program listed in JobserverTool (cargo, rustc,
/// make ...), the task hands the build's pool to the tool, yields its node, waits for a token and takes it while
/// yielded, starts and runs the tool still yielded, and gives the token back as soon as the tool has exited, before it
/// asks for its node again (one <see cref="ToolRun"/> per run owns all of that). So the tokens, not the MSBuild nodes,
/// decide how many tools run, and a free token never waits for MSBuild to hand a node back. A command that only asks
/// (a query: <c>rustc --print sysroot</c>, <c>cargo metadata</c>, <c>--version</c>) runs at once, without a token
/// and without the pool. Any other command runs exactly as Exec runs it, except that it never sees a jobserver the
/// build rejected. Every Exec parameter works.
/// </summary>
public class ExecWithJobserver : Microsoft.Build.Tasks.Exec
{
    private readonly CancellationTokenSource _cancel = new();
    private ToolRun? _run;

    /// <summary>
    /// Whether the command is a jobserver client: empty (the default) decides from JobserverTool, "true" or
    /// "false" overrides that.
    /// </summary>
    public string JobserverAware { get; set; } = "";

    /// <summary>
    /// Whether the command only asks its tool something (runs no job): empty (the default) decides from the built-in
    /// forms (docs/configuration.md), "true" or "false" overrides that. A query takes no token and gets no pool.
    /// </summary>
    public string JobserverQuery { get; set; } = "";

    /// <inheritdoc/>
    public override bool Execute()
    {
        var settings = ProjectJobserverSettings.Current() ?? ProjectJobserverSettings.Unconfigured;
        var tool = settings.Enabled ? FindTool(settings) : null;
        if (tool is not null && IsQuery(settings))
        {
            JobserverLog.Message(Log, MessageImportance.Normal, DiagnosticCode.QueryRunsAtOnce,
                $"'{Command}' only asks {tool.Name} (a query): it runs at once, without a jobserver token and without the build's pool. Set JobserverQuery=\"false\" on this Exec if it runs jobs.");
            tool = null;
        }

        var node = tool is null ? null : JobserverTaskSupport.TryGetConnectedNode(this, settings);
        if (tool is null || node is null)
        {
            return base.Execute();
        }

        if (settings.SummaryLogged)
        {
            JobserverLog.Message(Log, MessageImportance.High, DiagnosticCode.ToolAfterSummary,
                $"'{tool.Name}' runs after this project's end-of-build summary (JOBS0030), which does not count it: its target runs after Build, declared after the package's targets (an explicit Sdk.targets import) or in a later step (Publish, Pack). To have it counted, declare that target before the import, or hook it into the build (BeforeTargets=\"Build\").");
        }

        // The run yields around the tool itself (from the wait for its token to the token's return); ToolTask's own
        // yield would nest inside it.
        YieldDuringToolExecution = false;
        _run = new ToolRun(this, node, settings, tool, _cancel.Token);
        try
        {
            return base.Execute();
        }
        catch (OperationCanceledException) when (_cancel.IsCancellationRequested)
        {
            // Cancelled while it waited for a token: the tool never started, and MSBuild is stopping the build.
            return false;
        }
        finally
        {
            _run.Dispose();
            _run = null;
        }
    }

    /// <summary>The tool has started (its environment and directory are fixed): later children no longer share its lease.</summary>
    protected override void ProcessStarted()
    {
        base.ProcessStarted();
        _run?.ToolStarted();
    }

    /// <inheritdoc/>
    public override void Cancel()
    {
        _cancel.Cancel();
        base.Cancel();
    }

    /// <summary>
    /// Quotes the script's path for sh (any TMPDIR works); for a listed tool, hands it the pool and waits for its token
    /// with the node yielded (the last hook before the start, on every MSBuild since 17.7); keeps a jobserver the build
    /// did not validate away from every other command, and every jobserver away from a query.
    /// </summary>
    protected override ProcessStartInfo GetProcessStartInfo(string pathToTool, string commandLineCommands, string responseFileSwitch)
    {
        var startInfo = base.GetProcessStartInfo(pathToTool, commandLineCommands, responseFileSwitch);

        // Exec sources its script by an unquoted path, which breaks on a TMPDIR with a space or a quote.
        if (ExecShellArguments.QuoteScriptPath(startInfo.Arguments, File.Exists) is { } quoted)
        {
            startInfo.Arguments = quoted;
        }

        // Touching the environment copies it now, while the node is held and this project's environment is the process's.
        startInfo.Environment.Remove(ProjectJobserverSettings.VariableName);
        if (_run is not null)
        {
            // Opening the descriptors in front of Exec's script, in its own shell, keeps them out of every other child.
            _run.Start(startInfo, Command ?? "", ExecShellArguments.IsShellForm(startInfo.Arguments));
            return startInfo;
        }

        var settings = ProjectJobserverSettings.Current() ?? ProjectJobserverSettings.Unconfigured;
        if (settings.Enabled)
        {
            string? Variable(string name) => startInfo.Environment.TryGetValue(name, out var value) ? value : null;
            var handover = EnvironmentForPlainCommand(settings, Variable, ExecShellArguments.IsShellForm(startInfo.Arguments), IsQuery(settings));
            ToolRun.SetVariables(startInfo, handover.Variables);
            if (handover.ShellLine is { } line)
            {
                startInfo.Arguments = ExecShellArguments.Prepend(startInfo.Arguments, line);
            }
        }

        return startInfo;
    }

    /// <summary>Known jobserver lines from the tools become coded warnings that keep the tool's text.</summary>
    protected override void LogEventsFromTextOutput(string singleLine, MessageImportance messageImportance)
    {
        var code = ToolMessageClassifier.Classify(singleLine);
        if (code is null)
        {
            base.LogEventsFromTextOutput(singleLine, messageImportance);
            return;
        }

        JobserverLog.Warning(Log, code, singleLine.Trim() + " [" + ToolMessageClassifier.Advice(code) + "]");

        // Still let Exec collect the line for ConsoleOutput, but as a plain message, not a second warning.
        var ignore = IgnoreStandardErrorWarningFormat;
        IgnoreStandardErrorWarningFormat = true;
        try
        {
            base.LogEventsFromTextOutput(singleLine, MessageImportance.Low);
        }
        finally
        {
            IgnoreStandardErrorWarningFormat = ignore;
        }
    }

    private JobserverToolSpec? FindTool(ProjectJobserverSettings settings)
    {
        var aware = JobserverAware.Trim();
        if (string.Equals(aware, "false", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        var programs = CommandProgramFinder.Programs(Command ?? "");
        var listed = programs.Select(settings.FindTool).FirstOrDefault(t => t is not null);
        if (listed is null && string.Equals(aware, "true", StringComparison.OrdinalIgnoreCase))
        {
            return new JobserverToolSpec(programs.FirstOrDefault() ?? "command", MakeflagsForm.Descriptors);
        }

        return listed;
    }

    private bool IsQuery(ProjectJobserverSettings settings)
    {
        var query = JobserverQuery.Trim();
        if (query.Length > 0)
        {
            return string.Equals(query, "true", StringComparison.OrdinalIgnoreCase);
        }

        var aware = JobserverAware.Trim();
        if (string.Equals(aware, "false", StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        var forced = string.Equals(aware, "true", StringComparison.OrdinalIgnoreCase);
        return QueryCommands.IsQuery(Command ?? "", program => forced || settings.FindTool(program) is not null);
    }

    // A command without the pool. Each variable keeps its value as stock Exec would, unless it names a jobserver other
    // than the build's: the build's own (JobserverAdvertiseToAllTools put it there), or the inherited one the entry
    // process validated and joined (descriptors only where they are make's: reopened by the command's own shell).
    // A query keeps none.
    private ToolHandover EnvironmentForPlainCommand(ProjectJobserverSettings settings, Func<string, string?> environment, bool usesShell, bool query)
    {
        if (MakeFlags.FirstAdvertising(environment) is null)
        {
            return new ToolHandover();
        }

        if (query)
        {
            return ChildEnvironment.ForPlainCommand(environment, _ => false, Command ?? "", usesShell, "");
        }

        var node = JobserverTaskSupport.TryGetNode(this, settings, "The inherited jobserver is hidden from this command.");
        var handle = node?.Handle;
        return ChildEnvironment.ForPlainCommand(environment, auth => ChildEnvironment.IsBuildsPool(handle, auth), Command ?? "", usesShell, handle?.PoolPath ?? "");
    }
}
