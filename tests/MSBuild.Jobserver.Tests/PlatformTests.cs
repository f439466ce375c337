namespace MSBuild.Jobserver.Tests;

/// <summary>
/// Loading the platform layer: a machine where Mono.Unix's native helper cannot load (osx-arm64, musl), simulated by
/// deleting it, and the background load a worker node starts from its first ConfigureJobserver.
/// </summary>
[TestClass]
public sealed class PlatformTests
{
    [TestMethod]
    public void MissingHelperLibraryIsReportedAsPlatformUnsupported()
    {
        var copy = CopyProbe("noposix");
        try
        {
            var probe = Path.Combine(copy, Path.GetFileName(TestSupport.ProbeDll));
            var normal = TestSupport.Run("dotnet", new[] { probe, "platform" });
            Assert.AreEqual(0, normal.ExitCode, normal.ToString());
            StringAssert.Contains(normal.Stdout, "Validate FifoMissing");
            StringAssert.Contains(normal.Stdout, "Create OK");

            DeleteHelperLibrary(copy);
            var broken = TestSupport.Run("dotnet", new[] { probe, "platform" });
            Assert.AreEqual(0, broken.ExitCode, broken.ToString());
            StringAssert.Contains(broken.Stdout, "Validate PlatformUnsupported");
            StringAssert.Contains(broken.Stdout, "Connect PlatformUnsupported The POSIX helper library");
            StringAssert.Contains(broken.Stdout, "Create PlatformUnsupported");
        }
        finally
        {
            Directory.Delete(copy, recursive: true);
        }
    }

    [TestMethod]
    public void TheBackgroundLoadLoadsMonoUnixOnAnotherThreadAndSurvivesAMissingHelper()
    {
        var normal = TestSupport.Run("dotnet", new[] { TestSupport.ProbeDll, "load-in-background" });
        Assert.AreEqual(0, normal.ExitCode, normal.ToString());
        Assert.AreEqual("BEFORE=False AFTER=True THREAD=other", normal.Stdout.Trim(), "a fresh process has no Mono.Unix until the background load brings it in, on a thread of its own");

        // Without the native helper the load fails on a thread-pool thread: that must not end the process (it would end
        // MSBuild's worker node), and the platform still reports the failure where it is used.
        var copy = CopyProbe("nobackground");
        try
        {
            DeleteHelperLibrary(copy);
            var probe = Path.Combine(copy, Path.GetFileName(TestSupport.ProbeDll));
            var broken = TestSupport.Run("dotnet", new[] { probe, "load-in-background" });
            Assert.AreEqual(0, broken.ExitCode, broken.ToString());
            StringAssert.StartsWith(broken.Stdout.Trim(), "BEFORE=False");
        }
        finally
        {
            Directory.Delete(copy, recursive: true);
        }
    }

    // The probe and everything beside it, in a directory of its own that a test may break.
    private static string CopyProbe(string name)
    {
        var copy = TestSupport.NewTempDirectory(name);
        var probeDir = Path.GetDirectoryName(TestSupport.ProbeDll)!;
        foreach (var file in Directory.GetFiles(probeDir, "*", SearchOption.AllDirectories))
        {
            var target = Path.Combine(copy, Path.GetRelativePath(probeDir, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }

        return copy;
    }

    private static void DeleteHelperLibrary(string copy)
    {
        var helpers = Directory.GetFiles(copy, "libMono.Unix.*", SearchOption.AllDirectories);
        Assert.IsNotEmpty(helpers);
        Array.ForEach(helpers, File.Delete);
    }
}
