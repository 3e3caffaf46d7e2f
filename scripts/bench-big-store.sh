#!/usr/bin/env bash
# The heavy work of issue #20 on the guide's benchmark store, each row next to the engine
# doing the same work in the same run, with the ratio:
#
#   python3 ../shared/tools/gen_guide_store.py --events 10000000 --out /work/bench/guide10m.db
#   cargo build --release --bin eventscope
#   EVENTSCOPE_BENCH_GUIDE=/work/bench/guide10m.db scripts/bench-big-store.sh [BINARY]
#
# BINARY defaults to target/release/eventscope. RUNS (default 3) runs per timed row after
# one warm-up (median); the sidecar builds run ONCE_RUNS times (default 1) on a fresh
# cache each. ROWS picks rows (default "state script trace index drift info memory").
# The sqlite3 shell opens the store read-only (`?mode=ro`); eventscope's cache goes to a
# temp dir (XDG_CACHE_HOME), removed at the end. The store is hashed before and after.
#
# Rows (eventscope | the engine):
#   state   state STREAM --generic (fold the hot account)   | SELECT json(payload) … ORDER BY version
#           (the shell reads and parses every payload with SQLite's own JSON parser)
#   script  state STREAM --reducer benches/data/account.js  | the same shell read + parse
#   floor   state STREAM --reducer benches/data/noop.js      | (what QuickJS costs with no handler work)
#   trace   trace CID, no index yet (a full scan)            | SELECT id … WHERE instr(metadata, CID)
#   index   trace CID --index on an empty cache (the build)  | ATTACH + INSERT … SELECT json_extract …
#                                                              ORDER BY into a WITHOUT ROWID table
#   drift   check-snapshots --generic                        | read + parse the snapshotted streams
#   info    info, the store already opened once              | budget 100 ms (first open shown too)
#   search  search TEXT --limit all, no index (a full scan)    | SELECT id … WHERE instr() on the same four
#                                                              columns (payload, metadata, stream, event id)
#   audit   audit --json (every check, no reducer)           | SELECT sum(length(payload)+length(metadata))
#                                                              FROM events (one full scan)
#   memory  scripts/measure-gui-memory.sh (peak RSS)         | budget 200 MB
set -euo pipefail
cd "$(dirname "$0")/.."
STORE=${EVENTSCOPE_BENCH_GUIDE:?set EVENTSCOPE_BENCH_GUIDE to the guide store (see the top of this script)}
STORE=$(realpath -- "$STORE")
BIN=$(realpath -- "${1:-target/release/eventscope}")
RUNS=${RUNS:-3}
ONCE_RUNS=${ONCE_RUNS:-1}
ROWS=${ROWS:-state script trace index drift info search audit memory}
SQLITE3=${SQLITE3:-sqlite3}
FACTS="$STORE.facts.json"
[[ -f $STORE ]] || { echo "no such file: $STORE" >&2; exit 1; }
[[ -x $BIN ]] || { echo "no eventscope binary at $BIN (cargo build --release)" >&2; exit 1; }
command -v "$SQLITE3" >/dev/null || { echo "no $SQLITE3 on PATH (apt-get install sqlite3)" >&2; exit 1; }
# shellcheck source=scripts/bench-lib.sh
source scripts/bench-lib.sh

URI="file:$STORE?mode=ro"
STREAM=${STREAM:-account-1}
CID=${CID:-$(python3 -c 'import json,sys; f=json.load(open(sys.argv[1])); print(f.get("sample_correlation_id") or f["correlation_id"])' "$FACTS" 2>/dev/null || true)}
if [[ -z $CID ]]; then
    CID=$("$SQLITE3" "$URI" "SELECT json_extract(metadata, '\$.correlation_id') FROM events WHERE id = 5000000")
fi
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
export XDG_CACHE_HOME="$WORK/cache"

