//! Short names across the script tag's JS-wasm boundary.
//!
//! wasm-bindgen names each import after its function and a 16-digit hash
//! (`__wbg_notify_2fbcb1b26f78c3c4`) and each export after the Rust item
//! (`__wbindgen_malloc`, `wasm_bindgen__convert__closures_____invoke__h…`); the module carries
//! every name once and the glue again, and the hashes do not compress. For `dist/` only,
//! binaryen's `--minify-imports-and-exports-and-modules` renames them `a`, `b`, … (every import
//! in module `a`), and the glue is rewritten to match: its import object's keys, the functions
//! it imports straight from the host snippet, and every `wasm.<export>` it reads. Anything of
//! the glue this rewrite does not recognise fails the build rather than ship a module the glue
//! cannot instantiate. `pkg/` keeps wasm-bindgen's names (bundlers read them).

use crate::tools::{cmd, Result};
use std::collections::{BTreeSet, HashMap};
use std::path::Path;

/// What binaryen printed: `imports` as `[module, name, short]`, `exports` as `[name, short]`.
#[derive(serde::Deserialize)]
pub struct Mapping {
    imports: Vec<(String, String, String)>,
    exports: Vec<(String, String)>,
}

/// Writes `wasm` with short import and export names to `out_wasm`, and the glue `glue` (from
/// the same wasm-bindgen run, `--target web`) rewritten for it to `out_glue`; the glue's
/// relative imports (the host snippet) become absolute, so `out_glue` may live anywhere. Returns
/// the names given, for [`same_boundary`].
pub fn boundary(wasm: &Path, glue: &Path, out_wasm: &Path, out_glue: &Path) -> Result<Mapping> {
    let map = minified(wasm, out_wasm)?;
    let source = std::fs::read_to_string(glue).map_err(|e| format!("{}: {e}", glue.display()))?;
    let dir = glue.parent().ok_or("the glue has no directory")?;
    let rewritten = rewrite(&source, &map, &dir.display().to_string()).map_err(|e| {
        format!(
            "{}: {e} (wasm-bindgen's glue changed shape?)",
            glue.display()
        )
    })?;
    check_imports(out_wasm, &map)?;
    std::fs::write(out_glue, rewritten).map_err(|e| format!("{}: {e}", out_glue.display()))?;
    Ok(map)
}

/// Writes `wasm`, another build of the module `first` was given for, with short names to
/// `out_wasm`, and fails unless every import and export got the same short name as there: then
/// the one glue written for `first` instantiates either. (Exports are compared without the hash
/// rustc gives closure shims, which differs between builds.)
pub fn same_boundary(wasm: &Path, out_wasm: &Path, first: &Mapping) -> Result {
    let map = minified(wasm, out_wasm)?;
    let unhashed = |n: &str| match n.rsplit_once("__h") {
        Some((head, h)) if h.len() == 16 && h.bytes().all(|b| b.is_ascii_hexdigit()) => {
            head.to_owned()
        }
        _ => n.to_owned(),
    };
    for (module, name, short) in &map.imports {
        if !first
            .imports
            .iter()
            .any(|(m, n, s)| m == module && n == name && s == short)
        {
            return Err(format!(
                "{}: import {module}.{name} is not `{short}` in the first build: one glue cannot \
                 load both",
                wasm.display()
            ));
        }
    }
    for (name, short) in &map.exports {
        if !first
            .exports
            .iter()
            .any(|(n, s)| unhashed(n) == unhashed(name) && s == short)
        {
            return Err(format!(
                "{}: export {name} is not `{short}` in the first build: one glue cannot load both",
                wasm.display()
            ));
        }
    }
    check_imports(out_wasm, &map)
}

/// `wasm` with short import and export names, written to `out_wasm`, and the names given.
fn minified(wasm: &Path, out_wasm: &Path) -> Result<Mapping> {
    let shown = format!(
        "wasm-opt --minify-imports-and-exports-and-modules {}",
        wasm.display()
    );
    eprintln!("$ {shown}");
    let o = cmd("wasm-opt")
        // The features rustc's wasm32 target emits by default (the module has lost its
        // target-features section to the first wasm-opt): named one by one, as
        // `--all-features` would also allow encodings browsers do not read yet (compact
        // imports). A module needing another fails validation here, not in a browser.
        .args([
            "--enable-sign-ext",
            "--enable-mutable-globals",
            "--enable-nontrapping-float-to-int",
            "--enable-bulk-memory",
            "--enable-bulk-memory-opt",
            "--enable-reference-types",
            "--enable-multivalue",
            "--enable-call-indirect-overlong",
            "--minify-imports-and-exports-and-modules",
        ])
        .arg(wasm)
        .arg("-o")
        .arg(out_wasm)
        .output()
        .map_err(|e| format!("cannot run `{shown}`: {e}"))?;
    if !o.status.success() {
        return Err(format!(
            "`{shown}` failed: {}",
            String::from_utf8_lossy(&o.stderr)
        ));
    }
    let text = String::from_utf8_lossy(&o.stdout);
    let start = text.find('{').ok_or("wasm-opt printed no name mapping")?;
    serde_json::from_str(&text[start..]).map_err(|e| format!("wasm-opt's name mapping: {e}"))
}

