//! `--retention`: what is older than the period is purged (events with their facts and
//! outbox rows, ended journey runs with their steps and codes, expired link tokens, the
//! identity graph of people with no event left), what is younger is kept, and
//! `GET /v1/retention` says what went. On SQLite, and on PostgreSQL when
//! `SHOPTRAIL_TEST_POSTGRES` is set.

mod common;

use std::time::Duration;

use common::{execute, request, track, TestServer, ADMIN_BEARER};
use serde_json::json;
use shoptrail_collector::{Clock, Destination, ForwardFormat};

const DAY: i64 = 86_400_000;
/// 2026-12-01T00:00:00Z.
const T0: i64 = 1_796_083_200_000;

#[tokio::test]
async fn what_is_older_than_the_period_goes_and_the_rest_stays() {
    let clock = Clock::manual(T0);
    let c = clock.clone();
    let t = TestServer::start_with(move |o| {
        o.clock = c;
        o.scheduler_interval = Duration::ZERO;
        o.retention = Some(Duration::from_secs(30 * 86_400));
        // Nothing listens there: the outbox keeps every event.
        o.forward = vec![
            Destination::parse("http://127.0.0.1:9/v1/batch", ForwardFormat::Segment).unwrap(),
        ];
    })
    .await;
    let batch = |ids: &[&str]| json!({ "batch": ids.iter().map(|i| track(i, "a1", "Viewed")).collect::<Vec<_>>() });
    assert_eq!(
        t.post_json("/v1/batch", &batch(&["old-1", "old-2"]))
            .await
            .status,
        200
    );
    let issued = request(
        t.addr,
        "POST",
        "/v1/link-tokens",
        &[
            ("Authorization", ADMIN_BEARER),
            ("Content-Type", "application/json"),
        ],
        Some(br#"{"userId":"u-1","channel":"email","ttl":60}"#),
    )
    .await;
    assert_eq!(issued.status, 201, "{}", issued.text());
    // An ended journey run of long ago and an active one, with their steps and a code.
    for (id, state) in [(1, "ended"), (2, "active")] {
        execute(
            &t.db,
            &format!(
                "INSERT INTO journey_runs (id, journey, key, anonymous_id, started_at, anchor_at,
                 state, trigger_id) VALUES ({id}, 'cart', 'cart:c{id}', 'a1', {T0}, {T0}, '{state}', 'm')"
            ),
        )
        .await;
        execute(
            &t.db,
            &format!(
                "INSERT INTO journey_steps (id, run, step, name, status, due_at, next_at,
                 idempotency_key, updated_at) VALUES ({id}, {id}, 0, 'reminder', 'cancelled', {T0}, {T0},
                 'stp_{id}', {T0})"
            ),
        )
        .await;
    }
    execute(
        &t.db,
        &format!("INSERT INTO discount_codes (code, step, percent, created_at) VALUES ('BACK-1', 1, 10, {T0})"),
    )
    .await;

    // 31 days on, a new event; the metrics derive facts for all three.
    clock.set(T0 + 31 * DAY);
    assert_eq!(
        t.post_json("/v1/batch", &batch(&["new-1"])).await.status,
        200
    );
    assert_eq!(t.get("/v1/metrics").await.status, 200);
    assert_eq!(t.scalar("SELECT COUNT(*) FROM facts").await, 3);

    let removed = t.server.run_retention().await.expect("purge");
    assert!(removed > 0);
    let ids: Vec<String> = t
        .events("")
        .await
        .iter()
        .map(|e| e["messageId"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids, ["new-1"]);
    for (query, left) in [
        ("SELECT COUNT(*) FROM facts", 1),
        ("SELECT COUNT(*) FROM forward_outbox", 1),
        ("SELECT COUNT(*) FROM link_tokens", 0),
        ("SELECT COUNT(*) FROM journey_runs", 1),
        ("SELECT COUNT(*) FROM journey_steps", 1),
        ("SELECT COUNT(*) FROM discount_codes", 0),
    ] {
        assert_eq!(t.scalar(query).await, left, "{query}");
    }
    // The active run stays, ended or not long ago.
    assert_eq!(
        t.scalar("SELECT COUNT(*) FROM journey_runs WHERE id = 2")
            .await,
        1
    );

    let report = t.get("/v1/retention").await;
    assert_eq!(report.status, 200, "{}", report.text());
    let r = report.json();
    assert_eq!(r["retentionDays"], 30.0);
    assert_eq!(r["lastRunAt"], "2027-01-01T00:00:00.000Z");
    assert_eq!(r["removed"]["events"], 2);
    assert_eq!(r["removed"]["facts"], 2);
    assert_eq!(r["removed"]["forward_outbox"], 2);
    assert_eq!(r["removed"]["link_tokens"], 1);
    assert_eq!(r["removed"]["journey_runs"], 1);
    // A second purge finds nothing more.
    assert_eq!(t.server.run_retention().await.expect("purge"), 0);
}

