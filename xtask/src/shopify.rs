//! The Shopify app in `shopify/`: its npm packages, the two scripts `cargo xtask build` writes
//! to dist/ (the storefront part the app embed loads, and the web pixel bundled with Shopify's
//! `@shopify/web-pixels-extension`, as Shopify's CLI would), and theme-check on the embed.

use crate::tasks::bundle;
use crate::tools::{self, cmd, root, run, Result};

/// Brotli bytes of the Shopify scripts.
#[derive(Debug, Clone, Copy)]
pub struct ShopifySizes {
    /// dist/shoptrail-shopify.js: on Shopify storefront pages, beside the tracker.
    pub part: usize,
    /// dist/shoptrail-pixel.js: the web pixel, on every storefront and checkout page.
    pub pixel: usize,
}

/// Bundles the storefront part and the web pixel into dist/ and prints their sizes.
pub fn build() -> Result<ShopifySizes> {
    let root = root();
    let app = root.join("shopify");
    tools::npm_ci(&app)?;
    let dist = root.join("dist");
    let part = dist.join("shoptrail-shopify.js");
    let pixel = dist.join("shoptrail-pixel.js");
    bundle(
        &app.join("extensions/shoptrail-embed/assets/shoptrail-shopify.js"),
        &part,
        "shoptrail for Shopify storefronts",
    )?;
    bundle(
        &app.join("extensions/shoptrail-pixel/src/index.js"),
        &pixel,
        "shoptrail web pixel",
    )?;
    let (_, _, part) = crate::sizes::size_report(&[part])?;
    let (_, _, pixel) = crate::sizes::size_report(&[pixel])?;
    Ok(ShopifySizes { part, pixel })
}

/// Theme-check on the app embed, with Shopify's rules for theme app extensions.
pub fn check() -> Result {
    let app = root().join("shopify");
    tools::npm_ci(&app)?;
    run(cmd("node").arg("check.mjs").current_dir(&app))
}
