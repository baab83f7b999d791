//! `cargo xtask api [--check]`: the public API of shoptrail has one source, `pkg-config/api.json`.
//!
//! From it come the method table of `js/host.js`, the snippet and the tables of `README.md` and
//! `pkg-config/README.md` (committed, rewritten by [`sync`]), and the npm entries, the server
//! stand-in and the `.d.ts` of the built package (written by [`write_npm`]). So a name, an
//! option, an error code or a type is changed in one place and cannot drift.

mod npm;
mod sections;

pub use npm::write_npm;
pub use sections::sync;

use crate::tools::{root, Result};
use serde::Deserialize;

/// The source, relative to the workspace root.
pub const SOURCE: &str = "pkg-config/api.json";

/// How `js/host.js` calls a method (see the `about` field of api.json).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(try_from = "u8")]
pub enum Kind {
    /// 0: returns nothing.
    Plain,
    /// 1: returns nothing; shop data (numbers through 15 significant digits).
    Shop,
    /// 2: returns a string.
    Text,
    /// 3: returns a number.
    Number,
    /// 4: returns a JSON value.
    Json,
    /// 5: returns a Promise (`flush`).
    Promise,
    /// 6: a listener call (`on`, `off`).
    Listener,
    /// 7: `init`.
    Init,
    /// 8: returns nothing; applied before the call returns (a consent choice).
    Now,
}

impl TryFrom<u8> for Kind {
    type Error = String;

    fn try_from(n: u8) -> std::result::Result<Self, String> {
        Ok(match n {
            0 => Kind::Plain,
            1 => Kind::Shop,
            2 => Kind::Text,
            3 => Kind::Number,
            4 => Kind::Json,
            5 => Kind::Promise,
            6 => Kind::Listener,
            7 => Kind::Init,
            8 => Kind::Now,
            _ => return Err(format!("kind {n} is not one of 0 to 8")),
        })
    }
}

impl Kind {
    fn code(self) -> u8 {
        self as u8
    }

    /// Kinds 2, 3 and 4 return a value read from the SDK.
    fn is_getter(self) -> bool {
        matches!(self, Kind::Text | Kind::Number | Kind::Json)
    }

