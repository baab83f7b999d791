//! Journeys files as a shop writes them, well or badly: read into journeys whose steps are in
//! order of their delays, or refused with a message, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match shoptrail_collector::journeys::config::parse(text, None) {
        Ok(c) => {
            assert!(!c.journeys.is_empty());
            assert!(c.secret.len() >= 16);
            for j in &c.journeys {
                assert!(!j.steps.is_empty());
                assert!(j.steps.windows(2).all(|w| w[0].after <= w[1].after));
            }
        }
        Err(m) => assert!(!m.is_empty()),
    }
});
