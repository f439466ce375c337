using MSBuild.Jobserver.Platform;
using MSBuild.Jobserver.Protocol;
using MSBuild.Jobserver.Testing;

namespace MSBuild.Jobserver.Tests;

/// <summary>GNU make (4.3 here) as a real peer: a client of our pool, and the owner of a pool our client joins.</summary>
[TestClass]
public sealed class MakeTests
{
    private const int Slots = 3;
    private string _dir = null!;

    [TestInitialize]
    public void Setup()
    {
        if (!TestSupport.HasTool("make"))
        {
            Prerequisite.Missing("GNU make (Debian's make)");
        }

        _dir = TestSupport.NewTempDirectory("make");
    }

    [TestCleanup]
    public void Cleanup()
    {
        if (_dir is not null)
        {
            Directory.Delete(_dir, recursive: true);
        }
    }

    [TestMethod]
    public void MakeRunsExactlyAsManyJobsAsThePoolHasSlots()
    {
        var log = Path.Combine(_dir, "jobs.log");
        var makefile = Path.Combine(_dir, "Makefile");
        TestSupport.WriteLines(makefile,
            "JOBS := j1 j2 j3 j4 j5 j6",
            "all: $(JOBS)",
            "$(JOBS):",
            "\t@s=$$(date +%s.%N); sleep 0.5; e=$$(date +%s.%N); echo \"$$s $$e\" >> \"$(LOG)\"",
            ".PHONY: all $(JOBS)");

        using var pool = PoolPlatform.CreatePool(Slots, _dir);
        using var client = PoolPlatform.Connect(pool.Auth);
        var implicitSlot = client.Acquire(CancellationToken.None);

        // -j6 in MAKEFLAGS: were make to ignore our pool and make its own, it would run 6 at once, not 3.
        var result = TestSupport.Run(
            "/bin/sh",
            new[] { "-c", "exec 8<>\"$JOBSERVER_FIFO\" 9<>\"$JOBSERVER_FIFO\"; exec make -f \"$1\" all LOG=\"$2\"", "sh", makefile, log },
            new Dictionary<string, string?>
            {
                ["JOBSERVER_FIFO"] = pool.Auth.Path,
                ["MAKEFLAGS"] = MakeFlags.Format(JobserverAuth.Pipe(8, 9), 6),
            },
            _dir);
        client.Release(implicitSlot);

        Assert.AreEqual(0, result.ExitCode, result.ToString());
        Assert.DoesNotContain("jobserver", result.Stderr, result.ToString());
        var lines = File.ReadAllLines(log);
        Assert.HasCount(6, lines);
        Assert.AreEqual(Slots, TestSupport.MaxOverlap(lines));
        Assert.AreEqual(Slots, pool.CountAvailable());
        var report = pool.Close();
        Assert.AreEqual((Slots, 0, 0), (report.Found, report.Missing, report.Extra));
    }

    [TestMethod]
    public void OurClientTakesTokensFromMakesPoolAndGivesThemAllBack()
    {
        var makefile = Path.Combine(_dir, "Makefile");
        TestSupport.WriteLines(makefile,
            "all: p1 p2 p3 p4",
            "p1 p2 p3 p4:",
            "\t+@dotnet \"$(PROBE)\" inherited 60",
            ".PHONY: all p1 p2 p3 p4");

        var result = RunMakeWithProbe(makefile);

        Assert.AreEqual(0, result.ExitCode, result.ToString());
        var ok = result.Stdout.Split('\n').Where(l => l.StartsWith("OK ", StringComparison.Ordinal)).ToList();
        Assert.HasCount(4, ok, result.ToString());
        var extra = ok.Sum(l => int.Parse(l[(l.LastIndexOf('=') + 1)..], System.Globalization.CultureInfo.InvariantCulture));
        Assert.IsGreaterThan(0, extra, "no work ran on a token taken from make's pool\n" + result);

        // make 4.3 counts its tokens at exit and prints "INTERNAL: Exiting with N jobserver tokens..." if any went missing.
        Assert.DoesNotContain("INTERNAL", result.Stderr, result.ToString());
        Assert.DoesNotContain("jobserver", result.Stderr, result.ToString());
    }

    [TestMethod]
    public void ARuleWithoutPlusIsRejectedBeforeAnyByteMoves()
    {
        var makefile = Path.Combine(_dir, "Makefile");
        TestSupport.WriteLines(makefile,
            "all:",
            "\t@dotnet \"$(PROBE)\" inherited 1; echo \"exit $$?\"");

        var result = RunMakeWithProbe(makefile);

        // make 4.3 leaves --jobserver-auth=3,4 in MAKEFLAGS but closes the pipe in the child. A .NET process reuses
        // 3 and 4 at once for a pipe of its own (close-on-exec), so the verdict is CloseOnExec; a process that
        // opened nothing there would get DescriptorClosed. Either way: rejected, with the '+' fix named.
        Assert.AreEqual(0, result.ExitCode, result.ToString());
        StringAssert.Contains(result.Stdout, "exit 3", result.ToString());
        var rejection = result.Stdout.Split('\n').Single(l => l.StartsWith("REJECTED ", StringComparison.Ordinal));
        Assert.IsTrue(
            rejection.StartsWith("REJECTED CloseOnExec:", StringComparison.Ordinal) || rejection.StartsWith("REJECTED DescriptorClosed:", StringComparison.Ordinal),
            rejection);
        StringAssert.Contains(rejection, "MAKEFLAGS");
        StringAssert.Contains(rejection, "'+'");
        Assert.DoesNotContain("INTERNAL", result.Stderr, result.ToString());
    }

    /// <summary><c>make -j3 all</c> of <paramref name="makefile"/>, with PROBE naming the probe.</summary>
    private ProcessResult RunMakeWithProbe(string makefile) =>
        TestSupport.Run("make", new[] { "-j3", "-f", makefile, "all", "PROBE=" + TestSupport.ProbeDll }, workingDirectory: _dir);
}
