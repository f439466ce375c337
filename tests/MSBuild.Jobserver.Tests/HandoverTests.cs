using MSBuild.Jobserver.Commands;
using MSBuild.Jobserver.Protocol;
using MSBuild.Jobserver.Tasks.EveryNode;
using MSBuild.Jobserver.Tasks.ExecHook;
using MSBuild.Jobserver.Tokens;


namespace MSBuild.Jobserver.Tests;

/// <summary>
/// What a tool is handed (issue 11): only the jobserver words change, any pool path is survived without an
/// exception, descriptor numbers the command names are left alone, and each variable is cleaned on its own.
/// </summary>
[TestClass]
public sealed class HandoverTests
{
    private static readonly BuildJobserverHandle Pool = new() { Mode = BuildJobserverMode.Owned, Slots = 2, PoolPath = "/tmp/msbuild-jobserver-0/1-x/fifo", Nonce = "n" };

    [TestMethod]
    [DataRow("ks -j3 --jobserver-auth=3,4 -- CC=clang", "ks -j2 --jobserver-auth=8,9 -- CC=clang")]
    [DataRow("kn -j3 --jobserver-auth=fifo:/tmp/GmFIFO1", "kn -j2 --jobserver-auth=8,9")]
    [DataRow(" -j3 --jobserver-auth=3,4", " -j2 --jobserver-auth=8,9")]
    [DataRow("-j --jobserver-fds=7,8 --jobserver-auth=7,8", " -j2 --jobserver-auth=8,9")]
    [DataRow("s -- FOO=a\\ b BAR=--jobserver-auth=1,2", "s -j2 --jobserver-auth=8,9 -- FOO=a\\ b BAR=--jobserver-auth=1,2")]
    [DataRow("", " -j2 --jobserver-auth=8,9")]
    public void OnlyTheJobserverWordsChange(string before, string after)
    {
        Assert.IsTrue(MakeFlags.TryWithJobserver(before, JobserverAuth.Pipe(8, 9), 2, out var value, out _));
        Assert.AreEqual(after, value);
        var parsed = MakeFlags.Parse("MAKEFLAGS", value);
        Assert.AreEqual(MakeFlags.Parse("MAKEFLAGS", before).IsDryRun, parsed.IsDryRun, "a dry run must stay one, and only one");
        Assert.AreEqual(JobserverAuth.Pipe(8, 9), parsed.Auth);
    }

    [TestMethod]
    public void AToolKeepsItsOtherFlagsInEveryVariable()
    {
        var environment = new Dictionary<string, string?>
        {
            ["MAKEFLAGS"] = "kn -j4 --jobserver-auth=3,4 -- CC=clang",
            ["MFLAGS"] = "-kn -j4 --jobserver-auth=3,4",
        };

        var handover = ChildEnvironment.ForTool(Pool, MakeflagsForm.Descriptors, "make -C native", usesShell: true, n => environment.GetValueOrDefault(n));

        Assert.AreEqual("kn -j2 --jobserver-auth=8,9 -- CC=clang", handover.Variables["MAKEFLAGS"]);
        Assert.AreEqual("-kn -j2 --jobserver-auth=8,9", handover.Variables["MFLAGS"]);
        Assert.AreEqual(" -j2 --jobserver-auth=8,9", handover.Variables["CARGO_MAKEFLAGS"], "cargo and rustc read CARGO_MAKEFLAGS first: the descriptor form");
        Assert.AreEqual(Pool.PoolPath, handover.Variables[ChildEnvironment.FifoVariable]);
        Assert.AreEqual("exec 8<>\"$MSBUILD_JOBSERVER_FIFO\" 9<>\"$MSBUILD_JOBSERVER_FIFO\"", handover.ShellLine);
        Assert.IsEmpty(handover.Problems);
    }

    [TestMethod]
    public void NinjaGetsTheFifoFormAndCargoTheDescriptors()
    {
        var handover = ChildEnvironment.ForTool(Pool, MakeflagsForm.Fifo, "ninja -C out", usesShell: true, _ => null);

        Assert.AreEqual(" -j2 --jobserver-auth=fifo:" + Pool.PoolPath, handover.Variables["MAKEFLAGS"]);
        Assert.AreEqual(" -j2 --jobserver-auth=8,9", handover.Variables["CARGO_MAKEFLAGS"]);
        Assert.IsFalse(handover.Variables.ContainsKey("MFLAGS"), "an MFLAGS that was not set is not created");
    }

