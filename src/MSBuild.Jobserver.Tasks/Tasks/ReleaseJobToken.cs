using MSBuild.Jobserver.Diagnostics;
using MSBuild.Jobserver.Tasks.Diagnostics;
using MSBuild.Jobserver.Tasks.EveryNode;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;

namespace MSBuild.Jobserver.Tasks;

/// <summary>Gives back a token that AcquireJobToken took. Refuses a token it did not hand out, so none is minted.</summary>
public sealed class ReleaseJobToken : Task
{
    /// <summary>AcquireJobToken's Token output.</summary>
    [Required]
    public string Token { get; set; } = "";

    /// <inheritdoc/>
    public override bool Execute()
    {
        var token = Token.Trim();
        if (token.Length == 0 || token == AcquireJobToken.NoToken)
        {
            return true;
        }

        var node = NodeJobserver.Existing(BuildEngine);
        var held = node?.TakeBackFromProject(token);
        if (node is null || held is null)
        {
            JobserverLog.Error(Log, DiagnosticCode.UnknownToken,
                $"'{Token}' is not a token AcquireJobToken handed out in this build (or it was released already). Pass the Token output of AcquireJobToken from the same project, once.");
            return false;
        }

        JobserverTaskSupport.Release(this, node, held);
        return true;
    }
}
