using System.Globalization;
using System.Text;

namespace MSBuild.Jobserver.IntegrationTests;

/// <summary>
/// One logged run: a compile of a fixture crate (label = crate name, from the RUSTC_WRAPPER) or a job the fixture
/// wrapped in interval.sh (make's sleeps, the token-guarded Exec). Times are Unix seconds. <see cref="Jobserver"/> is
/// the CARGO_MAKEFLAGS the compiler was handed and the pool it resolves to (empty for other jobs).
/// </summary>
internal sealed record Interval(string Label, double Start, double End, string Jobserver)
{
    /// <summary>A compile of one of the fixture's crates (all are named jbs_*).</summary>
    public bool IsCompile => Label.StartsWith(CrateGenerator.CratePrefix, StringComparison.Ordinal);

    /// <summary>
    /// The FIFO the compiler was handed: the path the wrapper resolved (<c>pool=PATH</c>: the <c>fifo:</c> path, or
    /// the file behind the read descriptor of the <c>R,W</c> form), else the path in <c>--jobserver-auth=fifo:PATH</c>.
    /// </summary>
    public string? FifoPath
    {
        get
        {
            const string Resolved = " pool=";
            var resolved = (" " + Jobserver).LastIndexOf(Resolved, StringComparison.Ordinal);
            if (resolved >= 0)
            {
                var pool = (" " + Jobserver)[(resolved + Resolved.Length)..].Trim();
                return pool.Length == 0 ? null : pool;
            }

            const string Marker = "--jobserver-auth=fifo:";
            var at = Jobserver.LastIndexOf(Marker, StringComparison.Ordinal);
            if (at < 0)
            {
                return null;
            }

            var path = Jobserver[(at + Marker.Length)..];
            var space = path.IndexOf(' ');
            return space < 0 ? path : path[..space];
        }
    }
}

/// <summary>
/// The scripts that log intervals, the parser of what they log, and the overlap measurement. Both scripts append
/// "S pid label time [jobserver]" when a job starts and "E pid label time" when it ends; appends of one short line
/// to a file opened O_APPEND do not interleave.
/// </summary>
internal static class IntervalLog
{
    /// <summary>The variable that names the log file, set in every build's environment.</summary>
    public const string Variable = "JBS_INTERVAL_LOG";

    /// <summary>A RUSTC_WRAPPER's opening shell lines: they set <c>crate</c> to the --crate-name of the rustc run it wraps.</summary>
    public const string FindCrateName = """
        crate=
        prev=
        for arg in "$@"; do
          [ "$prev" = "--crate-name" ] && crate=$arg
          prev=$arg
        done
        """;

    /// <summary>A RUSTC_WRAPPER's opening shell lines when it wraps only fixture crates (jbs_*): anything else runs untouched.</summary>
    public const string FixtureCratesOnly = $$"""
        {{FindCrateName}}
        case "$crate" in
          jbs_*) ;;
          *) exec "$@" ;;
        esac
        """;

    /// <summary>
    /// Shell lines that set <c>pool</c> to the pool named by <c>$flags</c>: its last --jobserver-auth=, resolved to
    /// the fifo: path or to the file behind the read descriptor of the R,W form.
    /// </summary>
    public const string ResolvePool = """
        auth=$(printf '%s\n' "$flags" | tr ' ' '\n' | grep '^--jobserver-auth=' | tail -n 1 | cut -d= -f2-)
        case "$auth" in
          fifo:*) pool=${auth#fifo:} ;;
          *,*) pool=$(readlink "/proc/$$/fd/${auth%%,*}" 2>/dev/null) ;;
          *) pool= ;;
        esac
        """;

    /// <summary>A logging RUSTC_WRAPPER's closing shell lines: run the compile, log its end, exit with its status.</summary>
    public const string CompileAndLogItsEnd = """
        "$@"
        status=$?
        echo "E $$ $crate $(date +%s.%N)" >> "$JBS_INTERVAL_LOG"
        exit $status
        """;

