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
    let reg = json!({"customerId": "customer-1", "name": "Ada", "email": "a@x", "country": "NL"});
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
