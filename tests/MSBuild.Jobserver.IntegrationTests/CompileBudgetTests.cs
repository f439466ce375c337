using System.Globalization;
using System.Text;

namespace MSBuild.Jobserver.IntegrationTests;

/// <summary>
/// JobserverCountCompile: C# compiles that really run take a slot, so csc and rustc share one budget; an up-to-date
/// compile takes none, and a failed one gives its slot back. csc's runs are measured by wrapping csc itself
/// (CscToolExe) in interval.sh, beside the RUSTC_WRAPPER's log of every rustc.
/// </summary>
[TestClass]
public sealed class CompileBudgetTests : EndToEndTest
{
    private const int Slots = 2;

    /// <summary>
    /// Three C# projects and two cargo projects built in parallel (-m:4, 2 slots, the setting on): at no instant do
    /// more than 2 of csc and rustc run; the summary counts the 3 compiles and 2 cargo runs. Built again with
    /// nothing changed, the up-to-date compiles take no slot (2 tool runs).
    /// </summary>
    [TestMethod]
    public void CompilesAndRustcStayWithinThePoolAndUpToDateCompilesTakeNoSlot()
    {
        var repo = NewFixture("count-compile");
        var references = new List<string>();
        for (var i = 1; i <= 3; i++)
        {
            references.Add(AddCSharpProject(repo, "cs" + i.ToString(CultureInfo.InvariantCulture), broken: false));
        }

        references.Add(repo.AddCargoProject("r1", crates: 2));
        references.Add(repo.AddCargoProject("r2", crates: 2));
        var entry = repo.AddTraversal("all.proj", references);
        var options = Options(repo, expectSuccess: true);

        var run = repo.Build(entry, options);
        Report("first build", run);
        var compiles = run.Intervals.Where(i => i.Label.StartsWith("csc_", StringComparison.Ordinal)).ToList();
        Assert.HasCount(3, compiles, "every C# project should have run csc once:\n" + run.Describe());
        Assert.IsNotEmpty(run.Compiles, "no rustc was logged");
        Assert.IsLessThanOrEqualTo(Slots, IntervalLog.MaxOverlap(run.Intervals), "csc and rustc together exceeded the pool:\n" + run.Describe());
        var summary = Fixtures.Summaries(run).Single();
        Assert.AreEqual(5, summary.ToolRuns, "3 compiles and 2 cargo runs should each have taken a slot");
        Assert.AreEqual(0, summary.Lost);

        var again = repo.Build(entry, options);
        Report("no-op build", again);
        Assert.IsEmpty(again.Intervals.Where(i => i.Label.StartsWith("csc_", StringComparison.Ordinal)), "nothing changed, yet csc ran");
        Assert.AreEqual(2, Fixtures.Summaries(again).Single().ToolRuns, "up-to-date compiles should take no slot: only the 2 cargo runs");
    }

    /// <summary>
    /// A C# project that fails to compile, beside one that compiles, with the setting on and the traversal going on
    /// after the failure: the failed compile's slot comes back (no JOBS0027 "never given back", no token lost) and the
    /// summary counts both compiles.
    /// </summary>
    [TestMethod]
    public void FailedCompileGivesItsSlotBack()
    {
        var repo = NewFixture("count-compile-fail");
        var broken = AddCSharpProject(repo, "broken", broken: true);
        var fine = AddCSharpProject(repo, "fine", broken: false);
        repo.Write("all.proj", $"""
            <Project Sdk="{PackageFeed.NoTargetsSdk}">
              <PropertyGroup><TargetFramework>net10.0</TargetFramework></PropertyGroup>
              <ItemGroup><PackageReference Include="{PackageFeed.Id}" Version="{PackageFeed.Version}" PrivateAssets="all" /></ItemGroup>
              <Target Name="BuildBoth" BeforeTargets="Build">
                <MSBuild Projects="{broken};{fine}" BuildInParallel="true" ContinueOnError="true" />
              </Target>
            </Project>
            """);

        // The traversal builds them through the MSBuild task, which restore does not follow.
        foreach (var project in new[] { broken, fine })
        {
            repo.Run("dotnet", new[] { "restore", project, "-nr:false" }, new BuildOptions());
        }

        var run = repo.Build("all.proj", Options(repo, expectSuccess: false));
        Report("build with a broken project", run);

        Assert.IsNotEmpty(run.LinesWith("error CS"), "the broken project should fail to compile:\n" + ProcessRunner.Tail(run.Output));
        CollectionAssert.DoesNotContain(Fixtures.WarningCodes(run).ToList(), "JOBS0027", "the failed compile's token was never given back");
        var summary = Fixtures.Summaries(run).Single();
        Assert.AreEqual(2, summary.ToolRuns, "both compiles should have taken a slot");
        Assert.AreEqual(0, summary.Lost);
    }

