//! Consumer groups' committed offsets, read without joining a group: `Metadata` (the
//! brokers), `ListGroups` on every broker, `FindCoordinator` and `OffsetFetch` on each
//! group's coordinator. `rskafka` has none of these, so the four requests are encoded here
//! in their classic (non-flexible) versions — Metadata v1, ListGroups v1, FindCoordinator
//! v1, OffsetFetch v3, all still served by current brokers — over a plain TCP connection
//! (no TLS or SASL yet, like the rest of the source).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Responses larger than this are refused (a sanity bound, not a Kafka limit).
const MAX_RESPONSE: usize = 64 * 1024 * 1024;

const METADATA: i16 = 3;
const OFFSET_FETCH: i16 = 9;
const FIND_COORDINATOR: i16 = 10;
const LIST_GROUPS: i16 = 16;

/// A group's committed offsets on one topic: partition → committed offset (`None`: no
/// offset committed for that partition).
pub(super) type Committed = BTreeMap<i32, Option<i64>>;

/// One broker connection speaking the request/response framing.
struct Conn {
    stream: TcpStream,
    correlation: i32,
    client_id: String,
    timeout: Duration,
}

impl Conn {
    async fn connect(address: &str, client_id: &str, timeout: Duration) -> Result<Self, String> {
        let stream = tokio::time::timeout(timeout, TcpStream::connect(address))
            .await
            .map_err(|_| format!("connecting to {address}: no answer"))?
            .map_err(|e| format!("connecting to {address}: {e}"))?;
        Ok(Self {
            stream,
            correlation: 0,
            client_id: client_id.to_owned(),
            timeout,
        })
    }

    /// Sends one request (header v1) and returns the response body (after its header v0).
    async fn call(&mut self, api_key: i16, version: i16, body: &[u8]) -> Result<Vec<u8>, String> {
        self.correlation += 1;
        let mut frame = Vec::with_capacity(body.len() + 32);
        put_i16(&mut frame, api_key);
        put_i16(&mut frame, version);
        put_i32(&mut frame, self.correlation);
        put_str(&mut frame, &self.client_id);
        frame.extend_from_slice(body);
        let length = i32::try_from(frame.len()).map_err(|_| "request too large".to_owned())?;
        let exchange = async {
            self.stream.write_all(&length.to_be_bytes()).await?;
            self.stream.write_all(&frame).await?;
            let mut size = [0u8; 4];
            self.stream.read_exact(&mut size).await?;
            let size = usize::try_from(i32::from_be_bytes(size)).unwrap_or(usize::MAX);
            if !(4..=MAX_RESPONSE).contains(&size) {
                return Err(std::io::Error::other(format!("bad response size {size}")));
            }
            let mut response = vec![0u8; size];
            self.stream.read_exact(&mut response).await?;
            Ok(response)
        };
        let response = tokio::time::timeout(self.timeout, exchange)
            .await
            .map_err(|_| format!("no answer within {} s", self.timeout.as_secs()))?
            .map_err(|e| e.to_string())?;
        response_body(&response, self.correlation).map(<[u8]>::to_vec)
    }
}

/// A response's body after its header v0 (the correlation id, which must be `expected`).
fn response_body(response: &[u8], expected: i32) -> Result<&[u8], String> {
    let mut reader = Reader::new(response);
    if reader.i32()? != expected {
        return Err("response to another request (correlation id)".to_owned());
    }
    Ok(&response[4..])
}

/// Decodes `bytes` as the body of each response eventscope reads from a broker (Metadata,
/// ListGroups, FindCoordinator, OffsetFetch, and the response header): the entry point of
/// the `kafka_groups` fuzz target. Never panics, whatever the bytes.
#[doc(hidden)]
pub fn decode_responses_for_fuzzing(bytes: &[u8]) -> usize {
    let mut decoded = 0;
    decoded += usize::from(response_body(bytes, 1).is_ok());
    decoded += parse_brokers(bytes).map_or(0, |b| b.len());
    decoded += parse_list_groups(bytes).map_or(0, |g| g.len());
    decoded += usize::from(parse_find_coordinator(bytes, "g").is_ok());
    decoded += parse_offset_fetch(bytes, "g").map_or(0, |t| t.len());
    decoded
}

fn put_i16(out: &mut Vec<u8>, value: i16) {
    out.extend_from_slice(&value.to_be_bytes());
}

fn put_i32(out: &mut Vec<u8>, value: i32) {
    out.extend_from_slice(&value.to_be_bytes());
}

