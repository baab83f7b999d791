//! What [`write_npm`] writes into the built npm package: the entries, the server stand-in and
//! the TypeScript declarations.

use super::{Api, Kind, Method};
use crate::tools::Result;
use std::fmt::Write as _;
use std::path::Path;

const GENERATED: &str = "Generated from pkg-config/api.json by `cargo xtask build`; do not edit.";

/// `pkg/index.js`: the bundler entry.
/// `pkg/index.js` (`lite`: `pkg/lite/index.js`, the build without api.json's optional options,
/// beside the engage chunk's directory).
fn npm_index(api: &Api, lite: bool) -> String {
    let tops: Vec<String> = api
        .top()
        .iter()
        .map(|m| format!("{0} = api.{0}", m.name))
        .collect();
    let spaces: Vec<String> = api
        .namespaces()
        .iter()
        .map(|(ns, _)| format!("{ns} = api.{ns}"))
        .collect();
    format!(
        "/* shoptrail{} for bundlers. {GENERATED} */\n\
         import {{ boot }} from \"./shoptrail.js\";\n\n\
         const api = boot();\n\
         /* The engage module (popups) is its own chunk, imported only when campaigns are configured. */\n\
         api.__engage(() => import(\"{1}/engage/index.js\"));\n\
         /* The consent adapters, imported only when the config names a consent manager. */\n\
         api.__consent(() => import(\"{1}/consent/index.js\"));\n\n\
         export const {2};\n\
         export const {3};\n\
         export default api;\n",
        if lite {
            "/lite (without the optional options)"
        } else {
            ""
        },
        if lite { ".." } else { "." },
        tops.join(",\n  "),
        spaces.join(",\n  ")
    )
}

/// How the web entry forwards a call before the wasm has loaded: 0 queued, 1 a getter
/// (undefined), 2 a Promise settled after the load.
fn web_mode(kind: Kind) -> u8 {
    match kind {
        Kind::Promise => 2,
        k if k.is_getter() => 1,
        _ => 0,
    }
}

/// `pkg/web/index.js`: the no-bundler entry.
fn npm_web(api: &Api) -> String {
    let fwd = |m: &Method| format!("fwd(\"{}\", {})", m.name, web_mode(m.kind));
    let mut out = format!(
        r#"/* shoptrail without a bundler. {GENERATED}
   `load()` fetches and starts the wasm. Calls made before it has finished are queued and
   replayed in order; until then getters return undefined and `flush()` and `ready()` return a
   Promise that settles after the load (with false when the load fails). */
import initWasm, {{ boot }} from "./shoptrail.js";

let api; /* the SDK, once the wasm has loaded */
let replayed = false; /* true once the queued calls have been replayed */
let loading;
const queue = [];

function get(a, path) {{
  const p = path.split(".");
  return p[1] ? a[p[0]][p[1]] : a[p[0]];
}}

/* mode 0: queued before the load; 1: a getter, undefined before it; 2: a Promise settled after
   it. While the queue is replayed, new calls (from a listener) join its end, so order holds. */
function fwd(path, mode) {{
  return function () {{
    const args = [].slice.call(arguments);
    if (replayed || (api && mode == 1)) return get(api, path).apply(undefined, args);
    if (mode == 1) return undefined;
    if (mode == 2) return new Promise((resolve) => queue.push([path, args, resolve]));
    queue.push([path, args]);
  }};
}}

async function start(input) {{
  /* wasm-bindgen wants `{{ module_or_path }}`: a bare URL, Response or module is wrapped. */
  let arg = input == null ? undefined : input;
  if (arg !== undefined && Object.getPrototypeOf(arg) !== Object.prototype) arg = {{ module_or_path: arg }};
  await initWasm(arg);
  api = boot();
  /* The engage module (popups), fetched only when campaigns are configured. */
  api.__engage(() => import("./engage/shoptrail_engage.js").then(async (m) => {{
    await m.default();
    return m;
  }}));
  /* The consent adapters, imported only when the config names a consent manager. */
  api.__consent(() => import("../consent/index.js"));
  while (queue.length) {{
    const [path, args, resolve] = queue.shift();
    let r;
    try {{ r = get(api, path).apply(undefined, args); }} catch (e) {{ r = undefined; }}
    if (resolve) resolve(r);
  }}
  replayed = true;
}}

/* Loads the wasm once: a second call returns the first one's Promise. A failed load settles
   the waiting Promises with false (as the SDK does when it cannot run) and may be tried again;
   the other calls stay queued for it. */
export default async function load(input) {{
  if (!loading) {{
    loading = start(input);
    loading.catch(() => {{
      loading = undefined;
      for (const c of queue.splice(0)) c[2] ? c[2](false) : queue.push(c);
    }});
  }}
  return loading;
}}

"#
    );
    let tops: Vec<String> = api
        .top()
        .iter()
        .map(|m| format!("{} = {}", m.name, fwd(m)))
        .collect();
    writeln!(out, "export const {};", tops.join(",\n  ")).expect("writing to a String");
    for (ns, methods) in api.namespaces() {
        let members: Vec<String> = methods
            .iter()
            .map(|m| format!("{}: {}", m.split().1, fwd(m)))
            .collect();
        writeln!(
            out,
            "export const {ns} = {{\n  {},\n}};",
            members.join(",\n  ")
        )
        .expect("writing to a String");
    }
    out
}

