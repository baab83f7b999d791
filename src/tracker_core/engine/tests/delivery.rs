//! Delivery on the virtual clock: when batches leave, how `flush()` resolves, retries and
//! refusals, beacons and persistence on hide, queue adoption, gzip and keepalive, storage
//! failures, bad calls, event listeners.

use super::*;

#[test]
fn the_first_page_view_leaves_after_the_flush_interval() {
    let mut r = Run::start(Fake::new("https://www.shop.example/"), cfg(""), 1_000);
    assert!(r.sent.is_empty());
    assert_eq!(r.scans, [0], "the page is read once parsed");
    r.advance(999);
    assert!(r.sent.is_empty());
    r.advance(1);
    let body = r.answer(200);
    assert_eq!(count(&body, "\"type\":\"page\""), 1);
    assert!(body.contains("\"referrer\":\"https://search.example/\""));
    assert_eq!(r.delivered, 1);
    assert_eq!(r.e.queued(), 0);
}

#[test]
fn init_is_quick_and_the_first_page_view_follows_at_start() {
    let host = Fake::new("https://s/");
    let mut e = Engine::new(cfg(""), host.clone(), 0);
    assert_eq!(e.queued(), 0, "no event is built by init");
    assert!(core::iter::from_fn(|| e.poll_action()).all(|a| !matches!(a, Action::Scan(_))));
    e.handle_start(5);
    assert_eq!(e.queued(), 1, "the first page view");
    let actions: Vec<Action> = core::iter::from_fn(|| e.poll_action()).collect();
    assert!(actions.contains(&Action::Scan(0)));
}

