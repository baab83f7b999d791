//! Who the shopper is: the anonymous id and its cookie, identify and reset, another user on
//! the device, ids from a server-rendered page, cookie domains, sessions.

use super::*;

#[test]
fn the_anonymous_id_lasts_and_each_copy_restores_the_other() {
    let host = Fake::new("https://www.shop.example/");
    let r = Run::start(host.clone(), cfg(""), 0);
    let aid = r.e.anonymous_id().to_string();
    assert_eq!(r.stored(store::K_AID).as_deref(), Some(aid.as_str()));
    let cookie = host.mem.borrow().cookies[0].clone();
    assert_eq!(cookie.1, aid);
    assert_eq!(cookie.2.as_deref(), Some("shop.example"));
    // Cookie cleared: storage restores it.
    host.mem.borrow_mut().cookies.clear();
    let r2 = Run::start(host.clone(), cfg(""), 1);
    assert_eq!(r2.e.anonymous_id(), aid);
    assert_eq!(
        host.mem.borrow().cookie(store::COOKIE).as_deref(),
        Some(aid.as_str())
    );
    // Storage cleared: the cookie restores it.
    host.mem.borrow_mut().remove(store::K_AID);
    let r3 = Run::start(host.clone(), cfg(""), 2);
    assert_eq!(r3.e.anonymous_id(), aid);
    assert_eq!(r3.stored(store::K_AID).as_deref(), Some(aid.as_str()));
}

