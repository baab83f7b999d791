//! The wasm that shops download: shoptrail's `boot` export, and the two things a `no_std`
//! binary must bring itself. Without std nothing pulls in `core::fmt`: a panic traps at once
//! (the JavaScript host catches the trap; the page goes on) instead of formatting a message.
#![cfg_attr(target_arch = "wasm32", no_std)]
#![forbid(unsafe_code)]

#[cfg(target_arch = "wasm32")]
pub use shoptrail::boot;

#[cfg(all(target_arch = "wasm32", not(test)))]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    core::arch::wasm32::unreachable()
}

/// talc, chosen by measurement (`cargo xtask size`, brotli bytes of the wasm): dlmalloc 39,062,
/// talc 37,624, lol_alloc's free list 37,055. In `cargo xtask bench` the two smaller ones cost
/// the same main-thread time, but after a 1,000-event burst lol_alloc's heap measures 2.02 MB
/// and talc's 1.96 MB (talc bins and coalesces free chunks): talc keeps the page under 2 MB.
#[cfg(target_arch = "wasm32")]
#[global_allocator]
static ALLOC: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();
