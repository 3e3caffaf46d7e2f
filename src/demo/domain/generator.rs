//! The generator's state and the payload builders: metadata, accounts, customers and order flows.

use super::*;

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

pub(super) struct AccountSim {
    pub(super) stream: String,
    pub(super) version: u32,
    pub(super) state: Value,
}

pub(super) struct CustomerSim {
    pub(super) version: u32,
    pub(super) tier: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Stage {
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
pub(super) struct Flow {
    pub(super) n: u64,
    pub(super) order: String,
    pub(super) payment: String,
    pub(super) shipment: String,
    pub(super) correlation: String,
    pub(super) customer: u32,
    pub(super) stage: Stage,
    pub(super) order_v: u32,
    pub(super) payment_v: u32,
    pub(super) shipment_v: u32,
    /// Event id of the flow's latest event: the cause of the next one.
    pub(super) cause: String,
    /// Event id of `ShipmentDispatched` (causes both `OrderShipped` and `ShipmentDelivered`).
    pub(super) dispatched: String,
    pub(super) amount_cents: i64,
    pub(super) currency: &'static str,
    pub(super) attempts: u32,
    pub(super) tier_upgrade: bool,
    pub(super) tracking: String,
}

/// The deterministic event generator (see the module docs).
pub(crate) struct Generator {
    pub(super) rng: Rng,
    pub(super) cfg: GenConfig,
    pub(super) accounts: HashMap<u32, AccountSim>,
    pub(super) customers: HashMap<u32, CustomerSim>,
    pub(super) flows: Vec<Flow>,
    pub(super) queue: VecDeque<DemoEvent>,
    pub(super) snapshots_taken: u64,
}

pub(super) fn meta(correlation: &str, causation: Option<String>, user: &str) -> Meta {
    Meta {
        correlation_id: Some(correlation.to_owned()),
        causation_id: causation,
        user: Some(user.to_owned()),
    }
}

pub(super) fn event(
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

pub(super) fn customer_sim<'a>(
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
pub(super) fn tier_payload(progress: f64, tier: usize, now: DateTime<Utc>) -> (u32, Value) {
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

pub(super) fn order_placed_payload(rng: &mut Rng, f: &mut Flow, progress: f64) -> (u32, Value) {
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

pub(super) fn payment_requested(rng: &mut Rng, f: &mut Flow, cause: String) -> DemoEvent {
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
