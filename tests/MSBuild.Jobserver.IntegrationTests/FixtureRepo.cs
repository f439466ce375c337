using System.Globalization;
using System.Security;

namespace MSBuild.Jobserver.IntegrationTests;

/// <summary>How a fixture project takes in the package.</summary>
internal enum PackageUse
{
    /// <summary><c>&lt;PackageReference Include="MSBuild.Jobserver" .../&gt;</c>, as the README says.</summary>
    PackageReference,

    /// <summary><c>&lt;Sdk Name="MSBuild.Jobserver" Version="..."/&gt;</c>.</summary>
    Sdk,

    /// <summary>Not at all: stock MSBuild, to show what the package changes.</summary>
    None,
}

/// <summary>Settings of one build of a fixture.</summary>
internal sealed record BuildOptions
{
    /// <summary>-m:N.</summary>
    public int Nodes { get; init; } = 4;

    /// <summary>-p:Name=Value.</summary>
    public IReadOnlyDictionary<string, string> Properties { get; init; } = new Dictionary<string, string>();

    /// <summary>Node reuse on (-nr:true, MSBUILDDISABLENODEREUSE unset); off by default so no node outlives its build.</summary>
    public bool NodeReuse { get; init; }

    /// <summary>Extra variables (null removes one), applied last.</summary>
    public IReadOnlyDictionary<string, string?> Environment { get; init; } = new Dictionary<string, string?>();

    /// <summary>Whether the build must succeed (checked, with the output's tail in the message).</summary>
    public bool ExpectSuccess { get; init; } = true;

    /// <summary>Longest a build may take before it is killed and the test fails.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromMinutes(5);
}

/// <summary>
/// A fixture repository generated into a temporary directory outside this repository: a NuGet.config naming the
/// freshly packed feed beside the machine's configured sources, projects that run cargo/make through the package, cargo workspaces, and the
/// scripts that log job intervals. Each build runs with its own TMPDIR, so the package's private directory of that
/// build can be checked for leftovers afterwards.
/// </summary>
internal sealed class FixtureRepo
{
    private int _runs;

    private FixtureRepo(string root)
    {
        Root = root;
        Marker = Path.GetFileName(root);
    }

    /// <summary>The fixture's directory.</summary>
    public string Root { get; }

    /// <summary>A value put in every child's environment (JBS_E2E_MARKER) to recognise the processes this fixture started.</summary>
    public string Marker { get; }

    /// <summary>The variable that carries <see cref="Marker"/>.</summary>
    public const string MarkerVariable = "JBS_E2E_MARKER";

    /// <summary>The RUSTC_WRAPPER.</summary>
    public string RustcWrapper => Path.Combine(Root, "rustc-wrapper.sh");

    /// <summary>interval.sh, for jobs other than compiles.</summary>
    public string IntervalScript => Path.Combine(Root, "interval.sh");

    /// <summary>A project body whose build runs <c>cargo build</c> through an ordinary &lt;Exec&gt; on the project's <c>ws</c> workspace.</summary>
    public const string CargoBuildTarget = """
          <!-- An ordinary Exec: with the package, it takes a token and hands the pool to cargo. -->
          <Target Name="CargoBuild" AfterTargets="Build">
            <Exec Command="cargo build --offline" WorkingDirectory="$(MSBuildThisFileDirectory)ws" />
          </Target>
        """;

