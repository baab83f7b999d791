//! The engine on a virtual clock, with storage in memory and a page whose URL the test moves.

use super::*;
use crate::core::config;
use crate::core::store::Memory;
use crate::core::{identity, queue};
use core::cell::{Cell, RefCell};
use std::rc::Rc;

#[derive(Debug, Default)]
struct PageState {
    href: String,
    title: String,
    referrer: String,
}

/// A page: shared so that the test can navigate while the engine owns the host.
#[derive(Debug, Clone)]
struct Fake {
    mem: Rc<RefCell<Memory>>,
    page: Rc<RefCell<PageState>>,
    seed: Rc<Cell<u64>>,
}

impl Fake {
    fn new(href: &str) -> Fake {
        Fake {
            mem: Rc::default(),
            page: Rc::new(RefCell::new(PageState {
                href: href.into(),
                title: "Shop".into(),
                referrer: "https://search.example/".into(),
            })),
            seed: Rc::new(Cell::new(1)),
        }
    }

    fn go(&self, href: &str) {
        self.page.borrow_mut().href = href.into();
    }
}

impl Backend for Fake {
    fn get(&self, key: &str) -> Option<String> {
        self.mem.borrow().get(key)
    }
    fn set(&mut self, key: &str, value: &str) -> bool {
        self.mem.borrow_mut().set(key, value)
    }
    fn remove(&mut self, key: &str) {
        self.mem.borrow_mut().remove(key)
    }
    fn keys(&self, prefix: &str) -> Vec<String> {
        self.mem.borrow().keys(prefix)
    }
    fn cookie(&self, name: &str) -> Option<String> {
        self.mem.borrow().cookie(name)
    }
    fn set_cookie(&mut self, line: &str) {
        self.mem.borrow_mut().set_cookie(line)
    }
}

impl Host for Fake {
    fn fact(&self, fact: Fact) -> String {
        let p = self.page.borrow();
        match fact {
            Fact::Href => p.href.clone(),
            Fact::Title => p.title.clone(),
            Fact::Referrer => p.referrer.clone(),
            Fact::Hostname => "www.shop.example".into(),
            Fact::Protocol => "https:".into(),
            Fact::Device => "UA/1\nen-US\nEurope/Paris\n1280\n800\n2".into(),
        }
    }
    fn random(&self) -> [u8; 16] {
        // xorshift: distinct ids, the same every run.
        let mut x = self.seed.get();
        let mut out = [0u8; 16];
        for chunk in out.chunks_mut(8) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            chunk.copy_from_slice(&x.to_le_bytes());
        }
        self.seed.set(x);
        out
    }
}

fn cfg(extra: &str) -> Config {
    let text = ["{\"endpoint\":\"https://c.example/v1/batch\"", extra, "}"].concat();
    config::parse_json(&text).unwrap()
}

/// The driver's part, on a virtual clock.
struct Run {
    e: Engine<Fake>,
    host: Fake,
    now: u64,
    timer: Option<u64>,
    /// Bodies sent and not answered yet (one at a time).
    in_flight: Option<String>,
    sent: Vec<String>,
    beacons: Vec<String>,
    errors: Vec<(&'static str, String)>,
    events: Vec<String>,
    delivered: usize,
    settled: Vec<bool>,
    scans: Vec<u32>,
    /// Whether the next beacon is accepted.
    beacon_ok: bool,
    /// Cookie refresh calls: `url id domain`.
    refreshes: Vec<String>,
    /// URLs the address bar was changed to.
    replaced: Vec<String>,
}

impl Run {
    fn start(host: Fake, config: Config, now: u64) -> Run {
        let mut e = Engine::new(config, host.clone(), now);
        e.handle_start(now);
        let mut r = Run {
            e,
            host,
            now,
            timer: None,
            in_flight: None,
            sent: Vec::new(),
            beacons: Vec::new(),
            errors: Vec::new(),
            events: Vec::new(),
            delivered: 0,
            settled: Vec::new(),
            scans: Vec::new(),
            beacon_ok: true,
            refreshes: Vec::new(),
            replaced: Vec::new(),
        };
        r.drain();
        r
    }

