//! `cargo xtask <command>`: the project's own build, demo and test commands.
//!
//! - `setup`  installs what is missing, at pinned versions; a second run does no work.
//! - `build`  builds `pkg/` (npm package) and `dist/` (script tag), optimized, and prints sizes.
//! - `demo`   setup + build, then serves the demo store and the collector (`--port N`).
//! - `size`   build, then the size of what a shopper downloads, the budget, and twiggy's top items;
//!   `--options` adds what each option a build can leave out costs.
//! - `test`   setup + lint + every test suite; exits non-zero on any failure.
//! - `bench`  shoptrail side by side with other analytics SDKs in headless Chromium.
//! - `fuzz`   the cargo-fuzz targets (nightly, libFuzzer) for 60 s each, or `--seconds N`;
//!   `test` runs each for 5 s.
//! - `load`   the release collector under concurrent clients POSTing batches on loopback
//!   (`--clients N --batch N --events N --seconds N --instances N`): events/s, p50 and p99;
//!   `--postgres` stores the events in a throwaway PostgreSQL cluster instead of SQLite.
//! - `postgres [--tls]` a throwaway PostgreSQL cluster (no fsync, trust authentication; with
//!   `--tls`, TLS connections only, a self-signed certificate for `localhost`): prints its URL
//!   for the collector's `--db` and runs until Enter, end of input or Ctrl-C.
//! - `api`    rewrites what `pkg-config/api.json` generates in committed files (the method table
//!   of `js/host.js`, the snippet and tables of the READMEs); `--check` only verifies them.

mod api;
mod bots;
mod load;
mod minify;
mod postgres;
mod shopify;
mod sizes;
mod tasks;
mod tools;
mod wasm_check;

use std::process::ExitCode;

const USAGE: &str =
    "usage: cargo xtask <setup | build | size [--options] | demo [--port N] | test [--skip-lint] | bench | fuzz [--seconds N] [TARGET...] | load [--clients N] [--batch N] [--events N] [--seconds N] [--instances N] [--postgres] | postgres [--tls] | api [--check] | bots [--check]>";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("setup") => tools::setup(),
        Some("build") => tools::setup_build().and_then(|_| tasks::build().map(|_| ())),
        Some("demo") => tasks::demo(&args[1..]),
        Some("test") => tasks::test(&args[1..]),
        Some("size") => sizes::size(&args[1..]),
        Some("bench") => tasks::bench(&args[1..]),
        Some("fuzz") => tasks::fuzz(&args[1..]),
        Some("load") => load::load(&args[1..]),
        Some("postgres") => postgres::serve(&args[1..]),
        Some("bots") => bots::bots(&args[1..]),
        Some("api") => match &args[1..] {
            [] => api::sync(false),
            [flag] if flag == "--check" => api::sync(true),
            _ => Err(format!("unknown api option: {}", args[1..].join(" "))),
        },
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("\nxtask: {e}");
            ExitCode::FAILURE
        }
    }
}
