//! A hostile client against the real binary: a gzip bomb, 40 KiB events, 50 connections that
//! never finish their request, a live-stream subscriber that never reads, 10,000 GETs. After
//! each, a normal batch from another shopper is answered within a second, and the process's
//! peak memory stays under 200 MB (ARCHITECTURE.md's threat model quotes the figure).

mod common;

use std::io::Write;
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::binary::*;
use serde_json::json;

/// The shop's real shoppers, told apart from the attacker by the proxy in front.
const SHOPPER: &str = "203.0.113.10";
const ATTACKER: &str = "198.51.100.66";

/// A normal batch from a shopper is stored, and answered within a second.
fn normal(c: &Running, id: &str) {
    let body = json!({ "batch": [{ "type": "track", "messageId": id, "anonymousId": "shopper",
        "event": "Product Viewed", "properties": { "sku": "NW-001" } }] });
    let started = Instant::now();
    let r = c.post(
        "/v1/batch",
        &[("X-Forwarded-For", SHOPPER)],
        body.to_string().as_bytes(),
    );
    assert_eq!(r.status, 200, "{id}: {}", r.text());
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{id}: {:?}",
        started.elapsed()
    );
}

/// The peak resident memory of the process, in bytes (Linux).
fn peak_rss(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

#[test]
fn the_collector_stays_up_small_and_answering_under_a_hostile_client() {
    let c = start(&["--trust-proxy", "127.0.0.1"], &[]);
    let attacker = [("X-Forwarded-For", ATTACKER)];
    normal(&c, "before");

    // A gzip bomb: 256 MiB of zeros in a few hundred KiB.
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..256 {
        gz.write_all(&zeros).expect("compress");
    }
    let bomb = gz.finish().expect("compress");
    let r = c.post(
        "/v1/batch",
        &[attacker[0], ("Content-Encoding", "gzip")],
        &bomb,
    );
    assert_eq!(r.status, 413, "{}", r.text());
    normal(&c, "after-bomb");

    // Forty events of 40 KiB each.
    let big: Vec<_> = (0..40)
        .map(|i| {
            json!({ "type": "track", "messageId": format!("big-{i}"), "anonymousId": "x",
            "event": "Big", "properties": { "blob": "x".repeat(40 * 1024) } })
        })
        .collect();
    let r = c.post(
        "/v1/batch",
        &attacker,
        json!({ "batch": big }).to_string().as_bytes(),
    );
    assert!(
        r.status == 400 || r.status == 413,
        "{} {}",
        r.status,
        r.text()
    );
    normal(&c, "after-big-events");

    // Fifty connections that never finish their request.
    let mut slow = Vec::new();
    for _ in 0..50 {
        let mut s = TcpStream::connect(c.addr()).expect("connect");
        s.write_all(
            b"POST /v1/batch HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Forwarded-For: 198.51.100.66\r\n",
        )
        .expect("write");
        slow.push(s);
    }
    normal(&c, "with-slow-connections");

    // A live-stream subscriber that never reads, while events keep coming.
    let mut stalled = TcpStream::connect(c.addr()).expect("connect");
    let head = format!(
        "GET /_shoptrail/stream HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {ADMIN}\r\n\r\n"
    );
    stalled.write_all(head.as_bytes()).expect("write");
    for round in 0..40 {
        let batch: Vec<_> = (0..50)
            .map(|i| {
                json!({ "type": "track", "messageId": format!("flood-{round}-{i}"),
                "anonymousId": format!("shopper-{i}"), "event": "Product Viewed",
                "properties": { "note": "y".repeat(2000) } })
            })
            .collect();
        let r = c.post(
            "/v1/batch",
            &[("X-Forwarded-For", &format!("192.0.2.{round}"))],
            json!({ "batch": batch }).to_string().as_bytes(),
        );
        assert_eq!(r.status, 200, "{}", r.text());
    }
    normal(&c, "with-a-stalled-subscriber");

    // Ten thousand GETs of everything, without the token: the rate limit answers most of
    // them, the token check the rest; nothing is read.
    let (mut limited, mut refused) = (0, 0);
    for _ in 0..10_000 {
        let r = http(
            c.addr(),
            "GET",
            "/v1/events?limit=10000",
            &[
                attacker[0],
                ("Authorization", "Bearer guessed-token-0123456789"),
            ],
            None,
        );
        match r.status {
            429 => limited += 1,
            401 => refused += 1,
            other => panic!("GET answered {other}: {}", r.text()),
        }
    }
    assert_eq!(limited + refused, 10_000);
    assert!(
        limited > 9_000,
        "only {limited} of 10,000 GETs were limited"
    );
    normal(&c, "after-10000-gets");

    drop(slow);
    drop(stalled);
    let peak = peak_rss(c.pid());
    eprintln!("hostile client: peak RSS {} MB", peak / (1 << 20));
    assert!(peak > 0, "no /proc figure");
    assert!(peak < 200 << 20, "peak RSS {} MB", peak / (1 << 20));
}
