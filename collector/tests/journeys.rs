//! Journeys on a manual clock: steps fall due, are POSTed to a real webhook server, retried,
//! cancelled, skipped, and survive a restart; a day runs in milliseconds.

mod common;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;
use shoptrail_collector::{start, Clock, JourneysConfig, Options};

use common::{request, test_options, TestServer};

/// 2026-12-01T12:00:00Z.
const NOON: i64 = 1_796_126_400_000;
const MINUTE: i64 = 60_000;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;
const SECRET: &str = "whsec-test-0123456789abcdef";
const ADMIN: &str = "test-admin-token-0123456789";

/// One call the webhook received.
#[derive(Debug, Clone)]
struct Call {
    at: i64,
    signature: String,
    key: String,
    body: String,
    answered: u16,
}

impl Call {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).expect("JSON body")
    }
}

/// A webhook server: answers 500 while `failing` says so (by the shared clock), else 200.
#[derive(Clone)]
struct Hook {
    calls: Arc<Mutex<Vec<Call>>>,
    clock: Clock,
    fail_until: Arc<Mutex<i64>>,
}

impl Hook {
    fn calls(&self) -> Vec<Call> {
        self.calls.lock().unwrap().clone()
    }
    fn delivered(&self) -> Vec<Value> {
        self.calls()
            .iter()
            .filter(|c| c.answered == 200)
            .map(Call::json)
            .collect()
    }
}

