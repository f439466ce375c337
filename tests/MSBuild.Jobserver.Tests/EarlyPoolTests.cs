using MSBuild.Jobserver.Platform;
using MSBuild.Jobserver.Pools;
using MSBuild.Jobserver.Protocol;
using MSBuild.Jobserver.Tasks.EntryProcess;

namespace MSBuild.Jobserver.Tests;

/// <summary>
/// The pool the entry process's first ConfigureJobserver starts making in the background: made once, taken once, its
/// failure thrown where the owner asks, closed at the build's end when no tool asked.
/// </summary>
[TestClass]
public sealed class EarlyPoolTests
{
    private string _parent = null!;

    [TestInitialize]
    public void Setup() => _parent = TestSupport.NewTempDirectory("early-pool");

    [TestCleanup]
    public void Cleanup() => Directory.Delete(_parent, recursive: true);

    /// <summary>
    /// Many first tools ask at once (a barrier), while the background creation is still running: the pool is made
    /// once, exactly one asker gets it, and the build's end does not close the pool the owner took.
    /// </summary>
    [TestMethod]
    public void ThePoolIsMadeOnceAndTakenOnceWhenAskersRaceTheCreation()
    {
        for (var round = 0; round < 20; round++)
        {
            var made = 0;
            using var creationMayEnd = new ManualResetEventSlim();
            var early = new EarlyPool(2, slots =>
            {
                Interlocked.Increment(ref made);
                creationMayEnd.Wait();
                return PoolPlatform.CreatePool(slots, _parent);
            });

            const int askers = 8;
            using var barrier = new Barrier(askers + 1);
            var taken = new JobTokenPool?[askers];
            var threads = Enumerable.Range(0, askers).Select(i => new Thread(() =>
            {
                barrier.SignalAndWait();
                taken[i] = early.Take(2);
            })).ToList();
            threads.ForEach(t => t.Start());
            barrier.SignalAndWait();
            creationMayEnd.Set();
            threads.ForEach(t => t.Join());

            var pools = taken.Where(p => p is not null).ToList();
            Assert.HasCount(1, pools, $"round {round}: exactly one asker gets the pool");
            Assert.AreEqual(1, made, $"round {round}: the pool is made once");
            Assert.HasCount(1, BuildDirectories(), $"round {round}: one pool directory");

            early.Dispose();
            Assert.AreEqual(2, pools[0]!.CountAvailable(), $"round {round}: the build's end left the taken pool open");
            pools[0]!.Close();
            Assert.IsEmpty(BuildDirectories(), $"round {round}: the owner's close removes it");
        }
    }

    /// <summary>No tool asked: the build's end closes the pool and removes its directory.</summary>
    [TestMethod]
    public void APoolNoToolAskedForIsClosedAtTheBuildsEnd()
    {
        var early = new EarlyPool(3, slots => PoolPlatform.CreatePool(slots, _parent));
        early.Dispose();

        Assert.IsEmpty(BuildDirectories(), "the unused pool's directory outlived the build");
        Assert.IsNull(early.Take(3), "a closed early pool is never handed out");
    }

    /// <summary>The first tool asks for another size: it gets none (the owner makes its own) and the early one is closed.</summary>
    [TestMethod]
    public void AnotherSizeIsNotTakenAndTheEarlyPoolIsClosed()
    {
        var early = new EarlyPool(3, slots => PoolPlatform.CreatePool(slots, _parent));

        Assert.IsNull(early.Take(4));
        Assert.IsEmpty(BuildDirectories(), "the early pool of the wrong size was left open");
        early.Dispose();
    }

    /// <summary>
    /// Making the pool failed in the background: the asker gets the same exception (the owner turns it into its coded
    /// warning there, as before); a failure nobody asked about is said nowhere and never thrown at the build's end.
    /// </summary>
    [TestMethod]
    public void AFailureIsThrownWhereTheOwnerAsksAndNowhereElse()
    {
        JobTokenPool Fail(int slots) => throw new JobserverException(JobserverRejection.PlatformUnsupported, "no pools here");

        var asked = new EarlyPool(2, Fail);
        var thrown = Assert.ThrowsExactly<JobserverException>(() => asked.Take(2));
        Assert.AreEqual(JobserverRejection.PlatformUnsupported, thrown.Reason);
        asked.Dispose();

        var unasked = new EarlyPool(2, Fail);
        unasked.Dispose();
    }

    private string[] BuildDirectories() =>
        Directory.GetDirectories(_parent, "msbuild-jobserver-*").SelectMany(d => Directory.GetDirectories(d, "build-*")).ToArray();
}