/// `pkg/node.js`: the server stand-in (the `node` export condition of both entries).
fn npm_node(api: &Api) -> String {
    let value = |m: &Method| match m.kind {
        Kind::Promise if m.returns() == "Promise<boolean>" => "() => Promise.resolve(false)",
        Kind::Promise => "() => Promise.resolve()",
        _ => "noop",
    };
    let tops: Vec<String> = api
        .top()
        .iter()
        .map(|m| format!("{} = {}", m.name, value(m)))
        .collect();
    let mut out = format!(
        "/* Server-side stand-in (Node, SSR frameworks, test runners): shoptrail tracks shoppers in\n   \
         the browser, so on a server every call does nothing, flush() resolves false and getters\n   \
         return undefined. {GENERATED} */\n\
         const noop = () => {{}};\n\n\
         export const {};\n",
        tops.join(",\n  ")
    );
    for (ns, methods) in api.namespaces() {
        let members: Vec<String> = methods
            .iter()
            .map(|m| format!("{}: {}", m.split().1, value(m)))
            .collect();
        writeln!(out, "export const {ns} = {{ {} }};", members.join(", "))
            .expect("writing to a String");
    }
    let all: Vec<&str> = api
        .top()
        .iter()
        .map(|m| m.name.as_str())
        .chain(api.namespaces().iter().map(|(ns, _)| *ns))
        .collect();
    write!(
        out,
        "\n/* The default export stands in for both entries' defaults: `load()` of shoptrail/web\n   \
         (a function resolving at once) and the API object of shoptrail. */\n\
         const stub = () => Promise.resolve();\n\
         Object.assign(stub, {{ {} }});\n\
         export default stub;\n",
        all.join(", ")
    )
    .expect("writing to a String");
    out
}

