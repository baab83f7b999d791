//! What the collector's outgoing HTTP (journey webhooks, forwarding) shares: the client, the
//! random owner id of leases, the `Retry-After` asked for, and error texts.

use std::time::Duration;

/// An HTTP client that gives up after `timeout`, follows no redirect and names itself.
pub(crate) fn client(timeout: Duration) -> std::io::Result<reqwest::Client> {
    reqwest::Client::builder()
        .timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("shoptrail-collector/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(std::io::Error::other)
}

/// A random id naming this process in the leases it takes.
pub(crate) fn owner_id() -> std::io::Result<String> {
    let mut raw = [0u8; 8];
    getrandom::fill(&mut raw).map_err(std::io::Error::other)?;
    Ok(raw.iter().map(|b| format!("{b:02x}")).collect())
}

/// The `Retry-After` of an answer in milliseconds (seconds only, at most `max_s`).
pub(crate) fn retry_after(r: &reqwest::Response, max_s: i64) -> Option<i64> {
    r.headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<i64>().ok())
        .map(|s| s.clamp(0, max_s) * 1000)
}

/// An HTTP client error with its causes, for `last_error`.
pub(crate) fn error_text(e: &reqwest::Error) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text = format!("{text}: {s}");
        source = s.source();
    }
    text
}
