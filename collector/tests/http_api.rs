//! End-to-end tests of the HTTP API against a real in-process server.

mod common;

use std::time::Duration;

use common::{find, request, test_options, track, TestServer, ADMIN_BEARER, STEP};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn is_iso_millis(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 24
        && b[4] == b'-'
        && b[7] == b'-'
        && b[10] == b'T'
        && b[13] == b':'
        && b[16] == b':'
        && b[19] == b'.'
        && b[23] == b'Z'
        && s.chars()
            .enumerate()
            .all(|(i, c)| [4, 7, 10, 13, 16, 19, 23].contains(&i) || c.is_ascii_digit())
}

fn message_ids(events: &[Value]) -> Vec<&str> {
    events
        .iter()
        .map(|e| e["messageId"].as_str().unwrap_or("?"))
        .collect()
}

#[tokio::test]
async fn valid_batch_is_stored_and_read_back_with_filters() {
    let t = TestServer::start().await;
    let batch = json!({
        "batch": [
            track("m1", "anon-1", "Product Viewed"),
            { "type": "page", "messageId": "m2", "anonymousId": "anon-1", "name": "Home",
              "properties": { "path": "/" } },
            { "type": "identify", "messageId": "m3", "anonymousId": "anon-2", "userId": "user-9",
              "traits": { "email": "a@b.example" }, "sentAt": "2026-11-22T09:59:59.000Z" },
            track("m4", "anon-2", "Order Completed"),
        ],
        "sentAt": "2026-11-22T10:00:01.000Z",
        "writeKey": "demo"
    });
    let reply = t.post_json("/v1/batch", &batch).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(
        reply.json(),
        json!({"success": true, "accepted": 4, "duplicates": 0})
    );

    let all = t.events("").await;
    assert_eq!(message_ids(&all), ["m1", "m2", "m3", "m4"]);
    let seqs: Vec<i64> = all.iter().filter_map(|e| e["seq"].as_i64()).collect();
    assert_eq!(seqs.len(), 4);
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");
    for e in &all {
        let received = e["receivedAt"].as_str().unwrap_or_default();
        assert!(is_iso_millis(received), "receivedAt {received:?}");
    }
    // The batch's sentAt fills in, an event's own sentAt wins.
    assert_eq!(all[0]["sentAt"], "2026-11-22T10:00:01.000Z");
    assert_eq!(all[2]["sentAt"], "2026-11-22T09:59:59.000Z");
    assert_eq!(all[0]["properties"]["price"], 19.5);
    assert_eq!(all[0]["timestamp"], "2026-11-22T10:00:00.000Z");

    let full = t.get("/v1/events").await.json();
    assert_eq!(full["last"], json!(seqs[3]));

    assert_eq!(
        message_ids(&t.events("anonymousId=anon-1").await),
        ["m1", "m2"]
    );
    assert_eq!(message_ids(&t.events("userId=user-9").await), ["m3"]);
    assert_eq!(message_ids(&t.events("type=track").await), ["m1", "m4"]);
    assert_eq!(
        message_ids(&t.events("event=Order%20Completed").await),
        ["m4"]
    );
    assert_eq!(
        message_ids(&t.events("type=track&anonymousId=anon-2").await),
        ["m4"]
    );
    assert!(t.events("anonymousId=nobody").await.is_empty());

    let page = t.get("/v1/events?limit=2").await.json();
    assert_eq!(
        message_ids(page["events"].as_array().expect("array")),
        ["m1", "m2"]
    );
    assert_eq!(page["last"], json!(seqs[1]));
    let after = t.events(&format!("after={}", seqs[1])).await;
    assert_eq!(message_ids(&after), ["m3", "m4"]);
    let empty = t.get(&format!("/v1/events?after={}", seqs[3])).await.json();
    assert_eq!(empty, json!({"events": [], "last": null}));
    let newest = t.events("order=desc&limit=2").await;
    assert_eq!(message_ids(&newest), ["m4", "m3"]);

    for bad in ["limit=abc", "limit=0", "limit=10001", "limit=-5"] {
        let reply = t.get(&format!("/v1/events?{bad}")).await;
        assert_eq!(reply.status, 400, "{bad}");
        assert_eq!(reply.json()["field"], "limit", "{bad}");
        assert!(reply.json()["error"].is_string());
    }
    assert_eq!(t.get("/v1/events?limit=10000").await.status, 200);
    assert_eq!(t.get("/v1/events?after=x").await.json()["field"], "after");
}

#[tokio::test]
async fn repeated_message_id_is_a_duplicate() {
    let t = TestServer::start().await;
    let body = json!({ "batch": [track("dup-1", "a", "Cart Viewed")] });
    let first = t.post_json("/v1/batch", &body).await;
    assert_eq!(
        first.json(),
        json!({"success": true, "accepted": 1, "duplicates": 0})
    );
    let second = t.post_json("/v1/batch", &body).await;
    assert_eq!(second.status, 200);
    assert_eq!(
        second.json(),
        json!({"success": true, "accepted": 0, "duplicates": 1})
    );
    assert_eq!(t.events("").await.len(), 1);

    // Repeats inside one batch count too.
    let body = json!({ "batch": [track("dup-2", "a", "X"), track("dup-2", "a", "X"), track("dup-1", "a", "Y")] });
    let third = t.post_json("/v1/batch", &body).await;
    assert_eq!(
        third.json(),
        json!({"success": true, "accepted": 1, "duplicates": 2})
    );
    let stored = t.events("").await;
    assert_eq!(message_ids(&stored), ["dup-1", "dup-2"]);
    assert_eq!(stored[0]["event"], "Cart Viewed");
}

