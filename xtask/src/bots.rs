//! `cargo xtask bots [--check]`: the collector's list of crawler user agents
//! (`collector/src/bots/isbot.json`), written from npm's `isbot` package at the version
//! `tools::ISBOT` pins (`list`: one regular expression source a pattern), so the list is
//! the maintained one and never copied by hand. `--check` fails when the file differs.

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

/// Writes the file, or with `--check` compares it.
pub fn bots(args: &[String]) -> Result {
    let check = match args {
        [] => false,
        [a] if a == "--check" => true,
        _ => return Err("usage: cargo xtask bots [--check]".into()),
    };
    tools::setup_build()?;
    let text = render()?;
    let path = root().join(FILE);
    if check {
        let have = std::fs::read_to_string(&path).unwrap_or_default();
        if have != text {
            return Err(format!(
                "{FILE} is not isbot {}'s list: run cargo xtask bots",
                tools::ISBOT
            ));
        }
        eprintln!("  ok    {FILE} is isbot {}'s list", tools::ISBOT);
        return Ok(());
    }
    std::fs::create_dir_all(path.parent().unwrap_or(&root())).map_err(|e| e.to_string())?;
    std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))?;
    eprintln!("  wrote {FILE} from isbot {}", tools::ISBOT);
    Ok(())
}
