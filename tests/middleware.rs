//! `beforeSend` in a real browser, delivering to the real collector: events changed in place
//! or replaced, dropped with null, kept (and reported) when the middleware throws or answers
//! something else; the middleware may call the SDK.
#![cfg(target_arch = "wasm32")]

mod common;

use common::api;
use common::*;
use js_sys::Function;
use wasm_bindgen::JsValue;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
async fn before_send_changes_drops_and_keeps_events() {
    let make = Function::new_with_args(
        "api",
        "return function (e) {
           if (e.event === 'Debug') return null;
           if (e.event === 'Order Completed') {
             e.properties.plan = 'pro';
             e.properties.seen_by = api.anonymousId();
             api.track('Side Effect', { from: 'middleware' });
             return;
           }
           if (e.event === 'Swap') return Object.assign({}, e, { event: 'Swapped', messageId: 'swap-' + e.messageId });
           if (e.event === 'Boom') throw new Error('boom');
           if (e.event === 'Number') return 42;
           return e;
         };",
    );
    let before_send = make
        .call1(&JsValue::NULL, &shoptrail::boot())
        .expect("the middleware");
    let errors = Recorder::new();
    api::init(obj(&[
        ("endpoint", format!("{}/v1/batch", collector()).into()),
        ("flushInterval", 20.into()),
        ("pageViews", false.into()),
        ("onError", errors.function()),
        ("beforeSend", before_send),
    ]));
    let aid = api::anonymous_id().expect("anonymous id");
    for name in [
        "First",
        "Debug",
        "Order Completed",
        "Swap",
        "Boom",
        "Number",
        "Last",
    ] {
        api::track(name.into(), obj(&[("n", 1.into())]));
    }
    assert!(flush().await, "errors: {:?}", errors.messages());
    // The middleware's own track goes through it too, after the call that made it.
    assert!(flush().await, "errors: {:?}", errors.messages());

    let evs = events(&format!("anonymousId={aid}")).await;
    let names: Vec<String> = evs.iter().map(|e| get_str(e, "event")).collect();
    assert_eq!(
        names,
        [
            "First",
            "Order Completed",
            "Swapped",
            "Boom",
            "Number",
            "Last",
            "Side Effect"
        ]
    );
    let order = &evs[1];
    assert_eq!(get_str(order, "properties.plan"), "pro");
    assert_eq!(get_str(order, "properties.seen_by"), aid);
    assert_eq!(get(order, "properties.n").as_f64(), Some(1.0));
    assert!(get_str(&evs[2], "messageId").starts_with("swap-"));
    assert_eq!(get_str(&evs[6], "properties.from"), "middleware");
    assert_eq!(errors.codes(), ["middleware_failed", "middleware_failed"]);
    let messages = errors.messages();
    assert!(messages[0].contains("boom"), "{messages:?}");
    assert!(messages[1].contains("number"), "{messages:?}");
}
