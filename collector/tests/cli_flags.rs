//! Each command-line flag, given to the real `shoptrail-collector` binary and checked over
//! real HTTP: a flag that parses but does nothing (or crashes at start) fails here.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::Command;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::binary::*;
use serde_json::{json, Value};

fn track(message_id: &str) -> Value {
    json!({ "type": "track", "messageId": message_id, "anonymousId": "anon-cli", "event": "E" })
}

fn batch(message_id: &str) -> Value {
    json!({ "batch": [track(message_id)] })
}

/// A port nothing listens on right now.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// Polls `f` until it gives `Some`, for at most [`WAIT`].
fn until<T>(what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + WAIT;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A request the [`Receiver`] got: its head (request line and headers) and body.
struct Received {
    head: String,
    body: Vec<u8>,
}

impl Received {
    fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().skip(1).find_map(|line| {
            let (k, v) = line.split_once(':')?;
            k.trim().eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }
}

/// A tiny HTTP server on a free port that answers every request 200 and hands it to the test.
struct Receiver {
    addr: SocketAddr,
    requests: mpsc::Receiver<Received>,
}

impl Receiver {
    fn start() -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (tx, requests) = mpsc::channel();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let Some(received) = read_request(&mut stream) else {
                    continue;
                };
                let _ = stream.write_all(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\
                      Content-Length: 2\r\nConnection: close\r\n\r\n{}",
                );
                if tx.send(received).is_err() {
                    break;
                }
            }
        });
        Receiver { addr, requests }
    }

    /// The next request, within [`WAIT`].
    fn next(&self, what: &str) -> Received {
        self.requests
            .recv_timeout(WAIT)
            .unwrap_or_else(|_| panic!("no request for {what} within {WAIT:?}"))
    }
}

/// Reads one request with a `Content-Length` body.
fn read_request(stream: &mut TcpStream) -> Option<Received> {
    stream.set_read_timeout(Some(WAIT)).ok()?;
    let mut raw = Vec::new();
    let mut buf = [0u8; 8192];
    let split = loop {
        if let Some(i) = common::find(&raw, b"\r\n\r\n") {
            break i;
        }
        let n = stream.read(&mut buf).ok().filter(|&n| n > 0)?;
        raw.extend_from_slice(&buf[..n]);
    };
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut received = Received {
        head,
        body: raw[split + 4..].to_vec(),
    };
    let length: usize = received
        .header("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    while received.body.len() < length {
        let n = stream.read(&mut buf).ok().filter(|&n| n > 0)?;
        received.body.extend_from_slice(&buf[..n]);
    }
    Some(received)
}

fn basic(user: &str) -> String {
    use base64::Engine as _;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:"))
    )
}

fn event_count(db: &Path) -> i64 {
    let conn = rusqlite::Connection::open(db).expect("open the database file");
    conn.query_row("SELECT COUNT(*) FROM events", [], |r| r.get(0))
        .expect("count events")
}

#[test]
fn db_names_the_sqlite_file_by_flag_or_environment() {
    let dir = tempfile::tempdir().expect("tempdir");
    let by_flag = dir.path().join("by-flag.db");
    let path = by_flag.display().to_string();
    {
        let c = start(&["--db", &path], &[]);
        assert!(by_flag.is_file(), "--db did not create {path}");
        assert_eq!(c.post_json("/v1/batch", &batch("db-1")).status, 200);
        assert_eq!(event_count(&by_flag), 1);
    }
    // The same file on the next start: what was stored is still there.
    let c = start(&["--db", &path], &[]);
    assert_eq!(c.message_ids(), ["db-1"]);
    drop(c);

    let by_env = dir.path().join("by-env.db");
    let env_path = by_env.display().to_string();
    let c = start(&[], &[("SHOPTRAIL_DB", &env_path)]);
    assert!(by_env.is_file(), "SHOPTRAIL_DB did not create {env_path}");
    assert_eq!(c.post_json("/v1/batch", &batch("db-env")).status, 200);
    assert_eq!(event_count(&by_env), 1);
    assert_eq!(event_count(&by_flag), 1, "the flag's file is not written");
    drop(c);

    // The flag wins over the environment.
    let c = start(&["--db", &path], &[("SHOPTRAIL_DB", &env_path)]);
    assert_eq!(c.message_ids(), ["db-1"]);
}

