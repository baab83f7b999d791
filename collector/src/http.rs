//! HTTP routes, handlers and middleware: the router, where each route is declared with who may
//! call it (see [`crate::access`]); ingestion (the write-key check, validation, the insert);
//! the events query; the live stream; the static files.

use std::convert::Infallible;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::header::{self, HeaderName, HeaderValue};
use axum::http::request::Parts;
use axum::http::{Method, StatusCode, Uri};
use axum::middleware::{self, Next};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{any, get, post};
use axum::{Extension, Json, Router};
use futures_util::stream::{self, StreamExt};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use tokio::sync::broadcast;
use tower::ServiceExt;

use crate::encoding::decode_body;
use crate::error::ApiError;
use crate::params::{opt, Param, Params};
use crate::proxy::Client;
use crate::state::AppState;
use crate::store::EventQuery;
use crate::validate::{prepare_batch, prepare_single, PreparedEvent, EVENT_TYPES};
use crate::{live, time};

/// Default and largest `limit` of `GET /v1/events`.
const DEFAULT_LIMIT: u32 = 1000;
const MAX_LIMIT: u32 = 10_000;

/// Builds the application.
pub(crate) fn router(state: AppState, max_body: usize) -> Router {
    use crate::access::{admin, ingest, read};
    use crate::journeys::routes as journeys;
    let s = &state;
    // Who may call each route is said here, once (see `access`); ARCHITECTURE.md's threat
    // model lists the same table.
    let mut app = Router::new().route("/v1/batch", ingest(s, post(ingest_batch)));
    for kind in EVENT_TYPES {
        let one = move |State(state): State<AppState>,
                        client: Option<Extension<Client>>,
                        headers: axum::http::HeaderMap,
                        body: Result<Bytes, BytesRejection>| async move {
            let from = (address(client), &headers);
            store_events(state, from, body, false, Some(kind)).await
        };
        app = app.route(&format!("/v1/{kind}"), ingest(s, post(one)));
    }
    app.route("/v1/id-cookie", ingest(s, post(crate::idcookie::id_cookie)))
        // Shopify: the web pixel is ingestion; webhooks carry their own signature (the
        // app's secret), checked before the body is read.
        .route(
            "/v1/sources/shopify/pixel",
            ingest(s, post(crate::shopify::pixel)),
        )
        .route(
            "/v1/sources/shopify/webhooks",
            post(crate::shopify::webhook),
        )
        // Dashboards: numbers without personal data.
        .route("/v1/metrics", read(s, get(crate::metrics::metrics)))
        .route("/v1/journeys", read(s, get(journeys::summary)))
        // The operator: personal data.
        .route("/v1/events", admin(s, get(list_events)))
        .route("/_shoptrail/stream", admin(s, get(live_stream)))
        .route("/v1/profiles", admin(s, get(crate::profiles::search)))
        .route(
            "/v1/profiles/{id}",
            admin(
                s,
                get(crate::profiles::profile).delete(crate::erasure::erase),
            ),
        )
        .route(
            "/v1/profiles/{id}/export",
            admin(s, get(crate::erasure::export)),
        )
        .route(
            "/v1/identity/conflicts",
            admin(s, get(crate::profiles::conflicts)),
        )
        .route(
            "/v1/link-tokens",
            admin(s, post(crate::tokens::issue).get(crate::tokens::stats)),
        )
        .route(
            "/v1/link-tokens/{id}",
            admin(s, axum::routing::delete(crate::tokens::revoke)),
        )
        .route("/v1/forwarding", admin(s, get(crate::forward::status)))
        .route("/v1/retention", admin(s, get(crate::retention::status)))
        .route(
            "/v1/journeys/deliveries",
            admin(s, get(journeys::deliveries)),
        )
        // The demo inbox: webhooks in (each checked against its signature), read by the
        // operator.
        .route(
            "/_shoptrail/inbox",
            post(journeys::inbox_post).merge(admin(s, get(journeys::inbox_get))),
        )
        // No stored data: the health check and the live page's own files (it asks for the
        // admin token before it reads anything).
        .route("/health", get(|| async { "ok" }))
        .route(
            "/_shoptrail",
            get(|| async { Redirect::permanent("/_shoptrail/") }),
        )
        .route("/_shoptrail/", get(live_page))
        .route("/_shoptrail/{asset}", get(live::asset))
        // Static files, which shop pages on other origins load (the SDK's wasm is fetched
        // with CORS): the ingestion routes' policy.
        .fallback_service(
            any(fallback)
                .layer(state.ingest_cors.clone())
                .with_state(state.clone()),
        )
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(max_body))
        // A body trickled in slower than this gets 408 (headers have their own limit, see
        // `serve`).
        .layer(tower_http::timeout::RequestBodyTimeoutLayer::new(
            BODY_TIMEOUT,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            reject_declared_oversize,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            crate::limit::limit,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            crate::proxy::client,
        ))
        .with_state(state)
}

