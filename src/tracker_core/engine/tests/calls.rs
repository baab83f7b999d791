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

/// The quoted `"~name"` strings of `text`, with what follows each closing quote.
fn internal_names(text: &str) -> Vec<(&str, &str)> {
    text.match_indices("\"~")
        .filter_map(|(at, _)| {
            let rest = &text[at + 1..];
            let end = rest.find('"')?;
            let name = &rest[..end];
            name[1..]
                .chars()
                .all(|c| c.is_ascii_lowercase())
                .then(|| (name, &rest[end + 1..]))
        })
        .collect()
}

/// The internal calls: every `"~name"` the host sends (`run`, `later`, `direct`) has an arm in
/// the driver (`dispatch`, `apply`) or in `Engine::call`, and every arm has a sender (the host,
/// or the driver itself for `~start`, through `defer`).
#[test]
fn every_internal_call_has_an_arm_and_every_arm_a_sender() {
    use std::collections::BTreeSet;
    let host = include_str!("../../../../js/host.js");
    let driver = include_str!("../../../browser/driver.rs");
    let engine = include_str!("../calls.rs");
    let sent: BTreeSet<&str> = internal_names(host).into_iter().map(|(n, _)| n).collect();
    let arm = |(n, after): (&'static str, &'static str)| {
        (after.starts_with(" =>") || after.starts_with(" if ")).then_some(n)
    };
    let handled: BTreeSet<&str> = internal_names(driver)
        .into_iter()
        .chain(internal_names(engine))
        .filter_map(arm)
        .collect();
    assert!(sent.len() >= 12, "{sent:?}");
    let unhandled: Vec<_> = sent.difference(&handled).collect();
    assert!(
        unhandled.is_empty(),
        "js/host.js sends {unhandled:?}, nothing handles it"
    );
    assert!(driver.contains("host::defer(\"~start\")"));
    let unsent: Vec<_> = handled
        .iter()
        .filter(|n| !sent.contains(*n) && **n != "~start")
        .collect();
    assert!(
        unsent.is_empty(),
        "{unsent:?} handled, never sent by js/host.js"
    );
}

/// `Fact`'s numbers as the driver passes them and as `js/host.js`'s `fact(i)` reads them, and
/// the notify kinds the driver sends and the host tells apart.
#[test]
fn facts_and_notify_kinds_mean_the_same_on_both_sides() {
    let host = include_str!("../../../../js/host.js");
    let driver_host = include_str!("../../../browser/host.rs");
    let driver = include_str!("../../../browser/driver.rs");
    for (fact, n, js) in [
        ("Href", 0, "case 0: return location.href;"),
        ("Title", 1, "case 1: return document.title;"),
        ("Referrer", 2, "case 2: return document.referrer;"),
        ("Hostname", 3, "case 3: return location.hostname;"),
        ("Protocol", 4, "case 4: return location.protocol;"),
        ("Gpc", 6, "case 6: return navigator.globalPrivacyControl"),
    ] {
        let rust = ["Fact::", fact, " => ", &n.to_string(), ","].concat();
        assert!(driver_host.contains(&rust), "browser/host.rs: {rust}");
        assert!(host.contains(js), "js/host.js: {js}");
    }
    // Device (5) is the switch's default: the only number left.
    assert!(driver_host.contains("Fact::Device => 5,") && !host.contains("case 5:"));
    // notify: 0 a report, 1 an event, 2 a delivery, 3 a settled flush, 4 a console message, 5
    // a refused init.
    for kind in 0..=5 {
        let call = ["host::notify(", &kind.to_string(), ","].concat();
        assert!(
            driver.contains(&call),
            "browser/driver.rs never sends notify kind {kind}"
        );
    }
    for branch in [
        "kind == 0 || kind == 5",
        "kind == 1)",
        "kind == 2)",
        "kind == 3)",
    ] {
        assert!(host.contains(branch), "js/host.js notify: {branch}");
    }
}