#[test]
fn port_is_the_one_listened_on() {
    let port = free_port();
    let c = start(&["--port", &port.to_string()], &[]);
    assert_eq!(c.addr.port(), port);
    let reply = http(
        SocketAddr::from(([127, 0, 0, 1], port)),
        "GET",
        "/health",
        &[],
        None,
    );
    assert_eq!((reply.status, reply.text()), (200, "ok".to_owned()));
}

#[test]
fn bind_is_the_address_listened_on() {
    // All of 127.0.0.0/8 is loopback on Linux: 127.0.0.2 is a second local address.
    let c = start(&["--bind", "127.0.0.2"], &[]);
    assert_eq!(c.addr.ip().to_string(), "127.0.0.2");
    assert_eq!(c.get("/health", &[]).status, 200);
    let other = SocketAddr::from(([127, 0, 0, 1], c.addr.port()));
    assert!(
        TcpStream::connect_timeout(&other, WAIT).is_err(),
        "127.0.0.1:{} answers though only 127.0.0.2 was asked for",
        c.addr.port()
    );
    drop(c);
    let c = start(&["--bind", "localhost"], &[]);
    assert_eq!(c.addr.ip().to_string(), "127.0.0.1");
}

#[test]
fn static_serves_a_directory_at_root_and_at_a_prefix() {
    let dir = tempfile::tempdir().expect("tempdir");
    let www = dir.path().join("www");
    let pkg = dir.path().join("pkg");
    std::fs::create_dir_all(&www).expect("mkdir");
    std::fs::create_dir_all(&pkg).expect("mkdir");
    std::fs::write(www.join("index.html"), "<h1>shop</h1>").expect("write");
    std::fs::write(www.join("hello.txt"), "hello from www").expect("write");
    std::fs::write(pkg.join("sdk.js"), "export const v = 1;").expect("write");
    let root = www.display().to_string();
    let mount = format!("/dist={}", pkg.display());
    let c = start(&["--static", &root, "--static", &mount], &[]);

    let hello = c.get("/hello.txt", &[]);
    assert_eq!((hello.status, hello.text()), (200, "hello from www".into()));
    let index = c.get("/", &[]);
    assert_eq!((index.status, index.text()), (200, "<h1>shop</h1>".into()));
    let sdk = c.get("/dist/sdk.js", &[]);
    assert_eq!(sdk.status, 200);
    assert_eq!(sdk.text(), "export const v = 1;");
    assert_eq!(sdk.header("content-type"), Some("text/javascript"));
    // A file of one mount is not served at the other.
    assert_eq!(c.get("/sdk.js", &[]).status, 404);
    assert_eq!(c.get("/dist/hello.txt", &[]).status, 404);
}

#[test]
fn allow_origin_answers_the_listed_origin_only() {
    let c = start(&["--allow-origin", "https://shop.example"], &[]);
    let listed = c.post(
        "/v1/batch",
        &[("Origin", "https://shop.example")],
        batch("o-1").to_string().as_bytes(),
    );
    assert_eq!(listed.status, 200);
    assert_eq!(
        listed.header("access-control-allow-origin"),
        Some("https://shop.example")
    );
    let preflight = http(
        c.addr,
        "OPTIONS",
        "/v1/batch",
        &[
            ("Origin", "https://shop.example"),
            ("Access-Control-Request-Method", "POST"),
            ("Access-Control-Request-Headers", "content-type"),
        ],
        None,
    );
    assert_eq!(
        preflight.header("access-control-allow-origin"),
        Some("https://shop.example")
    );
    let other = c.post(
        "/v1/batch",
        &[("Origin", "https://evil.example")],
        batch("o-2").to_string().as_bytes(),
    );
    assert_eq!(other.header("access-control-allow-origin"), None);
    let other = http(
        c.addr,
        "OPTIONS",
        "/v1/batch",
        &[
            ("Origin", "https://evil.example"),
            ("Access-Control-Request-Method", "POST"),
        ],
        None,
    );
    assert_eq!(other.header("access-control-allow-origin"), None);
}

