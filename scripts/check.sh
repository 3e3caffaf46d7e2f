#!/usr/bin/env bash
# Everything CI checks, in the same order.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo fmt --check
cargo check --lib --no-default-features
cargo clippy --all-targets -- -D warnings
RUSTDOCFLAGS="-D warnings" cargo doc --no-deps --lib --quiet
scripts/test.sh
