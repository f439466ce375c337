#!/usr/bin/env bash
# Installs or builds everything the tests drive that a fresh Debian 12 machine with the .NET SDK lacks: GNU make,
# cargo/rustc, python3, the old clients (Debian's cargo 1.65, cc/jobserver crate sources, sccache), chromium for
# the report, make 4.4.1 and ninja 1.13.2 (built once into ~/.cache/msbuild-jobserver-peers), and wine with a Windows
# Rust toolchain. Debian packages need root (or password-less sudo); without it the script says what to install and
# the tests that need it are inconclusive by name. Idempotent: quick when everything is there. Exits 0 unless the
# .NET SDK itself is missing.
set -uo pipefail
cd "$(dirname "$0")/.."
. build/ci/apt.sh

if ! command -v dotnet >/dev/null 2>&1; then
  echo "prerequisites: the .NET SDK (dotnet) is missing: install the .NET 10 SDK first" >&2
  exit 1
fi
missing=()
command -v make >/dev/null 2>&1 || missing+=(make)
command -v cargo >/dev/null 2>&1 || missing+=(cargo rustc)
command -v python3 >/dev/null 2>&1 || missing+=(python3)
apt_install "${missing[@]}" || true
bash build/ci/old-clients.sh
bash build/ci/report.sh || true
bash build/ci/peers.sh
bash build/ci/windows.sh || true

for tool in make cargo rustc python3; do
  command -v "$tool" >/dev/null 2>&1 || echo "prerequisites: '$tool' is missing: the tests that run it will fail" >&2
done