#[test]
fn max_body_refuses_larger_bodies_with_413() {
    let c = start(&["--max-body", "300"], &[]);
    let small = batch("mb-1").to_string();
    assert!(small.len() <= 300);
    assert_eq!(c.post("/v1/batch", &[], small.as_bytes()).status, 200);
    let big = json!({ "batch": [track("mb-2")], "pad": "x".repeat(300) }).to_string();
    let reply = c.post("/v1/batch", &[], big.as_bytes());
    assert_eq!(reply.status, 413, "{}", reply.text());
    assert!(reply.text().contains("300 bytes"), "{}", reply.text());
    assert_eq!(c.message_ids(), ["mb-1"]);
}

#[test]
fn admin_token_opens_the_admin_routes_by_flag_or_environment() {
    const TOKEN: &str = "admin-secret-0123456789";
    let route = "/v1/identity/conflicts";
    let bearer = format!("Bearer {TOKEN}");
    let wrong = "Bearer admin-secret-9876543210";

    // Without an admin token the admin routes are off.
    let c = launch(&[], &[], None);
    assert_eq!(c.get(route, &[("Authorization", &bearer)]).status, 403);
    assert_eq!(
        c.get("/v1/events", &[("Authorization", &bearer)]).status,
        403
    );
    drop(c);

    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("admin-token");
    std::fs::write(&file, format!("{TOKEN}\n")).expect("write");
    let file = file.display().to_string();
    for (args, env) in [
        (&["--admin-token", TOKEN][..], &[][..]),
        (&[][..], &[("SHOPTRAIL_ADMIN_TOKEN", TOKEN)][..]),
        (&["--admin-token-file", file.as_str()][..], &[][..]),
    ] {
        let c = start(args, env);
        assert_eq!(c.get(route, &[]).status, 401, "{args:?} {env:?}");
        assert_eq!(c.get(route, &[("Authorization", wrong)]).status, 401);
        let ok = c.get(route, &[("Authorization", &bearer)]);
        assert_eq!(ok.status, 200, "{args:?} {env:?}: {}", ok.text());
    }
}

#[test]
fn admin_token_rules_hold_for_every_source_and_a_public_bind_needs_one() {
    let dir = tempfile::tempdir().expect("tempdir");
    let short = dir.path().join("short");
    std::fs::write(&short, "too-short\n").expect("write");
    let short = short.display().to_string();
    // The same length rule by flag, environment and file.
    for (args, env) in [
        (&["--admin-token", "too-short"][..], &[][..]),
        (&[][..], &[("SHOPTRAIL_ADMIN_TOKEN", "too-short")][..]),
        (&["--admin-token-file", short.as_str()][..], &[][..]),
    ] {
        let (code, err) = exit_of(args, env);
        assert_eq!(code, Some(2), "{args:?} {env:?}: {err}");
        assert!(err.contains("at least 16 characters"), "{err}");
        assert!(
            !err.contains("too-short"),
            "the secret is not echoed: {err}"
        );
    }
    let (code, err) = exit_of(&["--admin-token-file", "/nonexistent/token"], &[]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("cannot read /nonexistent/token"), "{err}");
    let (code, err) = exit_of(
        &["--admin-token-file", short.as_str()],
        &[("SHOPTRAIL_ADMIN_TOKEN", "admin-secret-0123456789")],
    );
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("given twice"), "{err}");

    // Reachable from other machines: only with an admin token.
    for bind in ["0.0.0.0", "::"] {
        let (code, err) = exit_of(&["--bind", bind, "--port", "0"], &[]);
        assert_eq!(code, Some(2), "{bind}: {err}");
        assert!(err.contains("--admin-token"), "{err}");
    }
    let c = start(
        &["--bind", "0.0.0.0"],
        &[("SHOPTRAIL_ADMIN_TOKEN", "admin-secret-0123456789")],
    );
    assert_eq!(c.get("/health", &[]).status, 200);
}

