using System.Globalization;
using System.Text;
using MSBuild.Jobserver.Testing;

namespace MSBuild.Jobserver.IntegrationTests;

/// <summary>
/// Fixtures with jobserver clients nobody here wrote: the cc crate 1.0.73 on jobserver 0.1.24 (Debian 12's crate
/// sources, used as cargo's registry with no network), Debian's cargo 1.65 / rustc 1.63, sccache 0.4, make 4.3 and
/// 4.4.1. build/ci/old-clients.sh installs them; a missing one ends the test by name (Prerequisite).
/// </summary>
internal static class OldClientFixtures
{
    /// <summary>Debian's crate sources (librust-*-dev), a cargo directory registry.</summary>
    public const string DebianRegistry = "/usr/share/cargo/registry";

    /// <summary>The cc release in <see cref="DebianRegistry"/> (Debian 12's librust-cc-dev).</summary>
    public const string CcVersion = "1.0.73";

    /// <summary>Where Debian's cargo and rustc (apt-get install cargo) live.</summary>
    public const string DebianToolchainDirectory = "/usr/bin";

    /// <summary>C files each native crate's build script compiles.</summary>
    public const int CFilesPerCrate = 6;

    /// <summary>
    /// Seconds the C compiler wrapper holds its slot on top of the real compile, so compiles of two build scripts
    /// surely overlap when the pool lets them (a small C file alone compiles in a few milliseconds).
    /// </summary>
    public const string CompileHoldSeconds = "1";

    /// <summary>Every C compile's label starts with this (then the file's name).</summary>
    public const string CCompilePrefix = "cc-";

    /// <summary>The wrappers' shell lines that set <c>pool</c> to the pool a client finds in its environment.</summary>
    private const string ResolvePool = $$$"""
        # The pool a client finds: the first of CARGO_MAKEFLAGS/MAKEFLAGS set, its last --jobserver-auth=, resolved
        # to the fifo: path or to the file behind the read descriptor of the R,W form.
        flags=${CARGO_MAKEFLAGS:-${MAKEFLAGS:-}}
        {{{IntervalLog.ResolvePool}}}
        """;

    /// <summary>
    /// Logs every rustc run but cargo's probes (crate `___`), as RUSTC_WRAPPER (its first argument is the rustc to
    /// run), with the CARGO_MAKEFLAGS and MAKEFLAGS it was handed and the pool they resolve to.
    /// </summary>
    private const string RustcWrapperScript = $$"""
        #!/bin/sh
        # RUSTC_WRAPPER written by the old-client tests: logs when each rustc run (but cargo's probes) starts and ends,
        # with the jobserver it was handed, to $JBS_INTERVAL_LOG.
        {{IntervalLog.FindCrateName}}
        case "$crate" in
          ""|___) exec "$@" ;;
        esac
        {{ResolvePool}}
        echo "S $$ $crate $(date +%s.%N) ${CARGO_MAKEFLAGS:-} | ${MAKEFLAGS:-} pool=$pool" >> "$JBS_INTERVAL_LOG"
        {{IntervalLog.CompileAndLogItsEnd}}

        """;

    /// <summary>RUSTC for a cache in front (RUSTC_WRAPPER=sccache): the logging wrapper around the rustc on PATH.</summary>
    private const string LoggedRustcScript = """
        #!/bin/sh
        # RUSTC written by the old-client tests: the rustc on PATH, logged by rustc-log.sh.
        exec "$(dirname "$0")/rustc-log.sh" rustc "$@"

        """;

