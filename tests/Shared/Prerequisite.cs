using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;
using Microsoft.VisualStudio.TestTools.UnitTesting;

namespace MSBuild.Jobserver.Testing;

/// <summary>
/// What a test needs from the machine beyond the .NET SDK (a peer, a browser, wine), which build/prerequisites.sh
/// installs. A missing one makes the test inconclusive, naming it and the command; where prerequisites are required
/// (.ci/run sets <see cref="Variable"/>=required) it fails the test instead, so CI never passes by skipping.
/// </summary>
internal static class Prerequisite
{
    /// <summary>The variable that makes a missing prerequisite a failure: <c>JOBSERVER_PREREQUISITES=required</c>.</summary>
    public const string Variable = "JOBSERVER_PREREQUISITES";

    /// <summary>The command that installs or builds every prerequisite.</summary>
    public const string InstallCommand = "bash build/prerequisites.sh";

    /// <summary>Whether a missing prerequisite fails the test (CI) rather than leaving it inconclusive.</summary>
    public static bool Required => string.Equals(Environment.GetEnvironmentVariable(Variable), "required", StringComparison.OrdinalIgnoreCase);

    /// <summary>Ends the test unless <paramref name="path"/> exists; <paramref name="what"/> names what provides it.</summary>
    public static void RequireFile(string path, string what)
    {
        if (!File.Exists(path) && !Directory.Exists(path))
        {
            Missing($"{path} is missing ({what})");
        }
    }

    /// <summary>Ends the test: inconclusive, or failed where prerequisites are required.</summary>
    [DoesNotReturn]
    public static void Missing(string what)
    {
        var message = $"Prerequisite missing: {what}. `{InstallCommand}` installs it (Debian packages need root).";
        if (Required)
        {
            Assert.Fail(message);
        }

        Assert.Inconclusive(message);
        throw new UnreachableException();
    }
}
