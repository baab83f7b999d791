//! The whole SDK in a real browser, delivering to the real collector.
#![cfg(target_arch = "wasm32")]

mod common;

use common::api;
use common::*;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
async fn events_identity_and_reset_end_to_end() {
    // A call made before init waits and is replayed by it.
    let early = format!("Early {}", js_sys::Date::now());
    api::track(JsValue::from_str(&early), obj(&[("n", 1.into())]));
    let errors = Recorder::new();
    let delivered = Recorder::new();
    api::init(obj(&[
        ("endpoint", format!("{}/v1/batch", collector()).into()),
        ("writeKey", "wk_test".into()),
        ("flushInterval", 20.into()),
        ("onError", errors.function()),
    ]));
    api::on("delivered".into(), delivered.function());
    let aid = api::anonymous_id().expect("anonymous id after init");
    assert!(uuid_like(&aid), "{aid}");
    assert_eq!(local("shoptrail:aid").as_deref(), Some(aid.as_str()));
    assert_eq!(cookie("shoptrail_aid").as_deref(), Some(aid.as_str()));
    let session = api::session_id().expect("session id");
    assert!(session > 1.7e12);

    api::track(
        "Product Added".into(),
        obj(&[
            ("product_id", "nw-001".into()),
            ("price", 19.99.into()),
            ("quantity", 2.into()),
        ]),
    );
    assert!(
        flush().await,
        "flush resolves true once delivered; errors: {:?}",
        errors.messages()
    );

    let evs = events(&format!("anonymousId={aid}")).await;
    let kinds: Vec<String> = evs
        .iter()
        .map(|e| format!("{}:{}", get_str(e, "type"), get_str(e, "event")))
        .collect();
    assert_eq!(
        kinds,
        ["page:", &format!("track:{early}"), "track:Product Added"]
    );
    let added = &evs[2];
    assert_eq!(get(added, "properties.price").as_f64(), Some(19.99));
    assert_eq!(get(added, "properties.quantity").as_f64(), Some(2.0));
    assert!(uuid_like(&get_str(added, "messageId")));
    let ts = get_str(added, "timestamp");
    assert!(
        ts.len() == 24 && ts.ends_with('Z') && &ts[19..20] == ".",
        "{ts}"
    );
    assert_eq!(get_str(added, "context.library.name"), "shoptrail");
    assert_eq!(get(added, "context.sessionId").as_f64(), Some(session));
    assert!(!get_str(added, "context.userAgent").is_empty());
    assert!(!get_str(added, "context.page.url").is_empty());
    assert!(
        !get_str(added, "sentAt").is_empty(),
        "sentAt from the batch"
    );
    assert_eq!(
        get_str(&evs[0], "properties.url"),
        get_str(&evs[0], "context.page.url")
    );
    let count: f64 = delivered
        .seen
        .borrow()
        .iter()
        .map(|d| get(d, "count").as_f64().unwrap())
        .sum();
    assert_eq!(count, 3.0);

    // identify: the user id and merged traits persist.
    // Unique per run: the suites share one collector across browsers.
    let user = format!("user-{}", js_sys::Date::now());
    api::identify(
        user.clone().into(),
        obj(&[("email", "ada@example.com".into())]),
    );
    api::identify(obj(&[("plan", "gold".into())]), JsValue::UNDEFINED);
    assert!(flush().await);
    assert_eq!(api::user_id().as_deref(), Some(user.as_str()));
    assert_eq!(local("shoptrail:uid").as_deref(), Some(user.as_str()));
    let ids = events(&format!("userId={user}&type=identify")).await;
    assert_eq!(ids.len(), 2);
    assert_eq!(get_str(&ids[1], "traits.email"), "ada@example.com");
    assert_eq!(get_str(&ids[1], "traits.plan"), "gold");
    assert_eq!(get_str(&ids[1], "anonymousId"), aid);

    // alias: the new id becomes the user; previousId defaults to the old user id.
    let merged = format!("{user}-merged");
    api::alias(merged.clone().into(), JsValue::UNDEFINED);
    assert!(flush().await);
    assert_eq!(api::user_id().as_deref(), Some(merged.as_str()));
    let aliases = events(&format!("userId={merged}&type=alias")).await;
    assert_eq!(aliases.len(), 1);
    assert_eq!(get_str(&aliases[0], "previousId"), user);

    // reset: a new anonymous id everywhere, no user.
    api::reset();
    let aid2 = api::anonymous_id().unwrap();
    assert_ne!(aid2, aid);
    assert_eq!(api::user_id(), None);
    assert_eq!(local("shoptrail:uid"), None);
    assert_eq!(cookie("shoptrail_aid").as_deref(), Some(aid2.as_str()));
    api::track("After Reset".into(), JsValue::UNDEFINED);
    assert!(flush().await);
    let after = events(&format!("anonymousId={aid2}")).await;
    assert_eq!(after.len(), 1);
    assert!(get(&after[0], "userId").is_null());
    assert!(errors.seen.borrow().is_empty(), "{:?}", errors.messages());
}

