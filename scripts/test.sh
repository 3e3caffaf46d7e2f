#!/usr/bin/env bash
# Sets up and runs the test suite (unit, integration and UI tests).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh test
cargo test --all-targets "$@"
