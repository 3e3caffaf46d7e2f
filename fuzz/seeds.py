#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets (fuzz/corpus/TARGET/), except
`sqlite_store`'s, which tests/fixtures/bad/generate.py writes. Payloads and metadata are
taken from the committed fixtures; protocol messages are encoded here by hand. Standard
library only; deterministic."""

import os
import sqlite3
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
FIXTURES = os.path.join(ROOT, "tests", "fixtures")


def write(target, seeds):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    for name in os.listdir(d):
        os.remove(os.path.join(d, name))
    for i, seed in enumerate(seeds):
        if isinstance(seed, str):
            seed = seed.encode()
        with open(os.path.join(d, f"seed-{i:03}"), "wb") as f:
            f.write(seed)


def fixture_rows(db, sql, limit=6):
    conn = sqlite3.connect(f"file:{os.path.join(FIXTURES, db)}?mode=ro", uri=True)
    rows = [r for r in conn.execute(sql + f" LIMIT {limit}")]
    conn.close()
    return rows


def as_bytes(v):
    return v if isinstance(v, bytes) else str(v).encode()


ES_STATES = [as_bytes(r[0]) for r in fixture_rows("eventsourcing/es_sqlite.db", "SELECT state FROM stored_events")]
EMMETT = fixture_rows("emmett/emmett.db", "SELECT message_data, message_metadata FROM emt_messages")
GUIDE = fixture_rows("guide/guide_first.db", "SELECT payload, metadata FROM events")

METADATA_CASES = [
    '{"correlation_id": "c-1", "causation_id": "e-0", "user": "ann"}',
    '{"correlationId": "c1", "causationId": 7}',
    '{"$correlationId": "c2", "$causationId": "e1", "x": [1, {"y": 2}]}',
    '{"headers": {"correlation_id": "c3"}, "metadata": {"causationId": "e3"}}',
    '{"correlation_id": "", "correlationId": "second", "CausationId": 1.5e3}',
    '{"correlation_id": "esc\\u0061ped \\"q\\"", "causation_id": -12}',
    '{"correlation_id": "dup", "correlation_id": "last"}',
    '{"correlation_id": 18446744073709551616}',
    '{"correlation_id": 12.5, "causation_id": -0}',
    '{"metadata": {"correlation_id": "a"}, "metadata": {"correlation_id": "b"}}',
]


def payload():
    seeds = []
    for i, state in enumerate(ES_STATES):
        seeds.append(bytes([1]) + state)  # eventsourcing JSON
    for data, meta in EMMETT + GUIDE:
        seeds.append(bytes([0]) + as_bytes(data))
        if meta is not None:
            seeds.append(bytes([0]) + as_bytes(meta))
    seeds += [
        b"\x01" + b'{"a": {"_type_": "uuid_hex", "_data_": "2bb265fca5f0496289c86006652c99ad"}, "b": {"_type_": "decimal_str", "_data_": "1.5E+3"}}',
        b"\x01" + b'{"_type_": "x", "_data_": {"_type_": "y", "_data_": [1, {"_type_": "z", "_data_": null}]}}',
        b"\x01" + b'{"\\u005ftype_": "x", "_data_": 1}',
        b"\x00" + b'{"a": 1e400}',
        b"\x00" + b'{"a": 1, "a": 2}',
        b"\x00" + b"[" * 130 + b"]" * 130,
        b"\x02" + b"\x00\xff binary",
        b"\x00" + b'"line\\nbreak"',
    ]
    write("payload", seeds)


def correlation_scan():
    seeds = list(METADATA_CASES)
    seeds += [as_bytes(m) for _, m in EMMETT if m is not None]
    seeds += ["$.trace.corr\x00" + '{"trace": {"corr": "c9"}}', "$.a[1].b\x00" + '{"a": [0, {"b": 2}]}']
    write("correlation_scan", seeds)


def timestamp():
    seeds = [
        "2024-01-02T11:33:24Z", "2024-01-02 11:33:24", "2024-01-02T11:33:24+00:00",
        "2024-01-02T12:33:24+01:00", "2024-01-02 11:33:24.123456", "2024-01-15T11:10:25.126492+00:00",
        "2024-01-02", "2024-01-02 12:33:24+01:00", "2016-12-31T23:59:60Z", "1700000000",
        "1700000000123", "1700000000123456", "-1.5", "2025-03-01T09:26:48.168819",
        "2024-01-02T11:33:24.123456789Z", "+002024-01-02T11:33:24Z",
    ]
    seeds.append(struct.pack("<d", 1.7e9) + b"2024-01-02")
    write("timestamp", seeds)


MAPPING = """[events]
table = "journal"
position = "seq"
stream_id = "stream"
version = "rev"
event_type = "kind"
payload = "body"
metadata = "headers"
recorded_at = "at_ms"
recorded_at_format = "unix_millis"
schema_version_path = "payload:$.v"
correlation_path = "$.trace.corr"
causation_path = "$.trace.cause"
category_separator = "-"
where = "deleted = 0"

