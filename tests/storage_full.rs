//! Storage that throws (localStorage full: every setItem raises QuotaExceededError) and
//! cookies blocked, in a real browser: the SDK says so once through onError
//! (`storage_unavailable`), keeps the cart and identity in memory, and delivers every event.
#![cfg(target_arch = "wasm32")]

mod common;

use common::api;
use common::*;
use wasm_bindgen::JsValue;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

/// Runs page script (test set-up only).
fn script(body: &str) {
    js_sys::Function::new_no_args(body)
        .call0(&JsValue::NULL)
        .unwrap();
}

#[wasm_bindgen_test]
async fn a_throwing_storage_and_blocked_cookies_leave_a_working_sdk() {
    script(
        "localStorage.clear();
         Storage.prototype.setItem = function () {
           throw new DOMException('the quota has been exceeded', 'QuotaExceededError');
         };
         Object.defineProperty(Document.prototype, 'cookie', { get: () => '', set: () => {}, configurable: true });",
    );
    let errors = Recorder::new();
    api::init(obj(&[
        ("endpoint", format!("{}/v1/batch", collector()).into()),
        ("flushInterval", 20.into()),
        ("pageViews", false.into()),
        ("onError", errors.function()),
    ]));
    let order = format!("full-{}", js_sys::Date::now());
    api::method(
        "cart.add",
        &[obj(&[("product_id", "p-1".into()), ("price", 3.into())])],
    );
    api::method(
        "cart.add",
        &[obj(&[("product_id", "p-2".into()), ("price", 4.into())])],
    );
    let cart = api::method("cart.get", &[]);
    assert_eq!(js_sys::Array::from(&get(&cart, "products")).length(), 2);
    api::method(
        "order.complete",
        &[obj(&[("order_id", order.as_str().into())])],
    );
    assert!(flush().await);
    assert_eq!(errors.codes(), ["storage_unavailable"]);
    let aid = api::anonymous_id().unwrap();
    let evs = events(&format!("anonymousId={aid}")).await;
    let names: Vec<String> = evs.iter().map(|e| get_str(e, "event")).collect();
    assert_eq!(
        names.iter().filter(|n| *n == "Product Added").count(),
        2,
        "{names:?}"
    );
    let done: Vec<_> = evs
        .iter()
        .filter(|e| get_str(e, "event") == "Order Completed")
        .collect();
    assert_eq!(done.len(), 1);
    assert_eq!(get_str(done[0], "properties.order_id"), order);
    assert_eq!(
        js_sys::Array::from(&get(done[0], "properties.products")).length(),
        2
    );
}
