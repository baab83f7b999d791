//! `destinations`: a copy of the orders to a second endpoint (relative URLs resolved against
//! the page), one unreachable destination that keeps its own events stored while the others
//! deliver, `flush()` false, and `delivered` naming each endpoint.
#![cfg(target_arch = "wasm32")]

mod common;

use common::api;
use common::*;
use js_sys::Array;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

fn queue_keys() -> Vec<String> {
    let storage = web_sys::window().unwrap().local_storage().unwrap().unwrap();
    (0..storage.length().unwrap())
        .filter_map(|i| storage.key(i).unwrap())
        .filter(|k| k.starts_with("shoptrail:q:"))
        .collect()
}

#[wasm_bindgen_test]
async fn each_destination_delivers_or_keeps_its_own_events() {
    let errors = Recorder::new();
    let delivered = Recorder::new();
    let main = format!("{}/v1/batch", collector());
    let copy = format!("{}/v1/batch?copy=orders", collector());
    let orders = obj(&[
        ("endpoint", copy.clone().into()),
        ("writeKey", "orders-copy".into()),
        ("compress", true.into()),
        ("events", Array::of1(&"Order Completed".into()).into()),
    ]);
    // Port 9 (discard) refuses connections on the test machine.
    let down = obj(&[("endpoint", "http://127.0.0.1:9/v1/batch".into())]);
    // Relative, like `endpoint`: the test page's own server, which has no such path.
    let missing = obj(&[
        ("endpoint", "/no-such-collector".into()),
        ("events", Array::of1(&"identify".into()).into()),
    ]);
    api::init(obj(&[
        ("endpoint", main.clone().into()),
        ("destinations", Array::of3(&orders, &down, &missing).into()),
        ("maxRetries", 0.into()),
        ("pageViews", false.into()),
        ("onError", errors.function()),
    ]));
    api::on("delivered".into(), delivered.function());
    let order_id = format!("o-{}", js_sys::Date::now());
    api::track("Product Viewed".into(), obj(&[("sku", "nw-1".into())]));
    api::track(
        "Order Completed".into(),
        obj(&[("order_id", order_id.clone().into()), ("total", 24.into())]),
    );
    assert!(!flush().await, "one destination cannot be reached");

    // endpoint and the copy delivered; each event is stored once (the same messageId).
    let by_endpoint: Vec<(String, f64)> = delivered
        .seen
        .borrow()
        .iter()
        .map(|d| (get_str(d, "endpoint"), get(d, "count").as_f64().unwrap()))
        .collect();
    assert!(
        by_endpoint.contains(&(main.clone(), 2.0)),
        "{by_endpoint:?}"
    );
    assert!(by_endpoint.contains(&(copy, 1.0)), "{by_endpoint:?}");
    assert_eq!(by_endpoint.len(), 2, "{by_endpoint:?}");
    let aid = api::anonymous_id().unwrap();
    let stored = events(&format!("anonymousId={aid}")).await;
    // Both lanes post to this collector at once, so either may store the order first.
    let mut names: Vec<String> = stored.iter().map(|e| get_str(e, "event")).collect();
    names.sort();
    assert_eq!(names, ["Order Completed", "Product Viewed"]);
    let order = stored
        .iter()
        .find(|e| get_str(e, "event") == "Order Completed");
    assert_eq!(get_str(order.unwrap(), "properties.order_id"), order_id);

    // The unreachable one is reported by name; its events stay stored, under its own key.
    let codes = errors.codes();
    let messages = errors.messages();
    let failing = codes.iter().position(|c| c == "delivery_failing");
    let failing = &messages[failing.expect("delivery_failing reported")];
    assert!(
        failing.starts_with("destinations[1] (http://127.0.0.1:9/v1/batch): delivery is failing"),
        "{failing}"
    );
    until(
        "only the unreachable destination's queue stored",
        5000,
        || queue_keys().len() == 1,
    )
    .await;
    let keys = queue_keys();
    assert_eq!(keys.len(), 1, "{keys:?}");
    assert_eq!(
        keys[0].matches(':').count(),
        3,
        "a destination's key: {keys:?}"
    );
    let text = local(&keys[0]).unwrap();
    assert!(
        text.contains(&order_id) && text.contains("Product Viewed"),
        "{text}"
    );

    // The relative destination was sent to the page's origin, and refused there.
    api::identify("u-destinations".into(), obj(&[]));
    assert!(!flush().await);
    let messages = errors.messages();
    let origin = web_sys::window().unwrap().location().origin().unwrap();
    let name = format!("destinations[2] ({origin}/no-such-collector): the endpoint refused");
    assert!(
        messages.iter().any(|m| m.starts_with(&name)),
        "{name} in {messages:?}"
    );
}
