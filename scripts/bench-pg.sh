#!/usr/bin/env bash
# PostgreSQL benchmark (issue 15 item 6) on the store scripts/gen-pg-bench.sh loads: the wall
# time of eventscope's CLI against psql running the very statements eventscope sent, each a
# fresh process (start-up, connection and, for eventscope, layout detection included),
# median of RUNS runs after one warm-up.
#
#   scripts/bench-pg.sh SERVER_LOG FACTS [EVENTSCOPE_BINARY]   # default target/release/eventscope
#   RUNS=11 scripts/bench-pg.sh "$PGTEST_DIR/server.log" guide10m.facts.json
#
# Connection: the PG* variables of a superuser (e.g. eval "$(scripts/pg-test-server.sh start)"),
# database = the facts' name (guide10m for guide10m.facts.json, or DB=...).
# "The same SQL": each case runs once with PGOPTIONS="-c log_statement=all" (so the session
# logs what it executes to SERVER_LOG); the statements that read the events table are taken
# from the log with their parameters filled in and timed in one psql process (`psql -X -A -t`,
# rows to /dev/null, as eventscope's rows go to /dev/null). Catalog queries (detection) are
# timed only on eventscope's side. Cases:
#   streams    streams STORE --limit 100 --json                     (first 100 streams by id)
#   stream     events STORE account-1 --from-version MID --limit 500 (page 500 mid of a 100k stream)
#   log        log STORE --from-position MID --limit 500             (page 500 mid-log)
#   version_at events STORE account-1 --at T --limit 1               (version at a timestamp)
#   trace      trace STORE CORRELATION --json                        (no expression index)
#   trace_idx  the same after CREATE INDEX ON events ((metadata->>'correlationId')) (dropped after,
#              unless KEEP_INDEX=1)
set -euo pipefail
if [[ $# -lt 2 || $1 == -h || $1 == --help ]]; then
    sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
    exit 2
fi
LOG=$1 FACTS=$2 BIN=${3:-target/release/eventscope}
RUNS=${RUNS:-11}
DB=${DB:-$(basename "$FACTS" .facts.json)}
[[ -r $LOG ]] || { echo "cannot read the server log $LOG" >&2; exit 1; }
[[ -x $BIN ]] || { echo "no eventscope binary at $BIN" >&2; exit 1; }
URL="postgres://${PGUSER:-postgres}@${PGHOST:-127.0.0.1}:${PGPORT:-5432}/$DB"
fact() { python3 -c "import json,sys; f=json.load(open(sys.argv[1])); print(eval(sys.argv[2], {}, f))" "$FACTS" "$1"; }
HOT=$(fact 'hot_streams[0]["aggregate_id"]')
HOT_EVENTS=$(fact 'hot_streams[0]["events"]')
MID_VERSION=$((HOT_EVENTS / 2 + 1))
MID_POSITION=$(fact 'middle_id')
AT=$(fact 'middle_created_at.replace(" ", "T").replace("+00", "Z")')
CORRELATION=$(fact 'sample_correlation_id')

# shellcheck source=scripts/bench-lib.sh
source "$(dirname "$0")/bench-lib.sh"

# The data statements eventscope executed while running "$@", as psql -c arguments (one per
# line, parameters substituted), read from the part of the server log the run appended.
statements_of() {
    local before
    before=$(stat -c %s "$LOG")
    PGOPTIONS="-c log_statement=all" "$@" >/dev/null
    sleep 0.2
    tail -c +$((before + 1)) "$LOG" | python3 -c '
import re, sys
text = sys.stdin.read()
entries, cur = [], None
for line in text.split("\n"):
    m = re.search(r"LOG:  (?:statement|execute [^:]*): (.*)$", line)
    d = re.search(r"DETAIL:  parameters: (.*)$", line)
    if m:
        cur = [m.group(1), {}]; entries.append(cur)
    elif d and cur is not None:
        for k, v in re.findall(r"\$(\d+) = (NULL|'"'"'(?:[^'"'"']|'"'"''"'"')*'"'"')", d.group(1)):
            cur[1][k] = v
    elif line.startswith("\t") and cur is not None and not re.search(r"^\t*(DETAIL|STATEMENT)", line):
        cur[0] += "\n" + line[1:]
    elif re.search(r"\] (LOG|DETAIL|ERROR|STATEMENT|WARNING)", line):
        cur = None if not d else cur
for sql, params in entries:
    if not re.search(r"\bevents\b", sql) or re.search(r"pg_catalog|information_schema|pg_class|pg_index", sql):
        continue
    sql = re.sub(r"\$(\d+)", lambda m: params.get(m.group(1), m.group(0)), sql)
    print(sql.replace("\n", " "))
'
}

psql_run() {
    local args=()
    while IFS= read -r sql; do args+=(-c "$sql"); done <<<"$1"
    psql -X -q -A -t -d "$DB" "${args[@]}"
}

echo "database $DB ($(psql -X -At -d "$DB" -c "SELECT pg_size_pretty(pg_database_size(current_database()))")); \
$(psql -X -At -d "$DB" -c "SELECT count(*) FROM events") events; binary $BIN; runs $RUNS; $(psql -X -At -d postgres -c "SHOW server_version") "
printf '%-11s %12s %12s %7s  %s\n' case eventscope psql ratio "statements psql ran"
bench() {
    local name=$1
    shift
    local sql es ps
    sql=$(statements_of "$@")
    [[ -n $sql ]] || { echo "$name: no data statement found in the server log" >&2; return 1; }
    es=$(median_ms "$@")
    ps=$(median_ms psql_run "$sql")
    printf '%-11s %9s ms %9s ms %6sx  %s\n' "$name" "$es" "$ps" \
        "$(awk -v a="$es" -v b="$ps" 'BEGIN {printf "%.2f", a / b}')" "$(echo "$sql" | cut -c1-160 | paste -sd'|')"
}
bench streams "$BIN" streams "$URL" --limit 100 --json
bench stream "$BIN" events "$URL" "$HOT" --from-version "$MID_VERSION" --limit 500 --json
bench log "$BIN" log "$URL" --from-position "$MID_POSITION" --limit 500 --json
bench version_at "$BIN" events "$URL" "$HOT" --at "$AT" --limit 1 --json
had_index=$(psql -X -At -d "$DB" -c "SELECT count(*) FROM pg_indexes WHERE indexname = 'events_correlation_idx'")
if [[ $had_index == 0 ]]; then
    bench trace "$BIN" trace "$URL" "$CORRELATION" --json
    t0=$(date +%s%N)
    psql -X -q -d "$DB" -c "CREATE INDEX events_correlation_idx ON events ((metadata->>'correlationId'))" -c "ANALYZE events"
    echo "(created the expression index in $((($(date +%s%N) - t0) / 1000000)) ms)"
fi
bench trace_idx "$BIN" trace "$URL" "$CORRELATION" --json
if [[ $had_index == 0 && ${KEEP_INDEX:-0} != 1 ]]; then
    psql -X -q -d "$DB" -c "DROP INDEX events_correlation_idx"
fi
