//! The engage module's sans-IO core: every decision about campaigns, as plain data and state
//! machines, tested on the host with `cargo test`. Time, the shopper's profile and the page's
//! facts come in as arguments.

pub mod campaign;
pub mod cap;
pub mod detect;
pub mod experiment;
pub mod form;
pub mod runner;
pub mod session;
pub mod strict;
pub mod target;
pub mod template;
