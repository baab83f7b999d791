//! The platform adapters against the real browser: storage, cookies, randomness.
#![cfg(target_arch = "wasm32")]

use shoptrail::browser::platform::{cookie_domain, cookie_get, cookie_set, Rng, Store};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
fn local_storage_round_trip_and_prefix_listing() {
    let s = Store::open();
    assert!(s.set("shoptrail-test:a", "1"));
    assert!(s.set("shoptrail-test:b", "two\nlines"));
    assert!(s.set("other", "x"));
    assert_eq!(s.get("shoptrail-test:b").as_deref(), Some("two\nlines"));
    let mut keys = s.keys_with_prefix("shoptrail-test:");
    keys.sort();
    assert_eq!(keys, ["shoptrail-test:a", "shoptrail-test:b"]);
    s.remove("shoptrail-test:a");
    assert_eq!(s.get("shoptrail-test:a"), None);
}

#[wasm_bindgen_test]
fn cookies_set_read_and_delete() {
    // The test page is served from 127.0.0.1: an IP address gets a host-only cookie.
    assert_eq!(cookie_domain(), None);
    cookie_set("shoptrail_t", "abc-123", 60, None);
    assert_eq!(cookie_get("shoptrail_t").as_deref(), Some("abc-123"));
    cookie_set("shoptrail_t", "", 0, None);
    assert_eq!(cookie_get("shoptrail_t"), None);
}

#[wasm_bindgen_test]
fn random_ids_are_v4_and_distinct() {
    let mut rng = Rng::default();
    let ids: Vec<String> = (0..100).map(|_| rng.uuid()).collect();
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
