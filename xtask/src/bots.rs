//! `cargo xtask bots [--check]`: the collector's list of crawler user agents
//! (`collector/src/bots/isbot.json`), written from npm's `isbot` package at the version
//! `tools::ISBOT` pins (`list`: one regular expression source a pattern), so the list is
//! the maintained one and never copied by hand; and the tracker's, isbot's short "naive"
//! pattern, as api.json's `crawlers` (`cargo xtask api` puts it in js/host.js): the full
//! list is 1.2 KB brotli, too much for every page. `--check` fails when either differs.

use crate::tools::{self, cache, root, Result};
use std::process::Command;

/// The data file, beside the collector's `bots` module.
const FILE: &str = "collector/src/bots/isbot.json";

/// The file's text from the installed package.
fn render() -> Result<String> {
    let pkg = cache().join("tools/node_modules/isbot");
    let script = format!(
        "process.stdout.write(JSON.stringify(require({:?}).list))",
        pkg.display().to_string()
    );
    let out = Command::new("node")
        .args(["-e", &script])
        .output()
        .map_err(|e| format!("node: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "node could not read isbot's list: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let list: Vec<String> = serde_json::from_slice(&out.stdout)
        .map_err(|e| format!("isbot's list is not a list of strings: {e}"))?;
    let patterns: Vec<String> = list
        .iter()
        .map(|p| format!("    {}", serde_json::Value::from(p.as_str())))
        .collect();
    Ok(format!(
        "{{\n  \"source\": \"npm isbot {}, its list export (cargo xtask bots)\",\n  \"patterns\": [\n{}\n  ]\n}}\n",
        tools::ISBOT,
        patterns.join(",\n")
    ))
}

/// api.json's text with its `crawlers` line from the installed package's naive pattern.
fn render_api(api: &str) -> Result<String> {
    let source = cache().join("tools/node_modules/isbot/index.js");
    let code =
        std::fs::read_to_string(&source).map_err(|e| format!("{}: {e}", source.display()))?;
    let at = code
        .find("naivePattern = /")
        .ok_or("isbot has no naivePattern: see xtask/src/bots.rs")?;
    let rest = &code[at + "naivePattern = /".len()..];
    let pattern = rest
        .split_once("/i")
        .map(|(p, _)| p)
        .filter(|p| !p.contains('/') && !p.is_empty())
        .ok_or("isbot's naivePattern is not /.../i: see xtask/src/bots.rs")?;
    // Words that also name browsers (CamScanner, NAVER's "search" in-app browser,
    // YaSearchBrowser, links in "http" comments) are left to the collector's full list, whose
    // patterns tell those apart; "bot" after a "u" is a CUBOT phone.
    let words: Vec<String> = pattern
        .split('|')
        .filter(|w| !["http", "scan", "search"].contains(w))
        .map(|w| {
            if w == "bot" {
                "(?:^|[^u])bot".to_owned()
            } else {
                w.to_owned()
            }
        })
        .collect();
    let line = format!(
        "  \"crawlers\": {{ \"source\": \"npm isbot {}, its naive pattern without the words browsers use too (http, scan, search; bot after u) (cargo xtask bots)\", \"pattern\": {} }},",
        tools::ISBOT,
        serde_json::Value::from(words.join("|"))
    );
    let mut out: Vec<String> = Vec::new();
    let mut found = false;
    for l in api.lines() {
        if l.starts_with("  \"crawlers\":") {
            out.push(line.clone());
            found = true;
        } else {
            out.push(l.to_owned());
        }
    }
    if !found {
        return Err("pkg-config/api.json has no \"crawlers\" line".into());
    }
    Ok(out.join("\n") + "\n")
}

/// Writes the files, or with `--check` compares them.
pub fn bots(args: &[String]) -> Result {
    let check = match args {
        [] => false,
        [a] if a == "--check" => true,
        _ => return Err("usage: cargo xtask bots [--check]".into()),
    };
    tools::setup_build()?;
    let text = render()?;
    let path = root().join(FILE);
    let api_path = root().join("pkg-config/api.json");
    let api = std::fs::read_to_string(&api_path).map_err(|e| format!("api.json: {e}"))?;
    let api_text = render_api(&api)?;
    if check {
        let have = std::fs::read_to_string(&path).unwrap_or_default();
        if have != text || api != api_text {
            return Err(format!(
                "{FILE} or api.json's crawlers is not isbot {}'s: run cargo xtask bots",
                tools::ISBOT
            ));
        }
        eprintln!(
            "  ok    {FILE} and api.json's crawlers are isbot {}'s",
            tools::ISBOT
        );
        return Ok(());
    }
    std::fs::write(&api_path, api_text).map_err(|e| format!("api.json: {e}"))?;
    std::fs::create_dir_all(path.parent().unwrap_or(&root())).map_err(|e| e.to_string())?;
    std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))?;
    eprintln!("  wrote {FILE} from isbot {}", tools::ISBOT);
    Ok(())
}
