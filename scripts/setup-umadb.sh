#!/usr/bin/env bash
# Installs the UmaDB server (the `umadb` command from the `umadb` Python package, which also
# ships UmaDB's Python client) into a venv outside the repository, for the gRPC integration
# tests. Idempotent. Prints the venv's bin directory: put it on PATH.
set -euo pipefail
version=0.7.8
venv="${UMADB_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/eventscope-test/umadb-$version}"
if [ ! -x "$venv/bin/umadb" ]; then
  python=$(command -v python3 || true)
  if [ -z "$python" ]; then
    echo "setup-umadb.sh: python3 is needed to install the UmaDB test server" >&2
    exit 1
  fi
  echo "setup-umadb.sh: installing umadb==$version into $venv" >&2
  "$python" -m venv "$venv" >&2
  "$venv/bin/pip" install --quiet --disable-pip-version-check "umadb==$version" >&2
fi
echo "$venv/bin"
