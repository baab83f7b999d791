//! What the collector's outgoing HTTP (journey webhooks, forwarding) shares: the client, the
//! random owner id of leases, one call and what its answer means, and the background loop.

use std::future::Future;
use std::time::Duration;

use tokio::sync::watch;

/// How one call went.
#[derive(Debug)]
pub(crate) enum Answer {
    /// A 2xx, with its status.
    Ok(u16),
    /// Anything else: the status (none when no answer came), a text for `last_error`, and
    /// the wait the answer's `Retry-After` asked for, in milliseconds.
    Failed {
        status: Option<u16>,
        error: String,
        retry_after: Option<i64>,
    },
}

/// Sends `request`: a 2xx is [`Answer::Ok`]; otherwise the status, the start of the answer's
/// body and its `Retry-After` (at most `max_retry_s`), or the error and its causes.
pub(crate) async fn send(request: reqwest::RequestBuilder, max_retry_s: i64) -> Answer {
    match request.send().await {
        Ok(r) if r.status().is_success() => Answer::Ok(r.status().as_u16()),
        Ok(r) => {
            let retry_after = retry_after(&r, max_retry_s);
            let status = r.status().as_u16();
            let text = r.text().await.unwrap_or_default();
            let snippet: String = text.chars().take(200).collect();
            Answer::Failed {
                status: Some(status),
                error: format!("HTTP {status} {}", snippet.trim())
                    .trim_end()
                    .to_owned(),
                retry_after,
            }
        }
        Err(e) => Answer::Failed {
            status: None,
            error: error_text(&e),
            retry_after: None,
        },
    }
}

/// Runs `round` every `every` until `shutdown`.
pub(crate) async fn every<F, R>(mut shutdown: watch::Receiver<bool>, every: Duration, mut round: F)
where
    F: FnMut() -> R,
    R: Future,
{
    loop {
        tokio::select! {
            _ = shutdown.wait_for(|stop| *stop) => return,
            _ = tokio::time::sleep(every) => {}
        }
        round().await;
    }
}

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
fn retry_after(r: &reqwest::Response, max_s: i64) -> Option<i64> {
    r.headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<i64>().ok())
        .map(|s| s.clamp(0, max_s) * 1000)
}

/// An HTTP client error with its causes, for `last_error`.
fn error_text(e: &reqwest::Error) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text = format!("{text}: {s}");
        source = s.source();
    }
    text
}