    /// <summary>CC: logs each C compile (label cc-FILE) with the jobserver it inherited, holding the slot a moment.</summary>
    private const string CcWrapperScript = $$"""
        #!/bin/sh
        # CC written by the old-client tests: logs when each C compile starts and ends, with the jobserver the build
        # script handed it, to $JBS_INTERVAL_LOG; holds the slot $JBS_COMPILE_HOLD s longer than the compile.
        src=
        for arg in "$@"; do
          case "$arg" in *.c) src=$(basename "$arg") ;; esac
        done
        [ -n "$src" ] || exec cc "$@"
        {{ResolvePool}}
        echo "S $$ cc-$src $(date +%s.%N) ${CARGO_MAKEFLAGS:-} | ${MAKEFLAGS:-} pool=$pool" >> "$JBS_INTERVAL_LOG"
        cc "$@"
        status=$?
        sleep "${JBS_COMPILE_HOLD:-0}"
        echo "E $$ cc-$src $(date +%s.%N)" >> "$JBS_INTERVAL_LOG"
        exit $status

        """;

    /// <summary>The logging RUSTC_WRAPPER of an old-client fixture.</summary>
    public static string RustcWrapper(FixtureRepo repo) => Path.Combine(repo.Root, "rustc-log.sh");

    /// <summary>The logging RUSTC (for RUSTC_WRAPPER=sccache) of an old-client fixture.</summary>
    public static string LoggedRustc(FixtureRepo repo) => Path.Combine(repo.Root, "rustc.sh");

