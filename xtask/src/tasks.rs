//! build, demo and test.

use crate::sizes::{check_budget, optional_options, size_report, Sizes};
use crate::tools::{self, cmd, root, run, Result};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

pub(crate) fn fs_err(what: &Path) -> impl Fn(std::io::Error) -> String + '_ {
    move |e| format!("{}: {e}", what.display())
}

fn write(path: &Path, text: &[u8]) -> Result {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(fs_err(dir))?;
    }
    std::fs::write(path, text).map_err(fs_err(path))
}

pub(crate) fn read(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(fs_err(path))
}

fn version() -> Result<String> {
    let manifest = read(&root().join("Cargo.toml"))?;
    let after = manifest
        .split("[package]")
        .nth(1)
        .ok_or("no [package] in Cargo.toml")?;
    after
        .lines()
        .find_map(|l| l.strip_prefix("version = \""))
        .map(|v| v.trim_end_matches('"').to_string())
        .ok_or_else(|| "no package version in Cargo.toml".into())
}

/// wasm-bindgen for `target` into `out` (which the caller has emptied) as `name`.js and
/// `name`_bg.wasm, then wasm-opt.
pub(crate) fn bindgen(wasm: &Path, target: &str, out: &Path, name: &str) -> Result {
    run(cmd("wasm-bindgen")
        .args(["--target", target, "--out-name", name, "--out-dir"])
        .arg(out)
        .arg(wasm))?;
    let bg = out.join(format!("{name}_bg.wasm"));
    // --low-memory-unused: Rust never uses the first 1 KiB of linear memory. The producers
    // and target-features sections only describe the build: browsers do not read them.
    // --converge repeats the passes while they still shrink the module (160 B brotli on the
    // tracker). Inlining functions that have one caller only up to 25 instructions, rather than
    // always, leaves smaller modules (measured: tracker 38,383 -> 38,111 B brotli, engage
    // 70,827 -> about 65,600 B).
    // Then the control flow flattened and rebuilt by the Relooper, and -Oz again: brotli 11,
    // tracker 56,663 -> 56,303 B, lite 53,153 -> 52,786 B, engage 55,859 -> 55,465 B.
    // SHOPTRAIL_WASM_OPT adds wasm-opt flags, to measure a setting before adopting it
    // (for example `-ocimfs 40` to limit inlining).
    let extra = std::env::var("SHOPTRAIL_WASM_OPT").unwrap_or_default();
    run(cmd("wasm-opt")
        .args([
            "-Oz",
            "--converge",
            "--one-caller-inline-max-function-size",
            "25",
            "--low-memory-unused",
            "--strip-producers",
            "--strip-target-features",
            "--flatten",
            "--rereloop",
            "-Oz",
        ])
        .args(extra.split_whitespace())
        .arg(&bg)
        .arg("-o")
        .arg(&bg))
}

/// The Subresource Integrity value (`sha384-<base64>`) of a file.
fn sri(path: &Path) -> Result<String> {
    let out = cmd("sh")
        .arg("-c")
        .arg("openssl dgst -sha384 -binary \"$0\" | openssl base64 -A")
        .arg(path)
        .output()
        .map_err(|e| format!("openssl: {e}"))?;
    let b64 = String::from_utf8_lossy(&out.stdout).trim().to_string();
    if !out.status.success() || b64.len() != 64 {
        return Err(format!("cannot hash {}", path.display()));
    }
    Ok(format!("sha384-{b64}"))
}

/// The JavaScript host module wasm-bindgen copied beside the glue in `out`.
fn host_snippet(out: &Path) -> Result<PathBuf> {
    let snippets = out.join("snippets");
    std::fs::read_dir(&snippets)
        .map_err(fs_err(&snippets))?
        .filter_map(|e| e.ok())
        .map(|e| e.path().join("js/host.js"))
        .find(|p| p.exists())
        .ok_or_else(|| format!("{}: no js/host.js snippet", snippets.display()))
}

