//! Reading the whole global log (1M events by default) from each gRPC peer on loopback —
//! the KurrentDB emulator through the official client, and a real UmaDB server — compared
//! with reading the same events from the SQLite demo store they were copied from. All three
//! go through the `EventSource` trait in pages of 10 000 (what the app and the CLI call).
//!
//! ```sh
//! cargo bench --bench grpc                       # 1 000 000 events
//! EVENTSCOPE_BENCH_EVENTS=100000 cargo bench --bench grpc
//! ```
//!
//! Measured (2026-11-26, release, 2 cores, two runs of 1M events; peer and client share
//! the machine): SQLite 1.08–1.11M events/s (0.90–0.92 s); the KurrentDB emulator through
//! the official client 102–109k events/s (9.2–9.8 s, ~10× slower than SQLite: protobuf,
//! HTTP/2 and the client's per-event conversion on the same 2 cores); UmaDB 227–244k
//! events/s (4.1–4.4 s, ~4.6× slower than SQLite) once its tag index is built, 143–155k
//! events/s on the first open (6.5–7.0 s including the tag index over the whole log).
//!
//! The UmaDB part needs the `umadb` command (scripts/setup-umadb.sh) and is skipped with a
//! message otherwise. UmaDB is populated through its own Python client (tags
//! `category:rest-of-stream-id`), which takes a while for 1M events and is not timed.

#![allow(
    clippy::unwrap_used,
    clippy::print_stdout,
    reason = "a benchmark binary"
)]

#[path = "../tests/it/kurrent_emulator/mod.rs"]
mod kurrent_emulator;
#[path = "../tests/it/umadb_server.rs"]
mod umadb_server;

use std::io::Write as _;
use std::time::Instant;

use eventscope::core::{Event, EventSource, LogQuery, Payload};
use eventscope::demo::{DemoOptions, write_demo};

const PAGE: u64 = 10_000;

/// Reads the whole log; returns (events, seconds).
fn read_everything(source: &dyn EventSource) -> (Vec<Event>, f64) {
    let started = Instant::now();
    let mut out: Vec<Event> = Vec::new();
    let mut from = None;
    loop {
        let page = source
            .read_log(&LogQuery {
                from_position: from,
                limit: PAGE,
                ..LogQuery::default()
            })
            .unwrap();
        let read = page.len() as u64;
        from = page.last().map(|e| e.global_position + 1);
        out.extend(page);
        if read < PAGE {
            break;
        }
    }
    (out, started.elapsed().as_secs_f64())
}

fn bytes_of(payload: &Payload) -> Vec<u8> {
    match (payload.raw_bytes(), payload.as_json()) {
        (Some(bytes), _) => bytes.to_vec(),
        (None, Some(value)) => serde_json::to_vec(value).unwrap(),
        (None, None) => Vec::new(),
    }
}

fn report(name: &str, count: usize, seconds: f64) {
    println!(
        "{name:<44} {count:>9} events  {seconds:>7.2} s  {:>10.0} events/s",
        count as f64 / seconds
    );
}

fn main() {
    // `cargo bench` passes --bench; `cargo test --benches` runs this with no flag: do nothing.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let events: u64 = std::env::var("EVENTSCOPE_BENCH_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("demo.db");
    eprintln!("writing a {events}-event demo store …");
    write_demo(
        &path,
        &DemoOptions {
            events,
            seed: 7,
            ..DemoOptions::default()
        },
        &mut |_| {},
    )
    .unwrap();
    let sqlite = eventscope::source::open(path.to_str().unwrap(), &Default::default()).unwrap();
    let (all, seconds) = read_everything(&*sqlite);
    report("SQLite (demo store, design layout)", all.len(), seconds);

    // KurrentDB emulator with the same events.
    let mut data = kurrent_emulator::EmulatorData::default();
    for event in &all {
        data.append_raw(
            &event.stream_id,
            &event.event_type,
            bytes_of(&event.payload),
            bytes_of(&event.metadata),
        );
    }
    let emulator = kurrent_emulator::Emulator::start(data);
    let kurrent =
        eventscope::source::open(&emulator.url("&streamList=scan"), &Default::default()).unwrap();
    let (read, seconds) = read_everything(&*kurrent);
    assert_eq!(read.len(), all.len());
    report(
        "KurrentDB emulator, official client ($all)",
        read.len(),
        seconds,
    );
    drop(emulator);

    // A real UmaDB server with the same events.
    let Some(command) = umadb_server::umadb_command() else {
        println!("UmaDB: skipped (no `umadb` command; run scripts/setup-umadb.sh)");
        return;
    };
    let server = umadb_server::UmaDbServer::start(&command);
    let lines = dir.path().join("events.jsonl");
    {
        let mut file = std::io::BufWriter::new(std::fs::File::create(&lines).unwrap());
        for event in &all {
            let tag = event.stream_id.replacen('-', ":", 1);
            let metadata: serde_json::Map<String, serde_json::Value> = event
                .metadata
                .as_json()
                .and_then(|m| m.as_object())
                .map(|m| {
                    m.iter()
                        .map(|(k, v)| {
                            let text = v.as_str().map_or_else(|| v.to_string(), str::to_owned);
                            (k.clone(), serde_json::Value::String(text))
                        })
                        .collect()
                })
                .unwrap_or_default();
            let record = serde_json::json!({
                "t": event.event_type,
                "tags": [tag],
                "d": String::from_utf8_lossy(&bytes_of(&event.payload)),
                "m": metadata,
            });
            writeln!(file, "{record}").unwrap();
        }
    }
    eprintln!("appending to UmaDB through its Python client …");
    let started = Instant::now();
    server.python(&format!(
        "batch = []\nfor line in open({path:?}):\n    r = json.loads(line)\n    batch.append(umadb.Event(r['t'], r['d'].encode(), tags=r['tags'], metadata=r['m']))\n    if len(batch) == 1000:\n        client.append(batch)\n        batch = []\nif batch:\n    client.append(batch)\n",
        path = lines.display().to_string()
    ));
    eprintln!("appended in {:.1} s", started.elapsed().as_secs_f64());
    let umadb = eventscope::source::open(&server.url(""), &Default::default()).unwrap();
    let started = Instant::now();
    let info = umadb.info().unwrap();
    let seconds = started.elapsed().as_secs_f64();
    report(
        "UmaDB: first open (tag index: whole log)",
        usize::try_from(info.event_count.unwrap()).unwrap(),
        seconds,
    );
    let (read, seconds) = read_everything(&*umadb);
    assert_eq!(read.len(), all.len());
    report("UmaDB: global log (index built)", read.len(), seconds);
}
