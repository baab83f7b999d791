//! `cargo xtask <command>`: the project's own build, demo and test commands.
//!
//! - `setup`  installs what is missing, at pinned versions; a second run does no work.
//! - `build`  builds `pkg/` (npm package) and `dist/` (script tag), optimized, and prints sizes.
//! - `demo`   setup + build, then serves the demo store and the collector (`--port N`).
//! - `test`   setup + lint + every test suite; exits non-zero on any failure.

mod tasks;
mod tools;

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("setup") => tools::setup(),
        Some("build") => tools::setup_build().and_then(|_| tasks::build().map(|_| ())),
        Some("demo") => tasks::demo(&args[1..]),
        Some("test") => tasks::test(&args[1..]),
        Some("size") => tools::setup_build()
            .and_then(|_| tasks::build())
            .map(|_| ()),
        _ => {
            eprintln!("usage: cargo xtask <setup | build | demo [--port N] | test [--skip-lint]>");
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
