//! Compressed request bodies: `Content-Encoding` (gzip, x-gzip, deflate, identity) on
//! `/v1/batch` and the single-event routes, 415 for other codings, and the inflated-size cap
//! (16 times `--max-body`, checked while inflating).

mod common;

use std::io::Write;
use std::time::{Duration, Instant};

use common::{request, TestServer};
use serde_json::{json, Value};

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(data).expect("gzip");
    enc.finish().expect("gzip")
}

fn zlib(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(data).expect("deflate");
    enc.finish().expect("deflate")
}

fn basic(user: &str) -> String {
    use base64::Engine as _;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:"))
    )
}

/// An event as RudderStack's Node SDK (`@rudderstack/rudder-sdk-node` 3.x) builds it: no
/// `timestamp` of its own but `originalTimestamp`, `channel` and `_metadata`, and the
/// library in `context`.
fn rudder_event(kind: &str, message_id: &str, extra: Value) -> Value {
    let mut event = json!({
        "type": kind,
        "userId": "user-rs-1",
        "anonymousId": "anon-rs-1",
        "context": { "library": { "name": "analytics-node", "version": "3.1.1" } },
        "channel": "server",
        "_metadata": { "nodeVersion": "22.12.0" },
        "originalTimestamp": "2026-11-22T10:00:00.000Z",
        "messageId": message_id,
    });
    if let (Some(event), Value::Object(extra)) = (event.as_object_mut(), extra) {
        event.extend(extra);
    }
    event
}

/// The body RudderStack's Node SDK sends: the batch, a `timestamp` and `sentAt`, and no
/// `writeKey` (that goes in Basic auth).
fn rudder_body() -> Value {
    json!({
        "batch": [
            rudder_event("identify", "3b0f5a8e-0000-4000-8000-000000000001",
                         json!({ "traits": { "email": "ada@example.com" },
                                 "context": { "traits": { "email": "ada@example.com" },
                                              "library": { "name": "analytics-node",
                                                           "version": "3.1.1" } } })),
            rudder_event("track", "3b0f5a8e-0000-4000-8000-000000000002",
                         json!({ "event": "Order Completed",
                                 "properties": { "order_id": "o-1", "total": 24.5,
                                                 "currency": "EUR" } })),
            rudder_event("page", "3b0f5a8e-0000-4000-8000-000000000003",
                         json!({ "name": "Checkout", "properties": { "path": "/checkout" } })),
        ],
        "timestamp": "2026-11-22T10:00:01.000Z",
        "sentAt": "2026-11-22T10:00:01.000Z",
    })
}

fn message_ids(events: &[Value]) -> Vec<&str> {
    events
        .iter()
        .map(|e| e["messageId"].as_str().unwrap_or("?"))
        .collect()
}

#[tokio::test]
async fn a_gzip_batch_said_in_content_encoding_as_rudderstacks_node_sdk_sends_it() {
    let t = TestServer::start_with(|o| o.write_keys = vec!["rs_write_key".into()]).await;
    let body = gzip(rudder_body().to_string().as_bytes());
    let auth = basic("rs_write_key");
    let headers = [
        ("Content-Type", "application/json"),
        ("Content-Encoding", "gzip"),
        ("User-Agent", "analytics-node/3.1.1"),
        ("Authorization", auth.as_str()),
    ];
    let reply = request(t.addr, "POST", "/v1/batch", &headers, Some(&body)).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(
        reply.json(),
        json!({"success": true, "accepted": 3, "duplicates": 0})
    );
    let stored = t.events("userId=user-rs-1").await;
    assert_eq!(
        message_ids(&stored),
        [
            "3b0f5a8e-0000-4000-8000-000000000001",
            "3b0f5a8e-0000-4000-8000-000000000002",
            "3b0f5a8e-0000-4000-8000-000000000003"
        ]
    );
    assert_eq!(stored[1]["properties"]["total"], 24.5);
    assert_eq!(stored[1]["sentAt"], "2026-11-22T10:00:01.000Z");

    // The same body again is stored once; with another key it is refused after inflating.
    let again = request(t.addr, "POST", "/v1/batch", &headers, Some(&body)).await;
    assert_eq!(again.json()["duplicates"], 3);
    let wrong = basic("rs_other_key");
    let refused = request(
        t.addr,
        "POST",
        "/v1/batch",
        &[("Content-Encoding", "gzip"), ("Authorization", &wrong)],
        Some(&body),
    )
    .await;
    assert_eq!(refused.status, 401, "{}", refused.text());
}

