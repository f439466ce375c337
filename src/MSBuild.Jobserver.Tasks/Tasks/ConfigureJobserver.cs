using System;
using System.Globalization;
using System.Linq;
using MSBuild.Jobserver.Diagnostics;
using MSBuild.Jobserver.Platform;
using MSBuild.Jobserver.Pools;
using MSBuild.Jobserver.Tasks.Diagnostics;
using MSBuild.Jobserver.Tasks.EntryProcess;
using MSBuild.Jobserver.Tasks.EveryNode;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;

namespace MSBuild.Jobserver.Tasks;

/// <summary>
/// Runs first in every project that references the package: checks the jobserver properties and records them
/// for the tasks of this project that take no parameters for them (an &lt;Exec&gt; resolved to ours).
/// In the entry process, the first one also starts making the build's pool in the background (see EarlyPool), so
/// that it is ready when the first tool asks.
/// </summary>
public sealed class ConfigureJobserver : Task
{

    /// <summary>JobserverEnabled: false turns the package off for this project.</summary>
    public string Enabled { get; set; } = "true";

    /// <summary>JobserverSlots as the user wrote it; empty means the node count.</summary>
    public string Slots { get; set; } = "";

    /// <summary>JobserverScope: Build (the default, a pool per build) or User (one pool for all of the user's builds).</summary>
    public string Scope { get; set; } = "";

    /// <summary>JobserverMinFreeMemory: MiB, or a size with a suffix (512M, 2G, 2GiB); empty or 0 is off.</summary>
    public string MinFreeMemory { get; set; } = "";

    /// <summary>$(MSBuildNodeCount).</summary>
    public string NodeCount { get; set; } = "";

    /// <summary>The JobserverTool items: programs treated as jobserver clients (metadata MakeflagsForm: fds, fifo, none).</summary>
    public ITaskItem[] Tools { get; set; } = Array.Empty<ITaskItem>();

    /// <summary>The project's name, for logs and the trace.</summary>
    public string ProjectName { get; set; } = "";

    /// <summary>Seconds of waiting for a token after which a message says so.</summary>
    public string LongWaitSeconds { get; set; } = "";

    /// <summary>The pool size this project asks for; <see cref="BuildJobserverOwner.NoPool"/> for none.</summary>
    [Output]
    public int ResolvedSlots { get; private set; }

    /// <inheritdoc/>
    public override bool Execute()
    {
        var enabled = !string.Equals(Enabled.Trim(), "false", StringComparison.OrdinalIgnoreCase);
        if (!TryResolveScope(out var userScope) || !TryResolveSlots(userScope, out var slots) || !TryResolveMinFreeMemory(out var minFree))
        {
            return false;
        }

        ResolvedSlots = slots;
        new ProjectJobserverSettings
        {
            Enabled = enabled,
            Slots = slots,
            UserScope = userScope,
            MinFreeMemoryMiB = minFree,
            Tools = Tools.Select(ToSpec).ToList(),
            ProjectName = ProjectName,
            LongWaitSeconds = double.TryParse(LongWaitSeconds, NumberStyles.Float, CultureInfo.InvariantCulture, out var wait) && wait > 0 ? wait : 10,
        }.Register();
        if (enabled && BuildEngine is IBuildEngine4 engine)
        {
            EarlyPool.StartIfNeeded(engine, slots, userScope, Environment.GetEnvironmentVariable);
        }

        if (enabled && ProcessInfo.IsWorkerNode)
        {
            PoolPlatform.LoadInBackground();
        }

        return true;
    }

    private bool TryResolveScope(out bool userScope)
    {
        var text = Scope.Trim();
        userScope = string.Equals(text, "User", StringComparison.OrdinalIgnoreCase);
        if (userScope || text.Length == 0 || string.Equals(text, "Build", StringComparison.OrdinalIgnoreCase))
        {
            return true;
        }

        JobserverLog.Error(Log, DiagnosticCode.InvalidScope,
            $"JobserverScope is '{Scope}'; it must be Build (one pool per build, the default) or User (one pool shared by all of this user's builds on this machine).");
        return false;
    }

    private bool TryResolveMinFreeMemory(out long mebibytes)
    {
        if (MemorySize.TryParseMebibytes(MinFreeMemory, out mebibytes))
        {
            return true;
        }

        JobserverLog.Error(Log, DiagnosticCode.InvalidMinFreeMemory,
            $"JobserverMinFreeMemory is '{MinFreeMemory}', which is not a size: write MiB as a whole number (2048) or with a suffix (512M, 2G, 2GiB), or leave it empty (or 0) for no memory limit.");
        return false;
    }

    private bool TryResolveSlots(bool userScope, out int slots)
    {
        var text = Slots.Trim();
        if (text.Length == 0)
        {
            // The user's pool serves every build on the machine: sized by the cores .NET sees (container CPU quotas
            // included), never by one build's -m. One node builds one project at a time: its tool keeps its own -j (no
            // pool), as make -j1 leaves a recipe's own tools alone; JobserverSlots=1, written out, is a pool of one.
            slots = userScope ? Math.Min(Environment.ProcessorCount, JobTokenPool.MaxTokens) : int.TryParse(NodeCount, NumberStyles.Integer, CultureInfo.InvariantCulture, out var nodes) && nodes >= 1
                ? (nodes == 1 ? BuildJobserverOwner.NoPool : Math.Min(nodes, JobTokenPool.MaxTokens))
                : Environment.ProcessorCount;
            return true;
        }

        if (int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out slots) && slots >= 1 && slots <= JobTokenPool.MaxTokens)
        {
            return true;
        }

        JobserverLog.Error(Log, DiagnosticCode.InvalidSlots,
            $"JobserverSlots is '{Slots}', which is not a whole number from 1 to {JobTokenPool.MaxTokens}. Set it to the number of jobs the build may run at once (e.g. -p:JobserverSlots=8), or leave it empty to use the -m node count.");
        return false;
    }

    private static JobserverToolSpec ToSpec(ITaskItem item) => JobserverToolSpec.FromItem(item.ItemSpec, item.GetMetadata("MakeflagsForm"));
}