/// `pkg/index.d.ts`, or with `web` `pkg/web/index.d.ts`.
fn npm_dts(api: &Api, web: bool, lite: bool) -> String {
    let mut o = format!(
        "/* TypeScript declarations of shoptrail{}{}. {GENERATED} */\n\n",
        if web { "/web" } else { "" },
        if lite { "/lite" } else { "" }
    );
    let w = &mut o;
    let line = |w: &mut String, s: &str| {
        w.push_str(s);
        w.push('\n');
    };

    line(w, "/** The options of `init`. */");
    line(w, "export interface ShoptrailConfig {");
    // The lite build has none of the optional options: naming one is a type error.
    for opt in api
        .options
        .iter()
        .filter(|o| !(lite && o.optional.is_some()))
    {
        let default = match opt.default.as_str() {
            "required" | "none" => String::new(),
            d => format!(" (default: `{d}`)"),
        };
        line(w, &format!("  /** {}{default} */", opt.doc));
        let q = if opt.required() { "" } else { "?" };
        line(w, &format!("  {}{q}: {};", opt.name, opt.ty));
    }
    line(w, "}\n");

    line(w, "/**");
    line(w, " * The `code` of a `ShoptrailError`:");
    for e in &api.errors {
        line(w, &format!(" * - `{}`: {}", e.code, e.doc));
    }
    line(w, " */");
    let codes: Vec<String> = api
        .errors
        .iter()
        .map(|e| format!("\"{}\"", e.code))
        .collect();
    line(
        w,
        &format!("export type ShoptrailErrorCode = {};\n", codes.join(" | ")),
    );

    for t in &api.types {
        line(w, &format!("{}\n", t.trim_end()));
    }

    for m in api.top() {
        line(w, &format!("/** {} */", m.doc));
        line(
            w,
            &format!("export declare function {}{};\n", m.name, m.signature()),
        );
    }
    for (ns, methods) in api.namespaces() {
        line(w, &format!("export declare const {ns}: {{"));
        for m in methods {
            line(w, &format!("  /** {} */", m.doc));
            line(w, &format!("  {}{};", m.split().1, m.signature()));
        }
        line(w, "};\n");
    }

    if web {
        line(
            w,
            "/** Loads the wasm (by default `shoptrail_bg.wasm` beside this module); calls made before \
             it has finished are queued and replayed in order. A second call returns the first one's \
             Promise. */",
        );
        line(
            w,
            "export default function load(input?: RequestInfo | URL | Response | BufferSource | \
             WebAssembly.Module | { module_or_path: RequestInfo | URL | Response | BufferSource | \
             WebAssembly.Module }): Promise<void>;",
        );
    } else {
        line(
            w,
            "/** Every call, on one object (as on `window.shoptrail`). */",
        );
        line(w, "declare const api: {");
        for m in api.top() {
            line(w, &format!("  {0}: typeof {0};", m.name));
        }
        for (ns, _) in api.namespaces() {
            line(w, &format!("  {ns}: typeof {ns};"));
        }
        line(w, "};");
        line(w, "export default api;");
    }
    o
}

/// `pkg/engage/index.js`: the engage module for bundlers.
const ENGAGE_INDEX: &str =
    "/* shoptrail's engage module (popups) for bundlers. The tracker imports it itself when\n   \
    campaigns are configured (`init({ campaigns })` or `campaigns.add`); importing it yourself\n   \
    only preloads it. */\n\
    export { start, add, shutdown } from \"./shoptrail_engage.js\";\n";

/// `pkg/engage/index.d.ts`.
const ENGAGE_DTS: &str = "/** Starts campaigns with the tracker's API object (the tracker calls it). */\n\
    export declare function start(api: unknown, campaigns: unknown[], report: (code: string, message: string) => void): void;\n\
    /** Adds or replaces one campaign. */\n\
    export declare function add(campaign: unknown): void;\n\
    /** Removes every listener, timer and node the engage module added. */\n\
    export declare function shutdown(): void;\n";

/// The files [`write_npm`] writes, by path inside the package.
pub fn npm_files(api: &Api) -> Vec<(&'static str, String)> {
    vec![
        ("engage/index.js", ENGAGE_INDEX.to_string()),
        ("engage/index.d.ts", ENGAGE_DTS.to_string()),
        ("index.js", npm_index(api, false)),
        ("lite/index.js", npm_index(api, true)),
        ("lite/index.d.ts", npm_dts(api, false, true)),
        ("web/index.js", npm_web(api)),
        ("node.js", npm_node(api)),
        ("index.d.ts", npm_dts(api, false, false)),
        ("web/index.d.ts", npm_dts(api, true, false)),
    ]
}

