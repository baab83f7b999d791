//! Many requests in a row: each uses `keepalive` (so it survives the page unloading), and
//! browsers cap the bytes of keepalive requests in flight (64 KiB). The SDK must let each one
//! complete, or every few requests one would fail.
#![cfg(target_arch = "wasm32")]

mod common;

use common::api;
use common::*;
use wasm_bindgen::JsValue;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
async fn forty_keepalive_requests_in_a_row_all_succeed_first_time() {
    let errors = Recorder::new();
    api::init(obj(&[
        ("endpoint", format!("{}/v1/batch", collector()).into()),
        // No retry allowed: a single failed request is reported and flush() resolves false.
        ("maxRetries", 0.into()),
        ("flushInterval", 0.into()),
        ("pageViews", false.into()),
        ("onError", errors.function()),
    ]));
    let pad: JsValue = "x".repeat(8_000).into();
    let tag = format!("Keepalive {}", js_sys::Date::now());
    for i in 0..40 {
        api::track(
            tag.clone().into(),
            obj(&[("i", i.into()), ("pad", pad.clone())]),
        );
        assert!(flush().await, "request {i} failed: {:?}", errors.messages());
    }
    assert!(errors.seen.borrow().is_empty(), "{:?}", errors.messages());
    let stored = events(&format!(
        "event={}&limit=100",
        js_sys::encode_uri_component(&tag)
    ))
    .await;
    assert_eq!(stored.len(), 40);
}
