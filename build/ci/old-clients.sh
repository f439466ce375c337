#!/usr/bin/env bash
# The old jobserver clients the integration tests drive (tests/MSBuild.Jobserver.IntegrationTests/OldClientTests.cs):
# Debian 12's crate sources for cc 1.0.73 + jobserver 0.1.24 (cargo's registry, no network), Debian's cargo 1.65 /
# rustc 1.63 in /usr/bin, sccache 0.4 (GNU make 4.4.1 comes from peers.sh). Idempotent and quiet; fast when all is there.
set -uo pipefail
missing=()
[ -f /usr/share/cargo/registry/cc-1.0.73/Cargo.toml ] || missing+=(librust-cc-dev)
[ -x /usr/bin/cargo ] && [ -x /usr/bin/rustc ] || missing+=(cargo rustc)
[ -x /usr/bin/sccache ] || missing+=(sccache)
if [ "${#missing[@]}" -gt 0 ]; then
  # Another apt-get may be running on the machine: wait for its lock instead of failing.
  apt-get -o DPkg::Lock::Timeout=600 update -qq >/dev/null 2>&1
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq "${missing[@]}" >/dev/null 2>&1 \
    || echo "old-clients.sh: could not install ${missing[*]}" >&2
fi
