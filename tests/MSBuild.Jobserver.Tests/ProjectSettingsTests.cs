using Microsoft.Build.Utilities;
using MSBuild.Jobserver.Tasks;
using MSBuild.Jobserver.Tasks.EveryNode;

namespace MSBuild.Jobserver.Tests;

/// <summary>
/// A project's settings as ConfigureJobserver records them for its later tasks, and the mark the end-of-build summary
/// adds for a tool that runs after it (JOBS0035).
/// </summary>
[TestClass]
public sealed class ProjectSettingsTests
{
    // The settings live in this process's environment: each test puts back what was there.
    private string? _saved;

    [TestInitialize]
    public void SaveSettings() => _saved = Environment.GetEnvironmentVariable(ProjectJobserverSettings.VariableName);

    [TestCleanup]
    public void RestoreSettings() => Environment.SetEnvironmentVariable(ProjectJobserverSettings.VariableName, _saved);

    /// <summary>Marking the summary as logged keeps every other setting, a project name holding the separator included.</summary>
    [TestMethod]
    public void TheSummaryMarkKeepsEveryOtherSetting()
    {
        var task = new ConfigureJobserver
        {
            BuildEngine = new RecordingBuildEngine(),
            Slots = "3",
            Scope = "User",
            MinFreeMemory = "512M",
            LongWaitSeconds = "7.5",
            ProjectName = "odd|name",
            Tools = new[] { new TaskItem("cargo"), new TaskItem("ninja", new Dictionary<string, string> { ["MakeflagsForm"] = "fifo" }) },
        };
        Assert.IsTrue(task.Execute());
        var configured = ProjectJobserverSettings.Current()!;
        Assert.IsFalse(configured.SummaryLogged);

        ProjectJobserverSettings.MarkSummaryLogged();

        var marked = ProjectJobserverSettings.Current()!;
        Assert.IsTrue(marked.SummaryLogged);
        Assert.AreEqual((configured.Enabled, configured.Slots, configured.UserScope, configured.MinFreeMemoryMiB, configured.LongWaitSeconds, configured.ProjectName),
            (marked.Enabled, marked.Slots, marked.UserScope, marked.MinFreeMemoryMiB, marked.LongWaitSeconds, marked.ProjectName));
        Assert.AreEqual((3, true, 512L, 7.5, "odd|name"), (marked.Slots, marked.UserScope, marked.MinFreeMemoryMiB, marked.LongWaitSeconds, marked.ProjectName));
        CollectionAssert.AreEqual(configured.Tools.ToList(), marked.Tools.ToList());
    }

    /// <summary>Where ConfigureJobserver did not run there is nothing to mark: no settings appear.</summary>
    [TestMethod]
    public void NothingIsMarkedWhereNoSettingsWereRecorded()
    {
        Environment.SetEnvironmentVariable(ProjectJobserverSettings.VariableName, null);
        ProjectJobserverSettings.MarkSummaryLogged();
        Assert.IsNull(ProjectJobserverSettings.Current());
    }
}