    fn drain(&mut self) {
        while let Some(a) = self.e.poll_action() {
            match a {
                Action::Send { .. } => {
                    assert!(self.in_flight.is_none(), "two requests at once");
                    let mut body = String::new();
                    self.e.write_request(&mut |s| body.push_str(s));
                    self.sent.push(body.clone());
                    self.in_flight = Some(body);
                }
                Action::Beacon => {
                    let mut body = String::new();
                    self.e.write_beacon(&mut |s| body.push_str(s));
                    self.beacons.push(body);
                    let ok = self.beacon_ok;
                    self.e.handle_beacon(ok, self.now);
                }
                Action::Timer(t) => self.timer = Some(t),
                Action::Scan(ms) => self.scans.push(ms),
                Action::Error { code, message } => self.errors.push((code, message)),
                Action::Event(t) => self.events.push(t),
                Action::Delivered(n) => self.delivered += n,
                Action::Settle(ok) => self.settled.push(ok),
                Action::ReplaceUrl(url) => {
                    // As the browser does: the address bar changes, nothing else happens.
                    self.host.go(&url);
                    self.replaced.push(url);
                }
                Action::RefreshCookie { url, id, domain } => {
                    self.refreshes.push([url, id, domain].join(" "))
                }
            }
        }
    }

    fn call(&mut self, method: &str, args: &str) -> Option<String> {
        let r = self.e.call(method, args, self.now);
        self.drain();
        r
    }

    /// Lets virtual time pass, firing the timer when due.
    fn advance(&mut self, ms: u64) {
        let end = self.now + ms;
        while let Some(t) = self.timer.filter(|t| *t <= end) {
            self.timer = None;
            self.now = self.now.max(t);
            self.e.handle_wake(self.now);
            self.drain();
        }
        self.now = end;
    }

    fn answer(&mut self, status: u16) -> String {
        let body = self.in_flight.take().expect("a request under way");
        self.e.handle_response(status, None, self.now);
        self.drain();
        body
    }

    fn stored(&self, key: &str) -> Option<String> {
        self.host.mem.borrow().get(key)
    }

