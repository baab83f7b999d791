//! Cookieless visitors (see `cookieless`): events without ids get a visitor of the day from the
//! client's address, user agent and host, and sessions 30 minutes apart; the day's salt is
//! deleted once the day is over; metrics count them and tell them apart (`by=consent`). Over
//! HTTP, on both engines.

mod common;

use std::time::{Duration, Instant};

use common::{request, Reply, TestServer};
use serde_json::{json, Value};
use shoptrail_collector::{Clock, Trusted};

const FIREFOX: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";
/// 2026-12-01T10:00:00Z.
const T0: i64 = 1_796_119_200_000;
const MINUTE: i64 = 60_000;
const DAY: i64 = 86_400_000;

/// A cookieless event as the SDK sends it at `at` (ms): no id, no session.
fn cookieless(kind: &str, id: &str, at: i64, extra: Value) -> Value {
    let mut e = json!({"type": kind, "messageId": id,
        "timestamp": time(at),
        "context": {"cookieless": true, "userAgent": FIREFOX,
                    "page": {"url": "https://shop.example/p/mug"},
                    "consent": {"categoryPreferences": {"analytics": false}}}});
    if let (Some(o), Value::Object(more)) = (e.as_object_mut(), extra) {
        o.extend(more);
    }
    e
}

fn time(ms: i64) -> String {
    let secs = ms / 1000;
    let (days, rest) = (secs / 86_400, secs % 86_400);
    // 2026-12-01 is day 20788; the tests stay within that month.
    let day = 1 + days - 20_788;
    format!(
        "2026-12-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rest / 3600,
        rest / 60 % 60,
        rest % 60,
        ms % 1000
    )
}

/// Posts a batch as a browser at `ip` behind the shop's proxy.
async fn send(t: &TestServer, ip: &str, events: Vec<Value>) -> Reply {
    let body = json!({ "batch": events }).to_string();
    request(
        t.addr,
        "POST",
        "/v1/batch",
        &[("Content-Type", "text/plain"), ("X-Forwarded-For", ip)],
        Some(body.as_bytes()),
    )
    .await
}

fn order(id: &str) -> Value {
    json!({"event": "Order Completed",
           "properties": {"order_id": id, "total": 30, "currency": "EUR"}})
}

async fn server(clock: &Clock) -> TestServer {
    let clock = clock.clone();
    TestServer::start_with(move |o| {
        o.clock = clock;
        o.trusted_proxies = vec![Trusted::parse("127.0.0.1").unwrap()];
        o.scheduler_interval = Duration::from_millis(50);
    })
    .await
}

fn by_id<'a>(events: &'a [Value], id: &str) -> &'a Value {
    events.iter().find(|e| e["messageId"] == id).expect(id)
}