/// esbuild: one minified classic script (an IIFE: nothing leaks into the page) from `entry`.
pub(crate) fn bundle(entry: &Path, out: &Path, banner: &str) -> Result {
    run(cmd("esbuild")
        .arg(entry)
        .args([
            "--bundle",
            "--format=iife",
            "--minify",
            "--target=es2020",
            "--log-level=error",
        ])
        .arg(format!("--banner:js=/*! {banner} | MIT OR Apache-2.0 */"))
        .arg(format!("--outfile={}", out.display())))
}

/// `cargo build --release` of `package` for wasm32; the path of its wasm.
pub(crate) fn cargo_wasm(package: &str) -> Result<PathBuf> {
    cargo_wasm_with(package, &[])
}

/// [`cargo_wasm`] with more cargo arguments (features), for measuring a variant: the wasm is
/// overwritten by the next build of the same package.
pub(crate) fn cargo_wasm_with(package: &str, args: &[&str]) -> Result<PathBuf> {
    let mut c = cmd("cargo");
    // The stable toolchain that runs xtask must not leak into the build.
    for var in [
        "CARGO",
        "RUSTC",
        "RUSTUP_TOOLCHAIN",
        "RUSTFLAGS",
        "CARGO_ENCODED_RUSTFLAGS",
    ] {
        c.env_remove(var);
    }
    // The standard library rebuilt with the module, for size, and panics that trap at once:
    // std's panic machinery formats its message (with `Debug` and float formatting) even where
    // nobody reads it. Measured on the optimized wasm, brotli 11: engage 63,017 -> 54,735 B; the
    // tracker, which has no std and a panic handler that traps already: 51,555 -> 50,514 B.
    c.env("RUSTFLAGS", "-Zunstable-options -Cpanic=immediate-abort")
        .arg(format!("+{}", crate::tools::SHIPPED_TOOLCHAIN))
        .args([
            "build",
            "--release",
            "-p",
            package,
            "--target",
            "wasm32-unknown-unknown",
            "-Zbuild-std=std,panic_abort",
            "-Zbuild-std-features=optimize_for_size",
            // Its own directory: other flags than the stable builds of the same crates.
            "--target-dir",
        ])
        .arg(root().join("target/shipped"))
        .args(args);
    run(&mut c)?;
    Ok(root().join(format!(
        "target/shipped/wasm32-unknown-unknown/release/{}.wasm",
        package.replace('-', "_")
    )))
}

/// wasm-bindgen and wasm-opt of `wasm` as `name`, for bundlers into `pkg` and without one into
/// `web`, side by side; the files wasm-bindgen writes for a package of its own are removed.
fn bindgen_pair(wasm: &Path, name: &str, pkg: &Path, web: &Path) -> Result {
    std::thread::scope(|scope| {
        let jobs = [("bundler", pkg), ("web", web)]
            .map(|(target, out)| scope.spawn(move || bindgen(wasm, target, out, name)));
        jobs.into_iter()
            .map(|j| {
                j.join()
                    .unwrap_or_else(|_| Err("a wasm-bindgen job panicked".into()))
            })
            .collect::<Result<Vec<()>>>()
    })?;
    for dir in [pkg, web] {
        for junk in [".gitignore", "package.json", &format!("{name}.d.ts")] {
            let _ = std::fs::remove_file(dir.join(junk));
        }
    }
    Ok(())
}

