//! `beforeSend` on the virtual clock: events changed, dropped or kept, in order, with flush
//! and the listeners seeing what is sent.

use super::*;

const MW: &str = ",\"pageViews\":false,\"beforeSend\":\"\\u0000f\"";

/// A middleware as a page would write it, on the event's text: drops `Debug`, adds
/// `"plan":"pro"` to `Order Completed`, answers garbage for `Broken`, keeps the rest.
fn shop_middleware(event: &str) -> Option<String> {
    if event.contains("\"event\":\"Debug\"") {
        return Some(String::new());
    }
    if event.contains("\"event\":\"Broken\"") {
        return Some("{\"type\":\"track\"}".into());
    }
    if event.contains("\"event\":\"Order Completed\"") {
        let cut = event.find("\"properties\":{").unwrap() + "\"properties\":{".len();
        return Some([&event[..cut], "\"plan\":\"pro\",", &event[cut..]].concat());
    }
    None
}

#[test]
fn events_are_changed_dropped_or_kept_in_their_order() {
    let mut r = Run::with_middleware(Fake::new("https://s/"), cfg(MW), 0, shop_middleware);
    r.call("on", r#"["event"]"#);
    r.e.set_event_listeners(1);
    for name in ["A", "Debug", "Order Completed", "B"] {
        r.call("track", &format!(r#"["{name}",{{"n":1}}]"#));
    }
    r.call("flush", "[]");
    let body = r.answer(200);
    assert_eq!(r.settled, [true]);
    let order: Vec<&str> = ["\"A\"", "\"Order Completed\"", "\"B\""]
        .into_iter()
        .filter(|n| body.contains(*n))
        .collect();
    assert_eq!(order.len(), 3, "{body}");
    assert!(body.find("\"A\"") < body.find("\"Order Completed\""));
    assert!(body.find("\"Order Completed\"") < body.find("\"B\""));
    assert_eq!(count(&body, "\"Debug\""), 0, "dropped");
    assert_eq!(count(&body, "\"plan\":\"pro\",\"n\":1"), 1, "changed");
    assert_eq!(r.delivered, 3);
    // Listeners see what is sent: the changed event, not the dropped one.
    assert_eq!(r.events.len(), 3);
    assert!(r.events[1].contains("\"plan\":\"pro\""));
    assert!(r.errors.is_empty(), "{:?}", r.errors);
}

#[test]
fn an_unusable_answer_is_reported_and_the_event_kept_as_it_was() {
    let mut r = Run::with_middleware(Fake::new("https://s/"), cfg(MW), 0, shop_middleware);
    r.call("track", r#"["Broken",{"n":2}]"#);
    assert_eq!(r.errors.len(), 1);
    assert_eq!(r.errors[0].0, "middleware_failed");
    assert!(
        r.errors[0].1.contains("messageId string"),
        "{}",
        r.errors[0].1
    );
    r.call("flush", "[]");
    let body = r.answer(200);
    assert_eq!(
        count(&body, "\"event\":\"Broken\",\"properties\":{\"n\":2}"),
        1
    );
}

#[test]
fn changed_events_survive_a_reload() {
    let host = Fake::new("https://s/");
    let mut r = Run::with_middleware(host.clone(), cfg(MW), 0, shop_middleware);
    r.call("track", r#"["Order Completed",{"order_id":"o1"}]"#);
    r.advance(PERSIST_DELAY_MS);
    assert_eq!(r.queue_keys().len(), 1);
    r.beacon_ok = false;
    r.hide(true, r.now);
    // The next page adopts the stored queue and sends the changed event.
    let mut next = Run::start(host, cfg(",\"pageViews\":false"), 10_000);
    next.call("flush", "[]");
    let body = next.answer(200);
    assert_eq!(
        count(&body, "\"plan\":\"pro\",\"order_id\":\"o1\""),
        1,
        "{body}"
    );
}

#[test]
fn without_before_send_nothing_waits() {
    let mut r = Run::with_middleware(
        Fake::new("https://s/"),
        cfg(",\"pageViews\":false"),
        0,
        |_| panic!("no beforeSend was given"),
    );
    r.call("track", r#"["A",{}]"#);
    assert_eq!(r.e.queued(), 1);
}
