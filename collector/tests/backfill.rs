//! Events stored before ingestion replaced a raw `context.linkToken` by its id: the collector
//! rewrites them in the background from start, window after window, and marks the job done.
//! On SQLite, and on PostgreSQL when `SHOPTRAIL_TEST_POSTGRES` is set.

mod common;

use common::{execute, scalar, test_options, TestServer};
use sha2::{Digest, Sha256};

/// More than one window of the job (2,000 seqs).
const OLD_EVENTS: i64 = 4_500;

fn sha256_hex(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[tokio::test]
async fn raw_link_tokens_stored_before_ingestion_hid_them_are_replaced_by_their_id() {
    // A database as the version before this job left it: its schema at migration 10, with
    // events holding raw tokens.
    let t = TestServer::start().await;
    t.server.backfilled().await;
    let TestServer {
        server, dir, db, ..
    } = t;
    server.shutdown().await.expect("shutdown");
    execute(
        &db,
        "DELETE FROM schema_migrations WHERE version = 11; DROP TABLE backfills;",
    )
    .await;
    execute(
        &db,
        &format!(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {OLD_EVENTS})
             INSERT INTO events
                 (message_id, type, anonymous_id, received_at, body)
             SELECT 'old-' || i, 'page', 'a-old', '2026-11-01T00:00:00.000Z',
                    '{{\"type\":\"page\",\"messageId\":\"old-' || i || '\",\"anonymousId\":\"a-old\",'
                    || '\"context\":{{\"linkToken\":\"raw-secret-' || i || '\",\"locale\":\"en\"}}}}'
             FROM n"
        ),
    )
    .await;
    // Neither a token elsewhere than in the context nor one already hidden is touched.
    let untouched = [
        r#"{"type":"track","messageId":"props","event":"E","properties":{"linkToken":"kept"}}"#,
        r#"{"type":"page","messageId":"new","context":{"linkTokenId":"abc"}}"#,
    ];
    for body in untouched {
        let id = if body.contains("props") {
            "props"
        } else {
            "new"
        };
        execute(
            &db,
            &format!(
                "INSERT INTO events (message_id, type, received_at, body)
                 VALUES ('{id}', 'page', '2026-11-01T00:00:00.000Z', '{body}')"
            ),
        )
        .await;
    }

    let server = shoptrail_collector::start(test_options(&db))
        .await
        .expect("server starts");
    server.backfilled().await;

    assert_eq!(
        scalar(
            &db,
            "SELECT COUNT(*) FROM events WHERE body LIKE '%raw-secret%'"
        )
        .await,
        0
    );
    assert_eq!(
        scalar(
            &db,
            "SELECT COUNT(*) FROM events WHERE body LIKE '%\"linkTokenId\"%'"
        )
        .await,
        OLD_EVENTS + 1
    );
    for body in untouched {
        let quoted = body.replace('\'', "''");
        assert_eq!(
            scalar(
                &db,
                &format!("SELECT COUNT(*) FROM events WHERE body = '{quoted}'")
            )
            .await,
            1,
            "{body}"
        );
    }
    let reply = common::request(
        server.local_addr(),
        "GET",
        "/v1/events?limit=1",
        &[("Authorization", common::ADMIN_BEARER)],
        None,
    )
    .await;
    let first = &reply.json()["events"][0];
    assert_eq!(first["messageId"], "old-1");
    assert_eq!(first["context"]["linkTokenId"], sha256_hex("raw-secret-1"));
    assert_eq!(first["context"]["locale"], "en");
    assert!(first["context"].get("linkToken").is_none(), "{first}");
    assert_eq!(
        scalar(
            &db,
            "SELECT COUNT(*) FROM backfills WHERE name = 'link token ids' AND done_at IS NOT NULL"
        )
        .await,
        1
    );
    server.shutdown().await.expect("shutdown");
    drop(dir);
}