/// One script-tag module in `dist/`: `<file>.wasm` (the `web` build's `<name>_bg.wasm`, `<name>`
/// being `<file>` with `_` for `-`, with short boundary names: see [`crate::minify`]) and
/// `<file>.js`, bundled from `glue_names` of
/// the glue rewritten for it, `imports` and the loader at `loader` with `wasm_placeholder`
/// replaced by the wasm's SRI hash and each of `fill`'s placeholders by its value; both also
/// under versioned names. Returns the two lines of SRI.txt.
/// `lite`: another build of the same module (`_bg.wasm` of its own wasm-bindgen run), written
/// as `{file}-lite.wasm` with the same short names, its SRI hash in the loader's
/// `__SHOPTRAIL_LITE_SRI__`.
#[allow(clippy::too_many_arguments)]
fn script_tag(
    file: &str,
    web: &Path,
    loader: &str,
    wasm_placeholder: &str,
    fill: &[(&str, &str)],
    glue_names: &str,
    imports: &str,
    lite: Option<&Path>,
) -> Result<(String, String)> {
    let (root, version) = (root(), version()?);
    let name = file.replace('-', "_");
    let dist = root.join("dist");
    let wasm = dist.join(format!("{file}.wasm"));
    let glue = root.join(format!("target/shoptrail-script/{file}-glue.js"));
    for dir in [&dist, &root.join("target/shoptrail-script")] {
        std::fs::create_dir_all(dir).map_err(fs_err(dir))?;
    }
    let map = crate::minify::boundary(
        &web.join(format!("{name}_bg.wasm")),
        &web.join(format!("{name}.js")),
        &wasm,
        &glue,
    )?;
    let wasm_sri = sri(&wasm)?;
    let mut text = read(&root.join(loader))?.replace(wasm_placeholder, &wasm_sri);
    let mut files = vec!["js", "wasm"];
    if let Some(lite) = lite {
        let out = dist.join(format!("{file}-lite.wasm"));
        crate::minify::same_boundary(lite, &out, &map)?;
        text = text.replace("__SHOPTRAIL_LITE_SRI__", &sri(&out)?);
        files.push("lite.wasm");
    }
    for (k, v) in fill {
        text = text.replace(k, v);
    }
    let entry = root.join(format!("target/shoptrail-script/{file}.js"));
    let compile = root.join("pkg-config/compile.js");
    write(
        &entry,
        format!(
            "{}{imports}import {{ compileWasm }} from {:?};\n{text}",
            import(glue_names, &glue),
            compile.display().to_string()
        )
        .as_bytes(),
    )?;
    let js = dist.join(format!("{file}.js"));
    bundle(&entry, &js, &format!("{file} {version}"))?;
    let js_sri = sri(&js)?;
    for ext in files {
        let (from, to) = match ext.strip_suffix(".wasm").filter(|v| !v.is_empty()) {
            // shoptrail-lite.wasm -> shoptrail-1.2.3-lite.wasm, beside shoptrail-1.2.3.wasm.
            Some(variant) => (
                dist.join(format!("{file}-{variant}.wasm")),
                dist.join(format!("{file}-{version}-{variant}.wasm")),
            ),
            None => (
                dist.join(format!("{file}.{ext}")),
                dist.join(format!("{file}-{version}.{ext}")),
            ),
        };
        std::fs::copy(&from, to).map_err(fs_err(&from))?;
    }
    Ok((js_sri, wasm_sri))
}

/// An `import { names } from "path";` line for an entry that esbuild bundles.
fn import(names: &str, path: &Path) -> String {
    format!(
        "import {{ {names} }} from {:?};\n",
        path.display().to_string()
    )
}

