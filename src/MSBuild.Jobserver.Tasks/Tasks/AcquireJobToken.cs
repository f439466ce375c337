using System;
using System.Threading;
using MSBuild.Jobserver.Tasks.EveryNode;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;

namespace MSBuild.Jobserver.Tasks;

/// <summary>
/// Takes one token from the build's jobserver and hands it to the project as <see cref="Token"/>, for work the
/// package cannot see (a tool started by another task). Give it back with ReleaseJobToken; a token never
/// released goes back at the end of the build, with a warning.
/// </summary>
public sealed class AcquireJobToken : Task, ICancelableTask
{
    /// <summary>The value of <see cref="Token"/> when the build has no pool: ReleaseJobToken accepts it.</summary>
    public const string NoToken = "none";

    private readonly CancellationTokenSource _cancel = new();

    /// <summary>Milliseconds to wait at most; negative (the default) waits as long as it takes.</summary>
    public int Timeout { get; set; } = -1;

    /// <summary>What the token is for, shown in the logs and the trace.</summary>
    public string Purpose { get; set; } = "";

    /// <summary>The token, to pass to ReleaseJobToken.</summary>
    [Output]
    public string Token { get; private set; } = NoToken;

    /// <inheritdoc/>
    public void Cancel() => _cancel.Cancel();

    /// <inheritdoc/>
    public override bool Execute()
    {
        var settings = ProjectJobserverSettings.Current() ?? ProjectJobserverSettings.Unconfigured;
        var node = settings.Enabled ? JobserverTaskSupport.TryGetConnectedNode(this, settings) : null;
        if (node is null)
        {
            return !Log.HasLoggedErrors;
        }

        var purpose = Purpose.Length > 0 ? Purpose : "AcquireJobToken";
        var held = TokenWaiter.Acquire(BuildEngine, Log, node, settings, purpose, _cancel.Token,
            Timeout >= 0 ? TimeSpan.FromMilliseconds(Timeout) : null);
        if (held is null)
        {
            return false;
        }

        node.HoldForProject(held);
        Token = held.Id;
        return true;
    }
}
