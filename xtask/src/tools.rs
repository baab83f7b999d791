//! Toolchain setup: everything the build and the tests need, installed only when missing.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Pinned versions.
pub const WASM_PACK: &str = "0.15.1";
pub const BINARYEN: &str = "132.0.0";
pub const ESBUILD: &str = "0.28.2";
/// npm's isbot, whose crawler patterns `cargo xtask bots` turns into the collector's data.
pub const ISBOT: &str = "5.2.4";

pub type Result<T = ()> = std::result::Result<T, String>;

pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the workspace")
        .to_path_buf()
}

fn home() -> PathBuf {
    PathBuf::from(std::env::var("HOME").unwrap_or_else(|_| "/root".into()))
}

pub fn cargo_bin() -> PathBuf {
    std::env::var("CARGO_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|_| home().join(".cargo"))
        .join("bin")
}

/// Where npm's binaryen (wasm-opt) and the firefox shim live, shared by every checkout.
pub fn cache() -> PathBuf {
    home().join(".cache/shoptrail")
}

/// PATH for every child process: npm's wasm-opt before Debian's (binaryen 108 breaks the
/// externref table), the cargo-installed tools, and a `firefox` name for Debian's firefox-esr.
pub fn path_env() -> String {
    let mut parts = vec![
        cache()
            .join("tools/node_modules/.bin")
            .display()
            .to_string(),
        cache().join("bin").display().to_string(),
        cargo_bin().display().to_string(),
    ];
    if let Ok(p) = std::env::var("PATH") {
        parts.push(p);
    }
    parts.join(":")
}

pub fn cmd(program: &str) -> Command {
    let mut c = Command::new(program);
    c.env("PATH", path_env()).current_dir(root());
    c
}

pub fn run(c: &mut Command) -> Result {
    let shown = format!(
        "{} {}",
        c.get_program().to_string_lossy(),
        c.get_args()
            .map(|a| a.to_string_lossy())
            .collect::<Vec<_>>()
            .join(" ")
    );
    eprintln!("$ {shown}");
    let status = c
        .status()
        .map_err(|e| format!("cannot run `{shown}`: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`{shown}` failed ({status})"))
    }
}

/// The first line a command prints, or None when it cannot run.
pub fn output(c: &mut Command) -> Option<String> {
    let o = c.output().ok()?;
    o.status.success().then(|| {
        String::from_utf8_lossy(&o.stdout)
            .lines()
            .next()
            .unwrap_or("")
            .trim()
            .to_string()
    })
}

fn which(program: &str) -> Option<PathBuf> {
    path_env()
        .split(':')
        .map(|d| Path::new(d).join(program))
        .find(|p| p.is_file())
}

fn ok(what: &str, detail: &str) {
    eprintln!("  ok    {what} {detail}");
}

/// The wasm-bindgen version in Cargo.lock: the CLI must match it exactly.
pub fn wasm_bindgen_version() -> Result<String> {
    let lock = std::fs::read_to_string(root().join("Cargo.lock"))
        .map_err(|e| format!("Cargo.lock: {e}"))?;
    let mut lines = lock.lines();
    while let Some(l) = lines.next() {
        if l == "name = \"wasm-bindgen\"" {
            if let Some(v) = lines.next().and_then(|v| v.strip_prefix("version = \"")) {
                return Ok(v.trim_end_matches('"').to_string());
            }
        }
    }
    Err("wasm-bindgen is not in Cargo.lock".into())
}

/// Whether xtask runs as root (apt installs, and PostgreSQL's initdb must run as `postgres`).
pub fn is_root() -> bool {
    output(Command::new("id").arg("-u")).as_deref() == Some("0")
}

fn apt(packages: &[&str], why: &str) -> Result {
    if !is_root() {
        return Err(format!(
            "{why} is missing: install the Debian packages `{}` (as root: apt-get install {})",
            packages.join(" "),
            packages.join(" ")
        ));
    }
    run(cmd("apt-get").args(["update", "-qq"]))?;
    run(cmd("apt-get")
        .args(["install", "-y", "-qq", "--no-install-recommends"])
        .args(packages)
        .env("DEBIAN_FRONTEND", "noninteractive"))
}