#[tokio::test]
async fn invalid_event_rejects_the_whole_batch_naming_field_and_index() {
    let t = TestServer::start().await;
    let body = json!({
        "batch": [
            track("ok-1", "a", "Fine"),
            { "type": "track", "messageId": "bad-1", "anonymousId": "a" },
        ]
    });
    let reply = t.post_json("/v1/batch", &body).await;
    assert_eq!(reply.status, 400);
    assert_eq!(reply.header("content-type"), Some("application/json"));
    let err = reply.json();
    assert_eq!(err["field"], "batch[1].event");
    assert!(
        err["error"].as_str().is_some_and(|s| !s.is_empty()),
        "{err}"
    );
    assert!(t.events("").await.is_empty(), "nothing may be stored");

    let cases = [
        (
            json!({"batch": [track("a", "x", "E"), track("b", "x", "E"), {"type":"page","messageId":"","userId":"u"}]}),
            "batch[2].messageId",
        ),
        (
            json!({"batch": [{"type":"track","messageId":"m","event":"E"}]}),
            "batch[0].anonymousId",
        ),
        (
            json!({"batch": [{"type":"click","messageId":"m","userId":"u"}]}),
            "batch[0].type",
        ),
        (
            json!({"batch": [{"type":"alias","messageId":"m","userId":"u"}]}),
            "batch[0].previousId",
        ),
        (
            json!({"batch": [{"type":"page","messageId":"m","userId":"u","properties":"no"}]}),
            "batch[0].properties",
        ),
        (json!({"batch": []}), "batch"),
        (json!({"events": []}), "batch"),
    ];
    for (body, field) in cases {
        let reply = t.post_json("/v1/batch", &body).await;
        assert_eq!(reply.status, 400, "{body}");
        assert_eq!(reply.json()["field"], field, "{body}");
    }
    let too_many: Vec<Value> = (0..2501)
        .map(|i| json!({"type":"page","messageId":format!("p{i}"),"userId":"u"}))
        .collect();
    let reply = t
        .post_json("/v1/batch", &json!({ "batch": too_many }))
        .await;
    assert_eq!(reply.status, 400);
    assert_eq!(reply.json()["field"], "batch");
    assert!(t.events("").await.is_empty());
}

#[tokio::test]
async fn malformed_json_is_a_400_with_null_field() {
    let t = TestServer::start().await;
    for (body, content_type) in [
        (&b"{\"batch\": [}"[..], Some("application/json")),
        (b"not json at all", Some("text/plain")),
        (b"", None),
    ] {
        let headers: Vec<(&str, &str)> = content_type
            .map(|c| ("Content-Type", c))
            .into_iter()
            .collect();
        let reply = request(t.addr, "POST", "/v1/batch", &headers, Some(body)).await;
        assert_eq!(reply.status, 400, "{}", reply.text());
        let err = reply.json();
        assert!(
            err["error"]
                .as_str()
                .is_some_and(|s| s.starts_with("body is not valid JSON: ")),
            "{err}"
        );
        assert_eq!(err["field"], Value::Null);
    }
    // Without a Content-Type the body is still read as JSON.
    let body = json!({"batch": [track("ct-1", "a", "E")]}).to_string();
    let reply = request(t.addr, "POST", "/v1/batch", &[], Some(body.as_bytes())).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
}

#[tokio::test]
async fn body_over_max_body_is_413_json() {
    let t = TestServer::start_with(|o| o.max_body = 1024).await;
    let padding = "x".repeat(2000);
    let body = json!({"batch": [{"type":"track","messageId":"big","anonymousId":"a","event":"E","properties":{"pad": padding}}]}).to_string();

    // Declared length.
    let reply = request(
        t.addr,
        "POST",
        "/v1/batch",
        &[("Content-Type", "application/json")],
        Some(body.as_bytes()),
    )
    .await;
    assert_eq!(reply.status, 413, "{}", reply.text());
    assert_eq!(reply.json()["field"], Value::Null);
    assert!(reply.json()["error"]
        .as_str()
        .is_some_and(|s| s.contains("1024")));

    // Streamed without a length.
    let reply = request(
        t.addr,
        "POST",
        "/v1/track",
        &[("Transfer-Encoding", "chunked")],
        Some(body.as_bytes()),
    )
    .await;
    assert_eq!(reply.status, 413, "{}", reply.text());
    assert!(reply.json()["error"].is_string());

    // Announced with Expect: 100-continue, rejected before the body is sent.
    let reply = request(
        t.addr,
        "POST",
        "/v1/batch",
        &[("Expect", "100-continue"), ("Content-Length", "5000000")],
        None,
    )
    .await;
    assert_eq!(reply.status, 413);

    // At the limit is fine.
    let small = json!({"batch": [track("small", "a", "E")]}).to_string();
    assert!(small.len() < 1024);
    let reply = request(t.addr, "POST", "/v1/batch", &[], Some(small.as_bytes())).await;
    assert_eq!(reply.status, 200);
    assert_eq!(message_ids(&t.events("").await), ["small"]);
}

#[tokio::test]
async fn cors_allows_every_origin_by_default() {
    let t = TestServer::start().await;
    let preflight = request(
        t.addr,
        "OPTIONS",
        "/v1/batch",
        &[
            ("Origin", "https://shop.example"),
            ("Access-Control-Request-Method", "POST"),
            ("Access-Control-Request-Headers", "content-type"),
        ],
        None,
    )
    .await;
    assert!(
        (200..300).contains(&preflight.status),
        "{}",
        preflight.status
    );
    assert_eq!(preflight.header("access-control-allow-origin"), Some("*"));
    let methods = preflight
        .header("access-control-allow-methods")
        .unwrap_or_default()
        .to_ascii_uppercase();
    for m in ["GET", "POST", "OPTIONS"] {
        assert!(methods.contains(m), "{methods}");
    }
    let allowed_headers = preflight
        .header("access-control-allow-headers")
        .unwrap_or_default()
        .to_ascii_lowercase();
    assert!(allowed_headers.contains("content-type") && allowed_headers.contains("authorization"));

    let body = json!({"batch": [track("c1", "a", "E")]}).to_string();
    let reply = request(
        t.addr,
        "POST",
        "/v1/batch",
        &[("Origin", "https://shop.example")],
        Some(body.as_bytes()),
    )
    .await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("access-control-allow-origin"), Some("*"));
    assert_eq!(
        reply
            .header("access-control-expose-headers")
            .map(str::to_ascii_lowercase)
            .as_deref(),
        Some("retry-after")
    );
}

