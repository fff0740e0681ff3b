# Shared by the scripts: find a Python >= 3.13 and build virtual environments with uv.
# shellcheck shell=bash

UV_VERSION="0.6.10"

python_ok() {
  "$1" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 13) else 1)' >/dev/null 2>&1
}

# Print the newest Python >= 3.13 found: $EV_SESSIONS_PYTHON, then the PATH, then pyenv.
find_python() {
  local candidate
  if [ -n "${EV_SESSIONS_PYTHON:-}" ]; then
    python_ok "$EV_SESSIONS_PYTHON" && { echo "$EV_SESSIONS_PYTHON"; return 0; }
    echo "EV_SESSIONS_PYTHON=$EV_SESSIONS_PYTHON is not a Python >= 3.13" >&2
    return 1
  fi
  for candidate in python3.16 python3.15 python3.14 python3.13; do
    if command -v "$candidate" >/dev/null 2>&1 && python_ok "$(command -v "$candidate")"; then
      command -v "$candidate"
      return 0
    fi
  done
  local root="${PYENV_ROOT:-$HOME/.pyenv}"
  if command -v pyenv >/dev/null 2>&1; then root="$(pyenv root)"; fi
  if [ -d "$root/versions" ]; then
    while read -r candidate; do
      if python_ok "$root/versions/$candidate/bin/python3"; then
        echo "$root/versions/$candidate/bin/python3"
        return 0
      fi
    done < <(ls "$root/versions" | grep -E '^3\.[0-9]+\.[0-9]+$' | sort -t. -k1,1nr -k2,2nr -k3,3nr)
  fi
  if command -v python3 >/dev/null 2>&1 && python_ok "$(command -v python3)"; then
    command -v python3
    return 0
  fi
  echo "No Python >= 3.13 found. Install one (or set EV_SESSIONS_PYTHON to its path)." >&2
  return 1
}

# make_env DIR REQUIREMENTS...: create or refresh a virtual environment, skipping the
# work when the requirements and the interpreter have not changed since the last time.
make_env() {
  local dir="$1"; shift
  local python stamp extra=()
  python="$(find_python)"
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