/// The glue rewritten for the short names (see the module's docs).
fn rewrite(glue: &str, map: &Mapping, dir: &str) -> Result<String> {
    let mut out = glue.to_owned();
    // The namespaces the import object gives each module (`"./snippets/…": import1`).
    let ret = out
        .find("\n    return {\n        __proto__: null,\n")
        .ok_or("no import object returned by __wbg_get_imports")?;
    let end = ret
        + out[ret..]
            .find("\n    };\n")
            .ok_or("the import object does not end")?;
    let mut namespaces = HashMap::new();
    for line in out[ret..end].lines().skip(3) {
        let (module, var) = line
            .trim()
            .trim_end_matches(',')
            .split_once(": ")
            .ok_or_else(|| format!("unexpected line in the import object: {line}"))?;
        namespaces.insert(module.trim_matches('"').to_owned(), var.to_owned());
    }
    let own = namespaces
        .iter()
        .find(|(_, v)| v.as_str() == "import0")
        .map(|(m, _)| m.clone())
        .ok_or("no import0 in the import object")?;
    out.replace_range(ret..end + "\n    };".len(), "\n    return { a: import0 };");

    let mut extra = String::new();
    for (module, name, short) in &map.imports {
        if *module == own {
            let key = format!("\n        {name}: function(");
            if out.matches(&key).count() != 1 {
                return Err(format!("import {name} is not defined once in import0"));
            }
            out = out.replacen(&key, &format!("\n        {short}: function("), 1);
        } else {
            let ns = namespaces
                .get(module)
                .ok_or_else(|| format!("no namespace for module {module}"))?;
            extra.push_str(&format!("\n        {short}: {ns}.{name},"));
        }
    }
    let head = "const import0 = {\n        __proto__: null,";
    let at = out.find(head).ok_or("no import0 object")? + head.len();
    out.insert_str(at, &extra);

    // Exports: every `wasm.<name>`, whole identifiers only.
    let shorts: HashMap<&str, &str> = map
        .exports
        .iter()
        .map(|(n, s)| (n.as_str(), s.as_str()))
        .collect();
    let mut result = String::with_capacity(out.len());
    let mut rest = out.as_str();
    let mut unknown = BTreeSet::new();
    while let Some(i) = rest.find("wasm.") {
        let before = rest[..i].chars().last();
        result.push_str(&rest[..i + 5]);
        rest = &rest[i + 5..];
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '$' || c == '.') {
            continue;
        }
        let len = rest
            .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == '$'))
            .unwrap_or(rest.len());
        let ident = &rest[..len];
        match shorts.get(ident) {
            Some(s) => result.push_str(s),
            None => {
                unknown.insert(ident.to_owned());
                result.push_str(ident);
            }
        }
        rest = &rest[len..];
    }
    result.push_str(rest);
    if !unknown.is_empty() {
        return Err(format!(
            "the glue reads exports the module does not have: {unknown:?}"
        ));
    }
    Ok(result
        .replace("from './snippets/", &format!("from '{dir}/snippets/"))
        .replace("from \"./snippets/", &format!("from \"{dir}/snippets/")))
}

/// Every import of the minified module is in module `a` under a name the rewrite gave it.
fn check_imports(wasm: &Path, map: &Mapping) -> Result {
    let bytes = std::fs::read(wasm).map_err(|e| format!("{}: {e}", wasm.display()))?;
    let given: BTreeSet<&str> = map.imports.iter().map(|(_, _, s)| s.as_str()).collect();
    for payload in wasmparser::Parser::new(0).parse_all(&bytes) {
        if let Ok(wasmparser::Payload::ImportSection(reader)) = payload {
            for import in reader.into_imports() {
                let import = import.map_err(|e| format!("{}: {e}", wasm.display()))?;
                if import.module != "a" || !given.contains(import.name) {
                    return Err(format!(
                        "{}: import {}.{} has no function in the rewritten glue",
                        wasm.display(),
                        import.module,
                        import.name
                    ));
                }
            }
        }
    }
    Ok(())
}
