//! The tracker, through its public API object only: `track`, `identify`, `cart.get`,
//! `profile`, `anonymousId`, `sessionId`, `on`. Every call is guarded: the API object is the
//! page's, and nothing it does may break the engage module.

use js_sys::{Function, Object, Reflect};
use wasm_bindgen::{JsCast, JsValue};

/// A property of a JavaScript object (`undefined` when absent or when reading throws).
pub fn get(obj: &JsValue, key: &str) -> JsValue {
    if !obj.is_object() {
        return JsValue::UNDEFINED;
    }
    Reflect::get(obj, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}

/// A string or number property as text.
pub fn text(obj: &JsValue, key: &str) -> Option<String> {
    let v = get(obj, key);
    v.as_string().or_else(|| {
        (v.as_f64())
            .filter(|n| n.is_finite())
            .map(super::strict::number_text)
    })
}

/// A number property.
pub fn number(obj: &JsValue, key: &str) -> Option<f64> {
    get(obj, key).as_f64().filter(|n| n.is_finite())
}

/// The items of an array property; none when it is not an array (`Array.from` would throw on
/// `undefined`, and a JavaScript exception must not cross the wasm).
pub fn items(obj: &JsValue, key: &str) -> Vec<JsValue> {
    let v = get(obj, key);
    if js_sys::Array::is_array(&v) {
        js_sys::Array::unchecked_from_js(v).iter().collect()
    } else {
        Vec::new()
    }
}

/// Sets `key` on a plain object.
pub fn set(obj: &Object, key: &str, value: impl Into<JsValue>) {
    let _ = Reflect::set(obj, &JsValue::from_str(key), &value.into());
}

/// The tracker's API object.
#[derive(Debug, Clone)]
pub struct Tracker {
    api: JsValue,
}

impl Tracker {
    /// Wraps the API object the tracker handed over.
    pub fn new(api: JsValue) -> Tracker {
        Tracker { api }
    }

    fn call(&self, path: &str, args: &[JsValue]) -> JsValue {
        let (holder, name) = match path.split_once('.') {
            Some((ns, m)) => (get(&self.api, ns), m),
            None => (self.api.clone(), path),
        };
        let Ok(f) = get(&holder, name).dyn_into::<Function>() else {
            return JsValue::UNDEFINED;
        };
        let list: js_sys::Array = args.iter().collect();
        f.apply(&holder, &list).unwrap_or(JsValue::UNDEFINED)
    }

    /// `track(name, properties)`.
    pub fn track(&self, name: &str, properties: &Object) {
        self.call("track", &[name.into(), properties.into()]);
    }

    /// `identify(traits)`.
    pub fn identify(&self, traits: &Object) {
        self.call("identify", &[traits.into()]);
    }

    /// `cart.get()`.
    pub fn cart(&self) -> JsValue {
        self.call("cart.get", &[])
    }

    /// `profile()`.
    pub fn profile(&self) -> JsValue {
        self.call("profile", &[])
    }

    /// `anonymousId()`.
    pub fn anonymous_id(&self) -> String {
        self.call("anonymousId", &[])
            .as_string()
            .unwrap_or_default()
    }

    /// `userId()`.
    pub fn user_id(&self) -> Option<String> {
        self.call("userId", &[]).as_string()
    }

    /// `sessionId()`.
    pub fn session_id(&self) -> u64 {
        self.call("sessionId", &[]).as_f64().unwrap_or(0.0) as u64
    }

    /// `on(name, callback)`.
    pub fn on(&self, name: &str, f: &Function) {
        self.call("on", &[name.into(), f.into()]);
    }

    /// `off(name, callback)`.
    pub fn off(&self, name: &str, f: &Function) {
        self.call("off", &[name.into(), f.into()]);
    }
}