/// The toolchain the shipped wasm is built with: a dated nightly, so that its standard library
/// can be rebuilt for size (`-Zbuild-std`, `panic=immediate-abort`; see `tasks::cargo_wasm`).
/// Dated, so that a build gives the same bytes on every machine. Tests and clippy use stable.
pub const SHIPPED_TOOLCHAIN: &str = "nightly-2026-05-19";

/// The shipped toolchain with the standard library's source, installed when missing.
fn setup_shipped_toolchain() -> Result {
    let sysroot =
        output(cmd("rustc").args([&format!("+{SHIPPED_TOOLCHAIN}"), "--print", "sysroot"]))
            .unwrap_or_default();
    let src = std::path::Path::new(&sysroot).join("lib/rustlib/src/rust/library/std");
    if !sysroot.is_empty() && src.is_dir() {
        ok("rust toolchain for the shipped wasm", SHIPPED_TOOLCHAIN);
        Ok(())
    } else {
        run(cmd("rustup").args([
            "toolchain",
            "install",
            SHIPPED_TOOLCHAIN,
            "--profile",
            "minimal",
            "--component",
            "rust-src",
        ]))
    }
}

/// What `build` needs: the wasm target, the shipped toolchain, wasm-bindgen-cli matching
/// Cargo.lock, npm's wasm-opt, gzip and brotli for the size report.
pub fn setup_build() -> Result {
    setup_shipped_toolchain()?;
    let installed = cmd("rustup")
        .args(["target", "list", "--installed"])
        .output();
    if installed
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("wasm32-unknown-unknown"))
    {
        ok("rustup target", "wasm32-unknown-unknown");
    } else {
        run(cmd("rustup").args(["target", "add", "wasm32-unknown-unknown"]))?;
    }

    let want = wasm_bindgen_version()?;
    let have = output(cmd("wasm-bindgen").arg("--version")).unwrap_or_default();
    if have == format!("wasm-bindgen {want}") {
        ok("wasm-bindgen-cli", &want);
    } else {
        // `--locked` can fail when the CLI's lockfile names a yanked crate; retry without it.
        run(cmd("cargo").args([
            "install",
            "wasm-bindgen-cli",
            "--version",
            &want,
            "--locked",
        ]))
        .or_else(|_| run(cmd("cargo").args(["install", "wasm-bindgen-cli", "--version", &want])))?;
    }

    // npm's binaryen (wasm-opt) and esbuild (minifies the script-tag loader and glue).
    let tools = cache().join("tools");
    let bin = tools.join("node_modules/.bin");
    let major = BINARYEN.split('.').next().unwrap_or(BINARYEN);
    let opt_ok = output(Command::new(bin.join("wasm-opt")).arg("--version"))
        .is_some_and(|v| v.contains(&format!("version {major} ")));
    let esbuild_ok =
        output(Command::new(bin.join("esbuild")).arg("--version")).as_deref() == Some(ESBUILD);
    let isbot_ok = std::fs::read_to_string(tools.join("node_modules/isbot/package.json"))
        .is_ok_and(|p| p.contains(&format!("\"version\": \"{ISBOT}\"")));
    if opt_ok && esbuild_ok && isbot_ok {
        ok(
            "wasm-opt (npm binaryen), esbuild, isbot",
            &format!("{BINARYEN}, {ESBUILD}, {ISBOT}"),
        );
    } else {
        std::fs::create_dir_all(&tools).map_err(|e| e.to_string())?;
        run(cmd("npm")
            .args([
                "install",
                "--no-audit",
                "--no-fund",
                "--loglevel=error",
                "--prefix",
            ])
            .arg(&tools)
            .arg(format!("binaryen@{BINARYEN}"))
            .arg(format!("esbuild@{ESBUILD}"))
            .arg(format!("isbot@{ISBOT}")))?;
    }

    if which("gzip").is_some() && which("brotli").is_some() && which("openssl").is_some() {
        ok("gzip, brotli, openssl", "");
    } else {
        apt(
            &["gzip", "brotli", "openssl"],
            "gzip, brotli or openssl (sizes and SRI hashes)",
        )?;
    }
    Ok(())
}

/// The cargo-fuzz release the fuzz targets are run with.
pub const CARGO_FUZZ: &str = "0.13.2";

