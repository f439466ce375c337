using System.Text.Json;
using MSBuild.Jobserver.Pools;
using MSBuild.Jobserver.Protocol;
using MSBuild.Jobserver.Tasks;
using MSBuild.Jobserver.Tasks.EveryNode;

namespace MSBuild.Jobserver.Tests;

/// <summary>
/// Facts the props, the tasks and the docs share, written once: the default jobserver tools (the props' list, which the
/// tasks fall back on) and the largest pool (JobTokenPool.MaxTokens, which the task and the docs state). Each test fails
/// when a second copy appears and drifts.
/// </summary>
[TestClass]
public sealed class OneSourceTests
{
    /// <summary>Set by MSTest.</summary>
    public TestContext TestContext { get; set; } = null!;

    /// <summary>
    /// Real MSBuild evaluates the package's props as Windows and as POSIX: the JobserverTool items it yields, read as
    /// ConfigureJobserver reads them, are the list a task falls back on where ConfigureJobserver did not run, in order.
    /// </summary>
    [TestMethod]
    [DataRow(true, DisplayName = "Windows")]
    [DataRow(false, DisplayName = "POSIX")]
    public void FallbackToolsAreThePropsTools(bool windows)
    {
        var evaluated = EvaluatedDefaultTools(windows);
        TestContext.WriteLine(string.Join(", ", evaluated));

        Assert.IsNotEmpty(evaluated, "the props add no default tools");
        CollectionAssert.AreEqual(evaluated, DefaultJobserverTools.For(windows ? "Windows" : "POSIX").ToList(), "the tasks' fallback list differs from the props'");
        if (windows == OperatingSystem.IsWindows())
        {
            CollectionAssert.AreEqual(evaluated, ProjectJobserverSettings.Unconfigured.Tools.ToList(), "an unconfigured project should get the props' list for this platform");
        }
    }

    /// <summary>
    /// The task takes JobserverSlots up to JobTokenPool.MaxTokens (the most a pool can hold) and no further, names that
    /// bound in JOBS0020, caps a larger node count at it, and both docs that state the bound state the same number.
    /// </summary>
    [TestMethod]
    public void SlotLimitIsThePoolsLimit()
    {
        var max = JobTokenPool.MaxTokens;
        var before = Environment.GetEnvironmentVariable(ProjectJobserverSettings.VariableName);
        try
        {
            Assert.AreEqual(max, Configure(max.ToString(), "2", out var accepted).ResolvedSlots, accepted.Describe());
            Assert.AreEqual(max, Configure("", (max + 1).ToString(), out var capped).ResolvedSlots, capped.Describe());
        }
        finally
        {
            Environment.SetEnvironmentVariable(ProjectJobserverSettings.VariableName, before);
        }

        Configure((max + 1).ToString(), "2", out var rejected);
        Assert.HasCount(1, rejected.Errors, rejected.Describe());
        Assert.AreEqual("JOBS0020", rejected.Errors[0].Code);
        Assert.Contains($"from 1 to {max}", rejected.Errors[0].Message ?? "");

        var docs = Path.Combine(TestSupport.RepositoryRoot(), "docs");
        Assert.Contains($"1–{max}, else error JOBS0020", File.ReadAllText(Path.Combine(docs, "configuration.md")));
        var diagnostics = File.ReadAllText(Path.Combine(docs, "diagnostics.md"));
        Assert.Contains($"| `JobserverSlots` is not a whole number from 1 to {max} |", diagnostics);
        Assert.Contains($"**Cause:** `JobserverSlots` is not a whole number from 1 to {max} ", diagnostics);
    }

    private static ConfigureJobserver Configure(string slots, string nodeCount, out RecordingBuildEngine engine)
    {
        engine = new RecordingBuildEngine();
        var task = new ConfigureJobserver { BuildEngine = engine, Slots = slots, NodeCount = nodeCount, ProjectName = "one-source" };
        task.Execute();
        return task;
    }

    private List<JobserverToolSpec> EvaluatedDefaultTools(bool windows)
    {
        var directory = TestSupport.NewTempDirectory("default-tools");
        var project = Path.Combine(directory, "tools.proj");
        var props = Path.Combine(TestSupport.RepositoryRoot(), "sdk", "build", "MSBuild.Jobserver.props");
        File.WriteAllText(project, $"<Project>\n  <Import Project=\"{props}\" />\n</Project>\n");

        // OS is what the props branch on; a global property overrides it, so one machine evaluates both.
        var args = new List<string> { "msbuild", project, "-getItem:JobserverTool", "-nologo", "-nodeReuse:false" };
        args.Add(windows ? "-p:OS=Windows_NT" : "-p:OS=Unix");
        var run = TestSupport.Run("dotnet", args, workingDirectory: directory, timeout: TimeSpan.FromMinutes(3));
        Assert.AreEqual(0, run.ExitCode, run.ToString());

        using var json = JsonDocument.Parse(run.Stdout);
        return json.RootElement.GetProperty("Items").GetProperty("JobserverTool").EnumerateArray()
            .Select(i => JobserverToolSpec.FromItem(i.GetProperty("Identity").GetString()!, i.TryGetProperty("MakeflagsForm", out var form) ? form.GetString()! : ""))
            .ToList();
    }
}
