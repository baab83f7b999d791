//! Invalid options are named and leave the SDK inert; bad calls never throw.
#![cfg(target_arch = "wasm32")]

mod common;

use common::api;
use common::*;
use wasm_bindgen::JsValue;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

/// What a Promise the SDK returned settles with.
async fn settled(p: JsValue) -> JsValue {
    wasm_bindgen_futures::JsFuture::from(js_sys::Promise::from(p))
        .await
        .expect("the SDK's Promises never reject")
}

#[wasm_bindgen_test]
async fn bad_config_then_bad_calls_then_a_refusing_endpoint() {
    // Promises asked for before init settle with false once init is refused: a page that
    // awaits them never hangs.
    // Here the config cannot even be read (a getter that throws).
    let (ready_before, flush_before) = (api::method("ready", &[]), api::method("flush", &[]));
    let unreadable = js_sys::Function::new_no_args(
        "const o = {}; Object.defineProperty(o, 'endpoint', \
         { enumerable: true, get() { throw new Error('no endpoint today'); } }); return o;",
    )
    .call0(&JsValue::NULL)
    .unwrap();
    api::init(unreadable);
    assert_eq!(settled(ready_before).await, false);
    assert_eq!(settled(flush_before).await, false);
    assert!(!flush().await, "flush() after an unreadable config");

    api::init(JsValue::from(42));
    assert_eq!(api::anonymous_id(), None, "inert after a non-object config");
    assert_eq!(settled(api::method("ready", &[])).await, false);

    let errors = Recorder::new();
    let endpoint: JsValue = format!("{}/v1/batch", collector()).into();
    api::init(obj(&[
        ("endpoint", endpoint.clone()),
        ("batchSize", 0.into()),
        ("onError", errors.function()),
    ]));
    api::init(obj(&[
        ("endpoint", endpoint.clone()),
        ("flushInterval", "soon".into()),
        ("onError", errors.function()),
    ]));
    api::init(obj(&[
        ("endpoint", endpoint),
        ("batchsize", 5.into()),
        ("onError", errors.function()),
    ]));
    api::init(obj(&[
        ("endpoint", "mailto:x@y.z".into()),
        ("onError", errors.function()),
    ]));
    let misnamed = obj(&[
        ("endpoint", "https://copy.example/v1/batch".into()),
        ("events", "Order Completed".into()),
    ]);
    api::init(obj(&[
        ("endpoint", format!("{}/v1/batch", collector()).into()),
        ("destinations", js_sys::Array::of1(&misnamed).into()),
        ("onError", errors.function()),
    ]));
    assert_eq!(errors.codes(), ["invalid_config"; 5]);
    let m = errors.messages();
    assert!(
        m[0].contains("`batchSize`") && m[0].contains("1 to 500"),
        "{}",
        m[0]
    );
    assert!(m[1].contains("`flushInterval`"), "{}", m[1]);
    assert!(
        m[2].contains("`batchsize`") && m[2].contains("batchSize"),
        "{}",
        m[2]
    );
    assert!(m[3].contains("`endpoint`"), "{}", m[3]);
    assert!(
        m[4].contains("`destinations[0].events`") && m[4].contains("list of event names"),
        "{}",
        m[4]
    );
    assert_eq!(api::anonymous_id(), None, "still inert");
    // After a refused init, ready() and flush() settle with false at once.
    assert_eq!(settled(api::method("ready", &[])).await, false);
    api::track("Ignored".into(), JsValue::UNDEFINED);
    assert!(!flush().await, "flush() after a refused init");

    // A valid config whose endpoint answers 404: the batch is refused, reported and dropped.
    let errors = Recorder::new();
    api::init(obj(&[
        (
            "endpoint",
            format!("{}/no-such-endpoint", collector()).into(),
        ),
        ("pageViews", false.into()),
        ("onError", errors.function()),
    ]));
    assert!(api::anonymous_id().is_some());
    // A valid init after refused ones: ready() settles with true.
    assert_eq!(settled(api::method("ready", &[])).await, true);

    api::track(JsValue::from(42), JsValue::UNDEFINED);
    api::track("Bad Props".into(), js_sys::Array::of1(&1.into()).into());
    let cyclic = obj(&[]);
    js_sys::Reflect::set(&cyclic, &"self".into(), &cyclic).unwrap();
    api::track("Cyclic".into(), cyclic);
    api::identify("".into(), JsValue::UNDEFINED);
    // Arguments JSON cannot hold are refused at once, naming the path of the culprit.
    assert_eq!(errors.codes(), ["invalid_argument"]);
    assert!(
        errors.messages()[0]
            .starts_with("track: properties.self refers to an object that contains it"),
        "{:?}",
        errors.messages()
    );
    // Other calls that return nothing reach the wasm at the end of the page's task, or as soon
    // as a call that returns something (here a getter) is made.
    assert!(api::anonymous_id().is_some());
    assert_eq!(errors.codes(), ["invalid_argument"; 4]);
    // A listener name that does not exist, or a callback that is not a function.
    api::on("popup:show".into(), errors.function());
    api::on("delivered".into(), "not a function".into());
    assert_eq!(errors.codes(), ["invalid_argument"; 6]);
    let last = errors.messages().pop().unwrap();
    assert!(
        last.starts_with("on(name, callback): name is one of event, delivered, error, popup:shown"),
        "{last}"
    );

    api::track("Refused".into(), JsValue::UNDEFINED);
    assert!(!flush().await);
    let codes = errors.codes();
    assert_eq!(codes.last().map(String::as_str), Some("rejected"));
    assert!(errors.messages().last().unwrap().contains("HTTP 404"));
}