/// Writes the npm entries (`index.js`, `web/index.js`), the server stand-in (`node.js`) and the
/// declarations (`index.d.ts`, `web/index.d.ts`) into the built package `pkg`.
pub fn write_npm(pkg: &Path) -> Result {
    let api = Api::load()?;
    for (rel, text) in npm_files(&api) {
        let path = pkg.join(rel);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        }
        std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::sections::snippet;
    use crate::api::tests::api;
    use crate::tools::root;
    use std::path::PathBuf;
    use std::process::Command;

    /// A fresh temporary directory for one test.
    fn temp(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("shoptrail-xtask-api-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn node(dir: &Path, args: &[&str]) -> String {
        let out = Command::new("node")
            .args(args)
            .current_dir(dir)
            .output()
            .expect("node is installed");
        assert!(
            out.status.success(),
            "node {args:?} failed:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    #[test]
    fn the_lite_declarations_leave_the_optional_options_out() {
        let api = api();
        let dts = npm_dts(&api, false, true);
        assert!(api.options.iter().any(|o| o.optional.is_some()));
        for o in &api.options {
            let q = if o.required() { "" } else { "?" };
            let declared = dts.contains(&format!("  {}{q}: {};", o.name, o.ty));
            assert_eq!(declared, o.optional.is_none(), "{}", o.name);
        }
        assert!(npm_index(&api, true).contains("import(\"../engage/index.js\")"));
    }

    #[test]
    fn declarations_mention_every_method_option_and_error() {
        let api = api();
        for web in [false, true] {
            let dts = npm_dts(&api, web, false);
            for m in &api.methods {
                let (ns, name) = m.split();
                let decl = match ns {
                    None => format!("export declare function {name}"),
                    Some(_) => format!("  {name}{}", m.signature()),
                };
                assert!(dts.contains(&decl), "{} missing from the d.ts", m.name);
                if let Some(ns) = ns {
                    assert!(dts.contains(&format!("export declare const {ns}: {{")));
                }
            }
            for o in &api.options {
                let q = if o.required() { "" } else { "?" };
                assert!(dts.contains(&format!("  {}{q}: {};", o.name, o.ty)));
            }
            for e in &api.errors {
                assert!(dts.contains(&format!("\"{}\"", e.code)));
            }
            for t in &api.types {
                assert!(dts.contains(t.trim_end()));
            }
            assert_eq!(dts.contains("export default function load("), web);
            assert_eq!(dts.contains("export default api;"), !web);
        }
    }

    /// Writes every generated script into a temporary module package, with stand-ins for the
    /// wasm-bindgen glue, and js/host.js beside them.
    fn scripts(name: &str) -> PathBuf {
        let api = api();
        let dir = temp(name);
        write_npm(&dir).unwrap();
        std::fs::write(dir.join("package.json"), "{\"type\": \"module\"}\n").unwrap();
        let html = snippet(&api);
        let inline = html
            .split("<script>\n")
            .nth(1)
            .and_then(|s| s.split("\n</script>").next())
            .unwrap();
        std::fs::write(dir.join("snippet.cjs"), inline).unwrap();
        std::fs::copy(root().join("js/host.js"), dir.join("host.js")).unwrap();
        // The glue: boot() builds the API with the real host around a wasm that logs its calls.
        let glue = "import { connect } from \"./host.js\";\n\
            export const calls = [];\n\
            export let loads = 0;\n\
            export default async function initWasm(input) {\n\
              if (input && input.module_or_path == \"/fail.wasm\") throw new Error(\"404\");\n\
              loads++; calls.push([\"#load\", input]);\n\
            }\n\
            const named = (c) => NAMES[+c] || (+c == NAMES.length ? \"~batch\" : \"~\" + c);\n\
            export function boot() {\n\
              return connect((code, json) => {\n\
                const method = named(code);\n\
                if (method == \"~batch\") {\n\
                  for (const c of json.split(\"\\u0002\")) {\n\
                    const [k, , , args] = c.split(\"\\u0001\");\n\
                    const m = named(k);\n\
                    calls.push([m, JSON.parse(args)]);\n\
                    if (m == \"flush\") Promise.resolve().then(() => notify(3, \"1\"));\n\
                  }\n\
                  return;\n\
                }\n\
                calls.push([method, JSON.parse(json)]);\n\
                if (method == \"anonymousId\") return \"anon-1\";\n\
                if (method == \"sessionId\") return \"17\";\n\
                if (method == \"cart.get\") return '{\"cart_id\":\"c\"}';\n\
              });\n\
            }\n\
            import { notify, NAMES } from \"./host.js\";\n";
        std::fs::write(dir.join("shoptrail.js"), glue).unwrap();
        std::fs::create_dir_all(dir.join("web")).unwrap();
        std::fs::write(
            dir.join("web/shoptrail.js"),
            "export * from \"../shoptrail.js\";\nexport { default } from \"../shoptrail.js\";\n",
        )
        .unwrap();
        std::fs::write(
            dir.join("api.json"),
            serde_json::to_string(
                &api.methods
                    .iter()
                    .map(|m| (m.name.clone(), m.kind.code()))
                    .collect::<Vec<_>>(),
            )
            .unwrap(),
        )
        .unwrap();
        dir
    }

    #[test]
    fn generated_javascript_parses() {
        let dir = scripts("parse");
        for f in [
            "index.js",
            "web/index.js",
            "node.js",
            "snippet.cjs",
            "host.js",
        ] {
            node(&dir, &["--check", f]);
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn generated_javascript_behaves() {
        let dir = scripts("run");
        let check = r##"
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import vm from "node:vm";
const methods = JSON.parse(readFileSync("api.json", "utf8"));
const at = (o, name) => name.split(".").reduce((x, k) => x && x[k], o);
const glue = await import("./shoptrail.js");

// The host builds every method of api.json.
const real = glue.boot();
for (const [name] of methods) assert.equal(typeof at(real, name), "function", "host: " + name);

// The snippet: a stub per method, queueing; flush and ready return a Promise; a second copy
// and a loaded SDK are left alone.
const w = {};
const code = readFileSync("snippet.cjs", "utf8");
vm.runInNewContext(code, { window: w });
for (const [name] of methods) assert.equal(typeof at(w.shoptrail, name), "function", "snippet: " + name);
assert.equal(w.shoptrail.track("A", { x: 1 }), undefined);
assert.equal(w.shoptrail.cart.get(), undefined);
const p = w.shoptrail.flush();
assert.equal(typeof p.then, "function");
assert.deepEqual(Array.from(w.shoptrail.q, (c) => JSON.stringify([c[0], c[1], typeof c[2]])), [
  '["track",["A",{"x":1}],"undefined"]', '["cart.get",[],"undefined"]', '["flush",[],"function"]']);
assert.equal(typeof w.shoptrail.ready().then, "function");
const q = w.shoptrail.q, track = w.shoptrail.track;
vm.runInNewContext(code, { window: w });
assert.equal(w.shoptrail.q, q);
assert.equal(w.shoptrail.track, track);
const done = { shoptrail: { loaded: true } };
vm.runInNewContext(code, { window: done });
assert.deepEqual(done.shoptrail, { loaded: true });

// shoptrail.js never starts (blocked): 5 s after the page's load, queued Promises settle
// with false, init's onError hears `unsupported`, later Promises
// settle at once, and the calls that return nothing stay queued for a late script.
const handlers = {}, timers = [], heard = [];
const b = { addEventListener: (name, f) => { handlers[name] = f; } };
vm.runInNewContext(code, { window: b, setTimeout: (f, ms) => timers.push([f, ms]), Promise, Error });
b.shoptrail.init({ endpoint: "/v1/batch", onError: (e) => heard.push(e.code) });
b.shoptrail.track("Kept");
const flushed = b.shoptrail.flush(), readied = b.shoptrail.ready();
handlers.load();
assert.equal(timers.length, 1);
assert.equal(timers[0][1], 5000);
timers[0][0]();
assert.equal(await flushed, false);
assert.equal(await readied, false);
assert.deepEqual(heard, ["unsupported"]);
assert.equal(await b.shoptrail.flush(), false);
assert.equal(await b.shoptrail.ready(), false);
assert.deepEqual(Array.from(b.shoptrail.q, (c) => c[0]), ["init", "track"]);
// A script that started in time is left alone.
const ok = { addEventListener: (name, f) => { ok.load = f; } };
const later = [];
vm.runInNewContext(code, { window: ok, setTimeout: (f) => later.push(f), Promise, Error });
const pending = ok.shoptrail.flush();
ok.shoptrail.loading = true;
ok.load();
later[0]();
assert.equal(ok.shoptrail.x, undefined);
let early2 = false;
pending.then(() => { early2 = true; });
await new Promise((r) => setTimeout(r, 5));
assert.equal(early2, false);

// The bundler entry: every top-level method and namespace of the API, and the API as default.
const index = await import("./index.js");
for (const [name] of methods) {
  assert.equal(typeof at(index, name), "function", "index.js: " + name);
  assert.equal(at(index, name), at(index.default, name), "index.js default: " + name);
}

// The server stand-in.
const server = await import("./node.js");
for (const [name] of methods) {
  const r = at(server, name)("x");
  if (name == "flush" || name == "ready") assert.equal(await r, false);
  else assert.equal(r, undefined, "node.js: " + name);
  assert.equal(at(server.default, name), at(server, name));
}
assert.equal(await server.default(), undefined);

// The web entry: calls before load are queued (getters give undefined), replayed in order.
const web = await import("./web/index.js");
for (const [name] of methods) assert.equal(typeof at(web, name), "function", "web: " + name);
glue.calls.length = 0;
assert.equal(web.init({ endpoint: "/v1/batch" }), undefined);
assert.equal(web.anonymousId(), undefined);
assert.equal(web.cart.add({ product_id: "p", price: 0.1 + 0.2 }, 2), undefined);
// A load that fails settles the waiting Promises with false; the other calls wait for the next.
const doomed = web.ready(), doomedFlush = web.flush();
await assert.rejects(web.default("/fail.wasm"));
assert.equal(await doomed, false);
assert.equal(await doomedFlush, false);
const early = web.flush();
let settled = false;
early.then(() => { settled = true; });
await new Promise((r) => setTimeout(r, 10));
assert.equal(settled, false);
assert.deepEqual(glue.calls, []);
const first = web.default("/x.wasm"), second = web.default();
await first; await second;
// Calls that return nothing reach the wasm after the task that made them.
await new Promise((r) => setTimeout(r, 5));
assert.equal(glue.loads, 1);
assert.deepEqual(glue.calls[0], ["#load", { module_or_path: "/x.wasm" }]);
assert.deepEqual(glue.calls.slice(1).map((c) => c[0]), ["init", "cart.add", "flush"]);
assert.deepEqual(glue.calls[2][1], [{ product_id: "p", price: 0.3 }, 2]);
assert.equal(await early, true);
assert.equal(web.anonymousId(), "anon-1");
assert.equal(web.sessionId(), 17);
assert.deepEqual(web.cart.get(), { cart_id: "c" });
web.track("After");
await new Promise((r) => setTimeout(r, 5));
assert.deepEqual(glue.calls.at(-1), ["track", ["After"]]);
await web.default();
assert.equal(glue.loads, 1);
console.log("ok");
"##;
        std::fs::write(dir.join("check.mjs"), check).unwrap();
        assert_eq!(node(&dir, &["check.mjs"]).trim(), "ok");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
