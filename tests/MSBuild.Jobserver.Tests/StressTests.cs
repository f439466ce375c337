using System.Diagnostics;
using System.Globalization;
using MSBuild.Jobserver.Platform;

namespace MSBuild.Jobserver.Tests;

/// <summary>
/// Threads of this process and separate probe processes fight over one pool. Each holder logs when it held a token
/// (after taking it, before giving it back) on the machine-wide monotonic clock; the overlap of those intervals is
/// the number of tokens really in use, whatever our own code believes.
/// </summary>
[TestClass]
public sealed class StressTests
{
    private const int Slots = 3;
    private const int Threads = 8;
    private const int Processes = 4;
    private const int Iterations = 1000;

    [TestMethod]
    public void NeverMoreHoldersThanTokensAndNoTokenLost()
    {
        var dir = TestSupport.NewTempDirectory("stress");
        try
        {
            using var pool = PoolPlatform.CreatePool(Slots, dir);
            var identity = pool.Identity!.Value.ToString();
            var clock = Stopwatch.StartNew();
            var processes = Enumerable.Range(0, Processes).Select(i => Task.Run(() => TestSupport.Run(
                "dotnet",
                new[] { TestSupport.ProbeDll, "stress", pool.Auth.Path!, identity, Iterations.ToString(CultureInfo.InvariantCulture), Path.Combine(dir, "p" + i + ".log") },
                timeout: TimeSpan.FromSeconds(30)))).ToArray();

            // Half the threads share one client (a client is thread-safe); the others have their own.
            using var shared = PoolPlatform.Connect(pool.Auth);
            var threadLogs = new List<string>[Threads];
            var threads = Enumerable.Range(0, Threads).Select(t => new Thread(() =>
            {
                using var own = PoolPlatform.Connect(pool.Auth);
                var client = t % 2 == 0 ? shared : own;
                var log = threadLogs[t] = new List<string>(Iterations);
                for (var i = 0; i < Iterations; i++)
                {
                    var token = client.Acquire(CancellationToken.None, TimeSpan.FromSeconds(30));
                    var start = Stopwatch.GetTimestamp();
                    Thread.SpinWait(2000);
                    var end = Stopwatch.GetTimestamp();
                    client.Release(token);
                    log.Add(start.ToString(CultureInfo.InvariantCulture) + " " + end.ToString(CultureInfo.InvariantCulture));
                }
            })).ToList();
            threads.ForEach(t => t.Start());
            threads.ForEach(t => t.Join());
            Task.WaitAll(processes);
            var elapsed = clock.Elapsed;

            foreach (var process in processes)
            {
                Assert.AreEqual(0, process.Result.ExitCode, process.Result.ToString());
            }

            var intervals = threadLogs.SelectMany(l => l)
                .Concat(Enumerable.Range(0, Processes).SelectMany(i => File.ReadAllLines(Path.Combine(dir, "p" + i + ".log"))))
                .ToList();
            Assert.HasCount((Threads + Processes) * Iterations, intervals);
            Assert.AreEqual(Slots, TestSupport.MaxOverlap(intervals), "in use at once (measured); took " + elapsed);
            var report = pool.Close();
            Assert.AreEqual((Slots, 0, 0), (report.Found, report.Missing, report.Extra));
            Assert.IsLessThan(TimeSpan.FromSeconds(20), elapsed);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
