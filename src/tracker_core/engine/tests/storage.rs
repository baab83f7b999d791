//! Storage that fails: a full or disabled storage and blocked cookies leave the SDK working in
//! memory with one warning; unreadable stored state is discarded and reported, the rest kept.

use super::*;

#[test]
fn a_full_storage_keeps_state_in_memory_and_warns_once() {
    let host = Fake::new("https://www.shop.example/");
    host.mem.borrow_mut().full = true;
    let mut r = Run::start(host.clone(), cfg(""), 0);
    r.call("identify", r#"["u-1",{"plan":"pro"}]"#);
    r.call("cart.add", r#"[{"product_id":"p-1","price":3}]"#);
    r.call("cart.add", r#"[{"product_id":"p-2","price":4}]"#);
    let cart = r.call("cart.get", "[]").unwrap();
    assert!(cart.contains("p-1") && cart.contains("p-2"), "{cart}");
    r.advance(2_000);
    let body = r.answer(200);
    assert_eq!(count(&body, "\"messageId\""), 4, "{body}");
    let warned: Vec<_> = r
        .errors
        .iter()
        .filter(|e| e.0 == "storage_unavailable")
        .collect();
    assert_eq!(warned.len(), 1, "{:?}", r.errors);
    assert_eq!(r.errors.len(), 1);
    assert!(host.mem.borrow().items.is_empty());
    // Room again: later writes reach storage.
    host.mem.borrow_mut().full = false;
    r.call("cart.add", r#"[{"product_id":"p-3","price":5}]"#);
    let stored = r.stored(store::K_CART).unwrap();
    assert!(stored.contains("p-1") && stored.contains("p-3"), "{stored}");
}

#[test]
fn blocked_cookies_are_told_and_storage_keeps_the_id() {
    let host = Fake::new("https://www.shop.example/");
    host.mem.borrow_mut().block_cookies = true;
    let r = Run::start(host.clone(), cfg(""), 0);
    assert_eq!(
        r.errors
            .iter()
            .filter(|e| e.0 == "storage_unavailable")
            .count(),
        1
    );
    let aid = r.e.anonymous_id().to_string();
    let r2 = Run::start(host, cfg(""), 1);
    assert_eq!(r2.e.anonymous_id(), aid);
}

#[test]
fn unreadable_state_is_discarded_and_reported_and_the_rest_kept() {
    let host = Fake::new("https://www.shop.example/");
    let first = Run::start(host.clone(), cfg(""), 0);
    let aid = first.e.anonymous_id().to_string();
    {
        let mut m = host.mem.borrow_mut();
        m.set(store::K_CART, "sc1 broken");
        m.set(store::K_TRAITS, "{\"plan\":");
        m.set(store::K_UID, "");
        m.set("shoptrail:q:deadbeef", "not a queue");
    }
    let mut r = Run::start(host.clone(), cfg(""), 60_000);
    let corrupt: Vec<_> = r
        .errors
        .iter()
        .filter(|e| e.0 == "storage_corrupted")
        .collect();
    assert_eq!(corrupt.len(), 1, "{:?}", r.errors);
    assert!(
        corrupt[0].1.contains("(cart, traits, user id, queue)"),
        "{}",
        corrupt[0].1
    );
    assert_eq!(r.e.anonymous_id(), aid);
    assert_eq!(r.stored(store::K_TRAITS), None);
    assert!(r.stored("shoptrail:q:deadbeef").is_none());
    r.call("cart.add", r#"[{"product_id":"p-1","price":3}]"#);
    assert!(r.call("cart.get", "[]").unwrap().contains("p-1"));
}

#[test]
fn what_the_sdk_stores_reads_back_without_a_discard() {
    let host = Fake::new("https://www.shop.example/");
    let mut r = Run::start(host.clone(), cfg(""), 0);
    r.call("identify", r#"["u-1",{"plan":"pro"}]"#);
    r.call("cart.add", r#"[{"product_id":"p-1","price":3}]"#);
    r.call("cart.clear", "[]");
    r.call("cart.add", r#"[{"product_id":"p-1","price":0.1}]"#);
    r.call("order.complete", r#"[{"order_id":"o-1"}]"#);
    let r2 = Run::start(host.clone(), cfg(""), 1);
    assert_eq!(r2.errors, [], "{:?}", host.mem.borrow().items);
}
