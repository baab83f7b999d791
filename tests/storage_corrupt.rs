//! Stored state that cannot be read (another version's, or tampered with), in a real browser:
//! the SDK discards it, says which through onError (`storage_corrupted`), keeps the rest (the
//! anonymous id) and works.
#![cfg(target_arch = "wasm32")]

mod common;

use common::api;
use common::*;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
async fn unreadable_state_is_discarded_the_rest_kept() {
    let s = web_sys::window().unwrap().local_storage().unwrap().unwrap();
    s.clear().unwrap();
    let aid = "0b7c2f4e-9f3a-4d51-8e2b-6a1d3c5e7f90";
    for (k, v) in [
        ("shoptrail:aid", aid),
        ("shoptrail:cart", "sc1 \u{0}garbage"),
        ("shoptrail:traits", "[1,2"),
        ("shoptrail:session", "yesterday"),
        ("shoptrail:q:0badf00d", "st2 a {{{{"),
    ] {
        s.set_item(k, v).unwrap();
    }
    let errors = Recorder::new();
    api::init(obj(&[
        ("endpoint", format!("{}/v1/batch", collector()).into()),
        ("flushInterval", 20.into()),
        ("onError", errors.function()),
    ]));
    assert_eq!(errors.codes(), ["storage_corrupted"]);
    let m = &errors.messages()[0];
    assert!(m.contains("(cart, traits, session, queue)"), "{m}");
    assert_eq!(api::anonymous_id().as_deref(), Some(aid));
    assert_eq!(local("shoptrail:q:0badf00d"), None);
    api::method(
        "cart.add",
        &[obj(&[("product_id", "p-1".into()), ("price", 3.into())])],
    );
    assert!(flush().await);
    let evs = events(&format!("anonymousId={aid}")).await;
    assert!(evs.iter().any(|e| get_str(e, "event") == "Product Added"));
}
