//! Request bodies as sent or inflated: `Content-Encoding` (gzip, deflate, identity) and
//! `?compression=gzip`, with the inflated size capped while inflating.

use axum::body::Bytes;
use axum::http::header;
use axum::http::StatusCode;

use crate::error::ApiError;
use crate::state::AppState;

/// How many times `--max-body` a compressed body may inflate to (a guard against zip bombs,
/// checked while inflating); 413 over it.
pub(crate) const INFLATE_FACTOR: usize = 16;

/// How a request body is compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Coding {
    Identity,
    Gzip,
    /// HTTP's `deflate`: zlib-wrapped DEFLATE (RFC 9110 section 8.4.1.2).
    Deflate,
}

impl Coding {
    fn name(self) -> &'static str {
        match self {
            Coding::Identity => "identity",
            Coding::Gzip => "gzip",
            Coding::Deflate => "deflate",
        }
    }
}

/// What `Accept-Encoding` names on a 415: the codings a body may come in.
pub(crate) const ACCEPTED_CODINGS: &str = "gzip, deflate, identity";

/// The body's coding from its `Content-Encoding` header (`gzip` or `x-gzip`, `deflate`,
/// `identity` or none), and from `?compression=gzip` on `/v1/batch` (said in the URL because
/// the header costs browsers a CORS preflight). Anything else, more than one coding, or a
/// header and a URL that disagree answer 415 with the codings accepted.
fn body_coding(headers: &axum::http::HeaderMap, url_gzip: bool) -> Result<Coding, ApiError> {
    let mut coding = Coding::Identity;
    for value in headers.get_all(header::CONTENT_ENCODING) {
        let text = value.to_str().unwrap_or("?");
        for token in text.split(',').map(str::trim).filter(|t| !t.is_empty()) {
            let this = match token.to_ascii_lowercase().as_str() {
                "identity" => continue,
                "gzip" | "x-gzip" => Coding::Gzip,
                "deflate" => Coding::Deflate,
                _ => {
                    return Err(unsupported(format!(
                        "Content-Encoding '{token}' is not supported: send the body as \
                         gzip, deflate or identity (uncompressed)"
                    )))
                }
            };
            if coding != Coding::Identity {
                return Err(unsupported(format!(
                    "Content-Encoding '{text}' names more than one coding: send the body \
                     compressed once, as gzip or deflate"
                )));
            }
            coding = this;
        }
    }
    match (url_gzip, coding) {
        (false, c) => Ok(c),
        (true, Coding::Identity | Coding::Gzip) => Ok(Coding::Gzip),
        (true, other) => Err(unsupported(format!(
            "the URL says compression=gzip but Content-Encoding says '{}'",
            other.name()
        ))),
    }
}

/// Whether `?compression=` says gzip: `gzip` does, `identity` (or none) says the body is
/// plain; any other coding is refused with 415, naming the parameter.
pub(crate) fn url_coding(compression: Option<&str>) -> Result<bool, ApiError> {
    match compression {
        None | Some("identity") => Ok(false),
        Some("gzip") => Ok(true),
        Some(other) => Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!(
                "compression '{other}' is not supported: say compression=gzip, or send the body \
                 uncompressed"
            ),
            Some("compression".into()),
        )),
    }
}

/// 415: the body's coding is not one of [`ACCEPTED_CODINGS`].
fn unsupported(message: String) -> ApiError {
    ApiError::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, message, None)
}

/// The body as sent, or inflated: honours `Content-Encoding` (and `?compression=gzip` when
/// `url_gzip`), stopping with 413 once the inflated bytes pass [`INFLATE_FACTOR`] times
/// `--max-body`.
pub(crate) fn decode_body(
    state: &AppState,
    headers: &axum::http::HeaderMap,
    url_gzip: bool,
    body: Bytes,
) -> Result<Bytes, ApiError> {
    match body_coding(headers, url_gzip)? {
        Coding::Identity => Ok(body),
        coding => {
            let limit = state.max_body.saturating_mul(INFLATE_FACTOR);
            inflate(&body, coding, limit).map(Bytes::from)
        }
    }
}

/// Inflates `data`, reading at most `limit` bytes and one more: a body that inflates past
/// `limit` is refused (413) without inflating the rest.
fn inflate(data: &[u8], coding: Coding, limit: usize) -> Result<Vec<u8>, ApiError> {
    use std::io::Read;
    let mut out = Vec::with_capacity(data.len().saturating_mul(8).min(limit));
    let cap = u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1);
    let read = match coding {
        Coding::Gzip => flate2::read::MultiGzDecoder::new(data)
            .take(cap)
            .read_to_end(&mut out),
        Coding::Deflate => flate2::read::ZlibDecoder::new(data)
            .take(cap)
            .read_to_end(&mut out),
        Coding::Identity => return Ok(data.to_vec()),
    };
    read.map_err(|e| {
        ApiError::bad_request(format!("body is not valid {}: {e}", coding.name()), None)
    })?;
    if out.len() > limit {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "the inflated body is larger than the limit of {limit} bytes \
                 ({INFLATE_FACTOR} times --max-body)"
            ),
            None,
        ));
    }
    Ok(out)
}
