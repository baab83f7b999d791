//! The error every route answers with: a status and `{"error": "...", "field": ...}`. A refused
//! query string is a 400 naming the parameter ([`ApiError::query`]).

use axum::extract::rejection::QueryRejection;
use axum::extract::Query;
use axum::http::header::{self, HeaderValue};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use crate::encoding::ACCEPTED_CODINGS;
use crate::validate::Invalid;

/// An error answered as `{"error": "...", "field": ...}`.
#[derive(Debug)]
pub(crate) struct ApiError {
    status: StatusCode,
    message: String,
    field: Option<String>,
}

impl ApiError {
    pub(crate) fn new(
        status: StatusCode,
        message: impl Into<String>,
        field: Option<String>,
    ) -> Self {
        ApiError {
            status,
            message: message.into(),
            field,
        }
    }

    pub(crate) fn bad_request(message: impl Into<String>, field: Option<&str>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message, field.map(str::to_owned))
    }

    /// The offending field, if any.
    #[cfg(test)]
    pub(crate) fn field(&self) -> Option<&str> {
        self.field.as_deref()
    }

    /// The message.
    #[cfg(test)]
    pub(crate) fn message(&self) -> &str {
        &self.message
    }

    /// 400 for a query string axum's `Query<T>` refused (`rejection`), naming the parameter
    /// at fault: each `key=value` of `uri` is read alone as `T` (every parameter of ours is
    /// optional), so the first one `T` refuses is the one; a parameter given twice is named
    /// too. Only a query string that is not one at all gets axum's text.
    pub(crate) fn query<T: serde::de::DeserializeOwned>(
        uri: &Uri,
        rejection: &QueryRejection,
    ) -> ApiError {
        let mut seen: Vec<String> = Vec::new();
        for pair in uri.query().unwrap_or_default().split('&') {
            let Ok(alone) = format!("/?{pair}").parse::<Uri>() else {
                continue;
            };
            let key = match Query::<Vec<(String, String)>>::try_from_uri(&alone) {
                Ok(Query(pairs)) => match pairs.into_iter().next() {
                    Some((key, _)) => key,
                    None => continue,
                },
                Err(_) => continue,
            };
            if let Err(e) = Query::<T>::try_from_uri(&alone) {
                let text = e.body_text();
                let detail = text
                    .strip_prefix("Failed to deserialize query string: ")
                    .unwrap_or(&text);
                let detail = detail.strip_prefix(&format!("{key}: ")).unwrap_or(detail);
                let message = if detail.starts_with("unknown field") {
                    let known: Vec<&str> = detail
                        .split_once(", expected")
                        .map(|(_, list)| list.split('`').skip(1).step_by(2).collect())
                        .unwrap_or_default();
                    match known.as_slice() {
                        [] => format!("unknown query parameter '{key}': this endpoint takes none"),
                        names => format!(
                            "unknown query parameter '{key}': this endpoint takes {}",
                            names.join(", ")
                        ),
                    }
                } else if detail.starts_with("must ") {
                    format!("{key} {detail}")
                } else {
                    format!("{key}: {detail}")
                };
                return ApiError::bad_request(message, Some(&key));
            }
            if seen.contains(&key) {
                return ApiError::bad_request(format!("{key} is given more than once"), Some(&key));
            }
            seen.push(key);
        }
        ApiError::bad_request(format!("bad query string: {}", rejection.body_text()), None)
    }

    /// A failure of the collector itself (the database, a task): the caller gets "internal
    /// error" and an id; the details, which may name tables, SQL or the driver, go to the
    /// log under that id.
    pub(crate) fn internal(message: impl Into<String>) -> Self {
        let mut id = [0u8; 6];
        // Without randomness the id is still unique enough in a log read by time.
        let _ = getrandom::fill(&mut id);
        let id: String = id.iter().map(|b| format!("{b:02x}")).collect();
        eprintln!(
            "shoptrail-collector: internal error {id}: {}",
            message.into()
        );
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("internal error (id {id}; the details are in the collector's log)"),
            None,
        )
    }

    pub(crate) fn too_large(max_body: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("request body is larger than the limit of {max_body} bytes"),
            None,
        )
    }
}

impl From<Invalid> for ApiError {
    fn from(e: Invalid) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, e.message, e.field)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({ "error": self.message, "field": self.field });
        let mut response = (self.status, Json(body)).into_response();
        if self.status == StatusCode::UNSUPPORTED_MEDIA_TYPE {
            // What a body may be compressed with (RFC 9110 section 15.5.16).
            response.headers_mut().insert(
                header::ACCEPT_ENCODING,
                HeaderValue::from_static(ACCEPTED_CODINGS),
            );
        }
        response
    }
}
