namespace MSBuild.Jobserver.WindowsTests;

/// <summary>
/// The Rust jobserver crate 0.1.24 (cargo's and rustc's client), built for Windows with Debian's rustc, against our
/// semaphore pool and client, both ways: the cap holds and every token comes back.
/// </summary>
[TestClass]
public sealed class RustPeerTests
{
    [TestMethod]
    public void The_Rust_crate_as_a_client_of_our_pool_stays_within_it_and_returns_every_token()
    {
        var log = NewLog("rust-client");
        // Six threads of the crate each take one token from our pool of three and hold it 300 ms.
        var result = SemaphorePoolTests.Probe("run-with-pool", "3", WindowsArtifacts.RustPeer, "client", "6", "300", Wine.WindowsPath(log));
        StringAssert.Contains(result.Output, "OK 6");
        Assert.AreEqual("0", result.Value("CHILD"));
        Assert.AreEqual("3 3", result.Value("CLOSE"), "tokens conserved");
        var intervals = Intervals.Parse(File.ReadAllLines(log));
        Assert.AreEqual(6, intervals.Count);
        Assert.AreEqual(3, Intervals.MaxOverlap(intervals), string.Join("\n", intervals));
    }

    [TestMethod]
    public void Our_client_in_a_pool_the_Rust_crate_created_stays_within_it_and_returns_every_token()
    {
        var log = NewLog("our-client");
        // The crate creates a pool of three and hands it over as cargo does (CARGO_MAKEFLAGS); then takes all three back.
        var result = Wine.Run(WindowsArtifacts.RustPeer, new[] { "pool", "3", WindowsArtifacts.Probe, "hold", "6", "300", Wine.WindowsPath(log) });
        Assert.AreEqual(0, result.ExitCode, result.ToString());
        StringAssert.Contains(result.Output, "OK 6");
        Assert.AreEqual("3", result.Value("REACQUIRED"), "tokens conserved");
        var intervals = Intervals.Parse(File.ReadAllLines(log));
        Assert.AreEqual(6, intervals.Count);
        Assert.AreEqual(3, Intervals.MaxOverlap(intervals), string.Join("\n", intervals));
    }

    private static string NewLog(string name)
    {
        var log = Path.Combine(WindowsArtifacts.WorkDirectory, name + ".log");
        File.Delete(log);
        return log;
    }
}
