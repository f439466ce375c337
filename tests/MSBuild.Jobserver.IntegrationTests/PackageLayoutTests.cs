using System.IO.Compression;

namespace MSBuild.Jobserver.IntegrationTests;

/// <summary>
/// The packed task folder carries Mono.Unix and its native library for every platform with a POSIX pool, Apple
/// silicon included (Mono.Posix.NETStandard 1.0.0 had none for it), and nothing of the old library. macOS cannot run
/// here: this checks the files and their machine type, not that they load.
/// </summary>
[TestClass]
public sealed class PackageLayoutTests
{
    private const string Tasks = "tasks/net8.0/";

    [TestMethod]
    public void The_packed_task_folder_carries_Mono_Unix_for_Linux_and_both_Mac_architectures()
    {
        using var package = ZipFile.OpenRead(Path.Combine(PackageFeed.FeedDirectory, $"{PackageFeed.Id}.{PackageFeed.Version}.nupkg"));
        var entries = package.Entries.Select(e => e.FullName).ToHashSet();
        foreach (var expected in new[]
        {
            "Mono.Unix.dll", "runtimes/linux-x64/native/libMono.Unix.so", "runtimes/linux-arm64/native/libMono.Unix.so",
            "runtimes/linux-arm/native/libMono.Unix.so", "runtimes/osx-x64/native/libMono.Unix.dylib", "runtimes/osx-arm64/native/libMono.Unix.dylib",
        })
        {
            Assert.IsTrue(entries.Contains(Tasks + expected), $"{Tasks}{expected} is not in the package:\n{string.Join('\n', entries.Order())}");
        }

        Assert.IsFalse(entries.Any(e => e.Contains("Mono.Posix", StringComparison.Ordinal) || e.Contains("MonoPosixHelper", StringComparison.Ordinal)), "the old library is still packed");
        Assert.IsFalse(entries.Any(e => e.Contains("/android-", StringComparison.Ordinal) || e.Contains("/ios", StringComparison.Ordinal)), "platforms MSBuild never runs on are packed");

        // A 64-bit Mach-O for ARM64 (magic 0xfeedfacf, CPU_TYPE_ARM64 = 0x0100000c), and the deps.json names it,
        // so MSBuild's load context resolves it on an Apple silicon Mac.
        var header = new byte[8];
        using (var dylib = package.GetEntry(Tasks + "runtimes/osx-arm64/native/libMono.Unix.dylib")!.Open())
        {
            dylib.ReadExactly(header);
        }

        Assert.AreEqual(0xfeedfacfu, BitConverter.ToUInt32(header, 0), "not a 64-bit Mach-O");
        Assert.AreEqual(0x0100000cu, BitConverter.ToUInt32(header, 4), "not built for ARM64");
        using var deps = new StreamReader(package.GetEntry(Tasks + "MSBuild.Jobserver.Tasks.deps.json")!.Open());
        StringAssert.Contains(deps.ReadToEnd(), "runtimes/osx-arm64/native/libMono.Unix.dylib");
    }
}
