//! Checks on the shipped wasm that keep size regressions from coming back silently: the build
//! fails when the tracker's wasm holds any `core::fmt` function.

use crate::tools::Result;
use std::path::Path;
use wasmparser::{KnownCustom, Name, Parser, Payload};

/// The function names of a wasm module (its `name` section; rustc keeps it in release builds
/// with `strip = "debuginfo"`, wasm-bindgen and wasm-opt drop it later).
pub fn function_names(wasm: &[u8]) -> Result<Vec<String>> {
    let mut names = Vec::new();
    for payload in Parser::new(0).parse_all(wasm) {
        let payload = payload.map_err(|e| format!("not a wasm module: {e}"))?;
        let Payload::CustomSection(c) = payload else {
            continue;
        };
        let KnownCustom::Name(reader) = c.as_known() else {
            continue;
        };
        for sub in reader {
            if let Ok(Name::Function(map)) = sub {
                for naming in map.into_iter().flatten() {
                    names.push(naming.name.to_string());
                }
            }
        }
    }
    Ok(names)
}

/// Fails when any function of the module is in `core::fmt` (mangled `4core3fmt`, v0 and
/// legacy alike): formatting machinery costs kilobytes and nothing in the tracker needs it.
pub fn no_fmt(wasm: &Path) -> Result {
    let bytes = std::fs::read(wasm).map_err(|e| format!("{}: {e}", wasm.display()))?;
    let names = function_names(&bytes)?;
    if names.is_empty() {
        return Err(format!(
            "{}: no function names to check (was the name section stripped?)",
            wasm.display()
        ));
    }
    let fmt: Vec<&String> = names.iter().filter(|n| n.contains("4core3fmt")).collect();
    if fmt.is_empty() {
        return Ok(());
    }
    let shown: Vec<&str> = fmt.iter().take(5).map(|s| s.as_str()).collect();
    Err(format!(
        "{} functions of core::fmt reached the tracker wasm (a format!, to_string on a number, \
         {{:?}}, unwrap/expect with a message, or std): {}",
        fmt.len(),
        shown.join(", ")
    ))
}

/// Where the bytes of a wasm module go: code by the Rust module it comes from, then data.
/// Read from the build before wasm-bindgen and wasm-opt (which keep no names, and inline across
/// these lines), so the sum is larger than what ships.
pub fn categories(wasm: &[u8]) -> Result<Vec<(&'static str, usize)>> {
    let mut names: Vec<String> = Vec::new();
    let mut imported = 0u32;
    let mut bodies: Vec<usize> = Vec::new();
    let mut data = 0usize;
    for payload in Parser::new(0).parse_all(wasm) {
        match payload.map_err(|e| format!("not a wasm module: {e}"))? {
            Payload::ImportSection(r) => {
                for imp in r.into_imports() {
                    let imp = imp.map_err(|e| e.to_string())?;
                    if matches!(imp.ty, wasmparser::TypeRef::Func(_)) {
                        imported += 1;
                    }
                }
            }
            Payload::CodeSectionEntry(body) => {
                let r = body.range();
                bodies.push((r.end - r.start) as usize)
            }
            Payload::DataSection(r) => {
                for d in r {
                    data += d.map_err(|e| e.to_string())?.data.len();
                }
            }
            Payload::CustomSection(c) => {
                if let KnownCustom::Name(reader) = c.as_known() {
                    for sub in reader {
                        if let Ok(Name::Function(map)) = sub {
                            for n in map.into_iter().flatten() {
                                let i = n.index as usize;
                                if names.len() <= i {
                                    names.resize(i + 1, String::new());
                                }
                                names[i] = format!("{:#}", rustc_demangle::demangle(n.name));
                            }
                        }
                    }
                }
            }
            _ => {}
        }
    }
    const CATEGORIES: &[(&str, &str)] = &[
        (
            "shoptrail::tracker_core::engine",
            "engine (calls, pages, shop handle)",
        ),
        (
            "shoptrail::tracker_core::commerce",
            "commerce (cart, codec, payloads)",
        ),
        ("shoptrail::tracker_core::money", "commerce (money)"),
        (
            "shoptrail::tracker_core::args",
            "call arguments, markup, JSON-LD",
        ),
        ("shoptrail::tracker_core::json", "JSON writer and scanner"),
        ("shoptrail::tracker_core::queue", "queue"),
        ("shoptrail::tracker_core::store", "storage port"),
        ("shoptrail::tracker_core::config", "config"),
        (
            "shoptrail::tracker_core",
            "other tracker_core (event, page, campaign, ...)",
        ),
        ("shoptrail::browser", "browser driver and host imports"),
        ("talc", "allocator"),
        ("wasm_bindgen", "wasm-bindgen"),
    ];
    let mut totals: Vec<(&'static str, usize)> = Vec::new();
    let mut add = |name: &'static str, n: usize| match totals.iter_mut().find(|(k, _)| *k == name) {
        Some(t) => t.1 += n,
        None => totals.push((name, n)),
    };
    for (i, size) in bodies.iter().enumerate() {
        let name = names
            .get(i + imported as usize)
            .map(String::as_str)
            .unwrap_or("");
        // Generic code is named after the caller's crate in `<impl ...>` forms: match anywhere.
        let cat = CATEGORIES
            .iter()
            .find(|(prefix, _)| name.contains(prefix))
            .map(|(_, c)| *c)
            .unwrap_or("core and alloc (strings, vectors, ...)");
        add(cat, *size);
    }
    add("data (strings: messages, keys)", data);
    totals.sort_by_key(|t| core::cmp::Reverse(t.1));
    Ok(totals)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A module with two named functions, written by hand: (type) (func) x2 (code) (name).
    fn module(names: &[&str]) -> Vec<u8> {
        let mut m = b"\0asm\x01\0\0\0".to_vec();
        m.extend([1, 4, 1, 0x60, 0, 0]); // type section: one [] -> [] type
        m.extend([3, 3, 2, 0, 0]); // function section: two functions of type 0
        m.extend([10, 7, 2, 2, 0, 0x0b, 2, 0, 0x0b]); // code: two empty bodies
        let mut sub = vec![names.len() as u8];
        for (i, n) in names.iter().enumerate() {
            sub.push(i as u8);
            sub.push(n.len() as u8);
            sub.extend(n.as_bytes());
        }
        let mut payload = vec![4];
        payload.extend(b"name");
        payload.push(1);
        payload.push(sub.len() as u8);
        payload.extend(sub);
        m.push(0);
        m.push(payload.len() as u8);
        m.extend(payload);
        m
    }

    #[test]
    fn names_are_read_and_fmt_is_found() {
        let clean = module(&["_RNvNtCs1_9shoptrail4core5track", "boot"]);
        assert_eq!(function_names(&clean).unwrap().len(), 2);
        let dir = std::env::temp_dir().join(format!("xtask-fmt-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let ok = dir.join("ok.wasm");
        std::fs::write(&ok, &clean).unwrap();
        assert!(no_fmt(&ok).is_ok());
        let bad = dir.join("bad.wasm");
        std::fs::write(&bad, module(&["_ZN4core3fmt5write17h0E", "boot"])).unwrap();
        let e = no_fmt(&bad).unwrap_err();
        assert!(e.contains("_ZN4core3fmt5write"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
