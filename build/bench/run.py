#!/usr/bin/env python3
"""MSBuild.Jobserver benchmark (issue 4).

One command:  python3 build/bench/run.py [--quick] [--rounds N] [--projects P] [--crates C]
                                          [--jobs N] [--size M] [--variants abcdefg]
              python3 build/bench/run.py --shape many|one-project|heavy|csharp   (issue 22's shapes)
              python3 build/bench/run.py --exec-overhead [--quick] [--rounds N] [--projects P]
              python3 build/bench/run.py --micro            (BenchmarkDotNet, build/bench/Micro)
              python3 build/bench/run.py --noop [--rounds N] (a no-op build: the package's fixed cost)

Generates a mixed workload under artifacts/bench/work: P .NET projects, each running
`cargo build` through <Exec> on its own cargo workspace of C generic-heavy crates, and runs it
interleaved (a b c d a b c d ...) with fresh cargo target directories every run:

  (a) dotnet build -m:N                     without the package
  (b) dotnet build -m:N                     with MSBuild.Jobserver (packed from this repo)
  (c) make -jN, one `+cargo build` recipe per project (GNU make's own jobserver)
  (d) cargo build -jN of one workspace holding all P*C crates (one scheduler, the limit)
  (e) dotnet build -m:N                     without the package, CARGO_BUILD_JOBS=1 in the environment
  (f) dotnet build -m:1                     without the package
  (g) dotnet build -m:N                     with the package and -p:JobserverCountCompile=true

Measures per run: wall, CPU (rusage of every descendant: the harness is a child subreaper),
idle CPU-seconds (cores x wall - the build's CPU),
peak concurrent rustc (RUSTC_WRAPPER log, workload crates only), peak runnable threads
(procs_running in /proc/stat every 20 ms), peak total RSS of the build's process tree (/proc,
every 100 ms) and, for (b), the package's end-of-build summary (JOBS0030).
Prints a markdown table and writes artifacts/bench/results.json. Exits 2 if any (b) or (g) run had
more than N rustc at once (the package's hard invariant), 1 on any other failure.

Python 3 standard library only: no pip step on a fresh machine, and /proc, rusage and
prctl are all reachable from it.
"""

import argparse
import ctypes
import datetime
import hashlib
import json
import os
import platform
import re
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
WRAPPER = HERE / "rustc-wrapper.sh"
VARIANTS = {
    "a": "dotnet build -m:N (no package)",
    "b": "dotnet build -m:N + MSBuild.Jobserver",
    "c": "make -jN, +cargo recipes",
    "d": "one cargo workspace, cargo build -jN",
    "e": "dotnet build -m:N, CARGO_BUILD_JOBS=1 (no package)",
    "f": "dotnet build -m:1 (no package)",
    "g": "dotnet build -m:N + MSBuild.Jobserver, JobserverCountCompile",
}
# Variants that build the tree with the package; the others' dotnet trees have none.
PACKAGE_VARIANTS = "bg"
DOTNET_VARIANTS = "abefg"
# Issue 22's three shapes, and one whose projects compile C# beside their cargo build: defaults for
# --projects, --crates, --size, --variants, --rounds and --cs-lines (explicit options win). Sizes keep a
# shape near 10 minutes with 2 rounds on 2 cores.
SHAPES = {
    "many": dict(projects=8, crates=3, size=6, variants="abef", rounds=2, cs_lines=0),
    "one-project": dict(projects=1, crates=12, size=10, variants="abef", rounds=2, cs_lines=0),
    "heavy": dict(projects=4, crates=1, size=16, variants="abef", rounds=2, cs_lines=0),
    "csharp": dict(projects=6, crates=1, size=6, variants="abge", rounds=2, cs_lines=400),
}
PACKAGE_ID = "MSBuild.Jobserver"
CRATE_PREFIX = "bw_"
# Targets from issue 4, as (b)/X ratios (lower is better for b).
TARGETS = [
    ("wall", "a", 1.00, "Wall (b)/(a) <= 1.00"),
    ("peak_rss_mib", "a", 0.60, "Peak RSS (b)/(a) <= 0.60"),
    ("wall", "c", 1.05, "Wall (b)/(c) <= 1.05"),
    ("wall", "d", 1.15, "Wall (b)/(d) <= 1.15"),
]


class BenchError(Exception):
    pass


def log(msg):
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------------------------
# Workload generation
# --------------------------------------------------------------------------------------------

# One module of generic-heavy Rust: a generic store instantiated with five element types, each
# with its own closures, HashMap/BTreeMap keys, iterator chains and Debug formatting. About
# 0.6 s of single-threaded debug compile time per module on the reference machine.
RUST_MODULE = r'''
pub mod m{k} {{
    use std::collections::{{BTreeMap, HashMap}};
    use std::fmt::Debug;

    #[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
    pub struct Key{k}(pub u64, pub String);

    #[derive(Clone, Debug, Default)]
    pub struct Store{k}<T> {{
        pub items: Vec<T>,
        pub index: HashMap<Key{k}, usize>,
        pub ordered: BTreeMap<Key{k}, T>,
    }}

    impl<T: Clone + Debug + Default> Store{k}<T> {{
        pub fn insert(&mut self, key: Key{k}, value: T) {{
            self.index.insert(key.clone(), self.items.len());
            self.ordered.insert(key, value.clone());
            self.items.push(value);
        }}
        pub fn map<U, F: Fn(&T) -> U>(&self, f: F) -> Vec<U> {{
            self.items.iter().map(f).collect()
        }}
        pub fn describe(&self) -> String {{
            format!("{{:?}}", self.ordered.iter().rev().take(2).collect::<Vec<_>>())
        }}
    }}

    pub fn fill<T: Clone + Debug + Default, G: Fn(u64) -> T>(n: u64, g: G) -> Store{k}<T> {{
        let mut s = Store{k}::default();
        for i in 0..n {{
            s.insert(Key{k}(i ^ {seed}, format!("{{}}-{{}}", i, {seed})), g(i));
        }}
        s
    }}

    pub fn work(n: u64) -> usize {{
        let a = fill(n, |i| i.wrapping_mul({seed} + 1));
        let b = fill(n, |i| (i as u32, i.to_string()));
        let c = fill(n, |i| vec![i as u8; (i % 5) as usize]);
        let d = fill(n, |i| Some((i as i16, format!("{{:x}}", i))));
        let e = fill(n, |i| (i as f64 * 0.5, i as u16, 'c'));
        let mut words: Vec<String> = b
            .map(|x| x.1.clone())
            .into_iter()
            .zip(a.map(|x| *x))
            .filter(|(_, v)| v % 3 != 1)
            .map(|(w, v)| format!("{{w}}:{{v}}"))
            .collect();
        words.sort();
        words.dedup();
        let total: u64 = c.map(|v| v.iter().map(|x| *x as u64).sum::<u64>()).into_iter().sum();
        let flags: HashMap<bool, Vec<i16>> = d.map(|o| o.clone()).into_iter().flatten().fold(
            HashMap::new(),
            |mut m, (x, _)| {{
                m.entry(x % 2 == 0).or_insert_with(Vec::new).push(x);
                m
            }},
        );
        let best = e.map(|t| t.0).into_iter().fold(0.0f64, f64::max);
        words.len() + total as usize + flags.len() + best as usize
            + a.describe().len() + b.describe().len() + c.describe().len()
            + d.describe().len() + e.describe().len()
    }}
}}
'''


def crate_name(p, c):
    return f"{CRATE_PREFIX}p{p:02d}_c{c}"


def crate_source(p, c, modules):
    """lib.rs of crate c of project p. Crate 0 is the project's base crate; every other crate
    depends on it (so cargo must order them, as in a real workspace)."""
    parts = ["#![allow(dead_code, clippy::all)]\n"]
    for k in range(modules):
        parts.append(RUST_MODULE.format(k=k, seed=p * 1000 + c * 100 + k))
    calls = " + ".join(f"m{k}::work(n)" for k in range(modules)) or "0"
    dep = f" + {crate_name(p, 0)}::run(n)" if c > 0 else ""
    parts.append(f"\npub fn run(n: u64) -> usize {{\n    {calls}{dep}\n}}\n")
    return "".join(parts)


def crate_manifest(p, c, base_rel_path):
    deps = ""
    if c > 0:
        deps = f'\n[dependencies]\n{crate_name(p, 0)} = {{ path = "{base_rel_path}" }}\n'
    return (
        f'[package]\nname = "{crate_name(p, c)}"\nversion = "0.1.0"\nedition = "2021"\n'
        f'publish = false\n\n[lib]\npath = "src/lib.rs"\n{deps}'
    )


def write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


ENTRY = "bench.csproj"


def entry_text(projects, version):
    """The build's entry: a traversal project over the P projects (built in parallel through
    ProjectReference). In (b) it references the package too, so the build ends with the package's
    summary (JOBS0030, with the seconds tools waited for tokens); a .sln entry gives none."""
    # SkipGetTargetFrameworkProperties: otherwise the entry asks every project for its target frameworks first,
    # on whichever node is up (usually only the entry's own), and MSBuild then builds each project on the node
    # that first loaded it: stock MSBuild would run most cargo builds one after another on one node.
    refs = "".join(f'    <ProjectReference Include="{rel}" ReferenceOutputAssembly="false" '
                   f'SkipGetTargetFrameworkProperties="true" />\n' for _, rel in projects)
    return (PROJECT_HEAD.format(package=package_item(version)) + NO_COMPILE +
            f"  <ItemGroup>\n{refs}  </ItemGroup>\n</Project>\n")