#[tokio::test]
async fn cors_with_allow_origin_refuses_foreign_origins() {
    let t = TestServer::start_with(|o| o.allow_origins = vec!["https://shop.example".into()]).await;
    let addr = t.addr;
    let preflight = |origin: &'static str| async move {
        request(
            addr,
            "OPTIONS",
            "/v1/batch",
            &[
                ("Origin", origin),
                ("Access-Control-Request-Method", "POST"),
            ],
            None,
        )
        .await
    };
    let ok = preflight("https://shop.example").await;
    assert_eq!(
        ok.header("access-control-allow-origin"),
        Some("https://shop.example")
    );
    let foreign = preflight("https://evil.example").await;
    assert_eq!(foreign.header("access-control-allow-origin"), None);

    let body = json!({"batch": [track("c2", "a", "E")]}).to_string();
    let reply = request(
        t.addr,
        "POST",
        "/v1/batch",
        &[("Origin", "https://evil.example")],
        Some(body.as_bytes()),
    )
    .await;
    assert_eq!(reply.header("access-control-allow-origin"), None);
}

#[tokio::test]
async fn single_event_endpoints() {
    let t = TestServer::start().await;
    let reply = t
        .post_json("/v1/track", &json!({"messageId": "t1", "anonymousId": "a", "event": "Added to Cart", "writeKey": "k"}))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(
        reply.json(),
        json!({"success": true, "accepted": 1, "duplicates": 0})
    );
    let again = t.post_json("/v1/track", &json!({"type": "track", "messageId": "t1", "anonymousId": "a", "event": "Added to Cart"})).await;
    assert_eq!(again.json()["duplicates"], 1);

    let reply = t
        .post_json(
            "/v1/identify",
            &json!({"messageId": "i1", "userId": "u1", "traits": {"plan": "pro"}}),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    let reply = t
        .post_json(
            "/v1/alias",
            &json!({"messageId": "al1", "userId": "u1", "previousId": "a"}),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text());

    let stored = t.events("").await;
    assert_eq!(message_ids(&stored), ["t1", "i1", "al1"]);
    assert_eq!(stored[0]["type"], "track");
    assert_eq!(stored[0].get("writeKey"), None);
    assert_eq!(stored[1]["type"], "identify");

    let wrong = t
        .post_json(
            "/v1/track",
            &json!({"type": "page", "messageId": "t2", "anonymousId": "a"}),
        )
        .await;
    assert_eq!(wrong.status, 400);
    assert_eq!(wrong.json()["field"], "type");
    let missing = t
        .post_json("/v1/track", &json!({"messageId": "t3", "anonymousId": "a"}))
        .await;
    assert_eq!(missing.json()["field"], "event");
    let no_id = t.post_json("/v1/page", &json!({"anonymousId": "a"})).await;
    assert_eq!(no_id.json()["field"], "messageId");
    assert_eq!(t.events("").await.len(), 3);
}

#[tokio::test]
async fn data_survives_a_restart_on_the_same_db() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = common::fresh_db(dir.path()).await;

    let first = shoptrail_collector::start(test_options(&db))
        .await
        .expect("start");
    let body = json!({"batch": [track("p1", "a", "E"), track("p2", "b", "F")]}).to_string();
    let reply = request(
        first.local_addr(),
        "POST",
        "/v1/batch",
        &[],
        Some(body.as_bytes()),
    )
    .await;
    assert_eq!(reply.status, 200);
    tokio::time::timeout(STEP, first.shutdown())
        .await
        .expect("stops in time")
        .expect("clean stop");

    let second = shoptrail_collector::start(test_options(&db))
        .await
        .expect("restart");
    let addr = second.local_addr();
    let events = request(
        addr,
        "GET",
        "/v1/events",
        &[("Authorization", ADMIN_BEARER)],
        None,
    )
    .await
    .json();
    assert_eq!(
        message_ids(events["events"].as_array().expect("array")),
        ["p1", "p2"]
    );
    let again = request(addr, "POST", "/v1/batch", &[], Some(body.as_bytes()))
        .await
        .json();
    assert_eq!(
        again,
        json!({"success": true, "accepted": 0, "duplicates": 2})
    );
    second.shutdown().await.expect("clean stop");
}

#[tokio::test]
async fn live_stream_sends_new_events_and_ends_on_shutdown() {
    let t = TestServer::start().await;
    let mut stream = TcpStream::connect(t.addr).await.expect("connect");
    stream
        .write_all(
            format!(
                "GET /_shoptrail/stream HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\
                 Authorization: {ADMIN_BEARER}\r\n\r\n"
            )
            .as_bytes(),
        )
        .await
        .expect("write");
    let mut seen = Vec::new();
    let head_end = read_until(&mut stream, &mut seen, 0, b"\r\n\r\n").await;
    let head = String::from_utf8_lossy(&seen[..head_end]).to_ascii_lowercase();
    assert!(head.starts_with("http/1.1 200"), "{head}");
    assert!(head.contains("content-type: text/event-stream"), "{head}");

    // Wait until the stream is set up before posting.
    let hello_end = read_until(&mut stream, &mut seen, head_end, b"retry:").await;
    let body = json!({"batch": [track("live-1", "a", "Live"), track("live-1", "a", "Live")]});
    assert_eq!(t.post_json("/v1/batch", &body).await.status, 200);
    let data_at = read_until(&mut stream, &mut seen, hello_end, b"live-1").await;
    read_until(&mut stream, &mut seen, data_at, b"\n\n").await;
    let text = String::from_utf8_lossy(&seen).into_owned();
    let data_line = text
        .lines()
        .find(|l| l.contains("live-1"))
        .expect("data line");
    let json_text = &data_line[data_line.find('{').expect("json")..];
    let event: Value = serde_json::from_str(json_text).expect("event JSON");
    assert_eq!(event["event"], "Live");
    assert!(event["seq"].as_i64().is_some());
    assert_eq!(
        text.matches("live-1").count(),
        1,
        "duplicates are not streamed"
    );

    // Shutting down ends the open stream instead of hanging.
    tokio::time::timeout(STEP, t.server.shutdown())
        .await
        .expect("shutdown does not wait for the stream")
        .expect("clean stop");
}