async fn receive(State(hook): State<Hook>, headers: HeaderMap, body: String) -> StatusCode {
    let now = hook.clock.now_ms();
    let status = if now < *hook.fail_until.lock().unwrap() {
        StatusCode::INTERNAL_SERVER_ERROR
    } else {
        StatusCode::OK
    };
    let h = |k: &str| {
        headers
            .get(k)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    hook.calls.lock().unwrap().push(Call {
        at: now,
        signature: h("shoptrail-signature"),
        key: h("idempotency-key"),
        body,
        answered: status.as_u16(),
    });
    status
}

async fn webhook(clock: &Clock) -> (SocketAddr, Hook) {
    let hook = Hook {
        calls: Arc::default(),
        clock: clock.clone(),
        fail_until: Arc::new(Mutex::new(0)),
    };
    let app = Router::new()
        .route("/hook", post(receive))
        .with_state(hook.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (addr, hook)
}

fn journeys(hook: SocketAddr) -> JourneysConfig {
    shoptrail_collector::journeys::config::parse(&journeys_text(hook), None)
        .expect("test journeys parse")
}

fn journeys_text(hook: SocketAddr) -> String {
    format!(
        r#"
[webhook]
url = "http://{hook}/hook"
secret = "{SECRET}"
timeout = "5s"

[links]
cart_url = "https://shop.example/cart"

[[journey]]
id = "abandoned_cart"
trigger = "abandoned_cart"
[[journey.step]]
name = "reminder"
after = "1h"
[[journey.step]]
name = "discount"
after = "24h"
discount = {{ percent = 10, prefix = "BACK-" }}

[[journey]]
id = "welcome"
trigger = "event"
event = "Signed Up"
[[journey.step]]
name = "hello"
after = "0s"
[[journey.step]]
name = "tips"
after = "2d"
[[journey.step]]
name = "offer"
after = "7d"

[[journey]]
id = "post_purchase"
trigger = "event"
event = "Order Completed"
[[journey.step]]
name = "review"
after = "7d"
"#
    )
}

/// A collector on a manual clock at noon, its webhook, and nothing run in the background.
async fn setup() -> (TestServer, Hook, Clock) {
    let clock = Clock::manual(NOON);
    let (addr, hook) = webhook(&clock).await;
    let c = clock.clone();
    let server = TestServer::start_with(move |o| configure(o, addr, c)).await;
    (server, hook, clock)
}

fn configure(o: &mut Options, hook: SocketAddr, clock: Clock) {
    o.journeys = Some(Arc::new(journeys(hook)));
    o.clock = clock;
    o.scheduler_interval = Duration::ZERO;
    o.admin_token = Some(ADMIN.into());
}

fn consent(marketing: bool) -> Value {
    json!({ "consent": { "categoryPreferences": { "necessary": true, "marketing": marketing } } })
}

/// A shopper `anon` who gave an email (and marketing consent, or not).
fn identify(anon: &str, email: Option<&str>, marketing: bool) -> Value {
    let mut traits = json!({ "firstName": "Ada" });
    if let Some(e) = email {
        traits["email"] = json!(e);
    }
    json!({ "type": "identify", "messageId": format!("id-{anon}"), "anonymousId": anon,
            "traits": traits, "context": consent(marketing) })
}

fn track(anon: &str, id: &str, event: &str, properties: Value) -> Value {
    json!({ "type": "track", "messageId": id, "anonymousId": anon, "event": event,
            "properties": properties, "context": consent(true) })
}

fn added(anon: &str, id: &str, cart: &str) -> Value {
    track(
        anon,
        id,
        "Product Added",
        json!({ "cart_id": cart, "product_id": "p-1", "name": "Mug", "price": 12.5,
                "quantity": 2, "currency": "EUR" }),
    )
}

/// Ada (a1, with an email and marketing consent) puts two mugs in cart c1 (message m1).
async fn ada_fills_a_cart(t: &TestServer) {
    send(
        t,
        &[
            identify("a1", Some("ada@example.com"), true),
            added("a1", "m1", "c1"),
        ],
    )
    .await;
}

fn order(anon: &str, id: &str, cart: &str) -> Value {
    track(
        anon,
        id,
        "Order Completed",
        json!({ "order_id": format!("o-{id}"), "cart_id": cart, "total": 25, "currency": "EUR" }),
    )
}

async fn send(t: &TestServer, events: &[Value]) {
    let r = t.post_json("/v1/batch", &json!({ "batch": events })).await;
    assert_eq!(r.status, 200, "{}", r.text());
}

async fn deliveries(t: &TestServer) -> Vec<Value> {
    let auth = format!("Bearer {ADMIN}");
    let r = request(
        t.addr,
        "GET",
        "/v1/journeys/deliveries",
        &[("Authorization", &auth)],
        None,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()["deliveries"].as_array().cloned().unwrap()
}

/// Moves the clock to `at` and runs the due steps.
async fn at(t: &TestServer, clock: &Clock, at: i64) -> usize {
    clock.set(at);
    t.server.run_journeys().await
}

/// The signature as a receiver checks it, computed here with the `hmac` crate.
fn verifies(call: &Call) -> bool {
    let mut t = None;
    let mut v1 = None;
    for part in call.signature.split(',') {
        match part.split_once('=') {
            Some(("t", x)) => t = Some(x.to_string()),
            Some(("v1", x)) => v1 = Some(x.to_string()),
            _ => {}
        }
    }
    let (Some(t), Some(v1)) = (t, v1) else {
        return false;
    };
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(format!("{t}.{}", call.body).as_bytes());
    let want: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    t.parse::<i64>().unwrap() == call.at / 1000 && v1 == want
}

#[tokio::test]
async fn an_abandoned_cart_gets_a_reminder_after_an_hour_and_a_code_the_next_day() {
    let (t, hook, clock) = setup().await;
    ada_fills_a_cart(&t).await;
    assert_eq!(at(&t, &clock, NOON + 59 * MINUTE).await, 0);
    assert!(hook.calls().is_empty());

    assert_eq!(at(&t, &clock, NOON + HOUR).await, 1);
    let calls = hook.calls();
    assert_eq!(calls.len(), 1);
    assert!(verifies(&calls[0]), "{:?}", calls[0].signature);
    let one = calls[0].json();
    assert_eq!(one["journey"], "abandoned_cart");
    assert_eq!(
        one["step"],
        json!({ "index": 1, "name": "reminder", "of": 2 })
    );
    assert_eq!(one["scheduledFor"], "2026-12-01T13:00:00.000Z");
    assert_eq!(one["profile"]["traits"]["email"], "ada@example.com");
    assert_eq!(one["profile"]["consent"]["marketing"], true);
    assert_eq!(one["profile"]["anonymousIds"], json!(["a1"]));
    assert_eq!(one["cart"]["cart_id"], "c1");
    assert_eq!(one["cart"]["products"][0]["quantity"], 2);
    assert_eq!(one["discount"], Value::Null);
    assert_eq!(one["id"], calls[0].key);
    let url = one["cartUrl"].as_str().unwrap();
    assert!(url.starts_with("https://shop.example/cart?st_lt="), "{url}");

    // The link token in the reminder joins the device that opens it to Ada.
    let token = url.rsplit('=').next().unwrap();
    let mut click = track(
        "phone-1",
        "m-click",
        "Cart Viewed",
        json!({ "cart_id": "c1" }),
    );
    click["context"]["linkToken"] = json!(token);
    send(&t, &[click]).await;

    assert_eq!(at(&t, &clock, NOON + DAY - MINUTE).await, 0);
    assert_eq!(at(&t, &clock, NOON + DAY).await, 1);
    let two = hook.calls()[1].json();
    assert_eq!(two["step"]["name"], "discount");
    assert_eq!(two["scheduledFor"], "2026-12-02T12:00:00.000Z");
    let code = two["discount"]["code"].as_str().unwrap();
    assert!(code.starts_with("BACK-") && code.len() == 13, "{code}");
    assert_eq!(two["discount"]["percentOff"], 10);
    assert_eq!(
        two["profile"]["anonymousIds"],
        json!(["a1", "phone-1"]),
        "the clicked device is Ada's"
    );
    assert_ne!(two["id"], one["id"]);

    // Nothing more, ever.
    assert_eq!(at(&t, &clock, NOON + 30 * DAY).await, 0);
    assert_eq!(hook.calls().len(), 2);
    let d = deliveries(&t).await;
    assert_eq!(d.len(), 2);
    assert!(d.iter().all(|s| s["status"] == "delivered"), "{d:?}");
    assert_eq!(d[0]["code"], code);
}

#[tokio::test]
async fn an_order_before_the_hour_cancels_the_cart_journey() {
    let (t, hook, clock) = setup().await;
    ada_fills_a_cart(&t).await;
    clock.set(NOON + 30 * MINUTE);
    send(&t, &[order("a1", "m2", "c1")]).await;
    assert_eq!(at(&t, &clock, NOON + 2 * DAY).await, 0);
    assert!(
        hook.calls()
            .iter()
            .all(|c| c.json()["journey"] != "abandoned_cart"),
        "{:?}",
        hook.calls()
    );
    let cart: Vec<Value> = deliveries(&t)
        .await
        .into_iter()
        .filter(|d| d["journey"] == "abandoned_cart")
        .collect();
    assert_eq!(cart.len(), 2);
    for d in &cart {
        assert_eq!(d["status"], "cancelled");
        assert_eq!(d["reason"], "the shopper ordered");
    }
}

#[tokio::test]
async fn a_withdrawal_cancels_the_pending_steps_at_once_and_nothing_is_sent() {
    let (t, hook, clock) = setup().await;
    ada_fills_a_cart(&t).await;
    clock.set(NOON + 20 * MINUTE);
    // The SDK's last event when Ada withdraws: Segment's consent event, marketing now false.
    let withdrawal = json!({ "type": "track", "messageId": "m-consent", "anonymousId": "a1",
        "event": "Segment Consent Preference Updated",
        "context": { "consent": { "categoryPreferences": { "analytics": false, "marketing": false } } } });
    send(&t, &[withdrawal]).await;
    // Cancelled at once, before any step was due.
    let cart: Vec<Value> = deliveries(&t)
        .await
        .into_iter()
        .filter(|d| d["journey"] == "abandoned_cart")
        .collect();
    assert_eq!(cart.len(), 2, "{cart:?}");
    for d in &cart {
        assert_eq!(d["status"], "cancelled");
        assert_eq!(d["reason"], "the shopper withdrew marketing consent");
    }
    assert_eq!(at(&t, &clock, NOON + 2 * DAY).await, 0);
    assert!(hook.calls().is_empty(), "{:?}", hook.calls());

    // A consent event that keeps marketing cancels nothing.
    let (t, _hook, _clock) = setup().await;
    ada_fills_a_cart(&t).await;
    let analytics_only = json!({ "type": "track", "messageId": "m-consent-2", "anonymousId": "a1",
        "event": "Segment Consent Preference Updated",
        "context": { "consent": { "categoryPreferences": { "analytics": false, "marketing": true } } } });
    send(&t, &[analytics_only]).await;
    assert!(deliveries(&t)
        .await
        .iter()
        .filter(|d| d["journey"] == "abandoned_cart")
        .all(|d| d["status"] == "scheduled"));
}

#[tokio::test]
async fn an_order_on_another_device_of_the_same_shopper_cancels_too() {
    let (t, hook, clock) = setup().await;
    let mut laptop = identify("laptop", Some("ada@example.com"), true);
    laptop["userId"] = json!("u-ada");
    send(&t, &[laptop, added("laptop", "m1", "c1")]).await;
    clock.set(NOON + 20 * MINUTE);
    let mut phone = identify("phone", None, true);
    phone["userId"] = json!("u-ada");
    phone["messageId"] = json!("id-phone");
    let order = track(
        "phone",
        "m2",
        "Order Completed",
        json!({ "order_id": "o-2", "cart_id": "c2", "total": 9, "currency": "EUR" }),
    );
    send(&t, &[phone, order]).await;
    assert_eq!(at(&t, &clock, NOON + 2 * DAY).await, 0);
    assert!(hook.calls().is_empty(), "{:?}", hook.calls());
}

#[tokio::test]
async fn an_emptied_cart_cancels_and_a_refilled_one_starts_again() {
    let (t, hook, clock) = setup().await;
    ada_fills_a_cart(&t).await;
    clock.set(NOON + 10 * MINUTE);
    send(
        &t,
        &[track(
            "a1",
            "m2",
            "Product Removed",
            json!({ "cart_id": "c1", "product_id": "p-1", "quantity": 2 }),
        )],
    )
    .await;
    assert_eq!(at(&t, &clock, NOON + 3 * HOUR).await, 0);
    assert!(deliveries(&t)
        .await
        .iter()
        .all(|d| d["status"] == "cancelled" && d["reason"] == "the cart was emptied"));
    // Filled again at 15:00: the reminder comes at 16:00.
    clock.set(NOON + 3 * HOUR);
    send(&t, &[added("a1", "m3", "c1")]).await;
    assert_eq!(at(&t, &clock, NOON + 4 * HOUR - MINUTE).await, 0);
    assert_eq!(at(&t, &clock, NOON + 4 * HOUR).await, 1);
    assert_eq!(
        hook.calls()[0].json()["scheduledFor"],
        "2026-12-01T16:00:00.000Z"
    );
}

#[tokio::test]
async fn a_restart_before_the_hour_still_sends_the_reminder_once() {
    let clock = Clock::manual(NOON);
    let (addr, hook) = webhook(&clock).await;
    let dir = tempfile::tempdir().unwrap();
    let db = common::fresh_db(dir.path()).await;
    let options = |clock: &Clock| {
        let mut o = test_options(&db);
        configure(&mut o, addr, clock.clone());
        o
    };
    let first = start(options(&clock)).await.unwrap();
    let body = json!({ "batch": [identify("a1", Some("ada@example.com"), true), added("a1", "m1", "c1")] });
    let r = request(
        first.local_addr(),
        "POST",
        "/v1/batch",
        &[("Content-Type", "application/json")],
        Some(body.to_string().as_bytes()),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    clock.set(NOON + 59 * MINUTE);
    assert_eq!(first.run_journeys().await, 0);
    first.shutdown().await.unwrap();

    // Two collectors on the database now, both looking for due steps at once.
    let second = start(options(&clock)).await.unwrap();
    let third = start(options(&clock)).await.unwrap();
    clock.set(NOON + HOUR);
    let (a, b) = tokio::join!(second.run_journeys(), third.run_journeys());
    assert_eq!(a + b, 1);
    assert_eq!(second.run_journeys().await + third.run_journeys().await, 0);
    let calls = hook.calls();
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert_eq!(calls[0].json()["step"]["name"], "reminder");
}

#[tokio::test]
async fn a_webhook_failing_for_three_hours_is_retried_and_delivered_once() {
    let (t, hook, clock) = setup().await;
    *hook.fail_until.lock().unwrap() = NOON + 4 * HOUR;
    ada_fills_a_cart(&t).await;
    let mut now = NOON + HOUR;
    while now <= NOON + 6 * HOUR {
        at(&t, &clock, now).await;
        now += MINUTE;
    }
    let calls = hook.calls();
    let ok: Vec<&Call> = calls.iter().filter(|c| c.answered == 200).collect();
    assert_eq!(ok.len(), 1, "delivered once");
    assert!(calls.len() >= 8, "retried: {} calls", calls.len());
    assert!(ok[0].at >= NOON + 4 * HOUR && ok[0].at <= NOON + 5 * HOUR + MINUTE);
    // Every attempt was the same step: one key, the same bytes, each signed.
    assert!(calls
        .iter()
        .all(|c| c.key == calls[0].key && c.body == calls[0].body));
    assert!(calls.iter().all(verifies));
    // Backoff: the gaps grow.
    let gaps: Vec<i64> = calls.windows(2).map(|w| w[1].at - w[0].at).collect();
    assert!(gaps.windows(2).all(|g| g[1] >= g[0]), "{gaps:?}");
    let d = deliveries(&t).await;
    let reminder = d.iter().find(|s| s["stepName"] == "reminder").unwrap();
    assert_eq!(reminder["status"], "delivered");
    assert_eq!(reminder["attempts"], calls.len());
}

#[tokio::test]
async fn a_webhook_failing_past_the_retry_period_fails_the_step() {
    let (t, hook, clock) = setup().await;
    *hook.fail_until.lock().unwrap() = i64::MAX;
    ada_fills_a_cart(&t).await;
    let mut now = NOON + HOUR;
    while now <= NOON + HOUR + DAY + 2 * HOUR {
        at(&t, &clock, now).await;
        now += 10 * MINUTE;
    }
    let d = deliveries(&t).await;
    let reminder = d.iter().find(|s| s["stepName"] == "reminder").unwrap();
    assert_eq!(reminder["status"], "failed", "{reminder}");
    assert_eq!(reminder["lastStatus"], 500);
    let n = hook
        .calls()
        .iter()
        .filter(|c| c.json()["step"]["name"] == "reminder")
        .count();
    // 30 s doubling to an hour for 24 hours: 7 quick tries, then about one an hour.
    assert!((25..=35).contains(&n), "{n} attempts");
}

#[tokio::test]
async fn no_step_without_marketing_consent_an_opt_out_or_a_contact() {
    let (t, hook, clock) = setup().await;
    let mut unsubscribed = identify("a3", Some("cy@example.com"), true);
    unsubscribed["traits"]["unsubscribed"] = json!(true);
    // Every event after a refusal says so.
    let mut refused = added("a1", "m1", "c1");
    refused["context"] = consent(false);
    send(
        &t,
        &[
            identify("a1", Some("ada@example.com"), false),
            refused,
            identify("a2", None, true),
            added("a2", "m2", "c2"),
            unsubscribed,
            added("a3", "m3", "c3"),
        ],
    )
    .await;
    assert_eq!(at(&t, &clock, NOON + HOUR).await, 0);
    assert!(hook.calls().is_empty());
    let mut reasons: Vec<String> = deliveries(&t)
        .await
        .iter()
        .filter(|d| d["status"] == "skipped")
        .map(|d| d["reason"].as_str().unwrap().to_string())
        .collect();
    reasons.sort();
    assert_eq!(
        reasons,
        [
            "no email or phone trait",
            "no marketing consent",
            "unsubscribed"
        ]
    );
}

#[tokio::test]
async fn five_profiles_claiming_one_email_get_three_steps_a_day() {
    let (t, hook, clock) = setup().await;
    // Five accounts (five user ids, so five profiles: the graph refuses to join them through
    // the address) give one email address, written differently; four more share a phone
    // number; all sign up at noon.
    let account = |i: usize, email: &str| {
        let mut e = identify(&format!("e{i}"), Some(email), true);
        e["userId"] = json!(format!("u{i}"));
        e
    };
    let mut events = Vec::new();
    for (i, email) in [
        "ann@shop.example",
        " Ann@Shop.example",
        "ANN@shop.example ",
        "ann@shop.example",
        "ann@SHOP.example",
    ]
    .iter()
    .enumerate()
    {
        let anon = format!("e{i}");
        events.push(account(i, email));
        events.push(track(&anon, &format!("se{i}"), "Signed Up", json!({})));
    }
    for (i, phone) in ["+1 555 0100", "1-555-0100", "15550100", "(1) 555 0100"]
        .iter()
        .enumerate()
    {
        let anon = format!("p{i}");
        events.push(
            json!({ "type": "identify", "messageId": format!("id-{anon}"),
                            "anonymousId": anon, "traits": { "phone": phone },
                            "context": consent(true) }),
        );
        events.push(track(&anon, &format!("sp{i}"), "Signed Up", json!({})));
    }
    send(&t, &events).await;
    assert_eq!(
        at(&t, &clock, NOON).await,
        6,
        "three to the email, three to the phone"
    );
    let skipped: Vec<Value> = deliveries(&t)
        .await
        .into_iter()
        .filter(|d| d["status"] == "skipped")
        .collect();
    assert_eq!(skipped.len(), 3, "{skipped:?}");
    for d in &skipped {
        assert_eq!(d["reason"], "contact address reached its daily limit");
    }

    // At 22:00 the first of them fills a cart: its reminder, due within the same 24 hours,
    // is skipped too; a sign-up after the window is sent.
    clock.set(NOON + 10 * HOUR);
    send(&t, &[added("e0", "c-e0", "cart-e0")]).await;
    assert_eq!(at(&t, &clock, NOON + 11 * HOUR).await, 0);
    clock.set(NOON + DAY + MINUTE);
    send(
        &t,
        &[
            account(5, "ann@shop.example"),
            track("e5", "se5", "Signed Up", json!({})),
        ],
    )
    .await;
    assert_eq!(at(&t, &clock, NOON + DAY + MINUTE).await, 1);
    let ann: Vec<i64> = hook
        .calls()
        .iter()
        .filter(|c| c.json()["profile"]["traits"]["email"].is_string())
        .map(|c| c.at)
        .collect();
    assert_eq!(ann, [NOON, NOON, NOON, NOON + DAY + MINUTE]);
    let reminder = deliveries(&t)
        .await
        .into_iter()
        .find(|d| d["stepName"] == "reminder")
        .expect("the reminder");
    assert_eq!(
        (&reminder["status"], &reminder["reason"]),
        (
            &json!("skipped"),
            &json!("contact address reached its daily limit")
        )
    );
}

#[tokio::test]
async fn welcome_runs_once_per_person_over_a_week() {
    let (t, hook, clock) = setup().await;
    let signed = |id: &str| track("a1", id, "Signed Up", json!({ "method": "popup" }));
    send(
        &t,
        &[identify("a1", Some("ada@example.com"), true), signed("s1")],
    )
    .await;
    assert_eq!(at(&t, &clock, NOON).await, 1);
    clock.set(NOON + HOUR);
    send(&t, &[signed("s2")]).await;
    assert_eq!(at(&t, &clock, NOON + 2 * DAY).await, 1);
    assert_eq!(at(&t, &clock, NOON + 7 * DAY).await, 1);
    assert_eq!(at(&t, &clock, NOON + 30 * DAY).await, 0);
    let names: Vec<Value> = hook
        .delivered()
        .iter()
        .map(|c| c["step"]["name"].clone())
        .collect();
    assert_eq!(names, [json!("hello"), json!("tips"), json!("offer")]);
    let first = &hook.delivered()[0];
    assert_eq!(first["trigger"]["event"], "Signed Up");
    assert_eq!(first["trigger"]["properties"]["method"], "popup");
}

#[tokio::test]
async fn a_sign_up_the_popup_flagged_as_a_bots_starts_nothing() {
    let (t, hook, clock) = setup().await;
    // The shopper's device knows an address, but this form's honeypot was filled.
    let spam = track(
        "a1",
        "s1",
        "Signed Up",
        json!({ "method": "popup", "spam": "honeypot" }),
    );
    send(&t, &[identify("a1", Some("ada@example.com"), true), spam]).await;
    assert_eq!(at(&t, &clock, NOON + 30 * DAY).await, 0);
    assert!(hook.delivered().is_empty());
    let stored = t.events("event=Signed%20Up").await;
    assert_eq!(stored[0]["context"]["bot"], true);
    assert_eq!(stored[0]["context"]["botReason"], "spam");
}

#[tokio::test]
async fn post_purchase_asks_for_a_review_a_week_after_the_order() {
    let (t, hook, clock) = setup().await;
    let order = track(
        "a1",
        "m1",
        "Order Completed",
        json!({ "order_id": "o-9", "total": 40, "currency": "USD",
                "products": [{ "product_id": "p-1", "quantity": 1, "price": 40 }] }),
    );
    send(&t, &[identify("a1", Some("ada@example.com"), true), order]).await;
    assert_eq!(at(&t, &clock, NOON + 7 * DAY - MINUTE).await, 0);
    assert_eq!(at(&t, &clock, NOON + 7 * DAY).await, 1);
    let call = &hook.delivered()[0];
    assert_eq!(call["journey"], "post_purchase");
    assert_eq!(call["order"]["order_id"], "o-9");
    assert_eq!(call["cart"], Value::Null);
}

#[tokio::test]
async fn the_summary_counts_steps_and_recovered_carts() {
    let (t, _hook, clock) = setup().await;
    ada_fills_a_cart(&t).await;
    at(&t, &clock, NOON + HOUR).await;
    clock.set(NOON + 2 * HOUR);
    send(&t, &[order("a1", "m2", "c1")]).await;
    let r = t.get("/v1/journeys").await;
    assert_eq!(r.status, 200, "{}", r.text());
    let j = &r.json()["journeys"][0];
    assert_eq!(j["id"], "abandoned_cart");
    assert_eq!(j["steps"][0]["counts"]["delivered"], 1);
    assert_eq!(j["steps"][1]["counts"]["cancelled"], 1);
    assert_eq!(j["recovery"], json!({ "reminded": 1, "recovered": 1 }));
    // The metrics count the same reminder and its recovery (the window: 30 days to now).
    let m = t.get("/v1/metrics").await.json();
    assert_eq!(m["totals"]["reminders"], 1);
    assert_eq!(m["totals"]["recovered"], 1);
    assert_eq!(m["totals"]["reminderRecoveryRate"], 1.0);
    let before = t.get("/v1/metrics?to=2026-12-01T12:59:00Z").await.json();
    assert_eq!(before["totals"]["reminders"], 0, "delivered at 13:00");
}

#[tokio::test]
async fn deliveries_need_the_admin_token_and_journeys() {
    let (t, _hook, _clock) = setup().await;
    let anonymous = request(t.addr, "GET", "/v1/journeys/deliveries", &[], None).await;
    assert_eq!(anonymous.status, 401);
    let plain = TestServer::start_with(|o| o.admin_token = Some(ADMIN.into())).await;
    let auth = format!("Bearer {ADMIN}");
    let r = request(
        plain.addr,
        "GET",
        "/v1/journeys/deliveries",
        &[("Authorization", &auth)],
        None,
    )
    .await;
    assert_eq!(r.status, 404);
    assert!(r.text().contains("--journeys"), "{}", r.text());
}

#[tokio::test]
async fn the_inbox_keeps_signed_calls_once_and_refuses_others() {
    let (t, _hook, clock) = setup().await;
    let body = r#"{"id":"stp_1","journey":"welcome"}"#;
    let sign = |t_s: i64, body: &str| {
        let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
        mac.update(format!("{t_s}.{body}").as_bytes());
        let hex: String = mac
            .finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        format!("t={t_s},v1={hex}")
    };
    let post = |sig: String, body: &'static str| {
        let addr = t.addr;
        async move {
            request(
                addr,
                "POST",
                "/_shoptrail/inbox",
                &[("Shoptrail-Signature", &sig), ("Idempotency-Key", "stp_1")],
                Some(body.as_bytes()),
            )
            .await
        }
    };
    let now = clock.now_ms() / 1000;
    let ok = post(sign(now, body), body).await;
    assert_eq!(ok.status, 200, "{}", ok.text());
    assert_eq!(ok.json()["repeat"], false);
    assert_eq!(post(sign(now, body), body).await.json()["repeat"], true);
    assert_eq!(post(sign(now, body), r#"{"id":"stp_1"}"#).await.status, 401);
    assert_eq!(
        post(sign(now - 600, body), body).await.status,
        401,
        "too old"
    );
    let calls = t.get("/_shoptrail/inbox").await.json();
    assert_eq!(calls["calls"].as_array().unwrap().len(), 1);
    assert_eq!(calls["calls"][0]["payload"]["journey"], "welcome");
}

#[tokio::test]
async fn a_shopify_cart_link_is_a_permalink_and_the_order_it_leads_to_counts_as_recovered() {
    const APP_SECRET: &str = "shpss_journeys_secret_0123456789";
    let clock = Clock::manual(NOON);
    let (addr, hook) = webhook(&clock).await;
    let text = journeys_text(addr).replace(
        r#"cart_url = "https://shop.example/cart""#,
        r#"shopify_store = "https://shop.example""#,
    );
    let config = shoptrail_collector::journeys::config::parse(&text, None).expect("parses");
    let c = clock.clone();
    let t = TestServer::start_with(move |o| {
        configure(o, addr, c);
        o.journeys = Some(Arc::new(config));
        o.shopify_secret = Some(APP_SECRET.into());
    })
    .await;
    // Ada's cart on her laptop holds three of one Shopify variant and one of another.
    let line = |id: &str, product: &str, variant: &str, quantity: i64| {
        track(
            "laptop",
            id,
            "Product Added",
            json!({ "cart_id": "c1", "product_id": product, "variant_id": variant,
                    "quantity": quantity, "price": 10 }),
        )
    };
    send(
        &t,
        &[
            identify("laptop", Some("ada@example.com"), true),
            line("m1", "7001", "4100101", 3),
            line("m2", "7002", "4100201", 1),
        ],
    )
    .await;
    assert_eq!(at(&t, &clock, NOON + HOUR).await, 1);
    let url = hook.delivered()[0]["cartUrl"].as_str().unwrap().to_owned();
    let (permalink, query) = url.split_once('?').unwrap();
    assert_eq!(permalink, "https://shop.example/cart/4100101:3,4100201:1");
    let token = query
        .strip_prefix("storefront=true&attributes%5Bshoptrail_link%5D=")
        .and_then(|rest| rest.split_once('&'))
        .map(|(token, rest)| {
            assert_eq!(rest, format!("st_lt={token}"));
            token.to_owned()
        })
        .expect("the token as a cart attribute and as the SDK's parameter");

    // She orders on her phone, straight from the link to checkout: no storefront page ran
    // there, but the cart attribute came with the order.
    clock.set(NOON + 2 * HOUR);
    let order = json!({ "id": 990001, "total_price": "40.00", "currency": "EUR",
                        "note_attributes": [{ "name": "shoptrail_link", "value": token }] })
    .to_string();
    let r = request(
        t.addr,
        "POST",
        "/v1/sources/shopify/webhooks",
        &[
            ("X-Shopify-Topic", "orders/create"),
            (
                "X-Shopify-Hmac-Sha256",
                &shoptrail_collector::shopify::sign(APP_SECRET, order.as_bytes()),
            ),
        ],
        Some(order.as_bytes()),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let stored = t.events("event=Order%20Completed").await;
    assert!(
        stored[0]["context"]["linkTokenId"].is_string()
            && stored[0]["context"]["linkToken"].is_null(),
        "the raw token is not stored: {}",
        stored[0]
    );
    let j = t.get("/v1/journeys").await.json();
    assert_eq!(
        j["journeys"][0]["recovery"],
        json!({ "reminded": 1, "recovered": 1 })
    );
    assert_eq!(j["journeys"][0]["steps"][1]["counts"]["cancelled"], 1);
}
