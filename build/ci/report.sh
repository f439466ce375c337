#!/usr/bin/env bash
# Installs what the timing report's browser tests need: Debian's chromium, run headless by
# tests/MSBuild.Jobserver.IntegrationTests (ReportBrowserTests). Idempotent and quiet; fast when chromium is there.
set -uo pipefail

if command -v chromium >/dev/null 2>&1; then
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "ci/report.sh: chromium is missing and apt-get is not available to install it" >&2
  exit 1
fi

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
# Another apt-get may hold the lock for a while (parallel jobs on one machine): wait for it rather than fail.
apt_get() { DEBIAN_FRONTEND=noninteractive $sudo apt-get -o DPkg::Lock::Timeout=600 "$@"; }
apt_get install -y -qq chromium >/dev/null 2>&1 \
  || { apt_get update -qq >/dev/null 2>&1; apt_get install -y -qq chromium >/dev/null 2>&1; }

if ! command -v chromium >/dev/null 2>&1; then
  echo "ci/report.sh: could not install chromium (apt-get install chromium)" >&2
  exit 1
fi