/// What the fuzz targets need: a nightly toolchain and cargo-fuzz.
pub fn setup_fuzz() -> Result {
    let toolchains = output(cmd("rustup").args(["toolchain", "list"])).unwrap_or_default();
    if toolchains.lines().any(|l| l.starts_with("nightly")) {
        ok("rust nightly", "");
    } else {
        run(cmd("rustup").args(["toolchain", "install", "nightly", "--profile", "minimal"]))?;
    }
    let have = output(cmd("cargo").args(["fuzz", "--version"])).unwrap_or_default();
    if have == format!("cargo-fuzz {CARGO_FUZZ}") {
        ok("cargo-fuzz", CARGO_FUZZ);
    } else {
        run(cmd("cargo").args(["install", "cargo-fuzz", "--locked", "--version", CARGO_FUZZ]))?;
    }
    Ok(())
}

/// Everything: build tools, wasm-pack, browsers and their drivers, PostgreSQL, the e2e npm
/// packages.
pub fn setup() -> Result {
    setup_build()?;
    let have = output(cmd("wasm-pack").arg("--version")).unwrap_or_default();
    if have == format!("wasm-pack {WASM_PACK}") {
        ok("wasm-pack", WASM_PACK);
    } else {
        run(cmd("cargo").args(["install", "wasm-pack", "--locked", "--version", WASM_PACK]))?;
    }

    if Path::new("/usr/bin/chromium").exists() && Path::new("/usr/bin/chromedriver").exists() {
        ok("chromium, chromedriver", "");
    } else {
        apt(
            &["chromium", "chromium-driver"],
            "Chromium and ChromeDriver",
        )?;
    }
    if which("firefox-esr").is_some() || which("firefox").is_some() {
        ok("firefox", "");
    } else {
        apt(&["firefox-esr"], "Firefox")?;
    }
    // geckodriver looks for `firefox`; Debian names it firefox-esr.
    let shim = cache().join("bin/firefox");
    if which("firefox").is_none() {
        if let Some(esr) = which("firefox-esr") {
            std::fs::create_dir_all(cache().join("bin")).map_err(|e| e.to_string())?;
            std::os::unix::fs::symlink(esr, &shim).map_err(|e| format!("firefox shim: {e}"))?;
        }
    }
    if cargo_bin().join("geckodriver").exists() {
        ok("geckodriver", "");
    } else {
        run(cmd("cargo").args(["install", "geckodriver", "--locked"]))?;
    }
    // A throwaway cluster for the collector's PostgreSQL tests (crate::postgres).
    if let Some(bin) = crate::postgres::bin_dir() {
        ok("postgresql", &bin.display().to_string());
    } else {
        apt(&["postgresql"], "PostgreSQL (initdb, pg_ctl)")?;
    }

    // e2e packages (and the consumer apps', and the Shopify app's) from committed package-locks; reinstalled only
    // when a lock changes.
    let e2e = root().join("e2e");
    let mut dirs = vec![e2e.clone(), root().join("shopify")];
    if let Ok(apps) = std::fs::read_dir(e2e.join("apps")) {
        let mut apps: Vec<PathBuf> = apps.filter_map(|e| e.ok().map(|e| e.path())).collect();
        apps.sort();
        dirs.extend(
            apps.into_iter()
                .filter(|d| d.join("package-lock.json").is_file()),
        );
    }
    for dir in dirs {
        npm_ci(&dir)?;
    }
    Ok(())
}

/// `npm ci` in `dir` unless its node_modules already matches its package-lock.json.
pub fn npm_ci(dir: &Path) -> Result {
    let lock_path = dir.join("package-lock.json");
    let lock = std::fs::read(&lock_path).map_err(|e| format!("{}: {e}", lock_path.display()))?;
    let stamp = dir.join("node_modules/.shoptrail-lock");
    let name = dir
        .strip_prefix(root())
        .unwrap_or(dir)
        .display()
        .to_string();
    if std::fs::read(&stamp).ok().as_deref() == Some(lock.as_slice()) {
        ok("npm packages", &name);
        return Ok(());
    }
    run(cmd("npm")
        .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
        .current_dir(dir))?;
    std::fs::write(&stamp, &lock).map_err(|e| e.to_string())
}

pub fn geckodriver() -> PathBuf {
    cargo_bin().join("geckodriver")
}