[snapshots]
table = "snaps"
stream_id = "stream"
version = "rev"
state = "body"

[[checkpoints]]
table = "cps"
name = "name"
position = "pos"
"""


def mapping():
    schema = ("journal: seq, stream, rev, kind, body, headers, at_ms, deleted\n"
              "snaps: stream, rev, body\ncps: name, pos\n---\n")
    seeds = [
        schema + MAPPING,
        schema + MAPPING.replace("unix_millis", "auto").replace('"rev"', '"rowid"', 1),
        schema + '[events]\ntable = "journal"\nposition = "rowid"\nstream_id = "stream"\nevent_type = "kind"\npayload = "body"\nstream_id_encoding = "uuid_blob"\npayload_encoding = "eventsourcing"\n',
        "events: global_position, aggregate_id, version, event_type, payload, metadata, created_at\n---\n",
        "events: id, aggregate_id, event_type, payload, metadata, created_at\n---\n",
        "stored_events: originator_id, originator_version, topic, state\nstored_snapshots: originator_id, originator_version, topic, state\ntracking: application_name, notification_id\n---\n",
        "bank_events: id, originator_id, originator_version, topic, state\nbank_snapshots: originator_id, originator_version, topic, state\nshop_events: id, originator_id, originator_version, topic, state\n---\n",
        "emt_messages: stream_id, stream_position, partition, message_kind, message_data, message_metadata, message_schema_version, message_type, message_id, is_archived, global_position, created\nemt_subscriptions: subscription_id, last_processed_position\n---\n",
        "ledger: seq, acct, rev, kind, body, meta, at\n---\n",
    ]
    write("mapping", seeds)


def location():
    seeds = [
        "kafka://127.0.0.1:9093", "KAFKA://a:1, b ,c:3/?topics=orders,payments&client_id=ops&timeout=4&tls=false",
        "umadb://secretkey@127.0.0.1:50051", "umadb://:k@127.0.0.1:1?api_key=zz&streams=all",
        "umadb://h:1?streams=order:,account:&single=show&tracking=a,b&correlation=%24.c",
        "esdb://admin:changeit@localhost:2113?tls=false&snapshotStream=snap-{stream}&streamList=scan",
        "kurrentdb+discover://ops:s3cret@a:2113,b:2113/?tls=true", "kdb://h",
        "postgres://reader@db:5432/es?sslmode=require#App", "postgresql://u:old@h/d",
        "postgres://u@[::1]:5432,h2:5433/db?target_session_attrs=read-write&password=x",
        "host=h dbname=es user=u password='it\\'s' sslmode=verify-full",
        "host=localhost port=5432 dbname=postgres user=reader sslrootcert=/tmp/c.pem",
        "/tmp/store.db", "store.db#App", "file.db",
    ]
    write("location", seeds)


def i16(v): return struct.pack(">h", v)
def i32(v): return struct.pack(">i", v)
def i64(v): return struct.pack(">q", v)
def kstr(s): return i16(len(s)) + s.encode() if s is not None else i16(-1)


def kafka_groups():
    metadata = i32(2) + i32(1) + kstr("broker-1") + i32(9092) + kstr(None) + i32(2) + kstr("broker-2") + i32(9093) + kstr("rack-a")
    list_groups = i32(0) + i16(0) + i32(2) + kstr("billing") + kstr("consumer") + kstr("audit") + kstr("")
    find = i32(0) + i16(0) + kstr(None) + i32(1) + kstr("broker-1") + i32(9092)
    find_err = i32(0) + i16(15) + kstr("not available")
    fetch = (i32(0) + i32(1) + kstr("orders") + i32(2)
             + i32(0) + i64(41) + kstr("") + i16(0)
             + i32(1) + i64(-1) + kstr(None) + i16(3) + i16(0))
    header = i32(1) + metadata
    write("kafka_groups", [metadata, list_groups, find, find_err, fetch, header])


# CRC-32C (Castagnoli), for Kafka record batches.
_T = []
for n in range(256):
    c = n
    for _ in range(8):
        c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
    _T.append(c)


def crc32c(data):
    c = 0xFFFFFFFF
    for b in data:
        c = _T[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


def varint(v):
    v = (v << 1) ^ (v >> 63)  # zigzag
    out = b""
    while True:
        b = v & 0x7F
        v >>= 7
        if v:
            out += bytes([b | 0x80])
        else:
            return out + bytes([b])


def vbytes(b):
    return varint(-1) if b is None else varint(len(b)) + b


def record(offset_delta, ts_delta, key, value, headers):
    body = bytes([0]) + varint(ts_delta) + varint(offset_delta) + vbytes(key) + vbytes(value)
    body += varint(len(headers))
    for k, v in headers:
        body += vbytes(k.encode()) + vbytes(v)
    return varint(len(body)) + body


def batch(base_offset, records, first_ts=1_700_000_000_000, attributes=0):
    recs = b"".join(records)
    after_crc = (i16(attributes) + i32(len(records) - 1) + i64(first_ts) + i64(first_ts + 10)
                 + i64(-1) + i16(-1) + i32(-1) + i32(len(records)) + recs)
    crc = struct.pack(">I", crc32c(after_crc))
    rest = i32(0) + bytes([2]) + crc + after_crc  # partition leader epoch, magic, crc
    return i64(base_offset) + i32(len(rest)) + rest


def kafka_record():
    data, meta = EMMETT[0]
    r1 = record(0, 0, b"order-1", as_bytes(data), [("ce_type", b"OrderPlaced"), ("correlationId", b"c-1"), ("eventVersion", b"2")])
    r2 = record(1, 5, b"order-1", None, [("type", b"OrderDeleted")])
    r3 = record(2, 9, b"\xff\x00", b"\x00\x01binary", [("bin", b"\xff"), ("schemaVersion", b"x"), ("id", b"e-3")])
    r4 = record(3, -3, None, b'{"a": 1}', [])
    write("kafka_record", [batch(0, [r1, r2]), batch(10, [r3]) + batch(11, [r4]), batch(7, [r1, r2, r3, r4])])


def pb_varint(v):
    out = b""
    while True:
        b = v & 0x7F
        v >>= 7
        if v:
            out += bytes([b | 0x80])
        else:
            return out + bytes([b])


def pb_field(num, wire, payload):
    key = pb_varint((num << 3) | wire)
    if wire == 0:
        return key + pb_varint(payload)
    return key + pb_varint(len(payload)) + payload


def pb_str(num, s):
    return pb_field(num, 2, s if isinstance(s, bytes) else s.encode())


def uma_event(etype, tags, data, uuid, metadata):
    out = pb_str(1, etype) + b"".join(pb_str(2, t) for t in tags) + pb_str(3, data) + pb_str(4, uuid)
    for k, v in metadata:
        out += pb_field(5, 2, pb_str(1, k) + pb_str(2, v))
    return out


def sequenced(position, event, tracking=None):
    out = pb_field(1, 0, position) + pb_field(2, 2, event)
    if tracking:
        out += pb_field(3, 2, pb_str(1, tracking[0]) + pb_field(2, 0, tracking[1]))
    return out


def umadb():
    data, meta = EMMETT[0]
    e1 = uma_event("OrderPlaced", ["order:1", "customer:7"], as_bytes(data), "e-1",
                   [("correlationId", "c-1"), ("recorded_at", "2024-01-02T11:33:24Z"), ("schema_version", "2")])
    e2 = uma_event("OrderShipped", ["order:1"], b'{"x": 1}', "", [("timestamp", "not a time"), ("schemaVersion", "v2")])
    e3 = uma_event("Tracked", [], b"\xff", "e-3", [])
    resp = (pb_field(1, 2, sequenced(1, e1)) + pb_field(1, 2, sequenced(2, e2, ("projection", 1)))
            + pb_field(1, 2, sequenced(3, e3)) + pb_field(2, 0, 3))
    write("umadb", [b"\x00" + resp, b"\x01" + resp, b"\x02" + resp, b"\x03" + pb_field(1, 2, sequenced(5, e1))])


if __name__ == "__main__":
    payload()
    correlation_scan()
    timestamp()
    mapping()
    location()
    kafka_groups()
    kafka_record()
    umadb()