#[test]
fn read_tokens_and_dashboard_origins_as_readme_runs_it_in_public() {
    // collector/README.md's "Running it in public", on a free port.
    const ADMIN_TOKEN: &str = "0f3a9c2e7b41d8a6e5c3b2a1f0e9d8c7";
    const DASHBOARD: &str = "dashboard-token-0123456789";
    let admin = format!("Bearer {ADMIN_TOKEN}");
    let reader = format!("Bearer {DASHBOARD}");
    let c = start(
        &[
            "--bind",
            "0.0.0.0",
            "--read-token",
            DASHBOARD,
            "--allow-origin",
            "https://shop.example",
            "--write-keys",
            "wk_live_123",
        ],
        &[("SHOPTRAIL_ADMIN_TOKEN", ADMIN_TOKEN)],
    );
    let mut body = batch("public-1");
    body["writeKey"] = json!("wk_live_123");
    assert_eq!(c.post_json("/v1/batch", &body).status, 200);
    let events = c.get("/v1/events?limit=5", &[("Authorization", &admin)]);
    assert_eq!(events.status, 200, "{}", events.text());
    assert_eq!(events.json()["events"][0]["messageId"], "public-1");
    assert_eq!(c.get("/v1/events?limit=5", &[]).status, 401);
    // The dashboard's token: numbers yes, people no.
    assert_eq!(
        c.get("/v1/metrics", &[("Authorization", &reader)]).status,
        200
    );
    assert_eq!(
        c.get("/v1/events", &[("Authorization", &reader)]).status,
        403
    );
    drop(c);

    // Read tokens from a file, and a dashboard on another origin.
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("read-tokens");
    std::fs::write(
        &file,
        format!("{DASHBOARD}\n\nsecond-dashboard-0123456789\n"),
    )
    .expect("write");
    let file = file.display().to_string();
    let c = start(
        &[
            "--read-token-file",
            &file,
            "--dashboard-origin",
            "https://dash.example",
        ],
        &[],
    );
    for token in [DASHBOARD, "second-dashboard-0123456789"] {
        let auth = format!("Bearer {token}");
        let r = c.get(
            "/v1/metrics",
            &[("Authorization", &auth), ("Origin", "https://dash.example")],
        );
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(
            r.header("access-control-allow-origin"),
            Some("https://dash.example")
        );
    }
    let r = c.get(
        "/v1/metrics",
        &[
            ("Authorization", &reader),
            ("Origin", "https://shop.example"),
        ],
    );
    assert_eq!(r.header("access-control-allow-origin"), None);
    drop(c);

    let short = dir.path().join("short");
    std::fs::write(&short, "fine-token-0123456789\nshort\n").expect("write");
    let (code, err) = exit_of(&["--read-token-file", &short.display().to_string()], &[]);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("line 2") && err.contains("at least 16"),
        "{err}"
    );
    assert!(!err.contains("short\n"), "{err}");
    let (code, err) = exit_of(&["--read-token", "short"], &[]);
    assert_eq!(code, Some(2), "{err}");
    let (code, err) = exit_of(&["--dashboard-origin", "*"], &[]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("--dashboard-origin"), "{err}");
}

#[test]
fn public_host_names_the_host_data_routes_answer() {
    let c = start(&["--public-host", "collect.shop.example"], &[]);
    let port = c.addr.port();
    let ok = c.get("/v1/events", &[("Host", "collect.shop.example")]);
    assert_eq!(ok.status, 200, "{}", ok.text());
    let local = format!("localhost:{port}");
    assert_eq!(c.get("/v1/events", &[("Host", &local)]).status, 200);
    let other = c.get("/v1/events", &[("Host", "rebound.example")]);
    assert_eq!(other.status, 403, "{}", other.text());
    let (code, err) = exit_of(&["--public-host", "https://collect.shop.example/"], &[]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("not a host name"), "{err}");
}

