//! Bodies a client POSTs to the collector's /v1/batch: accepted with their events counted, or
//! refused with a message, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|body: &[u8]| {
    match shoptrail_collector::check_batch(body) {
        Ok(n) => assert!(n > 0),
        Err(m) => assert!(!m.is_empty()),
    }
});
