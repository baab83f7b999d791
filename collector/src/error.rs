//! The error every route answers with: a status and `{"error": "...", "field": ...}`.

use axum::http::header::{self, HeaderValue};
use axum::http::StatusCode;
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
