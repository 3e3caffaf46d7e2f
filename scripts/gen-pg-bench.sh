#!/usr/bin/env bash
# Loads a big DIY ("the guide's layout") event store into PostgreSQL with COPY, for the
# PostgreSQL benchmarks (issue 15 item 6). Same shape as the SQLite benchmark store
# (../shared/tools/gen_guide_store.py): N events, N/10 aggregates, three hot accounts of N/100
# events spread over the whole log (account-1..3), Zipf-like account sizes, orders of 2..12
# events living hours, events interleaved by a simulated clock, correlation chains of 2..6
# events of different aggregates (16 open at a time), snapshots every 500 versions, five
# projection checkpoints at various lags. The generator is this script's own (embedded
# Python, no dependencies); its output depends only on --events and --seed.
#
#   scripts/gen-pg-bench.sh --events 10000000 --db guide10m [--seed 42] [--correlation-index]
#
# Connection: the usual PG* variables (e.g. eval "$(scripts/pg-test-server.sh start)").
# The database is dropped and recreated. Tables are created without secondary indexes, loaded
# with COPY ... FROM STDIN (one streaming pipe, no temp files), then the keys/indexes the guide
# defines are built and ANALYZE runs (as autovacuum would on a real server).
# --correlation-index also creates events_correlation_idx ON events ((metadata->>'correlationId'))
# (leave it out to measure the trace without an index; `CREATE INDEX` it later for the other run).
# Writes <db>.facts.json (in the current directory, or --facts PATH): biggest streams, a sample
# correlation id, head, middle positions and timestamps for the benchmark queries.
set -euo pipefail

events=10000000 seed=42 db="" corr_index=0 facts=""
while [ $# -gt 0 ]; do
  case "$1" in
    --events) events=$2; shift 2 ;;
    --seed) seed=$2; shift 2 ;;
    --db) db=$2; shift 2 ;;
    --facts) facts=$2; shift 2 ;;
    --correlation-index) corr_index=1; shift ;;
    *) echo "usage: $0 --events N --db NAME [--seed S] [--correlation-index] [--facts PATH]" >&2; exit 2 ;;
  esac
done
[ -n "$db" ] || { echo "gen-pg-bench.sh: --db NAME is required" >&2; exit 2; }
[ "$events" -ge 1000 ] 2>/dev/null || { echo "gen-pg-bench.sh: --events must be a number >= 1000" >&2; exit 2; }
[ -n "$facts" ] || facts="$db.facts.json"
command -v psql >/dev/null || { echo "gen-pg-bench.sh: psql not found (scripts/setup.sh test)" >&2; exit 1; }

