//! shoptrail: storefront analytics for the browser, compiled to WebAssembly.
//!
//! `core` makes every decision and is tested on the host; `browser` (wasm32 only) connects it
//! to the JavaScript host in `js/host.js`, which does the web platform work and holds the
//! public API. The wasm exports one function, [`boot`].
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod core;

#[cfg(target_arch = "wasm32")]
pub mod browser;

/// Connects the wasm to its JavaScript host and returns the public API object (`init`,
/// `track`, `cart`, ...). Calling it again returns the same object.
#[cfg(target_arch = "wasm32")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn boot() -> wasm_bindgen::JsValue {
    browser::driver::boot()
}