/// Answers 413 before reading a body whose declared length is too large.
/// Bodies without a length are cut off by `DefaultBodyLimit` while read.
async fn reject_declared_oversize(
    State(state): State<AppState>,
    req: Request,
    next: Next,
) -> Response {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    match declared {
        Some(len) if len > state.max_body as u64 => {
            ApiError::too_large(state.max_body).into_response()
        }
        _ => next.run(req).await,
    }
}

/// With `--write-keys`, a body's `writeKey` (or HTTP Basic auth's user name, as Segment's
/// libraries send it) must be one of them: 401 otherwise.
pub(crate) fn check_write_key(
    state: &AppState,
    headers: &axum::http::HeaderMap,
    body: &Value,
) -> Result<(), ApiError> {
    if state.write_keys.is_empty() {
        return Ok(());
    }
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| {
            use base64::Engine as _;
            base64::engine::general_purpose::STANDARD
                .decode(b.trim())
                .ok()
        })
        .and_then(|d| String::from_utf8(d).ok())
        .map(|d| d.split(':').next().unwrap_or_default().to_string());
    let key = body
        .get("writeKey")
        .and_then(Value::as_str)
        .map(str::to_string)
        .or(basic);
    match key {
        Some(k) if state.write_keys.contains(&k) => Ok(()),
        Some(_) => Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unknown writeKey",
            Some("writeKey".into()),
        )),
        None => Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "a writeKey is required (in the body, or as the Basic auth user name)",
            Some("writeKey".into()),
        )),
    }
}

/// The query string of `POST /v1/batch`. Other parameters are ignored: clients of Segment's
/// API may add their own.
#[derive(Debug, Deserialize)]
struct BatchQuery {
    /// The body's coding, said in the URL (`gzip`) to spare browsers a CORS preflight.
    #[serde(default, deserialize_with = "opt")]
    compression: Option<String>,
}

/// `POST /v1/batch`; the body may be compressed (see [`decode_body`]).
async fn ingest_batch(
    State(state): State<AppState>,
    client: Option<Extension<Client>>,
    Params(q): Params<BatchQuery>,
    headers: axum::http::HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    match crate::encoding::url_coding(q.compression.as_deref()) {
        Ok(url_gzip) => {
            store_events(state, (address(client), &headers), body, url_gzip, None).await
        }
        Err(e) => e.into_response(),
    }
}

#[derive(Serialize)]
struct Accepted {
    success: bool,
    accepted: usize,
    duplicates: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    suppressed: Option<usize>,
}

/// The client's address (see [`crate::proxy`]); unspecified when unknown.
fn address(client: Option<Extension<Client>>) -> IpAddr {
    client.map_or(IpAddr::from([0, 0, 0, 0]), |c| c.0 .0)
}

