//! The window on a Kafka cluster (Tansu on loopback, as in `kafka.rs`), driven with
//! egui_kittest: open the `kafka://` URL, browse a key's records, and the Projections page
//! with a consumer group's lag per partition.

use egui_kittest::kittest::Queryable as _;
use eventscope::app::Startup;
use eventscope::app::state::View;

use crate::kit::{harness, has_label, wait_until};

#[test]
fn kafka_in_the_window_keys_and_group_lag() {
    let Some((server, sent)) = crate::kafka::started("kafka_in_the_window_keys_and_group_lag")
    else {
        return;
    };
    let on_orders_0 = sent
        .iter()
        .filter(|s| s.topic == "orders" && s.partition == 0)
        .count() as i64;
    crate::kafka::commit_offsets(&server, "projector", &[("orders", 0, 1)]);
    let mut h = harness(Startup::Store(server.url("")));
    wait_until(&mut h, "the key list", |h| has_label(h, "orders/order-2"));
    assert!(has_label(&h, "payments/pay-9"));

    // A key's records, in order.
    h.get_by_label("orders/order-2").click();
    wait_until(&mut h, "the key's records", |h| has_label(h, "OrderPaid"));
    assert!(has_label(&h, "OrderPlaced") && has_label(&h, "ItemAdded"));

    // The group's lag: one line per group, and its partitions folded under it.
    h.get_by_label("Projections").click();
    wait_until(&mut h, "the group's lag", |h| {
        h.state()
            .projections
            .view
            .summaries
            .iter()
            .any(|s| s.name == "projector")
    });
    assert_eq!(h.state().state.view, View::Projections);
    let partitions = h.state().projections.view.partitions["projector"].clone();
    assert_eq!(partitions.len(), 6);
    assert_eq!(partitions[0].committed, Some(1));
    assert_eq!(partitions[0].lag_events, (on_orders_0 - 1) as u64);
    let behind: u64 = partitions.iter().map(|p| p.lag_events).sum();
    let header = format!(
        "projector: 6 partitions, {} behind",
        eventscope::core::thousands(behind)
    );
    assert!(has_label(&h, &header), "{header}");
    h.get_by_label(&header).click();
    for _ in 0..3 {
        h.step();
    }
    assert!(has_label(&h, "High watermark"));
    assert!(
        has_label(&h, "none committed"),
        "partitions 1–5 have no offset"
    );
    drop(server);
}