    /// Kinds whose methods `connect()` in js/host.js builds from its `METHODS` line; the others
    /// (5, 6) it writes by hand.
    fn in_host_table(self) -> bool {
        !matches!(self, Kind::Promise | Kind::Listener)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Section {
    Api,
    Commerce,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Method {
    /// `track`, or `cart.add` for a method of the `cart` namespace.
    pub name: String,
    pub kind: Kind,
    pub section: Section,
    /// TypeScript parameters, such as `event: string, properties?: Record<string, unknown>`.
    pub params: String,
    /// TypeScript return type; `void` when absent.
    pub returns: Option<String>,
    /// TypeScript type parameters, without the angle brackets.
    pub generic: Option<String>,
    /// The event a commerce call sends (the README's commerce table).
    pub event: Option<String>,
    pub doc: String,
    /// The parameter names, `?` kept: filled in by [`Api::parse`].
    #[serde(skip)]
    pub args: Vec<String>,
}

impl Method {
    /// The namespace (`cart` of `cart.add`) and the name within it.
    fn split(&self) -> (Option<&str>, &str) {
        match self.name.split_once('.') {
            Some((ns, m)) => (Some(ns), m),
            None => (None, &self.name),
        }
    }

    fn returns(&self) -> &str {
        self.returns.as_deref().unwrap_or("void")
    }

    /// How the READMEs show a call: `page(name?, properties?)`.
    fn call(&self) -> String {
        format!("{}({})", self.name, self.args.join(", "))
    }

    /// The TypeScript signature after the name: `<N extends X>(a: string): void`.
    fn signature(&self) -> String {
        let generic = self
            .generic
            .as_deref()
            .map(|g| format!("<{g}>"))
            .unwrap_or_default();
        format!("{generic}({}): {}", self.params, self.returns())
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Opt {
    pub name: String,
    /// TypeScript type.
    #[serde(rename = "type")]
    pub ty: String,
    /// As the README shows it; `required` makes the option required.
    pub default: String,
    pub doc: String,
    /// The cargo feature of an option the lite tracker leaves out (the script tag's lite wasm,
    /// `shoptrail/lite`); `config::OPTIONAL` in Rust, checked by a test.
    #[serde(default)]
    pub optional: Option<String>,
}

impl Opt {
    fn required(&self) -> bool {
        self.default == "required"
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ErrorCode {
    pub code: String,
    pub doc: String,
}

/// A named entry of one of the boundary's numbered lists (internal calls, facts, notify
/// kinds): its position is its number.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InternalCall {
    /// The name, without `~`: lowercase letters.
    pub name: String,
    pub doc: String,
}

/// A name `on()` takes.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Listener {
    /// `event`, `delivered`, `popup:shown`, ...
    pub name: String,
    /// The track event whose properties the listener receives (the popup ones).
    pub event: Option<String>,
    pub doc: String,
}

/// A limit of api.json's `limits`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limit {
    /// The name: lowercase letters.
    pub name: String,
    pub value: u64,
    pub doc: String,
}

/// The public API as `pkg-config/api.json` describes it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Api {
    pub about: String,
    pub methods: Vec<Method>,
    pub options: Vec<Opt>,
    pub errors: Vec<ErrorCode>,
    /// The host's internal calls (`~name`), numbered after the methods.
    pub internal: Vec<InternalCall>,
    /// The page facts the wasm reads (`fact(i)`), numbered in order.
    pub facts: Vec<InternalCall>,
    /// The kinds of `notify(kind, a, b)`, numbered in order.
    pub notify: Vec<InternalCall>,
    /// Limits both sides of the boundary apply (`const LIMIT_EVENT = 32768;` in js/host.js).
    pub limits: Vec<Limit>,
    /// The names `on()` takes, in order; a popup listener hears the track event it names.
    pub listeners: Vec<Listener>,
    /// The crawlers the tracker knows by their user agent (written by `cargo xtask bots`).
    pub crawlers: Crawlers,
    /// TypeScript declarations written verbatim into the `.d.ts`.
    pub types: Vec<String>,
}

/// api.json's `crawlers`: a regular expression source (case-insensitive) and where it is from.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Crawlers {
    pub source: String,
    pub pattern: String,
}

/// Names that cannot be a top-level method or a namespace: JavaScript's reserved words, what the
/// script-tag loader keeps on `window.shoptrail`, and the generated entries' own local names.
const RESERVED: &[&str] = &[
    "await",
    "break",
    "case",
    "catch",
    "class",
    "const",
    "continue",
    "debugger",
    "default",
    "delete",
    "do",
    "else",
    "enum",
    "export",
    "extends",
    "false",
    "finally",
    "for",
    "function",
    "if",
    "implements",
    "import",
    "in",
    "instanceof",
    "interface",
    "let",
    "new",
    "null",
    "package",
    "private",
    "protected",
    "public",
    "return",
    "static",
    "super",
    "switch",
    "this",
    "throw",
    "true",
    "try",
    "typeof",
    "var",
    "void",
    "while",
    "with",
    "yield",
    "q",
    "loaded",
    "loading",
    "__markup",
    "boot",
    "api",
    "noop",
    "stub",
    "initWasm",
    "get",
    "fwd",
    "start",
    "load",
    "queue",
    "replayed",
];

/// The methods js/host.js writes by hand (`api.flush`, `api.ready`, `api.on`, `api.off`), with
/// their kinds.
const HAND_WRITTEN: &[(&str, Kind)] = &[
    ("flush", Kind::Promise),
    ("ready", Kind::Promise),
    ("on", Kind::Listener),
    ("off", Kind::Listener),
];

fn is_ident(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == '$')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$')
}

/// Text that goes into a one-line JSDoc comment, a table cell or a JS string.
fn check_text(what: &str, text: &str) -> Result {
    if text.trim().is_empty() {
        return Err(format!("{what} is empty"));
    }
    if text.contains('\n') || text.contains("*/") {
        return Err(format!("{what} {text:?} has a line break or `*/`"));
    }
    Ok(())
}

/// Splits TypeScript parameters at the top-level commas (not those of `Record<string, unknown>`
/// or `{ a: string, b: number }`) into their names, with `?` kept.
fn param_names(params: &str) -> Result<Vec<String>> {
    if params.trim().is_empty() {
        return Ok(Vec::new());
    }
    let mut pieces = vec![String::new()];
    let mut depth = 0i32;
    let mut prev = ' ';
    for c in params.chars() {
        match c {
            '(' | '[' | '{' | '<' => depth += 1,
            ')' | ']' | '}' => depth -= 1,
            '>' if prev != '=' => depth -= 1,
            ',' if depth == 0 => {
                pieces.push(String::new());
                prev = c;
                continue;
            }
            _ => {}
        }
        if depth < 0 {
            return Err(format!("unbalanced brackets in params {params:?}"));
        }
        pieces.last_mut().expect("never empty").push(c);
        prev = c;
    }
    if depth != 0 {
        return Err(format!("unbalanced brackets in params {params:?}"));
    }
    pieces
        .iter()
        .map(|p| {
            let (name, ty) = p
                .split_once(':')
                .ok_or_else(|| format!("param {:?} has no `: type`", p.trim()))?;
            let name = name.trim();
            if !is_ident(name.strip_suffix('?').unwrap_or(name)) || ty.trim().is_empty() {
                return Err(format!("param {:?} is not `name: type`", p.trim()));
            }
            Ok(name.to_string())
        })
        .collect()
}

impl Api {
    /// Reads and checks `pkg-config/api.json`.
    pub fn load() -> Result<Api> {
        let path = root().join(SOURCE);
        let text = std::fs::read_to_string(&path).map_err(|e| format!("{SOURCE}: {e}"))?;
        Api::parse(&text).map_err(|e| format!("{SOURCE}: {e}"))
    }

