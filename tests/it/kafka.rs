//! Kafka topics as an event store, against a REAL Kafka-protocol broker (Tansu on loopback,
//! see `tansu_server.rs`), the test data written by a real producer (rskafka's produce
//! path): a 6-partition topic keyed by aggregate id with headers, a second topic sharing a
//! key, a tombstone and a non-JSON value.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use eventscope::core::{Direction, EventSource, LogQuery, StreamQuery};
use eventscope::source::kafka::KafkaSource;
use rskafka::client::partition::{Compression, OffsetAt, UnknownTopicHandling};
use rskafka::client::{Client, ClientBuilder};
use rskafka::record::Record;

use crate::tansu_server::{TansuServer, tansu_or_skip};

const BASE_MS: i64 = 1_767_225_600_000; // 2026-01-01T00:00:00Z

/// One record as produced, with where the broker put it.
#[derive(Clone, Debug)]
pub(crate) struct Sent {
    pub(crate) topic: &'static str,
    pub(crate) partition: i32,
    pub(crate) offset: i64,
    pub(crate) record: Record,
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

async fn client(server: &TansuServer) -> Client {
    ClientBuilder::new(vec![server.address()])
        .client_id("eventscope-test-producer")
        .build()
        .await
        .unwrap()
}

fn record(key: Option<&str>, value: Option<&[u8]>, headers: &[(&str, &str)], ms: i64) -> Record {
    Record {
        key: key.map(|k| k.as_bytes().to_vec()),
        value: value.map(<[u8]>::to_vec),
        headers: headers
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.as_bytes().to_vec()))
            .collect(),
        timestamp: DateTime::from_timestamp_millis(ms).unwrap(),
    }
}

/// Produces each partition's records in ONE batch (the case where Tansu's
/// `ListOffsets(latest)` under-reports) and returns them with their offsets.
async fn produce(
    client: &Client,
    topic: &'static str,
    by_partition: BTreeMap<i32, Vec<Record>>,
) -> Vec<Sent> {
    let mut sent = Vec::new();
    for (partition, records) in by_partition {
        let pc = client
            .partition_client(topic, partition, UnknownTopicHandling::Retry)
            .await
            .unwrap();
        let offsets = pc
            .produce(records.clone(), Compression::NoCompression)
            .await
            .unwrap();
        assert_eq!(offsets.len(), records.len());
        for (offset, record) in offsets.into_iter().zip(records) {
            sent.push(Sent {
                topic,
                partition,
                offset,
                record,
            });
        }
    }
    sent
}

