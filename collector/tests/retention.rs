//! `--retention`: what is older than the period is purged (events with their facts and
//! outbox rows, ended journey runs with their steps and codes, expired link tokens), what is
//! younger is kept, and `GET /v1/retention` says what went. On SQLite, and on PostgreSQL when
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