    /// Parses api.json (unknown fields are an error) and checks what the generators rely on.
    pub fn parse(text: &str) -> Result<Api> {
        let mut api: Api = serde_json::from_str(text).map_err(|e| e.to_string())?;
        api.check()?;
        Ok(api)
    }

    fn check(&mut self) -> Result {
        if self.about.trim().is_empty() {
            return Err("`about` is empty".into());
        }
        // Every listener is documented where page authors look: `on`'s doc and the .d.ts's
        // `ShoptrailEvents`.
        let on = self
            .methods
            .iter()
            .find(|m| m.name == "on")
            .map(|m| m.doc.as_str());
        let events = self
            .types
            .iter()
            .find(|t| t.contains("interface ShoptrailEvents"));
        for l in &self.listeners {
            let ok =
                !l.name.is_empty() && (l.name.bytes()).all(|b| b.is_ascii_lowercase() || b == b':');
            if !ok {
                return Err(format!("listener `{}`: lowercase letters and `:`", l.name));
            }
            check_text(&format!("listener `{}`'s doc", l.name), &l.doc)?;
            let quoted = format!("`{}`", l.name);
            if !on.is_some_and(|d| d.contains(&quoted)) {
                return Err(format!("method `on`'s doc does not name listener {quoted}"));
            }
            let key = if l.name.contains(':') {
                format!("\"{}\":", l.name)
            } else {
                format!("  {}:", l.name)
            };
            if !events.is_some_and(|t| t.contains(&key)) {
                return Err(format!(
                    "types: `ShoptrailEvents` has no member for listener `{}`",
                    l.name
                ));
            }
        }
        let pairs = |l: &[InternalCall]| -> Vec<(String, String)> {
            l.iter().map(|c| (c.name.clone(), c.doc.clone())).collect()
        };
        let limits = (self.limits.iter()).map(|l| (l.name.clone(), l.doc.clone()));
        for (what, list) in [
            ("internal call", pairs(&self.internal)),
            ("fact", pairs(&self.facts)),
            ("notify kind", pairs(&self.notify)),
            ("limit", limits.collect()),
        ] {
            let mut seen = std::collections::HashSet::new();
            for (name, doc) in &list {
                let ok = !name.is_empty() && name.bytes().all(|b| b.is_ascii_lowercase());
                if !ok || !seen.insert(name.as_str()) {
                    return Err(format!("{what} `{name}`: lowercase letters, listed once"));
                }
                check_text(&format!("{what} `{name}`'s doc"), doc)?;
            }
        }
        let mut seen = std::collections::HashSet::new();
        for m in &mut self.methods {
            let at = format!("method `{}`", m.name);
            let ctx = |e: String| format!("{at}: {e}");
            if !seen.insert(m.name.clone()) {
                return Err(format!("{at} is listed twice"));
            }
            let parts: Vec<&str> = m.name.split('.').collect();
            if parts.len() > 2 || !parts.iter().all(|p| is_ident(p)) {
                return Err(format!(
                    "{at}: a name is `name` or `namespace.name`, each a JavaScript identifier"
                ));
            }
            if RESERVED.contains(&parts[0]) {
                return Err(format!("{at}: `{}` cannot be used as a name", parts[0]));
            }
            check_text(&format!("{at}: doc"), &m.doc)?;
            m.args = param_names(&m.params).map_err(ctx)?;
            if (m.kind == Kind::Init) != (m.name == "init") {
                return Err(format!(
                    "{at}: kind 7 is `init`, and `init` is kind 7 (js/host.js treats it by name)"
                ));
            }
            let hand = HAND_WRITTEN.iter().find(|(n, _)| *n == m.name);
            if !m.kind.in_host_table() && hand.map(|h| h.1) != Some(m.kind) {
                return Err(format!(
                    "{at}: js/host.js implements kind {} only for {}",
                    m.kind.code(),
                    HAND_WRITTEN
                        .iter()
                        .filter(|h| h.1 == m.kind)
                        .map(|h| format!("`{}`", h.0))
                        .collect::<Vec<_>>()
                        .join(" and ")
                ));
            }
            if let Some((_, k)) = hand {
                if m.kind != *k {
                    return Err(format!(
                        "{at}: js/host.js writes it by hand as kind {}",
                        k.code()
                    ));
                }
            }
            match (&m.returns, m.kind) {
                (None, k) if k.is_getter() || k == Kind::Promise => {
                    return Err(format!("{at}: kind {} needs `returns`", k.code()))
                }
                (Some(r), k) if k.is_getter() && !r.contains("undefined") => {
                    return Err(format!(
                        "{at}: a getter returns `undefined` before `init` (and before the wasm \
                         has loaded): `returns` must say `| undefined`"
                    ))
                }
                (Some(r), Kind::Promise) if !r.starts_with("Promise<") => {
                    return Err(format!("{at}: kind 5 returns a `Promise<...>`"))
                }
                (Some(r), k) if !k.is_getter() && k != Kind::Promise && r != "void" => {
                    return Err(format!("{at}: kind {} returns nothing", k.code()))
                }
                (Some(r), _) => check_text(&format!("{at}: returns"), r)?,
                _ => {}
            }
            if let Some(g) = &m.generic {
                check_text(&format!("{at}: generic"), g)?;
            }
            match (m.section, &m.event) {
                (Section::Commerce, None) => {
                    return Err(format!(
                        "{at}: a commerce method says which `event` it sends"
                    ))
                }
                (Section::Api, Some(_)) => {
                    return Err(format!("{at}: `event` is shown only for commerce methods"))
                }
                (_, Some(e)) => check_text(&format!("{at}: event"), e)?,
                _ => {}
            }
        }
        for (name, kind) in HAND_WRITTEN {
            if !self.methods.iter().any(|m| m.name == *name) {
                return Err(format!(
                    "js/host.js always defines `{name}` (kind {}): it must be in `methods`",
                    kind.code()
                ));
            }
        }
        if !self.methods.iter().any(|m| m.kind == Kind::Init) {
            return Err("there is no `init` (kind 7)".into());
        }
        let tops: Vec<&str> = self.top().iter().map(|m| m.name.as_str()).collect();
        for (ns, _) in self.namespaces() {
            if tops.contains(&ns) {
                return Err(format!("`{ns}` is both a method and a namespace"));
            }
        }

        let mut seen = std::collections::HashSet::new();
        for o in &self.options {
            let at = format!("option `{}`", o.name);
            if !is_ident(&o.name) || !seen.insert(o.name.as_str()) {
                return Err(format!("{at}: not an identifier, or listed twice"));
            }
            check_text(&format!("{at}: doc"), &o.doc)?;
            check_text(&format!("{at}: type"), &o.ty)?;
            check_text(&format!("{at}: default"), &o.default)?;
        }
        let mut seen = std::collections::HashSet::new();
        for e in &self.errors {
            let at = format!("error `{}`", e.code);
            if e.code.is_empty()
                || !e.code.chars().all(|c| c.is_ascii_lowercase() || c == '_')
                || !seen.insert(e.code.as_str())
            {
                return Err(format!("{at}: a code is snake_case and listed once"));
            }
            check_text(&format!("{at}: doc"), &e.doc)?;
        }
        for t in &self.types {
            if t.trim().is_empty() {
                return Err("an empty entry in `types`".into());
            }
            for generated in ["ShoptrailConfig ", "ShoptrailErrorCode "] {
                if t.contains(&format!("interface {generated}"))
                    || t.contains(&format!("type {generated}"))
                {
                    return Err(format!(
                        "`types` declares {}, which is written from `options` or `errors`",
                        generated.trim()
                    ));
                }
            }
        }
        Ok(())
    }

