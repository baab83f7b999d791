//! What a shopper downloads: the size report `cargo xtask build` prints, `cargo xtask size`
//! (where the bytes go, each optional option's cost) and the budgets of `size-budget.txt`.

use crate::tasks::{bindgen, build, cargo_wasm, cargo_wasm_with, fs_err, read};
use crate::tools::{self, cmd, root, run, Result};
use std::path::{Path, PathBuf};

/// Brotli bytes of what a shopper downloads: the tracker (script tag) on every page, the engage
/// module only on pages with campaigns.
#[derive(Debug, Clone, Copy)]
pub struct Sizes {
    /// dist/shoptrail.js + dist/shoptrail.wasm.
    pub tracker: usize,
    /// dist/shoptrail.js + dist/shoptrail-lite.wasm: what a page whose config names none of
    /// `config::OPTIONAL` downloads.
    pub tracker_lite: usize,
    /// dist/shoptrail-engage.js + dist/shoptrail-engage.wasm.
    pub engage: usize,
    /// dist/shoptrail-consent.js: the consent adapters, only where `consent.from` or
    /// `consent.gcm` is configured.
    pub consent: usize,
    /// The Shopify storefront part and web pixel (`crate::shopify`).
    pub shopify: crate::shopify::ShopifySizes,
}

pub(crate) fn compressed(path: &Path, program: &str, args: &[&str]) -> Result<usize> {
    let out = cmd(program)
        .args(args)
        .arg(path)
        .output()
        .map_err(|e| format!("{program}: {e}"))?;
    if !out.status.success() {
        return Err(format!("{program} failed on {}", path.display()));
    }
    Ok(out.stdout.len())
}

/// Raw, gzip and brotli bytes of each file and of all of them together.
pub(crate) fn size_report(files: &[PathBuf]) -> Result<(usize, usize, usize)> {
    let mut total = (0, 0, 0);
    eprintln!(
        "\n{:<28} {:>9} {:>9} {:>9}",
        "what a shopper downloads", "raw", "gzip -9", "brotli"
    );
    for f in files {
        let raw = std::fs::metadata(f).map_err(fs_err(f))?.len() as usize;
        let gz = compressed(f, "gzip", &["-9", "-c"])?;
        let br = compressed(f, "brotli", &["-q", "11", "-c"])?;
        let name = f.strip_prefix(root()).unwrap_or(f).display().to_string();
        eprintln!("{name:<28} {raw:>9} {gz:>9} {br:>9}");
        total = (total.0 + raw, total.1 + gz, total.2 + br);
    }
    eprintln!(
        "{:<28} {:>9} {:>9} {:>9}\n",
        "total", total.0, total.1, total.2
    );
    Ok(total)
}

/// `cargo xtask size [--options]`: build, print sizes and the largest items of the wasm; with
/// `--options`, what each option a build can leave out (`config::OPTIONAL`) costs.
pub fn size(args: &[String]) -> Result {
    let options = match args {
        [] => false,
        [a] if a == "--options" => true,
        _ => return Err("usage: cargo xtask size [--options]".into()),
    };
    tools::setup_build()?;
    let sizes = build()?;
    if options {
        option_costs()?;
    }
    let wasm = root().join("target/shipped/wasm32-unknown-unknown/release/shoptrail_tracker.wasm");
    let bytes = std::fs::read(&wasm).map_err(fs_err(&wasm))?;
    let cats = crate::wasm_check::categories(&bytes)?;
    // The previous run's breakdown, to show what a change did.
    let last_path = root().join("target/size-categories.txt");
    let last: Vec<(String, usize)> = std::fs::read_to_string(&last_path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| {
            let (n, k) = l.split_once('\t')?;
            Some((k.to_string(), n.parse().ok()?))
        })
        .collect();
    eprintln!(
        "\nwasm before wasm-bindgen and wasm-opt, by where the bytes come from (raw bytes; \
         the shipped wasm is smaller):\n"
    );
    eprintln!("{:>8} {:>8}  category", "bytes", "last run");
    let mut saved = String::new();
    for (cat, n) in &cats {
        let before = last
            .iter()
            .find(|(k, _)| k == cat)
            .map(|(_, v)| v.to_string())
            .unwrap_or_else(|| "-".into());
        eprintln!("{n:>8} {before:>8}  {cat}");
        saved.push_str(&format!("{n}\t{cat}\n"));
    }
    let _ = std::fs::write(&last_path, saved);
    if tools::cargo_bin().join("twiggy").exists() {
        run(cmd("twiggy").args(["top", "-n", "25"]).arg(&wasm))?;
    } else {
        eprintln!("(install twiggy with `cargo install twiggy --locked` for a breakdown)");
    }
    check_budget(sizes)
}

