//! The simulation: the next event of an account, a customer or an order flow, snapshots and
//! drift injection.

use super::*;

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
pub(super) fn drift(rng: &mut Rng, state: &mut Value) {
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
