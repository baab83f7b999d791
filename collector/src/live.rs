//! The self-contained live page served at `/_shoptrail/`.

/// HTML, CSS and JavaScript of the live page, with no external assets.
pub(crate) const PAGE: &str = include_str!("live.html");
