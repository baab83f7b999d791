//! The boundary by name: every method `pkg-config/api.json` lists is either written by hand in
//! `js/host.js` (`api.<name> = ...`) or has an arm in `Engine::call`, so a method added to the
//! list and to neither fails here rather than doing nothing in a shop's page.

use super::*;
use crate::tracker_core::engine::calls::UNKNOWN;

/// The methods `js/host.js` writes by hand (`api.flush = function ...`); the others of kinds 0
/// to 4 go through the generated table to `Engine::call`, and `init` (kind 7) is the host's.
fn host_written() -> Vec<&'static str> {
    let host = include_str!("../../../../js/host.js");
    host.split("api.")
        .skip(1)
        .filter_map(|rest| {
            let end = rest.find(|c: char| !(c.is_alphanumeric() || c == '.'))?;
            rest[end..].starts_with(" = ").then(|| &rest[..end])
        })
        .collect()
}

#[test]
fn every_listed_method_that_reaches_the_wasm_has_an_arm() {
    let api: serde_json::Value =
        serde_json::from_str(include_str!("../../../../pkg-config/api.json")).unwrap();
    let methods = api["methods"].as_array().expect("api.json lists methods");
    let by_hand = host_written();
    assert!(
        by_hand.contains(&"flush") && by_hand.contains(&"campaigns.add"),
        "{by_hand:?}"
    );
    let mut checked = 0;
    for m in methods {
        let name = m["name"].as_str().unwrap();
        if m["kind"].as_u64().unwrap() > 4 || by_hand.contains(&name) {
            continue;
        }
        let mut r = Run::start(Fake::new("https://www.shop.example/"), cfg(""), 0);
        UNKNOWN.with(|u| u.set(false));
        r.call(name, "[]");
        assert!(
            !UNKNOWN.with(|u| u.get()),
            "api.json lists {name}, Engine::call has no arm for it"
        );
        checked += 1;
    }
    assert!(checked >= 30, "only {checked} methods checked");
    // And the check can fail: a name nobody handles is noticed.
    let mut r = Run::start(Fake::new("https://www.shop.example/"), cfg(""), 0);
    UNKNOWN.with(|u| u.set(false));
    r.call("cart.teleport", "[]");
    assert!(UNKNOWN.with(|u| u.get()));
}
