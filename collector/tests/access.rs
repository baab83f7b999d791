//! Who may call each route (ARCHITECTURE.md's threat model): every route that returns stored
//! or derived data, asked with no token, a wrong one, a read token and the admin token; and
//! from another origin. On SQLite, and on PostgreSQL when `SHOPTRAIL_TEST_POSTGRES` is set.

mod common;

use common::{request, TestServer, ADMIN_BEARER};

const READ: &str = "dashboard-token-0123456789";
const READ_BEARER: &str = "Bearer dashboard-token-0123456789";

#[derive(Debug, Clone, Copy, PartialEq)]
enum Who {
    Read,
    Admin,
}

/// Every route with stored or derived data: method, path, body, who may call it.
const ROUTES: &[(&str, &str, Option<&str>, Who)] = &[
    ("GET", "/v1/metrics", None, Who::Read),
    ("GET", "/v1/journeys", None, Who::Read),
    ("GET", "/v1/events", None, Who::Admin),
    ("GET", "/_shoptrail/stream", None, Who::Admin),
    ("GET", "/_shoptrail/inbox", None, Who::Admin),
    ("GET", "/v1/profiles?q=ada", None, Who::Admin),
    ("GET", "/v1/profiles/someone", None, Who::Admin),
    ("GET", "/v1/identity/conflicts", None, Who::Admin),
    ("GET", "/v1/link-tokens", None, Who::Admin),
    (
        "POST",
        "/v1/link-tokens",
        Some(r#"{"userId":"u-1","channel":"email"}"#),
        Who::Admin,
    ),
    ("GET", "/v1/forwarding", None, Who::Admin),
    ("GET", "/v1/retention", None, Who::Admin),
    ("GET", "/v1/journeys/deliveries", None, Who::Admin),
];

#[tokio::test]
async fn every_route_with_data_takes_only_its_callers() {
    let t = TestServer::start_with(|o| o.read_tokens = vec![READ.into()]).await;
    for &(method, path, body, who) in ROUTES {
        let ask = |auth: Option<&'static str>| {
            let headers: Vec<(&str, &str)> =
                auth.map(|a| ("Authorization", a)).into_iter().collect();
            async move { request(t.addr, method, path, &headers, body.map(str::as_bytes)).await }
        };
        let none = ask(None).await;
        assert_eq!(
            none.status,
            401,
            "{method} {path} without a token: {}",
            none.text()
        );
        assert!(none.header("www-authenticate").is_some(), "{method} {path}");
        let wrong = ask(Some("Bearer not-the-token-0123456789")).await;
        assert_eq!(wrong.status, 401, "{method} {path} with a wrong token");
        let reader = ask(Some(READ_BEARER)).await;
        match who {
            Who::Read => assert!(
                ![401, 403].contains(&reader.status),
                "{method} {path} with a read token: {} {}",
                reader.status,
                reader.text()
            ),
            Who::Admin => {
                assert_eq!(reader.status, 403, "{method} {path} with a read token");
                assert!(reader.text().contains("admin token"), "{}", reader.text());
            }
        }
        // The live stream answers with its head and stays open: the admin's is checked in
        // http_api's stream test.
        if path == "/_shoptrail/stream" {
            continue;
        }
        let admin = ask(Some(ADMIN_BEARER)).await;
        assert!(
            ![401, 403].contains(&admin.status),
            "{method} {path} with the admin token: {} {}",
            admin.status,
            admin.text()
        );
    }
}

#[tokio::test]
async fn without_tokens_the_data_routes_are_off() {
    let t = TestServer::start_with(|o| o.admin_token = None).await;
    for &(method, path, body, who) in ROUTES {
        let r = request(
            t.addr,
            method,
            path,
            &[("Authorization", ADMIN_BEARER)],
            body.map(str::as_bytes),
        )
        .await;
        assert_eq!(r.status, 403, "{method} {path}");
        let flag = match who {
            Who::Read => "--read-token or --admin-token",
            Who::Admin => "--admin-token",
        };
        assert!(r.text().contains(flag), "{method} {path}: {}", r.text());
    }
    // What needs no token still answers.
    assert_eq!(
        request(t.addr, "GET", "/health", &[], None).await.status,
        200
    );
    assert_eq!(
        request(t.addr, "GET", "/_shoptrail/", &[], None)
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn only_ingestion_answers_other_origins_and_dashboards_only_when_named() {
    let origin = ("Origin", "https://evil.example");
    let t = TestServer::start().await;
    let ingest = request(
        t.addr,
        "POST",
        "/v1/batch",
        &[origin],
        Some(br#"{"batch":[]}"#),
    )
    .await;
    assert_eq!(ingest.header("access-control-allow-origin"), Some("*"));
    for &(method, path, body, _) in ROUTES {
        if path == "/_shoptrail/stream" {
            continue;
        }
        // Even with the token, a page elsewhere cannot read the answer.
        let r = request(
            t.addr,
            method,
            path,
            &[origin, ("Authorization", ADMIN_BEARER)],
            body.map(str::as_bytes),
        )
        .await;
        assert_eq!(
            r.header("access-control-allow-origin"),
            None,
            "{method} {path}"
        );
        let preflight = request(
            t.addr,
            "OPTIONS",
            path,
            &[
                origin,
                ("Access-Control-Request-Method", method),
                ("Access-Control-Request-Headers", "authorization"),
            ],
            None,
        )
        .await;
        assert_eq!(
            preflight.header("access-control-allow-origin"),
            None,
            "{method} {path} preflight"
        );
    }

    // A dashboard the operator names reads with its token, and no other origin does.
    let dash = "https://dash.example";
    let t = TestServer::start_with(|o| {
        o.read_tokens = vec![READ.into()];
        o.dashboard_origins = vec![dash.into()];
    })
    .await;
    let preflight = request(
        t.addr,
        "OPTIONS",
        "/v1/metrics",
        &[
            ("Origin", dash),
            ("Access-Control-Request-Method", "GET"),
            ("Access-Control-Request-Headers", "authorization"),
        ],
        None,
    )
    .await;
    assert_eq!(preflight.header("access-control-allow-origin"), Some(dash));
    let r = request(
        t.addr,
        "GET",
        "/v1/metrics",
        &[("Origin", dash), ("Authorization", READ_BEARER)],
        None,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("access-control-allow-origin"), Some(dash));
    let r = request(
        t.addr,
        "GET",
        "/v1/metrics",
        &[origin, ("Authorization", READ_BEARER)],
        None,
    )
    .await;
    assert_eq!(r.header("access-control-allow-origin"), None);
}
