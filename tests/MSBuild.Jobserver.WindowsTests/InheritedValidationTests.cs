namespace MSBuild.Jobserver.WindowsTests;

/// <summary>How a Windows process judges an inherited MAKEFLAGS: only a semaphore that exists now is trusted.</summary>
[TestClass]
public sealed class InheritedValidationTests
{
    [TestMethod]
    public void A_semaphore_that_does_not_exist_is_rejected()
    {
        var result = SemaphorePoolTests.Probe("validate", "-j4 --jobserver-auth=gmake_semaphore_999999");
        Assert.AreEqual("SemaphoreOpenFailed", result.Value("INVALID"), result.ToString());
    }

    [TestMethod]
    public void The_semaphore_of_a_make_that_has_exited_is_rejected()
    {
        var makeflags = SemaphorePoolTests.Probe("serve").Value("MAKEFLAGS");
        StringAssert.Contains(makeflags, "--jobserver-auth=msbuild_jobserver_");
        var result = SemaphorePoolTests.Probe("validate", makeflags);
        Assert.AreEqual("SemaphoreOpenFailed", result.Value("INVALID"), result.ToString());
    }

    [TestMethod]
    public void A_live_semaphore_is_accepted()
    {
        // run-with-pool hands its pool to the child in CARGO_MAKEFLAGS; the child validates and uses it.
        var log = Path.Combine(WindowsArtifacts.WorkDirectory, "validate-live.log");
        File.Delete(log);
        var result = SemaphorePoolTests.Probe("run-with-pool", "2", WindowsArtifacts.Probe, "hold", "1", "10", Wine.WindowsPath(log));
        StringAssert.Contains(result.Output, "OK 1");
        Assert.AreEqual("2 2", result.Value("CLOSE"));
    }

    [TestMethod]
    [DataRow("-j4 --jobserver-auth=3,4")]
    [DataRow("-j4 --jobserver-fds=3,4")]
    [DataRow("-j4 --jobserver-auth=fifo:/tmp/GMfifo1234")]
    public void A_POSIX_form_is_rejected_on_Windows(string makeflags)
    {
        var result = SemaphorePoolTests.Probe("validate", makeflags);
        Assert.AreEqual("PlatformUnsupported", result.Value("INVALID"), result.ToString());
    }
}
