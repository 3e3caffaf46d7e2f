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
# The tests build in the `bench` profile: release's settings and release's directory, so every
# dependency is compiled once for both the tests and `cargo build --release` (scripts/run.sh,
# scripts/package.sh); measured: after a release build the test build reuses 484 dependency
# units and compiles 25 (the dev-dependencies, and tonic/regex with the features they add).
# eventscope itself is built for the tests as the dev profile builds it (no optimisation,
# debug assertions, overflow checks), so the tests run the code they always ran. Given on
# the command line, so `cargo bench` keeps its optimised eventscope.
test_profile=(--profile bench
              --config profile.bench.package.eventscope.opt-level=0
              --config profile.bench.package.eventscope.debug-assertions=true
              --config profile.bench.package.eventscope.overflow-checks=true)
step "scripts/test.sh (bench profile)" scripts/test.sh "${test_profile[@]}"
# The cargo-fuzz targets, each for a bounded time (FUZZ_SECONDS, default 20; 0 skips).
if [ "${FUZZ_SECONDS:-20}" != 0 ]; then
  step "scripts/fuzz.sh" scripts/fuzz.sh "${FUZZ_SECONDS:-20}"
fi
echo "check.sh: step times"
printf '%s\n' "${times[@]}"
