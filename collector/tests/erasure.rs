//! Erasure (`DELETE /v1/profiles/{id}`) and export (`GET /v1/profiles/{id}/export`): a person
//! with two devices, an email, journeys under way, facts, forwarded and waiting events, link
//! tokens and a demo inbox call is erased by a user id, an anonymous id or an email; then no
//! row of any table in the database's catalog holds their ids, address or hashes, another
//! person is untouched, and later events with their ids are dropped and counted. On SQLite,
//! and on PostgreSQL when `SHOPTRAIL_TEST_POSTGRES` is set.

mod common;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::routing::post;
use axum::Router;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use shoptrail_collector::{Clock, Destination, ForwardFormat, Options};

use common::catalog::{rows, tables_mentioning};
use common::{request, TestServer, ADMIN, ADMIN_BEARER};

/// 2026-12-01T12:00:00Z.
const NOON: i64 = 1_796_126_400_000;
const SECRET: &str = "whsec-test-0123456789abcdef";
const READ: &str = "dashboard-token-0123456789";

/// Everything of Ada's carries `ada.` (which no hex or base64url text holds); Bob's `bob.`.
const ADA_MARK: &str = "ada.";
const BOB_MARK: &str = "bob.";
const ADA_EMAIL: &str = "Ada.Lovelace@Example.com";
const BOB_EMAIL: &str = "bob.smith@example.com";

