using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Threading;
using MSBuild.Jobserver.Commands;
using MSBuild.Jobserver.Tasks.Diagnostics;
using MSBuild.Jobserver.Tasks.EveryNode;
using MSBuild.Jobserver.Tokens;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;

namespace MSBuild.Jobserver.Tasks.ExecHook;

/// <summary>
/// One run of a listed tool by ExecWithJobserver, from the hand-over to the token's return. <see cref="Start"/>, the
/// last hook before the process starts, fills the tool's start from what was read with the node held (environment
/// snapshot, absolute working directory, PATH), then yields the node, waits for a token while yielded, takes it, and
/// lets the process about to start share the token's lease. <see cref="Dispose"/> gives the token back and only then
/// reacquires the node, on every path: a token never waits for MSBuild to hand the node back.
/// </summary>
internal sealed class ToolRun : IDisposable
{
    private readonly Task _task;
    private readonly NodeJobserver _node;
    private readonly ProjectJobserverSettings _settings;
    private readonly JobserverToolSpec _tool;
    private readonly CancellationToken _cancel;
    private IBuildEngine3? _yielded;
    private HeldToken? _held;

    public ToolRun(Task task, NodeJobserver node, ProjectJobserverSettings settings, JobserverToolSpec tool, CancellationToken cancel)
    {
        _task = task;
        _node = node;
        _settings = settings;
        _tool = tool;
        _cancel = cancel;
    }

    /// <summary>
    /// Hands the pool to the tool in <paramref name="startInfo"/> (only the jobserver words of its variables change;
    /// descriptors are opened by its own shell when <paramref name="usesShell"/>), then yields, waits and takes the
    /// token. Throws <see cref="OperationCanceledException"/> when the task was cancelled while it waited.
    /// </summary>
    public void Start(ProcessStartInfo startInfo, string command, bool usesShell)
    {
        // Other projects run on this node while it is yielded and change the process's directory and environment;
        // the start must not read either from then on (the environment was copied when ToolTask first touched it).
        var workingDirectory = Path.GetFullPath(startInfo.WorkingDirectory.Length > 0 ? startInfo.WorkingDirectory : Directory.GetCurrentDirectory());
        startInfo.WorkingDirectory = workingDirectory;
        string? Variable(string name) => startInfo.Environment.TryGetValue(name, out var value) ? value : null;

        var (form, problem) = ToolClients.Resolve(_tool, command, workingDirectory, Variable("PATH"));
        var handover = ChildEnvironment.ForTool(_node.Handle, form, command, usesShell, Variable);
        if (problem is { } p)
        {
            handover.Problems.Add(p);
        }

        foreach (var (code, message) in handover.Problems)
        {
            JobserverLog.WarningOnce(_task.Log, _node.Handle.Nonce, code, message);
        }

        SetVariables(startInfo, handover.Variables);
        if (handover.ShellLine is { } line)
        {
            startInfo.Arguments = ExecShellArguments.Prepend(startInfo.Arguments, line);
        }

        if (_task.BuildEngine is IBuildEngine3 engine)
        {
            engine.Yield();
            _yielded = engine;
        }

        _held = TokenWaiter.AcquireWhileYielded(_task.Log, _node, _settings, _tool.Name, _cancel) ?? throw new OperationCanceledException(_cancel);

        // The tool's processes share the lease, so its token counts as held while any of them lives, even if this
        // node dies; only the process started next inherits it (ToolStarted ends the sharing).
        _held.ShareWithTool(true);
    }

    /// <summary>The tool has started: later children of this process no longer share the lease.</summary>
    public void ToolStarted() => _held?.ShareWithTool(false);

    /// <summary>Gives the token back (saying what its release found), then reacquires the node if it was yielded.</summary>
    public void Dispose()
    {
        try
        {
            if (_held is { } held)
            {
                _held = null;
                held.ShareWithTool(false);
                JobserverTaskSupport.Release(_task, _node, held);
            }
        }
        finally
        {
            if (_yielded is { } engine)
            {
                _yielded = null;
                engine.Reacquire();
            }
        }
    }

    /// <summary>Sets each variable in the child's environment; a null value removes it.</summary>
    public static void SetVariables(ProcessStartInfo startInfo, IDictionary<string, string?> variables)
    {
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
    }
}
