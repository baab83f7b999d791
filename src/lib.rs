//! shoptrail: storefront analytics for the browser.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod core;
