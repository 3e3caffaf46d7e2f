#!/usr/bin/env bash
# The engine's own time for eventscope's full-text index: the sqlite3 shell builds the same
# FTS5 trigram table (contentless, detail=none) over the same texts eventscope indexes (the
# ids, then every string and number value of payload and metadata, one per line) of a guide
# layout store. Usage: scripts/bench-fts-shell.sh STORE OUT.db [LIMIT]
set -euo pipefail
store=$1 out=$2 limit=${3:--1}
rm -f "$out" "$out-wal" "$out-shm"
sqlite3 "$out" <<SQL
PRAGMA journal_mode = WAL;
PRAGMA synchronous = NORMAL;
ATTACH 'file:$store?mode=ro' AS s;
CREATE VIRTUAL TABLE fts USING fts5(body, tokenize = 'trigram', content = '', detail = 'none');
INSERT INTO fts(rowid, body)
SELECT id,
       aggregate_id || char(10) || event_id || char(10)
       || coalesce(json_extract(metadata, '\$.correlation_id') || char(10), '')
       || coalesce(json_extract(metadata, '\$.causation_id') || char(10), '')
       || coalesce((SELECT group_concat(atom, char(10)) FROM json_tree(payload)
                    WHERE type IN ('text', 'integer', 'real')), '') || char(10)
       || coalesce((SELECT group_concat(atom, char(10)) FROM json_tree(metadata)
                    WHERE type IN ('text', 'integer', 'real')), '') || char(10)
FROM s.events ORDER BY id LIMIT $limit;
SQL
