using System.Globalization;
using System.IO.MemoryMappedFiles;
using MSBuild.Jobserver.Platform;
using MSBuild.Jobserver.Protocol;

/// <summary>
/// <c>probe load &lt;fifo&gt; &lt;dev:ino&gt; &lt;threads&gt; &lt;iterations&gt; &lt;counter file&gt;</c>: threads that each
/// acquire and release a token <c>iterations</c> times. While a thread holds a token it counts itself in a counter
/// shared by every process through a memory-mapped file (int 0: holders now, int 1: the most ever seen, int 2: holds
/// done), so the test reads the real peak of concurrent holders across all processes.
/// </summary>
internal static unsafe class LoadProbe
{
    public static int Run(string fifo, string identity, int threads, int iterations, string counterFile)
    {
        if (!PipeIdentity.TryParse(identity, out var expected))
        {
            return 2;
        }

        using var map = MemoryMappedFile.CreateFromFile(counterFile, FileMode.Open, null, 0, MemoryMappedFileAccess.ReadWrite);
        using var view = map.CreateViewAccessor(0, 16, MemoryMappedFileAccess.ReadWrite);
        byte* bytes = null;
        view.SafeMemoryMappedViewHandle.AcquirePointer(ref bytes);
        try
        {
            var counters = (int*)(bytes + view.PointerOffset);
            using var client = PoolPlatform.ConnectToValidated(fifo, expected);
            var failures = 0;
            var workers = Enumerable.Range(0, threads).Select(_ => new Thread(() =>
            {
                try
                {
                    for (var i = 0; i < iterations; i++)
                    {
                        var token = client.Acquire(CancellationToken.None, TimeSpan.FromSeconds(120));
                        var now = Interlocked.Increment(ref counters[0]);
                        for (var max = Volatile.Read(ref counters[1]); now > max; max = Volatile.Read(ref counters[1]))
                        {
                            if (Interlocked.CompareExchange(ref counters[1], now, max) == max)
                            {
                                break;
                            }
                        }

                        Interlocked.Increment(ref counters[2]);
                        // Give the core away while holding: on a 2-core machine that is how more than 2 holders overlap.
                        Thread.Yield();
                        Thread.SpinWait(50);
                        Interlocked.Decrement(ref counters[0]);
                        client.Release(token);
                    }
                }
                catch (Exception e)
                {
                    Interlocked.Increment(ref failures);
                    Console.Error.WriteLine(e);
                }
            })).ToList();
            workers.ForEach(t => t.Start());
            workers.ForEach(t => t.Join());
            Console.WriteLine("OK " + (threads * iterations).ToString(CultureInfo.InvariantCulture) + " failures=" + failures.ToString(CultureInfo.InvariantCulture));
            return failures == 0 ? 0 : 1;
        }
        finally
        {
            view.SafeMemoryMappedViewHandle.ReleasePointer();
        }
    }
}
