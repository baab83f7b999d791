//! The boundary: both sides number the calls from one list. build.rs generates the Rust
//! enums from `pkg-config/api.json` (a method without an arm in `Engine::call`, or an internal
//! call without one in the driver, does not compile) and `cargo xtask api` writes the same
//! codes into js/host.js; these tests read both sides as they are.

use super::*;
use crate::tracker_core::boundary::{Call, Internal};

fn api() -> serde_json::Value {
    serde_json::from_str(include_str!("../../../../pkg-config/api.json")).unwrap()
}

#[test]
fn codes_follow_api_json_on_both_sides() {
    let api = api();
    let methods: Vec<&str> = (api["methods"].as_array().unwrap().iter())
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    let rust: Vec<&str> = Method::ALL.iter().map(|(_, n)| *n).collect();
    assert_eq!(rust, methods, "build.rs reads api.json's methods in order");
    for (code, (m, _)) in Method::ALL.iter().enumerate() {
        assert_eq!(Call::from_code(code as u32), Some(Call::Api(*m)));
    }
    // js/host.js numbers a method by its position in METHODS, written from the same list.
    let host = include_str!("../../../../js/host.js");
    let line = host
        .lines()
        .find_map(|l| l.strip_prefix("const METHODS = \""))
        .expect("js/host.js has its METHODS line");
    let js: Vec<&str> = (line.trim_end_matches("\";").split(' '))
        .map(|m| m.split(':').next().unwrap())
        .collect();
    assert_eq!(js, methods, "js/host.js's METHODS, in api.json's order");
    let n = methods.len();
    for (i, (call, name)) in Internal::ALL.iter().enumerate() {
        let code = n + i;
        assert_eq!(Call::from_code(code as u32), Some(Call::Internal(*call)));
        let decl = ["const $", name, " = ", &code.to_string(), ";"].concat();
        assert!(host.contains(&decl), "js/host.js: {decl}");
    }
    let past = (n + Internal::ALL.len()) as u32;
    assert_eq!(
        Call::from_code(past),
        None,
        "a code past the list is no call"
    );
}

/// Every internal call is sent: by js/host.js (`$name` used beyond its declaration), or for
/// `~start` by the driver itself.
#[test]
fn every_internal_call_has_a_sender() {
    let host = include_str!("../../../../js/host.js");
    let driver = include_str!("../../../browser/driver.rs");
    for (call, name) in Internal::ALL {
        let uses = host.matches(&["$", name].concat()).count();
        let by_driver = driver.contains(&["host::defer(Internal::", &format!("{call:?}")].concat());
        assert!(
            uses >= 2 || by_driver,
            "~{name}: nothing sends it (js/host.js uses `${name}` {uses} times)"
        );
    }
}

#[test]
fn getters_are_the_methods_of_kinds_two_to_four() {
    let getters: Vec<&str> = (Method::ALL.iter())
        .filter(|(m, _)| m.is_getter())
        .map(|(_, n)| *n)
        .collect();
    assert_eq!(
        getters,
        [
            "anonymousId",
            "userId",
            "sessionId",
            "profile",
            "consent.get",
            "cart.get"
        ]
    );
    assert_eq!(Method::named("cart.teleport"), None);
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
