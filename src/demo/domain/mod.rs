//! The demo domain: a deterministic generator of bank-account, customer and
//! order/payment/shipment events, and the reducer ([`demo_reduce`]) that folds them.
//!
//! The generator is driven one event at a time by the bulk writer
//! ([`super::write_demo`]) and by the live appender ([`super::run_live`]). It keeps
//! only bounded state: a running state per account (accounts are few), a tiny
//! record per customer, and a bounded set of open order flows.

use std::collections::{HashMap, VecDeque, hash_map::Entry};

use anyhow::{Result, anyhow};
use chrono::{DateTime, Utc};
use fastrand::Rng;
use serde::Serialize;
use serde_json::{Map, Value, json};

/// Share of account events that go to the hot account `account-0001`
/// (half of all events are account events, so this is ~5 % of all events).
const HOT_ACCOUNT_SHARE: f64 = 0.10;
/// Share of all events that are account events.
const ACCOUNT_EVENT_SHARE: f64 = 0.5;
/// Upper bound of concurrently open order flows.
const MAX_OPEN_FLOWS: usize = 12;
/// Open flows below which a new flow is always started.
const MIN_OPEN_FLOWS: usize = 3;
/// Flows whose `PaymentRequested` names a causation id that no event carries.
pub(crate) const MISSING_PARENT_FLOWS: [u64; 2] = [7, 301];
/// Flows whose `PaymentRequested` is recorded just before its parent `OrderPlaced`.
pub(crate) const OUT_OF_ORDER_FLOWS: [u64; 2] = [3, 500];
/// Fraction of the timeline from which `OrderPlaced` is written as schema v2.
pub(crate) const ORDER_V2_FROM: f64 = 0.4;
/// Account snapshots are taken every this many versions.
pub(crate) const SNAPSHOT_EVERY: u32 = 100;
/// One snapshot in this many is deliberately drifted (bulk writer only).
const DRIFT_EVERY: u64 = 25;

const FIRST_NAMES: [&str; 20] = [
    "Ada", "Alan", "Grace", "Linus", "Margaret", "Dennis", "Barbara", "Ken", "Frances", "Edsger",
    "Hedy", "Tim", "Radia", "Donald", "Karen", "John", "Sophie", "Niklaus", "Anita", "Guido",
];
const LAST_NAMES: [&str; 20] = [
    "Lovelace", "Turing", "Hopper", "Torvalds", "Hamilton", "Ritchie", "Liskov", "Thompson",
    "Allen", "Dijkstra", "Lamarr", "Lee", "Perlman", "Knuth", "Jones", "McCarthy", "Wilson",
    "Wirth", "Borg", "Rossum",
];
const CURRENCIES: [&str; 4] = ["EUR", "EUR", "USD", "GBP"];
const DEPOSIT_KINDS: [&str; 5] = ["salary", "transfer", "atm-deposit", "refund", "interest"];
const WITHDRAW_KINDS: [&str; 5] = ["atm", "card-payment", "transfer", "rent", "direct-debit"];
const FREEZE_REASONS: [&str; 3] = ["suspicious activity", "customer request", "kyc review"];
const ACCOUNT_USERS: [&str; 4] = ["teller-07", "teller-12", "online-banking", "mobile-app"];
const PAYMENT_METHODS: [&str; 3] = ["card", "paypal", "sepa"];
const PAYMENT_ERRORS: [&str; 3] = ["card_declined", "insufficient_funds", "gateway_timeout"];
const CARRIERS: [&str; 4] = ["DHL", "UPS", "PostNL", "DPD"];
const CITIES: [(&str, &str); 6] = [
    ("Amsterdam", "NL"),
    ("Berlin", "DE"),
    ("Lyon", "FR"),
    ("Leeds", "GB"),
    ("Austin", "US"),
    ("Utrecht", "NL"),
];
/// Customer tiers and their discount percentage.
pub(crate) const TIERS: [(&str, i64); 4] = [
    ("standard", 0),
    ("silver", 5),
    ("gold", 10),
    ("platinum", 15),
];
const CATALOG: [(&str, i64); 12] = [
    ("SKU-1001", 999),
    ("SKU-1002", 2499),
    ("SKU-1003", 499),
    ("SKU-1004", 12999),
    ("SKU-1005", 3450),
    ("SKU-1006", 150),
    ("SKU-1007", 7900),
    ("SKU-1008", 1995),
    ("SKU-1009", 45000),
    ("SKU-1010", 899),
    ("SKU-1011", 2250),
    ("SKU-1012", 6499),
];

/// Stream id of account `n` (1-based): `account-0001`.
pub(crate) fn account_stream(n: u32) -> String {
    format!("account-{n:04}")
}

/// Stream id of customer `n` (1-based): `customer-00001`.
pub(crate) fn customer_stream(n: u32) -> String {
    format!("customer-{n:05}")
}

/// Stream id of the order of flow `n` (1-based): `order-000001`.
pub(crate) fn order_stream(n: u64) -> String {
    format!("order-{n:06}")
}

/// Number at the end of a stream id (`order-000123` → 123).
#[cfg(test)]
pub(crate) fn stream_number(stream: &str) -> Option<u64> {
    stream.rsplit_once('-')?.1.parse().ok()
}

/// A UUID-looking (version 4 layout) lowercase id drawn from `rng`.
pub(crate) fn uuid(rng: &mut Rng) -> String {
    let a = rng.u64(..);
    let b = rng.u64(..);
    format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0x0fff,
        ((b >> 48) & 0x3fff) | 0x8000,
        b & 0xffff_ffff_ffff
    )
}

fn pick<T: Copy>(rng: &mut Rng, items: &[T]) -> T {
    items[rng.usize(..items.len())]
}

fn cents_str(cents: i64) -> String {
    format!("{}.{:02}", cents / 100, cents % 100)
}

/// Parses a decimal money string (`"123.45"`, `"7"`, `"7.5"`) into cents.
fn parse_cents(s: &str) -> Option<i64> {
    let (whole, frac) = s.split_once('.').unwrap_or((s, ""));
    let whole: i64 = whole.parse().ok()?;
    let frac: i64 = match frac.len() {
        0 => 0,
        1 => frac.parse::<i64>().ok()? * 10,
        2 => frac.parse().ok()?,
        _ => return None,
    };
    Some(whole * 100 + frac)
}

mod generator;
mod reducer;
mod simulation;
#[cfg(test)]
mod tests;

pub(crate) use generator::*;
pub use reducer::demo_reduce;
use reducer::*;
