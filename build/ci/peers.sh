#!/usr/bin/env bash
# Newer jobserver peers that Debian 12 lacks (GNU make 4.4.1, ninja 1.13.2), built once from the release sources in
# the workplace's shared/peers/ into a fixed prefix and reused when present.
# Usage: peers.sh -> prints /opt/jobserver-peers/bin, which holds make-4.4.1 and ninja-1.13.2.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
prefix=/opt/jobserver-peers
if [ -x "$prefix/bin/make-4.4.1" ] && [ -x "$prefix/bin/ninja-1.13.2" ]; then
  echo "$prefix/bin"
  exit 0
fi
# shared/ lies beside the clone in CI and at /work/shared on a developer's machine.
for builder in "$root/../shared/peers/build-peers.sh" /work/shared/peers/build-peers.sh; do
  if [ -f "$builder" ]; then
    command -v gcc >/dev/null && command -v g++ >/dev/null && command -v python3 >/dev/null \
      || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq gcc g++ python3; } >/dev/null 2>&1
    bash "$builder" "$prefix" >/dev/null
    echo "$prefix/bin"
    exit 0
  fi
done
echo "peers.sh: build-peers.sh not found (shared/peers/)" >&2
exit 1