psql_() { psql -X -q -v ON_ERROR_STOP=1 "$@"; }
t0=$(date +%s.%N)
PGOPTIONS="-c client_min_messages=warning" psql_ -d postgres -c "DROP DATABASE IF EXISTS \"$db\"" -c "CREATE DATABASE \"$db\" TEMPLATE template0 ENCODING 'UTF8' LOCALE 'C.UTF-8'"
psql_ -d "$db" <<'SQL'
CREATE TABLE events (
    id            BIGINT NOT NULL,            -- BIGSERIAL after the load (see below)
    event_id      UUID NOT NULL,
    aggregate_id  TEXT NOT NULL,
    version       INTEGER NOT NULL,
    event_type    TEXT NOT NULL,
    event_version INTEGER NOT NULL DEFAULT 1,
    payload       JSONB NOT NULL,
    metadata      JSONB,
    created_at    TIMESTAMPTZ NOT NULL
);
CREATE TABLE snapshots (
    aggregate_id   TEXT NOT NULL,
    version        INTEGER NOT NULL,
    schema_version INTEGER NOT NULL,
    state          JSONB NOT NULL,
    created_at     TIMESTAMPTZ NOT NULL
);
CREATE TABLE projection_checkpoints (
    name       TEXT PRIMARY KEY,
    position   BIGINT NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
SQL

snapfile=$(mktemp "${TMPDIR:-/tmp}/gen-pg-bench-snap.XXXXXX")
trap 'rm -f "$snapfile"' EXIT

# The generator: events as COPY text on stdout; snapshots to $snapfile; checkpoints + facts
# to $facts.
python3 - "$events" "$seed" "$snapfile" "$facts" <<'PY' | psql_ -d "$db" -c "COPY events FROM STDIN"
import heapq, json, random, sys, time

N, SEED, SNAPFILE, FACTS = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
START = 1672531200  # 2023-01-01T00:00:00Z
SPAN_MS = 730 * 24 * 3600 * 1000
HOT, SNAP_EVERY, OPEN_CHAINS = 3, 500, 16
rng = random.Random(SEED)
rnd, rbits, rrange, expo = rng.random, rng.getrandbits, rng.randrange, rng.expovariate
FIRST = "Ana Luis Marta Jon Eva Igor Lena Omar Sara Tomas Nora Pablo Irene Hugo Clara Diego".split()
LAST = "Ruiz Garcia Novak Keller Silva Moreau Jansen Rossi Berg Costa Lopez Weber Dubois Nowak".split()
WORDS = ("invoice rent groceries salary refund utilities insurance travel hotel fuel subscription dinner "
         "transfer savings bonus repair books school medical gift tax coffee parking monthly").split()
CITIES = "Madrid Berlin Lyon Porto Milan Vienna Krakow Ghent Malmo Bilbao".split()
CUR = ["EUR", "EUR", "EUR", "USD", "GBP", "SEK", "PLN"]
CHANNELS = "sepa card cash swift instant".split()
CARRIERS = "DHL UPS GLS SEUR PostNL DPD".split()
SOURCES = "web web api api mobile batch backoffice".split()

def uuid4s(x):
    h = "%032x" % x
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[int(h[16], 16) & 3]}{h[17:20]}-{h[20:]}"

