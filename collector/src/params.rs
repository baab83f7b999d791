//! Query parameters. Each endpoint that takes some declares them as one
//! `#[derive(Deserialize)]` struct and reads it with [`Params`], axum's `Query` whose
//! rejection is an [`ApiError`] 400 naming the parameter (see [`ApiError::query`]). The read
//! and admin routes' structs refuse parameters they do not know (`deny_unknown_fields`);
//! ingestion ignores them, as clients of Segment's API may add their own. Each value is read
//! by [`opt`] through its [`Param`] impl: an empty value (`?limit=`) is no value, as forms
//! and URL templates send them.

use axum::extract::{FromRequestParts, Query};
use axum::http::request::Parts;
use axum::http::Uri;
use serde::de::{DeserializeOwned, Error as _};
use serde::{Deserialize, Deserializer};

use crate::error::ApiError;

/// An endpoint's query parameters, `T`; a query string `T` refuses is a 400 naming the
/// parameter.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Params<T>(pub T);

impl<T, S> FromRequestParts<S> for Params<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        read(&parts.uri).map(Params)
    }
}

/// The query string of `uri` as `T`, or the 400 it gets.
pub(crate) fn read<T: DeserializeOwned>(uri: &Uri) -> Result<T, ApiError> {
    Query::<T>::try_from_uri(uri)
        .map(|Query(t)| t)
        .map_err(|rejection| ApiError::query::<T>(uri, &rejection))
}

/// A value one query parameter holds, read from its text; the error says what it must be
/// and is read after the parameter's name (`limit must be ..., not '...'`).
pub(crate) trait Param: Sized {
    /// The value `text` gives.
    fn parse(text: &str) -> Result<Self, String>;
}

impl Param for String {
    fn parse(text: &str) -> Result<String, String> {
        Ok(text.to_owned())
    }
}

impl Param for i64 {
    fn parse(text: &str) -> Result<i64, String> {
        text.parse()
            .map_err(|_| format!("must be an integer, not '{text}'"))
    }
}

/// `deserialize_with` of an optional parameter (with `#[serde(default)]`): its [`Param`],
/// none when it is empty.
pub(crate) fn opt<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Param,
{
    let text = String::deserialize(deserializer)?;
    if text.is_empty() {
        return Ok(None);
    }
    T::parse(&text).map(Some).map_err(D::Error::custom)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields, rename_all = "camelCase")]
    struct Q {
        #[serde(default, deserialize_with = "opt")]
        limit: Option<i64>,
        #[serde(default, deserialize_with = "opt")]
        user_id: Option<String>,
    }

    fn q(query: &str) -> Result<Q, ApiError> {
        read(&format!("/x?{query}").parse::<Uri>().expect("a URI"))
    }

    #[test]
    fn reads_values_and_names_the_bad_parameter() {
        assert_eq!(
            q("limit=5&userId=u%201").expect("valid"),
            Q {
                limit: Some(5),
                user_id: Some("u 1".into())
            }
        );
        assert_eq!(
            q("limit=&userId=").expect("empty is absent"),
            Q {
                limit: None,
                user_id: None
            }
        );
        let e = q("userId=u&limit=five").expect_err("refused");
        assert_eq!(e.field(), Some("limit"));
        assert_eq!(e.message(), "limit must be an integer, not 'five'");
        let e = q("limit=1&lmit=2").expect_err("refused");
        assert_eq!(e.field(), Some("lmit"));
        assert_eq!(
            e.message(),
            "unknown query parameter 'lmit': this endpoint takes limit, userId"
        );
        let e = q("limit=1&limit=2").expect_err("refused");
        assert_eq!(e.field(), Some("limit"));
        assert_eq!(e.message(), "limit is given more than once");
    }
}
