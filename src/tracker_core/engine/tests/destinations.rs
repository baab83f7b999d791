//! `destinations`: each endpoint's own queue, routing by `events`, retries and refusals that
//! stay in their lane, `flush()` over every lane, beacons, stored copies adopted by the lane of
//! the same destination, consent over every lane.

use super::*;

const B: &str = "https://b.example/v1/batch";
const C: &str = "https://c2.example/in";

/// `endpoint` (writeKey `main`), then destination B for orders and identifies only, then
/// destination C for everything.
fn two(extra: &str) -> Config {
    cfg(&[
        ",\"pageViews\":false,\"writeKey\":\"main\",\"destinations\":[",
        "{\"endpoint\":\"",
        B,
        "\",\"events\":[\"Order Completed\",\"identify\"]},",
        "{\"endpoint\":\"",
        C,
        "\",\"writeKey\":\"kc\"}]",
        extra,
    ]
    .concat())
}

fn lanes_sent(r: &Run) -> Vec<usize> {
    let mut l = r.sent_to.clone();
    l.sort_unstable();
    l
}

#[test]
fn each_destination_gets_the_events_it_names_with_its_own_write_key() {
    let mut r = Run::start(Fake::new("https://s/"), two(""), 0);
    r.call("track", r#"["Product Viewed",{}]"#);
    r.call("track", r#"["Order Completed",{"order_id":"o-1"}]"#);
    r.call("identify", r#"["u-1",{}]"#);
    r.call("flush", "[]");
    assert_eq!(lanes_sent(&r), [0, 1, 2], "one request per lane, at once");
    let main = r.answer(200);
    let b = r.answer_to(1, 200);
    let c = r.answer_to(2, 200);
    assert_eq!(count(&main, "\"messageId\""), 3);
    assert!(main.contains("\"writeKey\":\"main\""));
    assert_eq!(count(&b, "\"messageId\""), 2, "{b}");
    assert!(b.contains("\"event\":\"Order Completed\"") && b.contains("\"type\":\"identify\""));
    assert!(!b.contains("writeKey"), "B has no write key");
    assert_eq!(count(&c, "\"messageId\""), 3);
    assert!(c.contains("\"writeKey\":\"kc\""));
    // The same event keeps its messageId everywhere, so a collector that gets it twice
    // stores it once.
    let order = b.split("\"messageId\":\"").nth(1).unwrap()[..36].to_string();
    assert!(main.contains(&order) && c.contains(&order));
    assert_eq!(r.settled, [true], "settled once every lane delivered");
    assert_eq!(r.delivered_to, [(0, 3), (1, 2), (2, 3)]);
}

#[test]
fn a_failing_destination_keeps_its_events_and_holds_flush_while_the_others_deliver() {
    let host = Fake::new("https://s/");
    let mut r = Run::start(host.clone(), two(",\"maxRetries\":1"), 0);
    r.call("track", r#"["Order Completed",{"order_id":"o-1"}]"#);
    r.call("flush", "[]");
    r.answer(200);
    r.answer_to(2, 200);
    assert!(r.settled.is_empty(), "B has not delivered yet");
    r.answer_to(1, 503);
    r.advance(120_000);
    r.answer_to(1, 503);
    assert_eq!(r.settled, [false]);
    assert_eq!(r.errors.len(), 1, "{:?}", r.errors);
    assert_eq!(r.errors[0].0, "delivery_failing");
    assert!(
        r.errors[0]
            .1
            .starts_with(&format!("destinations[0] ({B}): delivery is failing")),
        "{}",
        r.errors[0].1
    );
    // Only B's copy is stored; new events for the others still leave.
    r.advance(PERSIST_DELAY_MS);
    let keys = r.queue_keys();
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0].len(), "shoptrail:q:".len() + 8 + 1 + 8, "{keys:?}");
    assert!(keys[0].starts_with(r.e.queue_key()));
    assert_eq!(r.e.queued(), 1);
    r.call("track", r#"["Product Viewed",{}]"#);
    r.call("flush", "[]");
    assert!(r.answer(200).contains("Product Viewed"));
    assert!(r.answer_to(2, 200).contains("Product Viewed"));
    // The flush retried B at once; it fails again, and the flush is answered then.
    assert_eq!(r.settled, [false]);
    r.answer_to(1, 0);
    assert_eq!(r.settled, [false, false]);
    // B comes back: its event leaves, once.
    r.advance(120_000);
    let b = r.answer_to(1, 200);
    assert_eq!(count(&b, "\"messageId\""), 1);
    assert!(b.contains("Order Completed"));
    assert_eq!(r.e.queued(), 0);
    r.advance(PERSIST_DELAY_MS);
    assert!(r.queue_keys().is_empty());
}

#[test]
fn a_refusal_in_one_lane_drops_only_that_lanes_batch_and_names_it() {
    let mut r = Run::start(Fake::new("https://s/"), two(""), 0);
    r.call("track", r#"["A",{}]"#);
    r.call("flush", "[]");
    r.answer_to(2, 400);
    r.answer(200);
    assert_eq!(r.settled, [false]);
    assert_eq!(r.errors[0].0, "rejected");
    assert!(r.errors[0]
        .1
        .starts_with(&format!("destinations[1] ({C}): ")));
    assert_eq!(r.e.queued(), 0);
}

#[test]
fn a_leaving_page_sends_a_beacon_per_lane() {
    let mut r = Run::start(Fake::new("https://s/"), two(""), 0);
    r.call("track", r#"["Order Completed",{}]"#);
    r.hide(true, 10);
    // Page Left goes to endpoint and C; the order to all three.
    assert_eq!(r.beacons_to, [0, 1, 2]);
    assert_eq!(count(&r.beacons[1], "\"messageId\""), 1);
    assert!(r.beacons[2].contains("\"writeKey\":\"kc\""));
    assert_eq!(r.e.queued(), 0);
}

#[test]
fn stored_events_go_to_the_same_destination_on_the_next_page_whatever_its_place() {
    let host = Fake::new("https://s/");
    let mut first = Run::start(host.clone(), two(""), 0);
    first.beacon_ok = false;
    first.call("track", r#"["Order Completed",{"order_id":"o-9"}]"#);
    first.hide(true, 5);
    assert_eq!(first.queue_keys().len(), 3);
    // The next page names B second, and C not at all.
    let next = cfg(&[
        ",\"pageViews\":false,\"destinations\":[{\"endpoint\":\"https://d.example/x\"},",
        "{\"endpoint\":\"",
        B,
        "\"}]",
    ]
    .concat());
    let mut second = Run::start(host.clone(), next, 100);
    assert_eq!(second.e.queued(), 2, "endpoint's and B's copies");
    second.call("flush", "[]");
    assert_eq!(lanes_sent(&second), [0, 2]);
    assert!(second.answer_to(2, 200).contains("o-9"));
    assert!(second.answer(200).contains("o-9"));
    second.advance(PERSIST_DELAY_MS);
    // C's copy waits for a page that names C...
    let left = second.queue_keys();
    assert_eq!(left.len(), 1, "{left:?}");
    let mut third = Run::start(host.clone(), two(""), 200);
    assert_eq!(third.e.queued(), 1);
    third.call("flush", "[]");
    assert!(third.answer_to(2, 200).contains("o-9"));
}

#[test]
fn stored_events_of_a_destination_no_page_names_for_a_week_are_dropped() {
    let host = Fake::new("https://s/");
    let mut first = Run::start(host.clone(), two(""), 0);
    first.beacon_ok = false;
    first.call("track", r#"["Order Completed",{}]"#);
    first.hide(true, 5);
    let plain = cfg(",\"pageViews\":false");
    let destination_keys = || {
        let keys = host.mem.borrow().keys(store::Q_PREFIX);
        keys.iter().filter(|k| k.matches(':').count() == 3).count()
    };
    let r = Run::start(host.clone(), plain.clone(), 1_000);
    assert_eq!(r.e.queued(), 1, "endpoint's copy is taken");
    assert_eq!(destination_keys(), 2, "B's and C's are left");
    Run::start(host.clone(), plain.clone(), 5 + lanes::ABANDONED_MS - 1);
    assert_eq!(destination_keys(), 2);
    Run::start(host.clone(), plain, 5 + lanes::ABANDONED_MS);
    assert_eq!(destination_keys(), 0);
}

#[test]
fn consent_holds_and_grants_in_every_lane_and_a_withdrawal_empties_them() {
    let opt_in = ",\"consent\":{\"required\":true}";
    let mut r = Run::start(Fake::new("https://s/"), two(opt_in), 0);
    r.call("track", r#"["Order Completed",{}]"#);
    r.call("flush", "[]");
    assert!(r.sent.is_empty());
    r.call("consent.grant", "[]");
    r.call("flush", "[]");
    assert_eq!(lanes_sent(&r), [0, 1, 2]);
    for lane in [1, 2] {
        assert!(r.answer_to(lane, 200).contains("\"consent\":{"));
    }
    assert!(r.answer(200).contains("\"consent\":{"));
    // Events waiting in every lane when the shopper withdraws: dropped, nothing stored.
    r.call("track", r#"["Order Completed",{}]"#);
    r.advance(PERSIST_DELAY_MS);
    assert_eq!(r.e.queued(), 3);
    assert_eq!(r.queue_keys().len(), 3);
    r.call("consent.revoke", "[]");
    r.advance(PERSIST_DELAY_MS);
    assert_eq!(r.e.queued(), 0);
    assert!(r.queue_keys().is_empty());
    r.call("track", r#"["Order Completed",{}]"#);
    assert_eq!(r.e.queued(), 0);
}

#[test]
fn a_changed_event_follows_the_route_of_the_call_that_made_it() {
    let mw = two(",\"beforeSend\":\"\\u0000f\"");
    let mut r = Run::with_middleware(Fake::new("https://s/"), mw, 0, |ev| {
        Some(ev.replace("\"Order Completed\"", "\"Order Placed\""))
    });
    r.call("track", r#"["Order Completed",{}]"#);
    r.call("flush", "[]");
    assert!(r.answer_to(1, 200).contains("Order Placed"));
}

/// The lanes and `keepalive` of the requests the engine asked for since the last poll.
fn sends(e: &mut Engine<Fake>) -> Vec<(usize, bool)> {
    core::iter::from_fn(|| e.poll_action())
        .filter_map(|a| match a {
            Action::Send {
                lane, keepalive, ..
            } => Some((lane, keepalive)),
            _ => None,
        })
        .collect()
}

#[test]
fn lanes_share_the_browsers_keepalive_quota() {
    let mut e = Engine::new(two(",\"batchSize\":1"), Fake::new("https://s/"), 0);
    let big = format!(r#"["Viewed",{{"notes":"{}"}}]"#, "x".repeat(31_500));
    e.call(Method::Track, &big, 0);
    // Two 32 KB bodies do not both fit in 60 KB: the second goes without keepalive.
    assert_eq!(sends(&mut e), [(0, true), (2, false)]);
    e.handle_response(0, 200, None, 1);
    e.call(Method::Track, &big, 2);
    assert_eq!(
        sends(&mut e),
        [(0, true)],
        "lane 2 is still under way; lane 0's quota is back"
    );
}
