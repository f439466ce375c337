using MSBuild.Jobserver.Testing;

namespace MSBuild.Jobserver.IntegrationTests;

/// <summary>
/// The jobserver peers newer than Debian 12's, built once per machine by build/ci/peers.sh (GNU make 4.4.1, whose
/// jobserver is fifo: by default; ninja 1.13.2, the first ninja that is a client), and put on a fixture's PATH under
/// their usual names, as users have them.
/// </summary>
internal static class Peers
{
    /// <summary>Where build/ci/peers.sh puts them: $JOBSERVER_PEERS_DIR/bin, default ~/.cache/msbuild-jobserver-peers/bin.</summary>
    public static string BinDirectory => Path.Combine(
        Environment.GetEnvironmentVariable("JOBSERVER_PEERS_DIR") is { Length: > 0 } dir
            ? dir
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "msbuild-jobserver-peers"),
        "bin");

    /// <summary>GNU make 4.4.1.</summary>
    public static string Make441 => Require("make-4.4.1");

    /// <summary>ninja 1.13.2.</summary>
    public static string Ninja1132 => Require("ninja-1.13.2");

    /// <summary>
    /// A directory in the fixture holding <paramref name="tools"/> under their usual names (name, file), and the PATH
    /// that puts it first.
    /// </summary>
    public static (string Directory, string Path) OnPath(FixtureRepo repo, params (string Name, string File)[] tools)
    {
        var bin = System.IO.Path.Combine(repo.Root, "peer-bin");
        Directory.CreateDirectory(bin);
        foreach (var (name, file) in tools)
        {
            File.CreateSymbolicLink(System.IO.Path.Combine(bin, name), file);
        }

        return (bin, bin + ":" + Environment.GetEnvironmentVariable("PATH"));
    }

    private static string Require(string name)
    {
        var file = System.IO.Path.Combine(BinDirectory, name);
        Prerequisite.RequireFile(file, "GNU make 4.4.1 and ninja 1.13.2 are built by build/ci/peers.sh");
        return file;
    }
}