#[test]
fn trust_proxy_believes_forwarding_headers_from_the_proxy_alone() {
    let form = ("Content-Type", "application/x-www-form-urlencoded");
    let cookie = b"anonymousId=aid-proxy-1&domain=shop.example";
    let forwarded = [
        form,
        ("X-Forwarded-Host", "www.shop.example"),
        ("X-Forwarded-Proto", "https"),
    ];
    // Without --trust-proxy the headers are anyone's: ignored.
    let c = start(&["--rate-limit", "1"], &[]);
    let r = c.post("/v1/id-cookie", &forwarded, cookie);
    assert_eq!(r.status, 400, "{}", r.text());
    let mut last = 0;
    for i in 0..8 {
        let ip = format!("203.0.113.{i}");
        last = c
            .post(
                "/v1/batch",
                &[("X-Forwarded-For", &ip)],
                batch(&format!("nf-{i}")).to_string().as_bytes(),
            )
            .status;
    }
    assert_eq!(
        last, 429,
        "addresses in X-Forwarded-For do not escape the limit"
    );
    drop(c);

    // From the trusted proxy: the host and scheme it names, and each client its own bucket.
    let c = start(&["--rate-limit", "1", "--trust-proxy", "127.0.0.0/8"], &[]);
    let r = c.post("/v1/id-cookie", &forwarded, cookie);
    assert_eq!(r.status, 204, "{}", r.text());
    let set = r.header("set-cookie").unwrap_or_default().to_owned();
    assert!(
        set.contains("Domain=shop.example") && set.contains("Secure"),
        "{set}"
    );
    let send = |client: &str, id: String| {
        c.post(
            "/v1/batch",
            &[("X-Forwarded-For", &format!("{client}, 127.0.0.1"))],
            batch(&id).to_string().as_bytes(),
        )
        .status
    };
    let statuses: Vec<u16> = (0..5)
        .map(|i| send("198.51.100.7", format!("a-{i}")))
        .collect();
    assert_eq!(statuses.last(), Some(&429), "{statuses:?}");
    assert_eq!(
        send("198.51.100.8", "b-0".into()),
        200,
        "another client, its own bucket"
    );

    let (code, err) = exit_of(&["--trust-proxy", "proxy.internal"], &[]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("not an address or a network"), "{err}");
}

#[test]
fn max_connections_caps_the_connections_served_at_once() {
    let c = start(&["--max-connections", "2"], &[]);
    // Two silent connections take both places: a request waits until the server closes them,
    // when their 10 s of header time run out.
    let started = Instant::now();
    let silent = [
        TcpStream::connect(c.addr()).expect("connect"),
        TcpStream::connect(c.addr()).expect("connect"),
    ];
    assert_eq!(c.get("/health", &[]).status, 200);
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_secs(9),
        "answered after {waited:?}, with both places taken"
    );
    drop(silent);
    let (code, err) = exit_of(&["--max-connections", "0"], &[]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("not a positive number"), "{err}");
}

#[test]
fn retention_purges_at_start_and_reports_it() {
    let c = start(&["--retention", "400d"], &[]);
    // The purge runs at start (nothing to remove yet) and says so.
    let report = until("the first purge", || {
        let r = c.get("/v1/retention", &[]).json();
        (!r["lastRunAt"].is_null()).then_some(r)
    });
    assert_eq!(report["retentionDays"], 400.0);
    for bad in ["soon", "12h"] {
        let (code, err) = exit_of(&["--retention", bad], &[]);
        assert_eq!(code, Some(2), "{bad}: {err}");
        assert!(err.contains("--retention"), "{err}");
    }
}

#[test]
fn write_keys_accepts_listed_keys_in_the_body_or_as_basic_auth() {
    let c = start(&["--write-keys", "wk_live,wk_test"], &[]);
    let mut body = batch("wk-body");
    body["writeKey"] = json!("wk_test");
    let r = c.post_json("/v1/batch", &body);
    assert_eq!(r.status, 200, "{}", r.text());

    // Segment's and RudderStack's server libraries send the key as the Basic auth user.
    let auth = basic("wk_live");
    let r = c.post(
        "/v1/batch",
        &[("Authorization", &auth)],
        batch("wk-basic").to_string().as_bytes(),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let r = c.post(
        "/v1/track",
        &[("Authorization", &auth)],
        track("wk-single").to_string().as_bytes(),
    );
    assert_eq!(r.status, 200, "{}", r.text());

    let mut unknown = batch("wk-unknown");
    unknown["writeKey"] = json!("wk_nope");
    let r = c.post_json("/v1/batch", &unknown);
    assert_eq!(
        (r.status, r.json()["field"].clone()),
        (401, json!("writeKey"))
    );
    let nope = basic("wk_nope");
    let r = c.post(
        "/v1/batch",
        &[("Authorization", &nope)],
        batch("wk-unknown-basic").to_string().as_bytes(),
    );
    assert_eq!(r.status, 401);
    let r = c.post_json("/v1/batch", &batch("wk-missing"));
    assert_eq!(r.status, 401);
    assert!(r.text().contains("writeKey is required"), "{}", r.text());

    assert_eq!(c.message_ids(), ["wk-body", "wk-basic", "wk-single"]);
    assert!(c.stderr().is_empty(), "{}", c.stderr());
}

#[test]
fn write_keys_without_a_key_exits_2() {
    let out = Command::new(BIN)
        .args(["--write-keys", ","])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("needs keys separated by commas"), "{err}");
}

