#!/usr/bin/env bash
# Installs Debian's jobserver crate 0.1.24 sources and builds the jobserver peers newer than Debian 12's (GNU make 4.4.1, ninja 1.13.2) once per machine, into a fixed
# directory outside the clone so a rerun finds them: $JOBSERVER_PEERS_DIR, default ~/.cache/msbuild-jobserver-peers.
# The end-to-end tests look there. Quiet and quick when they are already built; never fails CI by itself (the
# tests that need a peer fail with its path in the message).
set -uo pipefail
. "$(dirname "$0")/apt.sh"
root=$(cd "$(dirname "$0")/../.." && pwd)
prefix=${JOBSERVER_PEERS_DIR:-${HOME:-/tmp}/.cache/msbuild-jobserver-peers}
# Debian 12's jobserver crate 0.1.24 (an old client that reads only descriptors), as a directory registry.
[ -d /usr/share/cargo/registry/jobserver-0.1.24 ] || apt_install librust-jobserver-dev || true
if [ -x "$prefix/bin/make-4.4.1" ] && [ -x "$prefix/bin/ninja-1.13.2" ]; then
  exit 0
fi
# The release sources and their build script live beside the clone (../shared/peers), or where the variable says.
source_dir=${JOBSERVER_PEERS_SOURCE:-}
for candidate in "$source_dir" "$root/../shared/peers" /work/shared/peers; do
  if [ -n "$candidate" ] && [ -x "$candidate/build-peers.sh" ]; then
    source_dir=$candidate
    break
  fi
done
if [ ! -x "$source_dir/build-peers.sh" ]; then
  echo "ci: build-peers.sh not found (set JOBSERVER_PEERS_SOURCE); the make 4.4.1 / ninja 1.13.2 tests will fail" >&2
  exit 0
fi
command -v g++ >/dev/null 2>&1 || apt_install gcc g++ || true
if ! "$source_dir/build-peers.sh" "$prefix" >"${TMPDIR:-/tmp}/peers-build.log" 2>&1; then
  echo "ci: building make 4.4.1 / ninja 1.13.2 failed; see ${TMPDIR:-/tmp}/peers-build.log" >&2
fi
exit 0