#[wasm_bindgen_test]
async fn a_burst_is_delivered_once_each() {
    // init already ran in the test above or runs here; either way the SDK is live.
    if api::anonymous_id().is_none() {
        api::init(obj(&[
            ("endpoint", format!("{}/v1/batch", collector()).into()),
            ("pageViews", false.into()),
        ]));
    }
    // Count what the SDK sends, not only what the collector keeps (it drops repeats by
    // messageId, which would hide an event sent twice).
    let window = web_sys::window().unwrap();
    let original = js_sys::Reflect::get(&window, &"fetch".into()).unwrap();
    let sent = js_sys::Array::new();
    let wrap = js_sys::Function::new_with_args(
        "orig, sent",
        "return function (u, i) { if (i && i.body) sent.push(i.body); return orig.apply(this, arguments); }",
    );
    let wrapper = wrap.call2(&JsValue::NULL, &original, &sent).unwrap();
    js_sys::Reflect::set(&window, &"fetch".into(), &wrapper).unwrap();
    let delivered = Recorder::new();
    api::on("delivered".into(), delivered.function());

    let tag = format!("Burst {}", js_sys::Date::now());
    for i in 0..250 {
        api::track(tag.clone().into(), obj(&[("i", i.into())]));
    }
    assert!(flush().await);
    js_sys::Reflect::set(&window, &"fetch".into(), &original).unwrap();
    let mut ids: Vec<String> = Vec::new();
    for body in sent.iter() {
        // Bodies are Blobs of the batch's UTF-8 bytes.
        let blob: web_sys::Blob = body.dyn_into().expect("a Blob body");
        let text = wasm_bindgen_futures::JsFuture::from(blob.text())
            .await
            .unwrap();
        let batch = get(
            &js_sys::JSON::parse(&text.as_string().unwrap()).unwrap(),
            "batch",
        );
        for e in js_sys::Array::from(&batch).iter() {
            if get_str(&e, "event") == tag {
                ids.push(get_str(&e, "messageId"));
            }
        }
    }
    assert_eq!(ids.len(), 250, "each event left in exactly one request");
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 250, "no messageId was sent twice");
    let acknowledged: f64 = delivered
        .seen
        .borrow()
        .iter()
        .map(|d| get(d, "count").as_f64().unwrap())
        .sum();
    assert_eq!(
        acknowledged, 250.0,
        "the endpoint acknowledged each event once"
    );
    let evs = events(&format!(
        "event={}&limit=1000",
        js_sys::encode_uri_component(&tag)
    ))
    .await;
    let mut seen: Vec<i64> = evs
        .iter()
        .map(|e| get(e, "properties.i").as_f64().unwrap() as i64)
        .collect();
    assert_eq!(seen.len(), 250);
    seen.sort();
    assert_eq!(seen, (0..250).collect::<Vec<_>>());
}
