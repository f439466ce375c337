#!/usr/bin/env bash
# The old jobserver clients the integration tests drive (tests/MSBuild.Jobserver.IntegrationTests/OldClientTests.cs):
# Debian 12's crate sources for cc 1.0.73 + jobserver 0.1.24 (cargo's registry, no network), Debian's cargo 1.65 /
# rustc 1.63 in /usr/bin, sccache 0.4 (GNU make 4.4.1 comes from peers.sh). Idempotent and quiet; fast when all is there.
set -uo pipefail
. "$(dirname "$0")/apt.sh"
missing=()
[ -f /usr/share/cargo/registry/cc-1.0.73/Cargo.toml ] || missing+=(librust-cc-dev)
[ -x /usr/bin/cargo ] && [ -x /usr/bin/rustc ] || missing+=(cargo rustc)
[ -x /usr/bin/sccache ] || missing+=(sccache)
apt_install "${missing[@]}" || true
