//! Link settings of the shipped wasm.

fn main() {
    // Rust reserves 1 MiB of linear memory for the wasm stack by default, and linear memory
    // never shrinks: that megabyte would be part of every page's memory. The tracker's deepest
    // call chain needs a few kilobytes (the JSON scanner is iterative, nothing recurses), so
    // 64 KiB leaves a wide margin; the stack comes first in memory, so an overflow would trap
    // rather than overwrite data.
    if std::env::var("CARGO_CFG_TARGET_ARCH").as_deref() == Ok("wasm32") {
        println!("cargo:rustc-link-arg-cdylib=-zstack-size=65536");
    }
}
