using System.IO.Compression;
using MSBuild.Jobserver.Testing;

namespace MSBuild.Jobserver.WindowsTests;

/// <summary>
/// Prepares, once per run, everything the Windows tests run under wine (in artifacts/windows): the prefix, the probe
/// and the MSBuild host published self-contained for win-x64, the Rust peer, and the package packed from sdk/ and
/// unpacked exactly as NuGet lays it out. Stops the prefix's wineserver at the end of the run.
/// </summary>
[TestClass]
public static class WindowsArtifacts
{
    private static string? _repositoryRoot;

    /// <summary>The repository (the directory holding MSBuild.Jobserver.sln).</summary>
    public static string RepositoryRoot => _repositoryRoot ??= FindRepositoryRoot();

    /// <summary>artifacts/windows: everything the tier writes.</summary>
    public static string WorkDirectory => Path.Combine(RepositoryRoot, "artifacts", "windows");

    /// <summary>WindowsProbe.exe (tests/WindowsProbe).</summary>
    public static string Probe => Path.Combine(WorkDirectory, "probe", "WindowsProbe.exe");

    /// <summary>The probe under another program name (cargo, make ...): a copy of its apphost beside it.</summary>
    public static string ProbeNamed(string program)
    {
        var path = Path.Combine(WorkDirectory, "probe", program + ".exe");
        if (!File.Exists(path) || File.GetLastWriteTimeUtc(path) < File.GetLastWriteTimeUtc(Probe))
        {
            File.Copy(Probe, path, overwrite: true);
        }

        return path;
    }

    /// <summary>WindowsMSBuildHost.exe (tests/WindowsMSBuildHost): MSBuild 17.7.2, in-proc and worker nodes.</summary>
    public static string MSBuildHost => Path.Combine(WorkDirectory, "host", "WindowsMSBuildHost.exe");

    /// <summary>peer.exe: the Rust jobserver crate 0.1.24 as a Windows client and pool.</summary>
    public static string RustPeer => Path.Combine(WorkDirectory, "rust", "peer.exe");

    /// <summary>The packed .nupkg's contents.</summary>
    public static string Package => Path.Combine(WorkDirectory, "package");

    /// <summary>Builds the Windows programs, packs the package and makes the prefix.</summary>
    [AssemblyInitialize]
    public static void Prepare(TestContext context)
    {
        if (Wine.Missing() is { } missing)
        {
            Prerequisite.Missing("the Windows tier cannot run here: " + missing);
        }

        Directory.CreateDirectory(WorkDirectory);
        Wine.StopServer();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        Wine.EnsurePrefix();
        Publish("WindowsProbe", "probe");
        Publish("WindowsMSBuildHost", "host");
        PackAndUnpack();
        BuildRustPeer();
        context.WriteLine($"windows tier prepared in {clock.Elapsed.TotalSeconds:0.0} s under {WorkDirectory}");
    }

    /// <summary>Stops the prefix's wineserver and every Windows process left in it.</summary>
    [AssemblyCleanup]
    public static void Stop() => Wine.StopServer();

    private static void Publish(string project, string output)
    {
        var result = Dotnet("publish", Path.Combine(RepositoryRoot, "tests", project, project + ".csproj"), "-c", "Release",
            "-o", Path.Combine(WorkDirectory, output), "--artifacts-path", Path.Combine(WorkDirectory, "obj-" + output));
        Assert.AreEqual(0, result.ExitCode, "dotnet publish " + project + " failed: " + result);
    }

    private static void PackAndUnpack()
    {
        var feed = Path.Combine(WorkDirectory, "feed");
        var result = Dotnet("pack", Path.Combine(RepositoryRoot, "sdk", "MSBuild.Jobserver.Package.csproj"), "-c", "Release",
            "-o", feed, "--artifacts-path", Path.Combine(WorkDirectory, "obj-pack"), "-p:Version=1.0.0");
        var package = Path.Combine(feed, "MSBuild.Jobserver.1.0.0.nupkg");
        Assert.IsTrue(result.ExitCode == 0 && File.Exists(package), "dotnet pack failed: " + result);
        if (Directory.Exists(Package))
        {
            Directory.Delete(Package, recursive: true);
        }

        ZipFile.ExtractToDirectory(package, Package);
    }

    private static void BuildRustPeer()
    {
        var directory = Path.Combine(WorkDirectory, "rust");
        Directory.CreateDirectory(directory);
        const string Target = "x86_64-pc-windows-gnu";
        var crate = Host.Run("/usr/bin/rustc", new[]
        {
            "--edition", "2018", "--crate-type", "rlib", "--crate-name", "jobserver", "--target", Target, "-O", "--cap-lints", "allow",
            "/usr/share/cargo/registry/jobserver-0.1.24/src/lib.rs", "--out-dir", directory,
        }, new Dictionary<string, string?>(), TimeSpan.FromMinutes(3));
        Assert.AreEqual(0, crate.ExitCode, "building the jobserver crate for Windows failed: " + crate);
        var peer = Host.Run("/usr/bin/rustc", new[]
        {
            "--edition", "2018", "--target", Target, "-C", "linker=x86_64-w64-mingw32-gcc", "-O",
            "--extern", "jobserver=" + Path.Combine(directory, "libjobserver.rlib"),
            Path.Combine(RepositoryRoot, "tests", "MSBuild.Jobserver.WindowsTests", "RustPeer", "peer.rs"), "-o", RustPeer,
        }, new Dictionary<string, string?>(), TimeSpan.FromMinutes(3));
        Assert.AreEqual(0, peer.ExitCode, "building the Rust peer failed: " + peer);
    }

    private static ProcessResult Dotnet(params string[] args) =>
        Host.Run("dotnet", args.Concat(new[] { "-nodeReuse:false", "-tl:off", "-nologo" }), new Dictionary<string, string?>
        {
            ["MSBUILDDISABLENODEREUSE"] = "1",
            ["DOTNET_CLI_USE_MSBUILD_SERVER"] = "0",
        }, TimeSpan.FromMinutes(5), RepositoryRoot);

    private static string FindRepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "MSBuild.Jobserver.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException("MSBuild.Jobserver.sln not found above " + AppContext.BaseDirectory);
    }
}
