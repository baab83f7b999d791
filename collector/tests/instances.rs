//! Several collectors on one database (a SQLite file, or PostgreSQL when the suite runs there,
//! which is what several instances behind a load balancer share): every event stored once
//! whichever instance took it, however many took it, and one person's devices joined into one
//! profile whichever instance saw each of them.

mod common;

use common::TestServer;
use serde_json::{json, Value};

const TOKEN: &str = "test-admin-token-0123456789";

async fn two_collectors() -> (TestServer, TestServer) {
    let a = TestServer::start_with(|o| o.admin_token = Some(TOKEN.into())).await;
    let db = a.db.clone();
    let b = TestServer::start_with(move |o| {
        o.db = db;
        o.admin_token = Some(TOKEN.into());
    })
    .await;
    (a, b)
}

/// Device `d`'s events of round `r`: two page views and a cart event, then, in the last
/// round, the shopper signs in on that device.
fn round(d: usize, r: usize, last: bool) -> Vec<Value> {
    let anon = format!("dev-{d}");
    let mut batch: Vec<Value> = (0..3)
        .map(|k| {
            json!({"type": "track", "event": "Product Viewed", "messageId": format!("m-{d}-{r}-{k}"),
                   "anonymousId": anon, "properties": {"product_id": format!("p{k}")}})
        })
        .collect();
    if last {
        batch.push(
            json!({"type": "identify", "messageId": format!("id-{d}"), "anonymousId": anon,
                          "userId": "shopper-1", "traits": {"email": "ada@example.com"}}),
        );
    }
    batch
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_batches_at_both_instances_are_stored_once_as_one_person() {
    let (a, b) = two_collectors().await;
    const DEVICES: usize = 4;
    const ROUNDS: usize = 12;
    let mut sends = Vec::new();
    for d in 0..DEVICES {
        for r in 0..ROUNDS {
            sends.push(json!({ "batch": round(d, r, r == ROUNDS - 1) }));
        }
    }
    // Every batch goes to both instances at the same moment (a client retrying through a load
    // balancer), all batches at once.
    let calls = sends.iter().map(|body| async {
        let (x, y) = tokio::join!(
            a.post_json("/v1/batch", body),
            b.post_json("/v1/batch", body)
        );
        assert_eq!(
            (x.status, y.status),
            (200, 200),
            "{} {}",
            x.text(),
            y.text()
        );
        let stored = |r: &common::Reply| r.json()["accepted"].as_u64().unwrap_or(0);
        stored(&x) + stored(&y)
    });
    let stored: u64 = futures_util::future::join_all(calls)
        .await
        .into_iter()
        .sum();
    let expected = DEVICES * ROUNDS * 3 + DEVICES;
    assert_eq!(
        stored as usize, expected,
        "each event stored by exactly one instance"
    );
    for t in [&a, &b] {
        let events = t.events("limit=10000").await;
        assert_eq!(events.len(), expected);
        let mut ids: Vec<&str> = events
            .iter()
            .map(|e| e["messageId"].as_str().unwrap())
            .collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), expected, "no messageId twice");
    }
    assert_eq!(
        a.scalar("SELECT COUNT(*) FROM events").await,
        expected as i64
    );

    // The four devices signed in through either instance: one profile holds them all.
    let auth = ("Authorization", "Bearer test-admin-token-0123456789");
    for t in [&a, &b] {
        let r = common::request(t.addr, "GET", "/v1/profiles/shopper-1", &[auth], None).await;
        assert_eq!(r.status, 200, "{}", r.text());
        let mut anon: Vec<String> = r.json()["ids"]["anonymousIds"]
            .as_array()
            .expect("anonymous ids")
            .iter()
            .map(|v| v.as_str().unwrap().to_owned())
            .collect();
        anon.sort();
        assert_eq!(anon, ["dev-0", "dev-1", "dev-2", "dev-3"]);
    }
    // One component: every node of the graph has the same root.
    assert_eq!(
        a.scalar(
            "SELECT COUNT(DISTINCT root) FROM (
                 WITH RECURSIVE up(id, parent, root) AS (
                     SELECT id, parent, id FROM id_nodes
                     UNION ALL
                     SELECT up.id, n.parent, n.id FROM up JOIN id_nodes n ON n.id = up.parent
                      WHERE up.parent <> up.root
                 )
                 SELECT id, root FROM up WHERE parent = root
             ) roots"
        )
        .await,
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_instance_answers_what_the_other_stored() {
    let (a, b) = two_collectors().await;
    let body = json!({ "batch": round(7, 0, true) });
    assert_eq!(a.post_json("/v1/batch", &body).await.status, 200);
    let again = b.post_json("/v1/batch", &body).await.json();
    assert_eq!(
        (again["accepted"].as_u64(), again["duplicates"].as_u64()),
        (Some(0), Some(4))
    );
    assert_eq!(b.events("anonymousId=dev-7").await.len(), 4);
}
