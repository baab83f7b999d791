//! Crawlers: an event whose user agent is on npm isbot's list is stored marked
//! `context.bot: true`, and counts in no metric, joins no identity and moves no journey;
//! `--bots count` checks no user agent (see `bots`). Over HTTP, on both engines.

mod common;

use common::TestServer;
use serde_json::{json, Value};

const FIREFOX: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";
const GOOGLEBOT: &str = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)";
const HEADLESS: &str = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0.0.0 Safari/537.36";

fn event(kind: &str, id: &str, anon: &str, agent: &str, extra: Value) -> Value {
    let mut e = json!({"type": kind, "messageId": id, "anonymousId": anon,
                       "timestamp": "2026-12-01T10:00:00.000Z",
                       "context": {"userAgent": agent, "sessionId": 1_764_583_200_000i64}});
    if let (Some(o), Value::Object(more)) = (e.as_object_mut(), extra) {
        o.extend(more);
    }
    e
}

/// A shopper in Firefox and two crawlers, each viewing a page and ordering; the headless one
/// also claims the shopper's email.
fn traffic() -> Vec<Value> {
    let order = |id: &str| {
        json!({"event": "Order Completed",
                                  "properties": {"order_id": id, "total": 10, "currency": "USD"}})
    };
    vec![
        event("page", "h-1", "human", FIREFOX, json!({})),
        event("track", "h-2", "human", FIREFOX, order("o-h")),
        event(
            "identify",
            "h-3",
            "human",
            FIREFOX,
            json!({"traits": {"email": "ada@example.com"}}),
        ),
        event("page", "g-1", "google", GOOGLEBOT, json!({})),
        event("track", "g-2", "google", GOOGLEBOT, order("o-g")),
        event("page", "x-1", "headless", HEADLESS, json!({})),
        event(
            "identify",
            "x-2",
            "headless",
            HEADLESS,
            json!({"traits": {"email": "ada@example.com"}}),
        ),
    ]
}

async fn totals(t: &TestServer) -> Value {
    let r = t.get("/v1/metrics?from=2026-11-30&to=2026-12-02").await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["bots"], "excluded");
    r.json()["totals"].clone()
}

#[tokio::test]
async fn crawlers_are_kept_marked_and_count_in_nothing() {
    let t = TestServer::start().await;
    let r = t.post_json("/v1/batch", &json!({"batch": traffic()})).await;
    assert_eq!(r.json()["accepted"], 7, "every event is kept: {}", r.text());
    let stored = t.events("").await;
    let marked: Vec<&str> = stored
        .iter()
        .filter(|e| e["context"]["bot"] == true)
        .map(|e| e["messageId"].as_str().unwrap())
        .collect();
    assert_eq!(marked, ["g-1", "g-2", "x-1", "x-2"]);
    let m = totals(&t).await;
    assert_eq!(
        (m["sessions"].clone(), m["orders"].clone()),
        (json!(1), json!(1)),
        "{m}"
    );
    assert_eq!(m["revenue"]["USD"], "10.00");
    // Asked to, the metrics count the bots too.
    let r = t
        .get("/v1/metrics?from=2026-11-30&to=2026-12-02&bots=include")
        .await;
    assert_eq!(r.json()["bots"], "included");
    let all = &r.json()["totals"];
    assert_eq!(
        (all["sessions"].clone(), all["orders"].clone()),
        (json!(3), json!(2)),
        "{all}"
    );
    assert_eq!(all["revenue"]["USD"], "20.00");
    let bad = t.get("/v1/metrics?bots=all").await;
    assert_eq!(bad.status, 400, "{}", bad.text());
    assert!(
        bad.text().contains("must be include or exclude"),
        "{}",
        bad.text()
    );
    // The headless browser's claim of Ada's email joined nothing.
    let p = t.get("/v1/profiles/ada@example.com").await.json();
    assert_eq!(p["ids"]["anonymousIds"], json!(["human"]), "{}", p["ids"]);
}