/// Inflates (see [`decode_body`]), parses, validates and stores a batch (`single` is
/// `None`) or one event of the given type, sent `from` a client with these headers; answers
/// only once the insert is committed.
async fn store_events(
    state: AppState,
    from: (IpAddr, &axum::http::HeaderMap),
    body: Result<Bytes, BytesRejection>,
    url_gzip: bool,
    single: Option<&'static str>,
) -> Response {
    match try_ingest(&state, from, body, url_gzip, single).await {
        Ok(accepted) => Json(accepted).into_response(),
        Err(e) => e.into_response(),
    }
}

async fn try_ingest(
    state: &AppState,
    (client, headers): (IpAddr, &axum::http::HeaderMap),
    body: Result<Bytes, BytesRejection>,
    url_gzip: bool,
    single: Option<&'static str>,
) -> Result<Accepted, ApiError> {
    let bytes = body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::too_large(state.max_body)
        } else {
            ApiError::bad_request(
                format!("could not read the request body: {}", rejection.body_text()),
                None,
            )
        }
    })?;
    let bytes = decode_body(state, headers, url_gzip, bytes)?;
    let value: Value = serde_json::from_slice(&bytes)
        .map_err(|e| ApiError::bad_request(format!("body is not valid JSON: {e}"), None))?;
    check_write_key(state, headers, &value)?;

    let now = state.clock.now_ms();
    let received_at = time::format_millis(now);
    let mut events = match single {
        None => prepare_batch(value, &received_at)?,
        Some(kind) => prepare_single(value, kind, &received_at)?,
    };
    crate::shopify::reserved(&events)?;
    crate::bots::mark(&mut events, state.bots, Some(&state.pace), now);

    let agent = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let store = Arc::clone(&state.store);
    let pace = (state.bots != crate::bots::Bots::Count).then(|| Arc::clone(&state.pace));
    let (events, result) = tokio::task::spawn_blocking(move || {
        // Cookieless events get their visitor and session first (see `cookieless`); their
        // pace is counted once they have one.
        let result = store.assign_cookieless(&mut events, (client, &agent), now);
        if let (Ok(()), Some(pace)) = (&result, pace) {
            let cookieless = events.iter_mut();
            pace.mark(
                cookieless.filter(|e| crate::cookieless::is_cookieless(&e.object)),
                now,
            );
        }
        let result = result.and_then(|()| store.insert(&events, now));
        (events, result)
    })
    .await
    .map_err(|e| ApiError::internal(format!("storage task failed: {e}")))?;
    let outcome = result.map_err(|e| ApiError::internal(format!("could not store events: {e}")))?;

    if state.live.receiver_count() > 0 {
        for &(index, seq) in &outcome.stored {
            if let Some(event) = events.get(index) {
                // Nobody listening is not an error.
                let _ = state.live.send(live_json(event, seq).into());
            }
        }
    }
    Ok(Accepted {
        success: true,
        accepted: outcome.stored.len(),
        duplicates: outcome.duplicates,
        suppressed: (outcome.suppressed > 0).then_some(outcome.suppressed),
    })
}

fn live_json(event: &PreparedEvent, seq: i64) -> String {
    let mut object = event.object.clone();
    object.insert("seq".to_owned(), Value::from(seq));
    Value::Object(object).to_string()
}

/// The query string of `GET /v1/events`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct EventsQuery {
    #[serde(default, deserialize_with = "opt")]
    anonymous_id: Option<String>,
    #[serde(default, deserialize_with = "opt")]
    user_id: Option<String>,
    #[serde(default, deserialize_with = "opt", rename = "type")]
    kind: Option<String>,
    #[serde(default, deserialize_with = "opt")]
    event: Option<String>,
    /// Only events with a greater seq.
    #[serde(default, deserialize_with = "opt")]
    after: Option<i64>,
    /// Only events with a smaller seq.
    #[serde(default, deserialize_with = "opt")]
    before: Option<i64>,
    #[serde(default, deserialize_with = "opt")]
    limit: Option<i64>,
    #[serde(default, deserialize_with = "opt")]
    order: Option<Order>,
}

/// `GET /v1/events?order=`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Order {
    Asc,
    Desc,
}

