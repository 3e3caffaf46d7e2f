//! Kafka topics as event stores (source layer), read through the pure-Rust `rskafka`
//! client (feature `kafka`).
//!
//! The model: a topic is a category; a stream is every record of one key in a topic,
//! written `topic/key`, its versions the ordinals of those records in (partition, offset)
//! order; the global log is the topics' partitions merged by record timestamp (ties by
//! topic, partition, offset), each partition staying in offset order. Headers are the
//! metadata (see [`record`]). eventscope only fetches: it never produces, never commits
//! offsets and never joins a consumer group.
//!
//! Finding a key's records needs a scan of its topic: the source keeps an in-memory index
//! of every record's partition, offset, timestamp, key and type (built on first use with
//! progress and Cancel, every partition read in parallel, then brought up to date
//! incrementally) and fetches the records themselves when a page is read. High watermarks
//! come from fetch responses, and a partition is read until a fetch comes back empty:
//! some Kafka-protocol brokers (Tansu) answer `ListOffsets(latest)` with less than what a
//! fetch returns.
//!
//! URL recognition and parsing are always built; the source itself needs the `kafka`
//! feature.
//!
//! URL: `kafka://[USER@]HOST:PORT[,HOST:PORT…][?topics=A,B][&client_id=ID][&timeout=SECS]`.

#[cfg(feature = "kafka")]
mod fetch;
#[cfg(feature = "kafka")]
mod groups;
#[cfg(feature = "kafka")]
mod index;
#[cfg(feature = "kafka")]
mod read;
#[cfg(feature = "kafka")]
pub mod record;
#[cfg(feature = "kafka")]
mod source;

#[cfg(feature = "kafka")]
#[doc(hidden)]
pub use groups::decode_responses_for_fuzzing;
#[cfg(feature = "kafka")]
pub use source::{KafkaSource, TopicInfo};

use std::time::Duration;

use crate::core::source::{SourceError, SourceResult};

/// Default port of a Kafka broker.
pub const DEFAULT_PORT: u16 = 9092;
/// Default time allowed for one broker call, retries included.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(15);

/// True when `location` is a `kafka://` URL.
#[must_use]
pub fn is_kafka_url(location: &str) -> bool {
    location.trim().to_ascii_lowercase().starts_with("kafka://")
}

/// Options parsed from a `kafka://` URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KafkaOptions {
    /// Bootstrap brokers, `host:port` each.
    pub brokers: Vec<String>,
    /// The topics to read (`topics=`); empty: every topic not starting with `_`.
    pub topics: Vec<String>,
    /// The client id sent to the brokers.
    pub client_id: String,
    /// Time allowed for one broker call, retries included.
    pub timeout: Duration,
}

