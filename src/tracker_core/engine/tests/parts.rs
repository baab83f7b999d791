//! Each part of the engine on its own, lent an [`Io`] over a fake page as the engine lends it:
//! what it decides from its own state, without the others.

use super::*;
use crate::tracker_core::boundary::ErrorCode;
use crate::tracker_core::consent::{Consent, Settings, HOLD_MAX};
use crate::tracker_core::engine::consent::Gate;
use crate::tracker_core::engine::context::PageContext;
use crate::tracker_core::engine::delivery::Delivery;
use crate::tracker_core::engine::lanes;
use crate::tracker_core::engine::middleware::{Middleware as Part, Verdict};
use crate::tracker_core::engine::shopper::Shopper;

fn io(host: &Fake) -> Io<Fake> {
    Io {
        store: Port::new(host.clone(), true),
        out: Vec::new(),
    }
}

fn take(io: &mut Io<Fake>) -> Vec<Action> {
    core::mem::take(&mut io.out)
}

fn event(id: &str) -> (String, String, Option<alloc::rc::Rc<str>>) {
    let head = [
        "{\"messageId\":\"",
        id,
        "\",\"type\":\"track\",\"event\":\"E\"",
    ]
    .concat();
    (
        id.into(),
        [head.as_str(), ",\"context\":{}}"].concat(),
        None,
    )
}

#[test]
fn delivery_sends_what_is_queued_and_settles_a_flush_once_delivered() {
    let host = Fake::new("https://www.shop.example/");
    let mut io = io(&host);
    let mut d = Delivery::new(lanes::lanes(&cfg(""), "0a1b2c3d"));
    d.queue(&mut io, 1, event("m-1"), 0);
    d.queue(&mut io, 1, event("m-2"), 0);
    d.flush(&mut io, true, 0);
    let out = take(&mut io);
    assert!(
        out.iter()
            .any(|a| matches!(a, Action::Send { lane: 0, .. })),
        "{out:?}"
    );
    let mut body = String::new();
    d.write_request(0, &mut |s| body.push_str(s));
    assert!(
        body.contains("\"m-1\"") && body.contains("\"m-2\""),
        "{body}"
    );
    d.handle_response(&mut io, (0, 200, None), true, 10);
    let out = take(&mut io);
    assert!(
        out.contains(&Action::Delivered { count: 2, lane: 0 }),
        "{out:?}"
    );
    assert!(out.contains(&Action::Settle(true)), "{out:?}");
    assert!(d.is_empty());
}

#[test]
fn delivery_without_consent_sends_nothing_and_a_flush_settles_false() {
    let host = Fake::new("https://www.shop.example/");
    let mut io = io(&host);
    let mut d = Delivery::new(lanes::lanes(&cfg(""), "0a1b2c3d"));
    d.queue(&mut io, 1, event("m-1"), 0);
    d.drive(&mut io, false, 0);
    d.flush(&mut io, false, 0);
    let out = take(&mut io);
    assert!(
        !out.iter().any(|a| matches!(a, Action::Send { .. })),
        "{out:?}"
    );
    assert!(out.contains(&Action::Settle(false)), "{out:?}");
    assert_eq!(d.held(), 1, "held, not dropped");
}

#[test]
fn delivery_writes_a_changed_queue_after_the_persist_delay() {
    let host = Fake::new("https://www.shop.example/");
    let mut io = io(&host);
    let mut d = Delivery::new(lanes::lanes(&cfg(""), "0a1b2c3d"));
    d.queue(&mut io, 1, event("m-1"), 0);
    d.drive(&mut io, false, 0);
    assert!(take(&mut io).contains(&Action::Timer(PERSIST_DELAY_MS)));
    assert_eq!(host.get(d.queue_key()), None, "not before the delay");
    d.handle_wake(&mut io, false, PERSIST_DELAY_MS);
    let stored = host.get(d.queue_key()).expect("written at the wake");
    assert!(stored.contains("m-1"), "{stored}");
}

#[test]
fn a_destination_lane_reports_with_its_label() {
    let host = Fake::new("https://www.shop.example/");
    let mut io = io(&host);
    let dest = r#","destinations":[{"endpoint":"https://d.example/b"}]"#;
    let mut d = Delivery::new(lanes::lanes(&cfg(dest), "0a1b2c3d"));
    d.queue(&mut io, 0b11, event("m-1"), 0);
    d.flush(&mut io, true, 0);
    take(&mut io);
    d.handle_response(&mut io, (1, 400, None), true, 5);
    let out = take(&mut io);
    let refused = out.iter().find_map(|a| match a {
        Action::Error {
            code: ErrorCode::Rejected,
            message,
        } => Some(message.clone()),
        _ => None,
    });
    assert_eq!(
        refused.as_deref(),
        Some("destinations[0] (https://d.example/b): the endpoint refused a batch of 1 events with HTTP 400; they were dropped")
    );
}