    [TestMethod]
    [DataRow("( flock 9; make ) 9>lock", 7, 8)]
    [DataRow("make 8>log 3<&0", 7, 9)]
    [DataRow("cat /dev/fd/9 | make", 7, 8)]
    [DataRow("make -j4", 8, 9)]
    public void TheDescriptorsAreNumbersTheCommandDoesNotName(string command, int read, int write)
    {
        var handover = ChildEnvironment.ForTool(Pool, MakeflagsForm.Descriptors, command, usesShell: true, _ => null);

        Assert.AreEqual($" -j2 --jobserver-auth={read},{write}", handover.Variables["MAKEFLAGS"]);
        Assert.AreEqual($"exec {read}<>\"$MSBUILD_JOBSERVER_FIFO\" {write}<>\"$MSBUILD_JOBSERVER_FIFO\"", handover.ShellLine);
    }

    [TestMethod]
    public void APoolPathWithASpaceIsAProblemNotAnException()
    {
        var spaced = new BuildJobserverHandle { Mode = BuildJobserverMode.Owned, Slots = 2, PoolPath = "/tmp/my dir/fifo", Nonce = "n" };

        var ninja = ChildEnvironment.ForTool(spaced, MakeflagsForm.Fifo, "ninja", usesShell: true, _ => " -k");
        var cargo = ChildEnvironment.ForTool(spaced, MakeflagsForm.Descriptors, "cargo build", usesShell: true, _ => null);

        Assert.AreEqual("JOBS0050", ninja.Problems.Single().Code);
        Assert.AreEqual("-k", ninja.Variables["MAKEFLAGS"], "ninja is handed no jobserver it cannot read, and keeps its flags");
        Assert.IsEmpty(cargo.Problems, "the descriptor form never writes the path into MAKEFLAGS");
        Assert.AreEqual(" -j2 --jobserver-auth=8,9", cargo.Variables["CARGO_MAKEFLAGS"]);
    }

    [TestMethod]
    public void SudoClosesDescriptorsSoItIsSaidAndMakeIsNotHandedAFifo()
    {
        var handover = ChildEnvironment.ForTool(Pool, MakeflagsForm.Descriptors, "sudo -E make install", usesShell: true, _ => null);

        Assert.AreEqual("JOBS0051", handover.Problems.Single().Code);
        Assert.IsNull(handover.Variables["MAKEFLAGS"], "make 4.3 dies on fifo:; it gets no jobserver through sudo");
        Assert.AreEqual(" -j2 --jobserver-auth=fifo:" + Pool.PoolPath, handover.Variables["CARGO_MAKEFLAGS"]);
        Assert.IsNull(handover.ShellLine);
    }

    [TestMethod]
    public void AnEmptyCargoMakeflagsDoesNotHideABrokenMakeflags()
    {
        var environment = new Dictionary<string, string?> { ["CARGO_MAKEFLAGS"] = "", ["MAKEFLAGS"] = "k -j4 --jobserver-auth=3,4", ["MFLAGS"] = "-k --jobserver-auth=fifo:/gone" };

        var plain = ChildEnvironment.ForPlainCommand(n => environment.GetValueOrDefault(n), _ => false, "make", usesShell: true, "/proc/1/fd/3").Variables;

        Assert.AreEqual("k -j4", plain["MAKEFLAGS"]);
        Assert.AreEqual("-k", plain["MFLAGS"]);
        Assert.IsFalse(plain.ContainsKey("CARGO_MAKEFLAGS"), "a variable that names no jobserver is left as it is");
        Assert.AreEqual("MAKEFLAGS", MakeFlags.FirstAdvertising(n => environment.GetValueOrDefault(n))?.VariableName);
    }

    [TestMethod]
    public void ThePlainCommandKeepsTheBuildsOwnPool()
    {
        var advertised = " -j2 --jobserver-auth=fifo:" + Pool.PoolPath;

        var plain = ChildEnvironment.ForPlainCommand(n => n == "CARGO_MAKEFLAGS" ? advertised : null, auth => auth.Name == Pool.PoolPath, "make", usesShell: true, "");

        Assert.IsEmpty(plain.Variables);
        Assert.IsNull(plain.ShellLine);
    }