    fn queue_keys(&self) -> Vec<String> {
        self.host.mem.borrow().keys(store::Q_PREFIX)
    }
}

fn count(body: &str, needle: &str) -> usize {
    body.matches(needle).count()
}

#[test]
fn the_first_page_view_leaves_after_the_flush_interval() {
    let mut r = Run::start(Fake::new("https://www.shop.example/"), cfg(""), 1_000);
    assert!(r.sent.is_empty());
    assert_eq!(r.scans, [0], "the page is read once parsed");
    r.advance(999);
    assert!(r.sent.is_empty());
    r.advance(1);
    let body = r.answer(200);
    assert_eq!(count(&body, "\"type\":\"page\""), 1);
    assert!(body.contains("\"referrer\":\"https://search.example/\""));
    assert_eq!(r.delivered, 1);
    assert_eq!(r.e.queued(), 0);
}

#[test]
fn init_is_quick_and_the_first_page_view_follows_at_start() {
    let host = Fake::new("https://s/");
    let mut e = Engine::new(cfg(""), host.clone(), 0);
    assert_eq!(e.queued(), 0, "no event is built by init");
    assert!(core::iter::from_fn(|| e.poll_action()).all(|a| !matches!(a, Action::Scan(_))));
    e.handle_start(5);
    assert_eq!(e.queued(), 1, "the first page view");
    let actions: Vec<Action> = core::iter::from_fn(|| e.poll_action()).collect();
    assert!(actions.contains(&Action::Scan(0)));
}

#[test]
fn a_burst_is_one_storage_write_50_ms_later_not_one_per_event() {
    let mut r = Run::start(Fake::new("https://s/"), cfg(",\"pageViews\":false"), 0);
    let before = r.host.mem.borrow().writes;
    for _ in 0..10 {
        r.call("track", r#"["Clicked",{}]"#);
    }
    assert_eq!(r.host.mem.borrow().writes, before, "nothing written yet");
    r.advance(PERSIST_DELAY_MS);
    assert_eq!(r.host.mem.borrow().writes, before + 1);
    assert_eq!(r.queue_keys().len(), 1);
    // batchSize 20 not reached; the interval sends them.
    r.advance(1_000);
    r.answer(200);
    r.advance(PERSIST_DELAY_MS);
    assert!(r.queue_keys().is_empty(), "a delivered queue is removed");
}

#[test]
fn flush_resolves_true_once_delivered_and_at_once_when_empty() {
    let mut r = Run::start(Fake::new("https://s/"), cfg(",\"pageViews\":false"), 0);
    r.call("flush", "[]");
    assert_eq!(r.settled, [true]);
    r.call("track", r#"["A",{}]"#);
    r.call("flush", "[]");
    assert_eq!(r.sent.len(), 1, "flush sends at once");
    assert_eq!(r.settled, [true]);
    r.answer(200);
    assert_eq!(r.settled, [true, true]);
}

#[test]
fn flush_resolves_false_when_delivery_keeps_failing_and_events_are_kept() {
    let mut r = Run::start(
        Fake::new("https://s/"),
        cfg(",\"pageViews\":false,\"maxRetries\":2"),
        0,
    );
    r.call("track", r#"["A",{}]"#);
    r.call("flush", "[]");
    for _ in 0..3 {
        r.answer(503);
        r.advance(120_000);
    }
    assert_eq!(r.settled, [false]);
    assert_eq!(r.errors.len(), 1);
    assert_eq!(r.errors[0].0, "delivery_failing");
    assert_eq!(r.e.queued(), 1, "kept for later");
    r.answer(200);
    assert_eq!(r.e.queued(), 0);
}

#[test]
fn a_refused_batch_is_dropped_and_flush_says_false() {
    let mut r = Run::start(Fake::new("https://s/"), cfg(",\"pageViews\":false"), 0);
    r.call("track", r#"["A",{}]"#);
    r.call("flush", "[]");
    r.answer(400);
    assert_eq!(r.settled, [false]);
    assert_eq!(r.errors[0].0, "rejected");
    assert!(r.errors[0].1.contains("HTTP 400"));
}

#[test]
fn one_page_view_per_real_url_change_with_page_left_first() {
    let host = Fake::new("https://s/");
    let mut r = Run::start(host.clone(), cfg(",\"flushInterval\":10000"), 0);
    r.now = 2_000;
    r.e.handle_scroll(600, 800, 2_000);
    host.go("https://s/p/mug");
    r.e.handle_navigation(r.now);
    r.drain();
    // replaceState to the same URL: nothing.
    r.e.handle_navigation(r.now);
    r.drain();
    r.call("flush", "[]");
    let body = r.answer(200);
    assert_eq!(count(&body, "\"type\":\"page\""), 2, "{body}");
    assert_eq!(count(&body, "\"event\":\"Page Left\""), 1);
    assert!(body.contains("\"time_on_page_ms\":2000"));
    assert!(body.contains("\"max_scroll_depth\":70"));
    // The second page view's referrer is the first URL.
    let second = body.rfind("\"type\":\"page\"").unwrap();
    assert!(body[second..].contains("\"referrer\":\"https://s/\""));
    assert_eq!(r.scans, [0, RESCAN_DELAY_MS]);
    // Hiding sends Page Left for the second page view, once.
    r.e.handle_hide(false, 3_000);
    r.e.handle_hide(false, 3_100);
    r.drain();
    let left: usize = r.beacons.iter().map(|b| count(b, "Page Left")).sum();
    assert_eq!(
        left,
        1,
        "{} {:?}",
        r.beacons.len(),
        r.beacons.iter().map(|b| b.len()).collect::<Vec<_>>()
    );
}

#[test]
fn without_history_navigations_are_not_page_views() {
    let host = Fake::new("https://s/");
    let mut r = Run::start(host.clone(), cfg(",\"history\":false"), 0);
    host.go("https://s/2");
    r.e.handle_navigation(0);
    r.call("flush", "[]");
    let body = r.answer(200);
    assert_eq!(count(&body, "\"type\":\"page\""), 1);
}

#[test]
fn hidden_pages_hand_events_to_beacons_then_persist_what_is_left() {
    let mut r = Run::start(Fake::new("https://s/"), cfg(",\"pageViews\":false"), 0);
    r.call("track", r#"["A",{}]"#);
    r.e.handle_hide(true, 10);
    r.drain();
    assert_eq!(r.beacons.len(), 1);
    assert!(r.beacons[0].contains("\"event\":\"A\""));
    assert_eq!(r.e.queued(), 0);
    // A refused beacon keeps the events, persisted and marked released for the next page.
    r.beacon_ok = false;
    r.call("track", r#"["B",{}]"#);
    r.e.handle_hide(true, 20);
    r.drain();
    assert_eq!(r.e.queued(), 1);
    let keys = r.queue_keys();
    let text = r.stored(&keys[0]).unwrap();
    assert!(text.starts_with("st2 r "), "{text}");
    let stored = queue::decode(&text).unwrap();
    assert!(
        stored.events[0].1.ends_with("\"sessionId\":0}}"),
        "the context is put back"
    );
}

#[test]
fn a_new_page_adopts_a_released_queue_and_sends_it() {
    let host = Fake::new("https://s/");
    let mut first = Run::start(host.clone(), cfg(",\"pageViews\":false"), 0);
    first.beacon_ok = false;
    first.call("track", r#"["Left behind",{}]"#);
    first.e.handle_hide(true, 5);
    first.drain();
    let mut second = Run::start(host.clone(), cfg(",\"pageViews\":false"), 100);
    assert_eq!(second.e.queued(), 1);
    assert_eq!(
        second.queue_keys().len(),
        1,
        "its own copy replaced the old one"
    );
    second.call("flush", "[]");
    assert!(second.answer(200).contains("Left behind"));
}

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
    let mut r = Run::start(host.clone(), cfg(refresh), 0);
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
    r.call("flush", "[]");
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
fn event_listeners_get_each_event_as_it_will_be_sent() {
    let mut r = Run::start(Fake::new("https://s/"), cfg(",\"pageViews\":false"), 0);
    r.e.set_event_listeners(1);
    r.call("track", r#"["Product Added",{"price":24}]"#);
    assert_eq!(r.events.len(), 1);
    assert!(r.events[0].contains("\"properties\":{\"price\":24}"));
}

#[test]
fn redacted_parameters_never_reach_a_report_and_cause_no_page_view() {
    let host = Fake::new("https://s/p?st_lt=tok&utm_source=mail");
    let mut r = Run::start(host.clone(), cfg(",\"pageViews\":false"), 0);
    r.e.redact_param("st_lt");
    r.call("page", "[]");
    r.call("track", r#"["A",{}]"#);
    r.e.handle_navigation(0);
    r.call("flush", "[]");
    let body = r.answer(200);
    assert!(!body.contains("tok"), "{body}");
    assert_eq!(count(&body, "\"type\":\"page\""), 1);
    assert!(body.contains("\"url\":\"https://s/p?utm_source=mail\""));
    assert!(body.contains("\"source\":\"mail\""));
}

#[test]
fn bad_calls_are_reported_and_change_nothing() {
    let mut r = Run::start(Fake::new("https://s/"), cfg(",\"pageViews\":false"), 0);
    r.call("track", r#"["A",[1,2]]"#);
    r.call("track", r#"["",{}]"#);
    r.call("page", r#"["Home","\u0000f"]"#);
    r.call("cart.add", r#"["not a product"]"#);
    r.call("cart.add", r#"[{"product_id":"a","price":1.999}]"#);
    r.call("checkout.step", r#"[0]"#);
    r.call("productList.viewed", r#"[{"products":5}]"#);
    let codes: Vec<&str> = r.errors.iter().map(|(c, _)| *c).collect();
    assert_eq!(codes.len(), 7, "{:?}", r.errors);
    assert!(r.errors[3].1.starts_with("the product must be an object"));
    assert_eq!(r.e.queued(), 0);
    assert_eq!(
        r.call("cart.get", "[]")
            .as_deref()
            .map(|c| c.contains("\"products\":[]")),
        Some(true)
    );
}

#[test]
fn the_profile_counts_visits_and_orders_and_keeps_products_viewed() {
    let host = Fake::new("https://s/");
    let mut r = Run::start(host.clone(), cfg(",\"pageViews\":false"), 1_000);
    r.call("identify", r#"[{"first_name":"Ada"}]"#);
    r.call(
        "product.view",
        r#"[{"product_id":"tea","name":"Tea","price":4.5}]"#,
    );
    r.call(
        "track",
        r#"["Product Viewed",{"product_id":"mug","image_url":"/m.jpg"}]"#,
    );
    r.call("cart.add", r#"[{"product_id":"tea","price":4.5}]"#);
    r.call("order.complete", r#"[{"order_id":"o-1"}]"#);
    let p = r.call("profile", "[]").unwrap();
    // Each viewed product as tracked (the Product Viewed properties), newest first.
    assert!(
        p.starts_with(
            r#"{"traits":{"first_name":"Ada"},"visits":1,"orders":1,"viewed":[{"product_id":"mug","image_url":"/m.jpg"},{"product_id":"tea","name":"Tea","price":4.5,"currency":"USD","cart_id":""#
        ),
        "{p}"
    );
    // A reload in the same session is the same visit; a new session is the next.
    let mut again = Run::start(host.clone(), cfg(",\"pageViews\":false"), 2_000);
    assert!(again
        .call("profile", "[]")
        .unwrap()
        .contains("\"visits\":1,"));
    let later = 2_000 + identity::SESSION_TIMEOUT_MS + 1;
    let mut next = Run::start(host.clone(), cfg(",\"pageViews\":false"), later);
    assert!(next
        .call("profile", "[]")
        .unwrap()
        .contains("\"visits\":2,\"orders\":1,"));
    host.mem
        .borrow_mut()
        .set("shoptrail:engage", "exit-offer\t1\t1\t0\t1\n");
    next.call("reset", "[]");
    assert_eq!(
        next.stored("shoptrail:engage"),
        None,
        "popup caps go with the shopper"
    );
    assert_eq!(
        next.call("profile", "[]").unwrap(),
        r#"{"traits":{},"visits":1,"orders":0,"viewed":[]}"#
    );
}

#[test]
fn the_cart_gives_segment_events_with_one_cart_id() {
    let mut r = Run::start(Fake::new("https://s/"), cfg(",\"pageViews\":false"), 0);
    r.call(
        "cart.add",
        r#"[{"product_id":"nw-1","name":"Mug","price":24,"currency":"USD"},2]"#,
    );
    r.call("cart.update", r#"["nw-1",3]"#);
    r.call(
        "checkout.step",
        r#"[1,{"completed":true,"shipping_method":"std"}]"#,
    );
    r.call(
        "order.complete",
        r#"[{"order_id":"NW-1001","shipping":5.95}]"#,
    );
    r.call("flush", "[]");
    let body = r.answer(200);
    for e in [
        "Product Added",
        "Checkout Step Completed",
        "Order Completed",
    ] {
        assert!(body.contains(&["\"event\":\"", e, "\""].concat()), "{e}");
    }
    assert!(!body.contains("\"completed\""));
    assert!(body.contains("\"shipping_method\":\"std\",\"step\":1"));
    assert!(body.contains("\"revenue\":72"));
    let cart = r.call("cart.get", "[]").unwrap();
    assert!(
        cart.contains("\"products\":[]"),
        "the order empties the cart: {cart}"
    );
}

#[test]
fn a_scan_reports_each_product_once_per_page_view() {
    let host = Fake::new("https://s/p");
    let mut r = Run::start(host.clone(), cfg(",\"pageViews\":false"), 0);
    r.call("page", "[]");
    let scan = r#"{"m":["[\"view\",\"{\\\"product_id\\\":\\\"a\\\"}\",null,null,null]"],"j":["{\"@type\":\"Product\",\"productID\":\"a\",\"name\":\"dup\"}","{\"@type\":\"Product\",\"sku\":\"b\"}"]}"#;
    r.e.handle_scan(scan, 0);
    r.e.handle_scan(scan, 0);
    r.drain();
    r.call("flush", "[]");
    let body = r.answer(200);
    assert_eq!(count(&body, "Product Viewed"), 2);
    assert!(
        !body.contains("dup"),
        "markup wins over JSON-LD for the same product"
    );
}

#[test]
fn markup_clicks_are_ignored_when_capture_is_off() {
    let mut r = Run::start(
        Fake::new("https://s/"),
        cfg(",\"pageViews\":false,\"capture\":false"),
        0,
    );
    assert_eq!(r.scans, [0], "JSON-LD is still read");
    r.call(
        "~markup",
        r#"["add","{\"product_id\":\"a\"}",null,null,null]"#,
    );
    assert_eq!(r.e.queued(), 0);
}

#[test]
fn a_full_storage_is_reported_once() {
    let host = Fake::new("https://s/");
    host.mem.borrow_mut().full = true;
    let mut r = Run::start(host, cfg(",\"pageViews\":false"), 0);
    for _ in 0..3 {
        r.call("track", r#"["A",{}]"#);
        r.advance(PERSIST_DELAY_MS);
    }
    let n = r
        .errors
        .iter()
        .filter(|(c, _)| *c == "storage_unavailable")
        .count();
    assert_eq!(n, 1);
}

#[test]
fn gzip_and_keepalive_follow_the_config_and_body_size() {
    let mut e = Engine::new(
        cfg(",\"pageViews\":false,\"compress\":true,\"batchSize\":3"),
        Fake::new("https://s/"),
        0,
    );
    for _ in 0..3 {
        e.call("track", r#"["A",{}]"#, 0);
    }
    let send = core::iter::from_fn(|| e.poll_action())
        .find(|a| matches!(a, Action::Send { .. }))
        .unwrap();
    assert!(matches!(
        send,
        Action::Send {
            gzip: true,
            keepalive: true,
            timeout_ms: REQUEST_TIMEOUT_MS,
            ..
        }
    ));
}

/// For profiling (`cargo test --release -- --ignored track_cost` under callgrind): the engine's
/// own cost of `track` with the arguments the JavaScript host sends.
#[test]
#[ignore]
fn track_cost() {
    let mut r = Run::start(
        Fake::new("https://www.shop.example/p/mug"),
        cfg(",\"pageViews\":false,\"flushInterval\":60000"),
        0,
    );
    let args = r#"["Product Added",{"product_id":"nw-001","sku":"NW-001","name":"Enamel Camp Mug","price":24,"quantity":1,"currency":"USD"}]"#;
    for i in 0..20_000 {
        r.now = i / 10;
        r.e.call("track", args, r.now);
        r.drain();
        if r.in_flight.is_some() {
            r.answer(200);
        }
    }
    assert!(r.e.queued() < 600);
}
