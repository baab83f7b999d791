//! The live page served at `/_shoptrail/` and its metrics view's assets: the dashboard script
//! and stylesheet, and uPlot (1.6.32, MIT, from its npm package; see `dashboard/vendor/`),
//! all compiled into the binary: nothing is fetched from elsewhere.

use axum::extract::Path;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

/// HTML, CSS and JavaScript of the live page.
pub(crate) const PAGE: &str = include_str!("live.html");

/// The assets under `/_shoptrail/`: name, content type, bytes.
const ASSETS: [(&str, &str, &str); 4] = [
    (
        "dashboard.js",
        "text/javascript; charset=utf-8",
        include_str!("dashboard/dashboard.js"),
    ),
    (
        "dashboard.css",
        "text/css; charset=utf-8",
        include_str!("dashboard/dashboard.css"),
    ),
    (
        "uplot.js",
        "text/javascript; charset=utf-8",
        include_str!("dashboard/vendor/uPlot.iife.min.js"),
    ),
    (
        "uplot.css",
        "text/css; charset=utf-8",
        include_str!("dashboard/vendor/uPlot.min.css"),
    ),
];

/// `GET /_shoptrail/{asset}`.
pub(crate) async fn asset(Path(name): Path<String>) -> Response {
    match ASSETS.iter().find(|a| a.0 == name) {
        Some((_, kind, body)) => (
            [
                (header::CONTENT_TYPE, *kind),
                (header::CACHE_CONTROL, "no-cache"),
                (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            ],
            *body,
        )
            .into_response(),
        None => (StatusCode::NOT_FOUND, "no such asset").into_response(),
    }
}
