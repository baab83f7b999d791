//! `consent.onRefuse: "cookieless"`: a refusal still counts the visit, with no id, no trait,
//! no session and nothing stored; held events lose their ids; a later grant starts storing.

use super::*;

const OPT_IN: &str = ",\"consent\":{\"required\":true,\"onRefuse\":\"cookieless\"}";
const OPT_OUT: &str = ",\"consent\":{\"onRefuse\":\"cookieless\"}";
const DEST: &str = r#","destinations":[{"endpoint":"https://d.example/v1/batch"}]"#;

fn stored_nothing(host: &Fake) -> bool {
    let m = host.mem.borrow();
    m.items.is_empty() && m.cookies.is_empty() && m.writes == 0
}

/// No id, trait or session in any event of `body`; each says it is cookieless.
fn anonymous(body: &str) {
    for needle in [
        "anonymousId",
        "userId",
        "sessionId",
        "traits",
        "u-1",
        "a@example.com",
    ] {
        assert!(!body.contains(needle), "{needle} in {body}");
    }
    let events = count(body, "\"messageId\"");
    assert!(events > 0);
    assert_eq!(count(body, "\"cookieless\":true"), events, "{body}");
}

#[test]
fn a_refusal_sends_the_held_events_and_what_follows_without_ids_or_storage() {
    let host = Fake::new("https://www.shop.example/?utm_source=mail");
    let c = [OPT_IN, DEST, ",\"linkDomains\":[\"other.example\"]"].concat();
    let mut r = Run::start(host.clone(), cfg(&c), 0);
    r.call("identify", r#"["u-1",{"email":"a@example.com"}]"#);
    r.call("cart.add", r#"[{"product_id":"p-1","price":3}]"#);
    r.advance(1_000);
    assert!(r.sent.is_empty());

    r.call("consent.deny", "[]");
    let held = r.answer(200);
    anonymous(&held);
    // The page view and Product Added held before the refusal; not the identify.
    assert_eq!(count(&held, "\"messageId\""), 2, "{held}");
    assert!(held.contains(r#""type":"page""#) && held.contains("Product Added"));
    r.call(
        "track",
        r#"["Order Completed",{"order_id":"o-1","total":3}]"#,
    );
    r.call("identify", r#"["u-1",{"email":"a@example.com"}]"#);
    r.advance(2_000);
    let body = r.answer(200);
    anonymous(&body);
    assert_eq!(count(&body, "\"messageId\""), 1, "{body}");
    assert!(body.contains("Order Completed"));
    for b in [&held, &body] {
        assert!(b.contains(r#""campaign":{"source":"mail"}"#), "{b}");
        assert!(b.contains(r#""categoryPreferences":{"analytics":false,"marketing":false}"#));
    }
    // Destinations cannot count a visitor without an id: they get nothing.
    assert_eq!(r.sent_to, [0, 0]);
    assert_eq!(r.call("~link", "https://other.example/p"), None);

    // Leaving sends the rest by beacon; nothing was ever stored, not even the refusal.
    r.call("track", r#"["Clicked",{}]"#);
    r.hide(true, r.now + 10);
    assert_eq!(r.beacons_to, [0]);
    anonymous(&r.beacons[0]);
    assert!(stored_nothing(&host));
    let state = r.call("consent.get", "[]").unwrap();
    assert!(state.contains("\"decided\":true"), "{state}");
}

#[test]
fn an_opt_out_site_remembers_the_refusal_and_counts_the_next_pages_cookieless() {
    let host = Fake::new("https://www.shop.example/");
    let mut r = Run::start(host.clone(), cfg(OPT_OUT), 0);
    r.call("identify", r#"["u-1",{}]"#);
    r.advance(2_000);
    let first = r.answer(200);
    assert!(first.contains("\"anonymousId\""));
    // The refusal: the last request, with the ids the collector knows the shopper by, says
    // so (its journeys and marketing stop for that person); then everything stored is erased.
    let aid = r.e.anonymous_id().to_string();
    r.call("consent.deny", "[]");
    let last = &r.beacons[0];
    let at = last.find("Segment Consent Preference Updated").expect(last);
    let told = &last[last[..at].rfind("{\"messageId\"").unwrap()..];
    assert!(
        told.contains(&[r#""anonymousId":""#, &aid, "\""].concat()),
        "{told}"
    );
    assert!(
        told.contains(r#""userId":"u-1""#) && told.contains("sessionId"),
        "{told}"
    );
    assert!(!told.contains("cookieless"), "{told}");
    r.call("track", r#"["After",{}]"#);
    r.advance(2_000);
    anonymous(&r.answer(200));
    // The refusal alone is kept, so the next page starts cookieless.
    assert_eq!(r.stored(store::K_CONSENT).as_deref(), Some(""));
    assert!(host.mem.borrow().cookies.iter().all(|c| c.1.is_empty()));
    let writes = host.mem.borrow().writes;
    let mut next = Run::start(host.clone(), cfg(OPT_OUT), 60_000);
    next.advance(2_000);
    anonymous(&next.answer(200));
    assert_eq!(host.mem.borrow().items.len(), 1);
    assert_eq!(host.mem.borrow().writes, writes);
}

#[test]
fn a_grant_after_a_refusal_starts_storing_and_sending_ids() {
    let host = Fake::new("https://www.shop.example/");
    let mut r = Run::start(host.clone(), cfg(OPT_IN), 0);
    r.call("consent.deny", "[]");
    r.advance(2_000);
    anonymous(&r.answer(200));
    r.call("consent.grant", "[]");
    r.call("track", r#"["Later",{}]"#);
    r.advance(2_000);
    let body = r.answer(200);
    assert!(body.contains("\"anonymousId\"") && body.contains("\"sessionId\""));
    assert!(!body.contains("cookieless"));
    assert!(body.contains(r#""categoryPreferences":{"analytics":true,"marketing":true}"#));
    assert_eq!(r.stored(store::K_AID).as_deref(), Some(r.e.anonymous_id()));
    // Without the option a refusal still drops everything.
    let mut plain = Run::start(
        Fake::new("https://www.shop.example/"),
        cfg(",\"consent\":{\"required\":true}"),
        0,
    );
    plain.call("consent.deny", "[]");
    plain.advance(60_000);
    assert!(plain.sent.is_empty());
}

#[test]
fn a_link_token_is_dropped_with_its_identify() {
    let host = Fake::new("https://www.shop.example/?st_lt=tok-123");
    host.mem.borrow_mut().set(store::K_CONSENT, "");
    let mut r = Run::start(host.clone(), cfg(OPT_OUT), 0);
    r.advance(2_000);
    let body = r.answer(200);
    anonymous(&body);
    assert!(
        !body.contains("tok-123") && !body.contains("linkToken"),
        "{body}"
    );
}

#[test]
fn held_events_a_before_send_rewrote_are_dropped_at_a_refusal_not_sent_broken() {
    let c = [OPT_IN, ",\"pageViews\":false,\"beforeSend\":\"\\u0000f\""].concat();
    let changed = |e: &str| {
        e.contains("\"Changed\"")
            .then(|| e.replace("\"n\":1", "\"n\":2"))
    };
    let mut r = Run::with_middleware(Fake::new("https://www.shop.example/"), cfg(&c), 0, changed);
    r.call("track", r#"["Kept",{"n":1}]"#);
    r.call("track", r#"["Changed",{"n":1}]"#);
    r.call("consent.deny", "[]");
    r.advance(2_000);
    let body = r.answer(200);
    anonymous(&body);
    assert!(body.contains("Kept") && !body.contains("Changed"), "{body}");
    assert!(
        serde_json::from_str::<serde_json::Value>(&body).is_ok(),
        "{body}"
    );
}

#[test]
fn popups_stay_off_cookieless_even_with_marketing_granted() {
    let c = [OPT_IN, r#","campaigns":[{"id":"c1"}]"#].concat();
    let mut r = Run::start(Fake::new("https://www.shop.example/"), cfg(&c), 0);
    r.call("consent.grant", r#"[["marketing"]]"#);
    r.advance(2_000);
    anonymous(&r.answer(200));
    assert!(!r.popups.contains(&true), "no popups: {:?}", r.popups);
}