/// Reads from `stream` into `buf` until `needle` occurs at or after `from`;
/// returns the index just past the match.
async fn read_until(
    stream: &mut TcpStream,
    buf: &mut Vec<u8>,
    from: usize,
    needle: &[u8],
) -> usize {
    tokio::time::timeout(STEP, async {
        let mut chunk = [0u8; 4096];
        loop {
            if let Some(at) = buf.get(from..).and_then(|b| find(b, needle)) {
                return from + at + needle.len();
            }
            let n = stream.read(&mut chunk).await.expect("read");
            assert!(
                n > 0,
                "stream closed early: {}",
                String::from_utf8_lossy(buf)
            );
            buf.extend_from_slice(&chunk[..n]);
        }
    })
    .await
    .unwrap_or_else(|_| {
        panic!(
            "timed out waiting for {:?} in {:?}",
            String::from_utf8_lossy(needle),
            String::from_utf8_lossy(buf)
        )
    })
}

#[tokio::test]
async fn static_files_live_page_health_and_json_404() {
    let site = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(site.path().join("pkg/sub")).expect("mkdir");
    std::fs::write(site.path().join("index.html"), "<h1>store</h1>").expect("write");
    std::fs::write(
        site.path().join("pkg/shoptrail_bg.wasm"),
        b"\0asm\x01\0\0\0",
    )
    .expect("write");
    std::fs::write(site.path().join("pkg/shoptrail.js"), "export {};").expect("write");
    std::fs::write(site.path().join("pkg/sub/index.html"), "sub").expect("write");
    let root = site.path().to_path_buf();
    let t = TestServer::start_with(move |o| {
        o.statics = vec![
            shoptrail_collector::StaticMount::parse(&format!(
                "/dist={}",
                root.join("pkg").display()
            ))
            .expect("mount"),
            shoptrail_collector::StaticMount::parse(&root.display().to_string()).expect("mount"),
        ];
    })
    .await;

    let index = t.get("/").await;
    assert_eq!(index.status, 200);
    assert_eq!(index.text(), "<h1>store</h1>");
    let wasm = t.get("/dist/shoptrail_bg.wasm").await;
    assert_eq!(wasm.status, 200);
    assert_eq!(wasm.header("content-type"), Some("application/wasm"));
    assert_eq!(wasm.body, b"\0asm\x01\0\0\0");
    let js = t.get("/dist/shoptrail.js").await;
    assert_eq!(js.header("content-type"), Some("text/javascript"));
    assert_eq!(t.get("/dist/sub/").await.text(), "sub");
    let redirect = t.get("/dist/sub").await;
    assert!((300..400).contains(&redirect.status));
    assert_eq!(redirect.header("location"), Some("/dist/sub/"));
    assert_eq!(t.get("/dist").await.header("location"), Some("/dist/"));

    let missing = t.get("/dist/nope.js").await;
    assert_eq!(missing.status, 404);
    assert_eq!(missing.json()["field"], Value::Null);

    let health = t.get("/health").await;
    assert_eq!((health.status, health.text().as_str()), (200, "ok"));

    let live = t.get("/_shoptrail/").await;
    assert_eq!(live.status, 200);
    assert!(live
        .header("content-type")
        .is_some_and(|c| c.starts_with("text/html")));
    let html = live.text();
    // The stream is read with fetch, which sends the admin token (an EventSource cannot).
    assert!(html.contains("fetch(\"stream\", { headers: shoptrailAuth()"));
    assert!(html.contains("/v1/events") && html.contains("Authorization: \"Bearer \""));
    assert!(
        !html.contains("innerHTML"),
        "the page must not use innerHTML"
    );
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "no external assets"
    );
}

#[tokio::test]
async fn unknown_paths_and_methods_get_json_errors() {
    let t = TestServer::start().await;
    let reply = t.get("/nowhere").await;
    assert_eq!(reply.status, 404);
    assert!(reply.json()["error"].is_string());
    let reply = request(t.addr, "POST", "/v1/nowhere", &[], Some(b"{}")).await;
    assert_eq!(reply.status, 404);
    assert!(reply.json()["error"].is_string());
    let reply = t.get("/v1/batch").await;
    assert_eq!(reply.status, 405);
    assert!(reply.json()["error"].is_string());
}

#[tokio::test]
async fn concurrent_batches_are_all_stored() {
    let t = TestServer::start().await;
    let mut tasks = Vec::new();
    for worker in 0..8 {
        let addr = t.addr;
        tasks.push(tokio::spawn(async move {
            let events: Vec<Value> = (0..50)
                .map(|i| track(&format!("w{worker}-{i}"), &format!("anon-{worker}"), "Load"))
                .collect();
            let body = json!({ "batch": events }).to_string();
            request(addr, "POST", "/v1/batch", &[], Some(body.as_bytes()))
                .await
                .json()
        }));
    }
    for task in tasks {
        let reply = tokio::time::timeout(Duration::from_secs(30), task)
            .await
            .expect("in time")
            .expect("task");
        assert_eq!(reply["accepted"], 50, "{reply}");
    }
    assert_eq!(t.events("limit=10000").await.len(), 400);
    assert_eq!(t.events("anonymousId=anon-3").await.len(), 50);
}