#[test]
fn rate_limit_answers_429_with_retry_after_past_the_burst() {
    let c = start(&["--rate-limit", "1"], &[]);
    // A burst of four seconds' worth passes; one more within the next second cannot.
    let mut passed = 0;
    let over = until("a 429", || {
        let r = c.post_json("/v1/batch", &batch(&format!("rl-{passed}")));
        match r.status {
            200 => {
                passed += 1;
                assert!(passed < 20, "20 writes at a rate of 1/s passed");
                None
            }
            _ => Some(r),
        }
    });
    assert_eq!(over.status, 429, "{}", over.text());
    assert!(passed >= 4, "only {passed} writes passed before the 429");
    assert_eq!(over.header("retry-after"), Some("1"));
    // API reads count against the same bucket; the health check and the live page do not.
    assert_eq!(c.get("/v1/events", &[]).status, 429);
    assert_eq!(c.get("/health", &[]).status, 200);
    assert_eq!(c.get("/_shoptrail/", &[]).status, 200);
}

#[test]
fn rate_limit_0_turns_the_limit_off() {
    let c = start(&["--rate-limit", "0"], &[]);
    // Writes until the default limit (50/s, bursts of 200) would certainly have refused one:
    // more than 200 plus 50 for every second gone by.
    let began = Instant::now();
    let mut sent = 0u32;
    while f64::from(sent) <= 210.0 + 50.0 * began.elapsed().as_secs_f64() {
        assert!(sent < 5000, "too slow to tell a limit from none");
        let r = c.post("/v1/nowhere", &[], b"{}");
        assert_eq!(r.status, 404, "request {sent}: {}", r.text());
        sent += 1;
    }
}

/// A journeys file with a welcome step sent at once to `url`, signed with the secret of the
/// environment.
fn journeys_file(dir: &Path, url: &str) -> String {
    let file = dir.join("journeys.toml");
    std::fs::write(
        &file,
        format!(
            "[webhook]\nurl = \"{url}\"\n\n[[journey]]\nid = \"welcome\"\ntrigger = \"event\"\n\
             event = \"Signed Up\"\n\n  [[journey.step]]\n  name = \"hello\"\n  after = \"0s\"\n"
        ),
    )
    .expect("write");
    file.display().to_string()
}

#[test]
fn journeys_runs_the_file_and_signs_with_the_environment_secret() {
    const SECRET: &str = "webhook-secret-0123456789";
    let hook = Receiver::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let file = journeys_file(dir.path(), &format!("http://{}/hook", hook.addr));
    let c = start(
        &["--journeys", &file],
        &[("SHOPTRAIL_WEBHOOK_SECRET", SECRET)],
    );
    let summary = c.get("/v1/journeys", &[]);
    assert_eq!(summary.status, 200, "{}", summary.text());
    assert_eq!(summary.json()["journeys"][0]["id"], "welcome");

    // A shopper who gave an email and consents to marketing signs up.
    let consent = json!({ "consent": { "categoryPreferences": { "marketing": true } } });
    let identify = json!({ "type": "identify", "messageId": "j-0", "anonymousId": "anon-cli",
                           "traits": { "email": "ada@example.com" }, "context": consent });
    let mut signed_up = track("j-1");
    signed_up["event"] = json!("Signed Up");
    signed_up["context"] = consent;
    let r = c.post_json("/v1/batch", &json!({ "batch": [identify, signed_up] }));
    assert_eq!(r.status, 200, "{}", r.text());
    let call = hook.next("the welcome step");
    assert!(call.head.starts_with("POST /hook "), "{}", call.head);
    let body: Value = serde_json::from_slice(&call.body).expect("JSON");
    assert_eq!(body["journey"], "welcome");
    assert_eq!(body["step"]["name"], "hello");
    let signature = call.header("shoptrail-signature").expect("signed");
    let (t, v1) = signature
        .split_once(",v1=")
        .and_then(|(t, v)| Some((t.strip_prefix("t=")?, v)))
        .expect("t=...,v1=...");
    use hmac::Mac as _;
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(SECRET.as_bytes()).expect("key");
    mac.update(format!("{t}.").as_bytes());
    mac.update(&call.body);
    let want: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(v1, want, "signed with SHOPTRAIL_WEBHOOK_SECRET");

    // Without --journeys there are none.
    drop(c);
    let c = start(&[], &[]);
    assert_eq!(c.get("/v1/journeys", &[]).status, 404);
}

