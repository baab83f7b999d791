//! The wasm that shops download: shoptrail's `boot` export, and the two things a `no_std`
//! binary must bring itself. Without std nothing pulls in `core::fmt`: a panic traps at once
//! (the host catches the trap; the page goes on) instead of formatting a message first.
#![no_std]

#[cfg(target_arch = "wasm32")]
pub use shoptrail::boot;

#[cfg(all(target_arch = "wasm32", not(test)))]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    core::arch::wasm32::unreachable()
}

#[cfg(target_arch = "wasm32")]
#[global_allocator]
static ALLOC: dlmalloc::GlobalDlmalloc = dlmalloc::GlobalDlmalloc;