#[tokio::test]
async fn a_refusing_shopper_is_one_visitor_and_one_session_for_the_day() {
    let clock = Clock::manual(T0);
    let t = server(&clock).await;
    // Three pages and an order, each in its own request as pages send them.
    let pages = [(0, "a-1"), (2, "a-2"), (5, "a-3")];
    for (minute, id) in pages {
        clock.set(T0 + minute * MINUTE);
        let r = send(
            &t,
            "203.0.113.7",
            vec![cookieless("page", id, T0 + minute * MINUTE, json!({}))],
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.text());
    }
    clock.set(T0 + 6 * MINUTE);
    // A client that sends what the SDK never would: the collector keeps none of it.
    let claims =
        json!({"userId": "u-1", "anonymousId": "chosen", "traits": {"email": "a@example.com"}});
    let mut bought = cookieless("track", "a-4", T0 + 6 * MINUTE, order("o-1"));
    bought
        .as_object_mut()
        .unwrap()
        .extend(claims.as_object().unwrap().clone());
    bought["context"]["traits"] = json!({"email": "a@example.com"});
    bought["context"]["linkToken"] = json!("raw-link-token-of-ada");
    assert_eq!(send(&t, "203.0.113.7", vec![bought]).await.status, 200);
    // Another shopper behind another address; and one who consented.
    assert_eq!(
        send(
            &t,
            "203.0.113.8",
            vec![cookieless("page", "b-1", T0 + 6 * MINUTE, json!({}))]
        )
        .await
        .status,
        200
    );
    let consented = json!({"type": "page", "messageId": "c-1", "anonymousId": "c",
        "timestamp": time(T0), "context": {"sessionId": T0, "userAgent": FIREFOX}});
    let mut paid = consented.clone();
    paid["type"] = json!("track");
    paid["messageId"] = json!("c-2");
    paid.as_object_mut()
        .unwrap()
        .extend(order("o-2").as_object().unwrap().clone());
    assert_eq!(
        send(&t, "203.0.113.9", vec![consented, paid]).await.status,
        200
    );

    let stored = t.events("").await;
    let a = by_id(&stored, "a-1");
    let visitor = a["anonymousId"].as_str().unwrap().to_owned();
    assert!(
        visitor.starts_with("cl-") && visitor.len() == 35,
        "{visitor}"
    );
    assert_eq!(a["context"]["sessionId"], T0);
    for id in ["a-2", "a-3", "a-4"] {
        let e = by_id(&stored, id);
        assert_eq!(e["anonymousId"], visitor.as_str(), "{id}");
        assert_eq!(e["context"]["sessionId"], T0, "{id}");
    }
    let text = serde_json::to_string(&stored).unwrap();
    assert!(!text.contains("a@example.com") && !text.contains("u-1") && !text.contains("chosen"));
    assert!(
        !text.contains("linkToken") && !text.contains("raw-link-token"),
        "{text}"
    );
    let b = by_id(&stored, "b-1");
    assert!(b["anonymousId"].as_str().unwrap().starts_with("cl-"));
    assert_ne!(b["anonymousId"], visitor.as_str());
    // Nobody joins the identity graph through a cookieless event.
    let nodes = t
        .scalar("SELECT COUNT(*) FROM id_nodes WHERE value LIKE 'cl-%' OR value = 'u-1'")
        .await;
    assert_eq!(nodes, 0);

    let m = t
        .get("/v1/metrics?from=2026-12-01&to=2026-12-02&by=consent")
        .await;
    assert_eq!(m.status, 200, "{}", m.text());
    let m = m.json();
    assert_eq!(m["by"], "consent");
    assert_eq!(
        (&m["totals"]["sessions"], &m["totals"]["orders"]),
        (&json!(3), &json!(2))
    );
    let group = |key: &str| -> Value {
        let groups = m["groups"].as_array().unwrap();
        let g = groups.iter().find(|g| g["key"] == key).expect(key);
        g["metrics"].clone()
    };
    let c = group("cookieless");
    assert_eq!(
        (&c["sessions"], &c["orders"], &c["convertedSessions"]),
        (&json!(2), &json!(1), &json!(1))
    );
    assert_eq!(c["revenue"]["EUR"], "30.00");
    let k = group("consented");
    assert_eq!((&k["sessions"], &k["orders"]), (&json!(1), &json!(1)));

    // Half an hour without an event ends the session; the visitor stays for the day.
    let later = T0 + 36 * MINUTE + 1;
    clock.set(later);
    send(
        &t,
        "203.0.113.7",
        vec![cookieless("page", "a-5", later, json!({}))],
    )
    .await;
    let e = t.events("").await;
    assert_eq!(by_id(&e, "a-5")["anonymousId"], visitor.as_str());
    assert_eq!(by_id(&e, "a-5")["context"]["sessionId"], later);

    // The next day: the same browser is another visitor, and yesterday's salt and sessions
    // are gone, even before any event of the new day.
    clock.set(T0 + DAY);
    let deadline = Instant::now() + Duration::from_secs(10);
    let today = (T0 + DAY) / DAY;
    loop {
        let old = t
            .scalar(&format!(
                "SELECT COUNT(*) FROM cookieless_salts WHERE day < {today}"
            ))
            .await;
        let visits = t.scalar("SELECT COUNT(*) FROM cookieless_visits").await;
        if old == 0 && visits == 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "salts of past days: {old}, visits: {visits}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    send(
        &t,
        "203.0.113.7",
        vec![cookieless("page", "a-6", T0 + DAY, json!({}))],
    )
    .await;
    let e = t.events("").await;
    assert!(by_id(&e, "a-6")["anonymousId"]
        .as_str()
        .unwrap()
        .starts_with("cl-"));
    assert_ne!(by_id(&e, "a-6")["anonymousId"], visitor.as_str());
    assert_eq!(t.scalar("SELECT COUNT(*) FROM cookieless_salts").await, 1);
}

#[tokio::test]
async fn a_cookieless_event_identifies_nobody() {
    let t = TestServer::start().await;
    let r = t
        .post_json(
            "/v1/batch",
            &json!({"batch": [cookieless("identify", "i-1", T0, json!({"userId": "u-1"}))]}),
        )
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["field"], "batch[0].type", "{}", r.text());
    // One endpoint for one event takes them too.
    let r = t
        .post_json("/v1/page", &cookieless("page", "p-1", T0, json!({})))
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let stored = t.events("").await;
    assert!(stored[0]["anonymousId"]
        .as_str()
        .unwrap()
        .starts_with("cl-"));
}

#[tokio::test]
async fn a_cookieless_visitor_faster_than_anyone_reads_is_marked_a_bot() {
    let t = TestServer::start().await;
    let pages: Vec<Value> = (0..130)
        .map(|i| cookieless("page", &format!("fast-{i}"), T0, json!({})))
        .collect();
    assert_eq!(send(&t, "203.0.113.20", pages).await.status, 200);
    let stored = t.events("").await;
    let marked = stored
        .iter()
        .filter(|e| e["context"]["bot"] == true)
        .count();
    assert_eq!(marked, 10, "the page views past 120 in a minute");
    assert!(stored
        .iter()
        .all(|e| e["anonymousId"].as_str().unwrap().starts_with("cl-")));
}
