using System.Text.RegularExpressions;

namespace MSBuild.Jobserver.WindowsTests;

/// <summary>
/// A fixture build run by MSBuild 17.7.2 under wine: an entry project that builds leaf projects in parallel, every
/// project importing the package's build/ props and targets from the unpacked .nupkg, as NuGet imports them. The
/// leaves run WindowsProbe.exe through Exec (under cmd.exe); each probe run writes its own log (ToolRun).
/// </summary>
internal sealed partial class WindowsBuild
{
    private WindowsBuild(string directory) => Directory = directory;

    /// <summary>The fixture's directory (artifacts/windows/builds/NAME).</summary>
    public string Directory { get; }

    /// <summary>Where each probe run writes "pid.log".</summary>
    public string Logs => Path.Combine(Directory, "logs");

    /// <summary>The trace file the build is asked to write (JobserverTraceFile).</summary>
    public string TraceFile => Path.Combine(Directory, "trace.json");

    /// <summary>The Exec of the probe as a listed tool: it holds its slot <paramref name="holdMs"/> ms and takes <paramref name="extra"/> more.</summary>
    public string ProbeCommand(int holdMs, int extra = 0, bool die = false, string program = "WindowsProbe") =>
        $"&quot;{Wine.WindowsPath(WindowsArtifacts.ProbeNamed(program))}&quot; tool {holdMs} {Wine.WindowsPath(Logs)} {extra}{(die ? " die" : "")}";

    /// <summary>Writes an entry project building <paramref name="leaves"/> (target bodies) in parallel, or in order.</summary>
    /// <remarks><paramref name="listedTools"/> are added to the default JobserverTool items; "" lists nothing more.</remarks>
    public static WindowsBuild Create(string name, IReadOnlyList<Func<WindowsBuild, string>> leaves, bool inOrder = false, string listedTools = "WindowsProbe")
    {
        var directory = Path.Combine(WindowsArtifacts.WorkDirectory, "builds", name);
        if (System.IO.Directory.Exists(directory))
        {
            System.IO.Directory.Delete(directory, recursive: true);
        }

        var build = new WindowsBuild(directory);
        System.IO.Directory.CreateDirectory(build.Logs);
        var leafNames = new List<string>();
        for (var i = 0; i < leaves.Count; i++)
        {
            leafNames.Add($"leaf{i + 1}.proj");
            File.WriteAllText(Path.Combine(directory, leafNames[i]), Project($"<Target Name=\"Build\">{leaves[i](build)}</Target>", listedTools));
        }

        var body = inOrder
            ? string.Concat(leafNames.Select(l => $"<MSBuild Projects=\"{l}\" />"))
            : $"<MSBuild Projects=\"{string.Join(';', leafNames)}\" BuildInParallel=\"true\" />";
        File.WriteAllText(Path.Combine(directory, "entry.proj"), Project($"<Target Name=\"Build\">{body}</Target>", listedTools));
        return build;
    }

    /// <summary>Builds entry.proj with <paramref name="nodes"/> nodes; properties are global ("Name=Value").</summary>
    public ProcessResult Run(int nodes, params string[] properties)
    {
        var result = Wine.Run(WindowsArtifacts.MSBuildHost,
            new[] { Wine.WindowsPath(Path.Combine(Directory, "entry.proj")), nodes.ToString(System.Globalization.CultureInfo.InvariantCulture), "JobserverTraceFile=" + Wine.WindowsPath(TraceFile) }.Concat(properties),
            timeout: TimeSpan.FromMinutes(3));
        File.WriteAllText(Path.Combine(Directory, "build.log"), result.Output);
        return result;
    }

    /// <summary>What every probe run logged.</summary>
    public IReadOnlyList<ToolRun> ToolRuns() =>
        System.IO.Directory.EnumerateFiles(Logs, "*.log").Select(f => ToolRun.Parse(File.ReadAllLines(f))).ToList();

    /// <summary>The semaphore the build created (JOBS0033), or null.</summary>
    public static string? CreatedSemaphore(ProcessResult build) =>
        CreatedPattern().Match(build.Output) is { Success: true } m ? m.Groups["name"].Value : null;

    /// <summary>The end-of-build summary lines (JOBS0030).</summary>
    public static IReadOnlyList<string> Summaries(ProcessResult build) =>
        build.Output.Split('\n').Select(l => l.Trim()).Where(l => l.StartsWith("JOBS0030:", StringComparison.Ordinal)).ToList();

    private static string Project(string target, string listedTools) => $"""
        <Project DefaultTargets="Build">
          <Import Project="{Wine.WindowsPath(WindowsArtifacts.Package)}\build\MSBuild.Jobserver.props" />
          {(listedTools.Length == 0 ? "" : $"<ItemGroup><JobserverTool Include=\"{listedTools}\" /></ItemGroup>")}
          {target}
          <Import Project="{Wine.WindowsPath(WindowsArtifacts.Package)}\build\MSBuild.Jobserver.targets" />
        </Project>
        """;

    [GeneratedRegex(@"JOBS0033: Created a jobserver of \d+ slots for this build \((?<name>[^)]+)\)")]
    private static partial Regex CreatedPattern();
}

/// <summary>One probe run: what it inherited, how many extra tokens it got, and its hold intervals (ms).</summary>
internal sealed record ToolRun(string Inherited, int Extra, IReadOnlyList<(long Start, long End)> Holds)
{
    public static ToolRun Parse(string[] lines) => new(
        lines.Length > 0 ? lines[0] : "",
        lines.Where(l => l.StartsWith("EXTRA ", StringComparison.Ordinal)).Select(l => int.Parse(l[6..])).FirstOrDefault(),
        Intervals.Parse(lines.Skip(1)));
}
