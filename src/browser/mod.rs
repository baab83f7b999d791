//! The browser adapters: they move bytes between the core and the web platform.

pub mod capture;
pub mod platform;
pub mod runtime;
pub mod shop;