/// Builds `pkg/` and `dist/`: the tracker and the engage module, each for bundlers (`pkg/`,
/// `pkg/engage/`), without a bundler (`pkg/web/`, `pkg/web/engage/`) and as a script tag
/// (`dist/shoptrail.{js,wasm}`, `dist/shoptrail-engage.{js,wasm}`). Returns the brotli sizes of
/// what a shopper downloads.
pub fn build() -> Result<Sizes> {
    let root = root();
    // The tracker without the options a page may leave out, for pages whose config names none
    // (the script tag's loader picks it); built first, as the full build overwrites its file.
    let lite = root.join("target/shipped/shoptrail_tracker_lite.wasm");
    let built = cargo_wasm_with("shoptrail-tracker", &["--no-default-features"])?;
    std::fs::copy(&built, &lite).map_err(fs_err(&built))?;
    crate::wasm_check::no_fmt(&lite)?;
    let tracker = cargo_wasm("shoptrail-tracker")?;
    crate::wasm_check::no_fmt(&tracker)?;
    let engage = cargo_wasm("shoptrail-engage")?;
    let version = version()?;

    let pkg = root.join("pkg");
    let web = pkg.join("web");
    let _ = std::fs::remove_dir_all(&pkg);
    bindgen_pair(&tracker, "shoptrail", &pkg, &web)?;
    // The tracker without the optional options: `shoptrail/lite` for bundlers, and the script
    // tag's shoptrail-lite.wasm (from the `web` build).
    let lite_web = root.join("target/shoptrail-script/lite");
    let _ = std::fs::remove_dir_all(&lite_web);
    bindgen_pair(&lite, "shoptrail", &pkg.join("lite"), &lite_web)?;
    let (engage_pkg, engage_web) = (pkg.join("engage"), web.join("engage"));
    bindgen_pair(&engage, "shoptrail_engage", &engage_pkg, &engage_web)?;
    let manifest = read(&root.join("pkg-config/package.json"))?.replace(
        "\"version\": \"0.0.0\"",
        &format!("\"version\": \"{version}\""),
    );
    write(&pkg.join("package.json"), manifest.as_bytes())?;
    write(
        &pkg.join("README.md"),
        read(&root.join("pkg-config/README.md"))?.as_bytes(),
    )?;
    crate::api::write_npm(&pkg)?;
    // The consent adapters, as they are: ES modules every entry imports on demand.
    std::fs::create_dir_all(pkg.join("consent")).map_err(fs_err(&pkg))?;
    for f in ["index.js", "adapters.js"] {
        let from = root.join("consent").join(f);
        std::fs::copy(&from, pkg.join("consent").join(f)).map_err(fs_err(&from))?;
    }

    // Script tag: each module is one classic script (glue + loader, and the host for the
    // tracker, minified in one function scope) and its wasm. The engage script goes first: the
    // tracker's loader carries its hash.
    let _ = std::fs::remove_dir_all(root.join("dist"));
    let (engage_js, engage_wasm) = script_tag(
        "shoptrail-engage",
        &engage_web,
        "pkg-config/engage-loader.js",
        "__SHOPTRAIL_ENGAGE_WASM_SRI__",
        &[],
        "initSync, start, add, shutdown",
        "",
        None,
    )?;
    // The consent adapters: plain JavaScript, one classic script the tracker's loader adds to
    // pages whose config names a consent manager; the loader carries its hash.
    let consent_js = root.join("dist/shoptrail-consent.js");
    bundle(
        &root.join("pkg-config/consent-loader.js"),
        &consent_js,
        &format!("shoptrail-consent {version}"),
    )?;
    let consent_sri = sri(&consent_js)?;
    std::fs::copy(
        &consent_js,
        root.join(format!("dist/shoptrail-consent-{version}.js")),
    )
    .map_err(fs_err(&consent_js))?;
    // The options whose naming makes the loader fetch the full build.
    let optional: Vec<String> = optional_options()?
        .into_iter()
        .map(|(name, _)| format!("{name:?}"))
        .collect();
    let optional = format!("[{}]", optional.join(","));
    let (js_sri, wasm_sri) = script_tag(
        "shoptrail",
        &web,
        "pkg-config/loader.js",
        "__SHOPTRAIL_WASM_SRI__",
        &[
            ("__SHOPTRAIL_ENGAGE_SRI__", &engage_js),
            ("__SHOPTRAIL_CONSENT_SRI__", &consent_sri),
            ("__SHOPTRAIL_OPTIONAL__", &optional),
        ],
        "initSync, boot",
        &import("NAMES", &host_snippet(&web)?),
        Some(&lite_web.join("shoptrail_bg.wasm")),
    )?;
    let lite_sri = sri(&root.join("dist/shoptrail-lite.wasm"))?;
    eprintln!(
        "\nScript tag (versioned, with SRI; the wasm is checked by the loader):\n  \
         <script async src=\"https://YOUR-CDN/shoptrail-{version}.js\" integrity=\"{js_sri}\" \
         crossorigin=\"anonymous\" data-endpoint=\"https://collect.example.com/v1/batch\"></script>\n  \
         shoptrail-{version}.wasm  {wasm_sri}"
    );
    let dist = root.join("dist");
    write(
        &dist.join("SRI.txt"),
        format!(
            "shoptrail-{version}.js {js_sri}\nshoptrail-{version}.wasm {wasm_sri}\n\
             shoptrail-{version}-lite.wasm {lite_sri}\n\
             shoptrail-engage-{version}.js {engage_js}\nshoptrail-engage-{version}.wasm {engage_wasm}\n\
             shoptrail-consent-{version}.js {consent_sri}\n"
        )
        .as_bytes(),
    )?;

    let (_, _, tracker) = size_report(&[dist.join("shoptrail.js"), dist.join("shoptrail.wasm")])?;
    let (_, _, tracker_lite) =
        size_report(&[dist.join("shoptrail.js"), dist.join("shoptrail-lite.wasm")])?;
    let (_, _, engage) = size_report(&[
        dist.join("shoptrail-engage.js"),
        dist.join("shoptrail-engage.wasm"),
    ])?;
    let (_, _, consent) = size_report(&[consent_js])?;
    let shopify = crate::shopify::build()?;
    eprintln!("built pkg/ (npm package) and dist/ (script tag, Shopify part and pixel)");
    Ok(Sizes {
        tracker,
        tracker_lite,
        engage,
        consent,
        shopify,
    })
}

