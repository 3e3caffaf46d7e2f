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

// ---------------------------------------------------------------------------
// Reducer
// ---------------------------------------------------------------------------

fn set(s: &mut Map<String, Value>, key: &str, value: impl Into<Value>) {
    match s.get_mut(key) {
        Some(slot) => *slot = value.into(),
        None => {
            s.insert(key.to_owned(), value.into());
        }
    }
}

fn copy_as(s: &mut Map<String, Value>, payload: &Value, from: &str, to: &str) {
    if let Some(v) = payload.get(from) {
        set(s, to, v.clone());
    }
}

fn copy(s: &mut Map<String, Value>, payload: &Value, key: &str) {
    copy_as(s, payload, key, key);
}

fn add(s: &mut Map<String, Value>, key: &str, delta: i64) {
    let current = s.get(key).and_then(Value::as_i64).unwrap_or(0);
    set(s, key, current + delta);
}

fn amount(payload: &Value) -> i64 {
    payload
        .get("amountCents")
        .and_then(Value::as_i64)
        .unwrap_or(0)
}

fn tier_discount(name: &str) -> i64 {
    TIERS
        .iter()
        .find(|(n, _)| *n == name)
        .map_or(0, |(_, pct)| *pct)
}

/// The demo's reducer, used to compute the demo store's snapshots (pure).
///
/// Returns the state of a demo aggregate after applying one event
/// (`event_type` + `payload`) to `state`; a stream's fold starts from JSON
/// `null`. It understands every event type the demo writes, including all
/// stored schema versions (it recognises them by payload shape):
///
/// - accounts: `{accountId, owner, currency, balanceCents, status,
///   transactions, lastReference?, frozenReason?}`;
/// - customers: `{customerId, name, email, country, tier, discountPct,
///   tierSince?}` — `CustomerTierChanged` v1 `{tier: "gold"}`, v2 `{tier,
///   since}` and v3 `{tier: {name, since, discountPct}}` all fold to the same
///   shape (v1/v2 take the discount from the tier table);
/// - orders: `{orderId, customerId, totalCents, currency, lines: [{sku, qty,
///   priceCents}], status, …}` — `OrderPlaced` v1 (`total: "123.45"`,
///   `items[].price`, implicitly EUR) and v2 fold to the same shape;
/// - payments and shipments: their ids, amounts/carrier and a `status`.
///
/// Unknown event types merge the payload's top-level keys into the state.
/// A state that is not an object is treated as empty.
pub fn demo_reduce(state: Value, event_type: &str, payload: &Value) -> Value {
    let mut s = match state {
        Value::Object(m) => m,
        _ => Map::new(),
    };
    let p = payload;
    match event_type {
        "AccountOpened" => {
            s.clear();
            copy(&mut s, p, "accountId");
            copy(&mut s, p, "owner");
            copy(&mut s, p, "currency");
            set(&mut s, "balanceCents", 0);
            set(&mut s, "status", "open");
            set(&mut s, "transactions", 0);
        }
        "Deposited" => {
            add(&mut s, "balanceCents", amount(p));
            add(&mut s, "transactions", 1);
            copy_as(&mut s, p, "reference", "lastReference");
        }
        "Withdrawn" => {
            add(&mut s, "balanceCents", -amount(p));
            add(&mut s, "transactions", 1);
            copy_as(&mut s, p, "reference", "lastReference");
        }
        "AccountFrozen" => {
            set(&mut s, "status", "frozen");
            copy_as(&mut s, p, "reason", "frozenReason");
        }
        "AccountUnfrozen" => {
            set(&mut s, "status", "open");
            s.shift_remove("frozenReason");
        }
        "CustomerRegistered" => {
            s.clear();
            copy(&mut s, p, "customerId");
            copy(&mut s, p, "name");
            copy(&mut s, p, "email");
            copy(&mut s, p, "country");
            set(&mut s, "tier", "standard");
            set(&mut s, "discountPct", 0);
        }
        "CustomerTierChanged" => match p.get("tier") {
            // v3: {tier: {name, since, discountPct}}
            Some(Value::Object(t)) => {
                let tier = t.get("name").cloned().unwrap_or(Value::Null);
                set(&mut s, "tier", tier);
                let pct = t.get("discountPct").cloned().unwrap_or(Value::Null);
                set(&mut s, "discountPct", pct);
                let since = t.get("since").cloned().unwrap_or(Value::Null);
                set(&mut s, "tierSince", since);
            }
            // v1: {tier} and v2: {tier, since}
            Some(Value::String(name)) => {
                set(&mut s, "tier", name.as_str());
                set(&mut s, "discountPct", tier_discount(name));
                match p.get("since") {
                    Some(since) => set(&mut s, "tierSince", since.clone()),
                    None => {
                        s.shift_remove("tierSince");
                    }
                }
            }
            _ => {}
        },
        "OrderPlaced" => {
            s.clear();
            copy(&mut s, p, "orderId");
            copy(&mut s, p, "customerId");
            if let Some(total) = p.get("total").and_then(Value::as_str) {
                // schema v1: decimal strings, implicitly EUR
                set(
                    &mut s,
                    "totalCents",
                    parse_cents(total).map_or(Value::Null, Value::from),
                );
                set(&mut s, "currency", "EUR");
                let lines: Vec<Value> = p
                    .get("items")
                    .and_then(Value::as_array)
                    .map(|items| {
                        items
                            .iter()
                            .map(|item| {
                                let price = item
                                    .get("price")
                                    .and_then(Value::as_str)
                                    .and_then(parse_cents)
                                    .map_or(Value::Null, Value::from);
                                json!({
                                    "sku": item.get("sku").cloned().unwrap_or(Value::Null),
                                    "qty": item.get("qty").cloned().unwrap_or(Value::Null),
                                    "priceCents": price,
                                })
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                set(&mut s, "lines", lines);
            } else {
                copy(&mut s, p, "totalCents");
                copy(&mut s, p, "currency");
                copy(&mut s, p, "lines");
            }
            set(&mut s, "status", "placed");
        }
        "OrderPaid" => {
            set(&mut s, "status", "paid");
            copy(&mut s, p, "paymentId");
        }
        "OrderShipped" => {
            set(&mut s, "status", "shipped");
            copy(&mut s, p, "shipmentId");
            copy(&mut s, p, "trackingNumber");
        }
        "OrderCancelled" => {
            set(&mut s, "status", "cancelled");
            copy_as(&mut s, p, "reason", "cancelReason");
        }
        "PaymentRequested" => {
            copy(&mut s, p, "paymentId");
            copy(&mut s, p, "orderId");
            copy(&mut s, p, "amountCents");
            copy(&mut s, p, "currency");
            copy(&mut s, p, "method");
            set(&mut s, "status", "requested");
            set(&mut s, "attempts", 1);
        }
        "PaymentFailed" => {
            set(&mut s, "status", "failed");
            copy_as(&mut s, p, "reason", "lastError");
        }
        "PaymentRetried" => {
            set(&mut s, "status", "requested");
            copy_as(&mut s, p, "attempt", "attempts");
        }
        "PaymentCaptured" => {
            set(&mut s, "status", "captured");
            copy(&mut s, p, "authCode");
        }
        "ShipmentCreated" => {
            s.clear();
            copy(&mut s, p, "shipmentId");
            copy(&mut s, p, "orderId");
            copy(&mut s, p, "carrier");
            copy(&mut s, p, "address");
            set(&mut s, "status", "created");
        }
        "ShipmentDispatched" => {
            set(&mut s, "status", "dispatched");
            copy(&mut s, p, "trackingNumber");
        }
        "ShipmentDelivered" => {
            set(&mut s, "status", "delivered");
        }
        _ => {
            if let Value::Object(fields) = p {
                for (k, v) in fields {
                    set(&mut s, k, v.clone());
                }
            }
        }
    }
    Value::Object(s)
}

// ---------------------------------------------------------------------------
// Generator
// ---------------------------------------------------------------------------

/// Event metadata as stored in the `metadata` column (absent keys are omitted).
#[derive(Debug, Clone, Default, Serialize)]
pub(crate) struct Meta {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub correlation_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub causation_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
}

/// A snapshot to store right after the event that carries it.
#[derive(Debug, Clone)]
pub(crate) struct SnapshotOut {
    pub state: Value,
    pub drifted: bool,
}

/// One generated event; the caller assigns its global position and time.
#[derive(Debug, Clone)]
pub(crate) struct DemoEvent {
    pub event_id: String,
    pub stream: String,
    pub version: u32,
    pub event_type: &'static str,
    pub event_version: u32,
    pub payload: Value,
    pub meta: Meta,
    pub snapshot: Option<SnapshotOut>,
}

/// Where the generator learns about streams it has not seen yet (the live
/// appender reads them from the store; the bulk writer starts from nothing).
pub(crate) trait Lookup {
    /// Last version of `stream` and its state folded with [`demo_reduce`]
    /// (`(0, Value::Null)` when the stream has no events).
    fn stream_state(&mut self, stream: &str) -> Result<(u32, Value)>;
}

/// A [`Lookup`] for an empty store.
pub(crate) struct Fresh;

impl Lookup for Fresh {
    fn stream_state(&mut self, _stream: &str) -> Result<(u32, Value)> {
        Ok((0, Value::Null))
    }
}

/// Where the generator starts numbering and how it behaves.
#[derive(Debug, Clone)]
pub(crate) struct GenConfig {
    /// Number of accounts the store will have.
    pub account_pool: u32,
    /// Accounts `1..=accounts_opened` already exist.
    pub accounts_opened: u32,
    /// Flows `1..=flows_started` already exist (the next is `flows_started + 1`).
    pub flows_started: u64,
    /// Customers `1..=customers` already exist.
    pub customers: u32,
    /// Whether some snapshots are deliberately drifted.
    pub drift: bool,
}

impl GenConfig {
    /// Configuration for a new store of `events` events.
    pub(crate) fn bulk(events: u64) -> Self {
        Self {
            account_pool: u32::try_from((events / 2000).max(20)).unwrap_or(u32::MAX),
            accounts_opened: 0,
            flows_started: 0,
            customers: 0,
            drift: true,
        }
    }
}

struct AccountSim {
    stream: String,
    version: u32,
    state: Value,
}

struct CustomerSim {
    version: u32,
    tier: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    New,
    Placed,
    AwaitingPayment,
    PaymentFailed,
    Captured,
    Paid,
    ShipmentCreated,
    Dispatched,
    Shipped,
    Done,
}

/// One order → payment → shipment flow in progress.
struct Flow {
    n: u64,
    order: String,
    payment: String,
    shipment: String,
    correlation: String,
    customer: u32,
    stage: Stage,
    order_v: u32,
    payment_v: u32,
    shipment_v: u32,
    /// Event id of the flow's latest event: the cause of the next one.
    cause: String,
    /// Event id of `ShipmentDispatched` (causes both `OrderShipped` and `ShipmentDelivered`).
    dispatched: String,
    amount_cents: i64,
    currency: &'static str,
    attempts: u32,
    tier_upgrade: bool,
    tracking: String,
}

/// The deterministic event generator (see the module docs).
pub(crate) struct Generator {
    rng: Rng,
    cfg: GenConfig,
    accounts: HashMap<u32, AccountSim>,
    customers: HashMap<u32, CustomerSim>,
    flows: Vec<Flow>,
    queue: VecDeque<DemoEvent>,
    snapshots_taken: u64,
}

fn meta(correlation: &str, causation: Option<String>, user: &str) -> Meta {
    Meta {
        correlation_id: Some(correlation.to_owned()),
        causation_id: causation,
        user: Some(user.to_owned()),
    }
}

fn event(
    rng: &mut Rng,
    stream: &str,
    version: u32,
    event_type: &'static str,
    event_version: u32,
    payload: Value,
    meta: Meta,
) -> DemoEvent {
    DemoEvent {
        event_id: uuid(rng),
        stream: stream.to_owned(),
        version,
        event_type,
        event_version,
        payload,
        meta,
        snapshot: None,
    }
}

fn customer_sim<'a>(
    customers: &'a mut HashMap<u32, CustomerSim>,
    lookup: &mut dyn Lookup,
    n: u32,
) -> Result<&'a mut CustomerSim> {
    Ok(match customers.entry(n) {
        Entry::Occupied(o) => o.into_mut(),
        Entry::Vacant(v) => {
            let (version, state) = lookup.stream_state(&customer_stream(n))?;
            let tier = state
                .get("tier")
                .and_then(Value::as_str)
                .and_then(|t| TIERS.iter().position(|(name, _)| *name == t))
                .unwrap_or(0);
            v.insert(CustomerSim { version, tier })
        }
    })
}

/// `CustomerTierChanged` payload in the schema of the era `progress` falls in.
fn tier_payload(progress: f64, tier: usize, now: DateTime<Utc>) -> (u32, Value) {
    let (name, pct) = TIERS[tier];
    let since = now.date_naive().to_string();
    if progress < 1.0 / 3.0 {
        (1, json!({ "tier": name }))
    } else if progress < 2.0 / 3.0 {
        (2, json!({ "tier": name, "since": since }))
    } else {
        (
            3,
            json!({ "tier": { "name": name, "since": since, "discountPct": pct } }),
        )
    }
}

fn order_placed_payload(rng: &mut Rng, f: &mut Flow, progress: f64) -> (u32, Value) {
    let n_lines = rng.usize(1..=4);
    let mut lines = Vec::with_capacity(n_lines);
    let mut total = 0;
    for _ in 0..n_lines {
        let (sku, price) = pick(rng, &CATALOG);
        let qty = rng.i64(1..=3);
        total += price * qty;
        lines.push((sku, qty, price));
    }
    f.amount_cents = total;
    let customer = customer_stream(f.customer);
    if progress < ORDER_V2_FROM {
        f.currency = "EUR";
        let items: Vec<Value> = lines
            .iter()
            .map(|(sku, qty, price)| json!({ "sku": sku, "qty": qty, "price": cents_str(*price) }))
            .collect();
        let payload = json!({
            "orderId": f.order,
            "customerId": customer,
            "total": cents_str(total),
            "items": items,
        });
        (1, payload)
    } else {
        f.currency = pick(rng, &CURRENCIES);
        let lines: Vec<Value> = lines
            .iter()
            .map(|(sku, qty, price)| json!({ "sku": sku, "qty": qty, "priceCents": price }))
            .collect();
        let payload = json!({
            "orderId": f.order,
            "customerId": customer,
            "totalCents": total,
            "currency": f.currency,
            "lines": lines,
        });
        (2, payload)
    }
}

fn payment_requested(rng: &mut Rng, f: &mut Flow, cause: String) -> DemoEvent {
    f.payment_v += 1;
    f.attempts = 1;
    let payload = json!({
        "paymentId": f.payment,
        "orderId": f.order,
        "amountCents": f.amount_cents,
        "currency": f.currency,
        "method": pick(rng, &PAYMENT_METHODS),
    });
    let m = meta(&f.correlation, Some(cause), "payment-service");
    let ev = event(
        rng,
        &f.payment,
        f.payment_v,
        "PaymentRequested",
        1,
        payload,
        m,
    );
    f.cause.clone_from(&ev.event_id);
    f.stage = Stage::AwaitingPayment;
    ev
}

impl Generator {
    /// A generator seeded with `seed` that continues after `cfg`.
    pub(crate) fn new(seed: u64, cfg: GenConfig) -> Self {
        Self {
            rng: Rng::with_seed(seed),
            cfg,
            accounts: HashMap::new(),
            customers: HashMap::new(),
            flows: Vec::with_capacity(MAX_OPEN_FLOWS),
            queue: VecDeque::new(),
            snapshots_taken: 0,
        }
    }

    /// The next event of the timeline. `progress` (0..=1) is how far along the
    /// store's timeline we are (selects schema eras); `now` is the event's
    /// approximate time (used in payload dates).
    pub(crate) fn next_event(
        &mut self,
        lookup: &mut dyn Lookup,
        now: DateTime<Utc>,
        progress: f64,
    ) -> Result<DemoEvent> {
        if let Some(ev) = self.queue.pop_front() {
            return Ok(ev);
        }
        if self.rng.f64() < ACCOUNT_EVENT_SHARE {
            self.account_event(lookup, progress)
        } else {
            self.flow_event(lookup, now, progress)
        }
    }

    fn account_event(&mut self, lookup: &mut dyn Lookup, progress: f64) -> Result<DemoEvent> {
        let pool = self.cfg.account_pool.max(1);
        let share = (0.25 + 1.5 * progress).min(1.0);
        let target = ((f64::from(pool) * share).ceil() as u32).clamp(1, pool);
        let n = if self.cfg.accounts_opened < target {
            self.cfg.accounts_opened += 1;
            self.cfg.accounts_opened
        } else if self.cfg.accounts_opened == 1 || self.rng.f64() < HOT_ACCOUNT_SHARE {
            1
        } else {
            self.rng.u32(2..=self.cfg.accounts_opened)
        };
        let sim = match self.accounts.entry(n) {
            Entry::Occupied(o) => o.into_mut(),
            Entry::Vacant(v) => {
                let stream = account_stream(n);
                let (version, state) = lookup.stream_state(&stream)?;
                v.insert(AccountSim {
                    stream,
                    version,
                    state,
                })
            }
        };
        let rng = &mut self.rng;
        let (event_type, payload) = if sim.version == 0 {
            let owner = format!("{} {}", pick(rng, &FIRST_NAMES), pick(rng, &LAST_NAMES));
            let payload = json!({
                "accountId": sim.stream,
                "owner": owner,
                "currency": pick(rng, &CURRENCIES),
            });
            ("AccountOpened", payload)
        } else {
            let frozen = sim.state.get("status").and_then(Value::as_str) == Some("frozen");
            let balance = sim
                .state
                .get("balanceCents")
                .and_then(Value::as_i64)
                .unwrap_or(0);
            let deposit = |rng: &mut Rng| {
                let reference =
                    format!("{}-{:06}", pick(rng, &DEPOSIT_KINDS), rng.u32(..1_000_000));
                let amount = rng.i64(1_000..=250_000);
                (
                    "Deposited",
                    json!({ "amountCents": amount, "reference": reference }),
                )
            };
            if frozen {
                if rng.f64() < 0.4 {
                    ("AccountUnfrozen", json!({ "reason": "review completed" }))
                } else {
                    deposit(rng)
                }
            } else if rng.f64() < 0.004 {
                (
                    "AccountFrozen",
                    json!({ "reason": pick(rng, &FREEZE_REASONS) }),
                )
            } else if balance >= 500 && rng.f64() < 0.45 {
                let reference =
                    format!("{}-{:06}", pick(rng, &WITHDRAW_KINDS), rng.u32(..1_000_000));
                let amount = rng.i64(500..=balance.min(150_000));
                (
                    "Withdrawn",
                    json!({ "amountCents": amount, "reference": reference }),
                )
            } else {
                deposit(rng)
            }
        };
        sim.version += 1;
        sim.state = demo_reduce(std::mem::take(&mut sim.state), event_type, &payload);
        let m = Meta {
            correlation_id: Some(uuid(rng)),
            causation_id: None,
            user: Some(pick(rng, &ACCOUNT_USERS).to_owned()),
        };
        let mut ev = event(rng, &sim.stream, sim.version, event_type, 1, payload, m);
        if sim.version % SNAPSHOT_EVERY == 0 {
            let mut state = sim.state.clone();
            let drifted = self.cfg.drift && self.snapshots_taken % DRIFT_EVERY == DRIFT_EVERY / 2;
            self.snapshots_taken += 1;
            if drifted {
                drift(rng, &mut state);
            }
            ev.snapshot = Some(SnapshotOut { state, drifted });
        }
        Ok(ev)
    }

    fn flow_event(
        &mut self,
        lookup: &mut dyn Lookup,
        now: DateTime<Utc>,
        progress: f64,
    ) -> Result<DemoEvent> {
        let open = self.flows.len();
        if open < MIN_OPEN_FLOWS || (open < MAX_OPEN_FLOWS && self.rng.f64() < 0.2) {
            return self.start_flow(lookup, now, progress);
        }
        let i = self.rng.usize(..open);
        let ev = self.advance_flow(i, lookup, now, progress)?;
        if self.flows[i].stage == Stage::Done {
            self.flows.swap_remove(i);
        }
        Ok(ev)
    }

    /// Opens a new flow; a new customer registers first 30 % of the time.
    fn start_flow(
        &mut self,
        lookup: &mut dyn Lookup,
        now: DateTime<Utc>,
        progress: f64,
    ) -> Result<DemoEvent> {
        let rng = &mut self.rng;
        let mut registration = None;
        let customer = if self.cfg.customers == 0 || rng.f64() < 0.3 {
            self.cfg.customers += 1;
            let c = self.cfg.customers;
            let stream = customer_stream(c);
            let (first, last) = (pick(rng, &FIRST_NAMES), pick(rng, &LAST_NAMES));
            let (city, country) = pick(rng, &CITIES);
            let payload = json!({
                "customerId": stream,
                "name": format!("{first} {last}"),
                "email": format!("{}.{}{}@example.com", first.to_lowercase(), last.to_lowercase(), c),
                "country": country,
                "city": city,
            });
            let m = meta(
                &uuid(rng),
                Some(format!("cmd-{}", uuid(rng))),
                "signup-service",
            );
            registration = Some(event(rng, &stream, 1, "CustomerRegistered", 1, payload, m));
            self.customers.insert(
                c,
                CustomerSim {
                    version: 1,
                    tier: 0,
                },
            );
            c
        } else {
            rng.u32(1..=self.cfg.customers)
        };
        self.cfg.flows_started += 1;
        let n = self.cfg.flows_started;
        self.flows.push(Flow {
            n,
            order: order_stream(n),
            payment: format!("payment-{n:06}"),
            shipment: format!("shipment-{n:06}"),
            correlation: uuid(rng),
            customer,
            stage: Stage::New,
            order_v: 0,
            payment_v: 0,
            shipment_v: 0,
            cause: String::new(),
            dispatched: String::new(),
            amount_cents: 0,
            currency: "EUR",
            attempts: 0,
            tier_upgrade: false,
            tracking: String::new(),
        });
        let i = self.flows.len() - 1;
        let placed = self.advance_flow(i, lookup, now, progress)?;
        match registration {
            Some(reg) => {
                // The order is placed right after the registration; keep any
                // event already queued (out-of-order parent) behind it.
                self.queue.push_front(placed);
                Ok(reg)
            }
            None => Ok(placed),
        }
    }

    fn advance_flow(
        &mut self,
        i: usize,
        lookup: &mut dyn Lookup,
        now: DateTime<Utc>,
        progress: f64,
    ) -> Result<DemoEvent> {
        let Self {
            rng,
            flows,
            queue,
            customers,
            ..
        } = self;
        let f = flows
            .get_mut(i)
            .ok_or_else(|| anyhow!("no open flow #{i}"))?;
        let ev = match f.stage {
            Stage::New => {
                let (version, payload) = order_placed_payload(rng, f, progress);
                f.order_v += 1;
                let cmd = format!("cmd-{}", uuid(rng));
                let user = customer_stream(f.customer);
                let m = meta(&f.correlation, Some(cmd), &user);
                let placed = event(rng, &f.order, f.order_v, "OrderPlaced", version, payload, m);
                f.cause.clone_from(&placed.event_id);
                f.stage = Stage::Placed;
                if OUT_OF_ORDER_FLOWS.contains(&f.n) {
                    // The child is recorded before its parent.
                    let child = payment_requested(rng, f, placed.event_id.clone());
                    queue.push_back(placed);
                    child
                } else {
                    placed
                }
            }
            Stage::Placed => {
                if rng.f64() < 0.05 {
                    f.order_v += 1;
                    let payload = json!({ "orderId": f.order, "reason": "customer request" });
                    let cmd = format!("cmd-{}", uuid(rng));
                    let user = customer_stream(f.customer);
                    let m = meta(&f.correlation, Some(cmd), &user);
                    f.stage = Stage::Done;
                    event(rng, &f.order, f.order_v, "OrderCancelled", 1, payload, m)
                } else {
                    let cause = if MISSING_PARENT_FLOWS.contains(&f.n) {
                        uuid(rng) // an event id that no event carries
                    } else {
                        f.cause.clone()
                    };
                    payment_requested(rng, f, cause)
                }
            }
            Stage::AwaitingPayment => {
                f.payment_v += 1;
                let m = meta(&f.correlation, Some(f.cause.clone()), "payment-service");
                let ev = if rng.f64() < 0.85 {
                    f.stage = Stage::Captured;
                    let payload = json!({
                        "paymentId": f.payment,
                        "amountCents": f.amount_cents,
                        "authCode": format!("{:06X}", rng.u32(..0x100_0000)),
                    });
                    event(
                        rng,
                        &f.payment,
                        f.payment_v,
                        "PaymentCaptured",
                        1,
                        payload,
                        m,
                    )
                } else {
                    f.stage = Stage::PaymentFailed;
                    let payload = json!({
                        "paymentId": f.payment,
                        "reason": pick(rng, &PAYMENT_ERRORS),
                        "attempt": f.attempts,
                    });
                    event(rng, &f.payment, f.payment_v, "PaymentFailed", 1, payload, m)
                };
                f.cause.clone_from(&ev.event_id);
                ev
            }
            Stage::PaymentFailed => {
                let m = meta(&f.correlation, Some(f.cause.clone()), "payment-service");
                let ev = if f.attempts < 3 && rng.f64() < 0.7 {
                    f.attempts += 1;
                    f.payment_v += 1;
                    f.stage = Stage::AwaitingPayment;
                    let payload = json!({ "paymentId": f.payment, "attempt": f.attempts });
                    event(
                        rng,
                        &f.payment,
                        f.payment_v,
                        "PaymentRetried",
                        1,
                        payload,
                        m,
                    )
                } else {
                    f.order_v += 1;
                    f.stage = Stage::Done;
                    let payload = json!({ "orderId": f.order, "reason": "payment failed" });
                    let m = Meta {
                        user: Some("order-service".to_owned()),
                        ..m
                    };
                    event(rng, &f.order, f.order_v, "OrderCancelled", 1, payload, m)
                };
                f.cause.clone_from(&ev.event_id);
                ev
            }
            Stage::Captured => {
                f.order_v += 1;
                f.stage = Stage::Paid;
                f.tier_upgrade = rng.f64() < 0.1;
                let payload = json!({ "orderId": f.order, "paymentId": f.payment });
                let m = meta(&f.correlation, Some(f.cause.clone()), "order-service");
                let ev = event(rng, &f.order, f.order_v, "OrderPaid", 1, payload, m);
                f.cause.clone_from(&ev.event_id);
                ev
            }
            Stage::Paid if f.tier_upgrade => {
                // A loyalty upgrade caused by the payment; the flow's cause stays OrderPaid.
                f.tier_upgrade = false;
                let c = customer_sim(customers, lookup, f.customer)?;
                let mut tier = rng.usize(..TIERS.len() - 1);
                if tier >= c.tier {
                    tier += 1;
                }
                c.tier = tier;
                c.version += 1;
                let (version, payload) = tier_payload(progress, tier, now);
                let m = meta(&f.correlation, Some(f.cause.clone()), "loyalty-service");
                let stream = customer_stream(f.customer);
                event(
                    rng,
                    &stream,
                    c.version,
                    "CustomerTierChanged",
                    version,
                    payload,
                    m,
                )
            }
            Stage::Paid => {
                f.shipment_v += 1;
                f.stage = Stage::ShipmentCreated;
                let (city, country) = pick(rng, &CITIES);
                let payload = json!({
                    "shipmentId": f.shipment,
                    "orderId": f.order,
                    "carrier": pick(rng, &CARRIERS),
                    "address": { "city": city, "country": country },
                });
                let m = meta(&f.correlation, Some(f.cause.clone()), "warehouse-service");
                let ev = event(
                    rng,
                    &f.shipment,
                    f.shipment_v,
                    "ShipmentCreated",
                    1,
                    payload,
                    m,
                );
                f.cause.clone_from(&ev.event_id);
                ev
            }
            Stage::ShipmentCreated => {
                f.shipment_v += 1;
                f.stage = Stage::Dispatched;
                f.tracking = format!("TRK{:010}", rng.u64(..10_000_000_000));
                let payload = json!({ "shipmentId": f.shipment, "trackingNumber": f.tracking });
                let m = meta(&f.correlation, Some(f.cause.clone()), "warehouse-service");
                let ev = event(
                    rng,
                    &f.shipment,
                    f.shipment_v,
                    "ShipmentDispatched",
                    1,
                    payload,
                    m,
                );
                f.cause.clone_from(&ev.event_id);
                f.dispatched.clone_from(&ev.event_id);
                ev
            }
            Stage::Dispatched => {
                f.order_v += 1;
                f.stage = Stage::Shipped;
                let payload = json!({
                    "orderId": f.order,
                    "shipmentId": f.shipment,
                    "trackingNumber": f.tracking,
                });
                let m = meta(&f.correlation, Some(f.dispatched.clone()), "order-service");
                event(rng, &f.order, f.order_v, "OrderShipped", 1, payload, m)
            }
            Stage::Shipped => {
                f.shipment_v += 1;
                f.stage = Stage::Done;
                let payload =
                    json!({ "shipmentId": f.shipment, "signedBy": pick(rng, &LAST_NAMES) });
                let m = meta(
                    &f.correlation,
                    Some(f.dispatched.clone()),
                    "carrier-webhook",
                );
                event(
                    rng,
                    &f.shipment,
                    f.shipment_v,
                    "ShipmentDelivered",
                    1,
                    payload,
                    m,
                )
            }
            Stage::Done => return Err(anyhow!("flow {} is already done", f.n)),
        };
        Ok(ev)
    }
}

/// Deliberately corrupts a snapshot state: balance off by a few cents (half
/// the time), a missing `owner`, or a transaction count off by one.
fn drift(rng: &mut Rng, state: &mut Value) {
    let Value::Object(s) = state else { return };
    match rng.u8(..4) {
        0 | 1 => {
            let off = rng.i64(1..=9) * if rng.bool() { 1 } else { -1 };
            add(s, "balanceCents", off);
        }
        2 => {
            s.shift_remove("owner");
        }
        _ => add(s, "transactions", 1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fold(events: &[(&str, Value)]) -> Value {
        events
            .iter()
            .fold(Value::Null, |s, (t, p)| demo_reduce(s, t, p))
    }

    #[test]
    fn account_fold() {
        let s = fold(&[
            (
                "AccountOpened",
                json!({"accountId": "account-0001", "owner": "Ada", "currency": "EUR"}),
            ),
            (
                "Deposited",
                json!({"amountCents": 1000, "reference": "salary-1"}),
            ),
            (
                "Withdrawn",
                json!({"amountCents": 250, "reference": "atm-2"}),
            ),
            ("AccountFrozen", json!({"reason": "kyc review"})),
        ]);
        assert_eq!(
            s,
            json!({"accountId": "account-0001", "owner": "Ada", "currency": "EUR",
                   "balanceCents": 750, "status": "frozen", "transactions": 2,
                   "lastReference": "atm-2", "frozenReason": "kyc review"})
        );
        let s = demo_reduce(s, "AccountUnfrozen", &json!({}));
        assert_eq!(s["status"], "open");
        assert!(s.get("frozenReason").is_none());
    }

    #[test]
    fn order_placed_v1_and_v2_fold_alike() {
        let v1 = json!({"orderId": "order-1", "customerId": "customer-1", "total": "21.48",
                        "items": [{"sku": "SKU-1", "qty": 2, "price": "9.99"}, {"sku": "SKU-2", "qty": 1, "price": "1.5"}]});
        let v2 = json!({"orderId": "order-1", "customerId": "customer-1", "totalCents": 2148, "currency": "EUR",
                        "lines": [{"sku": "SKU-1", "qty": 2, "priceCents": 999}, {"sku": "SKU-2", "qty": 1, "priceCents": 150}]});
        assert_eq!(
            demo_reduce(Value::Null, "OrderPlaced", &v1),
            demo_reduce(Value::Null, "OrderPlaced", &v2)
        );
    }

    #[test]
    fn tier_changed_versions() {
        let reg =
            json!({"customerId": "customer-1", "name": "Ada", "email": "a@x", "country": "NL"});
        let base = demo_reduce(Value::Null, "CustomerRegistered", &reg);
        let v1 = demo_reduce(
            base.clone(),
            "CustomerTierChanged",
            &json!({"tier": "gold"}),
        );
        assert_eq!(v1["tier"], "gold");
        assert_eq!(v1["discountPct"], 10);
        let v2 = demo_reduce(
            base.clone(),
            "CustomerTierChanged",
            &json!({"tier": "gold", "since": "2024-01-02"}),
        );
        let v3 = demo_reduce(
            base,
            "CustomerTierChanged",
            &json!({"tier": {"name": "gold", "since": "2024-01-02", "discountPct": 10}}),
        );
        assert_eq!(v2, v3);
    }

    #[test]
    fn unknown_events_merge() {
        let s = demo_reduce(json!({"a": 1}), "Whatever", &json!({"b": 2}));
        assert_eq!(s, json!({"a": 1, "b": 2}));
        assert_eq!(demo_reduce(json!(3), "Whatever", &json!(4)), json!({}));
    }

    #[test]
    fn uuid_shape() {
        let mut rng = Rng::with_seed(1);
        let id = uuid(&mut rng);
        let parts: Vec<&str> = id.split('-').collect();
        assert_eq!(
            parts.iter().map(|p| p.len()).collect::<Vec<_>>(),
            [8, 4, 4, 4, 12]
        );
        assert!(
            id.chars()
                .all(|c| c == '-' || c.is_ascii_digit() || ('a'..='f').contains(&c))
        );
        assert_eq!(parse_cents("123.45"), Some(12345));
        assert_eq!(stream_number("order-000042"), Some(42));
    }
}
