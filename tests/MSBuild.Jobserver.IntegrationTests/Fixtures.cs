using System.Globalization;
using System.Text.RegularExpressions;

namespace MSBuild.Jobserver.IntegrationTests;

/// <summary>The fixture shapes several tests share, and checks of what a build printed.</summary>
internal static partial class Fixtures
{
    /// <summary>
    /// Issue test 1's shape: p1..p{projects}, each running <c>cargo build</c> on its own workspace of
    /// <paramref name="crates"/> independent crates, and an entry project all.proj that builds them in parallel.
    /// Returns the entry project.
    /// </summary>
    public static string CargoProjects(FixtureRepo repo, int projects, int crates, PackageUse use = PackageUse.PackageReference)
    {
        var names = Enumerable.Range(1, projects).Select(i => repo.AddCargoProject("p" + i.ToString(CultureInfo.InvariantCulture), crates, use)).ToList();
        return repo.AddTraversal("all.proj", names, use);
    }

    /// <summary>
    /// Checks that every compile was handed a FIFO pool inside this build's private directory: the pool reached
    /// rustc (through cargo), and the leftover check after the build looked in the right place.
    /// </summary>
    public static void AssertCompilesUsedTheBuildsPool(BuildRun run)
    {
        var privateDirectory = LeftoverCheck.PrivateDirectory(run.TempDirectory) + "/";
        Assert.IsNotEmpty(run.Compiles, "no compile was logged:\n" + run.Describe());
        foreach (var compile in run.Compiles)
        {
            Assert.IsTrue(compile.FifoPath?.StartsWith(privateDirectory, StringComparison.Ordinal) == true,
                $"{compile.Label} was not handed the build's pool under {privateDirectory} (CARGO_MAKEFLAGS '{compile.Jobserver}')");
        }

        Assert.HasCount(1, run.Compiles.Select(c => c.FifoPath).Distinct().ToList(), "compiles of one build were handed different pools");
    }

    /// <summary>
    /// A capped build's proof: all <paramref name="compiles"/> ran, never more than <paramref name="slots"/> at once and
    /// that many at some moment (so the cap is tested both ways), every one on the build's pool.
    /// </summary>
    public static void AssertCompilesFilledExactly(BuildRun run, int compiles, int slots, string cap)
    {
        Assert.HasCount(compiles, run.Compiles, run.Describe());
        Assert.IsLessThanOrEqualTo(slots, run.MaxConcurrentCompiles, $"more compiles at once than {cap}:\n" + run.Describe());
        Assert.AreEqual(slots, run.MaxConcurrentCompiles, $"{cap}: its {slots} slots were never all used at once:\n" + run.Describe());
        AssertCompilesUsedTheBuildsPool(run);
    }

    /// <summary>The end-of-build summary lines (JOBS0030), parsed.</summary>
    public static IReadOnlyList<Summary> Summaries(BuildRun run) =>
        SummaryPattern().Matches(run.Output).Select(m => new Summary(
            int.Parse(m.Groups["slots"].Value, CultureInfo.InvariantCulture),
            m.Groups["kind"].Value,
            int.Parse(m.Groups["runs"].Value, CultureInfo.InvariantCulture),
            int.Parse(m.Groups["peak"].Value, CultureInfo.InvariantCulture),
            int.Parse(m.Groups["lost"].Value, CultureInfo.InvariantCulture))).ToList();

    /// <summary>The codes of every JOBSnnnn warning the build printed (once each: the closing summary is left out).</summary>
    public static IReadOnlyList<string> WarningCodes(BuildRun run) =>
        WarningPattern().Matches(run.Body).Select(m => m.Groups["code"].Value).ToList();

    /// <summary>The codes of every JOBSnnnn error the build printed.</summary>
    public static IReadOnlyList<string> ErrorCodes(BuildRun run) =>
        ErrorPattern().Matches(run.Body).Select(m => m.Groups["code"].Value).ToList();

    // "JOBS0030: Jobserver: 4 slots (own pool); 2 tool run(s) took a slot, at most 2 at once; 0.0 s spent waiting for slots; 0 token(s) lost, ..."
    [GeneratedRegex(@"JOBS0030: Jobserver: (?<slots>\d+) slots \((?<kind>[^)]*)\); (?<runs>\d+) tool run\(s\)[^;]*?(?:peak|at most) (?<peak>\d+) at once; [^;]*; (?<lost>\d+) token\(s\) lost")]
    private static partial Regex SummaryPattern();

    [GeneratedRegex(@"warning (?<code>JOBS\d{4})\s*:")]
    private static partial Regex WarningPattern();

    [GeneratedRegex(@"error (?<code>JOBS\d{4})\s*:")]
    private static partial Regex ErrorPattern();
}

/// <summary>One JOBS0030 line: slots, pool kind, tool runs, peak tokens held at once, tokens lost.</summary>
internal sealed record Summary(int Slots, string Kind, int ToolRuns, int Peak, int Lost);