/// api.json's optional options and their cargo features, in api.json's order.
pub(crate) fn optional_options() -> Result<Vec<(String, String)>> {
    Ok(crate::api::Api::load()?
        .options
        .into_iter()
        .filter_map(|o| Some((o.name, o.optional?)))
        .collect())
}

/// Brotli bytes of the tracker's optimized wasm built with `args` (wasm-bindgen's `web` glue
/// and wasm-opt, as shipped).
fn tracker_variant(args: &[&str]) -> Result<usize> {
    let wasm = cargo_wasm_with("shoptrail-tracker", args)?;
    let out = root().join("target/shipped/variant");
    let _ = std::fs::remove_dir_all(&out);
    bindgen(&wasm, "web", &out, "shoptrail")?;
    compressed(
        &out.join("shoptrail_bg.wasm"),
        "brotli",
        &["-c", "-q", "11"],
    )
}

/// Prints what each optional option adds to the tracker's wasm: the build without any, then
/// that build with each one alone.
fn option_costs() -> Result {
    let none = tracker_variant(&["--no-default-features"])?;
    let mut rows = Vec::new();
    for (option, feature) in optional_options()? {
        let with = tracker_variant(&[
            "--no-default-features",
            "--features",
            &format!("shoptrail/{feature}"),
        ])?;
        rows.push((option, with as i64 - none as i64));
    }
    // The shipped build again, so that target/ holds it as `build` left it.
    cargo_wasm("shoptrail-tracker")?;
    eprintln!("\ntracker wasm (brotli 11) without any optional option: {none} B; each alone adds:");
    for (option, extra) in rows {
        eprintln!("  {option:<18} {extra:>+6} B");
    }
    Ok(())
}

/// The brotli budget of `what` (`tracker` or `engage`), kept in `size-budget.txt` as a line
/// `what bytes`.
pub fn budget(what: &str) -> Result<usize> {
    let path = root().join("size-budget.txt");
    read(&path)?
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .find_map(|l| {
            let (name, bytes) = l.trim().split_once(char::is_whitespace)?;
            (name == what).then(|| bytes.trim().parse().ok())?
        })
        .ok_or_else(|| format!("{}: no `{what} <bytes>` line", path.display()))
}

/// Fails when the tracker or the engage module is over its budget.
pub(crate) fn check_budget(sizes: Sizes) -> Result {
    for (what, br, file) in [
        ("tracker", sizes.tracker, "dist/shoptrail.{js,wasm}"),
        (
            "tracker-lite",
            sizes.tracker_lite,
            "dist/shoptrail.js + dist/shoptrail-lite.wasm",
        ),
        ("engage", sizes.engage, "dist/shoptrail-engage.{js,wasm}"),
        ("consent", sizes.consent, "dist/shoptrail-consent.js"),
        ("shopify", sizes.shopify.part, "dist/shoptrail-shopify.js"),
        (
            "shopify-pixel",
            sizes.shopify.pixel,
            "dist/shoptrail-pixel.js",
        ),
    ] {
        let budget = budget(what)?;
        if br > budget {
            return Err(format!(
                "{what} ({file}) is {br} B brotli, over its budget of {budget} B in size-budget.txt"
            ));
        }
        eprintln!("size: {what} {br} B brotli, within its budget of {budget} B");
    }
    Ok(())
}
