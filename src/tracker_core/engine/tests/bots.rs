//! A bot's page load (the host's `bot` fact: automation, a crawler's or a headless browser's
//! user agent) under each `bots` mode.

use super::*;

const CAMPAIGNS: &str = r#","campaigns":[{"id":"c1"}]"#;

fn bot_page() -> Fake {
    let host = Fake::new("https://www.shop.example/");
    host.bot.set(true);
    host
}

#[test]
fn by_default_a_bot_stores_sends_and_shows_nothing() {
    let host = bot_page();
    let mut r = Run::start(host.clone(), cfg(CAMPAIGNS), 0);
    r.call("track", r#"["Product Viewed",{}]"#);
    r.call("identify", r#"["u-1",{"email":"bot@example.com"}]"#);
    r.call("consent.grant", "[]");
    r.call("flush", "[]");
    r.advance(600_000);
    r.hide(true, r.now);
    assert!(r.sent.is_empty() && r.beacons.is_empty());
    assert_eq!(r.e.queued(), 0);
    let m = host.mem.borrow();
    assert!(m.items.is_empty() && m.cookies.is_empty(), "{m:?}");
    assert!(
        r.popups.is_empty(),
        "no popups, even with marketing granted"
    );
}

#[test]
fn marked_a_bot_sends_its_events_with_context_bot_and_shows_no_popups() {
    let host = bot_page();
    let mut r = Run::start(host, cfg(&[CAMPAIGNS, r#","bots":"mark""#].concat()), 0);
    r.call("track", r#"["Product Viewed",{}]"#);
    r.advance(2_000);
    let body = r.answer(200);
    assert_eq!(
        count(&body, "\"bot\":true"),
        2,
        "the page view and the event: {body}"
    );
    assert!(r.popups.is_empty());
}

#[test]
fn allowed_or_not_a_bot_a_page_load_is_a_shoppers() {
    for (host, config) in [
        (bot_page(), r#","bots":"allow""#),
        (Fake::new("https://www.shop.example/"), ""),
        (Fake::new("https://www.shop.example/"), r#","bots":"mark""#),
    ] {
        let mut r = Run::start(host, cfg(&[CAMPAIGNS, config].concat()), 0);
        r.call("track", r#"["Product Viewed",{}]"#);
        r.advance(2_000);
        let body = r.answer(200);
        assert!(!body.contains("\"bot\""), "{config}: {body}");
        assert_eq!(r.popups, [true], "{config}");
    }
}
