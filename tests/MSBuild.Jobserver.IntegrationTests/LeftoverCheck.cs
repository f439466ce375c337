using System.Diagnostics;

namespace MSBuild.Jobserver.IntegrationTests;

/// <summary>
/// Issue test 9, applied after every build: the package keeps its pools in <c>$TMPDIR/msbuild-jobserver-UID/PID-RAND/</c>;
/// each build runs with a TMPDIR of its own, so whatever is left there afterwards was left by that build.
/// </summary>
internal static class LeftoverCheck
{
    /// <summary>The package's private directory under <paramref name="tempDirectory"/>.</summary>
    public static string PrivateDirectory(string tempDirectory) =>
        Path.Combine(tempDirectory, "msbuild-jobserver-" + PackageFeed.UserId.ToString(System.Globalization.CultureInfo.InvariantCulture));

    /// <summary>Fails when the run left a pool directory, any FIFO in its TMPDIR, or a FIFO it handed to a compiler.</summary>
    public static void AssertNothingLeft(BuildRun run)
    {
        var privateDirectory = PrivateDirectory(run.TempDirectory);
        if (Directory.Exists(privateDirectory))
        {
            var left = Directory.GetFileSystemEntries(privateDirectory);
            Assert.IsEmpty(left, $"the build left pool directories behind in {privateDirectory}: {string.Join(", ", left)}");
        }

        // The .NET runtime keeps debugger-transport FIFOs (clr-debug-pipe-PID-*) in TMPDIR for every live process,
        // here the worker nodes a build with node reuse leaves running; they are not the package's.
        var fifos = FindFifos(run.TempDirectory).Where(f => !Path.GetFileName(f).StartsWith("clr-debug-pipe-", StringComparison.Ordinal)).ToList();
        Assert.IsEmpty(fifos, $"the build left FIFOs behind in its TMPDIR: {string.Join(", ", fifos)}");

        // The package's own pools only: a make 4.4 FIFO the build joined is make's to remove.
        var handedOut = run.Compiles.Select(c => c.FifoPath).OfType<string>().Where(p => p.Contains("/msbuild-jobserver-", StringComparison.Ordinal)).Distinct();
        foreach (var fifo in handedOut)
        {
            Assert.IsFalse(File.Exists(fifo) || Directory.Exists(Path.GetDirectoryName(fifo)),
                $"the pool '{fifo}' that rustc was handed is still there after the build");
        }
    }

    /// <summary>Every FIFO under <paramref name="directory"/> (find -type p: .NET has no portable file-type query).</summary>
    public static IReadOnlyList<string> FindFifos(string directory)
    {
        var info = new ProcessStartInfo("find", new[] { directory, "-type", "p" })
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        using var find = Process.Start(info)!;
        var output = find.StandardOutput.ReadToEnd();
        find.StandardError.ReadToEnd();
        find.WaitForExit();
        return output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
    }
}