#[tokio::test]
async fn gzip_bodies_said_in_the_url_are_inflated() {
    use std::io::Write;
    let server = TestServer::start().await;
    let body = json!({ "batch": [track("gz-1", "anon-gz", "Gz"), track("gz-2", "anon-gz", "Gz")] })
        .to_string();
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(body.as_bytes()).unwrap();
    let gz = enc.finish().unwrap();
    assert!(gz.len() < body.len());
    let reply = request(
        server.addr,
        "POST",
        "/v1/batch?compression=gzip",
        &[],
        Some(&gz),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.json()["accepted"], 2);
    assert_eq!(server.events("anonymousId=anon-gz").await.len(), 2);
    // Not gzip, though the URL says so: a clear 400, nothing stored.
    let bad = request(
        server.addr,
        "POST",
        "/v1/batch?compression=gzip",
        &[],
        Some(body.as_bytes()),
    )
    .await;
    assert_eq!(bad.status, 400);
    assert!(bad.text().contains("not valid gzip"), "{}", bad.text());
}

#[tokio::test]
async fn id_cookie_is_set_by_the_server_on_the_sites_own_domain() {
    // Behind the shop's https proxy (this machine), whose X-Forwarded-Proto is believed.
    let t = TestServer::start_with(|o| {
        o.trusted_proxies = vec![shoptrail_collector::Trusted::parse("127.0.0.1").unwrap()]
    })
    .await;
    let form = "application/x-www-form-urlencoded";
    let aid = "5f0c8a4e-1b2d-4c3e-9f00-0000000000aa";
    let post = |headers: Vec<(&'static str, &'static str)>, body: String| {
        let addr = t.addr;
        async move {
            let mut h = vec![("Content-Type", form)];
            h.extend(headers);
            request(addr, "POST", "/v1/id-cookie", &h, Some(body.as_bytes())).await
        }
    };
    let r = post(
        vec![
            ("Host", "www.shop.example:8080"),
            ("X-Forwarded-Proto", "https"),
        ],
        format!("anonymousId={aid}&domain=shop.example"),
    )
    .await;
    assert_eq!(r.status, 204, "{}", r.text());
    assert_eq!(
        r.header("set-cookie"),
        Some(
            format!(
                "shoptrail_aid={aid}; Path=/; Max-Age=34560000; SameSite=Lax; Domain=shop.example; Secure"
            )
            .as_str()
        )
    );
    assert_eq!(r.header("cache-control"), Some("no-store"));
    // Host-only (no domain), over plain http: no Domain, no Secure, never HttpOnly.
    let r = post(vec![], format!("anonymousId={aid}&domain=")).await;
    assert_eq!(r.status, 204);
    let c = r.header("set-cookie").unwrap();
    assert!(
        !c.contains("Domain") && !c.contains("Secure") && !c.contains("HttpOnly"),
        "{c}"
    );
    // Refused: another site's domain, a value that would break the header, no id at all.
    for (headers, body, field) in [
        (
            vec![("Host", "www.shop.example")],
            format!("anonymousId={aid}&domain=evil.example"),
            "domain",
        ),
        (
            vec![("Host", "www.shop.example")],
            format!("anonymousId={aid}&domain=example"),
            "domain",
        ),
        (
            vec![],
            "anonymousId=a%3Bb&domain=".to_string(),
            "anonymousId",
        ),
        (vec![], "domain=".to_string(), "anonymousId"),
    ] {
        let r = post(headers, body.clone()).await;
        assert_eq!(r.status, 400, "{body}");
        assert_eq!(r.json()["field"], field, "{body}: {}", r.text());
        assert_eq!(r.header("set-cookie"), None);
    }
}

#[tokio::test]
async fn id_cookie_refuses_requests_from_another_site() {
    let t = TestServer::start().await;
    let body = "anonymousId=5f0c8a4e-1b2d-4c3e-9f00-0000000000bb&domain=shop.example";
    let post = |headers: Vec<(&'static str, &'static str)>| {
        let addr = t.addr;
        async move {
            let mut h = vec![
                ("Content-Type", "application/x-www-form-urlencoded"),
                ("Host", "www.shop.example"),
            ];
            h.extend(headers);
            request(addr, "POST", "/v1/id-cookie", &h, Some(body.as_bytes())).await
        }
    };
    // The SDK's own request (a page of the shop), as browsers label it, or by its Origin alone
    // where a browser sends no Sec-Fetch-Site; a server's call sends neither.
    for headers in [
        vec![("Sec-Fetch-Site", "same-origin")],
        vec![
            ("Sec-Fetch-Site", "same-site"),
            ("Origin", "https://shop.example"),
        ],
        vec![("Origin", "https://www.shop.example")],
        vec![("Origin", "https://shop.example:8443")],
        vec![("Origin", "https://checkout.www.shop.example")],
        vec![],
    ] {
        let r = post(headers.clone()).await;
        assert_eq!(r.status, 204, "{headers:?}: {}", r.text());
    }
    // A hostile page's form post or fetch: refused, and no cookie.
    for headers in [
        vec![
            ("Sec-Fetch-Site", "cross-site"),
            ("Origin", "https://evil.example"),
        ],
        vec![("Sec-Fetch-Site", "cross-site")],
        vec![("Origin", "https://evil.example")],
        vec![("Origin", "https://notshop.example")],
        vec![("Origin", "null")],
    ] {
        let r = post(headers.clone()).await;
        assert_eq!(r.status, 403, "{headers:?}: {}", r.text());
        assert!(r.text().contains("another site"), "{}", r.text());
        assert_eq!(r.header("set-cookie"), None);
    }
}