# A "NoTargets-like" project: Microsoft.NET.Sdk (so NuGet restore and PackageReference work
# exactly as in a real repo) with compilation and output copying switched off, so the build's
# cost is MSBuild itself plus what the project's targets run.
PROJECT_HEAD = """<Project>
  <Import Project="Sdk.props" Sdk="Microsoft.NET.Sdk" />
  <PropertyGroup>
    <TargetFramework>net10.0</TargetFramework>
    <EnableDefaultItems>false</EnableDefaultItems>
    <GenerateAssemblyInfo>false</GenerateAssemblyInfo>
    <GenerateDependencyFile>false</GenerateDependencyFile>
    <ProduceReferenceAssembly>false</ProduceReferenceAssembly>
    <CopyBuildOutputToOutputDirectory>false</CopyBuildOutputToOutputDirectory>
    <CopyOutputSymbolsToOutputDirectory>false</CopyOutputSymbolsToOutputDirectory>
    <DebugType>none</DebugType>
  </PropertyGroup>
{package}  <Import Project="Sdk.targets" Sdk="Microsoft.NET.Sdk" />
"""
NO_COMPILE = """  <!-- Nothing to compile: the work is in the targets below. -->
  <Target Name="CoreCompile" />
"""
# --cs-lines: the project compiles its generated C# (a real CoreCompile) before its cargo build.
COMPILE_ITEMS = """  <ItemGroup>
    <Compile Include="Generated.cs" />
  </ItemGroup>
"""

# One generated C# class (about 40 lines): generics, LINQ, records and pattern matching, so Roslyn's binder
# and emitter do real work per line, as in an ordinary library.
CS_CLASS = """
public sealed record Item{k}(int Id, string Name, double Weight);

public static class Catalog{k}
{{
    public static Dictionary<string, List<T>> GroupBy<T>(IEnumerable<T> items, Func<T, string> key)
    {{
        var groups = new Dictionary<string, List<T>>();
        foreach (var item in items)
        {{
            if (!groups.TryGetValue(key(item), out var list))
            {{
                list = new List<T>();
                groups[key(item)] = list;
            }}
            list.Add(item);
        }}
        return groups;
    }}

    public static string Describe(object value) => value switch
    {{
        Item{k} {{ Weight: > {seed} }} heavy => $"heavy {{heavy.Name}}",
        Item{k} item => $"item {{item.Id}}",
        int n when n % 2 == 0 => "even",
        string text => text.ToUpperInvariant(),
        _ => "other",
    }};

    public static double Score(int n)
    {{
        var items = Enumerable.Range(0, n).Select(i => new Item{k}(i, $"n{{i % {seed}}}", i * 0.5)).ToList();
        var grouped = GroupBy(items, i => i.Name);
        return grouped.Values
            .Select(g => g.Where(i => i.Weight > 1).OrderByDescending(i => i.Weight).Take(3).Sum(i => i.Weight))
            .Concat(items.Select(i => (double)Describe(i).Length))
            .Aggregate(0.0, (acc, x) => acc + x);
    }}
}}
"""


