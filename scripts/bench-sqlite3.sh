#!/usr/bin/env bash
# Runs, in the sqlite3 shell, the SQL that eventscope's SQLite source issues for the three
# reads benchmarked in benches/source.rs (design layout, e.g. the demo store), and reports
# the median time per query, to compare with the criterion medians of `cargo bench --bench
# source`.
#
#   scripts/bench-sqlite3.sh STORE                 # e.g. <target>/bench-data/demo-1m.db
#   RUNS=51 scripts/bench-sqlite3.sh STORE         # more samples
#   BIND=1 scripts/bench-sqlite3.sh STORE          # bind ?1..?N with .parameter instead of literals
#   SQLITE3=/path/to/sqlite3 scripts/bench-sqlite3.sh STORE
#
# The statements (identical to what src/source/sqlite/sql.rs and mod.rs prepare, checked by
# tracing them; literal parameters substituted unless BIND=1):
#   a. list_streams, first 100 streams by id: the index-only summary query, then for each
#      of the 100 streams its first and last event (2 point lookups) — 201 statements;
#   b. read_stream of STREAM (default account-0001) from version count/2, forwards, 500;
#   c. read_log from position head/2, 500.
# Every row is fetched and printed (list mode) to /dev/null.
#
# Two timings per read, both excluding process start-up:
#   timer  — `.timer on` inside one shell session: median over RUNS executions (after
#            WARMUP ones) of the sum of the read's statement times. `real` has 1 ms
#            resolution per statement in the shell (useless for sub-ms statements, and
#            for a's 201 statements); `cpu` (user+sys) has 1 µs.
#   batch  — (T(session: warm-up + REPS runs) − T(session: warm-up only)) / REPS, wall
#            clock, median over BATCHES pairs; REPS is chosen so a batch lasts about
#            BATCH_SECONDS. Start-up and open cancel out; microsecond resolution. This is the
#            figure to compare with criterion.
# The store is opened the way eventscope opens it (read-only URI; `immutable=1` for a WAL
# store with no -wal file, `readonly_shm=1` when -wal and -shm exist), so nothing is written.
# Note: /usr/bin/sqlite3 may be an older SQLite (3.40 on Debian 12) than the one bundled
# into eventscope by rusqlite; the script prints both versions it can see.
set -euo pipefail