/// A profile's anonymous ids, sorted.
fn anonymous_ids(profile: &Value) -> Vec<String> {
    let mut ids: Vec<String> = profile["ids"]["anonymousIds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    ids.sort();
    ids
}

fn ev(kind: &str, id: &str, anon: &str, user: Option<&str>, extra: Value) -> Value {
    let mut e = json!({ "type": kind, "messageId": id, "anonymousId": anon,
        "timestamp": format!("2026-11-22T10:00:{:02}.000Z", id.len()),
        "context": { "userAgent": format!("Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0 {anon}") } });
    if let Some(u) = user {
        e["userId"] = json!(u);
    }
    for (k, v) in extra.as_object().unwrap() {
        e[k] = v.clone();
    }
    e
}

#[tokio::test]
async fn profiles_stitch_devices_and_never_two_users() {
    const TOKEN: &str = "test-admin-token-0123456789";
    let t = TestServer::start_with(|o| o.admin_token = Some(TOKEN.into())).await;
    let auth = [("Authorization", "Bearer test-admin-token-0123456789")];
    let get = |path: String| {
        let addr = t.addr;
        async move { request(addr, "GET", &path, &auth, None).await }
    };
    // Device A browses and fills a cart anonymously.
    let batch = json!({ "batch": [
        ev("page", "a-1", "dev-a", None, json!({ "context": { "userAgent": "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Safari/605.1.15", "campaign": { "source": "google", "medium": "cpc" } } })),
        ev("track", "a-2", "dev-a", None, json!({ "event": "Product Added", "properties": { "cart_id": "c1", "product_id": "mug", "quantity": 2, "price": 24 } })),
        ev("track", "a-3", "dev-a", None, json!({ "event": "Product Added", "properties": { "cart_id": "c1", "product_id": "tea", "price": 9 } })),
        ev("track", "a-4", "dev-a", None, json!({ "event": "Product Removed", "properties": { "cart_id": "c1", "product_id": "mug", "quantity": 1 } })),
    ]});
    assert_eq!(t.post_json("/v1/batch", &batch).await.status, 200);
    // Device B logs in; later device A gives the same email (any case): one person.
    let batch = json!({ "batch": [
        ev("identify", "b-1", "dev-b", Some("u-1"), json!({ "traits": { "email": "Ada@Example.com", "plan": "free" }, "context": { "userAgent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1", "campaign": { "source": "newsletter", "medium": "email" } } })),
        ev("track", "b-2", "dev-b", Some("u-1"), json!({ "event": "Order Completed", "properties": { "order_id": "o-1", "total": 33, "currency": "USD" } })),
        ev("identify", "a-5", "dev-a", None, json!({ "traits": { "email": "ada@example.com ", "plan": "pro" } })),
    ]});
    assert_eq!(t.post_json("/v1/batch", &batch).await.status, 200);
    let r = get("/v1/profiles/u-1".into()).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let p = r.json();
    assert_eq!(p["ids"]["userId"], "u-1");
    let anon = anonymous_ids(&p);
    assert_eq!(anon, ["dev-a", "dev-b"]);
    assert_eq!(p["devices"].as_array().unwrap().len(), 2);
    assert_eq!(p["traits"]["plan"], "pro", "latest wins");
    assert_eq!(p["traitSources"]["plan"]["anonymousId"], "dev-a");
    assert_eq!(p["cart"]["cart_id"], "c1");
    let lines: Vec<(String, i64)> = p["cart"]["products"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["product_id"].as_str().unwrap().to_string(),
                l["quantity"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(lines, [("mug".to_string(), 1), ("tea".to_string(), 1)]);
    assert_eq!(p["orders"][0]["order_id"], "o-1");
    assert_eq!(p["firstTouch"]["source"], "google");
    assert_eq!(p["lastTouch"]["source"], "newsletter");
    assert_eq!(p["channels"], json!(["web", "cpc", "email"]));
    // The timeline spans both devices, newest first, before the login too (retroactive).
    assert_eq!(p["events"], 7);
    let seqs: Vec<i64> = p["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["seq"].as_i64().unwrap())
        .collect();
    assert!(seqs.windows(2).all(|w| w[0] > w[1]), "{seqs:?}");
    let page = get("/v1/profiles/dev-a?limit=3".into()).await.json();
    assert_eq!(page["timeline"].as_array().unwrap().len(), 3);
    let next = page["nextBefore"].as_i64().unwrap();
    let rest = get(format!(
        "/v1/profiles/ADA@example.com?limit=10&before={next}"
    ))
    .await
    .json();
    assert_eq!(rest["timeline"].as_array().unwrap().len(), 4);
    // Search by email or user id.
    let found = get("/v1/profiles?q=ada%40example.com".into()).await.json();
    assert_eq!(found["profiles"][0]["userId"], "u-1");

    // A shared computer: device C was u-2's, then says it is u-1: refused, recorded.
    let batch = json!({ "batch": [
        ev("identify", "c-1", "dev-c", Some("u-2"), json!({})),
        ev("track", "c-2", "dev-c", Some("u-1"), json!({ "event": "Oops" })),
    ]});
    assert_eq!(t.post_json("/v1/batch", &batch).await.status, 200);
    let c = get("/v1/identity/conflicts".into()).await.json();
    assert_eq!(c["conflicts"][0]["messageId"], "c-2");
    assert_eq!(c["conflicts"][0]["users"], json!(["u-2", "u-1"]));
    let u2 = get("/v1/profiles/u-2".into()).await.json();
    assert_eq!(u2["ids"]["anonymousIds"], json!(["dev-c"]));
    let u1 = get("/v1/profiles/u-1".into()).await.json();
    assert!(!u1["ids"]["anonymousIds"]
        .as_array()
        .unwrap()
        .contains(&json!("dev-c")));

    // Admin only.
    let r = request(
        t.addr,
        "GET",
        "/v1/profiles/u-1",
        &[("Authorization", "Bearer wrong")],
        None,
    )
    .await;
    assert_eq!(r.status, 401);
    assert_eq!(get("/v1/profiles/nobody".into()).await.status, 404);
    let off = TestServer::start_with(|o| o.admin_token = None).await;
    let r = request(off.addr, "GET", "/v1/identity/conflicts", &auth, None).await;
    assert_eq!(r.status, 403);
}

#[tokio::test]
async fn link_tokens_join_a_device_once_and_count_what_they_cannot() {
    const TOKEN: &str = "test-admin-token-0123456789";
    let t = TestServer::start_with(|o| o.admin_token = Some(TOKEN.into())).await;
    let auth = ("Authorization", "Bearer test-admin-token-0123456789");
    let post = |path: &'static str, body: Value| {
        let addr = t.addr;
        async move {
            let text = body.to_string();
            request(
                addr,
                "POST",
                path,
                &[auth, ("Content-Type", "application/json")],
                Some(text.as_bytes()),
            )
            .await
        }
    };
    let issued = post(
        "/v1/link-tokens",
        json!({ "email": "Ada@Example.com", "channel": "email", "campaign": "abandoned-cart" }),
    )
    .await;
    assert_eq!(issued.status, 201, "{}", issued.text());
    let token = issued.json()["token"].as_str().unwrap().to_string();
    assert!(
        token.len() >= 22
            && token
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
        "{token}"
    );
    // The person is known by email on device A.
    let batch = json!({ "batch": [
        ev("identify", "a-1", "dev-a", None, json!({ "traits": { "email": "ada@example.com" } })),
        // Device B opens the email's link: the SDK's identify with the token.
        ev("identify", "b-1", "dev-b", None, json!({ "context": { "linkToken": token.clone() } })),
        ev("identify", "x-1", "dev-x", None, json!({ "context": { "linkToken": "never-issued-token-0000" } })),
    ]});
    assert_eq!(t.post_json("/v1/batch", &batch).await.status, 200);
    let p = request(t.addr, "GET", "/v1/profiles/ada@example.com", &[auth], None)
        .await
        .json();
    let anon = anonymous_ids(&p);
    assert_eq!(anon, ["dev-a", "dev-b"]);
    assert!(p["channels"].as_array().unwrap().contains(&json!("email")));
    assert_eq!(p["lastTouch"]["name"], "abandoned-cart");
    // An expired token joins nothing and is counted.
    let old = post(
        "/v1/link-tokens",
        json!({ "userId": "u-9", "channel": "sms", "ttl": 60 }),
    )
    .await
    .json();
    common::execute(
        &t.db,
        "UPDATE link_tokens SET expires_at = 0 WHERE user_id = 'u-9'",
    )
    .await;
    let batch = json!({ "batch": [ev("identify", "c-1", "dev-c", None, json!({ "context": { "linkToken": old["token"] } }))] });
    assert_eq!(t.post_json("/v1/batch", &batch).await.status, 200);
    assert_eq!(
        request(t.addr, "GET", "/v1/profiles/u-9", &[auth], None)
            .await
            .status,
        404
    );
    // One token on 100 devices at most (a forwarded email); the same device again is fine.
    let wide = post(
        "/v1/link-tokens",
        json!({ "userId": "u-7", "channel": "push", "maxDevices": 100 }),
    )
    .await
    .json();
    let events: Vec<Value> = (0..102)
        .map(|i| {
            ev(
                "identify",
                &format!("w-{i}"),
                &format!("dev-w{}", i.min(100)),
                None,
                json!({ "context": { "linkToken": wide["token"] } }),
            )
        })
        .collect();
    assert_eq!(
        t.post_json("/v1/batch", &json!({ "batch": events }))
            .await
            .status,
        200
    );
    let p7 = request(t.addr, "GET", "/v1/profiles/u-7", &[auth], None)
        .await
        .json();
    assert_eq!(p7["ids"]["anonymousIds"].as_array().unwrap().len(), 100);
    let stats = request(t.addr, "GET", "/v1/link-tokens", &[auth], None)
        .await
        .json();
    assert_eq!(
        stats["misses"],
        json!({ "unknown": 1, "expired": 1, "overused": 2 })
    );
    // Bad requests name the field; tokens are for admins only.
    let bad = post("/v1/link-tokens", json!({ "channel": "email" })).await;
    assert_eq!(
        (bad.status, bad.json()["field"].clone()),
        (400, json!("userId"))
    );
    let bad = post(
        "/v1/link-tokens",
        json!({ "userId": "u", "channel": "e mail" }),
    )
    .await;
    assert_eq!(bad.json()["field"], "channel");
    let r = request(
        t.addr,
        "POST",
        "/v1/link-tokens",
        &[("Content-Type", "application/json")],
        Some(b"{\"userId\":\"u\",\"channel\":\"email\"}"),
    )
    .await;
    assert_eq!(r.status, 401);
    let bad = post(
        "/v1/link-tokens",
        json!({ "userId": "u", "channel": "email", "maxDevices": 101 }),
    )
    .await;
    assert_eq!(bad.json()["field"], "maxDevices");
}

#[tokio::test]
async fn link_tokens_are_never_stored_join_five_devices_and_can_be_revoked() {
    let t = TestServer::start().await;
    let issue = |body: Value| {
        let addr = t.addr;
        async move {
            let text = body.to_string();
            request(
                addr,
                "POST",
                "/v1/link-tokens",
                &[
                    ("Authorization", ADMIN_BEARER),
                    ("Content-Type", "application/json"),
                ],
                Some(text.as_bytes()),
            )
            .await
            .json()
        }
    };
    let issued = issue(json!({ "userId": "u-5", "channel": "sms" })).await;
    let (token, id) = (
        issued["token"].as_str().unwrap(),
        issued["id"].as_str().unwrap(),
    );
    let events: Vec<Value> = (0..7)
        .map(|i| {
            ev(
                "identify",
                &format!("five-{i}"),
                &format!("dev-five-{i}"),
                None,
                json!({ "context": { "linkToken": token } }),
            )
        })
        .collect();
    assert_eq!(
        t.post_json("/v1/batch", &json!({ "batch": events }))
            .await
            .status,
        200
    );
    // The stored events (and so what is forwarded and exported) carry the token's id only.
    let stored = t.events("").await;
    assert_eq!(stored.len(), 7);
    for e in &stored {
        assert_eq!(e["context"]["linkTokenId"], id);
        assert!(!e.to_string().contains(token), "{e}");
    }
    let rows = t
        .scalar(&format!(
            "SELECT COUNT(*) FROM events WHERE body LIKE '%{token}%'"
        ))
        .await;
    assert_eq!(rows, 0);
    // Five devices by default; the sixth and seventh are counted as overused.
    let p = t.get("/v1/profiles/u-5").await.json();
    assert_eq!(anonymous_ids(&p).len(), 5);
    let stats = t.get("/v1/link-tokens").await.json();
    assert_eq!(stats["misses"]["overused"], 2);

    // Revoked: a new device with it joins nothing; the five stay joined.
    let path = format!("/v1/link-tokens/{id}");
    let r = request(
        t.addr,
        "DELETE",
        &path,
        &[("Authorization", ADMIN_BEARER)],
        None,
    )
    .await;
    assert_eq!(r.status, 204, "{}", r.text());
    let again = request(
        t.addr,
        "DELETE",
        &path,
        &[("Authorization", ADMIN_BEARER)],
        None,
    )
    .await;
    assert_eq!(again.status, 404);
    let late = ev(
        "identify",
        "late",
        "dev-late",
        None,
        json!({ "context": { "linkToken": token } }),
    );
    assert_eq!(
        t.post_json("/v1/batch", &json!({ "batch": [late] }))
            .await
            .status,
        200
    );
    let p = t.get("/v1/profiles/u-5").await.json();
    assert_eq!(anonymous_ids(&p).len(), 5);
    assert_eq!(
        t.get("/v1/link-tokens").await.json()["misses"]["unknown"],
        1
    );
    // The operator's alone.
    let r = request(t.addr, "DELETE", &path, &[], None).await;
    assert_eq!(r.status, 401);
}

#[tokio::test]
async fn a_chain_of_aliases_is_one_person_and_malformed_events_merge_nothing() {
    const TOKEN: &str = "test-admin-token-0123456789";
    let t = TestServer::start_with(|o| o.admin_token = Some(TOKEN.into())).await;
    let auth = [("Authorization", "Bearer test-admin-token-0123456789")];
    let batch = json!({ "batch": [
        ev("alias", "q-1", "d1", Some("ux"), json!({ "previousId": "d1" })),
        ev("alias", "q-2", "d3", Some("ux"), json!({ "previousId": "d4" })),
        ev("track", "q-3", "d4", None, json!({ "event": "Before" })),
    ]});
    assert_eq!(t.post_json("/v1/batch", &batch).await.status, 200);
    let p = request(t.addr, "GET", "/v1/profiles/d4", &auth, None)
        .await
        .json();
    let anon = anonymous_ids(&p);
    assert_eq!(anon, ["d1", "d3", "d4"]);
    assert_eq!(p["ids"]["userId"], "ux");
    // A batch with one malformed event is refused whole: its valid identify merges nothing.
    let bad = json!({ "batch": [
        ev("identify", "r-1", "d9", Some("ux"), json!({})),
        { "type": "track", "messageId": "r-2", "anonymousId": "d9" },
    ]});
    let r = t.post_json("/v1/batch", &bad).await;
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["field"], "batch[1].event");
    let p = request(t.addr, "GET", "/v1/profiles/ux", &auth, None)
        .await
        .json();
    assert!(!p["ids"]["anonymousIds"]
        .as_array()
        .unwrap()
        .contains(&json!("d9")));
}

#[tokio::test]
async fn write_keys_when_configured() {
    let t =
        TestServer::start_with(|o| o.write_keys = vec!["wk_live".into(), "wk_test".into()]).await;
    let with_key =
        |k: &str| json!({ "batch": [track(&format!("m-{k}"), "a", "E")], "writeKey": k });
    let ok = t.post_json("/v1/batch", &with_key("wk_test")).await;
    assert_eq!(ok.status, 200, "{}", ok.text());
    let bad = t.post_json("/v1/batch", &with_key("wk_nope")).await;
    assert_eq!(
        (bad.status, bad.json()["field"].clone()),
        (401, json!("writeKey"))
    );
    let none = t
        .post_json(
            "/v1/batch",
            &json!({ "batch": [track("m-none", "a", "E")] }),
        )
        .await;
    assert_eq!(none.status, 401);
    // Segment's libraries send the key as the Basic auth user name.
    let body = json!({ "type": "track", "messageId": "m-basic", "anonymousId": "a", "event": "E" })
        .to_string();
    let basic = request(
        t.addr,
        "POST",
        "/v1/track",
        &[
            ("Content-Type", "application/json"),
            ("Authorization", "Basic d2tfbGl2ZTo="),
        ],
        Some(body.as_bytes()),
    )
    .await;
    assert_eq!(basic.status, 200, "{}", basic.text());
    let stored = t.events("").await;
    assert_eq!(message_ids(&stored), ["m-wk_test", "m-basic"]);
}

#[tokio::test]
async fn writes_over_the_rate_of_an_address_get_429_with_retry_after() {
    let t = TestServer::start_with(|o| o.rate_limit = 1).await;
    // A burst of four seconds' worth passes, the next write waits; reads are not limited.
    for i in 0..4 {
        let r = t
            .post_json(
                "/v1/batch",
                &json!({ "batch": [track(&format!("m-{i}"), "a", "E")] }),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text());
    }
    let over = t
        .post_json(
            "/v1/batch",
            &json!({ "batch": [track("m-over", "a", "E")] }),
        )
        .await;
    assert_eq!(over.status, 429);
    assert_eq!(over.header("retry-after"), Some("1"));
    assert!(over.json()["error"]
        .as_str()
        .unwrap()
        .contains("too many requests"));
    // API reads count too; a second later a token is back.
    assert_eq!(t.get("/v1/events").await.status, 429);
    let deadline = std::time::Instant::now() + STEP;
    let stored = loop {
        let r = t.get("/v1/events").await;
        if r.status == 200 {
            break r.json()["events"].as_array().map_or(0, Vec::len);
        }
        assert!(std::time::Instant::now() < deadline, "{}", r.text());
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    };
    assert_eq!(stored, 4);
}
