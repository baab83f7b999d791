//! `POST /v1/id-cookie`: sets the SDK's anonymous id as a server-written cookie.
//!
//! Safari keeps cookies that script writes for 7 days; a cookie set by a server response on
//! the site's own domain lasts as long as its `Max-Age`. A site proxies this endpoint under its
//! domain and names it in the SDK's `cookieRefreshUrl`; the SDK posts `anonymousId` and
//! `domain` (form fields) at most once a day. The cookie stays readable by script (not
//! HttpOnly): the SDK reads it.
//!
//! A request from another site is refused (403): a hostile page could otherwise post a form
//! that fixes a shopper's id to one it knows. The browser says where a request comes from in
//! `Sec-Fetch-Site` (only `same-origin`, `same-site` and `none` pass); a browser that does not
//! send it sends `Origin` with a POST, whose host must be the request's host or share its
//! domain (one is the other or a subdomain of it).

use axum::extract::rejection::FormRejection;
use axum::extract::Form;
use axum::http::header::{self, HeaderMap, HeaderValue};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use crate::error::ApiError;

/// The cookie's name, as the SDK writes it.
const COOKIE: &str = "shoptrail_aid";
/// 400 days, the longest lifetime browsers keep.
const MAX_AGE_S: u32 = 400 * 86_400;

#[derive(Debug, Deserialize)]
pub(crate) struct IdCookie {
    #[serde(rename = "anonymousId", default)]
    anonymous_id: String,
    #[serde(default)]
    domain: String,
}

/// A cookie value the SDK could have written: 1 to 128 visible ASCII characters without
/// `"`, `,`, `;` or `\`.
fn id_ok(id: &str) -> bool {
    (1..=128).contains(&id.len())
        && id
            .bytes()
            .all(|b| (0x21..0x7f).contains(&b) && !matches!(b, b'"' | b',' | b';' | b'\\'))
}

/// The request's host, without a port.
fn request_host(headers: &HeaderMap) -> Option<String> {
    let host = headers
        .get("x-forwarded-host")
        .or_else(|| headers.get(header::HOST))?
        .to_str()
        .ok()?;
    let host = host.split(',').next()?.trim();
    let host = if host.starts_with('[') {
        host.split_inclusive(']').next()?
    } else {
        host.split(':').next()?
    };
    Some(host.to_ascii_lowercase())
}

/// Whether the request comes from the site itself (see the module's documentation).
fn same_site(headers: &HeaderMap) -> bool {
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(site) = text("sec-fetch-site") {
        return matches!(
            site.to_ascii_lowercase().as_str(),
            "same-origin" | "same-site" | "none"
        );
    }
    let Some(origin) = text("origin") else {
        // Neither header: not a browser's cross-site request.
        return true;
    };
    let Some(origin_host) = origin
        .split_once("://")
        .map(|(_, rest)| {
            rest.split(':')
                .next()
                .unwrap_or_default()
                .to_ascii_lowercase()
        })
        .filter(|h| !h.is_empty())
    else {
        // `Origin: null` (a sandboxed or opaque page) and anything unreadable.
        return false;
    };
    let host = request_host(headers).unwrap_or_default();
    let under = |a: &str, b: &str| a == b || a.ends_with(&format!(".{b}"));
    under(&host, &origin_host) || under(&origin_host, &host)
}

pub(crate) async fn id_cookie(
    headers: HeaderMap,
    form: Result<Form<IdCookie>, FormRejection>,
) -> Result<Response, ApiError> {
    if !same_site(&headers) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "the id cookie is set only for the site's own pages (this request came from another site)",
            None,
        ));
    }
    let Form(req) = form.map_err(|e| {
        ApiError::bad_request(
            format!("the body must be form fields anonymousId and domain: {e}"),
            None,
        )
    })?;
    if !id_ok(&req.anonymous_id) {
        return Err(ApiError::bad_request(
            "must be 1 to 128 visible ASCII characters without quotes, commas, semicolons or backslashes",
            Some("anonymousId"),
        ));
    }
    let mut cookie = format!(
        "{COOKIE}={}; Path=/; Max-Age={MAX_AGE_S}; SameSite=Lax",
        req.anonymous_id
    );
    let domain = req.domain.trim_start_matches('.').to_ascii_lowercase();
    if !domain.is_empty() {
        // Only the request's own host or a domain it belongs to: the browser would refuse
        // any other, and naming one here would be a way to write cookies elsewhere.
        let host = request_host(&headers).unwrap_or_default();
        let within = host == domain || host.ends_with(&format!(".{domain}"));
        if !within || !domain.contains('.') {
            return Err(ApiError::bad_request(
                format!("must be the request's host ({host}) or a domain it belongs to"),
                Some("domain"),
            ));
        }
        cookie.push_str("; Domain=");
        cookie.push_str(&domain);
    }
    let https = headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|p| p.eq_ignore_ascii_case("https"));
    if https {
        cookie.push_str("; Secure");
    }
    let value = HeaderValue::from_str(&cookie).map_err(|_| ApiError::internal("cookie"))?;
    Ok((
        StatusCode::NO_CONTENT,
        [
            (header::SET_COOKIE, value),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
    )
        .into_response())
}