    /// <summary>
    /// Makes <paramref name="repo"/> an old-client fixture: cargo's registry is Debian's crate sources, and the logging
    /// wrappers for rustc and the C compiler are written. Fails with the setup hint when the sources are missing.
    /// </summary>
    public static void Prepare(FixtureRepo repo)
    {
        RequireFile(Path.Combine(DebianRegistry, "cc-" + CcVersion, "Cargo.toml"), "librust-cc-dev");
        repo.Write(".cargo/config.toml", $"""
            # Debian's crate sources (librust-cc-dev and its dependencies) instead of crates.io: no network needed.
            [source.crates-io]
            replace-with = "debian"

            [source.debian]
            directory = "{DebianRegistry}"

            """);
        repo.Write("rustc-log.sh", RustcWrapperScript);
        repo.Write("rustc.sh", LoggedRustcScript);
        repo.Write("cc-log.sh", CcWrapperScript);
        foreach (var script in new[] { "rustc-log.sh", "rustc.sh", "cc-log.sh" })
        {
            File.SetUnixFileMode(Path.Combine(repo.Root, script), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
    }

    /// <summary>
    /// Adds <c>{name}/{name}.csproj</c> running <c>cargo build</c> through a plain &lt;Exec&gt; on a workspace whose one
    /// crate, jbs_native_{name}, has a build script compiling <see cref="CFilesPerCrate"/> C files with cc's
    /// `parallel` feature. The Exec prints cargo's and rustc's versions first, so the log shows which toolchain ran.
    /// </summary>
    public static string AddNativeCargoProject(FixtureRepo repo, string name, int seed = 0)
    {
        WriteNativeCrate(Path.Combine(repo.Root, name, "ws"), name, seed);
        return repo.AddProject(name, PackageUse.PackageReference, "", """
              <Target Name="CargoBuild" AfterTargets="Build">
                <Exec Command="cargo --version &amp;&amp; rustc --version &amp;&amp; cargo build --offline" WorkingDirectory="$(MSBuildThisFileDirectory)ws" />
              </Target>
            """);
    }

    /// <summary>Two native cargo projects and an entry project all.proj building both in parallel; returns the entry.</summary>
    public static string TwoNativeProjects(FixtureRepo repo, int seed = 0)
    {
        Prepare(repo);
        var projects = new[] { AddNativeCargoProject(repo, "p1", seed), AddNativeCargoProject(repo, "p2", seed + 1) };
        return repo.AddTraversal("all.proj", projects);
    }

    /// <summary>Rewrites the Rust and C sources of every native project, so a compiler cache misses on the next build.</summary>
    public static void ChangeSources(FixtureRepo repo, int seed)
    {
        foreach (var name in new[] { "p1", "p2" })
        {
            WriteNativeCrate(Path.Combine(repo.Root, name, "ws"), name, seed);
        }
    }

    /// <summary>The environment of an old-client build: the logging wrappers, and the C compiler wrapper as CC.</summary>
    public static Dictionary<string, string?> Environment(FixtureRepo repo) => new()
    {
        ["RUSTC_WRAPPER"] = RustcWrapper(repo),
        ["CC"] = Path.Combine(repo.Root, "cc-log.sh"),
        ["JBS_COMPILE_HOLD"] = CompileHoldSeconds,
    };

    /// <summary>The C compiles a run logged.</summary>
    public static IReadOnlyList<Interval> CCompiles(BuildRun run) =>
        run.Intervals.Where(i => i.Label.StartsWith(CCompilePrefix, StringComparison.Ordinal)).ToList();

    /// <summary>The rustc runs a run logged (every interval that is not a C compile).</summary>
    public static IReadOnlyList<Interval> RustcRuns(BuildRun run) =>
        run.Intervals.Where(i => !i.Label.StartsWith(CCompilePrefix, StringComparison.Ordinal)).ToList();

    /// <summary>The jobserver forms the compilers were handed, distinct, for the report: "CARGO_MAKEFLAGS | MAKEFLAGS".</summary>
    public static string Forms(BuildRun run) =>
        string.Join("; ", run.Intervals.Select(i => (i.Label.StartsWith(CCompilePrefix, StringComparison.Ordinal) ? "cc: " : "rustc: ") + i.Jobserver).Distinct());

    /// <summary>Ends the test, naming the Debian package, when <paramref name="path"/> is missing.</summary>
    public static void RequireFile(string path, string what) => Prerequisite.RequireFile(path, "Debian's " + what + ", installed by build/ci/old-clients.sh");

    private static void WriteNativeCrate(string directory, string name, int seed)
    {
        var crate = CrateGenerator.CratePrefix + "native_" + name;
        var crateDirectory = Path.Combine(directory, crate);
        Directory.CreateDirectory(Path.Combine(crateDirectory, "src"));
        Directory.CreateDirectory(Path.Combine(crateDirectory, "csrc"));
        File.WriteAllText(Path.Combine(directory, "Cargo.toml"), $"[workspace]\nresolver = \"2\"\nmembers = [\"{crate}\"]\n");
        File.WriteAllText(Path.Combine(crateDirectory, "Cargo.toml"), $$"""
            [package]
            name = "{{crate}}"
            version = "0.1.0"
            edition = "2021"
            build = "build.rs"

            [build-dependencies]
            cc = { version = "={{CcVersion}}", features = ["parallel"] }

            """);
        File.WriteAllText(Path.Combine(crateDirectory, "build.rs"), $$"""
            // Compiles the crate's C files with cc's `parallel` feature: one compile per token cc gets from the jobserver.
            fn main() {
                cc::Build::new()
                    .files((0..{{CFilesPerCrate}}).map(|i| format!("csrc/part{i}.c")))
                    .compile("jbsnative");
            }

            """);
        var rust = new StringBuilder("// Generated by the old-client tests: calls into the C parts.\nextern \"C\" {\n");
        var sum = new StringBuilder();
        for (var i = 0; i < CFilesPerCrate; i++)
        {
            rust.Append(CultureInfo.InvariantCulture, $"    fn part{i}(x: i32) -> i32;\n");
            sum.Append(CultureInfo.InvariantCulture, $" + unsafe {{ part{i}(x) }}");
            File.WriteAllText(Path.Combine(crateDirectory, "csrc", $"part{i}.c"),
                $"/* Generated by the old-client tests. */\nint part{i}(int x) {{ return x * {seed + 2} + {i}; }}\n");
        }

        rust.Append("}\n\n/// Sums the C parts.\npub fn total(x: i32) -> i32 {\n    0").Append(sum).Append("\n}\n\n");
        rust.Append(CrateGenerator.LibrarySource(seed));
        File.WriteAllText(Path.Combine(crateDirectory, "src", "lib.rs"), rust.ToString());
    }
}
