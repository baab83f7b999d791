//! shoptrail: storefront analytics for the browser, compiled to WebAssembly.
//!
//! `tracker_core` makes every decision and is tested on the host (named so that it never
//! shadows Rust's `core`); `browser` (wasm32 only) connects it
//! to the JavaScript host in `js/host.js`, which does the web platform work and holds the
//! public API. The wasm exports one function, `boot` (wasm32 only).
#![no_std]
#![deny(unsafe_code)]
#![deny(missing_docs)]

extern crate alloc;
#[cfg(test)]
#[macro_use]
extern crate std;

pub mod tracker_core;

/// What `std`'s prelude would give: the crate is `no_std` so that the shipped wasm holds no
/// formatting machinery (std's panic handler formats its message).
#[allow(unused_imports)]
pub(crate) mod prelude {
    pub use alloc::borrow::ToOwned;
    pub use alloc::boxed::Box;
    pub use alloc::string::{String, ToString};
    pub use alloc::vec;
    pub use alloc::vec::Vec;
}

#[cfg(target_arch = "wasm32")]
pub mod browser;

/// Connects the wasm to its JavaScript host and returns the public API object (`init`,
/// `track`, `cart`, ...). Calling it again returns the same object.
#[cfg(target_arch = "wasm32")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn boot() -> wasm_bindgen::JsValue {
    browser::driver::boot()
}
