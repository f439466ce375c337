using MSBuild.Jobserver.Platform;
using Mono.Unix.Native;

namespace MSBuild.Jobserver.Tests;

/// <summary>
/// Issue 5: the build's pool is private. Another user (uid 65534, through setpriv) can neither read a token from the
/// FIFO nor add one, nor list or enter its directories: every open fails with EACCES. This user can.
/// </summary>
[TestClass]
public sealed class PoolPrivacyTests
{
    private const uint Nobody = 65534;

    public TestContext TestContext { get; set; } = null!;

    [TestMethod]
    public void AnotherUserCanNeitherReadNorAddTokens()
    {
        // A python3 the other user can run (pyenv shims under /root are not).
        var python = new[] { "/usr/bin/python3", "/usr/local/bin/python3" }.FirstOrDefault(File.Exists);
        if (Syscall.getuid() != 0 || !TestSupport.HasTool("setpriv") || python is null)
        {
            Assert.Inconclusive("Needs root, setpriv (util-linux) and a system python3 to act as another user.");
        }

        // The parent must be reachable by the other user, as /tmp is, so that only the pool's own modes stop it.
        var parent = TestSupport.NewTempDirectory("privacy");
        Assert.AreEqual(0, Syscall.chmod(parent, (FilePermissions)Convert.ToUInt32("755", 8)));
        try
        {
            using var pool = PoolPlatform.CreatePool(3, parent);
            var fifo = pool.Auth.Path!;
            var poolDirectory = pool.Directory!;
            var userDirectory = Path.GetDirectoryName(poolDirectory)!;
            ExpectMode(userDirectory, "700", Syscall.getuid());
            ExpectMode(poolDirectory, "700", Syscall.getuid());
            ExpectMode(fifo, "600", Syscall.getuid());

            // As nobody: each attempt prints the errno of its open() (python3 is the client: it reports errno exactly).
            var attempts = new Dictionary<string, string>
            {
                ["read a token"] = $"os.read(os.open({Quote(fifo)}, os.O_RDONLY | os.O_NONBLOCK), 1)",
                ["add a token"] = $"os.write(os.open({Quote(fifo)}, os.O_WRONLY | os.O_NONBLOCK), b'+')",
                ["open read-write"] = $"os.open({Quote(fifo)}, os.O_RDWR)",
                ["list the pool directory"] = $"os.listdir({Quote(poolDirectory)})",
                ["list the user directory"] = $"os.listdir({Quote(userDirectory)})",
                ["create a file beside the FIFO"] = $"os.open({Quote(Path.Combine(poolDirectory, "lease-1-x"))}, os.O_CREAT | os.O_WRONLY)",
            };
            foreach (var (what, call) in attempts)
            {
                var script = $"import os, errno, sys\ntry:\n    {call}\n    print('OK')\nexcept OSError as e:\n    print(errno.errorcode[e.errno])\n";
                var result = TestSupport.Run("setpriv", new[] { $"--reuid={Nobody}", $"--regid={Nobody}", "--clear-groups", python, "-c", script });
                TestContext.WriteLine($"uid {Nobody}: {what}: {result.Stdout.Trim()}{result.Stderr.Trim()}");
                Assert.AreEqual(0, result.ExitCode, result.ToString());
                Assert.AreEqual("EACCES", result.Stdout.Trim(), $"another user could {what}: {result}");
            }

            // The control: the same checks as this user succeed, and every token is still there.
            using (var client = PoolPlatform.ConnectToValidated(fifo, pool.Identity!.Value))
            {
                var token = client.Acquire(CancellationToken.None, TimeSpan.FromSeconds(5));
                client.Release(token);
            }

            var report = pool.Close();
            Assert.AreEqual((3, 0, 0), (report.Found, report.Missing, report.Extra), "tokens after the other user's attempts");
        }
        finally
        {
            Directory.Delete(parent, recursive: true);
        }
    }

    private static string Quote(string path) => "'" + path.Replace("'", "\\'", StringComparison.Ordinal) + "'";

    private static void ExpectMode(string path, string octal, uint uid)
    {
        Assert.AreEqual(0, Syscall.lstat(path, out var stat), path);
        Assert.AreEqual(octal, Convert.ToString((int)stat.st_mode & 0xFFF, 8), "mode of " + path);
        Assert.AreEqual(uid, stat.st_uid, "owner of " + path);
    }
}
