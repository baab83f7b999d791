//! Identity carried by links: channel link tokens and cross-domain ids.

use super::*;

#[test]
fn a_link_token_is_sent_once_and_never_reported_in_a_url() {
    let token = "tok_0123456789abcdefXYZ";
    let landing = format!("https://s.example/p?utm_source=mail&st_lt={token}&x=1#top");
    let host = Fake::new(&landing);
    host.page.borrow_mut().referrer = format!("https://mail.example/?st_lt={token}");
    let mut r = Run::start(host.clone(), cfg(""), 0);
    assert_eq!(r.replaced, ["https://s.example/p?utm_source=mail&x=1#top"]);
    r.call("track", r#"["Later",{}]"#);
    r.call("flush", "[]");
    let body = r.answer(200);
    let events: Vec<&str> = body.split("{\"messageId\"").skip(1).collect();
    assert!(
        events[0].contains("\"type\":\"identify\""),
        "the identify comes first: {body}"
    );
    assert!(events[0].contains(&format!("\"context\":{{\"linkToken\":\"{token}\",")));
    assert_eq!(
        body.matches(token).count(),
        1,
        "only as context.linkToken: {body}"
    );
    assert!(events[1].contains("\"type\":\"page\""));
    assert!(
        body.contains("\"campaign\":{\"source\":\"mail\"}"),
        "{body}"
    );
    assert!(
        r.stored(store::K_LINKS).is_some_and(|l| !l.contains(token)),
        "kept as a fingerprint"
    );
    // The same link opened again on this device sends nothing; another parameter name works.
    host.go(&landing);
    let mut again = Run::start(host.clone(), cfg(""), 1_000);
    again.call("flush", "[]");
    let body = again.answer(200);
    assert_eq!(body.matches(token).count(), 0, "{body}");
    let custom = Fake::new(&format!("https://s.example/?t={token}"));
    let mut c = Run::start(custom, cfg(",\"linkParam\":\"t\""), 0);
    c.call("flush", "[]");
    assert!(c.answer(200).contains("\"linkToken\""));
    assert_eq!(c.replaced, ["https://s.example/"]);
}

#[test]
fn a_fresh_cross_domain_id_is_adopted_and_links_to_the_other_site_carry_it() {
    const AID: &str = "5f0c8a4e-1b2d-4c3e-9f00-0000000000aa";
    let now = 1_800_000_000_000u64;
    let at = |age_s: u64| format!("https://shop.example/p?st_x={AID}.{}", now / 1000 - age_s);
    let fresh = Run::start(Fake::new(&at(60)), cfg(""), now);
    assert_eq!(fresh.e.anonymous_id(), AID);
    assert_eq!(fresh.replaced, ["https://shop.example/p"]);
    let stale = Run::start(Fake::new(&at(180)), cfg(""), now);
    assert_ne!(stale.e.anonymous_id(), AID, "3 minutes old: refused");
    assert_eq!(
        stale.replaced,
        ["https://shop.example/p"],
        "and stripped all the same"
    );
    let linking = ",\"linkDomains\":[\"other-shop.example\"]";
    let mut r = Run::start(Fake::new("https://www.shop.example/"), cfg(linking), now);
    let aid = r.e.anonymous_id().to_string();
    assert_eq!(
        r.call("~link", "https://other-shop.example/cart"),
        Some(format!(
            "https://other-shop.example/cart?st_x={aid}.{}",
            now / 1000
        ))
    );
    assert_eq!(r.call("~link", "https://www.shop.example/cart"), None);
    assert_eq!(r.call("~link", "https://elsewhere.example/"), None);
    let text = r#"{"endpoint":"https://c.example/v1/batch","linkDomains":["not a host"]}"#;
    assert_eq!(config::parse_json(text).unwrap_err().option, "linkDomains");
}
