#!/usr/bin/env bash
# Installs what the Windows test tier (tests/MSBuild.Jobserver.WindowsTests) needs on a fresh Debian 12: wine, and
# a real Windows jobserver client built from Debian's Rust (rustc 1.63 with the Windows standard library, the MinGW
# linker and the jobserver 0.1.24 crate sources). Idempotent and quiet; prints one line; exits non-zero when
# something is still missing, so CI fails instead of skipping the tier.
set -uo pipefail
. "$(dirname "$0")/apt.sh"

packages=(wine64 wine rustc libstd-rust-dev-windows gcc-mingw-w64-x86-64 librust-jobserver-dev)
missing=()
for package in "${packages[@]}"; do
  apt_has "$package" || missing+=("$package")
done

apt_install --no-install-recommends "${missing[@]}" || true

status=0
for file in /usr/bin/wine /usr/bin/wineserver /usr/bin/rustc /usr/bin/x86_64-w64-mingw32-gcc \
  /usr/lib/rustlib/x86_64-pc-windows-gnu/lib /usr/share/cargo/registry/jobserver-0.1.24; do
  if [ ! -e "$file" ]; then
    echo "ci: windows tier: $file is missing and could not be installed" >&2
    status=1
  fi
done
[ "$status" -eq 0 ] && echo "ci: windows tier: $(wine --version 2>/dev/null), Debian $(/usr/bin/rustc --version | cut -d' ' -f1-2) for x86_64-pc-windows-gnu"
exit "$status"