fn put_str(out: &mut Vec<u8>, text: &str) {
    put_i16(out, i16::try_from(text.len()).unwrap_or(i16::MAX));
    out.extend_from_slice(&text.as_bytes()[..text.len().min(i16::MAX as usize)]);
}

fn put_len(out: &mut Vec<u8>, len: usize) {
    put_i32(out, i32::try_from(len).unwrap_or(i32::MAX));
}

/// Reads big-endian fields, failing on a short buffer instead of panicking.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Self { bytes, at: 0 }
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let end = self
            .at
            .checked_add(n)
            .filter(|&end| end <= self.bytes.len());
        let end = end.ok_or_else(|| "truncated response".to_owned())?;
        let slice = &self.bytes[self.at..end];
        self.at = end;
        Ok(slice)
    }

    fn i16(&mut self) -> Result<i16, String> {
        Ok(i16::from_be_bytes(
            self.take(2)?.try_into().map_err(|_| "i16")?,
        ))
    }

    fn i32(&mut self) -> Result<i32, String> {
        Ok(i32::from_be_bytes(
            self.take(4)?.try_into().map_err(|_| "i32")?,
        ))
    }

    fn i64(&mut self) -> Result<i64, String> {
        Ok(i64::from_be_bytes(
            self.take(8)?.try_into().map_err(|_| "i64")?,
        ))
    }

    fn nullable_str(&mut self) -> Result<Option<String>, String> {
        let len = self.i16()?;
        if len < 0 {
            return Ok(None);
        }
        let bytes = self.take(usize::try_from(len).unwrap_or(0))?;
        Ok(Some(String::from_utf8_lossy(bytes).into_owned()))
    }

    fn str(&mut self) -> Result<String, String> {
        Ok(self.nullable_str()?.unwrap_or_default())
    }

    /// An array's length (a null array is empty).
    fn len(&mut self) -> Result<usize, String> {
        let len = self.i32()?;
        let len = usize::try_from(len).unwrap_or(0);
        if len > self.bytes.len() {
            return Err("truncated response (array length)".to_owned());
        }
        Ok(len)
    }
}

fn error_name(code: i16) -> String {
    match code {
        15 => "coordinator not available (15)".to_owned(),
        16 => "not coordinator (16)".to_owned(),
        14 => "coordinator loading (14)".to_owned(),
        29 => "topic authorization failed (29)".to_owned(),
        30 => "group authorization failed (30)".to_owned(),
        35 => "unsupported version (35)".to_owned(),
        other => format!("error code {other}"),
    }
}

/// The brokers of the cluster, `host:port` each (Metadata v1 asking for no topics).
async fn brokers(conn: &mut Conn) -> Result<Vec<String>, String> {
    let mut body = Vec::new();
    put_len(&mut body, 0);
    let response = conn.call(METADATA, 1, &body).await?;
    parse_brokers(&response)
}

/// The brokers in a Metadata v1 response body.
fn parse_brokers(response: &[u8]) -> Result<Vec<String>, String> {
    let mut r = Reader::new(response);
    let mut brokers = Vec::new();
    for _ in 0..r.len()? {
        let _node = r.i32()?;
        let host = r.str()?;
        let port = r.i32()?;
        let _rack = r.nullable_str()?;
        brokers.push(format!("{host}:{port}"));
    }
    Ok(brokers)
}

/// The group ids a broker coordinates (ListGroups v1).
async fn list_groups(conn: &mut Conn) -> Result<Vec<String>, String> {
    let response = conn.call(LIST_GROUPS, 1, &[]).await?;
    parse_list_groups(&response)
}

/// The group ids in a ListGroups v1 response body.
fn parse_list_groups(response: &[u8]) -> Result<Vec<String>, String> {
    let mut r = Reader::new(response);
    let _throttle = r.i32()?;
    let error = r.i16()?;
    if error != 0 {
        return Err(format!("listing groups: {}", error_name(error)));
    }
    let mut groups = Vec::new();
    for _ in 0..r.len()? {
        let group = r.str()?;
        let _protocol_type = r.str()?;
        groups.push(group);
    }
    Ok(groups)
}

/// The coordinator of a group, `host:port` (FindCoordinator v1).
async fn find_coordinator(conn: &mut Conn, group: &str) -> Result<String, String> {
    let mut body = Vec::new();
    put_str(&mut body, group);
    body.push(0); // key type: group
    let response = conn.call(FIND_COORDINATOR, 1, &body).await?;
    parse_find_coordinator(&response, group)
}