#[tokio::test]
async fn without_retention_nothing_is_purged() {
    let t = TestServer::start().await;
    assert_eq!(
        t.post_json("/v1/batch", &json!({ "batch": [track("m", "a", "E")] }))
            .await
            .status,
        200
    );
    assert_eq!(t.server.run_retention().await.expect("purge"), 0);
    assert_eq!(t.events("").await.len(), 1);
    assert_eq!(
        t.get("/v1/retention").await.json()["retentionDays"],
        json!(null)
    );
}

fn sha256_hex(text: &str) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A server keeping 30 days on a manual clock at [`T0`], with no background loops.
async fn thirty_days() -> (TestServer, Clock) {
    let clock = Clock::manual(T0);
    let c = clock.clone();
    let t = TestServer::start_with(move |o| {
        o.clock = c;
        o.scheduler_interval = Duration::ZERO;
        o.retention = Some(Duration::from_secs(30 * 86_400));
        // The checks ask for hundreds of profiles.
        o.rate_limit = 0;
    })
    .await;
    (t, clock)
}

async fn send(t: &TestServer, batch: Vec<serde_json::Value>) {
    let r = t.post_json("/v1/batch", &json!({ "batch": batch })).await;
    assert_eq!(r.status, 200, "{}", r.text());
}

/// A link token for `user`, valid for a year.
async fn year_token(t: &TestServer, user: &str) -> String {
    let body = json!({ "userId": user, "channel": "email", "ttl": 365 * 86_400 }).to_string();
    let r = request(
        t.addr,
        "POST",
        "/v1/link-tokens",
        &[
            ("Authorization", ADMIN_BEARER),
            ("Content-Type", "application/json"),
        ],
        Some(body.as_bytes()),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text());
    r.json()["token"].as_str().unwrap().to_owned()
}

/// A person of two devices (`a.{mark}1`, `a.{mark}2`), a user id and an email, the second
/// device joined by a link token, and a refused merge with another user id.
async fn person(t: &TestServer, mark: &str, token: &str) {
    let (a1, a2, user) = (
        format!("a.{mark}1"),
        format!("a.{mark}2"),
        format!("u.{mark}1"),
    );
    let m = |n: u32| format!("m.{mark}{n}");
    send(
        t,
        vec![
            json!({ "type": "page", "messageId": m(1), "anonymousId": a1 }),
            json!({ "type": "identify", "messageId": m(2), "anonymousId": a1, "userId": user,
                    "traits": { "email": format!("{mark}x@example.com") } }),
            json!({ "type": "page", "messageId": m(3), "anonymousId": a2,
                    "context": { "linkToken": token } }),
            // The first device then names another user: refused, recorded.
            json!({ "type": "track", "messageId": m(4), "anonymousId": a1,
                    "userId": format!("u.{mark}9"), "event": "Signed In" }),
        ],
    )
    .await;
}

/// The ids `GET /v1/profiles/{id}` gives, or none for a 404.
async fn profile_ids(t: &TestServer, id: &str) -> Option<serde_json::Value> {
    let r = t.get(&format!("/v1/profiles/{id}")).await;
    match r.status {
        404 => None,
        200 => Some(r.json()["ids"].clone()),
        s => panic!("{s}: {}", r.text()),
    }
}

#[tokio::test]
async fn a_person_with_no_event_left_leaves_the_graph_and_one_with_an_event_keeps_it_whole() {
    let (t, clock) = thirty_days().await;
    let (ada_token, bob_token) = (
        year_token(&t, "u.ada.1").await,
        year_token(&t, "u.bob.1").await,
    );
    person(&t, "ada.", &ada_token).await;
    person(&t, "bob.", &bob_token).await;
    let graph = |mark: &str| {
        format!(
            "SELECT COUNT(*) FROM id_nodes WHERE value LIKE '%{mark}%' OR value = '{}'",
            sha256_hex(&format!("{mark}x@example.com"))
        )
    };
    // Two devices, a user id, an email; and the user id of the refused merge, alone.
    assert_eq!(t.scalar(&graph("ada.")).await, 5);
    assert_eq!(t.scalar("SELECT COUNT(*) FROM id_conflicts").await, 2);

    // 31 days on, Bob's second device views a product; Ada does nothing.
    clock.set(T0 + 31 * DAY);
    send(&t, vec![track("m.bob.5", "a.bob.2", "Product Viewed")]).await;
    let bob_before = profile_ids(&t, "u.bob.1").await.expect("Bob's profile");

    t.server.run_retention().await.expect("purge");

    for id in [
        "u.ada.1",
        "a.ada.1",
        "a.ada.2",
        "u.ada.9",
        "ada.x@example.com",
    ] {
        assert_eq!(profile_ids(&t, id).await, None, "{id}");
    }
    assert_eq!(t.scalar(&graph("ada.")).await, 0);
    // Only the token the operator issued for Ada stays (until it expires); it joins no
    // device now.
    let ada = vec![
        "ada.".to_owned(),
        sha256_hex("ada.x@example.com"),
        sha256_hex(&ada_token),
    ];
    assert_eq!(
        common::catalog::tables_mentioning(&t.db, &ada).await,
        ["link_tokens"]
    );
    assert_eq!(
        t.scalar("SELECT devices FROM link_tokens WHERE user_id = 'u.ada.1'")
            .await,
        0
    );

    // Bob's component is whole: both devices, the user id, the email; the device his token
    // joined still counts. His refused merge is older than the period and goes, and so does
    // the user id it named, whose only event was purged.
    assert_eq!(profile_ids(&t, "a.bob.1").await, Some(bob_before.clone()));
    assert_eq!(bob_before["anonymousIds"], json!(["a.bob.1", "a.bob.2"]));
    assert_eq!(
        bob_before["emailHashes"],
        json!([sha256_hex("bob.x@example.com")])
    );
    assert_eq!(t.scalar(&graph("bob.")).await, 4);
    assert_eq!(profile_ids(&t, "u.bob.9").await, None);
    assert_eq!(
        t.scalar("SELECT devices FROM link_tokens WHERE user_id = 'u.bob.1'")
            .await,
        1
    );
    assert_eq!(t.scalar("SELECT COUNT(*) FROM id_conflicts").await, 0);

    let r = t.get("/v1/retention").await.json();
    // Ada's five nodes, and Bob's refused user id, whose only event was purged.
    assert_eq!(r["removed"]["id_nodes"], 6, "{r}");
    assert_eq!(r["removed"]["id_conflicts"], 2, "{r}");
    assert_eq!(r["removed"]["link_token_devices"], 1, "{r}");
    assert_eq!(t.server.run_retention().await.expect("purge"), 0);
}

