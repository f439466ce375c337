# Sourced by the install scripts: one way to install Debian packages. apt-get needs root: as root it runs as is,
# otherwise through `sudo -n` when sudo needs no password here; without either it prints the command to run as root
# and installs nothing (the tests that need the packages then say so by name).
# Options (words starting with -) go to apt-get install as they are.
apt_install() {
  local word packages=()
  for word in "$@"; do [[ $word == -* ]] || packages+=("$word"); done
  [ "${#packages[@]}" -gt 0 ] || return 0
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
      sudo="sudo -n"
    else
      echo "prerequisites: needs root to install: apt-get install ${packages[*]}" >&2
      return 1
    fi
  fi
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "prerequisites: apt-get is not available to install: ${packages[*]}" >&2
    return 1
  fi
  # Another apt-get may hold the lock for a while (parallel jobs on one machine): wait for it rather than fail.
  if [ -z "${JOBSERVER_APT_UPDATED:-}" ]; then
    $sudo apt-get -o DPkg::Lock::Timeout=600 update -qq >/dev/null 2>&1 || true
    export JOBSERVER_APT_UPDATED=1
  fi
  DEBIAN_FRONTEND=noninteractive $sudo apt-get -o DPkg::Lock::Timeout=600 install -y -qq "$@" >/dev/null 2>&1 \
    || { echo "prerequisites: could not install: ${packages[*]}" >&2; return 1; }
}

# Whether Debian's package NAME is installed.
apt_has() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }
