//! shoptrail's engage module: exit-intent and other triggers, campaigns with targeting,
//! frequency caps and experiments, and the popup. The tracker loads it only on pages with
//! campaigns; it talks to the tracker through the tracker's public API.
//!
//! `engage_core` decides (host-tested); `browser` (wasm32 only) feeds it DOM events and
//! renders.
#![deny(unsafe_code)]
#![deny(missing_docs)]

pub mod engage_core;

#[cfg(target_arch = "wasm32")]
pub mod browser;

/// talc, as in the tracker, rather than std's dlmalloc: with the NPS question in, `cargo xtask
/// size` measured the module at 73,332 B brotli with dlmalloc and 71,331 B with talc.
#[cfg(target_arch = "wasm32")]
#[global_allocator]
static ALLOC: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();