#[tokio::test]
async fn every_accepted_coding_on_the_batch_and_single_event_routes() {
    let t = TestServer::start().await;
    let batch = |id: &str| json!({ "batch": [common::track(id, "anon-enc", "E")] }).to_string();
    let single = |id: &str| common::track(id, "anon-enc", "E").to_string();
    let cases: [(&str, &str, Vec<u8>); 8] = [
        ("/v1/batch", "gzip", gzip(batch("b-gzip").as_bytes())),
        ("/v1/batch", "x-gzip", gzip(batch("b-xgzip").as_bytes())),
        ("/v1/batch", "GZip", gzip(batch("b-gzip-case").as_bytes())),
        ("/v1/batch", "deflate", zlib(batch("b-deflate").as_bytes())),
        ("/v1/batch", "identity", batch("b-identity").into_bytes()),
        (
            "/v1/batch",
            "identity, gzip",
            gzip(batch("b-list").as_bytes()),
        ),
        ("/v1/track", "gzip", gzip(single("s-gzip").as_bytes())),
        ("/v1/track", "deflate", zlib(single("s-deflate").as_bytes())),
    ];
    for (path, coding, body) in &cases {
        let reply = request(
            t.addr,
            "POST",
            path,
            &[("Content-Encoding", coding)],
            Some(body),
        )
        .await;
        assert_eq!(reply.status, 200, "{path} {coding}: {}", reply.text());
        assert_eq!(reply.json()["accepted"], 1, "{path} {coding}");
    }
    for kind in ["page", "identify", "group", "screen"] {
        let event = json!({ "messageId": format!("s-{kind}"), "anonymousId": "anon-enc",
                            "groupId": "g-1" });
        let reply = request(
            t.addr,
            "POST",
            &format!("/v1/{kind}"),
            &[("Content-Encoding", "gzip")],
            Some(&gzip(event.to_string().as_bytes())),
        )
        .await;
        assert_eq!(reply.status, 200, "/v1/{kind}: {}", reply.text());
    }
    let alias = json!({ "messageId": "s-alias", "userId": "u-enc", "previousId": "anon-enc" });
    let reply = request(
        t.addr,
        "POST",
        "/v1/alias",
        &[("Content-Encoding", "x-gzip")],
        Some(&gzip(alias.to_string().as_bytes())),
    )
    .await;
    assert_eq!(reply.status, 200, "/v1/alias: {}", reply.text());
    assert_eq!(t.events("").await.len(), cases.len() + 5);

    // The URL and the header saying gzip both: one layer of gzip, not two.
    let reply = request(
        t.addr,
        "POST",
        "/v1/batch?compression=gzip",
        &[("Content-Encoding", "gzip")],
        Some(&gzip(batch("b-both").as_bytes())),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text());
}