fn sha256_hex(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A server answering 200 to every POST: the journeys' webhook and the forwarding
/// destination. Counts the calls.
async fn sink() -> (SocketAddr, Arc<Mutex<usize>>) {
    let calls = Arc::new(Mutex::new(0));
    let c = calls.clone();
    let app = Router::new().fallback(post(move || {
        let c = c.clone();
        async move {
            *c.lock().unwrap() += 1;
            "ok"
        }
    }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (addr, calls)
}

fn journeys(hook: SocketAddr) -> shoptrail_collector::JourneysConfig {
    let text = format!(
        r#"
[webhook]
url = "http://{hook}/hook"
secret = "{SECRET}"

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
"#
    );
    shoptrail_collector::journeys::config::parse(&text, None).expect("journeys parse")
}

struct World {
    t: TestServer,
    clock: Clock,
    /// Link tokens issued for Ada and for Bob.
    ada_tokens: Vec<String>,
    bob_tokens: Vec<String>,
}

async fn send(t: &TestServer, batch: Vec<Value>) -> Value {
    let r = t.post_json("/v1/batch", &json!({ "batch": batch })).await;
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()
}

async fn admin(t: &TestServer, method: &str, path: &str, body: Option<&Value>) -> common::Reply {
    let text = body.map(Value::to_string);
    request(
        t.addr,
        method,
        path,
        &[
            ("Authorization", ADMIN_BEARER),
            ("Content-Type", "application/json"),
        ],
        text.as_deref().map(str::as_bytes),
    )
    .await
}

async fn link_token(t: &TestServer, who: Value) -> String {
    let r = admin(t, "POST", "/v1/link-tokens", Some(&who)).await;
    assert_eq!(r.status, 201, "{}", r.text());
    r.json()["token"].as_str().unwrap().to_owned()
}

/// One person's life: `mark` is `ada.` or `bob.`.
async fn person(t: &TestServer, mark: &str, email: &str, token: &str) {
    let consent = json!({ "categoryPreferences": { "marketing": true } });
    let (a1, a2, user) = (
        format!("a.{mark}1"),
        format!("a.{mark}2"),
        format!("u.{mark}1"),
    );
    let m = |n: u32| format!("m.{mark}{n}");
    send(
        t,
        vec![
            json!({ "type": "page", "messageId": m(1), "anonymousId": a1,
                    "context": { "userAgent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1",
                                 "campaign": { "source": "news", "medium": "email" } } }),
            json!({ "type": "identify", "messageId": m(2), "anonymousId": a1, "userId": user,
                    "traits": { "email": email, "firstName": mark },
                    "context": { "consent": consent } }),
            json!({ "type": "track", "messageId": m(3), "anonymousId": a1, "userId": user,
                    "event": "Signed Up", "context": { "consent": consent } }),
            json!({ "type": "track", "messageId": m(4), "anonymousId": a1,
                    "event": "Product Added",
                    "properties": { "cart_id": format!("c.{mark}1"), "product_id": "p-1",
                                    "price": 12.5, "quantity": 2 },
                    "context": { "consent": consent } }),
            // A second device, joined by a link token from an email.
            json!({ "type": "page", "messageId": m(5), "anonymousId": a2,
                    "context": { "linkToken": token, "userAgent": "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0" } }),
        ],
    )
    .await;
}

/// Later: an order on the second device, and a product viewed there.
async fn person_orders(t: &TestServer, mark: &str) {
    let a2 = format!("a.{mark}2");
    send(
        t,
        vec![
            json!({ "type": "track", "messageId": format!("m.{mark}6"), "anonymousId": a2,
                    "event": "Order Completed",
                    "properties": { "order_id": format!("o.{mark}1"), "total": 30,
                                    "currency": "EUR" } }),
            json!({ "type": "track", "messageId": format!("m.{mark}7"), "anonymousId": a2,
                    "event": "Product Viewed" }),
        ],
    )
    .await;
}

/// Ada and Bob, each with two devices, an email, journeys delivered and pending, facts,
/// events forwarded and waiting, link tokens, and a call in the demo inbox.
async fn world() -> World {
    let clock = Clock::manual(NOON);
    let (hook, _) = sink().await;
    let c = clock.clone();
    let t = TestServer::start_with(move |o: &mut Options| {
        o.journeys = Some(Arc::new(journeys(hook)));
        o.forward =
            vec![
                Destination::parse(&format!("http://{hook}/batch"), ForwardFormat::Segment)
                    .unwrap(),
            ];
        o.clock = c;
        o.scheduler_interval = Duration::ZERO;
        o.read_tokens = vec![READ.into()];
    })
    .await;
    let ada_tokens = vec![
        link_token(&t, json!({ "userId": "u.ada.1", "channel": "email" })).await,
        link_token(&t, json!({ "email": ADA_EMAIL, "channel": "sms" })).await,
    ];
    let bob_tokens = vec![link_token(&t, json!({ "userId": "u.bob.1", "channel": "email" })).await];
    person(&t, ADA_MARK, ADA_EMAIL, &ada_tokens[0]).await;
    person(&t, BOB_MARK, BOB_EMAIL, &bob_tokens[0]).await;
    // Delivered: the welcomes' first steps, then the cart reminders (with a cart link, a new
    // link token each), and every event so far; then an order and a view wait.
    assert!(t.server.run_journeys().await > 0);
    clock.advance(Duration::from_secs(61 * 60));
    assert!(t.server.run_journeys().await > 0);
    assert!(t.server.run_forwarding().await > 0);
    person_orders(&t, ADA_MARK).await;
    person_orders(&t, BOB_MARK).await;
    // Facts (SQLite derives them when the metrics are asked for).
    let r = request(
        t.addr,
        "GET",
        "/v1/metrics",
        &[("Authorization", &format!("Bearer {READ}"))],
        None,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    // The demo inbox holds a call about each.
    for (mark, email) in [(ADA_MARK, ADA_EMAIL), (BOB_MARK, BOB_EMAIL)] {
        let body = json!({ "profile": { "traits": { "email": email } }, "note": mark }).to_string();
        let ts = clock.now_ms() / 1000;
        let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
        mac.update(format!("{ts}.{body}").as_bytes());
        let sig: String = mac
            .finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let header = format!("t={ts},v1={sig}");
        let r = request(
            t.addr,
            "POST",
            "/_shoptrail/inbox",
            &[("Shoptrail-Signature", &header)],
            Some(body.as_bytes()),
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.text());
    }
    World {
        t,
        clock,
        ada_tokens,
        bob_tokens,
    }
}

/// What of a person may be stored: the mark every id of theirs carries, their email's
/// hash (the graph's node), their link tokens' hashes.
fn needles(mark: &str, email: &str, tokens: &[String]) -> Vec<String> {
    let mut n = vec![
        mark.to_owned(),
        sha256_hex(&email.trim().to_lowercase()),
        email.to_lowercase(),
    ];
    n.extend(tokens.iter().map(|t| sha256_hex(t)));
    n.extend(tokens.iter().cloned());
    n
}

/// Erases Ada by `id` and checks everything the erasure promises.
async fn erase_ada_by(id: &str) {
    let w = world().await;
    let t = &w.t;
    let ada = needles(ADA_MARK, ADA_EMAIL, &w.ada_tokens);
    let bob = needles(BOB_MARK, BOB_EMAIL, &w.bob_tokens);
    let everywhere = [
        "events",
        "facts",
        "forward_outbox",
        "id_nodes",
        "journey_runs",
        "journey_steps",
        "link_token_devices",
        "link_tokens",
    ];
    // The check can fail: before the erasure both people are in every table that keeps
    // people.
    let before_ada = tables_mentioning(&t.db, &ada).await;
    let before_bob = tables_mentioning(&t.db, &bob).await;
    for table in everywhere {
        if table == "forward_outbox" {
            continue; // holds only seqs; checked through the counts below
        }
        assert!(before_ada.contains(&table.to_string()), "{before_ada:?}");
        assert!(before_bob.contains(&table.to_string()), "{before_bob:?}");
    }
    let bob_profile = t.get("/v1/profiles/u.bob.1").await.json();
    let bob_events = t.scalar("SELECT COUNT(*) FROM events").await;
    let pending_steps = t
        .scalar(
            "SELECT COUNT(*) FROM journey_steps s JOIN journey_runs r ON r.id = s.run
             WHERE (r.user_id = 'u.ada.1' OR r.anonymous_id IN ('a.ada.1', 'a.ada.2'))
             AND s.status = 'scheduled'",
        )
        .await;
    assert!(pending_steps > 0);

    let path = format!("/v1/profiles/{}", id.replace('@', "%40"));
    let r = admin(t, "DELETE", &path, None).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let answer = r.json();
    let mut anon: Vec<String> =
        serde_json::from_value(answer["ids"]["anonymousIds"].clone()).expect("anonymousIds");
    anon.sort();
    assert_eq!(anon, ["a.ada.1", "a.ada.2"], "{answer}");
    assert_eq!(answer["ids"]["userIds"], json!(["u.ada.1"]), "{answer}");
    assert_eq!(
        answer["ids"]["emailHashes"],
        json!([sha256_hex("ada.lovelace@example.com")]),
        "{answer}"
    );
    let removed = &answer["removed"];
    assert_eq!(removed["events"], json!(7), "{answer}");
    assert_eq!(removed["facts"], json!(7), "{answer}");
    assert_eq!(
        removed["link_tokens"],
        json!(3),
        "two issued, one for a cart link: {answer}"
    );
    assert_eq!(removed["forward_outbox"], json!(2), "{answer}");
    assert!(removed["journey_runs"].as_i64() >= Some(2), "{answer}");
    assert!(removed["journey_steps"].as_i64() >= Some(4), "{answer}");
    assert!(removed["id_nodes"].as_i64() >= Some(4), "{answer}");
    assert!(answer["cancelledSteps"].as_i64() >= Some(1), "{answer}");
    assert_eq!(answer["inbox"], json!(1), "{answer}");
    let forwarded = answer["forwarded"].as_array().expect("forwarded");
    assert_eq!(forwarded.len(), 1, "{answer}");
    assert_eq!(forwarded[0]["sent"], json!(5), "{answer}");
    assert_eq!(forwarded[0]["unsent"], json!(2), "{answer}");

    // Nothing of Ada's anywhere; Bob where he was.
    assert_eq!(tables_mentioning(&t.db, &ada).await, Vec::<String>::new());
    assert_eq!(tables_mentioning(&t.db, &bob).await, before_bob);
    assert_eq!(t.get("/v1/profiles/u.bob.1").await.json(), bob_profile);
    assert_eq!(
        t.scalar("SELECT COUNT(*) FROM events").await,
        bob_events - 7
    );
    for gone in [
        "u.ada.1",
        "a.ada.1",
        "a.ada.2",
        "Ada.Lovelace%40example.com",
    ] {
        let r = t.get(&format!("/v1/profiles/{gone}")).await;
        assert_eq!(r.status, 404, "{gone}: {}", r.text());
    }
    // The suppressions hold hashes, not the ids: nothing in them matches Ada's needles.
    let suppressions: Vec<String> = rows(&t.db)
        .await
        .into_iter()
        .filter(|(table, _)| table == "suppressions")
        .map(|(_, text)| text.to_lowercase())
        .collect();
    assert_eq!(suppressions.len(), 4, "{suppressions:?}");
    assert!(suppressions
        .iter()
        .all(|s| !ada.iter().any(|n| s.contains(n.as_str()))));
    let inbox = t.get("/_shoptrail/inbox").await.json();
    let text = inbox.to_string().to_lowercase();
    assert!(!text.contains(ADA_MARK), "{inbox}");
    assert!(text.contains(BOB_MARK), "{inbox}");

    // Later events with an erased id are dropped and counted; Bob's go on.
    let answer = send(
        t,
        vec![
            json!({ "type": "track", "messageId": "later-1", "anonymousId": "a.ada.1",
                    "event": "Product Viewed" }),
            json!({ "type": "track", "messageId": "later-2", "anonymousId": "fresh-device",
                    "userId": "u.ada.1", "event": "Product Viewed" }),
            json!({ "type": "identify", "messageId": "later-3", "anonymousId": "other-device",
                    "traits": { "email": " ada.lovelace@EXAMPLE.com " } }),
            json!({ "type": "alias", "messageId": "later-4", "previousId": "a.ada.2",
                    "userId": "someone-new" }),
            json!({ "type": "track", "messageId": "later-5", "anonymousId": "a.bob.1",
                    "event": "Product Viewed" }),
        ],
    )
    .await;
    assert_eq!(
        (
            &answer["accepted"],
            &answer["duplicates"],
            &answer["suppressed"]
        ),
        (&json!(1), &json!(0), &json!(4)),
        "{answer}"
    );
    assert_eq!(tables_mentioning(&t.db, &ada).await, Vec::<String>::new());
    assert_eq!(
        t.scalar("SELECT COUNT(*) FROM events WHERE message_id LIKE 'later-%'")
            .await,
        1
    );
    // The metrics go on from what is left.
    w.clock.advance(Duration::from_secs(1));
    let r = request(
        t.addr,
        "GET",
        "/v1/metrics",
        &[("Authorization", &format!("Bearer {READ}"))],
        None,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        t.scalar("SELECT COUNT(*) FROM facts").await,
        t.scalar("SELECT COUNT(*) FROM events").await
    );
    // A second erasure finds nobody.
    assert_eq!(admin(t, "DELETE", &path, None).await.status, 404);
}

#[tokio::test]
async fn erases_by_user_id() {
    erase_ada_by("u.ada.1").await;
}

#[tokio::test]
async fn erases_by_anonymous_id_of_the_second_device() {
    erase_ada_by("a.ada.2").await;
}

#[tokio::test]
async fn erases_by_email_in_any_case() {
    erase_ada_by("ADA.lovelace@example.com").await;
}

#[tokio::test]
async fn a_device_the_graph_never_joined_is_erased_alone() {
    let t = TestServer::start().await;
    send(
        &t,
        vec![
            json!({ "type": "track", "messageId": "x1", "anonymousId": "lone.ada.", "event": "E" }),
            json!({ "type": "track", "messageId": "x2", "anonymousId": "other", "event": "E" }),
        ],
    )
    .await;
    let r = admin(&t, "DELETE", "/v1/profiles/lone.ada.", None).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["removed"]["events"], json!(1));
    assert_eq!(
        tables_mentioning(&t.db, &[ADA_MARK.to_owned()]).await,
        Vec::<String>::new()
    );
    assert_eq!(t.scalar("SELECT COUNT(*) FROM events").await, 1);
    let r = admin(&t, "DELETE", "/v1/profiles/nobody-at-all", None).await;
    assert_eq!(r.status, 404, "{}", r.text());
}

#[tokio::test]
async fn erasure_and_export_take_the_admin_token_alone() {
    let t = TestServer::start_with(|o| o.read_tokens = vec![READ.into()]).await;
    send(&t, vec![common::track("m1", "a1", "E")]).await;
    for (method, path) in [
        ("DELETE", "/v1/profiles/a1"),
        ("GET", "/v1/profiles/a1/export"),
        ("GET", "/v1/profiles/a1/export?format=ndjson"),
    ] {
        let none = request(t.addr, method, path, &[], None).await;
        assert_eq!(none.status, 401, "{method} {path}");
        let reader = request(
            t.addr,
            method,
            path,
            &[("Authorization", &format!("Bearer {READ}"))],
            None,
        )
        .await;
        assert_eq!(reader.status, 403, "{method} {path}");
    }
    assert_eq!(t.scalar("SELECT COUNT(*) FROM events").await, 1);
    let r = request(
        t.addr,
        "DELETE",
        "/v1/profiles/a1",
        &[("Authorization", &format!("Bearer {ADMIN}"))],
        None,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(t.scalar("SELECT COUNT(*) FROM events").await, 0);
}

/// The person's stored events, as `GET /v1/events` gives them (with `seq`).
async fn stored_events_of(t: &TestServer, anon: &[&str], user: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let mut after = 0;
    loop {
        let page = t.events(&format!("limit=1000&after={after}")).await;
        let Some(last) = page.last() else { break };
        after = last["seq"].as_i64().unwrap();
        out.extend(page.into_iter().filter(|e| {
            e["anonymousId"].as_str().is_some_and(|a| anon.contains(&a))
                || e["userId"] == json!(user)
        }));
    }
    out
}

#[tokio::test]
async fn exports_every_event_as_json_and_ndjson() {
    let w = world().await;
    let t = &w.t;
    // Enough events for several pages.
    for k in 0..3 {
        let batch = (0..401)
            .map(|i| {
                json!({ "type": "track", "messageId": format!("bulk.ada.{k}.{i}"),
                        "anonymousId": if i % 2 == 0 { "a.ada.1" } else { "a.ada.2" },
                        "event": "Product Viewed", "properties": { "i": i } })
            })
            .collect();
        send(t, batch).await;
    }
    let want = stored_events_of(t, &["a.ada.1", "a.ada.2"], "u.ada.1").await;
    assert_eq!(want.len(), 7 + 3 * 401);
    let profile = t.get("/v1/profiles/u.ada.1").await.json();

    let r = t.get("/v1/profiles/a.ada.2/export").await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r
        .header("content-type")
        .unwrap()
        .starts_with("application/json"));
    let doc = r.json();
    assert_eq!(doc["profile"], profile);
    assert_eq!(doc["events"], json!(want));

    let r = t
        .get("/v1/profiles/Ada.Lovelace%40example.com/export?format=ndjson")
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r
        .header("content-type")
        .unwrap()
        .starts_with("application/x-ndjson"));
    let text = r.text();
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    assert_eq!(lines[0], json!({ "profile": profile }));
    assert_eq!(lines[1..], want[..]);

    // Bob's export holds Bob's events alone.
    let bob = t.get("/v1/profiles/u.bob.1/export").await.json();
    let want_bob = stored_events_of(t, &["a.bob.1", "a.bob.2"], "u.bob.1").await;
    assert_eq!(bob["events"], json!(want_bob));
    assert!(!bob.to_string().contains(ADA_MARK));

    assert_eq!(t.get("/v1/profiles/nobody/export").await.status, 404);
    assert_eq!(
        t.get("/v1/profiles/u.bob.1/export?format=xml").await.status,
        400
    );
}