impl Param for Order {
    fn parse(text: &str) -> Result<Order, String> {
        match text {
            "asc" => Ok(Order::Asc),
            "desc" => Ok(Order::Desc),
            other => Err(format!("must be 'asc' or 'desc', not '{other}'")),
        }
    }
}

/// `GET /v1/events`: stored events in arrival order, filtered and paged.
async fn list_events(
    State(state): State<AppState>,
    Params(p): Params<EventsQuery>,
) -> Result<Json<Value>, ApiError> {
    let seq = |key: &str, value: Option<i64>| -> Result<Option<i64>, ApiError> {
        match value {
            Some(n) if n < 0 => Err(ApiError::bad_request(
                format!("{key} must be a non-negative integer (a seq), not '{n}'"),
                Some(key),
            )),
            v => Ok(v),
        }
    };
    let limit = match p.limit {
        None => DEFAULT_LIMIT,
        Some(n) => match u32::try_from(n) {
            Ok(n) if (1..=MAX_LIMIT).contains(&n) => n,
            _ => {
                return Err(ApiError::bad_request(
                    format!("limit must be an integer from 1 to {MAX_LIMIT}, not '{n}'"),
                    Some("limit"),
                ))
            }
        },
    };
    let q = EventQuery {
        anonymous_id: p.anonymous_id,
        user_id: p.user_id,
        kind: p.kind,
        event: p.event,
        after: seq("after", p.after)?,
        before: seq("before", p.before)?,
        limit,
        descending: p.order == Some(Order::Desc),
    };

    let store = Arc::clone(&state.store);
    let rows = tokio::task::spawn_blocking(move || store.query(&q))
        .await
        .map_err(|e| ApiError::internal(format!("storage task failed: {e}")))?
        .map_err(|e| ApiError::internal(format!("could not read events: {e}")))?;

    let last = rows.last().map(|row| row.0);
    let mut events = Vec::with_capacity(rows.len());
    for (seq, body) in rows {
        let mut value: Value = serde_json::from_str(&body)
            .map_err(|e| ApiError::internal(format!("stored event {seq} is corrupt: {e}")))?;
        if let Value::Object(map) = &mut value {
            map.insert("seq".to_owned(), Value::from(seq));
        }
        events.push(value);
    }
    Ok(Json(json!({ "events": events, "last": last })))
}

/// `GET /_shoptrail/`: the live page.
async fn live_page() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; script-src 'self' 'unsafe-inline'; \
                 style-src 'self' 'unsafe-inline'; connect-src 'self'; img-src data:; \
                 base-uri 'none'; form-action 'none'",
            ),
        ],
        live::PAGE,
    )
        .into_response()
}

/// Time a request has to send its whole body.
pub(crate) const BODY_TIMEOUT: Duration = Duration::from_secs(30);

/// Live-stream subscribers at once; more get 503.
pub(crate) const MAX_SUBSCRIBERS: usize = 32;

/// One live-stream subscriber, counted while its stream lives.
struct Subscriber(Arc<std::sync::atomic::AtomicUsize>);

impl Drop for Subscriber {
    fn drop(&mut self) {
        self.0.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
    }
}