/// A collector process, stopped when dropped.
pub struct Collector {
    child: Child,
    /// Base URL, such as `http://127.0.0.1:43121`.
    pub url: String,
}

impl Drop for Collector {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn collector_bin() -> PathBuf {
    root().join("target/debug/shoptrail-collector")
}

fn start_collector(args: &[&str]) -> Result<Collector> {
    start_collector_at(&collector_bin(), args)
}

/// Starts the collector binary `bin` with `args` and waits for its "listening on" line.
pub fn start_collector_at(bin: &std::path::Path, args: &[&str]) -> Result<Collector> {
    let mut child = Command::new(bin)
        .args(args)
        .current_dir(root())
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start the collector: {e}"))?;
    let stdout = child.stdout.take().ok_or("collector has no stdout")?;
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .map_err(|e| e.to_string())?;
    let url = line.trim().rsplit(' ').next().unwrap_or("").to_string();
    if !url.starts_with("http://") {
        let _ = child.kill();
        return Err(format!("collector did not start: {line:?}"));
    }
    Ok(Collector { child, url })
}

pub fn demo(args: &[String]) -> Result {
    let mut port = "8080".to_string();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--port" => port = it.next().ok_or("--port needs a number")?.clone(),
            other => return Err(format!("unknown demo option {other}: try --port N")),
        }
    }
    port.parse::<u16>()
        .map_err(|_| format!("--port {port}: not a port number"))?;
    tools::setup_build()?;
    build()?;
    run(cmd("cargo").args(["build", "-p", "shoptrail-collector"]))?;
    // The demo's journeys call the collector's own inbox, on whichever port it listens.
    let journeys = std::fs::read_to_string(root().join("collector/demo/journeys.toml"))
        .map_err(|e| format!("collector/demo/journeys.toml: {e}"))?
        .replace("127.0.0.1:8080", &format!("127.0.0.1:{port}"));
    let journeys_file = root().join("target/demo-journeys.toml");
    std::fs::write(&journeys_file, journeys)
        .map_err(|e| format!("{}: {e}", journeys_file.display()))?;
    // A fresh admin token for this run: the live page and the events API ask for it.
    let mut bytes = [0u8; 16];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut bytes))
        .map_err(|e| format!("/dev/urandom: {e}"))?;
    let token: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    eprintln!("\nDemo store:   http://127.0.0.1:{port}/\nLive events:  http://127.0.0.1:{port}/_shoptrail/ (admin token: {token})\nEvents API:   curl -H 'Authorization: Bearer {token}' http://127.0.0.1:{port}/v1/events\nJourneys:     http://127.0.0.1:{port}/v1/journeys (webhook calls: /_shoptrail/inbox)\n(Ctrl-C stops it)\n");
    run(Command::new(collector_bin()).current_dir(root()).args([
        "--admin-token",
        &token,
        "--port",
        &port,
        "--db",
        "shoptrail.db",
        "--static",
        "www",
        "--static",
        "/dist=dist",
        "--journeys",
        "target/demo-journeys.toml",
    ]))
}

