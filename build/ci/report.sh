#!/usr/bin/env bash
# Installs what the timing report's browser tests need: Debian's chromium, run headless by
# tests/MSBuild.Jobserver.IntegrationTests (ReportBrowserTests). Idempotent and quiet; fast when chromium is there.
set -uo pipefail
. "$(dirname "$0")/apt.sh"
command -v chromium >/dev/null 2>&1 || apt_install chromium || true
if ! command -v chromium >/dev/null 2>&1; then
  echo "ci/report.sh: could not install chromium (apt-get install chromium)" >&2
  exit 1
fi