    /// Methods that are not in a namespace, in api.json order.
    fn top(&self) -> Vec<&Method> {
        self.methods
            .iter()
            .filter(|m| m.split().0.is_none())
            .collect()
    }

    /// Namespaces in order of first appearance, each with its methods.
    fn namespaces(&self) -> Vec<(&str, Vec<&Method>)> {
        let mut out: Vec<(&str, Vec<&Method>)> = Vec::new();
        for m in &self.methods {
            if let (Some(ns), _) = m.split() {
                match out.iter_mut().find(|(n, _)| *n == ns) {
                    Some((_, ms)) => ms.push(m),
                    None => out.push((ns, vec![m])),
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// api.json as every test module reads it.
    pub(super) fn api() -> Api {
        Api::load().expect("pkg-config/api.json parses and passes its checks")
    }

    /// Each optional option's cargo feature is declared by the root crate, on by default, and
    /// turned on by the tracker's `full` feature, which turns on nothing else of the root crate.
    #[test]
    fn optional_options_name_the_cargo_features_that_build_them() {
        let read = |p: &str| std::fs::read_to_string(crate::tools::root().join(p)).unwrap();
        let (root, tracker) = (read("Cargo.toml"), read("tracker/Cargo.toml"));
        let features: Vec<String> = api()
            .options
            .into_iter()
            .filter_map(|o| o.optional)
            .collect();
        assert_eq!(features.len(), 5);
        let default = root.lines().find(|l| l.starts_with("default = [")).unwrap();
        for f in &features {
            assert!(
                root.contains(&format!("\n{f} = []\n")),
                "Cargo.toml declares {f}"
            );
            assert!(
                default.contains(&format!("\"{f}\"")),
                "{f} is on by default"
            );
            assert!(
                tracker.contains(&format!("\"shoptrail/{f}\"")),
                "tracker's full has {f}"
            );
        }
        assert_eq!(tracker.matches("\"shoptrail/").count(), features.len());
        assert_eq!(default.matches('"').count(), 2 * features.len());
    }

    #[test]
    fn api_json_parses() {
        let api = api();
        assert!(api.methods.iter().any(|m| m.name == "cart.add"));
        assert_eq!(api.options[0].name, "endpoint");
        assert!(api.options[0].required());
        let step = api
            .methods
            .iter()
            .find(|m| m.name == "checkout.step")
            .unwrap();
        assert_eq!(step.args, ["step", "props?"]);
        let on = api.methods.iter().find(|m| m.name == "on").unwrap();
        assert_eq!(on.args, ["name", "callback"]);
    }

    #[test]
    fn unknown_fields_and_bad_entries_are_errors() {
        let text = std::fs::read_to_string(root().join(SOURCE)).unwrap();
        let bad = [
            text.replacen("\"doc\":", "\"docs\":", 1),
            text.replacen("\"about\":", "\"extra\": 1, \"about\":", 1),
            text.replacen("\"kind\": 2", "\"kind\": 9", 1),
            text.replacen("\"name\": \"page\"", "\"name\": \"track\"", 1),
            text.replacen(
                "\"returns\": \"string | undefined\"",
                "\"returns\": \"string\"",
                1,
            ),
            text.replacen(
                "\"name\": \"flush\", \"kind\": 5",
                "\"name\": \"flush\", \"kind\": 0",
                1,
            ),
            // A listener that `on`'s doc or the `ShoptrailEvents` type does not name.
            text.replacen(
                "{ \"name\": \"error\", \"doc\": \"the errors",
                "{ \"name\": \"click\", \"doc\": \"the errors",
                1,
            ),
            text.replacen(
                "\\\"popup:converted\\\": Shoptrail",
                "\\\"popup:clicked\\\": Shoptrail",
                1,
            ),
            // A limit whose name the generated constants could not carry.
            text.replacen(
                "{ \"name\": \"event\", \"value\"",
                "{ \"name\": \"Event-Size\", \"value\"",
                1,
            ),
        ];
        for (i, b) in bad.iter().enumerate() {
            assert_ne!(b, &text, "case {i} changed nothing");
            assert!(Api::parse(b).is_err(), "case {i} was accepted");
        }
    }

    #[test]
    fn params_split_at_top_level_commas() {
        assert_eq!(
            param_names("a?: Record<string, unknown> & { b?: boolean }, c: (x: T[N]) => void")
                .unwrap(),
            ["a?", "c"]
        );
        assert!(param_names("a: Record<string, unknown").is_err());
        assert!(param_names("a").is_err());
    }
}
