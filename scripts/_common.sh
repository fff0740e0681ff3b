# Shared by the scripts: find the Pythons the tested Home Assistant versions need and build
# virtual environments with uv.
# shellcheck shell=bash

UV_VERSION="0.6.10"
# Home Assistant 2025.4 and 2026.2 run on Python 3.13; 2026.3 and later need 3.14.2 or newer.
PYTHON_MAIN="3.13"
PYTHON_NEXT="3.14.2"

# python_at_least PYTHON X.Y[.Z] [BELOW_X.Y]: whether PYTHON runs, has venv, and is new enough
# (and older than BELOW, when given).
python_at_least() {
  "$1" - "$2" "${3:-99.0}" >/dev/null 2>&1 <<'PY'
import sys, venv  # noqa: F401
low = tuple(int(p) for p in sys.argv[1].split("."))
high = tuple(int(p) for p in sys.argv[2].split("."))
sys.exit(0 if low <= sys.version_info[: len(low)] and sys.version_info[:2] < high else 1)
PY
}

# pyenv_pythons: the interpreters pyenv has, newest first.
pyenv_pythons() {
  local root="${PYENV_ROOT:-$HOME/.pyenv}"
  if command -v pyenv >/dev/null 2>&1; then root="$(pyenv root)"; fi
  [ -d "$root/versions" ] || return 0
  ls "$root/versions" | grep -E '^3\.[0-9]+\.[0-9]+$' | sort -t. -k1,1nr -k2,2nr -k3,3nr |
    while read -r version; do echo "$root/versions/$version/bin/python3"; done
}

# find_python_main: a Python 3.13 for Home Assistant 2025.4.4 and 2026.2.3 ($EV_SESSIONS_PYTHON,
# then the PATH, then pyenv).
find_python_main() {
  local candidate
  if [ -n "${EV_SESSIONS_PYTHON:-}" ]; then
    python_at_least "$EV_SESSIONS_PYTHON" "$PYTHON_MAIN" 3.14 && { echo "$EV_SESSIONS_PYTHON"; return 0; }
    echo "EV_SESSIONS_PYTHON=$EV_SESSIONS_PYTHON is not a Python $PYTHON_MAIN" >&2
    return 1
  fi
  for candidate in "$(command -v python3.13)" "$(command -v python3)" $(pyenv_pythons); do
    if [ -n "$candidate" ] && python_at_least "$candidate" "$PYTHON_MAIN" 3.14; then
      echo "$candidate"
      return 0
    fi
  done
  echo "No Python $PYTHON_MAIN found. Install one (or set EV_SESSIONS_PYTHON to its path)." >&2
  return 1
}

# find_python_next [--no-fallback]: a Python >= 3.14.2 for current Home Assistant
# ($EV_SESSIONS_PYTHON_NEXT, then the PATH, then pyenv, then ../shared/tools/python3.14, which
# makes one on machines that have none, unless --no-fallback).
find_python_next() {
  local candidate
  if [ -n "${EV_SESSIONS_PYTHON_NEXT:-}" ]; then
    python_at_least "$EV_SESSIONS_PYTHON_NEXT" "$PYTHON_NEXT" && { echo "$EV_SESSIONS_PYTHON_NEXT"; return 0; }
    echo "EV_SESSIONS_PYTHON_NEXT=$EV_SESSIONS_PYTHON_NEXT is not a Python >= $PYTHON_NEXT" >&2
    return 1
  fi
  for candidate in "$(command -v python3.16)" "$(command -v python3.15)" "$(command -v python3.14)" \
    "$(command -v python3)" $(pyenv_pythons); do
    if [ -n "$candidate" ] && python_at_least "$candidate" "$PYTHON_NEXT"; then
      echo "$candidate"
      return 0
    fi
  done
  local tool
  tool="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/shared/tools/python3.14"
  if [ "${1:-}" != "--no-fallback" ] && [ -x "$tool" ]; then
    echo "No Python >= $PYTHON_NEXT on this machine: making one with $tool" >&2
    if candidate="$("$tool")" && python_at_least "$candidate" "$PYTHON_NEXT"; then
      echo "$candidate"
      return 0
    fi
  fi
  echo "No Python >= $PYTHON_NEXT found. Install one (or set EV_SESSIONS_PYTHON_NEXT to its path)." >&2
  return 1
}

