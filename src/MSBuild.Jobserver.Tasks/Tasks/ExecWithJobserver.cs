using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Threading;
using MSBuild.Jobserver.Pools;
using MSBuild.Jobserver.Protocol;
using MSBuild.Jobserver.Tasks.BuildPool;
using MSBuild.Jobserver.Tasks.Diagnostics;
using MSBuild.Jobserver.Tasks.Ledger;
using MSBuild.Jobserver.Tasks.Node;
using MSBuild.Jobserver.Tasks.ToolOutput;
using Microsoft.Build.Framework;

namespace MSBuild.Jobserver.Tasks;

/// <summary>
/// MSBuild's Exec, for jobserver clients: when the command runs a program listed in JobserverTool (cargo, rustc,
/// make ...), it takes one token first (the tool's implicit slot, waiting with the node yielded), hands the
/// build's pool to the tool in the forms each client reads, and gives the token back however the tool ends.
/// While such a tool runs the node is yielded (as Csc does), so the tokens, not the MSBuild nodes, decide how many
/// tools run: the node can start other projects meanwhile and serve the other nodes' rendezvous. The token goes
/// back as soon as the tool has exited, before the task waits to get its node back. Any other command runs exactly as
/// Exec runs it, except that it never sees a jobserver the build rejected. Every Exec parameter works.
/// </summary>
public class ExecWithJobserver : Microsoft.Build.Tasks.Exec
{
    private readonly CancellationTokenSource _cancel = new();
    private JobserverToolSpec? _tool;
    private ProjectJobserverSettings _settings = ProjectJobserverSettings.Unconfigured;
    private NodeJobserver? _node;
    private HeldToken? _hold;
    private bool _yieldedWhileToolRuns;

    /// <summary>
    /// Whether the command is a jobserver client: empty (the default) decides from JobserverTool, "true" or
    /// "false" overrides that.
    /// </summary>
    public string JobserverAware { get; set; } = "";

    /// <inheritdoc/>
    public override bool Execute()
    {
        var settings = _settings = ProjectJobserverSettings.Current() ?? ProjectJobserverSettings.Unconfigured;
        if (!settings.Enabled)
        {
            return base.Execute();
        }

        var tool = FindTool(settings);
        var node = tool is null ? null : JobserverTaskSupport.TryGetConnectedNode(this, settings);
        if (tool is null || node is null)
        {
            return base.Execute();
        }

        _node = node;
        _hold = TokenWaiter.Acquire(BuildEngine, Log, node, settings, tool.Name, _cancel.Token);
        if (_hold is null)
        {
            return false;
        }

        try
        {
            _tool = tool;

            // This task yields around the tool itself (ProcessStarted, ExecuteTool), so that the token can go back
            // before the node is reacquired; ToolTask's own yield would come on top of it.
            YieldDuringToolExecution = false;
            return base.Execute();
        }
        finally
        {
            // Usually given back already, as the tool exited (ExecuteTool); reported here, with the node back.
            _hold.Dispose();
            JobserverTaskSupport.ReportRelease(this, node, _hold);
        }
    }

    /// <summary>
    /// Once the tool has started (its environment and directory are fixed by then): stops sharing the lease with later
    /// children, and yields the node while the tool runs.
    /// </summary>
    protected override void ProcessStarted()
    {
        base.ProcessStarted();
        _hold?.ShareWithTool(false);
        if (_hold is not null && BuildEngine is IBuildEngine3 engine3)
        {
            engine3.Yield();
            _yieldedWhileToolRuns = true;
        }
    }

    /// <summary>
    /// Runs the tool, which shares its token's lease (so the token counts as held while any process of the tool lives,
    /// even if this node dies); the token goes back as soon as the tool has exited, before the node is reacquired.
    /// </summary>
    protected override int ExecuteTool(string pathToTool, string responseFileCommands, string commandLineCommands)
    {
        _hold?.ShareWithTool(true);
        try
        {
            return base.ExecuteTool(pathToTool, responseFileCommands, commandLineCommands);
        }
        finally
        {
            _hold?.ShareWithTool(false);
            _hold?.Dispose();
            if (_yieldedWhileToolRuns)
            {
                _yieldedWhileToolRuns = false;
                ((IBuildEngine3)BuildEngine).Reacquire();
            }
        }
    }

