using System.Text;
using MSBuild.Jobserver.Platform;
using MSBuild.Jobserver.Pools;
using MSBuild.Jobserver.Protocol;
using MSBuild.Jobserver.Testing;

namespace MSBuild.Jobserver.Tests;

/// <summary>
/// cargo as a real client of our pool, in both advertisement forms. The machine has 2 cores, so cargo left alone
/// runs 2 rustc at once; 3 at once can only come from our pool of 3.
/// </summary>
[TestClass]
public sealed class CargoTests
{
    private const int Slots = 3;
    private const int Crates = 4;
    private static string s_workspace = null!;

    [ClassInitialize]
    public static void CreateWorkspace(TestContext context)
    {
        if (!TestSupport.HasTool("cargo"))
        {
            return;
        }

        s_workspace = TestSupport.NewTempDirectory("cargo");
        var members = Enumerable.Range(0, Crates).Select(i => "\"w" + i + "\"");
        File.WriteAllText(Path.Combine(s_workspace, "Cargo.toml"), "[workspace]\nmembers = [" + string.Join(", ", members) + "]\nresolver = \"2\"\n");
        for (var i = 0; i < Crates; i++)
        {
            var src = Directory.CreateDirectory(Path.Combine(s_workspace, "w" + i, "src")).FullName;
            File.WriteAllText(Path.Combine(s_workspace, "w" + i, "Cargo.toml"), "[package]\nname = \"w" + i + "\"\nversion = \"0.1.0\"\nedition = \"2021\"\n");
            File.WriteAllText(Path.Combine(src, "lib.rs"), SlowToCompile(12));
        }

        // Logs each compile of a workspace crate (not cargo's `rustc -vV` queries) as "start end".
        var wrapper = Path.Combine(s_workspace, "rustc-wrapper.sh");
        TestSupport.WriteLines(wrapper,
            "#!/bin/sh",
            "case \" $* \" in *\" --crate-name w\"[0-9]*) log=1 ;; *) log=0 ;; esac",
            "s=$(date +%s.%N)",
            "\"$@\"; rc=$?",
            "e=$(date +%s.%N)",
            "[ $log = 1 ] && echo \"$s $e\" >> \"$WRAPPER_LOG\"",
            "exit $rc");
        Assert.AreEqual(0, Mono.Unix.Native.Syscall.chmod(wrapper, (Mono.Unix.Native.FilePermissions)Convert.ToUInt32("700", 8)));
    }

    [ClassCleanup]
    public static void DeleteWorkspace()
    {
        if (s_workspace is not null)
        {
            Directory.Delete(s_workspace, recursive: true);
        }
    }

    [TestMethod]
    public void CargoRunsAsManyRustcAsTheFifoPoolAllows() =>
        BuildAndMeasure("fifo", pool => ("cargo", new[] { "build", "--offline" }, MakeFlags.Format(pool.Auth, Slots)));

    [TestMethod]
    public void CargoRunsAsManyRustcAsThePipePoolAllows() =>
        BuildAndMeasure("fds", pool => (
            "/bin/sh",
            new[] { "-c", "exec 8<>\"$JOBSERVER_FIFO\" 9<>\"$JOBSERVER_FIFO\"; exec cargo build --offline" },
            MakeFlags.Format(JobserverAuth.Pipe(8, 9), Slots)));

    private static void BuildAndMeasure(string name, Func<JobTokenPool, (string File, string[] Args, string CargoMakeflags)> command)
    {
        if (s_workspace is null)
        {
            Prerequisite.Missing("cargo");
        }

        var log = Path.Combine(s_workspace, name + ".log");
        using var pool = PoolPlatform.CreatePool(Slots, s_workspace);
        using var client = PoolPlatform.Connect(pool.Auth);
        var (file, args, flags) = command(pool);
        var implicitSlot = client.Acquire(CancellationToken.None);
        var result = TestSupport.Run(
            file,
            args,
            new Dictionary<string, string?>
            {
                ["CARGO_MAKEFLAGS"] = flags,
                ["JOBSERVER_FIFO"] = pool.Auth.Path,
                ["CARGO_TARGET_DIR"] = Path.Combine(s_workspace, "target-" + name),
                ["RUSTC_WRAPPER"] = Path.Combine(s_workspace, "rustc-wrapper.sh"),
                ["WRAPPER_LOG"] = log,
                ["CARGO_INCREMENTAL"] = "0",
                ["CARGO_BUILD_JOBS"] = null,
                ["CARGO_TERM_COLOR"] = "never",
                // One codegen unit: rustc then needs no extra tokens of its own, so every token is a whole rustc.
                ["CARGO_PROFILE_DEV_CODEGEN_UNITS"] = "1",
            },
            s_workspace,
            TimeSpan.FromSeconds(120));
        client.Release(implicitSlot);

        Assert.AreEqual(0, result.ExitCode, result.ToString());
        Assert.DoesNotContain("jobserver", result.Stderr, StringComparison.OrdinalIgnoreCase, result.ToString());
        Assert.DoesNotContain("warning", result.Stderr, StringComparison.OrdinalIgnoreCase, result.ToString());
        var lines = File.ReadAllLines(log);
        Assert.HasCount(Crates, lines, result.ToString());
        Assert.AreEqual(Slots, TestSupport.MaxOverlap(lines), string.Join('\n', lines) + "\n" + result);
        var report = pool.Close();
        Assert.AreEqual((Slots, 0, 0), (report.Found, report.Missing, report.Extra));
    }

    /// <summary>Functions whose closures each monomorphise their own iterator chain: about a second of debug rustc.</summary>
    private static string SlowToCompile(int functions)
    {
        var code = new StringBuilder();
        for (var i = 0; i < functions; i++)
        {
            code.Append("pub fn f").Append(i).Append("(x: &[u64]) -> u64 { let mut v: Vec<u64> = x.iter().map(|a| a.wrapping_mul(")
                .Append(i + 3).Append(")).filter(|a| a % ").Append(i + 7).Append(" != 0).collect(); v.sort_by(|a, b| b.cmp(a)); ")
                .Append("let s: std::collections::BTreeMap<u64, String> = v.iter().map(|a| (*a, format!(\"{}-").Append(i)
                .Append("\", a))).collect(); s.values().map(|t| t.len() as u64).sum::<u64>() + v.len() as u64 }\n");
        }

        return code.ToString();
    }
}
