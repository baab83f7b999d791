//! The rules an option's value must meet that `init`'s options and each destination share:
//! what an endpoint URL and a write key must be, how a URL is made absolute, and the error that
//! names the option. A leaf: `config` and `destination` both read it, and it reads neither.

use crate::prelude::*;

/// Makes a URL option absolute: the browser's URL parser against the page's address.
pub type Resolve<'a> = &'a dyn Fn(&str) -> String;

/// An invalid option: which one and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The option's name, such as `batchSize`.
    pub option: String,
    /// What is wrong and what is expected.
    pub message: &'static str,
}

/// What a `writeKey` must be.
pub const WRITE_KEY: &str = "must be a non-empty string of at most 256 characters";

/// What an endpoint URL must be.
pub const HTTP_URL: &str =
    "must be an http(s) URL string, such as https://collect.example.com/v1/batch";

/// What is wrong with an endpoint URL, if anything: it is http(s), and https unless it is on
/// this machine or `insecure` (`allowInsecureEndpoint`): events travel encrypted.
pub fn endpoint_rule(url: &str, insecure: bool) -> Option<&'static str> {
    if !url.starts_with("https://") && !url.starts_with("http://") {
        return Some(HTTP_URL);
    }
    if !url.starts_with("https://") && !is_loopback(url) && !insecure {
        return Some(
            "must be https (http only on this machine, or with allowInsecureEndpoint: true)",
        );
    }
    None
}

/// Whether an http URL's host is this machine (localhost, 127.0.0.0/8, [::1]).
fn is_loopback(url: &str) -> bool {
    let rest = url.strip_prefix("http://").unwrap_or(url).as_bytes();
    let end = rest
        .iter()
        .position(|&b| matches!(b, b':' | b'/' | b'?' | b'#'))
        .unwrap_or(rest.len());
    let host = rest.get(..end).unwrap_or_default();
    host.eq_ignore_ascii_case(b"localhost")
        || rest.starts_with(b"[::1]")
        || (host.starts_with(b"127.") && host.iter().all(|b| b.is_ascii_digit() || *b == b'.'))
}