    /// <inheritdoc/>
    public override void Cancel()
    {
        _cancel.Cancel();
        base.Cancel();
    }

    /// <summary>
    /// Quotes the script's path for sh (any TMPDIR works), hands a listed tool the pool (only the jobserver words of its
    /// variables change, descriptors opened by its own shell), and keeps a jobserver the build did not validate away
    /// from every other command.
    /// </summary>
    protected override ProcessStartInfo GetProcessStartInfo(string pathToTool, string commandLineCommands, string responseFileSwitch)
    {
        var startInfo = base.GetProcessStartInfo(pathToTool, commandLineCommands, responseFileSwitch);
        var unix = !PoolPlatform.IsWindows;

        // Exec sources its script by an unquoted path, which breaks on a TMPDIR with a space or a quote.
        if (unix && ExecShellArguments.QuoteScriptPath(startInfo.Arguments, File.Exists) is { } quoted)
        {
            startInfo.Arguments = quoted;
        }

        startInfo.Environment.Remove(ProjectJobserverSettings.VariableName);
        string? Variable(string name) => startInfo.Environment.TryGetValue(name, out var value) ? value : null;

        // Opening the descriptors in front of Exec's script, in its own shell, keeps them out of every other child.
        var usesShell = unix && ExecShellArguments.IsShellForm(startInfo.Arguments);
        IDictionary<string, string?> variables;
        if (_tool is not null && _node is not null)
        {
            var (form, problem) = ToolClients.Resolve(_tool, Command ?? "", GetWorkingDirectory() ?? Directory.GetCurrentDirectory(), Variable("PATH"));
            var handover = ChildEnvironment.ForTool(_node.Handle, form, Command ?? "", usesShell, Variable);
            if (problem is { } p)
            {
                handover.Problems.Add(p);
            }

            foreach (var (code, message) in handover.Problems)
            {
                JobserverLog.WarningOnce(Log, _node.Handle.Nonce, code, message);
            }

            variables = handover.Variables;
            if (handover.ShellLine is { } line)
            {
                startInfo.Arguments = ExecShellArguments.Prepend(startInfo.Arguments, line);
            }
        }
        else if (_settings.Enabled)
        {
            var handover = EnvironmentForPlainCommand(Variable, usesShell);
            variables = handover.Variables;
            if (handover.ShellLine is { } line)
            {
                startInfo.Arguments = ExecShellArguments.Prepend(startInfo.Arguments, line);
            }
        }
        else
        {
            return startInfo;
        }

        foreach (var pair in variables)
        {
            if (pair.Value is null)
            {
                startInfo.Environment.Remove(pair.Key);
            }
            else
            {
                startInfo.Environment[pair.Key] = pair.Value;
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

    // A command without the pool. Each variable keeps its value as stock Exec would, unless it names a jobserver other
    // than the build's: the build's own (JobserverAdvertiseToAllTools put it there), or the inherited one the entry
    // process validated and joined (descriptors only where they are make's).
    private ToolHandover EnvironmentForPlainCommand(Func<string, string?> environment, bool usesShell)
    {
        if (MakeFlags.FirstAdvertising(environment) is null)
        {
            return new ToolHandover();
        }

        var node = JobserverTaskSupport.TryGetNode(this, _settings, "The inherited jobserver is hidden from this command.");
        var handle = node?.Handle;
        bool IsBuildsPool(JobserverAuth auth) => handle is not null && handle.Mode != BuildJobserverMode.None && auth.Kind switch
        {
            JobserverAuthKind.Pipe => handle.Mode == BuildJobserverMode.Inherited && handle.OwnerProcessId == ProcessInfo.CurrentId
                && handle.PoolPath == $"/proc/{handle.OwnerProcessId}/fd/{auth.ReadFd}",
            _ => auth.Name == handle.PoolPath,
        };

        return ChildEnvironment.ForPlainCommand(environment, IsBuildsPool, Command ?? "", usesShell, handle?.PoolPath ?? "");
    }
}