#[tokio::test]
async fn bots_count_checks_no_user_agent() {
    let t = TestServer::start_with(|o| o.bots = shoptrail_collector::bots::Bots::Count).await;
    t.post_json("/v1/batch", &json!({"batch": traffic()})).await;
    assert!(t
        .events("")
        .await
        .iter()
        .all(|e| e["context"]["bot"].is_null()));
    let m = totals(&t).await;
    assert_eq!(
        (m["sessions"].clone(), m["orders"].clone()),
        (json!(3), json!(2)),
        "{m}"
    );
}

#[tokio::test]
async fn an_id_viewing_pages_faster_than_anyone_reads_is_flagged() {
    let t = TestServer::start().await;
    let limit = shoptrail_collector::bots::PAGES_PER_MINUTE as usize;
    // A browser's user agent, but more page views in a minute than a person opens.
    let mut batch: Vec<Value> = (0..=limit)
        .map(|i| event("page", &format!("f-{i}"), "fast", FIREFOX, json!({})))
        .collect();
    batch.push(event(
        "track",
        "f-order",
        "fast",
        FIREFOX,
        json!({"event": "Order Completed",
               "properties": {"order_id": "o-f", "total": 10, "currency": "USD"}}),
    ));
    // A shopper beside it, and the same pace spread over two minutes: nobody is flagged.
    batch.push(event("page", "h-1", "human", FIREFOX, json!({})));
    let r = t.post_json("/v1/batch", &json!({"batch": batch})).await;
    assert_eq!(r.json()["accepted"], limit + 3, "{}", r.text());
    let stored = t.events("anonymousId=fast&limit=1000").await;
    let marked: Vec<&str> = stored
        .iter()
        .filter(|e| e["context"]["bot"] == true)
        .map(|e| {
            assert_eq!(e["context"]["botReason"], "pace");
            e["messageId"].as_str().unwrap()
        })
        .collect();
    assert_eq!(marked, [format!("f-{limit}").as_str(), "f-order"]);
    assert!(t.events("anonymousId=human").await[0]["context"]["bot"].is_null());
    // The order after the line counts in nothing; the flag lasts for the id's next batch.
    assert_eq!(totals(&t).await["orders"], 0);
    let later = event("page", "f-later", "fast", FIREFOX, json!({}));
    t.post_json("/v1/batch", &json!({"batch": [later]})).await;
    let again = t.events("anonymousId=fast&limit=1000").await;
    let last = again.iter().find(|e| e["messageId"] == "f-later").unwrap();
    assert_eq!(last["context"]["bot"], true);

    // `--bots count` checks no pace either (test suites drive browsers fast), but a form's
    // own flag stands in every mode.
    let c = TestServer::start_with(|o| o.bots = shoptrail_collector::bots::Bots::Count).await;
    let batch: Vec<Value> = (0..=limit)
        .map(|i| event("page", &format!("c-{i}"), "fast", FIREFOX, json!({})))
        .collect();
    c.post_json("/v1/batch", &json!({"batch": batch})).await;
    assert!(c
        .events("anonymousId=fast&limit=1000")
        .await
        .iter()
        .all(|e| e["context"]["bot"].is_null()));
    let spam = event(
        "track",
        "c-spam",
        "form",
        FIREFOX,
        json!({"event": "Signed Up", "properties": {"spam": "too_fast"}}),
    );
    // Only a popup's events carry the form's flag: another event's `spam` is its own.
    let other = event(
        "track",
        "c-review",
        "reviews",
        FIREFOX,
        json!({"event": "Review Moderated", "properties": {"spam": "no"}}),
    );
    c.post_json("/v1/batch", &json!({"batch": [spam, other]}))
        .await;
    assert!(c.events("anonymousId=reviews").await[0]["context"]["bot"].is_null());
    let stored = c.events("anonymousId=form").await;
    assert_eq!(
        (
            &stored[0]["context"]["bot"],
            &stored[0]["context"]["botReason"]
        ),
        (&json!(true), &json!("spam"))
    );
}
