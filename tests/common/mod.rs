//! Helpers shared by the browser suites.
#![allow(dead_code)]

pub mod engage;

use js_sys::{Object, Reflect};
use std::cell::RefCell;
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

/// The collector `cargo xtask test` started for these suites.
pub fn collector() -> &'static str {
    match option_env!("SHOPTRAIL_TEST_COLLECTOR") {
        Some(url) => url,
        None => {
            panic!("SHOPTRAIL_TEST_COLLECTOR is not set: run the suites with `cargo xtask test`")
        }
    }
}

/// A plain object from key/value pairs.
pub fn obj(pairs: &[(&str, JsValue)]) -> JsValue {
    let o = Object::new();
    for (k, v) in pairs {
        Reflect::set(&o, &JsValue::from_str(k), v).unwrap();
    }
    o.into()
}

pub fn get(v: &JsValue, path: &str) -> JsValue {
    path.split('.').fold(v.clone(), |v, k| {
        Reflect::get(&v, &JsValue::from_str(k)).unwrap_or(JsValue::UNDEFINED)
    })
}

pub fn get_str(v: &JsValue, path: &str) -> String {
    get(v, path).as_string().unwrap_or_default()
}

/// Collects what a callback receives.
pub struct Recorder {
    pub seen: Rc<RefCell<Vec<JsValue>>>,
    pub callback: Closure<dyn FnMut(JsValue)>,
}

impl Recorder {
    pub fn new() -> Recorder {
        let seen = Rc::new(RefCell::new(Vec::new()));
        let s = seen.clone();
        Recorder {
            seen,
            callback: Closure::new(move |v: JsValue| s.borrow_mut().push(v)),
        }
    }

    pub fn function(&self) -> JsValue {
        self.callback.as_ref().clone()
    }

    pub fn codes(&self) -> Vec<String> {
        self.seen
            .borrow()
            .iter()
            .map(|e| get_str(e, "code"))
            .collect()
    }

    pub fn messages(&self) -> Vec<String> {
        self.seen
            .borrow()
            .iter()
            .map(|e| get_str(e, "message"))
            .collect()
    }
}

pub async fn sleep(ms: i32) {
    let p = js_sys::Promise::new(
        &mut |resolve: js_sys::Function, _reject: js_sys::Function| {
            web_sys::window()
                .unwrap()
                .set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms)
                .unwrap();
        },
    );
    JsFuture::from(p).await.unwrap();
}

/// Polls `cond` every 20 ms until it holds, failing with `what` after `ms`: a wait with a
/// condition and a deadline, never a bare sleep before an assertion.
pub async fn until(what: &str, ms: u32, mut cond: impl FnMut() -> bool) {
    let start = js_sys::Date::now();
    while !cond() {
        assert!(
            js_sys::Date::now() - start < f64::from(ms),
            "{what}: not within {ms} ms"
        );
        sleep(20).await;
    }
}

/// The collector's admin token (`cargo xtask test` starts it with one, and names this page's
/// origin with `--dashboard-origin` so the suites may read what it stored).
pub fn admin_token() -> &'static str {
    option_env!("SHOPTRAIL_TEST_ADMIN").unwrap_or_default()
}

/// GET a collector URL as its operator (with the admin token) and parse its JSON.
pub async fn get_json(path: &str) -> JsValue {
    let url = format!("{}{}", collector(), path);
    let headers = web_sys::Headers::new().unwrap();
    headers
        .set("Authorization", &format!("Bearer {}", admin_token()))
        .unwrap();
    let init = web_sys::RequestInit::new();
    init.set_headers(&headers);
    let resp = JsFuture::from(
        web_sys::window()
            .unwrap()
            .fetch_with_str_and_init(&url, &init),
    )
    .await
    .expect("collector reachable");
    let resp: web_sys::Response = resp.dyn_into().unwrap();
    assert!(resp.ok(), "GET {url}: HTTP {}", resp.status());
    JsFuture::from(resp.json().unwrap()).await.unwrap()
}

/// The events the collector stored for a query such as `anonymousId=...`.
pub async fn events(query: &str) -> Vec<JsValue> {
    let v = get_json(&format!("/v1/events?{query}")).await;
    js_sys::Array::from(&get(&v, "events")).iter().collect()
}

