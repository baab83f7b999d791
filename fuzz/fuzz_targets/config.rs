//! `init`'s options as the host hands them over (JSON object text): any text is either a
//! config or an error naming an option, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use shoptrail::tracker_core::config;

fuzz_target!(|text: &str| {
    if let Err(e) = config::parse_json(text) {
        assert!(!e.message.is_empty());
    }
});