# One timed run in ms (for the builds, which must start from nothing each time).
once_ms() {
    local t0 t1
    t0=$(date +%s%N)
    "$@" >/dev/null
    t1=$(date +%s%N)
    awk -v d=$(((t1 - t0) / 1000)) 'BEGIN {printf "%.1f", d / 1000}'
}
# Median of ONCE_RUNS runs of "$@", each after `fresh` (which empties the cache).
fresh_median_ms() {
    local times=()
    for ((r = 0; r < ONCE_RUNS; r++)); do
        rm -rf "$XDG_CACHE_HOME" "$WORK"/corr.db
        times+=("$(once_ms "$@")")
    done
    printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {printf "%.1f", a[int((NR+1)/2)]}'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }
row() { printf '%-7s eventscope %10s ms | engine %10s ms | ratio %6s | %s\n' "$1" "$2" "$3" "$(ratio "$2" "$3")" "$4"; }
wants() { [[ " $ROWS " == *" $1 "* ]]; }
ignore_findings() { "$@" || [[ $? -eq 1 ]]; }

echo "store $STORE ($(du -h "$STORE" | cut -f1)); binary $BIN; sqlite3 $("$SQLITE3" --version | cut -d' ' -f1); runs $RUNS"
echo "load before: $(uptime | sed 's/.*load/load/')"
before=$(sha256sum "$STORE" | cut -d' ' -f1)
listing_before=$(ls -a "$(dirname "$STORE")" | tr '\n' ' ')

READ_STREAM="SELECT json(payload) FROM events WHERE aggregate_id = '$STREAM' ORDER BY version;"
if wants state || wants script; then
    engine=$(median_ms "$SQLITE3" "$URI" "$READ_STREAM")
    raw=$(median_ms "$SQLITE3" "$URI" "${READ_STREAM/json(payload)/payload}")
    whole=$(median_ms "$SQLITE3" "$URI" "${READ_STREAM/json(payload)/*}")
    echo "        (engine: read $STREAM without parsing: $raw ms; every column of its rows: $whole ms)"
    if wants state; then
        es=$(median_ms "$BIN" state "$STORE" "$STREAM" --generic)
        row state "$es" "$engine" "fold $STREAM, generic reducer; budget 1.5x"
    fi
    if wants script; then
        es=$(median_ms "$BIN" state "$STORE" "$STREAM" --reducer benches/data/account.js)
        row script "$es" "$engine" "fold $STREAM, script reducer; budget 2.5x"
        # The floor: QuickJS receiving every event, with handlers that do nothing.
        floor=$(median_ms "$BIN" state "$STORE" "$STREAM" --reducer benches/data/noop.js)
        row floor "$floor" "$engine" "the same fold with a reducer that does nothing (benches/data/noop.js)"
    fi
fi
if wants trace; then
    engine=$(median_ms "$SQLITE3" "$URI" "SELECT id FROM events WHERE instr(metadata, '$CID') > 0;")
    rm -rf "$XDG_CACHE_HOME"
    es=$(median_ms "$BIN" trace "$STORE" "$CID")
    row trace "$es" "$engine" "correlation $CID without an index; budget 1.0x"
fi
if wants index; then
    engine=$(fresh_median_ms "$SQLITE3" "$WORK/corr.db" "PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;
ATTACH '$URI' AS s;
CREATE TABLE corr(k TEXT, id INTEGER, PRIMARY KEY (k, id)) WITHOUT ROWID;
BEGIN; INSERT INTO corr SELECT json_extract(metadata, '\$.correlation_id'), id FROM s.events ORDER BY 1, 2; COMMIT;")
    es=$(fresh_median_ms "$BIN" trace "$STORE" "$CID" --index)
    size=$(du -sh "$XDG_CACHE_HOME" 2>/dev/null | cut -f1)
    row index "$es" "$engine" "correlation index build, 10M events (sidecar $size); budget 2x"
fi
if wants drift; then
    engine=$(median_ms "$SQLITE3" "$URI" "SELECT json(payload) FROM events WHERE aggregate_id IN (SELECT DISTINCT aggregate_id FROM snapshots) ORDER BY aggregate_id, version;")
    es=$(median_ms ignore_findings "$BIN" check-snapshots "$STORE" --generic)
    row drift "$es" "$engine" "drift report over every snapshot; budget 2x"
fi
if wants info; then
    rm -rf "$XDG_CACHE_HOME"
    first=$(once_ms "$BIN" info "$STORE")
    es=$(median_ms "$BIN" info "$STORE")
    engine=$(median_ms "$SQLITE3" "$URI" "SELECT COUNT(*) FROM events; SELECT COUNT(*) FROM (SELECT 1 FROM events GROUP BY aggregate_id);")
    row info "$es" "$engine" "info after the first open (first open $first ms, builds the summary); budget 100 ms"
fi
if wants search; then
    TEXT=${TEXT:-$("$SQLITE3" "$URI" "SELECT json_extract(payload, '\$.reference') FROM events WHERE json_extract(payload, '\$.reference') IS NOT NULL AND id > 5000000 LIMIT 1")}
    PIECE=${TEXT#*-}
    engine=$(median_ms "$SQLITE3" "$URI" "SELECT id FROM events WHERE instr(payload, '$PIECE') OR instr(metadata, '$PIECE') OR instr(aggregate_id, '$PIECE') OR instr(event_id, '$PIECE');")
    es=$(median_ms "$BIN" search "$STORE" "$TEXT" --limit all)
    row search "$es" "$engine" "every event mentioning $TEXT, no index; budget 1.2x"
fi
if wants audit; then
    # The whole checklist (no reducer) against one full scan of the events table.
    engine=$(median_ms "$SQLITE3" "$URI" "SELECT sum(length(payload) + length(metadata)) FROM events;")
    es=$(median_ms "$BIN" audit "$STORE" --json)
    row audit "$es" "$engine" "the whole audit, one pass (issue #17); budget 2x"
fi
if wants memory; then
    if command -v Xvfb >/dev/null && command -v xdotool >/dev/null; then
        EVENTSCOPE_BIN=$BIN scripts/measure-gui-memory.sh "$STORE" | sed 's/^/memory  /'
    else
        echo "memory  skipped: needs Xvfb and xdotool"
    fi
fi

echo "load after: $(uptime | sed 's/.*load/load/')"
after=$(sha256sum "$STORE" | cut -d' ' -f1)
listing_after=$(ls -a "$(dirname "$STORE")" | tr '\n' ' ')
if [[ $before != "$after" || $listing_before != "$listing_after" ]]; then
    echo "THE STORE CHANGED: sha256 $before -> $after; files: $listing_before -> $listing_after" >&2
    exit 1
fi
echo "store unchanged (sha256 $before)"