# --- plan: sizes per aggregate ---
n_agg = max(10, N // 10)
hot = max(1, min(100_000, N // 100))
rest = n_agg - HOT
n_ord = int(rest * 0.7)
n_acc = rest - n_ord
osz = [min(12, 2 + int(expo(1 / 3.0))) for _ in range(n_ord)]
remaining = N - HOT * hot - sum(osz)
while remaining < 4 * n_acc and osz:
    osz.pop(); remaining = N - HOT * hot - sum(osz)
raw = [(1.0 - rnd()) ** (-1 / 1.3) for _ in range(n_acc)]
scale = remaining / sum(raw)
cap = max(1, hot - 1)
asz = [max(1, min(cap, int(r * scale))) for r in raw]
diff = remaining - sum(asz)
while diff > 0:
    j = rrange(n_acc)
    if asz[j] < cap: asz[j] += 1; diff -= 1
while diff < 0:
    j = rrange(n_acc)
    if asz[j] > 1: asz[j] -= 1; diff += 1
kinds = ["h"] * HOT + ["a"] * n_acc + ["o"] * len(osz)
sizes = [hot] * HOT + asz + osz
n_agg = len(sizes)
assert sum(sizes) == N

# --- lifetimes on an abstract clock [0, 1), names by birth order ---
birth, rate = [0.0] * n_agg, [0.0] * n_agg
for a in range(n_agg):
    k, s = kinds[a], sizes[a]
    if k == "h": b = a * 1e-7; span = 1.0 - b
    elif k == "a": b = rnd() * (0.5 if s > 1000 else 0.95); span = (1.0 - b) * (0.5 + 0.5 * rnd())
    else: b = rnd() * 0.999; span = min(1.0 - b, 1e-5 + expo(1 / 0.0005))
    birth[a], rate[a] = b, s / span
names = [None] * n_agg
na = no = 0
for a in sorted(range(n_agg), key=birth.__getitem__):
    if kinds[a] == "o": no += 1; names[a] = f"order-{no}"
    else: na += 1; names[a] = f"account-{na}"
heap = [(birth[a], a) for a in range(n_agg)]
heapq.heapify(heap)
ver = [0] * n_agg
cur = [CUR[rrange(len(CUR))] for _ in range(n_agg)]

def new_chain():
    c = uuid4s(rbits(128))
    return [c, c, 2 + rrange(5), 0, f"user-{int(expo(1.0) * 4000) % 50000 + 1}", SOURCES[rrange(7)], []]
pool = [new_chain() for _ in range(OPEN_CHAINS)]

out = sys.stdout
buf = []
snaps = open(SNAPFILE, "w")
avg_gap = SPAN_MS / N
tms, last_s, prefix = 0, -1, ""
mid = N // 2
facts = {"events": N, "seed": SEED, "aggregates": n_agg}
v2_dep, v2_ord, snap_v2 = int(N * 0.6), int(N * 0.4), N // 2
for i in range(1, N + 1):
    t, a = heap[0]
    v = ver[a] = ver[a] + 1
    s = sizes[a]
    if v < s: heapq.heapreplace(heap, (t + expo(rate[a]), a))
    else: heapq.heappop(heap)
    tms += 1 + int(expo(1.0) * avg_gap)
    sec, ms = divmod(tms, 1000)
    if sec != last_s:
        last_s = sec
        prefix = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(START + sec))
    created = f"{prefix}.{ms:03d}+00"
    eid = uuid4s(rbits(128))
    name, c, k, ev = names[a], cur[a], kinds[a], 1
    if k != "o":
        if v == 1:
            fn, ln = FIRST[rrange(16)], LAST[rrange(14)]
            et = "AccountOpened"
            p = (f'{{"account_id":"{name}","owner":{{"name":"{fn} {ln}","email":"{fn.lower()}.{ln.lower()}{rrange(1000)}@example.com"}},'
                 f'"currency":"{c}","kind":"{"checking" if rnd() < 0.7 else "savings"}","branch":"BR-{rrange(1, 300):03d}","kyc_level":{rrange(1, 4)}}}')
        else:
            r = rnd()
            amt, bal = f"{rrange(100, 500000) / 100:.2f}", f"{rrange(0, 5000000) / 100:.2f}"
            desc = " ".join(WORDS[rrange(len(WORDS))] for _ in range(2 + rrange(5)))
            if r < 0.35:
                et = "MoneyDeposited"
                if i >= v2_dep:
                    ev = 2
                    p = (f'{{"amount":{{"value":"{amt}","currency":"{c}"}},"balance_after":"{bal}","channel":"{CHANNELS[rrange(5)]}",'
                         f'"reference":"DEP-{rrange(10**9):09d}","description":"{desc}"}}')
                else:
                    p = (f'{{"amount":"{amt}","currency":"{c}","balance_after":"{bal}","channel":"{CHANNELS[rrange(5)]}",'
                         f'"reference":"DEP-{rrange(10**9):09d}","description":"{desc}"}}')
            elif r < 0.65:
                et = "MoneyWithdrawn"
                p = (f'{{"amount":"{amt}","currency":"{c}","balance_after":"{bal}","channel":"{CHANNELS[rrange(5)]}",'
                     f'"terminal":"ATM-{rrange(10**6):06d}","location":"{CITIES[rrange(10)]}","description":"{desc}"}}')
            elif r < 0.95:
                et = "TransferSent" if r < 0.80 else "TransferReceived"
                other = "to_account" if r < 0.80 else "from_account"
                p = (f'{{"transfer_id":"{uuid4s(rbits(128))}","{other}":"account-{rrange(1, na + 1)}","amount":"{amt}",'
                     f'"currency":"{c}","balance_after":"{bal}","memo":"{desc}"}}')
            else:
                et = "AddressChanged"
                p = (f'{{"street":"{LAST[rrange(14)]} Street {rrange(1, 300)}","city":"{CITIES[rrange(10)]}",'
                     f'"postal_code":"{rrange(10000, 99999)}","verified":{"true" if rnd() < 0.5 else "false"}}}')
    else:
        sku, qty, price = f"SKU-{rrange(100000):05d}", 1 + rrange(5), f"{rrange(199, 25000) / 100:.2f}"
        if v == 1:
            et = "OrderPlaced"
            ev = 2 if i >= v2_ord else 1
            p = (f'{{"order_id":"{name}","customer_id":"account-{rrange(1, na + 1)}","lines":[{{"sku":"{sku}","qty":{qty},'
                 f'"unit_price":"{price}"}}],"currency":"{c}","channel":"{SOURCES[rrange(7)]}","shipping_city":"{CITIES[rrange(10)]}"}}')
        elif v == s:
            if s >= 4 and rnd() < 0.9:
                et = "OrderDelivered"
                p = f'{{"order_id":"{name}","signed_by":"{FIRST[rrange(16)]} {LAST[rrange(14)]}","proof":"photo-{rrange(10**8):08d}.jpg"}}'
            else:
                et = "OrderCancelled"
                p = (f'{{"order_id":"{name}","reason":"{["customer_request", "payment_failed", "out_of_stock"][rrange(3)]}",'
                     f'"refund":{{"value":"{price}","currency":"{c}"}},"cancelled_by":"user-{rrange(1, 50000)}"}}')
        elif s >= 4 and v == s - 1:
            et = "OrderShipped"
            p = (f'{{"order_id":"{name}","shipment_id":"SHP-{rrange(10**8):08d}","carrier":"{CARRIERS[rrange(6)]}",'
                 f'"tracking":"JD{rbits(60):018d}","parcels":{1 + rrange(3)},"destination":"{CITIES[rrange(10)]}"}}')
        elif s >= 4 and v == s - 2:
            et = "OrderPaid"
            p = (f'{{"order_id":"{name}","payment_id":"{uuid4s(rbits(128))}","amount":"{price}","currency":"{c}",'
                 f'"method":"card","card_last4":"{rrange(10000):04d}"}}')
        else:
            et = "ItemAdded"
            p = (f'{{"order_id":"{name}","line_id":{v},"sku":"{sku}","qty":{qty},"unit_price":"{price}",'
                 f'"currency":"{c}","tax_rate":"0.{rrange(5, 25):02d}"}}')
    p = f'{p[:-1]},"occurred_at":"{created[:10]}T{created[11:23]}Z"}}'
    for _ in range(4):
        ci = rrange(len(pool)); ch = pool[ci]
        if a not in ch[6]: break
    else:
        ch = new_chain(); pool.append(ch); ci = len(pool) - 1
    meta = f'{{"correlationId":"{ch[0]}","causationId":"{ch[1]}","userId":"{ch[4]}","source":"{ch[5]}"}}'
    if i == mid:
        facts["sample_correlation_id"] = ch[0]; facts["middle_id"] = i; facts["middle_created_at"] = created
    ch[1] = eid; ch[3] += 1; ch[6].append(a)
    if ch[3] >= ch[2]:
        last = pool.pop()
        if ci < len(pool): pool[ci] = last
        if len(pool) < OPEN_CHAINS: pool.append(new_chain())
    # COPY text format: JSON here never contains tabs, newlines or backslashes.
    buf.append(f"{i}\t{eid}\t{name}\t{v}\t{et}\t{ev}\t{p}\t{meta}\t{created}\n")
    if v % SNAP_EVERY == 0:
        sv = 2 if i >= snap_v2 else 1
        state = f'{{"id":"{name}","balance":"{rrange(0, 5000000) / 100:.2f}","currency":"{c}","last_event":"{eid}"{"," + chr(34) + "events_applied" + chr(34) + ":" + str(v) if sv == 2 else ""}}}'
        snaps.write(f"{name}\t{v}\t{sv}\t{state}\t{created}\n")
    if len(buf) >= 20000:
        out.write("".join(buf)); buf.clear()
out.write("".join(buf))
snaps.close()
facts["head"] = N
facts["hot_streams"] = [{"aggregate_id": f"account-{j + 1}", "events": hot} for j in range(HOT)]
big = sorted(range(n_agg), key=lambda x: -sizes[x])[:10]
facts["biggest_streams"] = [{"aggregate_id": names[x], "events": sizes[x]} for x in big]
facts["checkpoints"] = {"account_balances": N, "order_summary": N - 1, "fraud_detection": N - 5000 if N > 5000 else 0,
                        "monthly_statements": N // 2, "search_index": N - 250_000 if N > 250_000 else N // 4}
facts["queries"] = {
    "first_100_streams": "SELECT aggregate_id, count(*), max(version) FROM events GROUP BY aggregate_id ORDER BY aggregate_id LIMIT 100",
    "page_500_middle_of_hot_stream": f"SELECT * FROM events WHERE aggregate_id = 'account-1' AND version > {hot // 2} ORDER BY version LIMIT 500",
    "log_page_middle": f"SELECT * FROM events WHERE id > {mid} ORDER BY id LIMIT 500",
    "version_at_timestamp": f"SELECT max(version) FROM events WHERE aggregate_id = 'account-1' AND created_at <= '{facts['middle_created_at']}'",
    "trace": f"SELECT * FROM events WHERE metadata->>'correlationId' = '{facts['sample_correlation_id']}' ORDER BY id",
    "correlation_index": "CREATE INDEX events_correlation_idx ON events ((metadata->>'correlationId'))",
}
json.dump(facts, open(FACTS, "w"), indent=1)
PY
t1=$(date +%s.%N)

psql_ -d "$db" -c "COPY snapshots FROM STDIN" <"$snapfile"
cps=$(python3 -c "import json,sys; f=json.load(open(sys.argv[1])); print(','.join(f\"('{k}',{v},'2025-01-01T00:00:00Z')\" for k,v in f['checkpoints'].items()))" "$facts")
psql_ -d "$db" -c "INSERT INTO projection_checkpoints VALUES $cps"
t2=$(date +%s.%N)
# The guide's keys and indexes, built after the load (much faster than maintaining them row by row).
psql_ -d "$db" <<'SQL'
CREATE SEQUENCE events_id_seq OWNED BY events.id;
DO $$ BEGIN PERFORM setval('events_id_seq', (SELECT max(id) FROM events)); END $$;
ALTER TABLE events ALTER COLUMN id SET DEFAULT nextval('events_id_seq');
ALTER TABLE events ADD PRIMARY KEY (id);
ALTER TABLE events ADD CONSTRAINT events_event_id_key UNIQUE (event_id);
ALTER TABLE events ADD CONSTRAINT events_aggregate_id_version_key UNIQUE (aggregate_id, version);
CREATE INDEX events_created_at_idx ON events (created_at);
ALTER TABLE snapshots ADD PRIMARY KEY (aggregate_id, version);
SQL
if [ "$corr_index" = 1 ]; then
  psql_ -d "$db" -c "CREATE INDEX events_correlation_idx ON events ((metadata->>'correlationId'))"
fi
t3=$(date +%s.%N)
psql_ -d "$db" -c "ANALYZE"
t4=$(date +%s.%N)
size=$(psql -X -At -d "$db" -c "SELECT pg_size_pretty(pg_database_size(current_database()))")
counts=$(psql -X -At -d "$db" -c "SELECT (SELECT count(*) FROM events) || ' events, ' || (SELECT count(DISTINCT aggregate_id) FROM snapshots) || ' snapshotted streams, ' || (SELECT count(*) FROM snapshots) || ' snapshots'")
awk -v a="$t0" -v b="$t1" -v c="$t2" -v d="$t3" -v e="$t4" -v s="$size" -v n="$counts" -v db="$db" 'BEGIN {
  printf "gen-pg-bench.sh: %s: %s, %s; generate+COPY %.1fs, snapshots+checkpoints %.1fs, indexes %.1fs, ANALYZE %.1fs\n", db, n, s, b-a, c-b, d-c, e-d }' >&2
echo "gen-pg-bench.sh: facts in $facts" >&2
