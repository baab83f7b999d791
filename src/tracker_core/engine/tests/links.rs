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

const AID: &str = "5f0c8a4e-1b2d-4c3e-9f00-0000000000aa";
const NOW: u64 = 1_800_000_000_000;
const LINKING: &str = ",\"linkDomains\":[\"other-shop.example\"]";

/// A shopper lands on `https://shop.example/p?st_x=<AID>.<age_s ago>` from `referrer`: the
/// run, once its first page view was delivered.
fn arrive(referrer: &str, age_s: u64, extra: &str) -> Run {
    let host = Fake::new(&format!(
        "https://shop.example/p?st_x={AID}.{}&q=1",
        NOW / 1000 - age_s
    ));
    host.page.borrow_mut().referrer = referrer.into();
    let mut r = Run::start(host, cfg(extra), NOW);
    r.call("flush", "[]");
    let body = r.answer(200);
    assert!(body.contains("\"type\":\"page\""), "{body}");
    assert!(!body.contains("st_x"), "st_x in a reported URL: {body}");
    assert_eq!(
        r.replaced,
        ["https://shop.example/p?q=1"],
        "stripped from the address bar, whoever sent it ({referrer})"
    );
    assert_eq!(r.errors, [], "refused silently ({referrer})");
    r
}

#[test]
fn a_cross_domain_id_is_adopted_when_the_shopper_comes_from_a_linked_site() {
    for from in [
        "https://other-shop.example/",
        "https://www.other-shop.example/cart?x=1",
        "http://Other-Shop.example:8080/",
    ] {
        assert_eq!(arrive(from, 60, LINKING).e.anonymous_id(), AID, "{from}");
    }
    let stale = arrive("https://other-shop.example/", 180, LINKING);
    assert_ne!(stale.e.anonymous_id(), AID, "3 minutes old: refused");
}

#[test]
fn a_cross_domain_id_from_any_other_page_is_stripped_and_not_adopted() {
    for from in [
        "",
        "https://search.example/",
        "https://other-shop.example.evil.com/",
        "https://evilother-shop.example/",
        "https://evil.com/other-shop.example",
        "https://other-shop.example@evil.com/",
        "about:blank",
        "not a url",
    ] {
        let r = arrive(from, 60, LINKING);
        assert_ne!(r.e.anonymous_id(), AID, "planted from {from:?}");
        assert_eq!(
            r.stored(store::K_AID).as_deref(),
            Some(r.e.anonymous_id()),
            "{from:?}"
        );
    }
    // Without `linkDomains`, no site is linked.
    assert_ne!(
        arrive("https://other-shop.example/", 60, "")
            .e
            .anonymous_id(),
        AID
    );
    // The page's own site is never a linked one, even when listed: a link a shopper posted
    // on the shop (a review, say) plants nothing.
    let listed = ",\"linkDomains\":[\"shop.example\",\"other-shop.example\"]";
    for own in [
        "https://www.shop.example/reviews",
        "https://a.www.shop.example/",
    ] {
        assert_ne!(arrive(own, 60, listed).e.anonymous_id(), AID, "{own}");
    }
}

#[test]
fn links_to_the_other_site_carry_the_anonymous_id() {
    let mut r = Run::start(Fake::new("https://www.shop.example/"), cfg(LINKING), NOW);
    let aid = r.e.anonymous_id().to_string();
    assert_eq!(
        r.call("~link", "https://other-shop.example/cart"),
        Some(format!(
            "https://other-shop.example/cart?st_x={aid}.{}",
            NOW / 1000
        ))
    );
    assert_eq!(r.call("~link", "https://www.shop.example/cart"), None);
    assert_eq!(r.call("~link", "https://elsewhere.example/"), None);
    let text = r#"{"endpoint":"https://c.example/v1/batch","linkDomains":["not a host"]}"#;
    assert_eq!(config::parse_json(text).unwrap_err().option, "linkDomains");
}
