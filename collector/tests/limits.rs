//! Limits one client cannot break, over HTTP: event, id and name sizes named by their place in
//! the batch; a 500 that shows no internals; the Host check on data routes (DNS rebinding);
//! the cap on live-stream subscribers. On SQLite, and on PostgreSQL when
//! `SHOPTRAIL_TEST_POSTGRES` is set.

mod common;

use std::time::{Duration, Instant};

use common::{execute, request, track, TestServer, ADMIN_BEARER, STEP};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

#[tokio::test]
async fn oversized_events_ids_and_names_are_refused_by_their_place() {
    let t = TestServer::start().await;
    let mut big = track("big", "a1", "Viewed");
    big["properties"] = json!({ "blob": "x".repeat(40 * 1024) });
    let mut long_id = track("long-id", &"a".repeat(300), "Viewed");
    long_id["userId"] = json!("u");
    let long_name = track("long-name", "a1", &"N".repeat(201));
    for (ev, field, words) in [
        (big, "batch[1]", "32768 (32 KiB)"),
        (long_id, "batch[1].anonymousId", "at most 256"),
        (long_name, "batch[1].event", "at most 200"),
    ] {
        let body = json!({ "batch": [track("fine", "a1", "Viewed"), ev] });
        let r = t.post_json("/v1/batch", &body).await;
        assert_eq!(r.status, 400, "{}", r.text());
        assert_eq!(r.json()["field"], field);
        assert!(r.text().contains(words), "{}", r.text());
    }
    // Nothing of a refused batch is stored.
    assert!(t.events("").await.is_empty());
}

#[tokio::test]
async fn a_failure_inside_answers_internal_error_and_an_id_never_sql() {
    let t = TestServer::start().await;
    execute(&t.db, "ALTER TABLE events RENAME TO events_gone").await;
    let r = t
        .post_json(
            "/v1/batch",
            &json!({ "batch": [track("m1", "a1", "Viewed")] }),
        )
        .await;
    assert_eq!(r.status, 500);
    let error = r.json()["error"].as_str().unwrap_or_default().to_owned();
    assert!(error.starts_with("internal error (id "), "{error}");
    for leak in ["events", "table", "relation", "sql", "SQL", "INSERT"] {
        assert!(!error.contains(leak), "{leak} in {error}");
    }
}

