//! Consent in a real browser (Chromium and Firefox): with `consent: { required: true }` nothing
//! reaches localStorage, sessionStorage or cookies and nothing is sent until `consent.grant()`;
//! the held event then reaches the collector with `context.consent`; `consent.revoke()` sends
//! `Segment Consent Preference Updated` with the new preferences, then erases every stored key
//! and the id cookie and stops sending.
#![cfg(target_arch = "wasm32")]

mod common;

use common::api;
use common::*;
use wasm_bindgen::JsValue;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
async fn nothing_is_stored_or_sent_before_a_grant_and_a_revoke_erases_everything() {
    first_visit();
    let errors = Recorder::new();
    api::init(obj(&[
        ("endpoint", format!("{}/v1/batch", collector()).into()),
        ("flushInterval", 20.into()),
        ("pageViews", false.into()),
        ("consent", obj(&[("required", true.into())])),
        ("onError", errors.function()),
    ]));
    let name = format!("Held {}", js_sys::Date::now());
    api::track(JsValue::from_str(&name), obj(&[("n", 1.into())]));
    // flush() settles once the calls before it are done: nothing may leave, nothing is kept.
    assert!(!flush().await, "nothing can be delivered before consent");
    assert_eq!(stored_keys(), Vec::<String>::new());
    assert_eq!(cookie("shoptrail_aid"), None);
    let state = api::method("consent.get", &[]);
    assert_eq!(get(&state, "decided").as_bool(), Some(false));

    api::method("consent.grant", &[]);
    assert!(flush().await, "the held event is delivered on grant");
    let aid = api::anonymous_id().unwrap();
    let evs = events(&format!("anonymousId={aid}")).await;
    let held: Vec<_> = evs.iter().filter(|e| get_str(e, "event") == name).collect();
    assert_eq!(held.len(), 1);
    let prefs = get(held[0], "context.consent.categoryPreferences");
    assert_eq!(get(&prefs, "analytics").as_bool(), Some(true));
    assert_eq!(
        local("shoptrail:consent").as_deref(),
        Some("analytics marketing")
    );
    assert_eq!(cookie("shoptrail_aid").as_deref(), Some(aid.as_str()));

    api::method("consent.revoke", &[]);
    assert_eq!(stored_keys(), Vec::<String>::new());
    assert_eq!(cookie("shoptrail_aid"), None);
    // The collector was told, by beacon, for the id it knew.
    let mut told = Vec::new();
    for _ in 0..50 {
        told = events(&format!("anonymousId={aid}")).await;
        told.retain(|e| get_str(e, "event") == "Segment Consent Preference Updated");
        if !told.is_empty() {
            break;
        }
        sleep(100).await;
    }
    assert_eq!(told.len(), 1);
    let prefs = get(&told[0], "context.consent.categoryPreferences");
    assert_eq!(get(&prefs, "analytics").as_bool(), Some(false));
    assert_eq!(get(&prefs, "marketing").as_bool(), Some(false));
    api::track("After Revoke".into(), obj(&[]));
    assert!(!flush().await);
    assert_eq!(stored_keys(), Vec::<String>::new());
    assert_eq!(errors.codes(), Vec::<String>::new());
}
