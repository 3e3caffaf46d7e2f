//! The demo's reference reducer: folds every event type and schema version the demo writes.

use super::*;

pub(super) fn set(s: &mut Map<String, Value>, key: &str, value: impl Into<Value>) {
    match s.get_mut(key) {
        Some(slot) => *slot = value.into(),
        None => {
            s.insert(key.to_owned(), value.into());
        }
    }
}

pub(super) fn copy_as(s: &mut Map<String, Value>, payload: &Value, from: &str, to: &str) {
    if let Some(v) = payload.get(from) {
        set(s, to, v.clone());
    }
}

pub(super) fn copy(s: &mut Map<String, Value>, payload: &Value, key: &str) {
    copy_as(s, payload, key, key);
}

pub(super) fn add(s: &mut Map<String, Value>, key: &str, delta: i64) {
    let current = s.get(key).and_then(Value::as_i64).unwrap_or(0);
    set(s, key, current + delta);
}

pub(super) fn amount(payload: &Value) -> i64 {
    payload
        .get("amountCents")
        .and_then(Value::as_i64)
        .unwrap_or(0)
}

pub(super) fn tier_discount(name: &str) -> i64 {
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
