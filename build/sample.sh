#!/usr/bin/env bash
# Shows the package's main job on samples/RustMix: packs the package from this repository, builds the sample's
# solution (four .NET projects, each running `cargo build` through a plain <Exec>) with `dotnet build -m`, prints
# where the timing report is, and runs the app.
#
#   bash build/sample.sh                 # pack, clean build of the sample, report path, run the app
#   bash build/sample.sh --trace         # also write artifacts/sample-trace.json (open it in https://ui.perfetto.dev)
#   bash build/sample.sh --screenshot    # also save docs/report-sample.png from the report (needs chromium)
#   bash build/sample.sh --no-clean      # keep the sample's previous outputs (cargo then has nothing to do)
#   bash build/sample.sh -- -m:4 -p:JobserverSlots=3   # anything after -- goes to dotnet build
#
# Needs the .NET 10 SDK and cargo/rustc (no network for cargo: the crates have no dependencies).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
sample="$root/samples/RustMix"
trace=""
screenshot=""
clean=1
# Written by the solution's build (samples/RustMix/Directory.Solution.targets sets JobserverReport).
report="$sample/bin/jobserver-report.html"
build_args=()

usage() { sed -n '2,11s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"; }

while [ $# -gt 0 ]; do
  case "$1" in
    --trace) trace="$root/artifacts/sample-trace.json" ;;
    --screenshot) screenshot="$root/docs/report-sample.png" ;;
    --no-clean) clean=0 ;;
    -h|--help) usage; exit 0 ;;
    --) shift; build_args+=("$@"); break ;;
    *) echo "sample.sh: unknown option '$1'" >&2; usage >&2; exit 2 ;;
  esac
  shift
done

for tool in dotnet cargo; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "sample.sh: '$tool' is not on PATH; the sample needs the .NET 10 SDK and cargo." >&2
    exit 1
  fi
done

# The package version stays 1.0.0 while developing, so a shared NuGet cache would keep serving the first one packed:
# the sample gets a package folder of its own, emptied on every run.
export NUGET_PACKAGES="$root/artifacts/sample-packages"
# A reused MSBuild node keeps the task assembly it loaded from that same path: use fresh nodes every time.
export MSBUILDDISABLENODEREUSE=1
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

seconds() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

echo "==> Packing MSBuild.Jobserver into artifacts/pkg"
t0=$(seconds)
dotnet pack "$root/MSBuild.Jobserver.sln" -c Release -o "$root/artifacts/pkg" -nologo -v:quiet -nr:false
t1=$(seconds)

rm -rf "$NUGET_PACKAGES"
if [ "$clean" -eq 1 ]; then
  echo "==> Cleaning the sample's outputs (bin, obj, the crates' target directories)"
  rm -rf "$sample"/*/bin "$sample"/*/obj "$sample"/crates/*/target
fi
rm -f "$report"

properties=()
if [ -n "$trace" ]; then
  rm -f "$trace"
  properties+=("-p:JobserverTraceFile=$trace")
fi

# -tlp:v=d: the terminal logger shows no project's messages at its default verbosity, and the summary (JOBS0030) is one.
echo "==> cd samples/RustMix && dotnet build RustMix.slnx -m -nr:false -tlp:v=d ${properties[*]} ${build_args[*]}"
cd "$sample"
t2=$(seconds)
dotnet build RustMix.slnx -m -nr:false -tlp:v=d "${properties[@]}" "${build_args[@]}"
t3=$(seconds)

echo "==> Running the app: dotnet App/bin/Debug/net10.0/RustMix.dll"
app_output=$(dotnet App/bin/Debug/net10.0/RustMix.dll)
t4=$(seconds)

echo
echo "$app_output"
echo
echo "pack $(elapsed "$t0" "$t1") s, build $(elapsed "$t2" "$t3") s, run $(elapsed "$t3" "$t4") s."
if [ -f "$report" ]; then
  echo "Timing report: $report (open it in a web browser; it needs no network)."
else
  echo "sample.sh: no timing report was written to $report; see the build output above." >&2
  exit 1
fi
if [ -n "$screenshot" ]; then
  browser=$(command -v chromium || command -v chromium-browser || true)
  if [ -z "$browser" ]; then
    echo "sample.sh: --screenshot needs chromium (bash build/ci/report.sh installs it)." >&2
    exit 1
  fi
  profile=$(mktemp -d)
  "$browser" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking \
    --disable-component-update --disable-sync --user-data-dir="$profile" --hide-scrollbars --window-size=1280,960 \
    --screenshot="$screenshot" "file://$report" >/dev/null 2>&1
  rm -rf "$profile"
  echo "Screenshot: $screenshot"
fi
if [ -n "$trace" ]; then
  if [ -f "$trace" ]; then
    echo "Trace: $trace (open it in https://ui.perfetto.dev or chrome://tracing)."
  else
    echo "sample.sh: no trace was written to $trace; see the build output above." >&2
    exit 1
  fi
fi