    [TestMethod]
    public void APlainCommandGetsTheJoinedPipeOpenedAgainUnderItsOwnNumbers()
    {
        var environment = new Dictionary<string, string?> { ["MAKEFLAGS"] = " -j3 --jobserver-auth=3,4", ["MFLAGS"] = "-j3 --jobserver-auth=3,4" };

        var plain = ChildEnvironment.ForPlainCommand(n => environment.GetValueOrDefault(n), auth => auth.ReadFd == 3, "./build.sh", usesShell: true, "/proc/77/fd/3");

        Assert.AreEqual("exec 3<>\"$MSBUILD_JOBSERVER_FIFO\" 4<>\"$MSBUILD_JOBSERVER_FIFO\"", plain.ShellLine);
        Assert.AreEqual("/proc/77/fd/3", plain.Variables[ChildEnvironment.FifoVariable]);
        Assert.IsFalse(plain.Variables.ContainsKey("MAKEFLAGS"), "the variable stays as stock Exec passes it");
    }

    [TestMethod]
    [DataRow("( flock 4; ./build.sh ) 4>lock", true, DisplayName = "the command names descriptor 4 itself")]
    [DataRow("./build.sh", false, DisplayName = "no shell to open them")]
    public void APlainCommandThatCannotGetTheJoinedPipeLosesItsWords(string command, bool usesShell)
    {
        var environment = new Dictionary<string, string?> { ["MAKEFLAGS"] = "k -j3 --jobserver-auth=3,4" };

        var plain = ChildEnvironment.ForPlainCommand(n => environment.GetValueOrDefault(n), auth => auth.ReadFd == 3, command, usesShell, "/proc/77/fd/3");

        Assert.IsNull(plain.ShellLine);
        Assert.AreEqual("k -j3", plain.Variables["MAKEFLAGS"]);
    }

    [TestMethod]
    [DataRow("sudo make", "sudo")]
    [DataRow("cd x && doas cargo build", "doas")]
    [DataRow("make && echo sudo", null)]
    public void ClosingLayersAreFound(string command, string? layer) =>
        Assert.AreEqual(layer, CommandDescriptors.ClosingLayer(command));
}

/// <summary>
/// Which form a client behind a command reads, with the real programs of this machine: Debian's make 4.3 and ninja
/// 1.11 (neither reads fifo:), and `cmake --build` of a tree whose CMakeCache.txt names its generator.
/// </summary>
[TestClass]
public sealed class ToolClientsTests
{
    [TestMethod]
    public void AMakeOlderThan44ListedForFifoGetsDescriptorsAndIsSaid()
    {
        var (form, problem) = ToolClients.Resolve(new JobserverToolSpec("make", MakeflagsForm.Fifo), "make all", Path.GetTempPath(), "/usr/bin:/bin");

        Assert.AreEqual(MakeflagsForm.Descriptors, form);
        Assert.AreEqual("JOBS0053", problem?.Code);
    }

    [TestMethod]
    public void NinjaOlderThan113IsNoClient()
    {
        var (form, problem) = ToolClients.Resolve(new JobserverToolSpec("ninja", MakeflagsForm.Fifo), "ninja -C out", Path.GetTempPath(), "/usr/bin:/bin");

        Assert.AreEqual(MakeflagsForm.Fifo, form);
        Assert.AreEqual("JOBS0052", problem?.Code);
        StringAssert.Contains(problem?.Message, "1.13 or later");
    }

    [TestMethod]
    [DataRow("Ninja", "/usr/bin/ninja", "Fifo", "JOBS0052")]
    [DataRow("Unix Makefiles", "/usr/bin/make", "Descriptors", null)]
    public void CMakeBuildReadsTheTreesGenerator(string generator, string makeProgram, string expected, string? code)
    {
        var root = Path.Combine(Path.GetTempPath(), "jbs-cmake-" + Guid.NewGuid().ToString("N")[..6]);
        Directory.CreateDirectory(Path.Combine(root, "build"));
        try
        {
            File.WriteAllText(Path.Combine(root, "build", "CMakeCache.txt"),
                $"# This is the CMakeCache file.\nCMAKE_GENERATOR:INTERNAL={generator}\nCMAKE_MAKE_PROGRAM:FILEPATH={makeProgram}\n");

            var (form, problem) = ToolClients.Resolve(new JobserverToolSpec("cmake", MakeflagsForm.Descriptors), "cmake --build build --target all", root, "/usr/bin:/bin");

            Assert.AreEqual(expected, form.ToString());
            Assert.AreEqual(code, problem?.Code);
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }
}
