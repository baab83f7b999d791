//! Who may call each route, and from where.
//!
//! Three kinds of caller: ingestion (the shopper's browser and server sources, with public
//! write keys), dashboards (read tokens: metrics and journey summaries, no personal data) and
//! the operator (the admin token: everything). `http::router` states each route's kind where
//! the route is declared, through [`ingest`], [`read`] and [`admin`]; routes without one
//! return no stored data (the health check, the live page's own files, the signed demo
//! webhook receiver, the static files).
//!
//! Only ingestion (and the static files a shop's pages load) answers cross-origin requests.
//! Read and admin routes answer none, unless the operator names a dashboard's origin with
//! `--dashboard-origin`, and then only with a token: a page elsewhere that has no token reads
//! nothing.

use std::io;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::header::{self, HeaderMap, HeaderValue};
use axum::http::{Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::MethodRouter;
use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::error::ApiError;
use crate::state::AppState;

/// The kinds of caller a route with stored data takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Access {
    /// A read token or the admin token: numbers without personal data.
    Read,
    /// The admin token alone.
    Admin,
}

/// Ingestion: open to every caller (write keys are checked by the handler), cross-origin as
/// `--allow-origin` says.
pub(crate) fn ingest(state: &AppState, route: MethodRouter<AppState>) -> MethodRouter<AppState> {
    route.options(options).layer(state.ingest_cors.clone())
}

/// `OPTIONS` on a route: the CORS layer around it answers preflights; this answers the rest.
/// (A route's layer only wraps the methods it has, so a route that is to answer preflights
/// needs one for `OPTIONS`.)
async fn options() -> StatusCode {
    StatusCode::NO_CONTENT
}

/// A route for dashboards and the operator: a read token or the admin token.
pub(crate) fn read(state: &AppState, route: MethodRouter<AppState>) -> MethodRouter<AppState> {
    guard(state, Access::Read, route)
}

/// A route for the operator alone: the admin token.
pub(crate) fn admin(state: &AppState, route: MethodRouter<AppState>) -> MethodRouter<AppState> {
    guard(state, Access::Admin, route)
}

fn guard(
    state: &AppState,
    access: Access,
    route: MethodRouter<AppState>,
) -> MethodRouter<AppState> {
    let route = route.route_layer(middleware::from_fn_with_state(
        (state.clone(), access),
        check,
    ));
    match &state.dashboard_cors {
        // Outside the check: a preflight carries no token.
        Some(cors) => route.options(options).layer(cors.clone()),
        None => route,
    }
}

async fn check(
    State((state, access)): State<(AppState, Access)>,
    req: Request,
    next: Next,
) -> Response {
    if let Err(e) = host_allowed(&state, req.headers()) {
        return e.into_response();
    }
    match allowed(&state, access, req.headers()) {
        Ok(()) => next.run(req).await,
        Err(e) => {
            let mut response = e.into_response();
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"shoptrail\""),
            );
            response
        }
    }
}

/// Whether the request names this collector in its `Host`: on loopback, `localhost`,
/// `127.x.y.z` or `[::1]` (any port), and the `--public-host`s. A page whose DNS name was
/// rebound to the collector's address sends its own name and gets 403. A request without a
/// `Host` (no browser sends one) passes: the token still decides.
fn host_allowed(state: &AppState, headers: &HeaderMap) -> Result<(), ApiError> {
    let Some(names) = &state.hosts else {
        return Ok(());
    };
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    let name = if host.starts_with('[') {
        host.split_inclusive(']').next().unwrap_or_default()
    } else {
        host.split(':').next().unwrap_or_default()
    };
    // No Host at all is no browser's request (browsers always send one).
    let loopback = name.is_empty()
        || names.iter().any(|n| n == "localhost")
            && (name == "[::1]"
                || name
                    .parse::<std::net::Ipv4Addr>()
                    .is_ok_and(|ip| ip.is_loopback()));
    if loopback || names.iter().any(|n| n.eq_ignore_ascii_case(name)) {
        return Ok(());
    }
    Err(ApiError::new(
        StatusCode::FORBIDDEN,
        format!(
            "Host '{name}' is not a name of this collector: name it with --public-host to read \
             through it"
        ),
        None,
    ))
}

