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

/// talc, chosen by measurement on this crate after wasm-opt (brotli bytes of the wasm):
/// dlmalloc 39,267, talc 37,798, lol_alloc's free list 37,273. lol_alloc is 0.5 KB smaller but
/// walks its whole free list on every allocation; talc bins free chunks and coalesces them, so
/// `track` stays constant-time after a burst.
#[cfg(target_arch = "wasm32")]
#[global_allocator]
static ALLOC: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();