#[test]
fn middleware_keeps_drops_or_replaces_the_oldest_event() {
    let host = Fake::new("https://www.shop.example/");
    let mut io = io(&host);
    let mut m = Part::default();
    assert_eq!(m.answer(&mut io, None), None, "nothing waits");
    let waiting = |id: &str| {
        (
            id.to_string(),
            "{\"messageId\":\"x\"".into(),
            "{}".into(),
            1,
        )
    };
    m.hand_over(&mut io, waiting("a"));
    m.hand_over(&mut io, waiting("b"));
    m.hand_over(&mut io, waiting("c"));
    m.hand_over(&mut io, waiting("d"));
    assert_eq!(
        take(&mut io)[0],
        Action::Middleware("{\"messageId\":\"x\"{}}".into())
    );
    assert_eq!(m.answer(&mut io, None), Some(Verdict::Keep(waiting("a"))));
    assert_eq!(m.answer(&mut io, Some("")), Some(Verdict::Drop));
    let changed = r#"{"messageId":"c2","type":"track"}"#;
    assert_eq!(
        m.answer(&mut io, Some(changed)),
        Some(Verdict::Replace("c2".into(), changed.into(), 1))
    );
    assert_eq!(
        m.answer(&mut io, Some("[1]")),
        Some(Verdict::Keep(waiting("d")))
    );
    assert!(
        matches!(
            &take(&mut io)[..],
            [Action::Error {
                code: ErrorCode::MiddlewareFailed,
                ..
            }]
        ),
        "an unusable answer is reported"
    );
}

#[test]
fn the_gate_holds_events_while_the_shopper_decides_and_says_so_once() {
    let host = Fake::new("https://www.shop.example/");
    let mut io = io(&host);
    let required = Settings {
        required: true,
        ..Settings::default()
    };
    let mut g = Gate::new(Consent::new(required, None, false), false);
    assert!(!g.may_send());
    assert!(g.may_queue(&mut io, HOLD_MAX - 1));
    assert!(!g.may_queue(&mut io, HOLD_MAX));
    assert!(!g.may_queue(&mut io, HOLD_MAX));
    let out = take(&mut io);
    assert!(
        matches!(
            &out[..],
            [Action::Error {
                code: ErrorCode::ConsentPending,
                ..
            }]
        ),
        "{out:?}"
    );
    let open = Gate::new(Consent::new(Settings::default(), None, false), false);
    assert!(open.may_send(), "consent not required: granted");
}

#[test]
fn the_page_context_is_built_once_per_url_and_keeps_redacted_parameters_out() {
    let host = Fake::new("https://www.shop.example/p?st_lt=secret&utm_source=news");
    let mut io = io(&host);
    let consent = Consent::new(Settings::default(), None, false);
    let mut c = PageContext::default();
    c.redact("st_lt");
    c.refresh(&mut io, 1, &consent, false);
    let first = c.ctx();
    assert!(!first.contains("secret"), "{first}");
    assert!(
        first.contains("\"source\":\"news\""),
        "the campaign: {first}"
    );
    assert_eq!(c.page().url, "https://www.shop.example/p?utm_source=news");
    c.refresh(&mut io, 1, &consent, false);
    assert!(
        alloc::rc::Rc::ptr_eq(&first, &c.ctx()),
        "same URL and session: kept"
    );
    c.once("\"linkToken\":\"t\"".into());
    assert!(c.for_event().starts_with("{\"linkToken\":\"t\","));
    assert!(!c.for_event().contains("linkToken"), "one event only");
    host.go("https://www.shop.example/cart");
    c.refresh(&mut io, 1, &consent, false);
    assert_eq!(
        c.page().referrer,
        "https://www.shop.example/p?utm_source=news"
    );
}

#[test]
fn the_shopper_keeps_one_anonymous_id_and_counts_a_new_session() {
    let host = Fake::new("https://www.shop.example/");
    let mut io = io(&host);
    let mut s = Shopper::new(&mut io.store, &config::CookieDomain::HostOnly, None, 0);
    s.load_anonymous_id(&mut io, None, 0);
    s.start_session(&mut io, 0);
    let id = s.anonymous_id.clone();
    assert_eq!(host.cookie(store::COOKIE).as_deref(), Some(id.as_str()));
    assert_eq!(host.get(store::K_VISITS).as_deref(), Some("1"));
    let mut again = Shopper::new(&mut io.store, &config::CookieDomain::HostOnly, None, 5);
    again.load_anonymous_id(&mut io, None, 5);
    assert_eq!(again.anonymous_id, id, "restored from the cookie");
    let later = identity::SESSION_TIMEOUT_MS + 10;
    again.start_session(&mut io, 0);
    again.touch_session(&mut io, later, false);
    assert_eq!(again.session.id, later, "a new session after the timeout");
    assert_eq!(host.get(store::K_VISITS).as_deref(), Some("2"));
}