/// `orders` (6 partitions): aggregates order-0 … order-11 on partition k % 6, rounds of
/// events at shared timestamps (ties across partitions), order-5 with a non-JSON value,
/// order-7 ending in a tombstone; `payments` (1 partition) with a key `orders` has too.
fn populate(server: &TansuServer) -> Vec<Sent> {
    runtime().block_on(async {
        let client = client(server).await;
        let controller = client.controller_client().unwrap();
        controller
            .create_topic("orders", 6, 1, 5_000)
            .await
            .unwrap();
        controller
            .create_topic("payments", 1, 1, 5_000)
            .await
            .unwrap();
        let mut orders: BTreeMap<i32, Vec<Record>> = BTreeMap::new();
        let types = ["OrderPlaced", "ItemAdded", "OrderPaid"];
        for (round, event_type) in types.iter().enumerate() {
            for k in 0..12 {
                if round == 2 && k % 2 == 1 {
                    continue;
                }
                let round_ms = BASE_MS + 1_000 * i64::try_from(round).unwrap();
                let key = format!("order-{k}");
                let id = format!("evt-{k}-{round}");
                let cause = format!("evt-{k}-{}", round.saturating_sub(1));
                let correlation = format!("corr-{k}");
                let payload = format!(r#"{{"order":{k},"round":{round},"note":"ü"}}"#);
                let mut headers = vec![
                    ("ce_type", *event_type),
                    ("id", id.as_str()),
                    ("correlationId", correlation.as_str()),
                    ("eventVersion", "1"),
                ];
                if round > 0 {
                    headers.push(("causationId", cause.as_str()));
                }
                orders.entry(k % 6).or_default().push(record(
                    Some(&key),
                    Some(payload.as_bytes()),
                    &headers,
                    round_ms,
                ));
            }
        }
        orders.entry(5).or_default().push(record(
            Some("order-5"),
            Some(&[0x00, 0x9f, 0x92, 0x96, 0xff]),
            &[("type", "RawBlob")],
            BASE_MS + 3_000,
        ));
        orders
            .entry(1)
            .or_default()
            .push(record(Some("order-7"), None, &[], BASE_MS + 3_500));
        let mut sent = produce(&client, "orders", orders).await;
        let payments = BTreeMap::from([(
            0,
            vec![
                record(
                    Some("order-1"),
                    Some(br#"{"amount": 10}"#),
                    &[("type", "PaymentReceived")],
                    BASE_MS + 1_000,
                ),
                record(
                    Some("pay-9"),
                    Some(br#"{"amount": 3}"#),
                    &[("event_type", "PaymentReceived")],
                    BASE_MS + 2_500,
                ),
            ],
        )]);
        sent.extend(produce(&client, "payments", payments).await);
        sent
    })
}

pub(crate) fn started(test: &str) -> Option<(TansuServer, Vec<Sent>)> {
    let command = tansu_or_skip(test)?;
    let server = TansuServer::start(&command);
    let sent = populate(&server);
    Some((server, sent))
}

fn stream_id(sent: &Sent) -> String {
    let key = sent
        .record
        .key
        .as_deref()
        .map(|k| String::from_utf8(k.to_vec()).unwrap())
        .unwrap_or_default();
    format!("{}/{key}", sent.topic)
}

/// The merged log the source must show: by timestamp, ties by topic, partition, offset
/// (each partition's timestamps here never go backwards).
fn expected_log(sent: &[Sent]) -> Vec<(String, i32, i64)> {
    let mut log: Vec<&Sent> = sent.iter().collect();
    log.sort_by_key(|s| {
        (
            s.record.timestamp.timestamp_millis(),
            s.topic,
            s.partition,
            s.offset,
        )
    });
    log.iter()
        .map(|s| (s.topic.to_owned(), s.partition, s.offset))
        .collect()
}

fn place(event: &eventscope::core::Event) -> (String, i32, i64) {
    let metadata = event.metadata.as_json().unwrap();
    let kafka = &metadata["kafka"];
    (
        kafka["topic"].as_str().unwrap().to_owned(),
        i32::try_from(kafka["partition"].as_i64().unwrap()).unwrap(),
        kafka["offset"].as_i64().unwrap(),
    )
}

#[test]
fn kafka_topics_keys_and_merged_log() {
    let Some((server, sent)) = started("kafka_topics_keys_and_merged_log") else {
        return;
    };
    let source = KafkaSource::open(&server.url("")).unwrap();
    let topics: Vec<(String, usize)> = source
        .topics()
        .iter()
        .map(|t| (t.name.clone(), t.partitions.len()))
        .collect();
    assert_eq!(
        topics,
        [("orders".to_owned(), 6), ("payments".to_owned(), 1)]
    );
    let info = source.info().unwrap();
    assert_eq!(info.layout, "kafka");
    assert!(
        info.layout_detail.contains("orders (6 partitions)")
            && info.layout_detail.contains("payments (1 partition)"),
        "{}",
        info.layout_detail
    );
    assert_eq!(info.event_count, Some(sent.len() as u64));
    assert_eq!(info.head_position, sent.len() as u64);
    assert_eq!(info.stream_count, 14);
    assert_eq!(
        source.categories().unwrap(),
        [("orders".to_owned(), 12), ("payments".to_owned(), 2)]
    );

    // Every partition was read to the end of its one batched produce: the high watermarks
    // come from the fetch responses. What the broker says to ListOffsets(latest) is logged:
    // a client trusting it would stop short on Tansu.
    let mut per_partition: BTreeMap<(String, i32), i64> = BTreeMap::new();
    for s in &sent {
        *per_partition
            .entry((s.topic.to_owned(), s.partition))
            .or_default() += 1;
    }
    let marks: BTreeMap<(String, i32), i64> = source
        .high_watermarks()
        .unwrap()
        .into_iter()
        .map(|(t, p, m)| ((t, p), m))
        .collect();
    assert_eq!(marks, per_partition);
    let listed = runtime().block_on(async {
        let client = client(&server).await;
        let pc = client
            .partition_client("orders", 0, UnknownTopicHandling::Error)
            .await
            .unwrap();
        pc.get_offset(OffsetAt::Latest).await.unwrap()
    });
    eprintln!(
        "orders/0: ListOffsets(latest) = {listed}, fetch high watermark = {}",
        marks[&("orders".to_owned(), 0)]
    );

    // A key's records: exactly what was produced, in offset order, versions 1…n.
    for k in 0..12 {
        let id = format!("orders/order-{k}");
        let produced: Vec<&Sent> = sent.iter().filter(|s| stream_id(s) == id).collect();
        let events = source
            .read_stream(&id, None, Direction::Forwards, 100)
            .unwrap();
        assert_eq!(events.len(), produced.len(), "{id}");
        let stream = source.stream(&id).unwrap().unwrap();
        assert_eq!(stream.event_count, produced.len() as u64);
        assert_eq!(stream.category, "orders");
        for (i, (event, sent)) in events.iter().zip(&produced).enumerate() {
            assert_eq!(event.stream_id, id);
            assert_eq!(event.stream_version, i as u64 + 1);
            assert_eq!(
                place(event),
                ("orders".to_owned(), sent.partition, sent.offset)
            );
            assert_eq!(event.recorded_at, Some(sent.record.timestamp));
            let headers = &event.metadata.as_json().unwrap()["headers"];
            for (name, value) in &sent.record.headers {
                assert_eq!(
                    headers[name].as_str().unwrap().as_bytes(),
                    value.as_slice(),
                    "{id} header {name}"
                );
            }
            assert_eq!(
                headers.as_object().unwrap().len(),
                sent.record.headers.len()
            );
            match &sent.record.value {
                Some(value) => {
                    assert_eq!(event.payload.raw_bytes(), Some(value.as_slice()), "{id}");
                    let expected_type = sent
                        .record
                        .headers
                        .get("ce_type")
                        .or_else(|| sent.record.headers.get("type"))
                        .map(|t| String::from_utf8(t.clone()).unwrap())
                        .unwrap();
                    assert_eq!(event.event_type, expected_type);
                }
                None => {
                    assert!(event.payload.is_empty());
                    assert_eq!(event.event_type, "(tombstone)");
                }
            }
            if sent.record.headers.contains_key("ce_type") {
                assert_eq!(
                    event.correlation_id.as_deref(),
                    Some(format!("corr-{k}").as_str())
                );
                assert_eq!(event.schema_version, Some(1));
                assert_eq!(
                    event.event_id.as_deref(),
                    Some(format!("evt-{k}-{}", i.min(2)).as_str())
                );
            }
        }
        // Backwards from the newest, and a page from a version.
        let newest = source
            .read_stream(&id, None, Direction::Backwards, 1)
            .unwrap();
        assert_eq!(newest[0].stream_version, produced.len() as u64);
        let from_two = source
            .read_stream(&id, Some(2), Direction::Forwards, 1)
            .unwrap();
        assert_eq!(from_two[0].stream_version, 2);
        assert_eq!(place(&from_two[0]).2, produced[1].offset);
    }

    // The tombstone and the non-JSON value are shown as such.
    let last_of_7 = source
        .read_stream("orders/order-7", None, Direction::Backwards, 1)
        .unwrap();
    assert_eq!(
        last_of_7[0].metadata.as_json().unwrap()["kafka"]["tombstone"],
        true
    );
    let last_of_5 = source
        .read_stream("orders/order-5", None, Direction::Backwards, 1)
        .unwrap();
    assert_eq!(last_of_5[0].event_type, "RawBlob");
    assert!(!last_of_5[0].payload.is_json());
    assert!(last_of_5[0].payload.as_json().is_none());

    // A bare key opens its stream only when one topic has it.
    assert_eq!(
        source.stream("pay-9").unwrap().unwrap().stream_id,
        "payments/pay-9"
    );
    assert!(source.stream("order-1").unwrap().is_none());
    assert_eq!(
        source
            .read_stream("payments/order-1", None, Direction::Forwards, 10)
            .unwrap()[0]
            .event_type,
        "PaymentReceived"
    );

    // The merged log: every record once, by timestamp, ties by topic, partition, offset.
    let log = source
        .read_log(&LogQuery {
            limit: 1_000,
            ..LogQuery::default()
        })
        .unwrap();
    let shown: Vec<(String, i32, i64)> = log.iter().map(place).collect();
    assert_eq!(shown, expected_log(&sent));
    let positions: Vec<u64> = log.iter().map(|e| e.global_position).collect();
    assert_eq!(positions, (1..=sent.len() as u64).collect::<Vec<_>>());
    // Backwards pages and filters are answered from the index.
    let newest = source.read_log(&LogQuery::newest(3)).unwrap();
    let newest: Vec<(String, i32, i64)> = newest.iter().map(place).collect();
    let mut tail: Vec<_> = expected_log(&sent).into_iter().rev().take(3).collect();
    assert_eq!(newest, std::mem::take(&mut tail));
    let paid = source
        .read_log(&LogQuery {
            event_types: vec!["OrderPaid".to_owned()],
            limit: 100,
            ..LogQuery::default()
        })
        .unwrap();
    assert_eq!(paid.len(), 6);
    assert!(paid.iter().all(|e| e.event_type == "OrderPaid"));
    let payments = source
        .read_log(&LogQuery {
            stream_prefix: Some("payments/".to_owned()),
            limit: 100,
            ..LogQuery::default()
        })
        .unwrap();
    assert_eq!(payments.len(), 2);
    assert_eq!(
        source
            .version_at(
                "orders/order-0",
                DateTime::<Utc>::from_timestamp_millis(BASE_MS + 1_500).unwrap()
            )
            .unwrap(),
        Some(2)
    );
    let page = source
        .list_streams(&StreamQuery {
            category: Some("payments".to_owned()),
            limit: 10,
            ..StreamQuery::default()
        })
        .unwrap();
    let ids: Vec<&str> = page.iter().map(|s| s.stream_id.as_str()).collect();
    assert_eq!(ids, ["payments/order-1", "payments/pay-9"]);
    let types = source.event_types().unwrap();
    assert_eq!(
        types,
        [
            "(tombstone)",
            "ItemAdded",
            "OrderPaid",
            "OrderPlaced",
            "PaymentReceived",
            "RawBlob"
        ]
    );

    // New records are picked up incrementally and appended after what was shown.
    let before = source.head().unwrap();
    runtime().block_on(async {
        let client = client(&server).await;
        produce(
            &client,
            "orders",
            BTreeMap::from([(
                0,
                vec![
                    record(Some("order-0"), Some(b"{}"), &[("type", "Late")], BASE_MS),
                    record(Some("order-12"), Some(b"{}"), &[("type", "New")], BASE_MS),
                ],
            )]),
        )
        .await;
    });
    assert_eq!(source.head().unwrap(), before + 2);
    let late = source
        .read_stream("orders/order-0", None, Direction::Backwards, 1)
        .unwrap();
    assert_eq!(late[0].event_type, "Late");
    assert_eq!(late[0].stream_version, 4);
    assert_eq!(late[0].global_position, before + 1);
    assert!(source.stream("orders/order-12").unwrap().is_some());
}

#[test]
fn kafka_broker_killed_mid_read_is_a_clear_error() {
    let Some((mut server, sent)) = started("kafka_broker_killed_mid_read_is_a_clear_error") else {
        return;
    };
    let source: Arc<dyn EventSource> =
        // 10 s: reads on a loaded test machine stay inside it; the kill ends one at once.
        Arc::new(KafkaSource::open(&server.url("?timeout=10")).unwrap());
    assert_eq!(source.head().unwrap(), sent.len() as u64);
    let started = std::time::Instant::now();
    let error = crate::common::error_of_read_when_killed(&source, sent.len() as u64, || {
        server.kill();
    });
    assert!(error.contains("Kafka"), "{error}");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(30),
        "took {:?}",
        started.elapsed()
    );
    // Later calls fail the same way, without a panic.
    let again = source
        .read_stream("orders/order-0", None, Direction::Forwards, 10)
        .unwrap_err()
        .to_string();
    assert!(again.contains("Kafka"), "{again}");
}

#[test]
fn kafka_open_errors_are_clear() {
    let Some(command) = tansu_or_skip("kafka_open_errors_are_clear") else {
        return;
    };
    let server = TansuServer::start(&command);
    populate(&server);
    let err = KafkaSource::open(&server.url("?topics=orders,nope"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("no topic nope"), "{err}");
    let only = KafkaSource::open(&server.url("?topics=payments")).unwrap();
    assert_eq!(only.topics().len(), 1);
    assert_eq!(only.head().unwrap(), 2);

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let started = std::time::Instant::now();
    let err = eventscope::source::open(
        &format!("kafka://127.0.0.1:{port}?timeout=2"),
        &eventscope::source::OpenOptions::default(),
    )
    .err()
    .unwrap()
    .to_string();
    assert!(err.contains("cannot reach the Kafka brokers"), "{err}");
    assert!(started.elapsed() < std::time::Duration::from_secs(15));
}

#[test]
fn kafka_through_the_cli() {
    let Some((server, sent)) = started("kafka_through_the_cli") else {
        return;
    };
    let url = server.url("");
    let run = |args: &[&str]| crate::common::json_lines(&crate::common::eventscope(args));
    let info = &run(&["info", &url, "--json"])[0];
    assert_eq!(info["layout"], "kafka");
    assert_eq!(info["head_position"], sent.len() as u64);
    let streams = run(&["streams", &url, "--json"]);
    assert_eq!(streams.len(), 14);
    let events = run(&["events", &url, "orders/order-3", "--json"]);
    assert_eq!(events.len(), 2);
    assert_eq!(events[1]["event_type"], "ItemAdded");
    let log = run(&["log", &url, "--json"]);
    assert_eq!(log.len(), sent.len().min(log.len()));
    assert!(!log.is_empty());
}

/// Python with `confluent-kafka`: `EVENTSCOPE_TEST_PYTHON`, else the venv that
/// `scripts/setup.sh test` creates in target/pyvenv (it installs scripts/test-requirements.txt).
fn python() -> std::path::PathBuf {
    if let Some(p) = std::env::var_os("EVENTSCOPE_TEST_PYTHON") {
        return std::path::PathBuf::from(p);
    }
    let venv = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/pyvenv/bin/python");
    assert!(
        venv.exists(),
        "{} is missing: run scripts/setup.sh test (it creates the venv with confluent-kafka)",
        venv.display()
    );
    venv
}

/// Commits explicit offsets for `group` with confluent-kafka (librdkafka), never joining
/// the group (no subscribe, no assign): `offsets` are `(topic, partition, offset)`.
pub(crate) fn commit_offsets(server: &TansuServer, group: &str, offsets: &[(&str, i32, i64)]) {
    let list: Vec<String> = offsets
        .iter()
        .map(|(t, p, o)| format!("TopicPartition({t:?}, {p}, {o})"))
        .collect();
    let script = format!(
        "from confluent_kafka import Consumer, TopicPartition\n\
         c = Consumer({{'bootstrap.servers': '{}', 'group.id': {group:?}, 'enable.auto.commit': False}})\n\
         c.commit(offsets=[{}], asynchronous=False)\n\
         print(sorted((tp.topic, tp.partition, tp.offset) for tp in c.committed([{}], timeout=10)))\n\
         c.close()\n",
        server.address(),
        list.join(", "),
        list.join(", "),
    );
    let output = std::process::Command::new(python())
        .arg("-c")
        .arg(script)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "confluent-kafka failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn kafka_consumer_group_lag_from_committed_offsets() {
    let Some((server, sent)) = started("kafka_consumer_group_lag_from_committed_offsets") else {
        return;
    };
    let count = |topic: &str, partition: i32| {
        sent.iter()
            .filter(|s| s.topic == topic && s.partition == partition)
            .count() as i64
    };
    // `projector` is part-way through orders (partitions 0–3 committed), `billing` reads
    // both topics; `payments` is done by billing.
    commit_offsets(
        &server,
        "projector",
        &[
            ("orders", 0, 2),
            ("orders", 1, 1),
            ("orders", 2, count("orders", 2)),
            ("orders", 3, 0),
        ],
    );
    commit_offsets(
        &server,
        "billing",
        &[("orders", 5, 3), ("payments", 0, count("payments", 0))],
    );
    let source = KafkaSource::open(&server.url("")).unwrap();
    let checkpoints = source.checkpoints().unwrap();
    let names: Vec<&str> = checkpoints.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["billing/orders", "billing/payments", "projector"]);
    let projector = &checkpoints[2];
    assert_eq!(projector.category.as_deref(), Some("orders"));
    assert_eq!(projector.partitions.len(), 6);
    for p in &projector.partitions {
        assert_eq!(p.high_watermark, count("orders", p.partition));
        let expected = match p.committed {
            Some(committed) => p.high_watermark - committed,
            // Nothing committed: the whole partition is behind.
            None => p.high_watermark,
        };
        assert_eq!(i64::try_from(p.lag_events).unwrap(), expected, "{p:?}");
    }
    let committed: Vec<Option<i64>> = projector.partitions.iter().map(|p| p.committed).collect();
    assert_eq!(
        committed,
        [
            Some(2),
            Some(1),
            Some(count("orders", 2)),
            Some(0),
            None,
            None
        ]
    );

    // The CLI prints one line per group and topic with the partitions.
    let output = crate::common::eventscope(&["lag", &server.url(""), "--json"]);
    let lines = crate::common::json_lines(&output);
    let by_name: BTreeMap<String, &serde_json::Value> = lines
        .iter()
        .map(|l| (l["name"].as_str().unwrap().to_owned(), l))
        .collect();
    let projector_line = by_name["projector"];
    let total: i64 = (0..6).map(|p| count("orders", p)).sum::<i64>() - 2 - 1 - count("orders", 2);
    assert_eq!(projector_line["lag_events"], total);
    assert_eq!(projector_line["category"], "orders");
    let partitions = projector_line["partitions"].as_array().unwrap();
    assert_eq!(partitions.len(), 6);
    assert_eq!(partitions[0]["committed"], 2);
    assert_eq!(partitions[0]["high_watermark"], count("orders", 0));
    assert_eq!(partitions[0]["lag_events"], count("orders", 0) - 2);
    assert!(partitions[4]["committed"].is_null());
    // The oldest unconsumed record of orders/0 (offset 2) is from round 1: its age is known.
    assert!(projector_line["lag_seconds"].as_f64().unwrap() > 0.0);
    assert_eq!(by_name["billing/payments"]["lag_events"], 0);
    assert_eq!(
        by_name["billing/orders"]["lag_events"],
        (0..6).map(|p| count("orders", p)).sum::<i64>() - 3
    );
}