impl KafkaOptions {
    /// Parses `kafka://HOST:PORT[,HOST:PORT…][?topics=…&client_id=…&timeout=…]`.
    ///
    /// # Errors
    /// On a malformed URL, an unknown option, or an option this build cannot honour yet
    /// (TLS, SASL).
    pub fn parse(url: &str) -> SourceResult<Self> {
        let shown = crate::source::grpc::redact_url(url.trim());
        let bad = |why: &str| SourceError::Open(format!("invalid Kafka URL ({why}): {shown}"));
        let trimmed = url.trim();
        let rest = trimmed
            .get("kafka://".len()..)
            .filter(|_| is_kafka_url(trimmed))
            .ok_or_else(|| bad("expected kafka://HOST:PORT"))?;
        let (authority, query) = rest.split_once('?').unwrap_or((rest, ""));
        let authority = authority.trim_end_matches('/');
        if authority.contains('@') {
            return Err(bad(
                "SASL authentication (a user in the URL) is not supported yet",
            ));
        }
        let mut brokers = Vec::new();
        for host_port in authority.split(',').map(str::trim) {
            if host_port.is_empty() {
                return Err(bad("empty broker address"));
            }
            let has_port = host_port.rsplit_once(':').is_some_and(|(host, port)| {
                !host.is_empty() && !port.is_empty() && port.parse::<u16>().is_ok()
            });
            brokers.push(if has_port {
                host_port.to_owned()
            } else if host_port.contains(':') && !host_port.starts_with('[') {
                return Err(bad(&format!("bad port in {host_port}")));
            } else {
                format!("{host_port}:{DEFAULT_PORT}")
            });
        }
        let mut options = Self {
            brokers,
            topics: Vec::new(),
            client_id: "eventscope".to_owned(),
            timeout: DEFAULT_TIMEOUT,
        };
        for pair in query.split('&').filter(|pair| !pair.is_empty()) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            match key.to_ascii_lowercase().as_str() {
                "topics" | "topic" => options.topics.extend(
                    value
                        .split(',')
                        .map(str::trim)
                        .filter(|t| !t.is_empty())
                        .map(str::to_owned),
                ),
                "client_id" | "client.id" | "clientid" if !value.is_empty() => {
                    options.client_id = value.to_owned();
                }
                "timeout" => {
                    let seconds = value
                        .parse::<u64>()
                        .ok()
                        .filter(|s| (1..=3600).contains(s))
                        .ok_or_else(|| bad("timeout= takes whole seconds from 1 to 3600"))?;
                    options.timeout = Duration::from_secs(seconds);
                }
                "tls" | "ssl" if value == "false" => {}
                "tls" | "ssl" | "sasl" | "mechanism" | "password" => {
                    return Err(bad(&format!("{key}= is not supported yet")));
                }
                other => return Err(bad(&format!("unknown option {other}"))),
            }
        }
        Ok(options)
    }
}

/// The stream id of a record: `topic/key`, the key as text when it is UTF-8, else `0x` and
/// its hex; a record without a key is in `topic/` (the empty key).
#[must_use]
pub fn stream_id_of(topic: &str, key: Option<&[u8]>) -> String {
    let key = key.map_or_else(String::new, key_text);
    format!("{topic}/{key}")
}

/// A record key as shown: its text when UTF-8, else `0x` and its hex.
#[must_use]
pub fn key_text(key: &[u8]) -> String {
    std::str::from_utf8(key).map_or_else(
        |_| format!("0x{}", crate::core::event::hex(key)),
        str::to_owned,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_urls() {
        let options = KafkaOptions::parse("kafka://127.0.0.1:9093").unwrap();
        assert_eq!(options.brokers, ["127.0.0.1:9093"]);
        assert!(options.topics.is_empty());
        assert_eq!(options.client_id, "eventscope");
        assert_eq!(options.timeout, DEFAULT_TIMEOUT);

        let options = KafkaOptions::parse(
            "KAFKA://a:1, b ,c:3/?topics=orders,payments&client_id=ops&timeout=4&tls=false",
        )
        .unwrap();
        assert_eq!(options.brokers, ["a:1", "b:9092", "c:3"]);
        assert_eq!(options.topics, ["orders", "payments"]);
        assert_eq!(options.client_id, "ops");
        assert_eq!(options.timeout, Duration::from_secs(4));

        for (url, why) in [
            ("kafka://", "empty broker"),
            ("kafka://a:1,,b:2", "empty broker"),
            ("kafka://a:x", "bad port"),
            ("kafka://a:1?bogus=1", "unknown option bogus"),
            ("kafka://a:1?timeout=0", "timeout="),
            ("kafka://a:1?tls=true", "not supported yet"),
            ("kafka://u:secret@a:1", "SASL"),
            ("esdb://a:1", "expected kafka://"),
        ] {
            let err = KafkaOptions::parse(url).unwrap_err().to_string();
            assert!(err.contains(why), "{url}: {err}");
            assert!(!err.contains("secret"), "{err}");
        }
        assert!(is_kafka_url(" kafka://x"));
        assert!(!is_kafka_url("/tmp/kafka.db"));
    }

    #[test]
    fn stream_ids() {
        assert_eq!(stream_id_of("orders", Some(b"order-1")), "orders/order-1");
        assert_eq!(stream_id_of("orders", None), "orders/");
        assert_eq!(stream_id_of("t", Some(&[0xff, 0x00])), "t/0xff00");
    }
}
