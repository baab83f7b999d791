//! shoptrail's engage module: exit-intent and other triggers, campaigns with targeting,
//! frequency caps and experiments, and the popup. The tracker loads it only on pages with
//! campaigns; it talks to the tracker through the tracker's public API.
//!
//! `core` decides (host-tested); `browser` (wasm32 only) feeds it DOM events and renders.
#![deny(unsafe_code)]
#![deny(missing_docs)]

pub mod core;

#[cfg(target_arch = "wasm32")]
pub mod browser;