/// The collector's admin token in the browser suites (they read what it stored).
const BROWSER_ADMIN: &str = "browser-suites-admin-token-0123";

fn wasm_pack_tests(browser: &[&str], collector: &str, page: &str) -> Result {
    let mut c = cmd("wasm-pack");
    c.args(["test", "--mode", "no-install", "--headless"])
        .args(browser);
    // Every tests/*.rs is a browser suite (its own page, so its own SDK instance).
    c.arg("--");
    let mut suites: Vec<String> = std::fs::read_dir(root().join("tests"))
        .map_err(|e| format!("tests/: {e}"))?
        .filter_map(|e| {
            e.ok()?
                .file_name()
                .to_str()?
                .strip_suffix(".rs")
                .map(String::from)
        })
        .collect();
    suites.sort();
    for s in &suites {
        c.args(["--test", s]);
    }
    c.env("SHOPTRAIL_TEST_COLLECTOR", collector)
        .env("SHOPTRAIL_TEST_ADMIN", BROWSER_ADMIN)
        // The suites' page, at the origin the collector lets read its data.
        .env("WASM_BINDGEN_TEST_ADDRESS", page);
    run(&mut c)
}

/// Runs named steps and prints how long each took.
struct Steps(Vec<(&'static str, f64)>, std::time::Instant);

impl Steps {
    fn run<T>(&mut self, name: &'static str, f: impl FnOnce() -> Result<T>) -> Result<T> {
        let t = std::time::Instant::now();
        let r = f();
        self.0.push((name, t.elapsed().as_secs_f64()));
        r
    }

    fn report(&self) {
        eprintln!();
        for (name, secs) in &self.0 {
            eprintln!("  {name:<32} {secs:>6.1} s");
        }
        eprintln!(
            "  {:<32} {:>6.1} s",
            "total",
            self.1.elapsed().as_secs_f64()
        );
    }
}

pub fn test(args: &[String]) -> Result {
    let lint = !args.iter().any(|a| a == "--skip-lint");
    let mut steps = Steps(Vec::new(), std::time::Instant::now());
    let result = test_steps(lint, &mut steps);
    steps.report();
    if result.is_ok() {
        eprintln!("\nall suites passed");
    }
    result
}

fn test_steps(lint: bool, steps: &mut Steps) -> Result {
    steps.run("setup", tools::setup)?;
    steps.run("API surface (pkg-config/api.json)", || {
        crate::api::sync(true)
    })?;
    steps.run("crawler list (npm isbot)", || {
        crate::bots::bots(&["--check".to_owned()])
    })?;
    if lint {
        steps.run("fmt + clippy (host, wasm32)", || {
            run(cmd("cargo").args(["fmt", "--all", "--check"]))?;
            run(cmd("cargo").args(["fmt", "--manifest-path", "fuzz/Cargo.toml", "--check"]))?;
            run(cmd("cargo").args([
                "clippy",
                "--workspace",
                "--all-targets",
                "--",
                "-D",
                "warnings",
            ]))?;
            for package in ["shoptrail", "shoptrail-engage"] {
                run(cmd("cargo").args([
                    "clippy",
                    "-p",
                    package,
                    "--all-targets",
                    "--target",
                    "wasm32-unknown-unknown",
                    "--",
                    "-D",
                    "warnings",
                ]))?;
            }
            // Alone: the suites' wasm-bindgen-test turns on wasm-bindgen's std, which would
            // bring a second panic handler into the no_std tracker.
            run(cmd("cargo").args([
                "clippy",
                "-p",
                "shoptrail-tracker",
                "--target",
                "wasm32-unknown-unknown",
                "--",
                "-D",
                "warnings",
            ]))
        })?;
    }
    steps.run("host tests (SQLite)", || {
        run(cmd("cargo").args(["test", "--workspace"]))
    })?;
    steps.run("the tracker's config without its optional options", || {
        // The build without them refuses a config that names one (config::OPTIONAL).
        run(cmd("cargo").args([
            "test",
            "-p",
            "shoptrail",
            "--no-default-features",
            "--lib",
            "optional_options",
        ]))
    })?;
    // One cluster for the collector's PostgreSQL run and the e2e suites, stopped (Drop) when
    // the steps end.
    let postgres = steps.run("start PostgreSQL", crate::postgres::Cluster::start)?;
    steps.run("collector tests (PostgreSQL)", || {
        // The same suites: each test server gets a fresh database on the cluster.
        run(cmd("cargo")
            .args(["test", "-p", "shoptrail-collector", "--tests"])
            .env("SHOPTRAIL_TEST_POSTGRES", postgres.url()))
    })?;
    {
        // A second cluster, over TLS only, for the suite that checks sslmode against a server.
        let tls = steps.run(
            "start PostgreSQL (TLS)",
            crate::postgres::Cluster::start_tls,
        )?;
        let cert = tls.tls_cert().map(|c| c.display().to_string());
        steps.run("collector tests (PostgreSQL over TLS)", || {
            run(cmd("cargo")
                .args([
                    "test",
                    "-p",
                    "shoptrail-collector",
                    "--test",
                    "postgres_tls",
                ])
                .env("SHOPTRAIL_TEST_POSTGRES_TLS", tls.url())
                .env("SHOPTRAIL_TEST_POSTGRES_TLS_CERT", cert.unwrap_or_default()))
        })?;
    }
    let sizes = steps.run("build pkg/ and dist/", build)?;
    check_budget(sizes)?;
    steps.run("theme-check (the Shopify app embed)", crate::shopify::check)?;
    steps.run("build collector", || {
        run(cmd("cargo").args(["build", "-p", "shoptrail-collector"]))
    })?;

    let tmp = std::env::temp_dir().join(format!("shoptrail-test-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).map_err(fs_err(&tmp))?;
    let db = tmp.join("browser.db");
    {
        // The suites' page is served from a fixed address so that the collector can name its
        // origin as the one dashboard allowed to read (with the admin token).
        let page = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| format!("no free port for the suites' page: {e}"))?
            .to_string();
        let origin = format!("http://{page}");
        let collector = start_collector(&[
            "--port",
            "0",
            "--db",
            &db.display().to_string(),
            "--admin-token",
            BROWSER_ADMIN,
            "--dashboard-origin",
            &origin,
            // Headless Chromium says HeadlessChrome, a crawler's user agent to isbot: the
            // suites' collector counts every event (collector/README.md, --bots).
            "--bots",
            "count",
        ])?;
        steps.run("wasm-pack test --chrome", || {
            wasm_pack_tests(
                &["--chrome", "--chromedriver", "/usr/bin/chromedriver"],
                &collector.url,
                &page,
            )
        })?;
        let gecko = tools::geckodriver().display().to_string();
        steps.run("wasm-pack test --firefox", || {
            wasm_pack_tests(
                &["--firefox", "--geckodriver", &gecko],
                &collector.url,
                &page,
            )
        })?;
    }

    let e2e = root().join("e2e");
    let mut files: Vec<String> = std::fs::read_dir(e2e.join("tests"))
        .map_err(fs_err(&e2e))?
        .filter_map(|e| e.ok().map(|e| e.path().display().to_string()))
        .filter(|p| p.ends_with(".test.mjs"))
        .collect();
    files.sort();
    steps.run("e2e (node:test + Chromium)", || {
        run(cmd("node")
            .args(["--test", "--test-concurrency=1"])
            .args(&files)
            .env("SHOPTRAIL_COLLECTOR_BIN", collector_bin())
            .env("SHOPTRAIL_ROOT", root())
            .env("SHOPTRAIL_TMP", &tmp)
            .env("SHOPTRAIL_TEST_POSTGRES", postgres.url()))
    })?;
    let _ = std::fs::remove_dir_all(&tmp);
    steps.run("fuzz targets (5 s each)", || {
        tools::setup_fuzz()?;
        fuzz_targets(5, &[])
    })?;
    Ok(())
}

/// The fuzz targets (`fuzz/fuzz_targets/`), in the order they run.
const FUZZ_TARGETS: [&str; 6] = ["config", "stored", "money", "batch", "calls", "journeys"];

/// Inputs a target starts from besides its own corpus (paths from `fuzz/`): a valid file
/// takes libFuzzer past the parser's first error in seconds.
fn fuzz_seeds(target: &str) -> &'static [&'static str] {
    match target {
        "journeys" => &["../collector/demo"],
        _ => &[],
    }
}

/// Runs fuzz targets with cargo fuzz (nightly, libFuzzer, AddressSanitizer) for `seconds`
/// each; a finding fails, and cargo fuzz prints the input it saved under `fuzz/artifacts/`.
fn fuzz_targets(seconds: u32, only: &[String]) -> Result {
    let unknown: Vec<&String> = only
        .iter()
        .filter(|o| !FUZZ_TARGETS.contains(&o.as_str()))
        .collect();
    if !unknown.is_empty() {
        return Err(format!(
            "no fuzz target {unknown:?}; the targets are {}",
            FUZZ_TARGETS.join(", ")
        ));
    }
    for target in FUZZ_TARGETS
        .iter()
        .filter(|t| only.is_empty() || only.iter().any(|o| o == *t))
    {
        let mut c = cmd("cargo");
        // The stable toolchain that runs xtask must not leak into the nightly build.
        for var in ["CARGO", "RUSTC", "RUSTUP_TOOLCHAIN", "RUSTFLAGS"] {
            c.env_remove(var);
        }
        let corpus = format!("corpus/{target}");
        std::fs::create_dir_all(root().join("fuzz").join(&corpus))
            .map_err(|e| format!("fuzz/{corpus}: {e}"))?;
        c.current_dir(root().join("fuzz"))
            .args(["+nightly", "fuzz", "run", "-O", target, &corpus])
            .args(fuzz_seeds(target))
            .args(["--", &format!("-max_total_time={seconds}")]);
        run(&mut c)?;
    }
    Ok(())
}

/// `cargo xtask fuzz [--seconds N] [TARGET...]`: every fuzz target (or the named ones) for N
/// seconds each (default 60).
pub fn fuzz(args: &[String]) -> Result {
    tools::setup_fuzz()?;
    let mut seconds = 60;
    let mut only = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if a == "--seconds" {
            seconds = it
                .next()
                .and_then(|n| n.parse().ok())
                .filter(|n| *n > 0)
                .ok_or("--seconds needs a positive number")?;
        } else {
            only.push(a.clone());
        }
    }
    fuzz_targets(seconds, &only)
}

/// `cargo xtask bench`: shoptrail and its peers side by side (see bench/README.md).
pub fn bench(args: &[String]) -> Result {
    tools::setup()?;
    build()?;
    run(cmd("cargo").args(["build", "-p", "shoptrail-collector"]))?;
    let dir = root().join("bench");
    tools::npm_ci(&dir)?;
    run(cmd("node")
        .arg(dir.join("run.mjs"))
        .args(args)
        .env("SHOPTRAIL_COLLECTOR_BIN", collector_bin())
        .env("SHOPTRAIL_ROOT", root()))
}
