#!/usr/bin/env bash
# Everything CI checks, in the same order; each step's wall time is printed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
times=()
step() {
  local name=$1 start=$SECONDS
  shift
  "$@"
  times+=("$(printf '%5ds  %s' $((SECONDS - start)) "$name")")
}
import_check() {
  # One direction of imports: pages (src/ui) and the shared types (src/context) never
  # import the app; the app imports both.
  if grep -rn --include='*.rs' 'crate::app' src/ui src/context; then
    echo "error: src/ui or src/context imports crate::app (see ARCHITECTURE.md, layers)" >&2
    return 1
  fi
}
step "cargo fmt --check" cargo fmt --check
step "import direction" import_check
step "cargo check --lib --no-default-features" cargo check --lib --no-default-features
step "cargo clippy --all-targets" cargo clippy --all-targets -- -D warnings
step "cargo doc" env RUSTDOCFLAGS="-D warnings" cargo doc --no-deps --lib --quiet
step "scripts/test.sh" scripts/test.sh
echo "check.sh: step times"
printf '%s\n' "${times[@]}"
