using System;
using System.Collections.Generic;
using System.Linq;
using System.Text;
using Microsoft.Build.Framework;

namespace MSBuild.Jobserver.Tasks.BuildPool;

/// <summary>How a tool wants the pool named in MAKEFLAGS.</summary>
internal enum MakeflagsForm
{
    /// <summary><c>--jobserver-auth=R,W</c>, descriptors opened by the tool's shell: every make understands it.</summary>
    Descriptors,

    /// <summary><c>--jobserver-auth=fifo:PATH</c>: what ninja 1.13 wants.</summary>
    Fifo,

    /// <summary>No MAKEFLAGS at all (only CARGO_MAKEFLAGS): for tools that choke on it, like nmake.</summary>
    None,
}

/// <summary>A program treated as a jobserver client (an item of <c>JobserverTool</c>).</summary>
internal sealed record JobserverToolSpec(string Name, MakeflagsForm Form);

/// <summary>
/// A project's jobserver properties and items, captured by the ConfigureJobserver task at the project's start so
/// that tasks which have no parameters for them (an &lt;Exec&gt; resolved to ours) can find them.
/// </summary>
internal sealed class ProjectJobserverSettings
{
    private const string KeyPrefix = "MSBuild.Jobserver.Settings|";

    /// <summary>What a task uses in a project where ConfigureJobserver did not run: defaults, sized by the cores.</summary>
    public static ProjectJobserverSettings Unconfigured { get; } = new()
    {
        Slots = Environment.ProcessorCount,
        Tools = new[] { "cargo", "rustc", "make", "gmake", "mingw32-make" }.Select(n => new JobserverToolSpec(n, MakeflagsForm.Descriptors)).ToList(),
    };

    /// <summary>JobserverEnabled.</summary>
    public bool Enabled { get; init; } = true;

    /// <summary>The resolved pool size asked for (JobserverSlots, else the node count).</summary>
    public int Slots { get; init; }

    /// <summary>The jobserver-aware programs.</summary>
    public IReadOnlyList<JobserverToolSpec> Tools { get; init; } = Array.Empty<JobserverToolSpec>();

    /// <summary>The project's name, for the trace and the logs.</summary>
    public string ProjectName { get; init; } = "";

    /// <summary>Seconds of waiting for a token after which a message says so.</summary>
    public double LongWaitSeconds { get; init; } = 10;

    /// <summary>Looks the tool up; null when the program is not jobserver-aware.</summary>
    public JobserverToolSpec? FindTool(string program) =>
        Tools.FirstOrDefault(t => string.Equals(t.Name, program, StringComparison.OrdinalIgnoreCase));

    /// <summary>Stores the settings for the project the task runs in.</summary>
    public void Register(IBuildEngine engine) =>
        ((IBuildEngine4)engine).RegisterTaskObject(KeyFor(engine), this, RegisteredTaskObjectLifetime.Build, allowEarlyCollection: false);

    /// <summary>The settings of the project the task runs in; null when ConfigureJobserver did not run there.</summary>
    public static ProjectJobserverSettings? For(IBuildEngine engine) =>
        engine is IBuildEngine4 engine4
            ? engine4.GetRegisteredTaskObject(KeyFor(engine), RegisteredTaskObjectLifetime.Build) as ProjectJobserverSettings
            : null;

    // A project instance is its file plus its global properties: that is the configuration MSBuild builds once.
    private static string KeyFor(IBuildEngine engine)
    {
        var key = new StringBuilder(KeyPrefix).Append(engine.ProjectFileOfTaskNode);
        if (engine is IBuildEngine6 engine6)
        {
            foreach (var pair in engine6.GetGlobalProperties().OrderBy(p => p.Key, StringComparer.OrdinalIgnoreCase))
            {
                key.Append('|').Append(pair.Key).Append('=').Append(pair.Value);
            }
        }

        return key.ToString();
    }

    /// <summary>The global-property names of the task's project, which the rendezvous call strips.</summary>
    public static IList<string> GlobalPropertyNames(IBuildEngine engine) =>
        engine is IBuildEngine6 engine6 ? engine6.GetGlobalProperties().Keys.ToList() : new List<string>();
}
