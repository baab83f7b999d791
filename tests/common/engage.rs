//! What the engage suites share: the module handed to the tracker as the build's entries
//! hand it over, and JSON values from text.

use js_sys::{Function, Object, Promise, Reflect};
use wasm_bindgen::prelude::*;

use super::api;

/// Parses JSON text into a value (the test's own text: it is valid).
pub fn json(text: &str) -> JsValue {
    js_sys::JSON::parse(text).unwrap()
}

/// What the build's entries hand the tracker: how to load the engage module (here linked in).
pub fn hand_over_engage() {
    let module = Object::new();
    let start =
        Closure::<dyn Fn(JsValue, js_sys::Array, Function)>::new(shoptrail_engage::browser::start);
    let add = Closure::<dyn Fn(JsValue)>::new(shoptrail_engage::browser::add);
    Reflect::set(&module, &"start".into(), start.as_ref()).unwrap();
    Reflect::set(&module, &"add".into(), add.as_ref()).unwrap();
    start.forget();
    add.forget();
    let module: JsValue = module.into();
    let load = Closure::<dyn Fn() -> Promise>::new(move || Promise::resolve(&module));
    api::method("__engage", &[load.as_ref().clone()]);
    load.forget();
}