def csharp_source(p, lines):
    """Generated.cs of project p: about `lines` lines of C#, in classes of CS_CLASS."""
    classes = max(1, lines // CS_CLASS.count("\n"))
    body = "".join(CS_CLASS.format(k=k, seed=p * 10 + k % 7 + 1) for k in range(classes))
    return f"using System;\nusing System.Collections.Generic;\nusing System.Linq;\n\nnamespace Bench.P{p:02d};\n{body}"


def package_item(version):
    if version is None:
        return ""
    return (f'  <ItemGroup>\n    <PackageReference Include="{PACKAGE_ID}" Version="{version}" '
            f'PrivateAssets="all" />\n  </ItemGroup>\n')


def nuget_config(feed):
    """The local feed holding the packed package, added to the machine's configured sources (no <clear/>: the
    repository names no registry of its own)."""
    lines = ['<?xml version="1.0" encoding="utf-8"?>', "<configuration>", "  <packageSources>"]
    if feed is not None:
        lines.append(f'    <add key="bench-local" value="{feed}" />')
    lines += ["  </packageSources>", "</configuration>", ""]
    return "\n".join(lines)


def write_dotnet_root(root, feed):
    """Files that stop MSBuild/NuGet from picking up the repository's own Directory.*.props
    (central package management, warnings-as-errors) above the generated tree."""
    write(root / "Directory.Build.props", "<Project />\n")
    write(root / "Directory.Build.targets", "<Project />\n")
    write(root / "Directory.Packages.props",
          "<Project>\n  <PropertyGroup>\n    <ManagePackageVersionsCentrally>false"
          "</ManagePackageVersionsCentrally>\n  </PropertyGroup>\n</Project>\n")
    write(root / "NuGet.config", nuget_config(feed))


def write_dotnet_tree(root, cfg, version, projects, csharp=None):
    """A generated .NET tree: a project for each (name, targets), PROJECT_HEAD and then its targets, and the
    entry over all of them; with the package when version is set (variant (b)). csharp(i) gives the C#
    source project i compiles; without it the projects compile nothing."""
    write_dotnet_root(root, cfg.feed if version else None)
    for i, (name, targets) in enumerate(projects, start=1):
        compile_part = NO_COMPILE
        if csharp is not None:
            compile_part = COMPILE_ITEMS
            write(root / name / "Generated.cs", csharp(i))
        write(root / name / f"{name}.csproj",
              PROJECT_HEAD.format(package=package_item(version)) + compile_part + targets + "</Project>\n")
    write(root / ENTRY, entry_text([(name, f"{name}/{name}.csproj") for name, _ in projects], version))


def cargo_build_target(arguments):
    """The target that runs `cargo build --offline ARGUMENTS` after Build (not with BenchSkipCargo=true)."""
    return ("\n  <Target Name=\"CargoBuild\" AfterTargets=\"Build\" Condition=\"'$(BenchSkipCargo)' != 'true'\">\n"
            f"    <Exec Command=\"cargo build --offline {arguments}\" />\n  </Target>\n")


def generate_workload(work, cfg, version):
    P, C, M = cfg.projects, cfg.crates, cfg.size
    if work.exists():
        shutil.rmtree(work)
    crates = work / "crates"
    mono = work / "mono"
    for p in range(1, P + 1):
        ws = crates / f"p{p:02d}"
        write(ws / "Cargo.toml",
              "[workspace]\nresolver = \"2\"\nmembers = [" +
              ", ".join(f'"c{c}"' for c in range(C)) + "]\n")
        for c in range(C):
            src = crate_source(p, c, M)
            write(ws / f"c{c}" / "Cargo.toml", crate_manifest(p, c, "../c0"))
            write(ws / f"c{c}" / "src" / "lib.rs", src)
            # (d): the same crates, all in one workspace.
            d = mono / f"p{p:02d}_c{c}"
            write(d / "Cargo.toml", crate_manifest(p, c, f"../p{p:02d}_c0"))
            write(d / "src" / "lib.rs", src)
    write(mono / "Cargo.toml",
          "[workspace]\nresolver = \"2\"\nmembers = [" +
          ", ".join(f'"p{p:02d}_c{c}"' for p in range(1, P + 1) for c in range(C)) + "]\n")

    # (a) and (b): identical .NET trees, (b) references the package ((e) and (f) build a's, (g) b's).
    csharp = (lambda p: csharp_source(p, cfg.cs_lines)) if cfg.cs_lines else None
    for variant, ver in (("a", None), ("b", version)):
        write_dotnet_tree(work / f"dotnet-{variant}", cfg, ver, [
            (f"P{p:02d}", cargo_build_target(f"--manifest-path {crates / f'p{p:02d}' / 'Cargo.toml'} "
                                             f"--target-dir $(BENCH_TARGET_ROOT)/p{p:02d}"))
            for p in range(1, P + 1)], csharp)

    # (c): GNU make, one recursive (+) recipe per project, so cargo gets make's jobserver.
    mk = ["# Generated by build/bench/run.py: variant (c).", ".PHONY: all " +
          " ".join(f"p{p:02d}" for p in range(1, P + 1)),
          "all: " + " ".join(f"p{p:02d}" for p in range(1, P + 1)), ""]
    for p in range(1, P + 1):
        manifest = crates / f"p{p:02d}" / "Cargo.toml"
        mk += [f"p{p:02d}:",
               f"\t+cargo build --offline --manifest-path {manifest} "
               f"--target-dir $(BENCH_TARGET_ROOT)/p{p:02d}", ""]
    write(work / "make" / "Makefile", "\n".join(mk))


def generate_exec_overhead(work, cfg, version):
    """--exec-overhead: P tiny projects, each timing `calls` Exec calls of `true` (not a listed
    tool: ExecWithJobserver must behave like stock Exec) and of `cargo --version` (a listed
    tool: takes a token, hands the pool over, gives the token back)."""
    if work.exists():
        shutil.rmtree(work)
    kinds = [("true", "true"), ("cargo", "cargo --version")]
    for variant, ver in (("a", None), ("b", version)):
        if variant == "b" and version is None:
            continue
        steps = "".join(f"""    <PropertyGroup><_BenchT0>$([System.DateTime]::UtcNow.Ticks)</_BenchT0></PropertyGroup>
    <Exec Command="{command}" StandardOutputImportance="low" />
    <PropertyGroup><_BenchT1>$([System.DateTime]::UtcNow.Ticks)</_BenchT1></PropertyGroup>
    <Message Importance="high" Text="EXECBENCH {kind} $(_BenchT0) $(_BenchT1)" />
""" for kind, command in kinds for _ in range(cfg.exec_calls))
        target = ('  <Target Name="ExecBench" AfterTargets="Build" '
                  "Condition=\"'$(BenchSkipCargo)' != 'true'\">\n" + steps + "  </Target>\n")
        write_dotnet_tree(work / f"exec-{variant}", cfg, ver,
                          [(f"E{p:02d}", target) for p in range(1, cfg.projects + 1)])


def generate_noop(work, cfg, version):
    """--noop: for 1 and for P projects, trees (a) and (b) where each project runs `cargo build`
    of a one-line crate: after a first build, every build is a no-op (nothing to compile, cargo
    fresh), the build a developer runs most often, and what the package adds to it is its fixed cost."""
    if work.exists():
        shutil.rmtree(work)
    for count in sorted({1, cfg.projects}):
        for variant, ver in (("a", None), ("b", version)):
            if variant == "b" and version is None:
                continue
            projects = []
            for p in range(1, count + 1):
                name = f"N{p:02d}"
                crate = work / "crates" / f"{name}-{variant}"
                write(crate / "Cargo.toml", f'[package]\nname = "{CRATE_PREFIX}noop{p}"\nversion = "0.1.0"\n'
                                            'edition = "2021"\n')
                write(crate / "src" / "lib.rs", "pub fn one() -> u32 { 1 }\n")
                projects.append((name, cargo_build_target(
                    f"--manifest-path {crate / 'Cargo.toml'} --target-dir {crate / 'target'}")))
            write_dotnet_tree(work / f"noop{count}-{variant}", cfg, ver, projects)


def prepare_comparison(cfg, name, generate):
    """What a mode comparing (a) with (b) starts from: the variants asked for (both by default), the package
    packed when (b) is among them (its restored copy dropped, so (b) restores the fresh one), an empty
    logs-NAME and the trees generate writes into NAME-work. Returns env, variants, version, work, logs."""
    check_tools(False)
    env = base_env(cfg)
    variants = [v for v in cfg.variants if v in "ab"] or ["a", "b"]
    version = ensure_package(cfg, env) if "b" in variants else None
    if version is not None:
        shutil.rmtree(cfg.out / "nuget-packages" / PACKAGE_ID.lower(), ignore_errors=True)
    work = cfg.out / f"{name}-work"
    logs = cfg.out / f"logs-{name}"
    shutil.rmtree(logs, ignore_errors=True)
    logs.mkdir(parents=True)
    generate(work, cfg, version)
    return env, variants, version, work, logs


def run_noop(cfg):
    """Interleaved no-op builds of (a) and (b), for 1 project and for P: medians of wall and CPU,
    and (b) − (a) as a share of (a). Many rounds: the differences sought are tens of ms."""
    env, variants, version, work, logs = prepare_comparison(cfg, "noop", generate_noop)
    counts = sorted({1, cfg.projects})
    trees = [work / f"noop{c}-{v}" for c in counts for v in variants]
    restore_and_warm(cfg, env, trees, logs)
    cmd = ["dotnet", "build", ENTRY, f"-m:{cfg.jobs}", "-nr:false", "-v:m", "--no-restore"]
    for tree in trees:
        # The first real build compiles the crates; every timed one after it is a no-op.
        m = measure(cmd, tree, env, logs / f"first-{tree.name}.log", cfg.timeout)
        if m["exit_code"]:
            raise BenchError(f"first build of {tree} failed; see {logs}/first-{tree.name}.log")
    runs = []
    for rnd in range(1, cfg.rounds + 1):
        log(f"no-op round {rnd}/{cfg.rounds}")
        # Every other round in reverse order, so neither variant always runs right after the other.
        for tree in (trees if rnd % 2 else trees[::-1]):
            wait_for_quiet(cfg.quiet_wait)
            m = measure(cmd, tree, env, logs / f"r{rnd}-{tree.name}.log", cfg.timeout)
            runs.append({"round": rnd, "tree": tree.name, "wall_s": m["wall_s"], "cpu_s": m["cpu_s"],
                         "foreign_cpu_s": m["foreign_cpu_s"],
                         "problems": [f"exit code {m['exit_code']}"] if m["exit_code"] else []})
    result = {"runs": runs, "rows": []}
    # The machine's other load only ever adds time, in waves that span several builds: besides the medians, the
    # median of each round's (b) − (a) (built back to back) and the mean of each variant's fastest quarter.
    lines = [f"No-op build (nothing to compile, cargo fresh), -m:{cfg.jobs}, {cfg.rounds} interleaved "
             "rounds", "",
             "| projects | (a) wall s, median | (b) wall s, median | (b) − (a), paired median | fastest quarter: (a) | (b) | (b) − (a) "
             "| (a) CPU s | (b) CPU s | (b) − (a) CPU |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for c in counts:
        of = {v: [r for r in runs if r["tree"] == f"noop{c}-{v}"] for v in variants}
        if len(of) < 2:
            continue
        med = {v: {k: statistics.median(r[k] for r in of[v]) for k in ("wall_s", "cpu_s")} for v in variants}
        fast = {v: statistics.mean(sorted(r["wall_s"] for r in of[v])[:max(1, len(of[v]) // 4)]) for v in variants}
        paired = statistics.median(b["wall_s"] - a["wall_s"] for a, b in zip(of["a"], of["b"]))
        a, b = med["a"], med["b"]
        row = {"projects": c, "a": a, "b": b,
               "wall_diff_s": round(b["wall_s"] - a["wall_s"], 3),
               "wall_diff_pct": round(100 * (b["wall_s"] - a["wall_s"]) / a["wall_s"], 1),
               "paired_wall_diff_s": round(paired, 3),
               "paired_wall_diff_pct": round(100 * paired / a["wall_s"], 1),
               "fastest_quarter_wall_s": {v: round(fast[v], 3) for v in variants},
               "fastest_quarter_diff_pct": round(100 * (fast["b"] - fast["a"]) / fast["a"], 1),
               "cpu_diff_s": round(b["cpu_s"] - a["cpu_s"], 3)}
        result["rows"].append(row)
        lines.append(f"| {c} | {a['wall_s']:.3f} | {b['wall_s']:.3f} | {paired:+.3f} s ({row['paired_wall_diff_pct']:+.1f} %) "
                     f"| {fast['a']:.3f} | {fast['b']:.3f} | {fast['b'] - fast['a']:+.3f} s ({row['fastest_quarter_diff_pct']:+.1f} %) "
                     f"| {a['cpu_s']:.3f} | {b['cpu_s']:.3f} | {row['cpu_diff_s']:+.3f} s |")
    foreign = [r["foreign_cpu_s"] for r in runs]
    lines += ["", f"Other load on the machine during the runs (CPU s per run, median): "
                  f"{statistics.median(foreign):.1f}"]
    problems = [f"r{r['round']}-{r['tree']}: {p}" for r in runs for p in r["problems"]]
    return result, "\n".join(lines), problems, version


# --------------------------------------------------------------------------------------------
# The package
# --------------------------------------------------------------------------------------------

def newest_source_mtime():
    newest = 0.0
    roots = [REPO / "src", REPO / "sdk", REPO / "Directory.Build.props",
             REPO / "Directory.Packages.props", REPO / "MSBuild.Jobserver.sln"]
    for r in roots:
        if r.is_file():
            newest = max(newest, r.stat().st_mtime)
            continue
        if not r.is_dir():
            continue
        for dirpath, dirnames, filenames in os.walk(r):
            dirnames[:] = [d for d in dirnames if d not in ("bin", "obj")]
            for f in filenames:
                newest = max(newest, os.stat(os.path.join(dirpath, f)).st_mtime)
    return newest


def find_package(feed):
    pkgs = sorted(feed.glob(f"{PACKAGE_ID}.[0-9]*.nupkg"), key=lambda p: p.stat().st_mtime)
    pkgs = [p for p in pkgs if not p.name.endswith(".symbols.nupkg")]
    return pkgs[-1] if pkgs else None


def package_version(nupkg):
    m = re.match(re.escape(PACKAGE_ID) + r"\.(\d+\.\d+\.\d+(?:[-+][^/]*)?)\.nupkg$", nupkg.name)
    if not m:
        raise BenchError(f"cannot read a version from {nupkg.name}")
    return m.group(1)


def ensure_package(cfg, env):
    """Packs the repository (unless --package-dir was given or the packed package is newer than
    every source file) and returns the package version. Fails clearly when the repository
    cannot produce the package yet."""
    feed = cfg.feed
    if cfg.package_dir:
        nupkg = find_package(feed)
        if nupkg is None:
            raise BenchError(f"no {PACKAGE_ID}.*.nupkg in --package-dir {feed}")
        return package_version(nupkg)
    nupkg = find_package(feed)
    if (nupkg is not None and not cfg.repack and not cfg.pack_ref
            and nupkg.stat().st_mtime > newest_source_mtime()):
        log(f"reusing {nupkg} (newer than every file under src/ and sdk/)")
        return package_version(nupkg)
    if feed.exists():
        shutil.rmtree(feed)
    feed.mkdir(parents=True)
    packlog = cfg.out / "pack.log"
    src = REPO
    if cfg.pack_ref:
        # Pack a commit rather than the work tree (which may hold someone's half-made edit).
        src = cfg.out / "pack-src"
        shutil.rmtree(src, ignore_errors=True)
        src.mkdir(parents=True)
        archive = subprocess.run(["git", "-C", str(REPO), "archive", "--format=tar", cfg.pack_ref],
                                 capture_output=True)
        if archive.returncode != 0:
            raise BenchError(f"git archive {cfg.pack_ref} failed: {archive.stderr.decode(errors='replace')}")
        subprocess.run(["tar", "-x", "-C", str(src)], input=archive.stdout, check=True)
    log(f"packing {PACKAGE_ID} from {cfg.pack_ref or 'the work tree'}: "
        f"dotnet pack MSBuild.Jobserver.sln -c Release -o {feed}")
    with open(packlog, "w") as f:
        rc = subprocess.call(["dotnet", "pack", str(src / "MSBuild.Jobserver.sln"), "-c", "Release",
                              "-o", str(feed), "-nr:false", "-v:m"],
                             stdout=f, stderr=subprocess.STDOUT, env=env, cwd=src)
    nupkg = find_package(feed)
    if rc != 0 or nupkg is None:
        tail = packlog.read_text(errors="replace").strip().splitlines()[-15:]
        why = "dotnet pack failed" if rc != 0 else f"dotnet pack produced no {PACKAGE_ID}.*.nupkg"
        raise BenchError(f"{PACKAGE_ID} package could not be built ({why}; see {packlog}):\n  " +
                         "\n  ".join(tail))
    return package_version(nupkg)


# --------------------------------------------------------------------------------------------
# Measurement
# --------------------------------------------------------------------------------------------

PAGE = os.sysconf("SC_PAGE_SIZE")


def set_child_subreaper():
    """Orphaned descendants (MSBuild nodes that outlive the entry process, say) are re-parented
    to us, so they stay in the measured tree and their rusage reaches RUSAGE_CHILDREN."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        PR_SET_CHILD_SUBREAPER = 36
        return libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def process_table():
    """{pid: (ppid, comm)} from /proc/*/stat."""
    table = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                data = f.read()
        except OSError:
            continue
        lp, rp = data.find(b"("), data.rfind(b")")
        fields = data[rp + 2:].split()
        if len(fields) < 2:
            continue
        table[int(entry)] = (int(fields[1]), data[lp + 1:rp].decode(errors="replace"))
    return table


def descendants(root, table=None):
    """PIDs of every process below root (excluded)."""
    table = process_table() if table is None else table
    children = {}
    for pid, (ppid, _) in table.items():
        children.setdefault(ppid, []).append(pid)
    out, stack = [], [root]
    while stack:
        for c in children.get(stack.pop(), ()):
            out.append(c)
            stack.append(c)
    return out


def rss_group(comm):
    """Groups process names for the RSS breakdown."""
    if comm.startswith("rustc"):
        return "rustc"
    if comm in ("cargo", "csc", "dotnet", "make", "sh"):
        return comm
    return "other"


def tree_rss(root):
    """(total bytes, {group: bytes}) over every descendant of root."""
    table = process_table()
    total, groups = 0, {}
    for pid in descendants(root, table):
        try:
            with open(f"/proc/{pid}/statm", "rb") as f:
                rss = int(f.read().split()[1]) * PAGE
        except (OSError, IndexError, ValueError):
            continue
        total += rss
        g = rss_group(table[pid][1])
        groups[g] = groups.get(g, 0) + rss
    return total, groups


def procs_running():
    with open("/proc/stat", "rb") as f:
        for line in f:
            if line.startswith(b"procs_running"):
                return int(line.split()[1])
    return 0


class Sampler(threading.Thread):
    """procs_running every 20 ms; total RSS of our descendants every 100 ms."""

    def __init__(self, root_pid, runnable_ms=20, rss_every=5):
        super().__init__(daemon=True)
        self.root = root_pid
        self.period = runnable_ms / 1000.0
        self.rss_every = rss_every
        self.stop_evt = threading.Event()
        self.peak_running = 0
        self.running_sum = 0
        self.running_n = 0
        self.peak_rss = 0
        self.peak_rss_groups = {}
        self.group_peaks = {}
        self.rss_n = 0

    def run(self):
        i = 0
        nxt = time.monotonic()
        while not self.stop_evt.is_set():
            try:
                r = procs_running() - 1  # minus this sampler, which is running while it reads
                self.peak_running = max(self.peak_running, r)
                self.running_sum += r
                self.running_n += 1
                if i % self.rss_every == 0:
                    total, groups = tree_rss(self.root)
                    if total > self.peak_rss:
                        self.peak_rss, self.peak_rss_groups = total, groups
                    for g, b in groups.items():
                        self.group_peaks[g] = max(self.group_peaks.get(g, 0), b)
                    self.rss_n += 1
            except OSError:
                pass
            i += 1
            nxt += self.period
            delay = nxt - time.monotonic()
            if delay < 0:
                nxt = time.monotonic()
                delay = 0
            self.stop_evt.wait(delay)

    def stop(self):
        self.stop_evt.set()
        self.join()


def reap_orphans(grace_s):
    """Waits for descendants re-parented to us (we are a subreaper); kills by PID whatever is
    still there after grace_s. Returns the PIDs that had to be killed."""
    me = os.getpid()
    deadline = time.monotonic() + grace_s
    killed = []
    while True:
        try:
            while True:
                pid, _ = os.waitpid(-1, os.WNOHANG)
                if pid == 0:
                    break
        except ChildProcessError:
            return killed
        if not descendants(me):
            return killed
        if time.monotonic() > deadline:
            for pid in descendants(me):
                try:
                    os.kill(pid, signal.SIGKILL)
                    killed.append(pid)
                except ProcessLookupError:
                    pass
            deadline = time.monotonic() + 30
            grace_s = 30
        time.sleep(0.05)


CLK_TCK = os.sysconf("SC_CLK_TCK")


def cpu_times_s():
    """(busy, idle) CPU seconds of the whole machine so far, over every CPU; iowait counts as idle."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    # user nice system idle iowait irq softirq steal (guest time is already in user)
    idle = fields[3] + fields[4]
    return (sum(fields[:8]) - idle) / CLK_TCK, idle / CLK_TCK


def busy_cpu_s():
    """Busy CPU seconds of the whole machine so far."""
    return cpu_times_s()[0]


def idle_cpu_s(wall_s, cpu_s, cores=None):
    """The build's idle CPU-seconds: what the machine's cores could have run during the build and the
    build did not use (cores x wall - the build's CPU), so other load on the machine does not hide it."""
    return round(max(0.0, (cores or os.cpu_count()) * wall_s - cpu_s), 2)


def wait_for_quiet(max_wait_s, threshold_cores=0.5, window_s=1.0):
    """Other people's builds on a shared machine skew every number: before a run, wait (at most
    max_wait_s) until the machine's busy CPU over a 1 s window is below threshold_cores.
    Returns (seconds waited, busy cores in the last window)."""
    waited = 0.0
    while True:
        b0 = busy_cpu_s()
        time.sleep(window_s)
        busy = (busy_cpu_s() - b0) / window_s
        if busy < threshold_cores or waited >= max_wait_s:
            return waited, round(busy, 2)
        waited += window_s


def measure(cmd, cwd, env, logfile, timeout_s):
    ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    self0 = resource.getrusage(resource.RUSAGE_SELF)
    busy0, idle0 = cpu_times_s()
    with open(logfile, "w") as out:
        out.write("$ " + " ".join(cmd) + "\n")
        out.flush()
        t0 = time.monotonic()
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL)
        sampler = Sampler(os.getpid())
        sampler.start()
        # A blocking wait, with a timer for the timeout: Popen.wait(timeout=...) polls every 50 ms, which rounded every
        # wall time up to the next 50 ms step (the no-op row's differences are tens of ms).
        expired = threading.Event()

        def kill_tree():
            expired.set()
            for pid in [proc.pid] + descendants(proc.pid):
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass

        killer = threading.Timer(timeout_s, kill_tree)
        killer.start()
        rc = proc.wait()
        wall = time.monotonic() - t0
        killer.cancel()
        timed_out = expired.is_set()
        killed = reap_orphans(grace_s=20)
        sampler.stop()
    ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    self1 = resource.getrusage(resource.RUSAGE_SELF)
    busy1, idle1 = cpu_times_s()
    busy = busy1 - busy0
    cpu = (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)
    harness = (self1.ru_utime - self0.ru_utime) + (self1.ru_stime - self0.ru_stime)
    return {
        "exit_code": rc,
        "timed_out": timed_out,
        "wall_s": round(wall, 3),
        "cpu_s": round(cpu, 3),
        "idle_cpu_s": idle_cpu_s(wall, cpu),
        # The machine's idle time from /proc/stat over the run (also lowered by other people's load).
        "machine_idle_s": round(idle1 - idle0, 2),
        "user_s": round(ru1.ru_utime - ru0.ru_utime, 3),
        "sys_s": round(ru1.ru_stime - ru0.ru_stime, 3),
        "peak_runnable": sampler.peak_running,
        "mean_runnable": round(sampler.running_sum / max(1, sampler.running_n), 2),
        "peak_rss_mib": round(sampler.peak_rss / 2**20, 1),
        "rss_samples": sampler.rss_n,
        # What the tree held at its RSS peak, by process kind; and each kind's own peak.
        "peak_rss_by_process_mib": {g: round(b / 2**20, 1)
                                    for g, b in sorted(sampler.peak_rss_groups.items())},
        "group_peak_rss_mib": {g: round(b / 2**20, 1) for g, b in sorted(sampler.group_peaks.items())},
        "harness_cpu_s": round(harness, 3),
        # CPU that other processes on the machine used during the run: the noise indicator.
        "foreign_cpu_s": round(max(0.0, busy - cpu - harness), 2),
        "lingering_killed": killed,
    }


def rustc_stats(path):
    """Peak concurrent workload rustc and compile count from the wrapper's log."""
    events, starts, failed = [], 0, 0
    open_ = {}
    compile_ns = 0
    rustc_cpu = None  # stays None for a log written before the wrapper logged CPU
    if path.exists():
        for line in path.read_text().splitlines():
            parts = line.split()
            if len(parts) < 4:
                continue
            t = int(parts[1])
            if parts[0] == "S":
                events.append((t, 1))
                starts += 1
                open_[parts[2]] = t
            elif parts[0] == "E":
                events.append((t, -1))
                started = open_.pop(parts[2], None)
                if started is not None:
                    compile_ns += t - started
                if len(parts) > 5:
                    rustc_cpu = (rustc_cpu or 0.0) + float(parts[5])
                if len(parts) > 4 and parts[4] != "0":
                    failed += 1
    # A compile whose end was never logged (killed) counts as running to the end.
    events.sort(key=lambda e: (e[0], e[1]))  # at equal times an end (-1) sorts first
    cur = peak = 0
    hist = {}
    last = events[0][0] if events else 0
    for t, d in events:
        hist[cur] = hist.get(cur, 0) + (t - last)
        last = t
        cur += d
        peak = max(peak, cur)
    span = (events[-1][0] - events[0][0]) / 1e9 if events else 0.0
    busy = sum(k * v for k, v in hist.items()) / 1e9
    return {"peak_rustc": peak, "rustc_compiles": starts, "rustc_failed": failed,
            "rustc_unfinished": len(open_),
            # Sum of every finished compile's wall time: the rustc share of the work, slower when they contend.
            "rustc_compile_s": round(compile_ns / 1e9, 1),
            # CPU (user+sys) of the workload's rustc processes: the build's CPU minus this is MSBuild's, cargo's
            # and the shells'.
            "rustc_cpu_s": None if rustc_cpu is None else round(rustc_cpu, 2),
            # Time-weighted mean of concurrent workload rustc between the first start and the last
            # end, and the seconds spent at each level: shows a pool that is used, or not.
            "mean_rustc": round(busy / span, 2) if span else 0.0,
            "rustc_seconds_at": {str(k): round(v / 1e9, 1) for k, v in sorted(hist.items())}}


def other_cpu_s(run):
    """The build's CPU that was not the workload's rustc (MSBuild, cargo, shells), when rustc's is known."""
    return None if run.get("rustc_cpu_s") is None else round(run["cpu_s"] - run["rustc_cpu_s"], 2)


SUMMARY_CODE = "JOBS0030"


def jobserver_summary(text):
    """The package's end-of-build summary (JOBS0030), e.g.
    `Jobserver: 4 slots (own pool); 8 tool run(s) took a slot, at most 4 at once; 21.3 s spent
    waiting for slots; 0 token(s) lost, 0 recovered.` Returns the raw line and its numbers."""
    lines = [ln.strip() for ln in text.splitlines() if SUMMARY_CODE in ln]
    if not lines:
        return None
    line = lines[-1]
    info = {"line": line}
    for key, pattern in (("slots", r"(\d+)\s+slots?\b"),
                         ("tool_runs", r"(\d+)\s+tool\s+run"),
                         ("peak_in_use", r"(?:peak|at most)\s+(\d+)"),
                         ("wait_s", r"([\d.]+)\s*s\s+(?:spent\s+)?waiting"),
                         ("free_slot_wait_s", r"([\d.]+)\s*s\s+of it with a slot free"),
                         ("lost", r"(\d+)\s+token\S*\s+lost"),
                         ("recovered", r"(\d+)\s+recovered")):
        m = re.search(pattern, line)
        info[key] = float(m.group(1)) if m else None
    return info


# --------------------------------------------------------------------------------------------
# Runs
# --------------------------------------------------------------------------------------------

def base_env(cfg):
    env = dict(os.environ)
    # A benchmark started from make (or cargo) must not hand an outer jobserver to the variants.
    for k in ("MAKEFLAGS", "MFLAGS", "CARGO_MAKEFLAGS", "MAKELEVEL", "MAKEFILES"):
        env.pop(k, None)
    env.update({
        "DOTNET_CLI_TELEMETRY_OPTOUT": "1",
        "DOTNET_NOLOGO": "1",
        "DOTNET_SKIP_FIRST_TIME_EXPERIENCE": "1",
        "DOTNET_CLI_USE_MSBUILD_SERVER": "0",
        "MSBUILDDISABLENODEREUSE": "1",
        # Every C# compile (--cs-lines) is its own csc process that ends with the build, not a compiler server
        # that outlives it in the measured tree.
        "UseSharedCompilation": "false",
        "NUGET_PACKAGES": str(cfg.out / "nuget-packages"),
        "CARGO_TERM_COLOR": "never",
        "CARGO_TERM_PROGRESS_WHEN": "never",
    })
    return env


def variant_cmd(v, cfg, work):
    """(command, directory, extra environment) of variant v."""
    n = str(cfg.jobs)
    if v in DOTNET_VARIANTS:
        tree = work / ("dotnet-b" if v in PACKAGE_VARIANTS else "dotnet-a")
        cmd = ["dotnet", "build", ENTRY, f"-m:{1 if v == 'f' else n}", "-nr:false", "-v:m", "--no-restore"]
        if v == "g":
            cmd.append("-p:JobserverCountCompile=true")
        return cmd, tree, {"CARGO_BUILD_JOBS": "1"} if v == "e" else {}
    if v == "c":
        return ["make", f"-j{n}", "-f", "Makefile"], work / "make", {}
    if v == "d":
        return (["cargo", "build", "--offline", f"-j{n}", "--target-dir",
                 "{target_root}/mono"], work / "mono", {})
    raise ValueError(v)


def restore_and_warm(cfg, env, trees, logs):
    """Restores and warms each tree; returns each tree's no-op build wall time."""
    noop = {}
    for tree in trees:
        name = tree.name
        log(f"restore {name}")
        with open(logs / f"restore-{name}.log", "w") as f:
            rc = subprocess.call(["dotnet", "restore", ENTRY, "-nr:false", "-v:m"], cwd=tree,
                                 env=env, stdout=f, stderr=subprocess.STDOUT)
        if rc != 0:
            raise BenchError(f"dotnet restore of {tree} failed; see {logs}/restore-{name}.log")
        # A build with the workload switched off: JIT, disk cache and the package's task
        # assembly are warm before the first timed run. Its wall time is MSBuild's fixed cost.
        t0 = time.monotonic()
        with open(logs / f"warm-{name}.log", "w") as f:
            rc = subprocess.call(["dotnet", "build", ENTRY, f"-m:{cfg.jobs}", "-nr:false",
                                  "-v:m", "--no-restore", "-p:BenchSkipCargo=true"], cwd=tree,
                                 env=env, stdout=f, stderr=subprocess.STDOUT)
        noop[name] = round(time.monotonic() - t0, 2)
        reap_orphans(grace_s=20)
        if rc != 0:
            raise BenchError(f"warm-up build of {tree} failed; see {logs}/warm-{name}.log")
    return noop


def warm_cargo(cfg, env, work, logs):
    """Lock files for every workspace, and one untimed compile so that rustc, std's rlibs and
    cargo are in the page cache before the first timed run."""
    with open(logs / "warm-cargo.log", "w") as f:
        manifests = sorted((work / "crates").glob("p*/Cargo.toml")) + [work / "mono" / "Cargo.toml"]
        for m in manifests:
            if subprocess.call(["cargo", "generate-lockfile", "--offline", "--manifest-path", str(m)],
                               env=env, stdout=f, stderr=subprocess.STDOUT) != 0:
                raise BenchError(f"cargo generate-lockfile failed for {m}; see {logs}/warm-cargo.log")
        scratch = work / "targets-warm"
        rc = subprocess.call(["cargo", "build", "--offline", "-p", crate_name(1, 0), "--manifest-path",
                              str(manifests[0]), "--target-dir", str(scratch)],
                             env=env, stdout=f, stderr=subprocess.STDOUT)
        shutil.rmtree(scratch, ignore_errors=True)
        if rc != 0:
            raise BenchError(f"warm-up cargo build failed; see {logs}/warm-cargo.log")


def check_tools(need_make):
    missing = [t for t in (["dotnet", "cargo", "rustc"] + (["make"] if need_make else []))
               if shutil.which(t) is None]
    if missing:
        raise BenchError("missing tools: " + ", ".join(missing))


def tool_versions():
    out = {}
    for name, cmd in (("dotnet", ["dotnet", "--version"]), ("cargo", ["cargo", "--version"]),
                      ("rustc", ["rustc", "--version"]), ("make", ["make", "--version"])):
        try:
            out[name] = subprocess.run(cmd, capture_output=True, text=True,
                                       timeout=60).stdout.splitlines()[0].strip()
        except (OSError, IndexError, subprocess.SubprocessError):
            out[name] = None
    return out


def machine_info():
    mem = None
    try:
        for line in open("/proc/meminfo"):
            if line.startswith("MemTotal"):
                mem = round(int(line.split()[1]) / 2**20, 1)
    except OSError:
        pass
    model = None
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"nproc": os.cpu_count(), "mem_gib": mem, "cpu": model,
            "kernel": platform.release(), "loadavg_at_start": os.getloadavg()}


def run_workload(cfg):
    need = set(cfg.variants)
    check_tools("c" in need)
    env = base_env(cfg)
    version = None
    if need & set(PACKAGE_VARIANTS):
        version = ensure_package(cfg, env)
        log(f"{PACKAGE_ID} {version} from {cfg.feed}")
        shutil.rmtree(cfg.out / "nuget-packages" / PACKAGE_ID.lower(), ignore_errors=True)
    work = cfg.out / "work"
    logs = cfg.out / "logs"
    shutil.rmtree(logs, ignore_errors=True)
    logs.mkdir(parents=True)
    log(f"generating P={cfg.projects} projects x C={cfg.crates} crates x {cfg.size} modules "
        f"in {work}")
    generate_workload(work, cfg, version)
    trees = [work / f"dotnet-{t}" for t, users in (("a", "aef"), ("b", PACKAGE_VARIANTS)) if need & set(users)]
    noop = restore_and_warm(cfg, env, trees, logs)
    warm_cargo(cfg, env, work, logs)
    env["RUSTC_WRAPPER"] = str(WRAPPER)
    targets = work / "targets"
    runs = []
    expected = cfg.projects * cfg.crates
    for rnd in range(1, cfg.rounds + 1):
        for v in cfg.variants:
            target_root = targets / f"r{rnd}-{v}"
            shutil.rmtree(targets, ignore_errors=True)  # fresh target dirs, bounded disk use
            target_root.mkdir(parents=True)
            rlog = logs / f"r{rnd}-{v}.rustc.log"
            cmd, cwd, extra_env = variant_cmd(v, cfg, work)
            if cfg.cs_lines:
                # The warm-up build compiled the C#: without its intermediate outputs every run compiles it again.
                for intermediate in cwd.glob("P*/obj/Debug"):
                    shutil.rmtree(intermediate)
            renv = dict(env, BENCH_TARGET_ROOT=str(target_root), BENCH_RUSTC_LOG=str(rlog), **extra_env)
            cmd = [c.replace("{target_root}", str(target_root)) for c in cmd]
            blog = logs / f"r{rnd}-{v}.log"
            log(f"round {rnd}/{cfg.rounds} ({v}) {VARIANTS[v]}")
            waited, busy = wait_for_quiet(cfg.quiet_wait)
            if waited:
                log(f"  waited {waited:.0f}s for the machine to go quiet (busy {busy} cores)")
            m = measure(cmd, cwd, renv, blog, cfg.timeout)
            m["quiet_wait_s"], m["busy_cores_before"] = waited, busy
            m.update(rustc_stats(rlog))
            m["other_cpu_s"] = other_cpu_s(m)
            text = blog.read_text(errors="replace")
            m["summary"] = jobserver_summary(text) if v in PACKAGE_VARIANTS else None
            m["jobserver_warnings"] = len(re.findall(r"failed to connect to jobserver", text))
            m.update({"round": rnd, "variant": v, "command": " ".join(cmd), "log": str(blog)})
            problems = []
            if m["exit_code"] != 0:
                problems.append(f"exit code {m['exit_code']}")
            if m["timed_out"]:
                problems.append("timed out")
            if m["rustc_compiles"] != expected:
                problems.append(f"{m['rustc_compiles']} workload compiles, expected {expected}")
            if m["rustc_failed"]:
                problems.append(f"{m['rustc_failed']} rustc failed")
            m["problems"] = problems
            runs.append(m)
            w = m["summary"]["line"] if m["summary"] else ""
            log(f"  wall {m['wall_s']:.1f}s cpu {m['cpu_s']:.1f}s idle {m['idle_cpu_s']:.1f}s "
                f"rustc<= {m['peak_rustc']} rustc-sum {m['rustc_compile_s']:.1f}s rustc-cpu {m['rustc_cpu_s']}s "
                f"runnable<= {m['peak_runnable']} rss {m['peak_rss_mib']:.0f}MiB "
                f"foreign-cpu {m['foreign_cpu_s']:.1f}s "
                f"{'PROBLEMS: ' + '; '.join(problems) if problems else ''} {w}")
    if not cfg.keep:
        shutil.rmtree(targets, ignore_errors=True)
    return runs, version, noop


# --------------------------------------------------------------------------------------------
# Reporting
# --------------------------------------------------------------------------------------------

METRICS = [
    ("wall_s", "wall s", "{:.1f}"),
    ("cpu_s", "CPU s", "{:.1f}"),
    ("idle_cpu_s", "idle CPU s", "{:.1f}"),
    ("rustc_cpu_s", "rustc CPU s", "{:.1f}"),
    ("other_cpu_s", "other CPU s", "{:.1f}"),
    ("peak_rustc", "peak rustc", "{:.0f}"),
    ("mean_rustc", "mean rustc", "{:.2f}"),
    ("peak_runnable", "peak runnable", "{:.0f}"),
    ("mean_runnable", "mean runnable", "{:.2f}"),
    ("peak_rss_mib", "peak RSS MiB", "{:.0f}"),
    ("foreign_cpu_s", "foreign CPU s", "{:.1f}"),
]


def stats(values):
    values = [v for v in values if v is not None]
    if not values:
        return None
    return {"median": statistics.median(values), "min": min(values), "max": max(values),
            "n": len(values)}


def fmt_stat(s, f):
    if s is None:
        return "n/a"
    if s["min"] == s["max"]:
        return f.format(s["median"])
    return f"{f.format(s['median'])} ({f.format(s['min'])}–{f.format(s['max'])})"


def summarize(runs, cfg):
    by = {v: sorted([r for r in runs if r["variant"] == v], key=lambda r: r["round"])
          for v in cfg.variants}
    summary = {}
    for v, rs in by.items():
        s = {k: stats([r.get(k) for r in rs]) for k, _, _ in METRICS}
        s["token_wait_s"] = stats([r["summary"].get("wait_s") for r in rs if r.get("summary")])
        s["free_slot_wait_s"] = stats([r["summary"].get("free_slot_wait_s") for r in rs if r.get("summary")])
        groups = sorted({g for r in rs for g in r.get("peak_rss_by_process_mib", {})})
        s["peak_rss_by_process_mib"] = {
            g: statistics.median([r.get("peak_rss_by_process_mib", {}).get(g, 0.0) for r in rs])
            for g in groups}
        summary[v] = s
    ratios = {}
    if "b" in by:
        bmap = {r["round"]: r for r in by["b"]}
        for v, rs in by.items():
            if v == "b":
                continue
            ratios[v] = {}
            for k in ("wall_s", "cpu_s", "idle_cpu_s", "peak_rss_mib", "peak_rustc"):
                vals = []
                for r in rs:
                    b = bmap.get(r["round"])
                    if b and r.get(k) and b.get(k) is not None:
                        vals.append(b[k] / r[k])
                ratios[v][k] = stats(vals)
                ratios[v][k + "_pairs"] = [round(x, 3) for x in vals]
    return summary, ratios


def targets_report(ratios):
    out = []
    key = {"wall": "wall_s", "peak_rss_mib": "peak_rss_mib"}
    for metric, other, limit, label in TARGETS:
        s = ratios.get(other, {}).get(key[metric])
        if s is None:
            out.append({"target": label, "limit": limit, "median": None, "met": None})
            continue
        out.append({"target": label, "limit": limit, "median": round(s["median"], 3),
                    "min": round(s["min"], 3), "max": round(s["max"], 3),
                    "met": s["median"] <= limit,
                    "miss_pct": round((s["median"] / limit - 1) * 100, 1)
                    if s["median"] > limit else 0.0})
    return out


def idle_target_lines(summary):
    """Issue 22's target: the package's idle CPU-seconds at or below the best workaround's (no package,
    CARGO_BUILD_JOBS=1, -m:1), medians."""
    others = {v: summary[v]["idle_cpu_s"]["median"] for v in "aef"
              if v in summary and summary[v]["idle_cpu_s"] is not None}
    if "b" not in summary or summary["b"]["idle_cpu_s"] is None or not others:
        return []
    best = min(others, key=others.get)
    b = summary["b"]["idle_cpu_s"]["median"]
    return ["", f"Idle CPU-seconds (median): (b) {b:.1f} against the best of "
                f"{', '.join(f'({v})' for v in others)}: ({best}) {others[best]:.1f}; "
                f"at or below: {'yes' if b <= others[best] else '**no**'}"]


def markdown(summary, ratios, targets, invariant, cfg, noop=None):
    lines = []
    shape = f"shape {cfg.shape}: " if getattr(cfg, "shape", None) else ""
    cs = f", {cfg.cs_lines} lines of C# per project" if getattr(cfg, "cs_lines", 0) else ""
    lines.append(f"{shape}P={cfg.projects} projects × C={cfg.crates} crates × {cfg.size} modules{cs}, "
                 f"N={cfg.jobs}, {cfg.rounds} rounds; median (min–max)")
    lines.append("")
    hdr = ["variant"] + [h for _, h, _ in METRICS] + ["token wait s (JOBS0030)", "of it a slot free s",
                                                       "(b)/X wall", "(b)/X RSS"]
    lines.append("| " + " | ".join(hdr) + " |")
    lines.append("|" + "---|" * len(hdr))
    for v, s in summary.items():
        row = [f"({v}) {VARIANTS[v]}"]
        row += [fmt_stat(s[k], f) for k, _, f in METRICS]
        for key in ("token_wait_s", "free_slot_wait_s"):
            row.append(fmt_stat(s.get(key), "{:.1f}") if v in PACKAGE_VARIANTS else "n/a")
        if v == "b" or v not in ratios:
            row += ["1", "1"] if v == "b" else ["n/a", "n/a"]
        else:
            row.append(fmt_stat(ratios[v]["wall_s"], "{:.2f}"))
            row.append(fmt_stat(ratios[v]["peak_rss_mib"], "{:.2f}"))
        lines.append("| " + " | ".join(row) + " |")
    if targets:
        lines.append("")
        lines.append("| target | measured (median, min–max of pairs) | met |")
        lines.append("|---|---|---|")
        for t in targets:
            if t["median"] is None:
                lines.append(f"| {t['target']} | n/a | n/a |")
                continue
            met = "yes" if t["met"] else f"**no** (+{t['miss_pct']}%)"
            lines.append(f"| {t['target']} | {t['median']:.2f} ({t['min']:.2f}–{t['max']:.2f}) "
                         f"| {met} |")
    lines += idle_target_lines(summary)
    groups = sorted({g for s in summary.values() for g in s["peak_rss_by_process_mib"]})
    if groups:
        lines.append("")
        lines.append("RSS of the build's process tree at its peak, by process (MiB, median over rounds):")
        lines.append("")
        lines.append("| variant | " + " | ".join(groups) + " |")
        lines.append("|---|" + "---|" * len(groups))
        for v, s in summary.items():
            lines.append(f"| ({v}) | " + " | ".join(
                f"{s['peak_rss_by_process_mib'].get(g, 0):.0f}" for g in groups) + " |")
    if noop:
        lines.append("")
        lines.append("MSBuild's fixed cost (untimed warm-up build of the same tree with the cargo target "
                     "off): " + ", ".join(f"{k} {v:.1f} s" for k, v in noop.items()))
    if invariant is not None:
        lines.append("")
        lines.append(f"Invariant peak concurrent rustc ≤ N={cfg.jobs} in every run with the package: "
                     f"{'held' if invariant['held'] else 'VIOLATED'} "
                     f"(peaks {invariant['peaks']})")
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# --exec-overhead
# --------------------------------------------------------------------------------------------

def run_exec_overhead(cfg):
    env, variants, version, work, logs = prepare_comparison(cfg, "exec", generate_exec_overhead)
    trees = [work / f"exec-{v}" for v in variants]
    restore_and_warm(cfg, env, trees, logs)
    samples = {(v, k): [] for v in "ab" for k in ("true", "cargo")}
    runs = []
    for rnd in range(1, cfg.rounds + 1):
        for v in variants:
            cmd = ["dotnet", "build", ENTRY, f"-m:{cfg.jobs}", "-nr:false", "-v:m",
                   "--no-restore"]
            blog = logs / f"r{rnd}-{v}.log"
            log(f"exec-overhead round {rnd}/{cfg.rounds} ({v})")
            wait_for_quiet(cfg.quiet_wait)
            m = measure(cmd, work / f"exec-{v}", env, blog, cfg.timeout)
            per = {"true": [], "cargo": []}
            for mt in re.finditer(r"EXECBENCH (\w+) (\d+) (\d+)", blog.read_text(errors="replace")):
                per[mt.group(1)].append((int(mt.group(3)) - int(mt.group(2))) / 10000.0)
            for k, vals in per.items():
                samples[(v, k)].extend(vals)
            expected = cfg.projects * cfg.exec_calls
            problems = [f"exit code {m['exit_code']}"] if m["exit_code"] else []
            problems += [f"{k}: {len(vals)} calls timed, expected {expected}"
                         for k, vals in per.items() if len(vals) != expected]
            runs.append({"round": rnd, "variant": v, "wall_s": m["wall_s"], "cpu_s": m["cpu_s"],
                         "median_ms": {k: statistics.median(x) if x else None
                                       for k, x in per.items()},
                         "problems": problems, "log": str(blog)})
            med = runs[-1]["median_ms"]
            log(f"  wall {m['wall_s']:.1f}s  median per call: true {med['true'] or 0:.2f} ms, "
                f"cargo --version {med['cargo'] or 0:.2f} ms {'; '.join(problems)}")
    result = {"runs": runs, "per_call_ms": {}}
    lines = [f"Exec per-call time, P={cfg.projects} projects × {cfg.exec_calls} calls per kind, "
             f"-m:{cfg.jobs}, {cfg.rounds} rounds", "",
             "| command | (a) stock Exec: median ms (p10–p90) | (b) with package | "
             "(b) − (a) median ms | target ≤ 5 ms |", "|---|---|---|---|---|"]
    for k, label in (("true", "`true` (not a listed tool)"), ("cargo", "`cargo --version` (listed tool)")):
        a, b = samples[("a", k)], samples[("b", k)]
        if not a or not b:
            fa = (lambda q: f"{q['median']:.2f} ({q['p10']:.2f}–{q['p90']:.2f})")
            result["per_call_ms"][k] = {"a": quantiles(a) if a else None,
                                        "b": quantiles(b) if b else None}
            lines.append(f"| {label} | {fa(quantiles(a)) if a else 'n/a'} | "
                         f"{fa(quantiles(b)) if b else 'n/a'} | n/a | n/a |")
            continue
        qa, qb = quantiles(a), quantiles(b)
        diff = qb["median"] - qa["median"]
        result["per_call_ms"][k] = {"a": qa, "b": qb, "diff_median_ms": round(diff, 3),
                                    "met": diff <= 5.0}
        lines.append(f"| {label} | {qa['median']:.2f} ({qa['p10']:.2f}–{qa['p90']:.2f}) | "
                     f"{qb['median']:.2f} ({qb['p10']:.2f}–{qb['p90']:.2f}) | {diff:+.2f} | "
                     f"{'yes' if diff <= 5.0 else '**no**'} |")
    walls = {v: [r["wall_s"] for r in runs if r["variant"] == v] for v in variants}
    lines.append("")
    lines.append("Whole build wall (median): " + ", ".join(
        f"({v}) {statistics.median(w):.2f} s" for v, w in walls.items()))
    if len(walls) == 2:
        calls = cfg.projects * cfg.exec_calls * 2
        per_call = (statistics.median(walls["b"]) - statistics.median(walls["a"])) * 1000 / calls
        result["wall_diff_per_call_ms"] = round(per_call, 3)
        lines.append(f"Whole build wall difference per Exec call ((b) − (a)) / {calls} calls: "
                     f"{per_call:+.2f} ms")
    result["wall_s"] = {v: stats(w) for v, w in walls.items()}
    problems = [p for r in runs for p in r["problems"]]
    return result, "\n".join(lines), problems, version


def quantiles(values):
    xs = sorted(values)

    def q(p):
        i = (len(xs) - 1) * p
        lo = int(i)
        hi = min(lo + 1, len(xs) - 1)
        return xs[lo] + (xs[hi] - xs[lo]) * (i - lo)

    return {"median": round(q(0.5), 3), "p10": round(q(0.1), 3), "p90": round(q(0.9), 3),
            "min": round(xs[0], 3), "max": round(xs[-1], 3), "n": len(xs)}


# --------------------------------------------------------------------------------------------
# --micro
# --------------------------------------------------------------------------------------------

def run_micro(cfg):
    """BenchmarkDotNet micro-benchmarks: token round trip on our pool next to a raw pipe."""
    project = HERE / "Micro" / "Micro.csproj"
    cmd = ["dotnet", "run", "-c", "Release", "--project", str(project), "--"]
    cmd += (["--quick"] if cfg.quick else []) + ["--artifacts", str(cfg.out / "micro")]
    log(" ".join(cmd))
    return subprocess.call(cmd, cwd=REPO, env=base_env(cfg))


# --------------------------------------------------------------------------------------------

def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shape", choices=sorted(SHAPES),
                    help="a preset of issue 22: many (8 projects x 3 crates), one-project (1 x 12), heavy "
                         "(4 x 1 larger crates), csharp (projects compiling C# beside cargo); options given "
                         "explicitly win over it")
    ap.add_argument("--cs-lines", type=int,
                    help="lines of generated C# each project compiles before its cargo build (default 0: "
                         "none; --shape csharp 400)")
    ap.add_argument("--quick", action="store_true",
                    help="small workload (P=3, C=2, 2 modules), under 3 minutes on 2 cores")
    ap.add_argument("--rounds", type=int, help="interleaved rounds (default 3; --noop 15)")
    ap.add_argument("--projects", "-P", type=int, help="projects (default 8; --quick 3)")
    ap.add_argument("--crates", "-C", type=int, help="crates per project (default 3; --quick 2)")
    ap.add_argument("--size", type=int,
                    help="generic modules per crate, ~0.6 s of debug rustc each (default 8; --quick 2)")
    ap.add_argument("--jobs", "-j", type=int, default=os.cpu_count(),
                    help="N: -m:N / -jN for every variant (default nproc)")
    ap.add_argument("--variants",
                    help="subset and order of variants to run, letters from abcdefg (default abcd; a shape "
                         "has its own)")
    ap.add_argument("--exec-overhead", action="store_true",
                    help="measure Exec vs ExecWithJobserver per-call time instead")
    ap.add_argument("--exec-calls", type=int, default=20, help="Exec calls per kind per project")
    ap.add_argument("--noop", action="store_true",
                    help="no-op builds of 1 and P projects with and without the package: its fixed cost")
    ap.add_argument("--micro", action="store_true",
                    help="run the BenchmarkDotNet micro-benchmarks (build/bench/Micro)")
    ap.add_argument("--package-dir", help="use the MSBuild.Jobserver nupkg in this directory "
                                          "instead of packing the repository")
    ap.add_argument("--repack", action="store_true", help="pack even if the package looks current")
    ap.add_argument("--pack-ref", metavar="REF",
                    help="pack this git commit/branch (via git archive) instead of the work tree")
    ap.add_argument("--out", default=str(REPO / "artifacts" / "bench"), help="output directory")
    ap.add_argument("--timeout", type=int, default=1800, help="seconds per run before it is killed")
    ap.add_argument("--quiet-wait", type=float,
                    help="before each run, wait up to this many seconds for other load on the "
                         "machine to drop below half a core (default 120; --quick 5; 0: never)")
    ap.add_argument("--nice", type=int, default=0,
                    help="niceness increment for the harness and every build it runs (negative needs "
                         "root: on a shared machine it keeps other load from skewing the numbers)")
    ap.add_argument("--report", metavar="RESULTS_JSON",
                    help="only re-summarize an existing results.json and print its tables")
    ap.add_argument("--keep", action="store_true", help="keep the last run's cargo target dirs")
    cfg = ap.parse_args(argv)
    q = cfg.quick
    for key, value in SHAPES.get(cfg.shape, {}).items():
        if getattr(cfg, key) is None:
            setattr(cfg, key, value)
    if cfg.variants is None:
        cfg.variants = "abcd"
    if cfg.cs_lines is None:
        cfg.cs_lines = 0
    if cfg.rounds is None:
        cfg.rounds = 15 if cfg.noop else 3
    if cfg.projects is None:
        cfg.projects = 4 if cfg.noop else 3 if q else 8
    if cfg.crates is None:
        cfg.crates = 2 if q else 3
    if cfg.size is None:
        cfg.size = 2 if q else 8
    if cfg.quiet_wait is None:
        cfg.quiet_wait = 5 if q or cfg.noop else 120
    if min(cfg.projects, cfg.crates, cfg.size, cfg.jobs, cfg.rounds) < 1 or cfg.cs_lines < 0:
        ap.error("--projects, --crates, --size, --jobs and --rounds must be >= 1, --cs-lines >= 0")
    bad = set(cfg.variants) - set(VARIANTS)
    if bad or not cfg.variants:
        ap.error(f"--variants: letters from {''.join(VARIANTS)}, got {cfg.variants!r}")
    cfg.out = Path(cfg.out).resolve()
    cfg.feed = Path(cfg.package_dir).resolve() if cfg.package_dir else cfg.out / "feed"
    return cfg


def report_again(path):
    """--report: re-summarize an existing results.json (with this version's metrics, recomputed
    from the rustc logs when they are still there) and print the tables again."""
    doc = json.loads(Path(path).read_text())
    cores = doc.get("machine", {}).get("nproc")
    for r in doc["runs"]:
        r.setdefault("idle_cpu_s", idle_cpu_s(r["wall_s"], r["cpu_s"], cores))
        rlog = Path(r["log"]).parent / (Path(r["log"]).stem + ".rustc.log")
        if rlog.exists():
            r.update(rustc_stats(rlog))
            r["other_cpu_s"] = other_cpu_s(r)
    cfg = argparse.Namespace(**{"shape": None, "cs_lines": 0, **doc["config"]})
    summary, ratios = summarize(doc["runs"], cfg)
    targets = targets_report(ratios) if "b" in cfg.variants else []
    doc.update({"summary": summary, "ratios_b_over_x": ratios, "targets": targets})
    Path(path).write_text(json.dumps(doc, indent=2) + "\n")
    print(markdown(summary, ratios, targets, doc.get("invariant"), cfg,
                   doc.get("msbuild_noop_build_wall_s")))
    return 0


def main(argv):
    cfg = parse_args(argv)
    cfg.out.mkdir(parents=True, exist_ok=True)
    if cfg.report:
        return report_again(cfg.report)
    if cfg.micro:
        return run_micro(cfg)
    set_child_subreaper()
    if cfg.nice:
        try:
            os.nice(cfg.nice)
        except OSError as e:
            log(f"error: --nice {cfg.nice}: {e}")
            return 1
    started = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    t0 = time.monotonic()
    config = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(cfg).items()}
    try:
        if cfg.exec_overhead or cfg.noop:
            mode = "exec-overhead" if cfg.exec_overhead else "noop"
            result, table, problems, version = (run_exec_overhead if cfg.exec_overhead else run_noop)(cfg)
            doc = {"mode": mode, "started": started, "config": config,
                   "package_version": version, "machine": machine_info(),
                   "tools": tool_versions(), **result,
                   "duration_s": round(time.monotonic() - t0, 1)}
            path = cfg.out / f"{mode}.json"
            path.write_text(json.dumps(doc, indent=2) + "\n")
            print(table)
            print(f"\nwritten: {path}")
            if problems:
                log("PROBLEMS: " + "; ".join(problems))
                return 1
            return 0

        runs, version, noop = run_workload(cfg)
    except BenchError as e:
        log(f"error: {e}")
        return 1
    summary, ratios = summarize(runs, cfg)
    targets = targets_report(ratios) if "b" in cfg.variants else []
    invariant = None
    if set(cfg.variants) & set(PACKAGE_VARIANTS):
        peaks = [r["peak_rustc"] for r in runs if r["variant"] in PACKAGE_VARIANTS]
        invariant = {"limit": cfg.jobs, "peaks": peaks,
                     "held": all(p <= cfg.jobs for p in peaks)}
    doc = {
        "mode": "workload", "started": started, "config": config, "package_version": version,
        "machine": machine_info(), "tools": tool_versions(), "variants": VARIANTS,
        "summary": summary, "ratios_b_over_x": ratios, "targets": targets,
        "invariant": invariant, "msbuild_noop_build_wall_s": noop, "runs": runs, "duration_s": round(time.monotonic() - t0, 1),
    }
    path = cfg.out / "results.json"
    path.write_text(json.dumps(doc, indent=2) + "\n")
    if cfg.shape:
        # One shape's run does not overwrite another's.
        shutil.copyfile(path, cfg.out / f"results-{cfg.shape}.json")
    print(markdown(summary, ratios, targets, invariant, cfg, noop))
    print(f"\nwritten: {path}  (logs: {cfg.out / 'logs'}; took {doc['duration_s']:.0f} s)")
    problems = [f"r{r['round']}-{r['variant']}: {p}" for r in runs for p in r["problems"]]
    if invariant is not None and not invariant["held"]:
        log(f"INVARIANT VIOLATED: peak concurrent rustc {invariant['peaks']} > N={cfg.jobs} "
            f"in a run with the package")
        return 2
    if problems:
        log("PROBLEMS: " + "; ".join(problems))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