#[tokio::test]
async fn other_codings_get_415_naming_the_accepted_ones() {
    let t = TestServer::start().await;
    let body = json!({ "batch": [common::track("m-415", "anon-415", "E")] }).to_string();
    for (path, coding) in [
        ("/v1/batch", "br"),
        ("/v1/batch", "compress"),
        ("/v1/batch", "zstd"),
        ("/v1/batch", "gzip, gzip"),
        ("/v1/batch", "gzip, br"),
        ("/v1/track", "br"),
        ("/v1/identify", "snappy"),
    ] {
        let reply = request(
            t.addr,
            "POST",
            path,
            &[("Content-Encoding", coding)],
            Some(body.as_bytes()),
        )
        .await;
        assert_eq!(reply.status, 415, "{path} {coding}: {}", reply.text());
        let error = reply.json()["error"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        assert!(error.contains("Content-Encoding"), "{error}");
        assert!(error.contains("gzip"), "{error}");
        assert_eq!(reply.json()["field"], Value::Null);
        assert_eq!(
            reply.header("accept-encoding"),
            Some("gzip, deflate, identity"),
            "{path} {coding}"
        );
    }
    let reply = request(
        t.addr,
        "POST",
        "/v1/batch",
        &[("Content-Encoding", "br")],
        Some(body.as_bytes()),
    )
    .await;
    assert!(reply.json()["error"].as_str().unwrap().contains("'br'"));
    // The URL says gzip, the header deflate: which is it?
    let reply = request(
        t.addr,
        "POST",
        "/v1/batch?compression=gzip",
        &[("Content-Encoding", "deflate")],
        Some(&zlib(body.as_bytes())),
    )
    .await;
    assert_eq!(reply.status, 415, "{}", reply.text());
    assert!(t.events("").await.is_empty());
}

#[tokio::test]
async fn a_body_that_is_not_what_content_encoding_says_is_a_400() {
    let t = TestServer::start().await;
    let body = json!({ "batch": [common::track("m-400", "anon-400", "E")] }).to_string();
    for coding in ["gzip", "deflate"] {
        let reply = request(
            t.addr,
            "POST",
            "/v1/batch",
            &[("Content-Encoding", coding)],
            Some(body.as_bytes()),
        )
        .await;
        assert_eq!(reply.status, 400, "{coding}: {}", reply.text());
        let error = reply.json()["error"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        assert!(error.contains(&format!("not valid {coding}")), "{error}");
    }
    // A gzip stream cut short.
    let gz = gzip(body.as_bytes());
    let reply = request(
        t.addr,
        "POST",
        "/v1/batch",
        &[("Content-Encoding", "gzip")],
        Some(&gz[..gz.len() / 2]),
    )
    .await;
    assert_eq!(reply.status, 400, "{}", reply.text());
    assert!(t.events("").await.is_empty());
}

/// A batch whose JSON text is exactly `len` bytes long.
fn padded_batch(id: &str, len: usize) -> Vec<u8> {
    let empty = json!({ "batch": [common::track(id, "anon-cap", "E")], "pad": "" }).to_string();
    let text = json!({ "batch": [common::track(id, "anon-cap", "E")], "pad": "x".repeat(len - empty.len()) })
        .to_string();
    assert_eq!(text.len(), len);
    text.into_bytes()
}

#[tokio::test]
async fn the_inflated_body_may_be_16_times_max_body_and_no_more() {
    let t = TestServer::start_with(|o| o.max_body = 1000).await;
    let cap = 16 * 1000;
    for (path, query) in [
        ("/v1/batch", "Content-Encoding"),
        ("/v1/batch?compression=gzip", "url"),
    ] {
        let headers: &[(&str, &str)] = if query == "url" {
            &[]
        } else {
            &[("Content-Encoding", "gzip")]
        };
        let at_cap = gzip(&padded_batch(&format!("cap-{query}"), cap));
        assert!(at_cap.len() < 1000);
        let reply = request(t.addr, "POST", path, headers, Some(&at_cap)).await;
        assert_eq!(reply.status, 200, "{query}: {}", reply.text());

        let over = gzip(&padded_batch(&format!("over-{query}"), cap + 1));
        let reply = request(t.addr, "POST", path, headers, Some(&over)).await;
        assert_eq!(reply.status, 413, "{query}: {}", reply.text());
        let error = reply.json()["error"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        assert!(
            error.contains("16000 bytes") && error.contains("16 times --max-body"),
            "{error}"
        );
    }
    // Deflate and the single-event routes have the same cap.
    let mut big = common::track("over-single", "anon-cap", "E");
    big["properties"]["pad"] = json!("x".repeat(cap));
    let reply = request(
        t.addr,
        "POST",
        "/v1/track",
        &[("Content-Encoding", "deflate")],
        Some(&zlib(big.to_string().as_bytes())),
    )
    .await;
    assert_eq!(reply.status, 413, "{}", reply.text());
    assert_eq!(
        message_ids(&t.events("").await),
        ["cap-Content-Encoding", "cap-url"]
    );
}

/// The most memory this test process has held (`VmHWM`), in bytes.
fn peak_rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map(|kib| kib * 1024)
        .expect("VmHWM")
}

#[tokio::test]
async fn a_gzip_bomb_is_refused_while_inflating() {
    // A gzip body may hold several members, read one after the other: 1,024 copies of 1 MiB
    // of zeros gzipped make a body of about 1 MiB that inflates to 1 GiB.
    let t = TestServer::start_with(|o| o.max_body = 2 << 20).await;
    let member = gzip(&vec![0u8; 1 << 20]);
    let bomb = member.repeat(1024);
    assert!(bomb.len() < 2 << 20, "{} bytes", bomb.len());

    let began = Instant::now();
    let reply = request(
        t.addr,
        "POST",
        "/v1/batch",
        &[("Content-Encoding", "gzip")],
        Some(&bomb),
    )
    .await;
    let took = began.elapsed();
    assert_eq!(reply.status, 413, "{}", reply.text());
    assert!(
        reply.text().contains("33554432 bytes"),
        "16 x 2 MiB: {}",
        reply.text()
    );
    // Refused once 32 MiB are out, without inflating (or holding) the whole gigabyte: the
    // test process (server included) never held more than a few times the cap.
    let peak = peak_rss_bytes();
    eprintln!(
        "the bomb was refused in {took:?}; peak RSS {} MiB",
        peak >> 20
    );
    assert!(peak < 300 << 20, "peak RSS {} MiB", peak >> 20);
    assert!(took < Duration::from_secs(8), "{took:?}");
    assert_eq!(t.get("/health").await.status, 200);
}

#[tokio::test]
async fn cors_preflight_allows_content_encoding() {
    let t = TestServer::start().await;
    let preflight = request(
        t.addr,
        "OPTIONS",
        "/v1/batch",
        &[
            ("Origin", "https://shop.example"),
            ("Access-Control-Request-Method", "POST"),
            (
                "Access-Control-Request-Headers",
                "content-type,content-encoding",
            ),
        ],
        None,
    )
    .await;
    let allowed = preflight
        .header("access-control-allow-headers")
        .unwrap_or_default()
        .to_ascii_lowercase();
    assert!(allowed.contains("content-encoding"), "{allowed}");
}
