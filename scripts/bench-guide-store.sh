#!/usr/bin/env bash
# Item-5 benchmark on a big version-less guide store (scripts/gen-guide-store.sh): the
# wall time of `eventscope events` against the sqlite3 shell running the same reads, each
# a fresh process (start-up and open included), median of RUNS runs (after one warm-up).
#
#   scripts/bench-guide-store.sh STORE [EVENTSCOPE_BINARY]    # default target/debug/eventscope
#   RUNS=21 STREAM=account-7 FROM=50001 scripts/bench-guide-store.sh /tmp/guide10m.db
#
# Rows are printed and thrown away (/dev/null) in both. Timed:
#   mid/eventscope   events STORE STREAM --from-version FROM --limit 500 --json
#   mid/shell-offset the SQL eventscope runs for it (stream rows by id, LIMIT 500 OFFSET FROM-1)
#   mid/shell-rownum ROW_NUMBER() OVER (ORDER BY id) over the stream, versions FROM..FROM+499
#   first/eventscope events STORE STREAM --limit 500 --json
#   first/shell-rownum the ROW_NUMBER() query for versions 1..500
# The shell opens the file read-only (`?mode=ro`), as eventscope does.
set -euo pipefail
if [[ $# -lt 1 || $1 == -h || $1 == --help ]]; then
    sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
    exit 2
fi
STORE=$(realpath -- "$1")
BIN=${2:-target/debug/eventscope}
RUNS=${RUNS:-11}
STREAM=${STREAM:-account-1}
FROM=${FROM:-50001}
SQLITE3=${SQLITE3:-sqlite3}
[[ -f $STORE ]] || { echo "no such file: $STORE" >&2; exit 1; }
[[ -x $BIN ]] || { echo "no eventscope binary at $BIN" >&2; exit 1; }
URI="file:$STORE?mode=ro"
COLUMNS="id, aggregate_id, event_type, payload, metadata, created_at"
OFFSET_SQL="SELECT $COLUMNS FROM events WHERE aggregate_id = '$STREAM' ORDER BY id LIMIT 500 OFFSET $((FROM - 1));"
rownum_sql() {
    echo "SELECT * FROM (SELECT $COLUMNS, ROW_NUMBER() OVER (ORDER BY id) AS version FROM events \
WHERE aggregate_id = '$STREAM') WHERE version BETWEEN $1 AND $(($1 + 499)) ORDER BY id;"
}

# shellcheck source=scripts/bench-lib.sh
source "$(dirname "$0")/bench-lib.sh"

rows() { "$@" | wc -l; }
echo "store $STORE ($(du -h "$STORE" | cut -f1)); stream $STREAM; binary $BIN; sqlite3 $("$SQLITE3" --version | cut -d' ' -f1); runs $RUNS"
echo "rows: eventscope $(rows "$BIN" events "$STORE" "$STREAM" --from-version "$FROM" --limit 500 --json), \
shell $(rows "$SQLITE3" "$URI" "$OFFSET_SQL"), rownum $(rows "$SQLITE3" "$URI" "$(rownum_sql "$FROM")")"
mid_es=$(median_ms "$BIN" events "$STORE" "$STREAM" --from-version "$FROM" --limit 500 --json)
mid_off=$(median_ms "$SQLITE3" "$URI" "$OFFSET_SQL")
mid_row=$(median_ms "$SQLITE3" "$URI" "$(rownum_sql "$FROM")")
first_es=$(median_ms "$BIN" events "$STORE" "$STREAM" --limit 500 --json)
first_row=$(median_ms "$SQLITE3" "$URI" "$(rownum_sql 1)")
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }
echo "mid   (from version $FROM, 500): eventscope $mid_es ms | shell same SQL $mid_off ms (x$(ratio "$mid_es" "$mid_off")) | shell ROW_NUMBER $mid_row ms (x$(ratio "$mid_es" "$mid_row"))"
echo "first (versions 1..500):        eventscope $first_es ms | shell ROW_NUMBER $first_row ms (x$(ratio "$first_es" "$first_row"))"