/// A signed `orders/create` delivery's status on the running collector `c`.
fn shopify_order(c: &Running, secret: &str, order_id: u64) -> u16 {
    let body = json!({"id": order_id, "total_price": "12.50", "currency": "EUR",
                      "note_attributes": [{"name": "shoptrail_aid", "value": "anon-shopify"}]})
    .to_string();
    let hmac = shoptrail_collector::shopify::sign(secret, body.as_bytes());
    c.post(
        "/v1/sources/shopify/webhooks",
        &[
            ("X-Shopify-Topic", "orders/create"),
            ("X-Shopify-Hmac-Sha256", &hmac),
        ],
        body.as_bytes(),
    )
    .status
}

#[test]
fn shopify_secret_takes_signed_webhooks_by_flag_environment_or_file() {
    const SECRET: &str = "shpss_cli_secret_0123456789";
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("shopify-secret");
    std::fs::write(&file, format!("{SECRET}\n")).expect("write");
    let file = file.display().to_string();
    // Arguments and environment.
    type Way<'a> = (&'a [&'a str], &'a [(&'a str, &'a str)]);
    let ways: [Way; 3] = [
        (&["--shopify-secret", SECRET], &[]),
        (&[], &[("SHOPTRAIL_SHOPIFY_SECRET", SECRET)]),
        (&["--shopify-secret-file", &file], &[]),
    ];
    for (n, (args, env)) in ways.into_iter().enumerate() {
        let c = start(args, env);
        let id = 1000 + n as u64;
        assert_eq!(shopify_order(&c, SECRET, id), 200, "{args:?} {env:?}");
        assert_eq!(shopify_order(&c, "shpss_not_the_secret_0000", 2000), 401);
        assert_eq!(c.message_ids(), [format!("shopify-order-{id}")]);
    }
    // Without it, webhooks are off.
    let c = start(&[], &[]);
    assert_eq!(shopify_order(&c, SECRET, 3000), 404);

    // --shopify-shop: the named shop's webhooks only (the signature is the app's, shared by
    // every shop that installs it).
    let c = start(
        &[
            "--shopify-secret",
            SECRET,
            "--shopify-shop",
            "Ours.myshopify.com",
        ],
        &[],
    );
    let body = json!({"id": 4000, "total_price": "1.00"}).to_string();
    let hmac = shoptrail_collector::shopify::sign(SECRET, body.as_bytes());
    let from = |shop: &str| {
        c.post(
            "/v1/sources/shopify/webhooks",
            &[
                ("X-Shopify-Topic", "orders/create"),
                ("X-Shopify-Hmac-Sha256", &hmac),
                ("X-Shopify-Shop-Domain", shop),
            ],
            body.as_bytes(),
        )
    };
    let other = from("theirs.myshopify.com");
    assert_eq!(other.status, 403, "{}", other.text());
    assert!(other.text().contains("--shopify-shop"), "{}", other.text());
    assert_eq!(from("ours.myshopify.com").status, 200);
    assert_eq!(c.message_ids(), ["shopify-order-4000"]);
    let (code, err) = exit_of(&["--shopify-shop", "https://x.example"], &[]);
    assert_eq!(code, Some(2), "{err}");

    let (code, err) = exit_of(&["--shopify-secret", "short"], &[]);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("--shopify-secret") && !err.contains("short"),
        "{err}"
    );
    let (code, err) = exit_of(
        &["--shopify-secret", SECRET, "--shopify-secret-file", &file],
        &[],
    );
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("given twice"), "{err}");
}

