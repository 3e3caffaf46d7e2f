#!/usr/bin/env bash
# Writes a big version-less store in the CQRS/ES guide's first layout, for the item-5
# benchmark (scripts/bench-guide-store.sh):
#
#   events(id INTEGER PRIMARY KEY AUTOINCREMENT, aggregate_id TEXT NOT NULL, event_type TEXT
#          NOT NULL, payload TEXT NOT NULL, metadata TEXT, created_at TIMESTAMP)
#   + the index a guide reader adds for `load(aggregate_id)`: events(aggregate_id)
#
# EVENTS events (default 10,000,000) round-robin over STREAMS streams `account-1` ..
# (default 100, so 100,000 events each), times in Python's default adapter form
# (`YYYY-MM-DD HH:MM:SS.ffffff`, naive), camelCase correlation ids in the metadata.
#
#   scripts/gen-guide-store.sh OUT.db            # ~1 GB, about a minute
#   EVENTS=1000000 STREAMS=10 scripts/gen-guide-store.sh OUT.db
#
# Needs the sqlite3 shell (apt-get install sqlite3). Refuses to overwrite OUT.
set -euo pipefail
if [[ $# -ne 1 || $1 == -h || $1 == --help ]]; then
    sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
    exit 2
fi
OUT=$1
EVENTS=${EVENTS:-10000000}
STREAMS=${STREAMS:-100}
SQLITE3=${SQLITE3:-sqlite3}
[[ -e $OUT ]] && { echo "exists, not overwritten: $OUT" >&2; exit 1; }
command -v "$SQLITE3" >/dev/null || { echo "no $SQLITE3 on PATH (apt-get install sqlite3)" >&2; exit 1; }
"$SQLITE3" "$OUT" <<SQL
PRAGMA journal_mode = OFF;
PRAGMA synchronous = OFF;
CREATE TABLE events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    aggregate_id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    payload TEXT NOT NULL,
    metadata TEXT,
    created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP
);
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < $EVENTS)
INSERT INTO events (aggregate_id, event_type, payload, metadata, created_at)
SELECT
    'account-' || (i % $STREAMS + 1),
    CASE WHEN i < $STREAMS THEN 'AccountOpened' WHEN i % 3 = 0 THEN 'MoneyWithdrawn' ELSE 'MoneyDeposited' END,
    '{"amount": ' || (i % 500 + 1) || '}',
    '{"correlationId": "c-' || (i / 2) || '", "causationId": "c-' || (i / 2) || '"}',
    strftime('%Y-%m-%d %H:%M:%f', 1740821208 + i * 0.25, 'unixepoch') || '000'
FROM n;
CREATE INDEX idx_events_aggregate ON events(aggregate_id);
SQL
echo "wrote $OUT: $("$SQLITE3" "$OUT" 'SELECT COUNT(*) FROM events') events in $STREAMS streams" >&2
