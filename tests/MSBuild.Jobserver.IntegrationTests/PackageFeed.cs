using System.Runtime.InteropServices;

namespace MSBuild.Jobserver.IntegrationTests;

/// <summary>
/// Packs the package once per test run into a local feed (artifacts/e2e/feed), with its own NuGet packages folder
/// (artifacts/e2e/packages): the same version is repacked on every run, so a shared folder would serve a stale copy.
/// </summary>
[TestClass]
public static class PackageFeed
{
    /// <summary>The version the fixtures reference.</summary>
    public const string Version = "1.0.0";

    /// <summary>The package id.</summary>
    public const string Id = "MSBuild.Jobserver";

    /// <summary>The SDK the fixture projects use: a restorable project that compiles nothing.</summary>
    public const string NoTargetsSdk = "Microsoft.Build.NoTargets/3.7.0";

    private static string? _repositoryRoot;

    /// <summary>The repository (the directory holding MSBuild.Jobserver.sln).</summary>
    public static string RepositoryRoot => _repositoryRoot ??= FindRepositoryRoot();

    /// <summary>artifacts/e2e: everything this test run writes inside the repository.</summary>
    public static string WorkDirectory => Path.Combine(RepositoryRoot, "artifacts", "e2e");

    /// <summary>The local feed holding the freshly packed package.</summary>
    public static string FeedDirectory => Path.Combine(WorkDirectory, "feed");

    /// <summary>NUGET_PACKAGES for every build of this run.</summary>
    public static string PackagesDirectory => Path.Combine(WorkDirectory, "packages");

    /// <summary>Where the fixtures of this run are generated: outside the repository, so none of its Directory.*.props apply.</summary>
    public static string FixturesDirectory { get; } =
        Path.Combine(Path.GetTempPath(), "jbs-e2e", DateTime.UtcNow.ToString("yyyyMMdd-HHmmss", System.Globalization.CultureInfo.InvariantCulture) + "-" + Environment.ProcessId);

    /// <summary>The user id, which names the package's private directory (msbuild-jobserver-UID).</summary>
    public static uint UserId => getuid();

    /// <summary>Wipes artifacts/e2e and packs the package from sdk/ into the feed.</summary>
    [AssemblyInitialize]
    public static void Pack(TestContext context)
    {
        if (!OperatingSystem.IsLinux())
        {
            Assert.Inconclusive("The end-to-end tests need Linux (FIFOs, /proc, sh, cargo, make).");
        }

        if (Directory.Exists(WorkDirectory))
        {
            Directory.Delete(WorkDirectory, recursive: true);
        }

        Directory.CreateDirectory(FeedDirectory);
        Directory.CreateDirectory(PackagesDirectory);

        // Generous: on a shared, loaded 2-core machine the pack alone has taken over 5 minutes.
        // Only the package project, with its own artifacts path: packing the whole solution would rebuild the test
        // projects in place while they run, and the repository's bin/obj may be in use by another build.
        var outcome = ProcessRunner.Run("dotnet",
            new[]
            {
                "pack", Path.Combine(RepositoryRoot, "sdk", "MSBuild.Jobserver.Package.csproj"),
                "-c", "Release", "-o", FeedDirectory, "--artifacts-path", Path.Combine(WorkDirectory, "pack"),
                "-p:Version=" + Version, "-nodeReuse:false", "-tl:off", "-nologo",
            },
            RepositoryRoot, Path.Combine(WorkDirectory, "pack.log"),
            new Dictionary<string, string?>
            {
                ["MSBUILDDISABLENODEREUSE"] = "1",
                ["DOTNET_CLI_USE_MSBUILD_SERVER"] = "0",
            },
            TimeSpan.FromMinutes(15));
        var package = Path.Combine(FeedDirectory, $"{Id}.{Version}.nupkg");
        Assert.IsTrue(outcome.ExitCode == 0 && File.Exists(package), $"dotnet pack failed ({outcome}):\n{ProcessRunner.Tail(outcome.Output)}");
        context.WriteLine($"packed {package} in {outcome.Elapsed.TotalSeconds:0.0} s; fixtures in {FixturesDirectory}");
    }

    /// <summary>Removes this run's fixtures directory when every fixture in it was cleaned up (all tests passed).</summary>
    [AssemblyCleanup]
    public static void RemoveFixturesDirectory()
    {
        if (Directory.Exists(FixturesDirectory) && !Directory.EnumerateFileSystemEntries(FixturesDirectory).Any())
        {
            Directory.Delete(FixturesDirectory);
        }
    }

    private static string FindRepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "MSBuild.Jobserver.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("MSBuild.Jobserver.sln not found above " + AppContext.BaseDirectory);
    }

    [DllImport("libc", SetLastError = false)]
    private static extern uint getuid();
}