/// `GET /_shoptrail/stream`: newly stored events as Server-Sent Events. A subscriber that
/// falls more than the feed's buffer behind is told `lagged` (with how many it missed) and
/// goes on from the newest: nothing is buffered for it.
async fn live_stream(State(state): State<AppState>) -> Response {
    let count = &state.subscribers;
    if count.fetch_add(1, std::sync::atomic::Ordering::Relaxed) >= MAX_SUBSCRIBERS {
        count.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
        return ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("{MAX_SUBSCRIBERS} live streams are open already; try again later"),
            None,
        )
        .into_response();
    }
    let subscriber = Subscriber(Arc::clone(count));
    let receiver = state.live.subscribe();
    let shutdown = state.shutdown.clone();
    let hello = stream::once(async {
        Ok::<_, Infallible>(
            Event::default()
                .retry(Duration::from_secs(2))
                .comment("shoptrail"),
        )
    });
    let events = stream::unfold(
        (receiver, shutdown, subscriber),
        |(mut receiver, mut shutdown, subscriber)| async move {
            let message = tokio::select! {
                biased;
                _ = shutdown.wait_for(|stop| *stop) => None,
                message = receiver.recv() => Some(message),
            };
            let event = match message? {
                Ok(json) => Event::default().data(&*json),
                Err(broadcast::error::RecvError::Lagged(missed)) => {
                    Event::default().event("lagged").data(missed.to_string())
                }
                Err(broadcast::error::RecvError::Closed) => return None,
            };
            Some((Ok(event), (receiver, shutdown, subscriber)))
        },
    );
    (
        [
            (header::CACHE_CONTROL, "no-store"),
            (HeaderName::from_static("x-accel-buffering"), "no"),
        ],
        Sse::new(hello.chain(events)).keep_alive(KeepAlive::default()),
    )
        .into_response()
}

async fn method_not_allowed(method: Method, uri: Uri) -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        format!("{method} is not allowed on {}", uri.path()),
        None,
    )
}

/// Static files for GET and HEAD, and a JSON 404 for everything else.
async fn fallback(State(state): State<AppState>, req: Request) -> Response {
    let method = req.method().clone();
    if method == Method::GET || method == Method::HEAD {
        let (parts, _body) = req.into_parts();
        if let Some(response) = serve_static(&state, &parts).await {
            return response;
        }
        return not_found(&method, &parts.uri);
    }
    not_found(&method, req.uri())
}

fn not_found(method: &Method, uri: &Uri) -> Response {
    ApiError::new(
        StatusCode::NOT_FOUND,
        format!("nothing at {method} {}", uri.path()),
        None,
    )
    .into_response()
}

async fn serve_static(state: &AppState, req: &Parts) -> Option<Response> {
    let uri = &req.uri;
    let path = uri.path();
    let query = uri.query().map(|q| format!("?{q}")).unwrap_or_default();
    for (prefix, dir) in state.statics.iter() {
        let rest = if prefix.is_empty() {
            path
        } else if path == prefix {
            return Some(Redirect::permanent(&format!("{prefix}/{query}")).into_response());
        } else {
            match path.strip_prefix(prefix.as_str()) {
                Some(rest) if rest.starts_with('/') => rest,
                _ => continue,
            }
        };
        let Ok(inner_uri) = format!("{rest}{query}").parse::<Uri>() else {
            continue;
        };
        let mut inner = Request::new(Body::empty());
        *inner.method_mut() = req.method.clone();
        *inner.uri_mut() = inner_uri;
        *inner.headers_mut() = req.headers.clone();
        let Ok(response) = dir.clone().oneshot(inner).await;
        if response.status() == StatusCode::NOT_FOUND {
            continue;
        }
        let mut response = response.map(Body::new);
        if response.status().is_redirection() && !prefix.is_empty() {
            // ServeDir redirects `dir` to `dir/` relative to what it saw.
            let location = response
                .headers()
                .get(header::LOCATION)
                .and_then(|v| v.to_str().ok())
                .filter(|l| l.starts_with('/'))
                .and_then(|l| HeaderValue::from_str(&format!("{prefix}{l}")).ok());
            if let Some(location) = location {
                response.headers_mut().insert(header::LOCATION, location);
            }
        } else if response.status().is_success() {
            if let Some(kind) = forced_content_type(rest) {
                response
                    .headers_mut()
                    .insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
            }
        }
        return Some(response);
    }
    None
}

/// Content types that browsers insist on: WebAssembly streaming compilation
/// needs `application/wasm`, and module scripts need a JavaScript type.
fn forced_content_type(path: &str) -> Option<&'static str> {
    let lower = path.to_ascii_lowercase();
    if lower.ends_with(".wasm") {
        Some("application/wasm")
    } else if lower.ends_with(".js") || lower.ends_with(".mjs") {
        Some("text/javascript")
    } else {
        None
    }
}
