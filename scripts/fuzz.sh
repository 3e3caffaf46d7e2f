#!/usr/bin/env bash
# Builds the cargo-fuzz (libFuzzer) targets in fuzz/ and runs each for a bounded time on
# its committed seed corpus (fuzz/corpus/TARGET, never written: new inputs go to a scratch
# corpus under fuzz/target). Fails when any target crashes, leaks, hangs or runs out of
# memory; the input is kept under fuzz/artifacts/TARGET/. Prints a table of executions per
# second and coverage (libFuzzer's cov / ft) at the start and the end of each run.
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET [TARGET...]]     default 40 s, every target
#   FUZZ_SANITIZER=none scripts/fuzz.sh                  no AddressSanitizer (default: address)
#   FUZZ_SEED=N scripts/fuzz.sh                          libFuzzer seed (default 1: CI explores the same inputs each run)
#
# Only a stable toolchain is needed: cargo-fuzz passes nightly-only flags (-Zsanitizer,
# sanitizer-coverage), which RUSTC_BOOTSTRAP=1 lets the stable compiler take.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-40}
shift || true
sanitizer=${FUZZ_SANITIZER:-address}
export RUSTC_BOOTSTRAP=1
if ! cargo fuzz --version >/dev/null 2>&1; then
  cargo install cargo-fuzz --locked --version 0.13.2
fi
flags=(--release --debug-assertions --sanitizer "$sanitizer" --fuzz-dir fuzz)
start=$SECONDS
cargo fuzz build "${flags[@]}"
build_seconds=$((SECONDS - start))
if [ $# -gt 0 ]; then
  targets=("$@")
else
  mapfile -t targets < <(cargo fuzz list --fuzz-dir fuzz)
fi
logs=fuzz/target/fuzz-logs
mkdir -p "$logs"
failed=()
rows=()
for target in "${targets[@]}"; do
  scratch=fuzz/target/fuzz-corpus/$target
  rm -rf "$scratch"
  mkdir -p "$scratch" "fuzz/corpus/$target"
  log=$logs/$target.log
  echo "fuzz.sh: $target for ${seconds}s"
  # -timeout: one input taking longer is a hang; -rss_limit_mb: the default, said aloud.
  if ! cargo fuzz run "${flags[@]}" "$target" "$scratch" "fuzz/corpus/$target" -- \
    -max_total_time="$seconds" -seed="${FUZZ_SEED:-1}" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    >"$log" 2>&1; then
    failed+=("$target")
    tail -n 60 "$log"
  fi
  first=$(grep -a -m1 -E "#[0-9]+[[:space:]]+INITED" "$log" || true)
  last=$(grep -a -E "#[0-9]+[[:space:]]+(DONE|pulse|NEW|REDUCE)" "$log" | tail -n1 || true)
  field() { sed -nE "s/.* $1: ([0-9]+).*/\1/p" <<<"$2"; }
  execs=$(grep -a '^stat::number_of_executed_units' "$log" | sed -E 's/.*: +//' || true)
  rate=$(grep -a '^stat::average_exec_per_sec' "$log" | sed -E 's/.*: +//' || true)
  rows+=("$(printf '| %-16s | %8s | %6s | %6s → %-6s | %6s → %-6s | %5s |' "$target" \
    "${execs:-?}" "${rate:-?}" "$(field cov "$first")" "$(field cov "$last")" \
    "$(field ft "$first")" "$(field ft "$last")" "$(find "fuzz/corpus/$target" -type f | wc -l)")")
done
echo
echo "fuzz.sh: build ${build_seconds}s (sanitizer $sanitizer), ${seconds}s per target, total $((SECONDS - start))s"
echo "| target           |    execs | exec/s | cov start → end | ft start → end  | seeds |"
echo "|---|---|---|---|---|---|"
printf '%s\n' "${rows[@]}"
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz.sh: FAILED: ${failed[*]} (inputs under fuzz/artifacts/; logs under $logs)" >&2
  exit 1
fi
