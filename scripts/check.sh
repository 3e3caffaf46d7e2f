#!/usr/bin/env bash
# Everything CI checks, in the same order.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo fmt --check
# One direction of imports: pages (src/ui) and the shared types (src/context) never import
# the app; the app imports both.
if grep -rn --include='*.rs' 'crate::app' src/ui src/context; then
  echo "error: src/ui or src/context imports crate::app (see ARCHITECTURE.md, layers)" >&2
  exit 1
fi
cargo check --lib --no-default-features
cargo clippy --all-targets -- -D warnings
RUSTDOCFLAGS="-D warnings" cargo doc --no-deps --lib --quiet
scripts/test.sh