if [[ $# -lt 1 || $1 == -h || $1 == --help ]]; then
    sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
    exit 2
fi
STORE=$1
SQLITE3=${SQLITE3:-sqlite3}
RUNS=${RUNS:-31}
WARMUP=${WARMUP:-3}
BATCHES=${BATCHES:-11}
STREAM=${STREAM:-account-0001}
PAGE=${PAGE:-500}
STREAMS_PAGE=${STREAMS_PAGE:-100}
BIND=${BIND:-0}
# Target wall time of one batch, used to choose REPS per query.
BATCH_SECONDS=${BATCH_SECONDS:-0.3}

command -v "$SQLITE3" >/dev/null || { echo "no $SQLITE3 on PATH (apt-get install sqlite3)" >&2; exit 1; }
[[ -f $STORE ]] || { echo "no such file: $STORE" >&2; exit 1; }

# --- open the store the way src/source/sqlite/mod.rs (choose_mode, read_only_uri) does ---
absolute=$(realpath -- "$STORE")
encoded=
LC_ALL=C
for ((i = 0; i < ${#absolute}; i++)); do
    c=${absolute:i:1}
    if [[ $c == [A-Za-z0-9/._~-] ]]; then
        encoded+=$c
    else
        printf -v hex '%%%02X' "'$c"
        encoded+=$hex
    fi
done
read -r b18 b19 < <(od -An -tu1 -j18 -N2 -- "$absolute")
mode=plain
if [[ $b18 == 2 && $b19 == 2 ]]; then
    if [[ ! -e "$absolute-wal" ]]; then
        mode=immutable
    elif [[ -e "$absolute-shm" ]]; then
        mode=readonly_shm
    else
        mode=rebuild_shm
        echo "warning: the WAL of this store has no -shm; SQLite will create one" >&2
    fi
fi
case $mode in
    immutable) URI="file:$encoded?mode=ro&immutable=1" ;;
    readonly_shm) URI="file:$encoded?mode=ro&readonly_shm=1" ;;
    *) URI="file:$encoded?mode=ro" ;;
esac

sq() { "$SQLITE3" -batch -noheader "$URI" "$@"; }
quote() { local s=${1//\'/\'\'}; printf "'%s'" "$s"; }

# --- the parameters benches/source.rs uses ---
count=$(sq "SELECT COUNT(*) FROM \"events\" WHERE 1 AND \"aggregate_id\" IN ($(quote "$STREAM"), $(quote "$STREAM"), $(quote "$STREAM"), $(quote "$STREAM"))")
head=$(sq 'SELECT "id" FROM "events" WHERE 1 ORDER BY "id" DESC LIMIT 1')
head=${head:-0}
from_version=$((count / 2))
from_position=$((head / 2))
[[ $count -gt 0 ]] || { echo "stream $STREAM has no events in $STORE" >&2; exit 1; }

# --- the SQL, as src/source/sqlite/sql.rs and mod.rs generate it for the design layout ---
COLUMNS='"id", "aggregate_id", "version", "event_type", "event_id", "payload", "metadata", "created_at", "event_version"'
SQL_A='SELECT "aggregate_id", COUNT(*), MAX("version"), MAX("id") FROM "events" WHERE 1 GROUP BY "aggregate_id" ORDER BY "aggregate_id" ASC LIMIT ?1 OFFSET ?2'
SQL_A_FIRST='SELECT "created_at", "event_type" FROM "events" WHERE 1 AND "aggregate_id" = ?1 ORDER BY "version" ASC LIMIT 1'
SQL_A_LAST='SELECT "created_at", "event_type" FROM "events" WHERE 1 AND "aggregate_id" = ?1 ORDER BY "version" DESC LIMIT 1'
# A text stream id that is not a UUID has one stored form, so the source matches it with
# `=` (a UUID id given as text is matched in its four forms with `IN (?1, ?2, ?3, ?4)`).
SQL_B="SELECT $COLUMNS FROM \"events\" WHERE 1 AND \"aggregate_id\" = ?1 AND \"version\" >= ?2 ORDER BY \"version\" ASC LIMIT ?3"
SQL_C="SELECT $COLUMNS FROM \"events\" WHERE 1 AND \"id\" >= ?1 ORDER BY \"id\" ASC LIMIT ?2"

# statement SQL PARAMS... → prints one statement with its parameters: substituted as
# literals, or (BIND=1) bound by `.parameter set` lines before it.
statement() {
    local sql=$1 i
    shift
    if [[ $BIND == 1 ]]; then
        for ((i = 1; i <= $#; i++)); do
            printf '.parameter set ?%d "%s"\n' "$i" "${!i}"
        done
    else
        # Highest index first, so ?1 does not clobber ?10 and up.
        for ((i = $#; i >= 1; i--)); do
            sql=${sql//"?$i"/"${!i}"}
        done
    fi
    printf '%s;\n' "$sql"
}

# Each benchmarked read is a BLOCK of NSTMT statements, run as the source runs them.
s=$(quote "$STREAM")
# a. list_streams: the page of summaries, then the first and last event of each stream.
block_a() {
    local id
    statement "$SQL_A" "$STREAMS_PAGE" 0
    while IFS= read -r id; do
        statement "$SQL_A_FIRST" "$(quote "$id")"
        statement "$SQL_A_LAST" "$(quote "$id")"
    done < <(sq "SELECT \"aggregate_id\" FROM \"events\" WHERE 1 GROUP BY \"aggregate_id\" ORDER BY \"aggregate_id\" ASC LIMIT $STREAMS_PAGE OFFSET 0")
}
block_b() { statement "$SQL_B" "$s" "$from_version" "$PAGE"; }
block_c() { statement "$SQL_C" "$from_position" "$PAGE"; }

# session WARMUPS REPS → one shell session running BLOCK WARMUPS+REPS times, rows to /dev/null.
session() {
    local n=$(($1 + $2)) i
    {
        # As eventscope does; not with BIND=1, whose .parameter table lives in temp (the
        # store itself stays read-only through mode=ro either way).
        [[ $BIND == 1 ]] || echo 'PRAGMA query_only = 1;'
        echo '.timer on'
        echo '.output /dev/null'
        for ((i = 0; i < n; i++)); do printf '%s\n' "$BLOCK"; done
    } | "$SQLITE3" -batch -noheader "$URI"
}

median() { sort -g | awk '{v[NR] = $1} END {if (NR == 0) print "nan"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }

now() { echo "$EPOCHREALTIME"; }

ms() { awk -v s="$1" 'BEGIN {printf "%.3f", s * 1000}'; }

bench() {
    local label=$1
    BLOCK=$($2)
    local nstmt
    nstmt=$(grep -vc '^\.parameter' <<<"$BLOCK")
    # Timer: per block, the sum of its statements' times.
    local sums real cpu
    sums=$(session "$WARMUP" "$RUNS" | grep '^Run Time:' | tail -n "$((RUNS * nstmt))" |
        awk -v k="$nstmt" '{r += $4; c += $6 + $8} NR % k == 0 {print r, c; r = 0; c = 0}')
    real=$(awk '{print $1}' <<<"$sums" | median)
    cpu=$(awk '{print $2}' <<<"$sums" | median)
    # Batch timing, start-up subtracted.
    local reps
    reps=$(awk -v r="$real" -v c="$cpu" -v t="$BATCH_SECONDS" 'BEGIN {q = (r > c ? r : c); if (q < 0.0001) q = 0.0001; n = int(t / q + 0.5); if (n < 3) n = 3; if (n > 2000) n = 2000; print n}')
    local per=() b t0 t1 t2
    for ((b = 0; b < BATCHES; b++)); do
        t0=$(now); session 1 0 >/dev/null
        t1=$(now); session 1 "$reps" >/dev/null
        t2=$(now)
        per+=("$(awk -v a="$t0" -v b="$t1" -v c="$t2" -v n="$reps" 'BEGIN {printf "%.9f", ((c - b) - (b - a)) / n}')")
    done
    local batch rows
    batch=$(printf '%s\n' "${per[@]}" | median)
    # Rows printed by one block (a: 100 summaries + 2 × 100 first/last; b, c: 500).
    rows=$(printf '%s\n' "$BLOCK" | "$SQLITE3" -batch -noheader "$URI" | wc -l)
    printf '%-28s %5s %6s %12s %12s %14s %6s\n' "$label" "$nstmt" "$rows" "$(ms "$real")" "$(ms "$cpu")" "$(ms "$batch")" "$reps"
    if [[ ${VERBOSE:-0} == 1 ]]; then
        printf '%s\n' "$BLOCK" | awk '!seen[$0]++' | head -n 8 | sed 's/^/    /' >&2
    fi
}

bundled=
if [[ -n ${EVENTSCOPE_SQLITE_VERSION:-} ]]; then bundled=" (eventscope bundles $EVENTSCOPE_SQLITE_VERSION)"; fi
echo "store:     $absolute ($mode)"
echo "sqlite3:   $(command -v "$SQLITE3"), SQLite $("$SQLITE3" --version | cut -d' ' -f1)$bundled"
echo "params:    $STREAM has $count events → from_version $from_version; head $head → from_position $from_position"
echo "settings:  RUNS=$RUNS WARMUP=$WARMUP BATCHES=$BATCHES BIND=$BIND (literals unless BIND=1)"
echo
printf '%-28s %5s %6s %12s %12s %14s %6s\n' query stmts rows 'timer real' 'timer cpu' 'batch wall' reps
printf '%-28s %5s %6s %12s %12s %14s %6s\n' '' '' '' '(ms, median)' '(ms, median)' '(ms, median)' ''
bench "a list_streams first $STREAMS_PAGE" block_a
bench "b read_stream mid $PAGE" block_b
bench "c read_log mid $PAGE" block_c