#[tokio::test]
async fn components_earlier_purges_left_behind_are_swept() {
    let (t, _clock) = thirty_days().await;
    send(
        &t,
        vec![
            json!({ "type": "identify", "messageId": "m.keep.1", "anonymousId": "a.keep.1",
                     "userId": "u.keep.1" }),
        ],
    )
    .await;
    // What a purge of events left before the graph went with them: two nodes no event names.
    execute(
        &t.db,
        "INSERT INTO id_nodes (id, kind, value, parent, size, user_id) VALUES
             (900001, 'userId', 'u.left.1', 900001, 2, 'u.left.1'),
             (900002, 'anonymousId', 'a.left.1', 900001, 1, NULL)",
    )
    .await;
    assert_eq!(t.server.run_retention().await.expect("purge"), 2);
    assert_eq!(
        t.scalar("SELECT COUNT(*) FROM id_nodes WHERE value LIKE '%.left.%'")
            .await,
        0
    );
    assert_eq!(
        t.scalar("SELECT COUNT(*) FROM id_nodes WHERE value LIKE '%.keep.%'")
            .await,
        2
    );
}

/// Events that join new devices to people whose components are being purged arrive during
/// the purge: whichever goes first, no node is left under a removed parent, and every new
/// device is one person with its user id.
#[tokio::test]
async fn ingestion_beside_the_purge_leaves_the_graph_whole() {
    const PEOPLE: usize = 300;
    let (t, clock) = thirty_days().await;
    let identify = |n: usize, device: u32| {
        json!({ "type": "identify", "messageId": format!("m.p{n}.{device}"),
                "anonymousId": format!("a.p{n}.{device}"), "userId": format!("u.p{n}") })
    };
    for chunk in (0..PEOPLE).collect::<Vec<_>>().chunks(100) {
        send(&t, chunk.iter().map(|&n| identify(n, 1)).collect()).await;
    }
    clock.set(T0 + 31 * DAY);
    let purge = t.server.run_retention();
    let ingest = async {
        for chunk in (0..PEOPLE).collect::<Vec<_>>().chunks(20) {
            send(&t, chunk.iter().map(|&n| identify(n, 2)).collect()).await;
        }
    };
    let (purged, ()) = tokio::join!(purge, ingest);
    purged.expect("purge");
    assert_eq!(
        t.scalar(
            "SELECT COUNT(*) FROM id_nodes n
             WHERE NOT EXISTS (SELECT 1 FROM id_nodes p WHERE p.id = n.parent)"
        )
        .await,
        0,
        "nodes under a removed parent"
    );
    for n in 0..PEOPLE {
        let ids = profile_ids(&t, &format!("a.p{n}.2"))
            .await
            .unwrap_or_else(|| panic!("a.p{n}.2 has no profile"));
        assert_eq!(ids["userId"], format!("u.p{n}"), "{ids}");
        // The first device went with its old events, or stayed in the one component.
        let devices = ids["anonymousIds"].as_array().unwrap();
        assert!(devices.contains(&json!(format!("a.p{n}.2"))), "{ids}");
        assert!(devices.len() == 1 || devices.contains(&json!(format!("a.p{n}.1"))));
    }
    // Every component has a new event now: a second purge keeps them.
    assert_eq!(t.server.run_retention().await.expect("purge"), 0);
    assert!(
        t.scalar("SELECT COUNT(*) FROM id_nodes WHERE kind = 'userId'")
            .await
            == PEOPLE as i64
    );
}