# make_env DIR PYTHON REQUIREMENTS...: create or refresh a virtual environment, skipping the
# work when the requirements and the interpreter have not changed since the last time.
make_env() {
  local dir="$1" python="$2"; shift 2
  local stamp extra=()
  stamp="$(cat "$@" | sha256sum | cut -c1-16)-$("$python" -c 'import sys; print(sys.version.split()[0])')"
  if [ -f "$dir/.ev_sessions_stamp" ] && [ "$(cat "$dir/.ev_sessions_stamp")" = "$stamp" ]; then
    return 0
  fi
  echo "Setting up $dir with $python" >&2
  rm -rf "$dir"
  "$python" -m venv "$dir"
  "$dir/bin/python" -m pip install --quiet --disable-pip-version-check "uv==$UV_VERSION"
  # Home Assistant 2026.2 asks for Python >= 3.13.2 but runs its tests on 3.13.0/3.13.1:
  # resolve as for 3.13.2 there (the wheels are the same cp313 ones).
  if ! "$dir/bin/python" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 13, 2) else 1)'; then
    extra=(--python-version 3.13.2)
  fi
  local req
  for req in "$@"; do
    "$dir/bin/uv" pip install --quiet --python "$dir/bin/python" "${extra[@]}" -r "$req"
  done
  echo "$stamp" > "$dir/.ev_sessions_stamp"
}

# python_headers PYTHON: print the include folder holding Python.h, getting the headers first
# when PYTHON was made by ../shared/tools/python3.14 without them (Debian's -dev packages,
# unpacked into the same folder). Exit 1 when there are none.
python_headers() {
  local include prefix
  include="$("$1" -c 'import sysconfig; print(sysconfig.get_paths()["include"])')"
  if [ ! -f "$include/Python.h" ]; then
    # The interpreter's own installation (a venv's python points there): <prefix>/root/usr.
    prefix="$(dirname "$(dirname "$("$1" -c 'import sys; print(sys.base_prefix)')")")"
    [ -f "$prefix/sid.sources" ] || return 1
    local apt_opts=(-o "Dir::Etc::sourcelist=$prefix/sid.sources" -o Dir::Etc::sourceparts=/dev/null
      -o "Dir::State::Lists=$prefix/lists" -o "Dir::Cache=$prefix/cache" -o APT::Sandbox::User=root)
    local version deb
    version="$("$1" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
    (cd "$prefix/debs" && apt-get "${apt_opts[@]}" download "libpython$version-dev" "python$version-dev") \
      >/dev/null 2>&1 || return 1
    for deb in "$prefix"/debs/*python"$version"-dev_*.deb; do dpkg-deb -x "$deb" "$prefix/root"; done
    [ -f "$include/Python.h" ] || return 1
  fi
  echo "$include"
}

# ensure_chromium: a Chromium for the browser tests ($EV_SESSIONS_CHROMIUM, else Debian's
# /usr/bin/chromium, installed with apt-get when missing and this user may). Exit 1 if none.
ensure_chromium() {
  local chromium="${EV_SESSIONS_CHROMIUM:-/usr/bin/chromium}"
  [ -x "$chromium" ] && return 0
  if [ -n "${EV_SESSIONS_CHROMIUM:-}" ]; then
    echo "EV_SESSIONS_CHROMIUM=$chromium is not an executable" >&2
    return 1
  fi
  local sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    if sudo -n true 2>/dev/null; then sudo=(sudo -n); else
      echo "No Chromium at /usr/bin/chromium: install Debian's chromium package" \
        "(apt-get install -y chromium) or set EV_SESSIONS_CHROMIUM" >&2
      return 1
    fi
  fi
  echo "Installing Debian's chromium for the browser tests" >&2
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get install -y -q chromium >/dev/null 2>&1 ||
    { "${sudo[@]}" apt-get update -q >/dev/null 2>&1 && "${sudo[@]}" apt-get install -y -q chromium >/dev/null; }
  [ -x /usr/bin/chromium ]
}

# voice_packages VENV: Home Assistant 2026.x imports its voice assistant even to list the
# actions its UI offers (without pymicro-vad the dashboard never loads), and two of the voice
# assistant's packages have no wheels for Python 3.14 on PyPI. Build them once from PyPI's
# sources with the interpreter's headers, so that nothing is installed while Home Assistant
# starts (the demo, the browser tests). Exit 1 when they cannot be had.
voice_packages() {
  local venv="$1" include
  local voice=(pymicro-vad==1.0.1 pyspeex-noise==1.0.2)
  "$venv/bin/python" -c 'import pymicro_vad, pyspeex_noise' 2>/dev/null && return 0
  if "$venv/bin/uv" pip install --quiet --offline --python "$venv/bin/python" "${voice[@]}" 2>/dev/null; then
    return 0
  fi
  if ! include="$(python_headers "$venv/bin/python")"; then
    echo "No Python headers to build ${voice[*]}, which Home Assistant's UI needs" >&2
    return 1
  fi
  echo "Building ${voice[*]} for Home Assistant's voice assistant (once)" >&2
  # Debian's Python.h includes <x86_64-linux-gnu/python3.14/pyconfig.h>: the folder above it.
  CPPFLAGS="-I$include/.." "$venv/bin/uv" pip install --quiet --python "$venv/bin/python" "${voice[@]}"
}
