namespace MSBuild.Jobserver.IntegrationTests;

/// <summary>
/// Issue 5, hostile input end to end: real `dotnet build` runs started by a shell that opens the descriptors or makes
/// the paths a broken parent would leave, with a broken CARGO_MAKEFLAGS/MAKEFLAGS/MFLAGS. The bulk of the corpus runs
/// in-process (MSBuild.Jobserver.Tests, HostileInputCorpusTests); these show the same verdicts in a real build: it
/// passes, says why in exactly one coded warning, cargo runs on the build's own pool, and no tool complains.
/// </summary>
[TestClass]
public sealed class HostileInputBuildTests : EndToEndTest
{
    /// <summary>Each case: shell setup run before exec'ing dotnet, the variable, its value (ROOT = the fixture), the expected code.</summary>
    [TestMethod]
    [DataRow("exec 3</etc/hostname 4</etc/hostname", "MAKEFLAGS", " -j4 --jobserver-auth=3,4", "JOBS0003", DisplayName = "MAKEFLAGS: descriptors 3,4 are a regular file")]
    [DataRow("mkfifo p1 p2 && exec 3<>p1 4<>p2", "CARGO_MAKEFLAGS", " -j4 --jobserver-auth=3,4", "JOBS0004", DisplayName = "CARGO_MAKEFLAGS: 3,4 are two different pipes")]
    [DataRow("mkfifo p3 && exec 5<>p3 3>p3 4<p3", "MAKEFLAGS", " -j4 --jobserver-auth=3,4", "JOBS0005", DisplayName = "MAKEFLAGS: read and write ends swapped")]
    [DataRow("mkfifo -m 600 p4 && ln -s p4 link4", "CARGO_MAKEFLAGS", " -j4 --jobserver-auth=fifo:ROOT/link4", "JOBS0008", DisplayName = "CARGO_MAKEFLAGS: fifo: is a symlink to a FIFO")]
    [DataRow("mkfifo -m 666 p5", "MAKEFLAGS", " -j4 --jobserver-auth=fifo:ROOT/p5", "JOBS0010", DisplayName = "MAKEFLAGS: fifo: is world-writable")]
    [DataRow("exec 3<>/dev/null 4<>/dev/null", "MFLAGS", " -j4 --jobserver-auth=3,4 --jobserver-auth=x,4", "JOBS0001", DisplayName = "MFLAGS: several --jobserver-auth, the last one garbage")]
    public void BrokenInheritedJobserverGivesOneCodedWarningAndTheBuildUsesItsOwnPool(string setup, string variable, string value, string expected)
    {
        var repo = NewFixture("r1-hostile");
        var project = repo.AddCargoProject("hostile", crates: 1);
        value = value.Replace("ROOT", repo.Root, StringComparison.Ordinal);
        var script = $"{setup} && exec dotnet build {project} -m:2 -v:n -tl:off -nologo -nr:false";

        var run = repo.Run("sh", new[] { "-c", script }, new BuildOptions { Environment = new Dictionary<string, string?> { [variable] = value } });

        var codes = Fixtures.WarningCodes(run);
        TestContext.WriteLine($"{variable}='{value}' after '{setup}': warnings [{string.Join(", ", codes)}] {run.LinesWith("warning " + expected).FirstOrDefault()}");
        Assert.HasCount(1, codes, "exactly one coded warning expected:\n" + ProcessRunner.Tail(run.Output));
        Assert.AreEqual(expected, codes[0], ProcessRunner.Tail(run.Output));
        Assert.IsEmpty(run.LinesWith("failed to connect to jobserver"), "a tool still saw the broken jobserver:\n" + ProcessRunner.Tail(run.Output));
        Assert.IsNotEmpty(run.LinesWith("JOBS0033"), "the build did not create its own pool:\n" + ProcessRunner.Tail(run.Output));
        Assert.HasCount(1, run.Compiles, "cargo should have compiled the crate:\n" + run.Describe());
        Fixtures.AssertCompilesUsedTheBuildsPool(run);
    }

    /// <summary>JobserverSlots -1 and 1e9 (DiagnosticsTests covers abc and 0) stop the build with JOBS0020 naming the value.</summary>
    [TestMethod]
    [DataRow("-1")]
    [DataRow("1e9")]
    public void BadJobserverSlotsIsErrorJobs0020NamingTheValue(string slots)
    {
        AssertBadSlotsAreRejected("r1-bad-slots", slots);
    }
}
