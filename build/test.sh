#!/usr/bin/env bash
# The README's test command: installs or builds what the tests need (build/prerequisites.sh; Debian packages need
# root), then runs every test project one after another. Arguments go to `dotnet test` (e.g. -c Release, --filter).
# JOBSERVER_PREREQUISITES=required (set by .ci/run) turns a missing prerequisite from an inconclusive test into a
# failed one.
set -uo pipefail
cd "$(dirname "$0")/.."
bash build/prerequisites.sh || exit 1
echo "test.sh: $(dotnet --version) dotnet SDK; $(cargo --version 2>/dev/null); $(make --version 2>/dev/null | head -n1)"
# -m:1: the end-to-end tests start dotnet builds of their own and measure how many compilers run at once, so the
# test projects must not share the machine with each other.
exec dotnet test MSBuild.Jobserver.sln -m:1 "$@"