#[test]
fn identify_merges_traits_and_reset_forgets_everything() {
    let host = Fake::new("https://s/");
    let mut r = Run::start(host.clone(), cfg(",\"pageViews\":false"), 0);
    let aid = r.e.anonymous_id().to_string();
    r.call(
        "identify",
        r#"["user-42",{"email":"a@example.com","plan":"free"}]"#,
    );
    r.call("identify", r#"[{"plan":"pro"}]"#);
    assert_eq!(r.e.user_id(), Some("user-42"));
    assert_eq!(
        r.stored(store::K_TRAITS).as_deref(),
        Some(r#"{"email":"a@example.com","plan":"pro"}"#)
    );
    r.call("cart.add", r#"[{"product_id":"a","price":2}]"#);
    assert!(r.stored(store::K_CART).is_some());
    r.call("reset", "[]");
    assert_eq!(r.e.user_id(), None);
    assert_ne!(r.e.anonymous_id(), aid);
    assert_eq!(r.stored(store::K_TRAITS), None);
    assert_eq!(r.stored(store::K_CART), None);
    assert_eq!(r.call("userId", "[]"), None);
}

#[test]
fn another_user_on_the_same_device_starts_afresh_the_same_user_merges() {
    let host = Fake::new("https://s/");
    let mut r = Run::start(host.clone(), cfg(",\"pageViews\":false"), 0);
    r.call("identify", r#"["mum",{"email":"mum@example.com"}]"#);
    r.call("cart.add", r#"[{"product_id":"a","price":2}]"#);
    let first = r.e.anonymous_id().to_string();
    r.call("identify", r#"["mum",{"plan":"pro"}]"#);
    assert_eq!(
        r.e.anonymous_id(),
        first,
        "the same user keeps the device's id"
    );
    assert_eq!(
        r.stored(store::K_TRAITS).as_deref(),
        Some(r#"{"email":"mum@example.com","plan":"pro"}"#)
    );
    r.now = 5_000;
    r.call("identify", r#"["kid",{"age":"13"}]"#);
    assert_eq!(r.e.user_id(), Some("kid"));
    assert_ne!(r.e.anonymous_id(), first, "a new anonymous id");
    assert_eq!(r.e.session_id(), 5_000, "a new session");
    assert_eq!(
        r.stored(store::K_TRAITS).as_deref(),
        Some(r#"{"age":"13"}"#)
    );
    assert!(r
        .call("cart.get", "[]")
        .unwrap()
        .contains("\"products\":[]"));
    r.call("flush", "[]");
    let body = r.answer(200);
    // The kid's identify carries the new id; nothing of theirs carries the first one.
    let kid = body.split("\"type\":\"identify\"").last().unwrap();
    assert!(
        !kid.contains(&first) && kid.contains("\"userId\":\"kid\""),
        "{kid}"
    );
}

#[test]
fn a_server_rendered_page_hands_over_its_ids() {
    let host = Fake::new("https://s/");
    let id = "5f0c8a4e-1b2d-4c3e-9f00-0000000000aa";
    let extra = format!(
        ",\"pageViews\":false,\"identity\":{{\"anonymousId\":\"{id}\",\"userId\":\"u-1\"}}"
    );
    let r = Run::start(host.clone(), cfg(&extra), 0);
    assert_eq!(r.e.anonymous_id(), id);
    assert_eq!(r.e.user_id(), Some("u-1"));
    assert_eq!(host.mem.borrow().cookie(store::COOKIE).as_deref(), Some(id));
    assert_eq!(r.stored(store::K_AID).as_deref(), Some(id));
    // A later page rendered for another user: that user's device state starts afresh.
    let other = extra.replace("u-1", "u-2");
    let r2 = Run::start(host.clone(), cfg(&other), 1_000);
    assert_eq!(r2.e.user_id(), Some("u-2"));
    assert_eq!(r2.e.anonymous_id(), id, "the page said which anonymous id");
    for bad in [
        r#","identity":{"anonymousId":"has space"}"#,
        r#","identity":{"userId":""}"#,
        r#","identity":{"email":"x"}"#,
        r#","identity":"u-1""#,
    ] {
        let text = ["{\"endpoint\":\"https://c.example/v1/batch\"", bad, "}"].concat();
        let e = config::parse_json(&text).unwrap_err();
        assert_eq!(e.option, "identity", "{bad}");
    }
}

#[test]
fn the_id_cookie_is_renewed_at_most_daily_and_refreshed_by_the_server_endpoint() {
    let host = Fake::new("https://www.shop.example/");
    let refresh = ",\"cookieRefreshUrl\":\"https://www.shop.example/id\"";
    let r = Run::start(host.clone(), cfg(refresh), 0);
    let aid = r.e.anonymous_id().to_string();
    assert_eq!(
        r.refreshes,
        [format!("https://www.shop.example/id {aid} shop.example")]
    );
    let writes = || host.mem.borrow().cookie_writes;
    let after_first = writes();
    // Reloads and activity within a day write nothing more.
    let mut r2 = Run::start(host.clone(), cfg(refresh), 60_000);
    r2.now = identity::DAY_MS - 1;
    r2.call("track", r#"["A",{}]"#);
    assert_eq!(writes(), after_first);
    assert!(r2.refreshes.is_empty());
    // Activity a day later renews it, once.
    r2.now = identity::DAY_MS;
    r2.call("track", r#"["B",{}]"#);
    r2.now += 10_000;
    r2.call("track", r#"["C",{}]"#);
    assert_eq!(writes(), after_first + 1);
    assert_eq!(r2.refreshes.len(), 1);
    // A cookie that went away is written back at once.
    host.mem.borrow_mut().cookies.clear();
    Run::start(host.clone(), cfg(refresh), identity::DAY_MS + 20_000);
    assert_eq!(
        host.mem.borrow().cookie(store::COOKIE).as_deref(),
        Some(aid.as_str())
    );
}

#[test]
fn cookie_domain_can_be_set_or_host_only() {
    for (extra, want) in [
        (",\"cookieDomain\":\"shop.example\"", Some("shop.example")),
        (",\"cookieDomain\":false", None),
        ("", Some("shop.example")),
    ] {
        let host = Fake::new("https://a.b.shop.example/");
        Run::start(host.clone(), cfg(extra), 0);
        let mem = host.mem.borrow();
        let c = mem.cookies.iter().find(|c| c.0 == store::COOKIE).unwrap();
        assert_eq!(c.2.as_deref(), want, "{extra}");
    }
    let text = r#"{"endpoint":"https://c.example/v1/batch","cookieDomain":"not a domain"}"#;
    assert_eq!(config::parse_json(text).unwrap_err().option, "cookieDomain");
}

#[test]
fn user_ids_follow_one_rule_everywhere() {
    let host = Fake::new("https://s/");
    let mut r = Run::start(host.clone(), cfg(",\"pageViews\":false"), 0);
    for bad in [r#"[" "]"#, r#"["a\u0001b"]"#] {
        r.call("identify", bad);
        r.call("alias", bad);
    }
    assert_eq!(r.errors.len(), 4);
    assert!(r.errors.iter().all(|(c, _)| *c == "invalid_argument"));
    r.call("identify", r#"["ada lovelace@example.com"]"#);
    assert_eq!(r.e.user_id(), Some("ada lovelace@example.com"));
    // A stored id that breaks the rule is not loaded.
    host.mem.borrow_mut().set(store::K_UID, "bad\u{7}id");
    let r2 = Run::start(host, cfg(""), 1);
    assert_eq!(r2.e.user_id(), None);
}

#[test]
fn sessions_roll_over_after_30_minutes_of_inactivity() {
    let host = Fake::new("https://s/");
    let mut r = Run::start(host.clone(), cfg(",\"pageViews\":false"), 1_000);
    let first = r.e.session_id();
    r.now = 1_000 + identity::SESSION_TIMEOUT_MS - 1;
    r.call("track", r#"["A",{}]"#);
    assert_eq!(r.e.session_id(), first);
    r.now += identity::SESSION_TIMEOUT_MS;
    r.call("track", r#"["B",{}]"#);
    assert_ne!(r.e.session_id(), first);
    assert!(r.events.is_empty(), "no listener, no event copies");
}

#[test]
fn hash_pii_sends_and_stores_email_and_phone_only_hashed() {
    let host = Fake::new("https://s/");
    let mut r = Run::start(host, cfg(",\"pageViews\":false,\"hashPii\":true"), 0);
    r.call(
        "identify",
        r#"["u-1",{"email":" Ada@Example.com","phone":"+1 555 010 9999","plan":"pro"}]"#,
    );
    r.call("flush", "[]");
    let body = r.answer(200);
    let stored = r.stored(store::K_TRAITS).unwrap();
    for text in [&body, &stored] {
        assert!(!text.contains("Example") && !text.contains("555"), "{text}");
        // Python's hashlib of "ada@example.com" and "+15550109999".
        assert!(text.contains("b5fc85e55755f9e0d030a10ab4429b6b2944855f9a0d60077fe832becbc41d72"));
        assert!(text.contains("d6793cafee143dab64595a0d6ef1f17cd3e7e39c1b87fdd338410e4c71cc4aaf"));
        assert!(text.contains("\"plan\":\"pro\""));
    }
}