/// The public JavaScript API, called as a page calls it (through `js/host.js`).
pub mod api {
    use js_sys::{Array, Function, Promise, Reflect};
    use wasm_bindgen::{JsCast, JsValue};

    fn call(path: &str, args: &[JsValue]) -> JsValue {
        let mut holder = shoptrail::boot();
        let mut f = JsValue::UNDEFINED;
        for (i, part) in path.split('.').enumerate() {
            if i > 0 {
                holder = f.clone();
            }
            f = Reflect::get(&holder, &part.into()).unwrap();
        }
        let f: Function = f.dyn_into().expect(path);
        let list: Array = args.iter().collect();
        Reflect::apply(&f, &holder, &list).expect("the API never throws")
    }

    /// `init(config)`, with `bots: "allow"` unless the config says: these tests drive headless
    /// Chromium and Firefox (automation, `navigator.webdriver`), whose page loads the SDK
    /// otherwise drops as a bot's.
    pub fn init(config: JsValue) {
        if config.is_object() && !Reflect::has(&config, &"bots".into()).unwrap_or(true) {
            let _ = Reflect::set(&config, &"bots".into(), &"allow".into());
        }
        call("init", &[config]);
    }
    pub fn track(event: JsValue, properties: JsValue) {
        call("track", &[event, properties]);
    }
    pub fn page(name: JsValue, properties: JsValue) {
        call("page", &[name, properties]);
    }
    pub fn identify(user_id: JsValue, traits: JsValue) {
        call("identify", &[user_id, traits]);
    }
    pub fn alias(user_id: JsValue, previous_id: JsValue) {
        call("alias", &[user_id, previous_id]);
    }
    pub fn reset() {
        call("reset", &[]);
    }
    pub fn flush() -> Promise {
        call("flush", &[])
            .dyn_into()
            .expect("flush returns a Promise")
    }
    pub fn anonymous_id() -> Option<String> {
        call("anonymousId", &[]).as_string()
    }
    pub fn user_id() -> Option<String> {
        call("userId", &[]).as_string()
    }
    pub fn session_id() -> Option<f64> {
        call("sessionId", &[]).as_f64()
    }
    pub fn on(name: JsValue, callback: JsValue) {
        call("on", &[name, callback]);
    }
    /// Any other method by its dotted name, such as `cart.add`.
    pub fn method(path: &str, args: &[JsValue]) -> JsValue {
        call(path, args)
    }
}

/// The page's document, with its `cookie` property.
fn html_document() -> web_sys::HtmlDocument {
    web_sys::window()
        .unwrap()
        .document()
        .unwrap()
        .dyn_into()
        .unwrap()
}

/// Cookie `name` of this page.
pub fn cookie(name: &str) -> Option<String> {
    html_document().cookie().unwrap().split(';').find_map(|c| {
        let (k, v) = c.trim().split_once('=')?;
        (k == name).then(|| v.to_string())
    })
}

pub async fn flush() -> bool {
    JsFuture::from(api::flush())
        .await
        .unwrap()
        .as_bool()
        .unwrap()
}

pub fn local(key: &str) -> Option<String> {
    web_sys::window()
        .unwrap()
        .local_storage()
        .unwrap()
        .unwrap()
        .get_item(key)
        .unwrap()
}

pub fn uuid_like(s: &str) -> bool {
    s.len() == 36
        && s.as_bytes()[14] == b'4'
        && s.split('-').map(str::len).collect::<Vec<_>>() == [8, 4, 4, 4, 12]
}

/// Writes one `document.cookie` line.
pub fn set_cookie(line: &str) {
    html_document().set_cookie(line).unwrap();
}

/// Every key in localStorage and sessionStorage.
pub fn stored_keys() -> Vec<String> {
    let w = web_sys::window().unwrap();
    let mut keys = Vec::new();
    for s in [w.local_storage(), w.session_storage()] {
        let s = s.unwrap().unwrap();
        keys.extend((0..s.length().unwrap()).filter_map(|i| s.key(i).unwrap()));
    }
    keys
}

/// A first visit: other suites of this origin may have left keys and the id cookie.
pub fn first_visit() {
    let w = web_sys::window().unwrap();
    w.local_storage().unwrap().unwrap().clear().unwrap();
    w.session_storage().unwrap().unwrap().clear().unwrap();
    set_cookie("shoptrail_aid=; Path=/; Max-Age=0");
}
