//! The JavaScript host's storage, cookies and randomness against the real browser.
#![cfg(target_arch = "wasm32")]

use shoptrail::browser::host::Page;
use shoptrail::tracker_core::engine::Host;
use shoptrail::tracker_core::store::{Backend, Port};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
fn local_storage_round_trip_and_prefix_listing() {
    let mut s = Page::default();
    assert!(s.set("shoptrail-test:a", "1"));
    assert!(s.set("shoptrail-test:b", "two\nlines"));
    assert!(s.set("other", "x"));
    assert_eq!(s.get("shoptrail-test:b").as_deref(), Some("two\nlines"));
    let mut keys = s.keys("shoptrail-test:");
    keys.sort();
    assert_eq!(keys, ["shoptrail-test:a", "shoptrail-test:b"]);
    s.remove("shoptrail-test:a");
    assert_eq!(s.get("shoptrail-test:a"), None);
}

#[wasm_bindgen_test]
fn cookies_set_read_and_delete() {
    let mut port = Port::new(Page::default(), false);
    // The test page is served from 127.0.0.1: an IP address gets a host-only cookie.
    assert_eq!(port.cookie_domain("127.0.0.1"), None);
    port.set_cookie("shoptrail_t", "abc-123", 60, None);
    assert_eq!(port.cookie("shoptrail_t").as_deref(), Some("abc-123"));
    port.set_cookie("shoptrail_t", "", 0, None);
    assert_eq!(port.cookie("shoptrail_t"), None);
}

#[wasm_bindgen_test]
fn random_ids_are_v4_and_distinct() {
    let page = Page::default();
    let ids: Vec<String> = (0..100)
        .map(|_| shoptrail::tracker_core::id::uuid_v4(page.random()))
        .collect();
    for id in &ids {
        assert_eq!(id.len(), 36);
        assert_eq!(&id[14..15], "4");
        assert!(matches!(&id[19..20], "8" | "9" | "a" | "b"), "{id}");
    }
    let mut sorted = ids.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), 100);
}
