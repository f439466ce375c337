using MSBuild.Jobserver.Tasks.EntryProcess;
using MSBuild.Jobserver.Tasks.EveryNode;
using MSBuild.Jobserver.Tokens;

namespace MSBuild.Jobserver.Tests;

/// <summary>
/// Whether a project's request gets exactly the build's existing pool: the owner warns (JOBS0026) when it does not, and a
/// worker node skips its trip to the rendezvous only when it does, with the handle that came with the entry project.
/// </summary>
[TestClass]
public sealed class PoolMismatchTests
{
    /// <summary>The build's own pool serves a request of its size and scope; another size or scope gets the warning's text.</summary>
    [TestMethod]
    [DataRow(2, false, 2, false, null)]
    [DataRow(2, false, 2, false, null, 512L)]
    [DataRow(2, false, 3, false, "different jobserver sizes (2 and 3)")]
    [DataRow(2, false, 2, true, "different jobserver scopes (JobserverScope); the build keeps the first, Build")]
    [DataRow(4, true, 4, false, "different jobserver scopes (JobserverScope); the build keeps the first, User")]
    [DataRow(4, true, 2, true, null)]
    public void AnOwnedPoolServesOnlyItsOwnSizeAndScope(int slots, bool shared, int askedSlots, bool askedUser, string? warning, long askedMinFree = 0)
    {
        var handle = new BuildJobserverHandle { Mode = BuildJobserverMode.Owned, Slots = slots, Shared = shared };

        var why = BuildJobserverOwner.Mismatch(handle, new OwnerRequest(askedSlots, askedUser, askedMinFree));

        if (warning is null)
        {
            Assert.IsNull(why);
        }
        else
        {
            Assert.IsNotNull(why);
            StringAssert.Contains(why, warning);
        }
    }

    /// <summary>An inherited jobserver (make's -j) and "no pool" serve every request: the build keeps them whatever a project asks.</summary>
    [TestMethod]
    public void AnInheritedPoolOrNoPoolServesEveryRequest()
    {
        var inherited = new BuildJobserverHandle { Mode = BuildJobserverMode.Inherited, Slots = 3 };
        var none = BuildJobserverHandle.None("one node", inheritedRejected: false);

        foreach (var request in new[] { new OwnerRequest(2, false, 0), new OwnerRequest(8, true, 100) })
        {
            Assert.IsNull(BuildJobserverOwner.Mismatch(inherited, request));
            Assert.IsNull(BuildJobserverOwner.Mismatch(none, request));
        }
    }

    /// <summary>The handle the rendezvous hands a worker survives its item form with the entry project beside it.</summary>
    [TestMethod]
    public void TheHandleItemCarriesTheEntryProjectBesideThePool()
    {
        var handle = new BuildJobserverHandle { Nonce = "n1", Mode = BuildJobserverMode.Owned, Slots = 2, PoolPath = "/tmp/p/fifo", OwnerProcessId = 42 };
        var item = handle.ToItem();
        item.SetMetadata(HandleItem.EntryProjectMetadata, "/src/all.proj");

        var back = item.ToHandle();

        Assert.AreEqual("n1", back.Nonce);
        Assert.AreEqual(2, back.Slots);
        Assert.AreEqual("/tmp/p/fifo", back.PoolPath);
        Assert.AreEqual("/src/all.proj", item.GetMetadata(HandleItem.EntryProjectMetadata));
    }
}
