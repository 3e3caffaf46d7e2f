// Upcasters for eventscope's demo store: old event schemas → the current ones.
// eventscope loads this file for the demo store (see `upcasters` in eventscope.toml) and
// shows every stored event next to what these functions turn it into (Upcasters view), or
// checks them all: `eventscope upcast demo.db --upcasters upcasters.js --json`.
//
// upcast(eventType, fromVersion, toVersion, (event) => event) registers one step; a stored
// v1 CustomerTierChanged goes through v1 → v2 → v3.
//
// One step below carries a deliberate bug (a field name typo) for the shape check to catch:
// see CustomerTierChanged v2 → v3.

// "12.30" -> 1230 (null when it is not a decimal with at most two places).
function parseCents(text) {
  const m = /^(-?\d+)(?:\.(\d{1,2}))?$/.exec(text);
  if (!m) return null;
  const whole = parseInt(m[1], 10);
  const frac = m[2] === undefined ? 0 : parseInt(m[2].padEnd(2, "0"), 10);
  return whole * 100 + (m[1].startsWith("-") ? -frac : frac);
}

const TIER_DISCOUNT = { standard: 0, silver: 5, gold: 10, platinum: 15 };

// OrderPlaced v1 {orderId, customerId, total: "123.45", items: [{sku, qty, price: "9.99"}]}
// (every v1 order was in EUR) → v2 {orderId, customerId, totalCents, currency, lines: [{sku, qty, priceCents}]}.
upcast("OrderPlaced", 1, 2, (event) => {
  const d = event.data;
  event.data = {
    orderId: d.orderId,
    customerId: d.customerId,
    totalCents: parseCents(d.total),
    currency: "EUR",
    lines: (d.items || []).map((item) => ({
      sku: item.sku,
      qty: item.qty,
      priceCents: parseCents(item.price),
    })),
  };
  return event;
});

// CustomerTierChanged v1 {tier} → v2 {tier, since}: v1 did not record since when; the tier
// changed when the event was recorded.
upcast("CustomerTierChanged", 1, 2, (event) => {
  event.data.since = event.recordedAt.slice(0, 10);
  return event;
});

// CustomerTierChanged v2 {tier, since} → v3 {tier: {name, since, discountPct}}.
upcast("CustomerTierChanged", 2, 3, (event) => {
  const name = event.data.tier;
  event.data = {
    tier: {
      name: name,
      since: event.data.since,
      // Deliberate bug: native v3 events call this field `discountPct`.
      discountPercent: TIER_DISCOUNT[name],
    },
  };
  return event;
});
