//! `compress: true`: batches leave gzip-compressed, marked `compression=gzip` in the URL (no
//! CORS preflight), and the collector stores them.
#![cfg(target_arch = "wasm32")]

mod common;

use common::api;
use common::*;
use js_sys::{Function, Reflect};
use std::cell::RefCell;
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
async fn batches_leave_gzipped_and_arrive() {
    // Record what the SDK hands to fetch: the URL and the body's size and kind.
    let window = web_sys::window().unwrap();
    let seen: Rc<RefCell<Vec<(String, bool, f64)>>> = Rc::default();
    let record: Closure<dyn FnMut(JsValue, JsValue)> = Closure::new({
        let seen = seen.clone();
        move |url: JsValue, body: JsValue| {
            let bytes = body
                .dyn_ref::<js_sys::ArrayBuffer>()
                .map(|b| b.byte_length() as f64);
            let len = bytes.unwrap_or_else(|| body.as_string().map_or(0.0, |s| s.len() as f64));
            seen.borrow_mut()
                .push((url.as_string().unwrap_or_default(), bytes.is_some(), len));
        }
    });
    let original = Reflect::get(&window, &"fetch".into()).unwrap();
    let make = Function::new_with_args(
        "orig, record",
        "return function (u, i) { record(String(u), i && i.body); return orig.call(window, u, i); }",
    );
    let wrapper = make
        .call2(&JsValue::NULL, &original, record.as_ref())
        .unwrap();
    Reflect::set(&window, &"fetch".into(), &wrapper).unwrap();

    let errors = Recorder::new();
    api::init(obj(&[
        ("endpoint", format!("{}/v1/batch", collector()).into()),
        ("compress", true.into()),
        ("pageViews", false.into()),
        ("onError", errors.function()),
    ]));
    let tag = format!("Gzip {}", js_sys::Date::now());
    for i in 0..50 {
        api::track(
            tag.clone().into(),
            obj(&[("i", i.into()), ("sku", "NW-001".into())]),
        );
    }
    assert!(flush().await, "{:?}", errors.messages());
    Reflect::set(&window, &"fetch".into(), &original).unwrap();

    let stored = events(&format!(
        "event={}&limit=100",
        js_sys::encode_uri_component(&tag)
    ))
    .await;
    assert_eq!(stored.len(), 50);
    let seen = seen.borrow();
    assert!(!seen.is_empty());
    let plain: usize = stored
        .iter()
        .map(|e| {
            js_sys::JSON::stringify(e)
                .map(|s| s.length() as usize)
                .unwrap_or(0)
        })
        .sum();
    let sent: f64 = seen.iter().map(|(_, _, n)| n).sum();
    for (url, binary, _) in seen.iter() {
        assert!(url.ends_with("/v1/batch?compression=gzip"), "{url}");
        assert!(binary, "a gzip body is bytes");
    }
    // The events repeat their context: gzip makes the wire at least 5 times smaller.
    assert!(
        sent * 5.0 < plain as f64,
        "sent {sent} B for {plain} B of events"
    );
    assert!(errors.seen.borrow().is_empty());
}
