using System.IO.Compression;
using System.Reflection.PortableExecutable;

namespace MSBuild.Jobserver.IntegrationTests;

/// <summary>
/// The packed task folder carries Mono.Unix and its native library for every platform with a POSIX pool, Apple
/// silicon included (Mono.Posix.NETStandard 1.0.0 had none for it), and nothing of the old library. macOS cannot run
/// here: this checks the files and their machine type, not that they load. Beside it, the folder precompiled for Linux
/// x64 (ReadyToRun images) with its own deps.json and Mono.Unix; the IL folders stay IL, loadable everywhere.
/// </summary>
[TestClass]
public sealed class PackageLayoutTests
{
    private const string Tasks = "tasks/net8.0/";
    private const int LinuxMark = 0x7B79;

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

    [TestMethod]
    public void The_precompiled_folder_holds_linux_x64_images_and_the_IL_folders_stay_IL()
    {
        using var package = ZipFile.OpenRead(Path.Combine(PackageFeed.FeedDirectory, $"{PackageFeed.Id}.{PackageFeed.Version}.nupkg"));
        const string Precompiled = "tasks/net8.0-linux-x64/";
        var entries = package.Entries.Select(e => e.FullName).Where(e => e.StartsWith(Precompiled, StringComparison.Ordinal)).Order().ToList();
        CollectionAssert.AreEqual(
            new[] { "MSBuild.Jobserver.Tasks.deps.json", "MSBuild.Jobserver.Tasks.dll", "MSBuild.Jobserver.dll", "Mono.Unix.dll", "runtimes/linux-x64/native/libMono.Unix.so" }.Select(e => Precompiled + e).Order().ToList(),
            entries, "the precompiled folder:\n" + string.Join('\n', entries));

        // Mono.Unix too: it ships as IL, and every build runs its calls. The netstandard2.0 folder has no Mono.Unix (Windows).
        foreach (var assembly in new[] { "MSBuild.Jobserver.dll", "MSBuild.Jobserver.Tasks.dll", "Mono.Unix.dll" })
        {
            var image = Headers(package, Precompiled + assembly);
            Assert.AreNotEqual(0, image.CorHeader!.ManagedNativeHeaderDirectory.Size, assembly + " is not a ReadyToRun image");
            // A ReadyToRun image's machine type is the CPU's XOR the OS's mark (Linux 0x7B79): why Windows refuses it (MSB4062).
            Assert.AreEqual((ushort)Machine.Amd64 ^ LinuxMark, (int)image.CoffHeader.Machine, assembly + " is not compiled for Linux x64");
            foreach (var folder in assembly == "Mono.Unix.dll" ? new[] { "tasks/net8.0/" } : new[] { "tasks/net8.0/", "tasks/netstandard2.0/" })
            {
                var il = Headers(package, folder + assembly);
                Assert.AreEqual(0, il.CorHeader!.ManagedNativeHeaderDirectory.Size, folder + assembly + " is precompiled: other platforms could not load it");
                Assert.AreEqual(Machine.I386, il.CoffHeader.Machine, folder + assembly + " is not IL for any CPU");
            }
        }
    }

    private static PEHeaders Headers(ZipArchive package, string entry)
    {
        using var stream = new MemoryStream();
        using (var packed = package.GetEntry(entry)!.Open())
        {
            packed.CopyTo(stream);
        }

        stream.Position = 0;
        using var reader = new PEReader(stream);
        return reader.PEHeaders;
    }
}