/// Whether the request's bearer token opens a route of `access`.
fn allowed(state: &AppState, access: Access, headers: &HeaderMap) -> Result<(), ApiError> {
    let admin = state.admin_token.as_deref();
    if admin.is_none() && (access == Access::Admin || state.read_tokens.is_empty()) {
        let flags = match access {
            Access::Admin => "--admin-token",
            Access::Read => "--read-token or --admin-token",
        };
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            format!("this route is off: start the collector with {flags}"),
            None,
        ));
    }
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    let Some(given) = given else {
        return Err(unauthorized(access));
    };
    // Every secret is compared, whichever matches: the time says nothing of which.
    let is_admin = admin.is_some_and(|a| same_secret(given, a));
    let is_reader = state
        .read_tokens
        .iter()
        .fold(false, |found, r| same_secret(given, r) | found);
    match (access, is_admin, is_reader) {
        (_, true, _) | (Access::Read, _, true) => Ok(()),
        (Access::Admin, false, true) => Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "a read token opens the metrics and journey summaries only; this route needs the admin token",
            None,
        )),
        _ => Err(unauthorized(access)),
    }
}

fn unauthorized(access: Access) -> ApiError {
    let which = match access {
        Access::Admin => "the admin token",
        Access::Read => "a read token or the admin token",
    };
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        format!("send {which} as Authorization: Bearer <token>"),
        None,
    )
}

/// Whether `given` is `secret`, in a time that tells a guesser nothing of how much of the secret
/// (or of its length) the guess got right: their SHA-256 digests (always 32 bytes) are compared
/// byte by byte without stopping early.
pub(crate) fn same_secret(given: &str, secret: &str) -> bool {
    use sha2::{Digest, Sha256};
    let (a, b) = (
        Sha256::digest(given.as_bytes()),
        Sha256::digest(secret.as_bytes()),
    );
    a.iter().zip(b.iter()).fold(0u8, |d, (x, y)| d | (x ^ y)) == 0
}

/// The ingestion routes' CORS policy: the listed origins, or every origin when none is given.
pub(crate) fn ingest_cors(origins: &[String]) -> io::Result<CorsLayer> {
    let allow = if origins.is_empty() || origins.iter().any(|o| o == "*") {
        AllowOrigin::any()
    } else {
        AllowOrigin::list(header_values(origins)?)
    };
    Ok(CorsLayer::new()
        .allow_origin(allow)
        .allow_methods([Method::GET, Method::POST, Method::OPTIONS])
        .allow_headers([
            header::CONTENT_TYPE,
            header::AUTHORIZATION,
            header::CONTENT_ENCODING,
        ])
        .expose_headers([header::RETRY_AFTER])
        .max_age(Duration::from_secs(600)))
}

/// The read and admin routes' CORS policy: the dashboards' origins (`--dashboard-origin`),
/// never every origin; none at all when no origin is named.
pub(crate) fn dashboard_cors(origins: &[String]) -> io::Result<Option<CorsLayer>> {
    if origins.is_empty() {
        return Ok(None);
    }
    Ok(Some(
        CorsLayer::new()
            .allow_origin(AllowOrigin::list(header_values(origins)?))
            .allow_methods([Method::GET, Method::POST, Method::OPTIONS])
            .allow_headers([header::CONTENT_TYPE, header::AUTHORIZATION])
            .max_age(Duration::from_secs(600)),
    ))
}

fn header_values(origins: &[String]) -> io::Result<Vec<HeaderValue>> {
    origins
        .iter()
        .map(|o| {
            HeaderValue::from_str(o).map_err(|_| {
                io::Error::new(io::ErrorKind::InvalidInput, format!("bad origin '{o}'"))
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::same_secret;

    #[test]
    fn secrets_match_only_whole() {
        let secret = "0123456789abcdef";
        assert!(same_secret(secret, secret));
        for guess in [
            "",
            "0123456789abcde",
            "0123456789abcdef0",
            "0123456789abcdeF",
        ] {
            assert!(!same_secret(guess, secret), "{guess}");
        }
    }
}