    private static BuildOptions Options(FixtureRepo repo, bool expectSuccess) => new()
    {
        Nodes = 4,
        ExpectSuccess = expectSuccess,
        Properties = new Dictionary<string, string>
        {
            ["JobserverSlots"] = Slots.ToString(CultureInfo.InvariantCulture),
            ["JobserverCountCompile"] = "true",
            ["CscToolPath"] = repo.Root,
            ["CscToolExe"] = "csc-interval.sh",
        },
        Environment = new Dictionary<string, string?> { ["JBS_CSC_DLL"] = CscDll() },
    };

    // A C# library with enough generic code that csc runs for a while; "broken" adds a type error.
    private static string AddCSharpProject(FixtureRepo repo, string name, bool broken)
    {
        WriteCscWrapper(repo);
        var code = new StringBuilder("namespace " + name + ";\n");
        for (var i = 0; i < 40; i++)
        {
            code.Append(CultureInfo.InvariantCulture, $"public sealed class Store{i}<T> where T : System.IComparable<T> {{ private readonly System.Collections.Generic.List<T> _items = new(); ")
                .Append(CultureInfo.InvariantCulture, $"public void Add(T item) => _items.Add(item); public T Max() => System.Linq.Enumerable.Max(_items)!; ")
                .Append(CultureInfo.InvariantCulture, $"public string Show() => string.Join(\",\", System.Linq.Enumerable.Select(_items, x => x.ToString())); }}\n");
        }

        if (broken)
        {
            code.Append("public static class Broken { public static int Value => \"not a number\"; }\n");
        }

        repo.Write($"{name}/Code.cs", code.ToString());
        repo.Write($"{name}/{name}.csproj", $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <TargetFramework>net10.0</TargetFramework>
                <Nullable>enable</Nullable>
                <ImplicitUsings>disable</ImplicitUsings>
              </PropertyGroup>
              <ItemGroup><PackageReference Include="{PackageFeed.Id}" Version="{PackageFeed.Version}" PrivateAssets="all" /></ItemGroup>
            </Project>
            """);
        return $"{name}/{name}.csproj";
    }

    private static void WriteCscWrapper(FixtureRepo repo)
    {
        var path = Path.Combine(repo.Root, "csc-interval.sh");
        if (File.Exists(path))
        {
            return;
        }

        // Csc runs this instead of csc.dll (CscToolExe); the label names the project from the /out: argument.
        File.WriteAllText(path, """
            #!/bin/sh
            out=
            for arg in "$@"; do
              case "$arg" in /out:*) out=$(basename "${arg#/out:}" .dll) ;; esac
            done
            exec "$(dirname "$0")/interval.sh" "csc_$out" "$DOTNET_HOST_PATH" "$JBS_CSC_DLL" "$@"

            """);
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
    }

    // The csc.dll of the SDK that builds the fixtures (the machine's newest).
    private static string CscDll()
    {
        var dotnet = Path.GetDirectoryName(Environment.ProcessPath ?? "/usr/bin/dotnet")!;
        var sdks = Directory.GetDirectories(Path.Combine(dotnet, "sdk"))
            .Where(d => File.Exists(Path.Combine(d, "Roslyn", "bincore", "csc.dll")))
            .OrderBy(d => Version.TryParse(Path.GetFileName(d).Split('-')[0], out var v) ? v : new Version(0, 0))
            .ToList();
        Assert.IsNotEmpty(sdks, "no SDK with Roslyn/bincore/csc.dll under " + dotnet);
        return Path.Combine(sdks[^1], "Roslyn", "bincore", "csc.dll");
    }
}
