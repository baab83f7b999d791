//! The sans-IO core: every decision the SDK makes, as plain data and state machines.
//!
//! Nothing here touches a clock, storage, the network or the DOM: time, randomness and
//! browser facts come in as arguments. It builds and is tested on the host with `cargo test`.

pub mod args;
pub mod boundary;
pub mod campaign;
pub mod commerce;
pub mod config;
pub mod consent;
pub mod destination;
pub mod early;
pub mod engine;
pub mod event;
pub mod id;
pub mod identity;
pub mod json;
pub mod link;
pub mod money;
pub mod page;
pub mod pii;
pub mod profile;
pub mod queue;
pub mod rules;
pub mod store;
pub mod time;