/// The coordinator `host:port` in a FindCoordinator v1 response body.
fn parse_find_coordinator(response: &[u8], group: &str) -> Result<String, String> {
    let mut r = Reader::new(response);
    let _throttle = r.i32()?;
    let error = r.i16()?;
    let message = r.nullable_str()?;
    if error != 0 {
        return Err(format!(
            "finding the coordinator of group {group}: {}{}",
            error_name(error),
            message.map(|m| format!(" ({m})")).unwrap_or_default()
        ));
    }
    let _node = r.i32()?;
    let host = r.str()?;
    let port = r.i32()?;
    Ok(format!("{host}:{port}"))
}

/// A group's committed offsets on `topics` (OffsetFetch v3).
async fn offset_fetch(
    conn: &mut Conn,
    group: &str,
    topics: &[(String, Vec<i32>)],
) -> Result<BTreeMap<String, Committed>, String> {
    let mut body = Vec::new();
    put_str(&mut body, group);
    put_len(&mut body, topics.len());
    for (topic, partitions) in topics {
        put_str(&mut body, topic);
        put_len(&mut body, partitions.len());
        for &partition in partitions {
            put_i32(&mut body, partition);
        }
    }
    let response = conn.call(OFFSET_FETCH, 3, &body).await?;
    parse_offset_fetch(&response, group)
}

/// The committed offsets in an OffsetFetch v3 response body.
fn parse_offset_fetch(response: &[u8], group: &str) -> Result<BTreeMap<String, Committed>, String> {
    let mut r = Reader::new(response);
    let _throttle = r.i32()?;
    let mut out: BTreeMap<String, Committed> = BTreeMap::new();
    for _ in 0..r.len()? {
        let topic = r.str()?;
        for _ in 0..r.len()? {
            let partition = r.i32()?;
            let offset = r.i64()?;
            let _metadata = r.nullable_str()?;
            let error = r.i16()?;
            if error != 0 && error != 3 {
                return Err(format!(
                    "committed offsets of group {group} on {topic}/{partition}: {}",
                    error_name(error)
                ));
            }
            out.entry(topic.clone())
                .or_default()
                .insert(partition, (offset >= 0).then_some(offset));
        }
    }
    let error = r.i16()?;
    if error != 0 {
        return Err(format!(
            "committed offsets of group {group}: {}",
            error_name(error)
        ));
    }
    Ok(out)
}

/// Every consumer group's committed offsets on `topics`: group → topic → partition →
/// offset. Groups are listed on every broker; none is joined.
pub(super) async fn committed_offsets(
    bootstrap: &[String],
    client_id: &str,
    timeout: Duration,
    topics: &[(String, Vec<i32>)],
) -> Result<BTreeMap<String, BTreeMap<String, Committed>>, String> {
    let mut first_error = None;
    let mut seed = None;
    for address in bootstrap {
        match Conn::connect(address, client_id, timeout).await {
            Ok(conn) => {
                seed = Some(conn);
                break;
            }
            Err(err) => first_error = Some(err),
        }
    }
    let mut seed = seed.ok_or_else(|| first_error.unwrap_or_else(|| "no brokers".to_owned()))?;
    let mut groups = BTreeSet::new();
    let mut conns: HashMap<String, Conn> = HashMap::new();
    for broker in brokers(&mut seed).await? {
        let conn = match conns.entry(broker.clone()) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert(Conn::connect(&broker, client_id, timeout).await?)
            }
        };
        groups.extend(list_groups(conn).await?);
    }
    let mut out = BTreeMap::new();
    for group in groups {
        let coordinator = find_coordinator(&mut seed, &group).await?;
        let conn = match conns.entry(coordinator.clone()) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert(Conn::connect(&coordinator, client_id, timeout).await?)
            }
        };
        out.insert(group.clone(), offset_fetch(conn, &group, topics).await?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reader_refuses_short_input() {
        let mut r = Reader::new(&[0, 3, b'a']);
        assert!(r.str().is_err());
        let mut r = Reader::new(&[0x7f, 0xff, 0xff, 0xff]);
        assert!(r.len().is_err());
        let mut r = Reader::new(&[0xff, 0xff]);
        assert_eq!(r.nullable_str().unwrap(), None);
        let mut out = Vec::new();
        put_str(&mut out, "ab");
        put_i32(&mut out, -7);
        let mut r = Reader::new(&out);
        assert_eq!(r.str().unwrap(), "ab");
        assert_eq!(r.i32().unwrap(), -7);
        assert!(r.i16().is_err());
    }
}