#[tokio::test]
async fn data_routes_answer_only_this_collectors_host_names() {
    let t = TestServer::start().await;
    let port = t.addr.port().to_string();
    for host in ["localhost", "127.0.0.1", "127.0.0.2", "[::1]"] {
        let h = format!("{host}:{port}");
        let r = request(
            t.addr,
            "GET",
            "/v1/events",
            &[("Host", &h), ("Authorization", ADMIN_BEARER)],
            None,
        )
        .await;
        assert_eq!(r.status, 200, "{h}: {}", r.text());
    }
    // A page whose name was rebound to this address sends its own name: refused, even with
    // the token; ingestion takes any name (shops proxy it under theirs).
    let rebound = format!("attacker.example:{port}");
    let r = request(
        t.addr,
        "GET",
        "/v1/events",
        &[("Host", &rebound), ("Authorization", ADMIN_BEARER)],
        None,
    )
    .await;
    assert_eq!(r.status, 403);
    assert!(r.text().contains("--public-host"), "{}", r.text());
    let body = json!({ "batch": [track("via-proxy", "a1", "Viewed")] }).to_string();
    let r = request(
        t.addr,
        "POST",
        "/v1/batch",
        &[("Host", "shop.example")],
        Some(body.as_bytes()),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());

    // A name given with --public-host is answered.
    let t = TestServer::start_with(|o| o.public_hosts = vec!["collect.shop.example".into()]).await;
    let r = request(
        t.addr,
        "GET",
        "/v1/events",
        &[
            ("Host", "collect.shop.example"),
            ("Authorization", ADMIN_BEARER),
        ],
        None,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
}

/// Opens the live stream and reads its status line.
async fn subscribe(addr: std::net::SocketAddr) -> (TcpStream, String) {
    let mut s = TcpStream::connect(addr).await.expect("connect");
    let head = format!(
        "GET /_shoptrail/stream HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: {ADMIN_BEARER}\r\n\r\n"
    );
    s.write_all(head.as_bytes()).await.expect("write");
    let mut got = Vec::new();
    let mut byte = [0u8; 1];
    while !got.ends_with(b"\r\n") {
        let n = tokio::time::timeout(STEP, s.read(&mut byte))
            .await
            .expect("an answer in time")
            .expect("read");
        if n == 0 {
            break;
        }
        got.push(byte[0]);
    }
    (s, String::from_utf8_lossy(&got).trim().to_owned())
}

#[tokio::test]
async fn live_stream_subscribers_are_capped() {
    let t = TestServer::start().await;
    let mut open = Vec::new();
    for _ in 0..32 {
        let (s, status) = subscribe(t.addr).await;
        assert!(status.starts_with("HTTP/1.1 200"), "{status}");
        open.push(s);
    }
    let (_, status) = subscribe(t.addr).await;
    assert!(status.starts_with("HTTP/1.1 503"), "{status}");
    // One leaves: a place is free again once the server has seen it go.
    drop(open.pop());
    let deadline = Instant::now() + STEP;
    loop {
        let (s, status) = subscribe(t.addr).await;
        if status.starts_with("HTTP/1.1 200") {
            open.push(s);
            break;
        }
        assert!(Instant::now() < deadline, "no place freed: {status}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Reads until the server closes the connection or `STEP` passes; whether it closed.
async fn closed_by_server(s: &mut TcpStream) -> bool {
    let mut buf = [0u8; 256];
    let deadline = Instant::now() + STEP;
    while Instant::now() < deadline {
        match tokio::time::timeout(STEP, s.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => continue,
            Err(_) => return false,
        }
    }
    false
}

#[tokio::test]
async fn a_client_that_sends_no_headers_or_trickles_them_is_closed() {
    let t =
        TestServer::start_with(|o| o.connections.header_timeout = Duration::from_millis(300)).await;
    let mut silent = TcpStream::connect(t.addr).await.expect("connect");
    let mut trickle = TcpStream::connect(t.addr).await.expect("connect");
    trickle
        .write_all(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: a")
        .await
        .expect("write");
    assert!(
        closed_by_server(&mut silent).await,
        "a silent connection stays"
    );
    assert!(
        closed_by_server(&mut trickle).await,
        "a trickling one stays"
    );
    // A normal request is answered.
    assert_eq!(
        request(t.addr, "GET", "/health", &[], None).await.status,
        200
    );
}

#[tokio::test]
async fn connections_over_the_cap_wait_for_a_free_one() {
    let timeout = Duration::from_millis(800);
    let t = TestServer::start_with(|o| {
        o.connections.max_connections = 3;
        o.connections.header_timeout = timeout;
    })
    .await;
    let started = Instant::now();
    let mut idle = Vec::new();
    for _ in 0..3 {
        idle.push(TcpStream::connect(t.addr).await.expect("connect"));
    }
    // The fourth is answered only once the server has closed an idle one (they send nothing,
    // so their header time runs out).
    let answer = request(t.addr, "GET", "/health", &[], None).await;
    assert_eq!(answer.status, 200);
    assert!(
        started.elapsed() >= timeout.mul_f32(0.9),
        "answered after {:?}, before any idle connection was closed",
        started.elapsed()
    );
    for mut s in idle {
        assert!(closed_by_server(&mut s).await);
    }
}

#[tokio::test]
async fn fifty_idle_connections_leave_a_normal_batch_answered_within_a_second() {
    let t = TestServer::start().await;
    let mut idle = Vec::new();
    for _ in 0..50 {
        let mut s = TcpStream::connect(t.addr).await.expect("connect");
        s.write_all(b"POST /v1/batch HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            .await
            .expect("write");
        idle.push(s);
    }
    let started = Instant::now();
    let r = t
        .post_json(
            "/v1/batch",
            &json!({ "batch": [track("normal", "a1", "Viewed")] }),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    drop(idle);
}
