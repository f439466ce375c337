namespace MSBuild.Jobserver.WindowsTests;

/// <summary>The semaphore pool and client, run in a Windows process under wine.</summary>
[TestClass]
public sealed class SemaphorePoolTests
{
    [TestMethod]
    public void A_pool_of_three_gives_three_tokens_and_no_fourth_and_counts_them_at_close()
    {
        var result = Probe("acquire", "3");
        Assert.AreEqual("3", result.Value("TAKEN"), result.ToString());
        Assert.AreEqual("0", result.Value("COUNT-EMPTY"));
        Assert.AreEqual("3", result.Value("COUNT-FULL"));
        Assert.AreEqual("3 3", result.Value("CLOSE"));
    }

    [TestMethod]
    public void The_semaphore_name_is_unprefixed_and_unique()
    {
        // The session namespace, as GNU make (gmake_semaphore_<pid>) and the Rust crate use: no Global\ or Local\.
        var names = Probe("names").Values("NAME").Concat(Probe("names").Values("NAME")).ToList();
        Assert.AreEqual(4, names.Count);
        Assert.AreEqual(4, names.Distinct().Count(), string.Join(", ", names));
        foreach (var name in names)
        {
            StringAssert.StartsWith(name, "msbuild_jobserver_");
            Assert.IsFalse(name.Contains('\\'), name);
        }
    }

    [TestMethod]
    public void The_semaphore_s_maximum_is_the_pool_size_and_children_do_not_inherit_it()
    {
        // A semaphore cannot exceed its maximum, so no release can grow the pool past N. A child started with
        // handle inheritance on (as Process.Start and Exec start tools) sees only the handle it opens itself.
        var result = Probe("semaphore-facts", "3");
        Assert.AreEqual("3", result.Value("MAXIMUM"), result.ToString());
        Assert.AreEqual("3", result.Value("CURRENT"));
        Assert.AreEqual("1", result.Value("HANDLES-NAMED"), "the child should hold only its own handle:\n" + result);
    }

    [TestMethod]
    public void A_wait_on_an_empty_pool_ends_at_its_timeout()
    {
        var result = Probe("wait", "timeout");
        Assert.IsTrue(int.Parse(result.Value("TIMEOUT")) >= 350, result.ToString());
        Assert.AreEqual("1 1", result.Value("CLOSE"));
    }

    [TestMethod]
    public void A_wait_on_an_empty_pool_ends_when_cancelled()
    {
        var result = Probe("wait", "cancel");
        Assert.IsTrue(int.Parse(result.Value("CANCELED")) >= 350, result.ToString());
        Assert.AreEqual("1 1", result.Value("CLOSE"));
    }

    [TestMethod]
    public void A_waiter_gets_the_token_another_thread_releases()
    {
        var result = Probe("wait", "release");
        Assert.IsTrue(int.Parse(result.Value("ACQUIRED")) >= 350, result.ToString());
        Assert.AreEqual("1 1", result.Value("CLOSE"));
    }

    [TestMethod]
    public void A_release_beyond_the_pool_size_never_raises_the_count_above_it()
    {
        // The semaphore's maximum count is the pool size: Windows refuses the extra release, the client ignores it.
        var result = Probe("over-release", "2");
        Assert.AreEqual("ok", result.Value("SECOND-RELEASE"), result.ToString());
        Assert.AreEqual("2", result.Value("COUNT"));
        Assert.AreEqual("2 2", result.Value("CLOSE"));
    }

    [TestMethod]
    public void Closing_with_tokens_held_reports_them_missing()
    {
        Assert.AreEqual("3 1 missing=2", Probe("close-held", "3", "2").Value("CLOSE"));
    }

    internal static ProcessResult Probe(params string[] args)
    {
        var result = Wine.Run(WindowsArtifacts.Probe, args);
        Assert.AreEqual(0, result.ExitCode, result.ToString());
        return result;
    }
}
