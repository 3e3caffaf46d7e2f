// Reducers for eventscope's demo store, in the shape of a KurrentDB projection.
// One file serves every demo category (account, customer, order, payment, shipment):
// handlers are keyed by event type. eventscope picks this file up automatically for the
// demo store (see eventscope.toml beside it).

const TIER_DISCOUNT = { standard: 0, silver: 5, gold: 10, platinum: 15 };

function copy(state, data, from, to) {
  if (data !== null && typeof data === "object" && from in data) {
    state[to === undefined ? from : to] = data[from];
  }
}

function add(state, key, delta) {
  const current = Number.isInteger(state[key]) ? state[key] : 0;
  state[key] = current + delta;
}

function amount(data) {
  return Number.isInteger(data.amountCents) ? data.amountCents : 0;
}

// "12.30" -> 1230 (null when it is not a decimal with at most two places).
function parseCents(text) {
  const m = /^(-?\d+)(?:\.(\d{1,2}))?$/.exec(text);
  if (!m) return null;
  const whole = parseInt(m[1], 10);
  const frac = m[2] === undefined ? 0 : parseInt(m[2].padEnd(2, "0"), 10);
  return whole * 100 + (m[1].startsWith("-") ? -frac : frac);
}

function fresh(state) {
  for (const key of Object.keys(state)) delete state[key];
  return state;
}

fromAll().when({
  $init() {
    return {};
  },

  // --- accounts -----------------------------------------------------------
  AccountOpened(s, e) {
    fresh(s);
    copy(s, e.data, "accountId");
    copy(s, e.data, "owner");
    copy(s, e.data, "currency");
    s.balanceCents = 0;
    s.status = "open";
    s.transactions = 0;
  },
  Deposited(s, e) {
    add(s, "balanceCents", amount(e.data));
    add(s, "transactions", 1);
    copy(s, e.data, "reference", "lastReference");
  },
  Withdrawn(s, e) {
    add(s, "balanceCents", -amount(e.data));
    add(s, "transactions", 1);
    copy(s, e.data, "reference", "lastReference");
  },
  AccountFrozen(s, e) {
    s.status = "frozen";
    copy(s, e.data, "reason", "frozenReason");
  },
  AccountUnfrozen(s) {
    s.status = "open";
    delete s.frozenReason;
  },

  // --- customers ----------------------------------------------------------
  CustomerRegistered(s, e) {
    fresh(s);
    copy(s, e.data, "customerId");
    copy(s, e.data, "name");
    copy(s, e.data, "email");
    copy(s, e.data, "country");
    s.tier = "standard";
    s.discountPct = 0;
  },
  CustomerTierChanged(s, e) {
    const tier = e.data.tier;
    if (tier !== null && typeof tier === "object") {
      // schema v3: {tier: {name, since, discountPct}}
      s.tier = tier.name === undefined ? null : tier.name;
      s.discountPct = tier.discountPct === undefined ? null : tier.discountPct;
      s.tierSince = tier.since === undefined ? null : tier.since;
    } else if (typeof tier === "string") {
      // v1: {tier}; v2: {tier, since}
      s.tier = tier;
      s.discountPct = TIER_DISCOUNT[tier] || 0;
      if ("since" in e.data) s.tierSince = e.data.since;
      else delete s.tierSince;
    }
  },

  // --- orders -------------------------------------------------------------
  OrderPlaced(s, e) {
    fresh(s);
    const d = e.data;
    copy(s, d, "orderId");
    copy(s, d, "customerId");
    if (typeof d.total === "string") {
      // schema v1: decimal strings, implicitly EUR
      s.totalCents = parseCents(d.total);
      s.currency = "EUR";
      s.lines = (Array.isArray(d.items) ? d.items : []).map((item) => ({
        sku: item.sku === undefined ? null : item.sku,
        qty: item.qty === undefined ? null : item.qty,
        priceCents: typeof item.price === "string" ? parseCents(item.price) : null,
      }));
    } else {
      copy(s, d, "totalCents");
      copy(s, d, "currency");
      copy(s, d, "lines");
    }
    s.status = "placed";
  },
  OrderPaid(s, e) {
    s.status = "paid";
    copy(s, e.data, "paymentId");
  },
  OrderShipped(s, e) {
    s.status = "shipped";
    copy(s, e.data, "shipmentId");
    copy(s, e.data, "trackingNumber");
  },
  OrderCancelled(s, e) {
    s.status = "cancelled";
    copy(s, e.data, "reason", "cancelReason");
  },

  // --- payments -----------------------------------------------------------
  PaymentRequested(s, e) {
    for (const key of ["paymentId", "orderId", "amountCents", "currency", "method"]) copy(s, e.data, key);
    s.status = "requested";
    s.attempts = 1;
  },
  PaymentFailed(s, e) {
    s.status = "failed";
    copy(s, e.data, "reason", "lastError");
  },
  PaymentRetried(s, e) {
    s.status = "requested";
    copy(s, e.data, "attempt", "attempts");
  },
  PaymentCaptured(s, e) {
    s.status = "captured";
    copy(s, e.data, "authCode");
  },

  // --- shipments ----------------------------------------------------------
  ShipmentCreated(s, e) {
    fresh(s);
    for (const key of ["shipmentId", "orderId", "carrier", "address"]) copy(s, e.data, key);
    s.status = "created";
  },
  ShipmentDispatched(s, e) {
    s.status = "dispatched";
    copy(s, e.data, "trackingNumber");
  },
  ShipmentDelivered(s) {
    s.status = "delivered";
  },

  // Anything else: merge the payload's fields.
  $any(s, e) {
    if (e.data !== null && typeof e.data === "object" && !Array.isArray(e.data)) {
      Object.assign(s, e.data);
    }
  },
});
