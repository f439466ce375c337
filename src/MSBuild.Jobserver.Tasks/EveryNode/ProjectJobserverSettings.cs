using System;
using System.Collections.Generic;
using System.Linq;
using System.Globalization;
using MSBuild.Jobserver.Platform;
using MSBuild.Jobserver.Tokens;
using Microsoft.Build.Framework;

namespace MSBuild.Jobserver.Tasks.EveryNode;

/// <summary>A program treated as a jobserver client (an item of <c>JobserverTool</c>).</summary>
internal sealed record JobserverToolSpec(string Name, MakeflagsForm Form)
{
    /// <summary>The item <paramref name="name"/> with its MakeflagsForm metadata as written: fds (or empty), fifo, none.</summary>
    public static JobserverToolSpec FromItem(string name, string makeflagsForm) =>
        new(name.Trim(), makeflagsForm.Trim().ToLowerInvariant() switch
        {
            "fifo" => MakeflagsForm.Fifo,
            "none" => MakeflagsForm.None,
            _ => MakeflagsForm.Descriptors,
        });
}

/// <summary>
/// A project's jobserver properties and items, captured by the ConfigureJobserver task at the project's start so
/// that tasks which have no parameters for them (an &lt;Exec&gt; resolved to ours) can find them. They travel in
/// an environment variable: MSBuild gives each project request its own environment and restores it whenever the
/// request resumes, so every later task of the same project, and only of that project, sees them.
/// </summary>
/// <remarks>
/// MSBuild's multi-threaded mode (-mt) builds projects on threads of one process, where the process environment is
/// shared; it runs every task that is not marked [MSBuildMultiThreadableTask] in a sidecar TaskHost with its
/// project's environment and carries the task's environment changes back to that project only
/// (dotnet/msbuild documentation/specs/multithreading). So this stays per project there too, as long as the
/// package's tasks are not marked thread-safe: marking them would need this carried in the per-project
/// TaskEnvironment instead (MultiThreadedModeTests guards it).
/// </remarks>
internal sealed record ProjectJobserverSettings
{
    /// <summary>The variable that carries the settings within the project.</summary>
    public const string VariableName = "MSBUILD_JOBSERVER_PROJECT";

    /// <summary>What a task uses in a project where ConfigureJobserver did not run: defaults, sized by the cores.</summary>
    public static ProjectJobserverSettings Unconfigured => LazyUnconfigured.Value;

    private static readonly Lazy<ProjectJobserverSettings> LazyUnconfigured = new(() => new ProjectJobserverSettings
    {
        Slots = Environment.ProcessorCount,
        Tools = DefaultJobserverTools.For(PoolPlatform.Family),
    });

    /// <summary>JobserverEnabled.</summary>
    public bool Enabled { get; init; } = true;

    /// <summary>The resolved pool size asked for (JobserverSlots, else the node count; 0 for no pool: -m:1).</summary>
    public int Slots { get; init; }

    /// <summary>JobserverScope=User: the build joins the pool all of the user's builds share.</summary>
    public bool UserScope { get; init; }

    /// <summary>JobserverMinFreeMemory in MiB: no new token while less is available and a job runs; 0 is off.</summary>
    public long MinFreeMemoryMiB { get; init; }

    /// <summary>The jobserver-aware programs.</summary>
    public IReadOnlyList<JobserverToolSpec> Tools { get; init; } = Array.Empty<JobserverToolSpec>();

    /// <summary>The project's name, for the trace and the logs.</summary>
    public string ProjectName { get; init; } = "";

    /// <summary>Seconds of waiting for a token after which a message says so.</summary>
    public double LongWaitSeconds { get; init; } = 10;

    /// <summary>
    /// The end-of-build summary was logged for this project (it is the entry project): a tool it runs from now on is
    /// not in the summary.
    /// </summary>
    public bool SummaryLogged { get; init; }

    /// <summary>Looks the tool up; null when the program is not jobserver-aware.</summary>
    public JobserverToolSpec? FindTool(string program) =>
        Tools.FirstOrDefault(t => string.Equals(t.Name, program, StringComparison.OrdinalIgnoreCase));

    /// <summary>Stores the settings for the rest of the current project's request.</summary>
    public void Register() => Environment.SetEnvironmentVariable(VariableName, Serialize());

    /// <summary>Records, for the rest of the current project's request, that its summary was logged.</summary>
    public static void MarkSummaryLogged()
    {
        if (Current() is { } current)
        {
            (current with { SummaryLogged = true }).Register();
        }
    }

    /// <summary>The settings of the current project; null when ConfigureJobserver did not run in it.</summary>
    public static ProjectJobserverSettings? Current() =>
        Environment.GetEnvironmentVariable(VariableName) is { Length: > 0 } text ? Parse(text) : null;

    /// <summary>The global-property names of the task's project, which the rendezvous call strips.</summary>
    public static IList<string> GlobalPropertyNames(IBuildEngine engine) =>
        engine is IBuildEngine6 engine6 ? engine6.GetGlobalProperties().Keys.ToList() : new List<string>();

    // One line: enabled|slots|longwait|scope|min free MiB|tool:form,tool:form|summary logged|project name (last, it may
    // hold anything but a newline).
    private string Serialize() => string.Join("|",
        Enabled ? "1" : "0",
        Slots.ToString(CultureInfo.InvariantCulture),
        LongWaitSeconds.ToString(CultureInfo.InvariantCulture),
        UserScope ? "user" : "build",
        MinFreeMemoryMiB.ToString(CultureInfo.InvariantCulture),
        string.Join(",", Tools.Select(t => t.Name.Replace(",", "").Replace("|", "").Replace(":", "") + ":" + (int)t.Form)),
        SummaryLogged ? "1" : "0",
        ProjectName.Replace('\n', ' '));

    private static ProjectJobserverSettings? Parse(string text)
    {
        var parts = text.Split(new[] { '|' }, 8);
        if (parts.Length != 8
            || !int.TryParse(parts[1], NumberStyles.Integer, CultureInfo.InvariantCulture, out var slots)
            || !double.TryParse(parts[2], NumberStyles.Float, CultureInfo.InvariantCulture, out var wait)
            || !long.TryParse(parts[4], NumberStyles.Integer, CultureInfo.InvariantCulture, out var minFree))
        {
            return null;
        }

        var tools = parts[5].Split(new[] { ',' }, StringSplitOptions.RemoveEmptyEntries)
            .Select(t => t.Split(':'))
            .Where(t => t.Length == 2 && int.TryParse(t[1], NumberStyles.Integer, CultureInfo.InvariantCulture, out _))
            .Select(t => new JobserverToolSpec(t[0], (MakeflagsForm)int.Parse(t[1], CultureInfo.InvariantCulture)))
            .ToList();
        return new ProjectJobserverSettings
        {
            Enabled = parts[0] == "1", Slots = slots, LongWaitSeconds = wait, UserScope = parts[3] == "user", MinFreeMemoryMiB = minFree, Tools = tools,
            SummaryLogged = parts[6] == "1", ProjectName = parts[7],
        };
    }
}