#[test]
fn a_burst_is_one_storage_write_50_ms_later_not_one_per_event() {
    let mut r = Run::start(Fake::new("https://s/"), cfg(",\"pageViews\":false"), 0);
    let before = r.host.mem.borrow().writes;
    for _ in 0..10 {
        r.call("track", r#"["Clicked",{}]"#);
    }
    assert_eq!(r.host.mem.borrow().writes, before, "nothing written yet");
    r.advance(PERSIST_DELAY_MS);
    assert_eq!(r.host.mem.borrow().writes, before + 1);
    assert_eq!(r.queue_keys().len(), 1);
    // batchSize 20 not reached; the interval sends them.
    r.advance(1_000);
    r.answer(200);
    r.advance(PERSIST_DELAY_MS);
    assert!(r.queue_keys().is_empty(), "a delivered queue is removed");
}

#[test]
fn flush_resolves_true_once_delivered_and_at_once_when_empty() {
    let mut r = Run::start(Fake::new("https://s/"), cfg(",\"pageViews\":false"), 0);
    r.call("flush", "[]");
    assert_eq!(r.settled, [true]);
    r.call("track", r#"["A",{}]"#);
    r.call("flush", "[]");
    assert_eq!(r.sent.len(), 1, "flush sends at once");
    assert_eq!(r.settled, [true]);
    r.answer(200);
    assert_eq!(r.settled, [true, true]);
}

#[test]
fn flush_resolves_false_when_delivery_keeps_failing_and_events_are_kept() {
    let mut r = Run::start(
        Fake::new("https://s/"),
        cfg(",\"pageViews\":false,\"maxRetries\":2"),
        0,
    );
    r.call("track", r#"["A",{}]"#);
    r.call("flush", "[]");
    for _ in 0..3 {
        r.answer(503);
        r.advance(120_000);
    }
    assert_eq!(r.settled, [false]);
    assert_eq!(r.errors.len(), 1);
    assert_eq!(r.errors[0].0, "delivery_failing");
    assert_eq!(r.e.queued(), 1, "kept for later");
    r.answer(200);
    assert_eq!(r.e.queued(), 0);
}

#[test]
fn a_refused_batch_is_dropped_and_flush_says_false() {
    let mut r = Run::start(Fake::new("https://s/"), cfg(",\"pageViews\":false"), 0);
    r.call("track", r#"["A",{}]"#);
    r.call("flush", "[]");
    r.answer(400);
    assert_eq!(r.settled, [false]);
    assert_eq!(r.errors[0].0, "rejected");
    assert!(r.errors[0].1.contains("HTTP 400"));
}

#[test]
fn hidden_pages_hand_events_to_beacons_then_persist_what_is_left() {
    let mut r = Run::start(Fake::new("https://s/"), cfg(",\"pageViews\":false"), 0);
    r.call("track", r#"["A",{}]"#);
    r.e.handle_hide(true, 10);
    r.drain();
    assert_eq!(r.beacons.len(), 1);
    assert!(r.beacons[0].contains("\"event\":\"A\""));
    assert_eq!(r.e.queued(), 0);
    // A refused beacon keeps the events, persisted and marked released for the next page.
    r.beacon_ok = false;
    r.call("track", r#"["B",{}]"#);
    r.hide(true, 20);
    assert_eq!(r.e.queued(), 1);
    let keys = r.queue_keys();
    let text = r.stored(&keys[0]).unwrap();
    assert!(text.starts_with("st2 r "), "{text}");
    let stored = queue::decode(&text).unwrap();
    assert!(
        stored.events[0].1.ends_with("\"sessionId\":0}}"),
        "the context is put back"
    );
}

#[test]
fn a_new_page_adopts_a_released_queue_and_sends_it() {
    let host = Fake::new("https://s/");
    let mut first = Run::start(host.clone(), cfg(",\"pageViews\":false"), 0);
    first.beacon_ok = false;
    first.call("track", r#"["Left behind",{}]"#);
    first.hide(true, 5);
    let mut second = Run::start(host.clone(), cfg(",\"pageViews\":false"), 100);
    assert_eq!(second.e.queued(), 1);
    assert_eq!(
        second.queue_keys().len(),
        1,
        "its own copy replaced the old one"
    );
    second.call("flush", "[]");
    assert!(second.answer(200).contains("Left behind"));
}

#[test]
fn a_queue_whose_page_lock_nobody_holds_is_taken_over_at_once() {
    let host = Fake::new("https://s/");
    // A page that went away without saying so (its tab crashed): its queue looks alive.
    let mut gone = Run::start(host.clone(), cfg(",\"pageViews\":false"), 0);
    gone.beacon_ok = false;
    gone.call("track", r#"["Orphan",{}]"#);
    gone.hide(false, 5);
    let orphan = gone.e.queue_key().to_string();
    let mut next = Run::start(host.clone(), cfg(",\"pageViews\":false"), 1_000);
    assert_eq!(next.e.queued(), 0, "not stale yet");
    // Its lock is still held: the page lives (a background tab); nothing is taken.
    let own = next.e.queue_key().to_string();
    next.e
        .handle_adopt(&[orphan.as_str(), &own].join("\n"), 1_001);
    assert_eq!(next.e.queued(), 0);
    // Nobody holds it: taken over, sent once.
    next.e.handle_adopt(&own, 1_002);
    next.drain();
    assert_eq!(next.e.queued(), 1);
    assert_eq!(next.queue_keys(), [own]);
    next.call("flush", "[]");
    assert!(next.answer(200).contains("Orphan"));
}

#[test]
fn event_listeners_get_each_event_as_it_will_be_sent() {
    let mut r = Run::start(Fake::new("https://s/"), cfg(",\"pageViews\":false"), 0);
    r.e.set_event_listeners(1);
    r.call("track", r#"["Product Added",{"price":24}]"#);
    assert_eq!(r.events.len(), 1);
    assert!(r.events[0].contains("\"properties\":{\"price\":24}"));
}

#[test]
fn bad_calls_are_reported_and_change_nothing() {
    let mut r = Run::start(Fake::new("https://s/"), cfg(",\"pageViews\":false"), 0);
    r.call("track", r#"["A",[1,2]]"#);
    r.call("track", r#"["",{}]"#);
    r.call("page", r#"["Home","\u0000f"]"#);
    r.call("cart.add", r#"["not a product"]"#);
    r.call("cart.add", r#"[{"product_id":"a","price":1.999}]"#);
    r.call("checkout.step", r#"[0]"#);
    r.call("productList.viewed", r#"[{"products":5}]"#);
    let codes: Vec<&str> = r.errors.iter().map(|(c, _)| *c).collect();
    assert_eq!(codes.len(), 7, "{:?}", r.errors);
    assert!(r.errors[3].1.starts_with("the product must be an object"));
    assert_eq!(r.e.queued(), 0);
    assert_eq!(
        r.call("cart.get", "[]")
            .as_deref()
            .map(|c| c.contains("\"products\":[]")),
        Some(true)
    );
}

#[test]
fn a_full_storage_is_reported_once() {
    let host = Fake::new("https://s/");
    host.mem.borrow_mut().full = true;
    let mut r = Run::start(host, cfg(",\"pageViews\":false"), 0);
    for _ in 0..3 {
        r.call("track", r#"["A",{}]"#);
        r.advance(PERSIST_DELAY_MS);
    }
    let n = r
        .errors
        .iter()
        .filter(|(c, _)| *c == "storage_unavailable")
        .count();
    assert_eq!(n, 1);
}

#[test]
fn gzip_and_keepalive_follow_the_config_and_body_size() {
    let mut e = Engine::new(
        cfg(",\"pageViews\":false,\"compress\":true,\"batchSize\":3"),
        Fake::new("https://s/"),
        0,
    );
    for _ in 0..3 {
        e.call(Method::Track, r#"["A",{}]"#, 0);
    }
    let send = core::iter::from_fn(|| e.poll_action())
        .find(|a| matches!(a, Action::Send { .. }))
        .unwrap();
    assert!(matches!(
        send,
        Action::Send {
            gzip: true,
            keepalive: true,
            timeout_ms: REQUEST_TIMEOUT_MS,
            ..
        }
    ));
}

/// For profiling (`cargo test --release -- --ignored track_cost` under callgrind): the engine's
/// own cost of `track` with the arguments the JavaScript host sends.

#[test]
#[ignore]
fn track_cost() {
    let mut r = Run::start(
        Fake::new("https://www.shop.example/p/mug"),
        cfg(",\"pageViews\":false,\"flushInterval\":60000"),
        0,
    );
    let args = r#"["Product Added",{"product_id":"nw-001","sku":"NW-001","name":"Enamel Camp Mug","price":24,"quantity":1,"currency":"USD"}]"#;
    for i in 0..20_000 {
        r.now = i / 10;
        r.e.call(Method::Track, args, r.now);
        r.drain();
        if r.in_flight.is_some() {
            r.answer(200);
        }
    }
    assert!(r.e.queued() < 600);
}
