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

/// The page facts and notify kinds: numbered from api.json on both sides (build.rs for the
/// enums, `cargo xtask api` for js/host.js's constants), each fact answered and each notify
/// kind sent by the driver and told apart by the host.
#[test]
fn facts_and_notify_kinds_mean_the_same_on_both_sides() {
    let api = api();
    let host = include_str!("../../../../js/host.js");
    // Without white space: rustfmt may break a call across lines.
    let driver: String = (include_str!("../../../browser/driver.rs").chars())
        .filter(|c| !c.is_whitespace())
        .collect();
    let names = |key: &str| -> Vec<String> {
        (api[key].as_array().unwrap().iter())
            .map(|f| f["name"].as_str().unwrap().to_string())
            .collect()
    };
    let facts = names("facts");
    let rust_facts = [
        Fact::Href,
        Fact::Title,
        Fact::Referrer,
        Fact::Hostname,
        Fact::Protocol,
        Fact::Device,
        Fact::Gpc,
        Fact::Bot,
    ];
    assert_eq!(facts.len(), rust_facts.len());
    for (i, (name, fact)) in facts.iter().zip(rust_facts).enumerate() {
        assert_eq!(fact as usize, i, "{name}");
        assert_eq!(format!("{fact:?}").to_lowercase(), *name);
        let konst = ["FACT_", &name.to_uppercase()].concat();
        assert!(
            host.contains(&[&konst, " = ", &i.to_string(), ";"].concat()),
            "{konst}"
        );
        // Device is the switch's default (named in a comment there); each other one a case.
        let used = ["case ", &konst, ":"].concat();
        assert!(
            name == "device" || host.contains(&used),
            "js/host.js: {used}"
        );
    }
    let kinds = names("notify");
    assert_eq!(kinds.len(), 7);
    for (i, name) in kinds.iter().enumerate() {
        let konst = ["NOTIFY_", &name.to_uppercase()].concat();
        assert!(
            host.contains(&[&konst, " = ", &i.to_string(), ";"].concat()),
            "{konst}"
        );
        assert!(
            host.matches(&konst).count() >= 2,
            "js/host.js never tells {konst} apart"
        );
        let mut variant = name.clone();
        variant[..1].make_ascii_uppercase();
        let sent = ["host::notify(Notify::", &variant, ","].concat();
        assert!(
            driver.contains(&sent),
            "browser/driver.rs never sends {sent}"
        );
    }
}

/// One limit on both sides: the host sends arguments longer than api.json's `event` limit as
/// `!` (not copying them), and the engine reports that call with the message of an event too
/// large, whatever the method.
#[test]
fn arguments_too_long_for_any_event_are_reported_by_the_engine() {
    let host = include_str!("../../../../js/host.js");
    let limit = crate::tracker_core::event::MAX_EVENT_BYTES;
    assert!(host.contains(&format!("const LIMIT_EVENT = {limit};")));
    assert!(host.contains("json.length > LIMIT_EVENT) json = \"!\""));
    let mut r = Run::start(Fake::new("https://www.shop.example/"), cfg(""), 1_000);
    for method in ["track", "cart.add", "anonymousId"] {
        assert_eq!(
            r.call(method, crate::tracker_core::engine::calls::TOO_LARGE),
            None,
            "{method}"
        );
    }
    assert_eq!(r.errors.len(), 3);
    for (code, message) in &r.errors {
        assert_eq!(*code, "event_too_large");
        assert!(message.contains("larger than 32 KiB"), "{message}");
    }
    r.call("flush", "[]");
    // Only the first page view went out.
    let body = r.answer(200);
    assert_eq!(count(&body, "\"type\":\"page\""), 1);
    assert_eq!(count(&body, "\"type\":\"track\""), 0);
}
