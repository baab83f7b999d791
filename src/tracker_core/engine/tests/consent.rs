//! Consent: nothing stored or sent before a grant, held events sent on grant or dropped on
//! denial, revocation erasing every stored thing, Global Privacy Control, `context.consent`.

use super::*;

const OPT_IN: &str = ",\"consent\":{\"required\":true}";

fn stored_nothing(host: &Fake) -> bool {
    let m = host.mem.borrow();
    m.items.is_empty() && m.cookies.is_empty() && m.writes == 0
}

#[test]
fn nothing_is_stored_or_sent_before_a_grant_then_the_held_events_leave() {
    let host = Fake::new("https://www.shop.example/?utm_source=mail");
    let mut r = Run::start(host.clone(), cfg(OPT_IN), 0);
    r.call("identify", r#"["u-1",{"plan":"pro"}]"#);
    r.call("cart.add", r#"[{"product_id":"p-1","price":3}]"#);
    r.call("track", r#"["Clicked",{}]"#);
    r.advance(10_000);
    r.call("flush", "[]");
    assert!(stored_nothing(&host));
    assert!(r.sent.is_empty());
    assert_eq!(r.settled, [false]);
    // The page still works in memory.
    assert_eq!(r.e.user_id(), Some("u-1"));
    assert!(r.call("cart.get", "[]").unwrap().contains("p-1"));
    let state = r.call("consent.get", "[]").unwrap();
    assert!(state.contains("\"decided\":false"), "{state}");

    r.call("consent.grant", "[]");
    r.advance(2_000);
    let body = r.answer(200);
    // The page view, identify, Product Added and the track: every one held, in order.
    assert_eq!(count(&body, "\"messageId\""), 4, "{body}");
    assert_eq!(
        count(
            &body,
            r#""consent":{"categoryPreferences":{"analytics":true,"marketing":true}}"#
        ),
        4
    );
    assert_eq!(r.stored(store::K_UID).as_deref(), Some("u-1"));
    assert!(r.stored(store::K_CART).is_some());
    assert_eq!(
        r.stored(store::K_CONSENT).as_deref(),
        Some("analytics marketing")
    );
    let cookie = host.mem.borrow().cookie(store::COOKIE);
    assert_eq!(cookie.as_deref(), Some(r.e.anonymous_id()));
    assert_eq!(
        host.mem.borrow().cookies[0].2.as_deref(),
        Some("shop.example")
    );

    // A returning shopper is not asked again.
    let mut r2 = Run::start(host.clone(), cfg(OPT_IN), 60_000);
    r2.advance(2_000);
    assert_eq!(r2.sent.len(), 1);
    assert_eq!(r2.e.user_id(), Some("u-1"));
}

#[test]
fn a_denial_drops_the_held_events_and_stores_nothing() {
    let host = Fake::new("https://www.shop.example/");
    let mut r = Run::start(host.clone(), cfg(OPT_IN), 0);
    r.call("track", r#"["A",{}]"#);
    r.call("consent.deny", "[]");
    r.call("track", r#"["B",{}]"#);
    r.advance(60_000);
    // Nothing was ever allowed to leave: not even the refusal does.
    assert!(r.sent.is_empty() && r.beacons.is_empty());
    assert!(r.events.iter().all(|e| !e.contains("Consent Preference")));
    assert_eq!(r.e.queued(), 0);
    r.e.handle_hide(true, r.now);
    r.drain();
    assert!(r.beacons.is_empty());
    assert!(stored_nothing(&host));
    // A next page asks again, and a later grant sends only what follows it.
    r.call("consent.grant", r#"[["analytics"]]"#);
    r.call("track", r#"["C",{}]"#);
    r.advance(2_000);
    let body = r.answer(200);
    assert!(body.contains("\"C\"") && !body.contains("\"A\"") && !body.contains("\"B\""));
    assert!(body.contains(r#""categoryPreferences":{"analytics":true,"marketing":false}"#));
}

#[test]
fn at_most_a_hundred_events_wait_for_a_decision() {
    let host = Fake::new("https://www.shop.example/");
    let mut r = Run::start(
        host.clone(),
        cfg(&[OPT_IN, ",\"pageViews\":false"].concat()),
        0,
    );
    for i in 0..150 {
        r.call("track", &["[\"E", &i.to_string(), "\",{}]"].concat());
    }
    assert_eq!(r.e.queued(), 100);
    let warned: Vec<_> = r
        .errors
        .iter()
        .filter(|e| e.0 == "consent_pending")
        .collect();
    assert_eq!(warned.len(), 1);
    r.call("consent.grant", "[]");
    r.call("flush", "[]");
    let body = r.answer(200);
    assert_eq!(count(&body, "\"messageId\""), 100);
    assert!(body.contains("\"E99\"") && !body.contains("\"E100\""));
}

#[test]
fn revoking_erases_every_stored_thing_and_stops_sending() {
    let host = Fake::new("https://www.shop.example/");
    let mut r = Run::start(host.clone(), cfg(",\"pageViews\":false"), 0);
    r.call("identify", r#"["u-1",{"email":"a@example.com"}]"#);
    r.call("cart.add", r#"[{"product_id":"p-1","price":3}]"#);
    r.advance(2_000);
    let first = r.answer(200);
    assert!(first.contains(r#""analytics":true,"marketing":true"#));
    // A request under way when the shopper withdraws; a queue another page left.
    r.call("track", r#"["Late",{}]"#);
    r.advance(2_000);
    assert!(r.in_flight.is_some());
    host.mem.borrow_mut().set("shoptrail:q:other", "x");
    r.call("track", r#"["Queued",{}]"#);
    let aid = r.e.anonymous_id().to_string();
    r.call("consent.revoke", "[]");
    // One last request: the events accepted while consent held (the one under way too: the
    // collector keeps an event once) and the new preferences, for the ids they were sent with.
    assert_eq!(r.beacons_to, [0]);
    let last = &r.beacons[0];
    assert_eq!(count(last, "\"messageId\""), 3, "{last}");
    assert!(last.contains("\"Late\"") && last.contains("\"Queued\""));
    let tail = last
        .split("Segment Consent Preference Updated")
        .nth(1)
        .unwrap();
    assert!(
        tail.contains(r#""consent":{"categoryPreferences":{"analytics":false,"marketing":false}}"#)
    );
    assert!(last.contains(&aid) && last.contains(r#""userId":"u-1""#));
    r.answer(503);
    let m = host.mem.borrow().clone();
    let keys: Vec<_> = m.items.iter().map(|(k, _)| k.as_str()).collect();
    // An opt-out site keeps the refusal, and nothing else.
    assert_eq!(keys, ["shoptrail:consent"]);
    assert_eq!(m.get(store::K_CONSENT).as_deref(), Some(""));
    assert!(m.cookies.is_empty());
    assert_eq!(r.e.user_id(), None);
    assert_ne!(r.e.anonymous_id(), aid);
    r.call("track", r#"["After",{}]"#);
    r.advance(120_000);
    assert_eq!(r.sent.len(), 2);
    assert_eq!(r.beacons.len(), 1);
    assert_eq!(r.e.queued(), 0);
    r.call("consent.deny", "[]");
    assert_eq!(r.beacons.len(), 1);
    // The refusal lasts across pages.
    let mut r2 = Run::start(host.clone(), cfg(""), 200_000);
    r2.call("track", r#"["Next page",{}]"#);
    r2.advance(60_000);
    assert!(r2.sent.is_empty());
    assert_eq!(host.mem.borrow().items.len(), 1);
}

#[test]
fn global_privacy_control_denies_marketing_unless_turned_off() {
    let host = Fake::new("https://www.shop.example/");
    host.gpc.set(true);
    let mut r = Run::start(host.clone(), cfg(""), 0);
    r.advance(2_000);
    let body = r.answer(200);
    assert!(body.contains(
        r#""consent":{"categoryPreferences":{"analytics":true,"marketing":false},"gpc":true}"#
    ));
    let state = r.call("consent.get", "[]").unwrap();
    assert!(state.contains("\"granted\":[\"analytics\"]"), "{state}");
    let mut r = Run::start(host, cfg(",\"consent\":{\"gpc\":false}"), 0);
    let state = r.call("consent.get", "[]").unwrap();
    assert!(
        state.contains("\"granted\":[\"analytics\",\"marketing\"]"),
        "{state}"
    );
}

#[test]
fn a_grant_of_an_unknown_category_is_refused_with_the_list() {
    let host = Fake::new("https://www.shop.example/");
    let mut r = Run::start(host.clone(), cfg(OPT_IN), 0);
    r.call("consent.grant", r#"[["ads"]]"#);
    r.call("consent.grant", r#"["analytics"]"#);
    assert_eq!(r.errors.len(), 2);
    assert!(r.errors[0]
        .1
        .contains("\"ads\" is not a configured category; they are analytics, marketing"));
    assert!(stored_nothing(&host));
}

#[test]
fn links_to_other_sites_carry_no_id_without_consent() {
    let host = Fake::new("https://www.shop.example/");
    let c = [OPT_IN, ",\"linkDomains\":[\"other.example\"]"].concat();
    let mut r = Run::start(host, cfg(&c), 0);
    assert_eq!(r.call("~link", "https://other.example/p"), None);
    r.call("consent.grant", "[]");
    assert!(r
        .call("~link", "https://other.example/p")
        .unwrap()
        .contains("st_x="));
}

#[test]
fn a_revocation_after_a_grant_tells_every_lane_then_erases_and_sends_nothing_more() {
    let host = Fake::new("https://www.shop.example/");
    let dest = r#","destinations":[{"endpoint":"https://d.example/v1/batch","events":["Order Completed"]}]"#;
    let mut r = Run::start(host.clone(), cfg(&[OPT_IN, dest].concat()), 0);
    r.call("consent.grant", "[]");
    r.advance(2_000);
    r.answer(200);
    r.call("identify", r#"["u-9",{}]"#);
    let aid = r.e.anonymous_id().to_string();
    r.advance(500);
    r.call("consent.revoke", "[]");
    // Every lane, the destination's too although its `events` do not name it.
    assert_eq!(r.beacons_to, [0, 1]);
    for body in &r.beacons {
        let at = body
            .find(crate::tracker_core::engine::consent::CONSENT_EVENT)
            .expect(body);
        let head = &body[body[..at].rfind("{\"").unwrap()..];
        assert!(head.contains(r#""type":"track""#), "{body}");
        assert!(head.contains(&[r#""anonymousId":""#, &aid, "\""].concat()));
        assert!(head.contains(r#""userId":"u-9""#));
        assert!(head.contains(
            r#""consent":{"categoryPreferences":{"analytics":false,"marketing":false}}"#
        ));
    }
    assert!(r.beacons[0].contains(r#""type":"identify""#));
    assert_eq!(count(&r.beacons[1], "\"messageId\""), 1);
    // Then: nothing stored (an opt-in site keeps no refusal), nothing queued or sent.
    assert!(host.mem.borrow().items.is_empty() && host.mem.borrow().cookies.is_empty());
    assert_eq!(r.e.queued(), 0);
    r.call("track", r#"["After",{}]"#);
    r.call("flush", "[]");
    r.advance(600_000);
    r.hide(true, r.now);
    assert_eq!(r.sent.len(), 1);
    assert_eq!(r.beacons.len(), 2);
    assert!(host.mem.borrow().items.is_empty());
}

#[test]
fn a_denial_on_an_opt_out_site_sends_the_new_preferences() {
    let host = Fake::new("https://www.shop.example/");
    let mut r = Run::start(host.clone(), cfg(""), 0);
    r.call("consent.deny", "[]");
    assert_eq!(r.beacons_to, [0]);
    let body = &r.beacons[0];
    // The page view accepted before the refusal, then the refusal.
    assert_eq!(count(body, "\"messageId\""), 2, "{body}");
    assert!(body.contains(r#""event":"Segment Consent Preference Updated""#));
    assert!(body.contains(r#""categoryPreferences":{"analytics":false,"marketing":false}"#));
    assert!(r.sent.is_empty());
    assert_eq!(r.stored(store::K_CONSENT).as_deref(), Some(""));
    assert_eq!(host.mem.borrow().items.len(), 1);
}

#[test]
fn a_grant_that_changes_categories_sends_them_with_the_queue() {
    let host = Fake::new("https://www.shop.example/");
    let mut r = Run::start(host.clone(), cfg(",\"pageViews\":false"), 0);
    // Granting what is already granted changes nothing.
    r.call("consent.grant", "[]");
    r.advance(60_000);
    assert!(r.sent.is_empty());
    r.call("consent.grant", r#"[["analytics"]]"#);
    r.advance(2_000);
    let body = r.answer(200);
    assert_eq!(count(&body, "\"messageId\""), 1);
    assert!(body.contains(r#""event":"Segment Consent Preference Updated""#));
    assert!(body.contains(r#""categoryPreferences":{"analytics":true,"marketing":false}"#));
    assert!(r.beacons.is_empty());
    // Withdrawing analytics by a grant is a withdrawal.
    r.call("consent.grant", r#"[["marketing"]]"#);
    assert_eq!(r.beacons.len(), 1);
    assert!(r.beacons[0].contains(r#""categoryPreferences":{"analytics":false,"marketing":true}"#));
}

/// Popups run while campaigns are configured and the shopper's consent allows marketing; the
/// host hears each change once, in order.
#[test]
fn popups_run_with_campaigns_and_consent_to_marketing() {
    const CAMPAIGNS: &str = r#","campaigns":[{"id":"c1"}]"#;
    // No campaign: nothing to run, whatever the consent.
    let mut r = Run::start(Fake::new("https://www.shop.example/"), cfg(""), 0);
    r.call("consent.grant", "[]");
    assert!(r.popups.is_empty());
    // An empty list is no campaign either; one added later is.
    let mut r = Run::start(
        Fake::new("https://www.shop.example/"),
        cfg(r#","campaigns":[]"#),
        0,
    );
    assert!(r.popups.is_empty());
    r.call("campaigns.add", "[]");
    assert_eq!(r.popups, [true]);

    // A site that does not require consent: popups from the start, until a refusal.
    let mut r = Run::start(Fake::new("https://www.shop.example/"), cfg(CAMPAIGNS), 0);
    assert_eq!(r.popups, [true]);
    r.call("campaigns.add", "[]");
    r.call("consent.deny", "[]");
    r.call("consent.deny", "[]");
    assert_eq!(r.popups, [true, false]);
    r.call("consent.grant", r#"[["analytics"]]"#);
    assert_eq!(r.popups, [true, false]);
    r.call("consent.grant", r#"[["analytics","marketing"]]"#);
    assert_eq!(r.popups, [true, false, true]);
    r.call("consent.revoke", "[]");
    assert_eq!(r.popups, [true, false, true, false]);

    // Consent required: only after marketing is granted.
    let both = [OPT_IN, CAMPAIGNS].concat();
    let mut r = Run::start(Fake::new("https://www.shop.example/"), cfg(&both), 0);
    assert!(r.popups.is_empty());
    r.call("consent.grant", r#"[["analytics"]]"#);
    assert!(r.popups.is_empty());
    r.call("consent.grant", "[]");
    assert_eq!(r.popups, [true]);

    // Global Privacy Control denies marketing: never.
    let host = Fake::new("https://www.shop.example/");
    host.gpc.set(true);
    let mut r = Run::start(host, cfg(CAMPAIGNS), 0);
    r.call("consent.grant", "[]");
    assert!(r.popups.is_empty());
}
