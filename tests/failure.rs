//! An endpoint that cannot be reached: events are reported as failing but kept.
#![cfg(target_arch = "wasm32")]

mod common;

use common::api;
use common::*;
use wasm_bindgen::JsValue;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
async fn unreachable_endpoint_keeps_events_persisted() {
    let errors = Recorder::new();
    api::init(obj(&[
        // Port 9 (discard) refuses connections on the test machine.
        ("endpoint", "http://127.0.0.1:9/v1/batch".into()),
        ("maxRetries", 0.into()),
        ("pageViews", false.into()),
        ("onError", errors.function()),
    ]));
    api::track(
        "Kept While Offline".into(),
        obj(&[("sku", "nw-002".into())]),
    );
    assert!(!flush().await, "flush resolves false when delivery fails");
    assert_eq!(errors.codes(), ["delivery_failing"]);
    let storage = web_sys::window().unwrap().local_storage().unwrap().unwrap();
    let keys = || -> Vec<String> {
        (0..storage.length().unwrap())
            .filter_map(|i| storage.key(i).unwrap())
            .filter(|k| k.starts_with("shoptrail:q:"))
            .collect()
    };
    until("the queue persisted", 5000, || !keys().is_empty()).await;
    let keys = keys();
    assert_eq!(keys.len(), 1, "one persisted queue: {keys:?}");
    let stored = local(&keys[0]).unwrap();
    assert!(stored.starts_with("st2 a "), "{stored}");
    assert!(
        stored.contains("\"event\":\"Kept While Offline\""),
        "{stored}"
    );
    let _ = JsValue::NULL;
}
