//! A page that wraps `fetch` and calls the SDK from inside the wrapper: the call arrives while
//! the SDK is sending, and must be deferred, not dropped.
#![cfg(target_arch = "wasm32")]

mod common;

use common::api;
use common::*;
use js_sys::{Function, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
async fn a_call_from_inside_a_fetch_wrapper_is_kept() {
    let window = web_sys::window().unwrap();
    let tag = format!("Reentry {}", js_sys::Date::now());
    let inner = format!("{tag} inner");
    let hook: Closure<dyn FnMut()> = Closure::new({
        let inner = inner.clone();
        let mut done = false;
        move || {
            if !done {
                done = true;
                api::track(inner.clone().into(), JsValue::UNDEFINED);
            }
        }
    });
    let original = Reflect::get(&window, &"fetch".into()).unwrap();
    let make = Function::new_with_args(
        "orig, hook",
        "return function (u, i) { hook(); return orig.call(window, u, i); }",
    );
    let wrapper = make
        .call2(&JsValue::NULL, &original, hook.as_ref())
        .unwrap();
    Reflect::set(&window, &"fetch".into(), &wrapper).unwrap();

    let errors = Recorder::new();
    api::init(obj(&[
        ("endpoint", format!("{}/v1/batch", collector()).into()),
        ("pageViews", false.into()),
        ("onError", errors.function()),
    ]));
    api::track(tag.clone().into(), JsValue::UNDEFINED);
    assert!(flush().await);
    assert!(flush().await);
    let aid = api::anonymous_id().unwrap();
    let names: Vec<String> = events(&format!("anonymousId={aid}"))
        .await
        .iter()
        .map(|e| get_str(e, "event"))
        .collect();
    assert_eq!(names, [tag, inner]);
    assert!(errors.seen.borrow().is_empty());
    Reflect::set(&window, &"fetch".into(), &original).unwrap();
}