    /// <summary>RUSTC_WRAPPER: logs every compile of a fixture crate; cargo's probes and other crates run untouched.</summary>
    public const string RustcWrapperScript = $$"""
        #!/bin/sh
        # RUSTC_WRAPPER written by the integration tests: logs when each compile of a fixture crate (jbs_*) starts and
        # ends, with the jobserver it was handed, to $JBS_INTERVAL_LOG. Everything else (cargo's probes) runs untouched.
        {{FixtureCratesOnly}}
        # The pool the compile reaches: the fifo: path, or the file behind the read descriptor of the R,W form.
        flags=${CARGO_MAKEFLAGS:-}
        {{ResolvePool}}
        echo "S $$ $crate $(date +%s.%N) ${CARGO_MAKEFLAGS:-} pool=$pool" >> "$JBS_INTERVAL_LOG"
        {{CompileAndLogItsEnd}}

        """;

    /// <summary>interval.sh LABEL COMMAND...: runs the command and logs its interval under LABEL.</summary>
    public const string IntervalScript = """
        #!/bin/sh
        # interval.sh LABEL COMMAND...: runs COMMAND and logs its interval to $JBS_INTERVAL_LOG under LABEL.
        label=$1
        shift
        echo "S $$ $label $(date +%s.%N)" >> "$JBS_INTERVAL_LOG"
        "$@"
        status=$?
        echo "E $$ $label $(date +%s.%N)" >> "$JBS_INTERVAL_LOG"
        exit $status

        """;

    /// <summary>Reads a log; a start without an end (a job killed or still running) fails the test.</summary>
    public static IReadOnlyList<Interval> Read(string path)
    {
        if (!File.Exists(path))
        {
            return Array.Empty<Interval>();
        }

        var open = new Dictionary<string, (double Start, string Jobserver)>(StringComparer.Ordinal);
        var done = new List<Interval>();
        foreach (var line in File.ReadAllLines(path).Where(l => l.Length > 0))
        {
            var parts = line.Split(' ', 5);
            Assert.IsGreaterThanOrEqualTo(4, parts.Length, $"malformed interval line '{line}' in {path}");
            var key = parts[1] + " " + parts[2];
            var time = double.Parse(parts[3], NumberStyles.Float, CultureInfo.InvariantCulture);
            if (parts[0] == "S")
            {
                open[key] = (time, parts.Length > 4 ? parts[4].Trim() : "");
            }
            else if (open.Remove(key, out var start))
            {
                Assert.IsLessThanOrEqualTo(time, start.Start, $"interval ends before it starts: '{line}'");
                done.Add(new Interval(parts[2], start.Start, time, start.Jobserver));
            }
            else
            {
                Assert.Fail($"an end without a start in {path}: '{line}'");
            }
        }

        Assert.IsEmpty(open, $"jobs that started and never ended (killed?) in {path}: {string.Join(", ", open.Keys)}");
        return done.OrderBy(i => i.Start).ToList();
    }

    /// <summary>The largest number of intervals open at one instant; an end and a start at the same instant do not overlap.</summary>
    public static int MaxOverlap(IEnumerable<Interval> intervals)
    {
        var edges = intervals.SelectMany(i => new[] { (At: i.Start, Delta: 1), (At: i.End, Delta: -1) })
            .OrderBy(e => e.At).ThenBy(e => e.Delta);
        int open = 0, max = 0;
        foreach (var edge in edges)
        {
            open += edge.Delta;
            max = Math.Max(max, open);
        }

        return max;
    }

    /// <summary>The intervals relative to the first start, one per line, for assertion messages.</summary>
    public static string Describe(IEnumerable<Interval> intervals)
    {
        var list = intervals.OrderBy(i => i.Start).ToList();
        if (list.Count == 0)
        {
            return "(no intervals logged)";
        }

        var origin = list[0].Start;
        var text = new StringBuilder();
        foreach (var i in list)
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"  {i.Start - origin,7:0.000} .. {i.End - origin,7:0.000}  {i.Label}  {i.Jobserver}");
        }

        return text.ToString();
    }
}
