//! Query parameters over HTTP: a bad value or an unknown parameter on a read or admin route
//! is a JSON 400 naming the parameter; an empty value is no value; ingestion ignores the
//! parameters it does not know and refuses a coding it cannot inflate.

mod common;

use std::io::Write;

use serde_json::{json, Value};

use common::{request, track, Reply, TestServer};

/// Asserts a JSON 400 whose `field` is `field` and whose error contains `says`.
fn refused(reply: &Reply, field: &str, says: &str) {
    assert_eq!(reply.status, 400, "{field}: {}", reply.text());
    assert!(
        reply
            .header("content-type")
            .is_some_and(|t| t.starts_with("application/json")),
        "{:?}",
        reply.headers
    );
    let body: Value = reply.json();
    assert_eq!(body["field"], field, "{body}");
    let error = body["error"].as_str().unwrap_or_default();
    assert!(error.contains(says), "{error:?} does not say {says:?}");
}

#[tokio::test]
async fn a_bad_value_is_a_400_naming_the_parameter() {
    let t = TestServer::start().await;
    for (path, field, says) in [
        (
            "/v1/events?limit=abc",
            "limit",
            "limit must be an integer, not 'abc'",
        ),
        (
            "/v1/events?limit=0",
            "limit",
            "limit must be an integer from 1 to 10000",
        ),
        (
            "/v1/events?type=track&order=sideways",
            "order",
            "order must be 'asc' or 'desc', not 'sideways'",
        ),
        ("/v1/events?after=-1", "after", "non-negative"),
        (
            "/v1/events?limit=5&limit=6",
            "limit",
            "limit is given more than once",
        ),
        ("/v1/metrics?by=country", "by", "by must be channel"),
        ("/v1/metrics?from=yesterday", "from", "from must be a date"),
        (
            "/v1/journeys/deliveries?status=lost",
            "status",
            "status must be one of scheduled, retrying",
        ),
        (
            "/v1/profiles/nobody?limit=5000",
            "limit",
            "from 1 to 1000, not '5000'",
        ),
        (
            "/v1/profiles/nobody?before=soon",
            "before",
            "before must be an integer",
        ),
        (
            "/v1/profiles/nobody/export?format=xml",
            "format",
            "format must be json or ndjson, not 'xml'",
        ),
    ] {
        refused(&t.get(path).await, field, says);
    }
}

#[tokio::test]
async fn an_unknown_parameter_is_a_400_naming_it_and_what_the_endpoint_takes() {
    let t = TestServer::start().await;
    for (path, field, takes) in [
        (
            "/v1/events?lmit=5",
            "lmit",
            "anonymousId, userId, type, event, after, before, limit, order",
        ),
        ("/v1/metrics?since=2026-01-01", "since", "from, to, by"),
        (
            "/v1/journeys/deliveries?state=failed",
            "state",
            "journey, status, limit",
        ),
        ("/v1/profiles/nobody?page=2", "page", "limit, before"),
        ("/v1/profiles?q=ada&limit=5", "limit", "takes q"),
        ("/v1/profiles/nobody/export?fmt=ndjson", "fmt", "format"),
    ] {
        let reply = t.get(path).await;
        refused(&reply, field, &format!("unknown query parameter '{field}'"));
        refused(&reply, field, takes);
    }
}

#[tokio::test]
async fn empty_values_are_no_values_and_good_ones_are_read() {
    let t = TestServer::start().await;
    let mut second = track("q-2", "anon-q", "F");
    second["userId"] = json!("u-q");
    let batch = json!({ "batch": [track("q-1", "anon-q", "E"), second] });
    assert_eq!(t.post_json("/v1/batch", &batch).await.status, 200);
    let all = t
        .get("/v1/events?anonymousId=&userId=&type=&event=&after=&before=&limit=&order=")
        .await;
    assert_eq!(all.status, 200, "{}", all.text());
    assert_eq!(all.json()["events"].as_array().map(Vec::len), Some(2));
    let newest = t
        .get("/v1/events?anonymousId=anon-q&order=desc&limit=1")
        .await
        .json();
    assert_eq!(newest["events"][0]["messageId"], "q-2");
    let m = t.get("/v1/metrics?from=2026-11-01&to=&by=").await;
    assert_eq!(m.status, 200, "{}", m.text());
    let profile = t.get("/v1/profiles/u-q?limit=1&before=").await;
    assert_eq!(profile.status, 200, "{}", profile.text());
    assert_eq!(profile.json()["timeline"].as_array().map(Vec::len), Some(1));
    // Journeys not configured: known parameters reach the handler, which says so.
    let deliveries = t
        .get("/v1/journeys/deliveries?journey=welcome&limit=5")
        .await;
    assert_eq!(deliveries.status, 404, "{}", deliveries.text());
}

#[tokio::test]
async fn ingestion_ignores_unknown_parameters_and_refuses_an_unknown_coding() {
    let t = TestServer::start().await;
    let body = json!({ "batch": [track("q-gz", "anon-q", "E")] }).to_string();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(body.as_bytes()).expect("gzip");
    let gz = gz.finish().expect("gzip");
    let post = |path: &'static str, body: Vec<u8>| {
        let addr = t.addr;
        async move {
            request(
                addr,
                "POST",
                path,
                &[("Content-Type", "text/plain")],
                Some(&body),
            )
            .await
        }
    };
    // A client's own parameter next to the SDK's.
    let r = post("/v1/batch?source=web&compression=gzip", gz.clone()).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["accepted"], 1);
    let plain = json!({ "batch": [track("q-plain", "anon-q", "E")] }).to_string();
    let r = post("/v1/batch?compression=", plain.clone().into_bytes()).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let r = post("/v1/batch?compression=br", plain.into_bytes()).await;
    assert_eq!(r.status, 415, "{}", r.text());
    assert_eq!(r.json()["field"], "compression");
    assert!(r.json()["error"]
        .as_str()
        .is_some_and(|e| e.contains("compression 'br' is not supported")));
}