    /// <summary>Creates an empty fixture named after <paramref name="name"/>.</summary>
    public static FixtureRepo Create(string name)
    {
        var root = Path.Combine(PackageFeed.FixturesDirectory, name + "-" + Guid.NewGuid().ToString("N")[..6]);
        Directory.CreateDirectory(root);
        var repo = new FixtureRepo(root);
        repo.Write("NuGet.config", $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <add key="jobserver-feed" value="{SecurityElement.Escape(PackageFeed.FeedDirectory)}" />
              </packageSources>
            </configuration>

            """);

        // Stops MSBuild from looking for Directory.*.props above the fixture (e.g. in /tmp). Entry projects at the root
        // get an obj/ folder each: builds of two of them at once would otherwise restore into one project.assets.json.
        repo.Write("Directory.Build.props", """
            <Project>
              <PropertyGroup>
                <ImportDirectoryPackagesProps>false</ImportDirectoryPackagesProps>
                <BaseIntermediateOutputPath Condition="'$(BaseIntermediateOutputPath)' == '' and '$([MSBuild]::NormalizeDirectory($(MSBuildProjectDirectory)))' == '$(MSBuildThisFileDirectory)'">obj/$(MSBuildProjectName)/</BaseIntermediateOutputPath>
              </PropertyGroup>
            </Project>

            """);
        repo.Write("Directory.Build.targets", "<Project />\n");
        repo.WriteScript(repo.RustcWrapper, IntervalLog.RustcWrapperScript);
        repo.WriteScript(repo.IntervalScript, IntervalLog.IntervalScript);
        return repo;
    }

    /// <summary>Writes a file under the fixture.</summary>
    public void Write(string relativePath, string text)
    {
        var path = Path.Combine(Root, relativePath);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, text);
    }

    /// <summary>
    /// Adds <c>{name}/{name}.csproj</c> whose build runs <c>cargo build</c> through &lt;Exec&gt; on its own workspace
    /// of <paramref name="crates"/> crates; returns the project's path relative to the fixture.
    /// </summary>
    public string AddCargoProject(string name, int crates, PackageUse use = PackageUse.PackageReference, string extraProperties = "")
    {
        CrateGenerator.WriteWorkspace(Path.Combine(Root, name, "ws"), name, crates);
        return AddProject(name, use, extraProperties, CargoBuildTarget);
    }

    /// <summary>
    /// Adds <c>{name}/{name}.csproj</c> that imports the SDK's props and targets explicitly and runs <c>cargo build</c>
    /// after Build, its target declared after the SDK's targets (so after the package's summary target) or before them;
    /// returns its relative path.
    /// </summary>
    public string AddExplicitImportCargoProject(string name, int crates, bool cargoAfterSdkTargets)
    {
        CrateGenerator.WriteWorkspace(Path.Combine(Root, name, "ws"), name, crates);
        var (sdk, version) = (PackageFeed.NoTargetsSdk.Split('/')[0], PackageFeed.NoTargetsSdk.Split('/')[1]);
        var cargo = CargoBuildTarget.Trim();
        var relative = $"{name}/{name}.csproj";
        Write(relative, $"""
            <Project>
              <Import Project="Sdk.props" Sdk="{sdk}" Version="{version}" />
              <PropertyGroup><TargetFramework>net10.0</TargetFramework></PropertyGroup>
              <ItemGroup><PackageReference Include="{PackageFeed.Id}" Version="{PackageFeed.Version}" PrivateAssets="all" /></ItemGroup>
            {(cargoAfterSdkTargets ? "" : cargo + "\n")}  <Import Project="Sdk.targets" Sdk="{sdk}" Version="{version}" />
            {(cargoAfterSdkTargets ? cargo + "\n" : "")}</Project>

            """);
        return relative;
    }

    /// <summary>Adds <c>{name}/{name}.csproj</c> with <paramref name="body"/> (targets, items); returns its relative path.</summary>
    public string AddProject(string name, PackageUse use, string extraProperties, string body)
    {
        var relative = $"{name}/{name}.csproj";
        Write(relative, ProjectXml(use, extraProperties, "", body));
        return relative;
    }

    /// <summary>Adds an entry project that builds <paramref name="projects"/> in parallel (ProjectReference); returns its name.</summary>
    public string AddTraversal(string fileName, IEnumerable<string> projects, PackageUse use = PackageUse.PackageReference)
    {
        var references = string.Concat(projects.Select(p => $"    <ProjectReference Include=\"{p}\" ReferenceOutputAssembly=\"false\" />\n"));
        Write(fileName, ProjectXml(use, "", "  <ItemGroup>\n" + references + "  </ItemGroup>\n", ""));
        return fileName;
    }

    /// <summary>Deletes every cargo target directory, so the next build compiles everything again.</summary>
    public void CleanCargoTargets()
    {
        foreach (var target in Directory.EnumerateDirectories(Root, "target", SearchOption.AllDirectories).ToList())
        {
            if (File.Exists(Path.Combine(Path.GetDirectoryName(target)!, "Cargo.toml")))
            {
                Directory.Delete(target, recursive: true);
            }
        }
    }

    /// <summary><c>dotnet build ENTRY -m:N -v:n</c> in the fixture's directory.</summary>
    public BuildRun Build(string entry, BuildOptions? options = null)
    {
        options ??= new BuildOptions();
        return Run("dotnet", BuildArguments(entry, options), options);
    }

    /// <summary>dotnet's arguments for <c>build ENTRY -m:N -v:n</c> with <paramref name="options"/>' nodes, node reuse and properties.</summary>
    public static List<string> BuildArguments(string entry, BuildOptions options)
    {
        var args = new List<string>
        {
            "build", entry, "-m:" + options.Nodes.ToString(CultureInfo.InvariantCulture), "-v:n", "-tl:off", "-nologo",
            "-nr:" + (options.NodeReuse ? "true" : "false"),
        };
        args.AddRange(options.Properties.Select(p => $"-p:{p.Key}={p.Value}"));
        return args;
    }

    /// <summary>
    /// Runs <paramref name="file"/> in the fixture's directory with the build environment: the run's own TMPDIR
    /// (no XDG_RUNTIME_DIR), NUGET_PACKAGES, the RUSTC_WRAPPER and interval log, node reuse as asked. Afterwards checks
    /// that nothing of the package is left in that TMPDIR (issue test 9) and that the run succeeded if it should.
    /// </summary>
    public BuildRun Run(string file, IReadOnlyList<string> args, BuildOptions options)
    {
        var run = ++_runs;
        var label = run.ToString("00", CultureInfo.InvariantCulture);
        var tempDirectory = Path.Combine(Root, "tmp-" + label);
        Directory.CreateDirectory(tempDirectory);
        var intervals = Path.Combine(Root, "logs", $"intervals-{label}.log");
        Directory.CreateDirectory(Path.GetDirectoryName(intervals)!);

        var outcome = ProcessRunner.Run(file, args, Root, Path.Combine(Root, "logs", $"build-{label}.log"), BuildEnvironment(tempDirectory, intervals, options), options.Timeout);
        var result = new BuildRun(outcome, IntervalLog.Read(intervals), tempDirectory);
        if (options.ExpectSuccess)
        {
            Assert.AreEqual(0, outcome.ExitCode, $"the build failed ({outcome}):\n{ProcessRunner.Tail(outcome.Output)}");
        }

        LeftoverCheck.AssertNothingLeft(result);
        return result;
    }

    /// <summary>
    /// A run's build environment: its own TMPDIR (no XDG_RUNTIME_DIR), NUGET_PACKAGES, the RUSTC_WRAPPER logging to
    /// <paramref name="intervals"/>, node reuse as asked, no MSBuild server, then <paramref name="options"/>' variables.
    /// </summary>
    public Dictionary<string, string?> BuildEnvironment(string tempDirectory, string intervals, BuildOptions options)
    {
        var environment = new Dictionary<string, string?>
        {
            ["TMPDIR"] = tempDirectory,
            ["XDG_RUNTIME_DIR"] = null,
            ["NUGET_PACKAGES"] = PackageFeed.PackagesDirectory,
            ["MSBUILDDISABLENODEREUSE"] = options.NodeReuse ? null : "1",
            ["DOTNET_CLI_USE_MSBUILD_SERVER"] = "0",
            ["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1",
            ["DOTNET_NOLOGO"] = "1",
            ["MSBUILDTERMINALLOGGER"] = "off",
            ["RUSTC_WRAPPER"] = RustcWrapper,
            ["CARGO_TERM_COLOR"] = "never",
            ["CARGO_TERM_PROGRESS_WHEN"] = "never",
            [IntervalLog.Variable] = intervals,
            [MarkerVariable] = Marker,
        };
        foreach (var (key, value) in options.Environment)
        {
            environment[key] = value;
        }

        return environment;
    }

    /// <summary>Removes the fixture (cargo targets included).</summary>
    public void Delete()
    {
        if (Directory.Exists(Root))
        {
            Directory.Delete(Root, recursive: true);
        }
    }

    private static string ProjectXml(PackageUse use, string extraProperties, string items, string body)
    {
        var sdk = use == PackageUse.Sdk ? $"  <Sdk Name=\"{PackageFeed.Id}\" Version=\"{PackageFeed.Version}\" />\n" : "";
        var reference = use == PackageUse.PackageReference
            ? $"  <ItemGroup>\n    <PackageReference Include=\"{PackageFeed.Id}\" Version=\"{PackageFeed.Version}\" PrivateAssets=\"all\" />\n  </ItemGroup>\n"
            : "";
        // net10.0 unless the project multi-targets (TargetFramework would turn that off).
        var framework = extraProperties.Contains("<TargetFrameworks>", StringComparison.Ordinal) ? "" : "\n    <TargetFramework>net10.0</TargetFramework>";
        var properties = extraProperties.Length == 0 ? "" : "\n" + extraProperties.TrimEnd();
        body = body.Length == 0 ? "" : body.TrimEnd() + "\n";
        return $"""
            <Project Sdk="{PackageFeed.NoTargetsSdk}">
            {sdk}  <PropertyGroup>{framework}{properties}
              </PropertyGroup>
            {reference}{items}{body}</Project>

            """;
    }

    private void WriteScript(string path, string text)
    {
        File.WriteAllText(path, text);
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
            | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
    }
}

/// <summary>One finished run of a fixture: its outcome, the intervals it logged, and its TMPDIR.</summary>
internal sealed record BuildRun(ProcessOutcome Outcome, IReadOnlyList<Interval> Intervals, string TempDirectory)
{
    /// <summary>Everything the run printed.</summary>
    public string Output => Outcome.Output;

    /// <summary>
    /// The output up to MSBuild's closing "Build succeeded." / "Build FAILED." line, so the warnings and errors that
    /// the closing summary repeats are counted once.
    /// </summary>
    public string Body
    {
        get
        {
            var lines = Output.Split('\n');
            var end = Array.FindLastIndex(lines, l => l.Trim() is "Build succeeded." or "Build FAILED.");
            return end < 0 ? Output : string.Join('\n', lines[..end]);
        }
    }

    /// <summary>The compiles of fixture crates.</summary>
    public IReadOnlyList<Interval> Compiles => Intervals.Where(i => i.IsCompile).ToList();

    /// <summary>The most fixture-crate compiles that ran at one instant.</summary>
    public int MaxConcurrentCompiles => IntervalLog.MaxOverlap(Compiles);

    /// <summary>A description for assertion messages: the outcome and the timeline.</summary>
    public string Describe() => $"{Outcome}\ntimeline (s since the first start):\n{IntervalLog.Describe(Intervals)}";

    /// <summary>The lines of the output that contain <paramref name="text"/>.</summary>
    public IReadOnlyList<string> LinesWith(string text) =>
        Output.Split('\n').Where(l => l.Contains(text, StringComparison.Ordinal)).Select(l => l.Trim()).ToList();
}
