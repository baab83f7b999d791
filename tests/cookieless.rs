//! Counting a refusal without cookies in a real browser (Chromium and Firefox): with
//! `consent: { required: true, onRefuse: "cookieless" }`, a refusal sends the held event and
//! what follows with no id, while localStorage, sessionStorage and cookies stay empty; the
//! collector gives them one visitor of the day.
#![cfg(target_arch = "wasm32")]

mod common;

use common::api;
use common::*;
use wasm_bindgen::JsValue;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
async fn a_refusal_is_counted_without_storing_anything() {
    first_visit();
    let errors = Recorder::new();
    let consent = obj(&[("required", true.into()), ("onRefuse", "cookieless".into())]);
    api::init(obj(&[
        ("endpoint", format!("{}/v1/batch", collector()).into()),
        ("flushInterval", 20.into()),
        ("pageViews", false.into()),
        ("consent", consent),
        ("onError", errors.function()),
    ]));
    let run = js_sys::Date::now();
    let held = format!("Held {run}");
    let after = format!("After {run}");
    api::track(JsValue::from_str(&held), obj(&[]));
    api::identify(
        "u-cookieless".into(),
        obj(&[("email", "cl@example.com".into())]),
    );
    api::method("consent.deny", &[]);
    api::track(JsValue::from_str(&after), obj(&[]));
    assert!(
        flush().await,
        "the held event and the next leave without ids"
    );
    assert_eq!(stored_keys(), Vec::<String>::new());
    assert_eq!(cookie("shoptrail_aid"), None);

    let mut ours = Vec::new();
    for name in [&held, &after] {
        let evs = events(&format!("event={}", js_sys::encode_uri_component(name))).await;
        assert_eq!(evs.len(), 1, "{name}");
        ours.extend(evs);
    }
    let visitor = get_str(&ours[0], "anonymousId");
    assert!(visitor.starts_with("cl-"), "{visitor}");
    for e in &ours {
        assert_eq!(get_str(e, "anonymousId"), visitor);
        assert_eq!(get(e, "context.cookieless").as_bool(), Some(true));
        assert!(get(e, "userId").is_null() || get(e, "userId").is_undefined());
    }
    // The identify never left.
    let named = events("userId=u-cookieless").await;
    assert!(named.is_empty());
    assert_eq!(errors.codes(), Vec::<String>::new());
}
