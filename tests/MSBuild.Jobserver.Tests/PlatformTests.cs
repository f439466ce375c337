namespace MSBuild.Jobserver.Tests;

/// <summary>A machine where Mono.Unix's native helper cannot load (osx-arm64, musl): simulated by deleting it.</summary>
[TestClass]
public sealed class PlatformTests
{
    [TestMethod]
    public void MissingHelperLibraryIsReportedAsPlatformUnsupported()
    {
        var copy = TestSupport.NewTempDirectory("noposix");
        try
        {
            var probeDir = Path.GetDirectoryName(TestSupport.ProbeDll)!;
            foreach (var file in Directory.GetFiles(probeDir, "*", SearchOption.AllDirectories))
            {
                var target = Path.Combine(copy, Path.GetRelativePath(probeDir, file));
                Directory.CreateDirectory(Path.GetDirectoryName(target)!);
                File.Copy(file, target);
            }

            var probe = Path.Combine(copy, Path.GetFileName(TestSupport.ProbeDll));
            var normal = TestSupport.Run("dotnet", new[] { probe, "platform" });
            Assert.AreEqual(0, normal.ExitCode, normal.ToString());
            StringAssert.Contains(normal.Stdout, "Validate FifoMissing");
            StringAssert.Contains(normal.Stdout, "Create OK");

            var helpers = Directory.GetFiles(copy, "libMono.Unix.*", SearchOption.AllDirectories);
            Assert.IsNotEmpty(helpers);
            Array.ForEach(helpers, File.Delete);
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
}