#[test]
fn bots_exclude_marks_crawlers_by_default_and_count_checks_none() {
    let googlebot = |id: &str| {
        json!({"batch": [{"type": "page", "messageId": id, "anonymousId": "crawler",
                          "context": {"userAgent": "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"}}]})
    };
    let bot_of = |c: &Running| {
        let r = c.get(
            "/v1/events",
            &[("Authorization", &format!("Bearer {ADMIN}"))],
        );
        r.json()["events"][0]["context"]["bot"].clone()
    };
    let c = start(&[], &[]);
    assert_eq!(c.post_json("/v1/batch", &googlebot("b-1")).status, 200);
    assert_eq!(bot_of(&c), json!(true));
    let c = start(&["--bots", "count"], &[]);
    assert_eq!(c.post_json("/v1/batch", &googlebot("b-2")).status, 200);
    assert_eq!(bot_of(&c), Value::Null);
    let (code, err) = exit_of(&["--bots", "drop"], &[]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("must be exclude or count"), "{err}");
}

#[test]
fn forward_sends_accepted_events_on_in_segment_shape_with_the_url_key_as_basic_auth() {
    let sink = Receiver::start();
    let url = format!("http://fwd_key@{}/v1/batch", sink.addr);
    let c = start(&["--forward", &url], &[]);
    assert_eq!(c.post_json("/v1/batch", &batch("fw-1")).status, 200);
    let call = sink.next("the forwarded batch");
    assert!(call.head.starts_with("POST /v1/batch "), "{}", call.head);
    assert_eq!(
        call.header("authorization"),
        Some(basic("fwd_key").as_str())
    );
    let body: Value = serde_json::from_slice(&call.body).expect("JSON");
    let events = body["batch"].as_array().expect("a Segment batch");
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["messageId"], "fw-1");
    assert!(body["sentAt"].is_string(), "{body}");
}

#[test]
fn forward_format_json_sends_an_array_of_events() {
    let sink = Receiver::start();
    let url = format!("http://{}/events", sink.addr);
    let c = start(&["--forward", &url, "--forward-format", "json"], &[]);
    let two = json!({ "batch": [track("fj-1"), track("fj-2")] });
    assert_eq!(c.post_json("/v1/batch", &two).status, 200);
    let call = sink.next("the forwarded events");
    assert!(call.head.starts_with("POST /events "), "{}", call.head);
    assert_eq!(call.header("authorization"), None);
    let body: Value = serde_json::from_slice(&call.body).expect("JSON");
    let ids: Vec<&str> = body
        .as_array()
        .expect("a JSON array")
        .iter()
        .filter_map(|e| e["messageId"].as_str())
        .collect();
    assert_eq!(ids, ["fj-1", "fj-2"]);
}

#[test]
fn forward_marketing_sends_only_the_events_of_people_who_consent() {
    let (crm, ads) = (Receiver::start(), Receiver::start());
    let (crm_url, ads_url) = (
        format!("http://{}/crm", crm.addr),
        format!("http://{}/ads", ads.addr),
    );
    let c = start(
        &["--forward", &crm_url, "--forward-marketing", &ads_url],
        &[],
    );
    let choice = |id: &str, marketing: bool| {
        let mut e = track(id);
        e["context"] = json!({ "consent": { "categoryPreferences": { "marketing": marketing } } });
        e
    };
    let two = json!({ "batch": [choice("fm-no", false), choice("fm-yes", true)] });
    assert_eq!(c.post_json("/v1/batch", &two).status, 200);
    let ids = |call: Received| -> Vec<String> {
        let body: Value = serde_json::from_slice(&call.body).expect("JSON");
        let events = body["batch"].as_array().expect("a Segment batch").iter();
        events
            .map(|e| e["messageId"].as_str().unwrap_or("?").to_owned())
            .collect()
    };
    assert_eq!(
        ids(crm.next("the regular destination's batch")),
        ["fm-no", "fm-yes"]
    );
    assert_eq!(
        ids(ads.next("the marketing destination's batch")),
        ["fm-yes"]
    );
    let status = c.get("/v1/forwarding", &[]).json();
    assert_eq!(status["destinations"][1]["kind"], "marketing", "{status}");
}
