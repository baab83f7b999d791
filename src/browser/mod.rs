//! The browser adapters: they move bytes between the core and the web platform.

pub mod platform;
pub mod runtime;
