#!/usr/bin/env bash
# Sets up and runs eventscope. With no arguments it opens the desktop app on a live demo
# store in eventscope's cache directory; any arguments are passed on (a store path, or a
# command such as `info STORE`).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh run
exec cargo run --release --quiet -- "$@"
