//! `cargo xtask api [--check]`: the public API of shoptrail has one source, `pkg-config/api.json`.
//!
//! From it come the method table of `js/host.js`, the snippet and the tables of `README.md` and
//! `pkg-config/README.md` (committed, rewritten by [`sync`]), and the npm entries, the server
//! stand-in and the `.d.ts` of the built package (written by [`write_npm`]). So a name, an
//! option, an error code or a type is changed in one place and cannot drift.

use crate::tools::{root, Result};
use serde::Deserialize;
use std::fmt::Write as _;
use std::path::Path;

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
            _ => return Err(format!("kind {n} is not one of 0 to 7")),
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

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Api {
    pub about: String,
    pub methods: Vec<Method>,
    pub options: Vec<Opt>,
    pub errors: Vec<ErrorCode>,
    /// TypeScript declarations written verbatim into the `.d.ts`.
    pub types: Vec<String>,
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

// ---- committed files: js/host.js and the READMEs ----

/// The `METHODS` line of js/host.js: `name` for kinds 0 and 7, `name:K` for kinds 1 to 4.
pub fn host_methods(api: &Api) -> String {
    let list: Vec<String> = api
        .methods
        .iter()
        .filter(|m| m.kind.in_host_table())
        .map(|m| match m.kind {
            Kind::Plain | Kind::Init => m.name.clone(),
            k => format!("{}:{}", m.name, k.code()),
        })
        .collect();
    format!("const METHODS = \"{}\";", list.join(" "))
}

/// The `<head>` snippet: a stub that queues every call until the loader has the SDK (`flush`
/// gets a Promise settled then, the others return undefined), and the loader tag.
pub fn snippet(api: &Api) -> String {
    format!(
        "```html\n<script>\n{}\n</script>\n<script async src=\"/dist/shoptrail.js\" \
         data-endpoint=\"https://collect.example.com/v1/batch\" data-write-key=\"wk_live_123\">\
         </script>\n```",
        stub(api)
    )
}

/// The stub alone (one line of JavaScript), as the demo store and the test pages inline it.
pub fn stub(api: &Api) -> String {
    let names: Vec<&str> = api.methods.iter().map(|m| m.name.as_str()).collect();
    let promised: Vec<String> = api
        .methods
        .iter()
        .filter(|m| m.kind == Kind::Promise)
        .map(|m| format!("m==\"{}\"", m.name))
        .collect();
    format!(
        "!function(w){{var s=w.shoptrail=w.shoptrail||{{}};if(!s.q&&!s.loaded){{s.q=[];\"{}\"\
         .split(\" \").forEach(function(m){{var p=m.split(\".\"),o=p[1]?s[p[0]]=s[p[0]]||{{}}:s;\
         o[p[1]||m]=function(){{var a=[].slice.call(arguments);if({})return new Promise(\
         function(r){{s.q.push([m,a,r])}});s.q.push([m,a])}}}})}}}}(window);",
        names.join(" "),
        promised.join("||")
    )
}

fn cell(text: &str) -> String {
    text.replace('|', "\\|")
}

fn table(head: &[&str], rows: impl IntoIterator<Item = Vec<String>>) -> String {
    let mut out = format!("| {} |\n|{}", head.join(" | "), " --- |".repeat(head.len()));
    for row in rows {
        let cells: Vec<String> = row.iter().map(|c| cell(c)).collect();
        write!(out, "\n| {} |", cells.join(" | ")).expect("writing to a String");
    }
    out
}

/// `| call | what it does |` for the methods of section `api`.
pub fn md_api(api: &Api) -> String {
    table(
        &["call", "what it does"],
        api.methods
            .iter()
            .filter(|m| m.section == Section::Api)
            .map(|m| vec![format!("`{}`", m.call()), m.doc.clone()]),
    )
}

/// `| call | event |` for the methods of section `commerce`.
pub fn md_commerce(api: &Api) -> String {
    table(
        &["call", "event"],
        api.methods
            .iter()
            .filter(|m| m.section == Section::Commerce)
            .map(|m| {
                vec![
                    format!("`{}`", m.call()),
                    m.event.clone().unwrap_or_default(),
                ]
            }),
    )
}

/// `| option | default | meaning |`.
pub fn md_options(api: &Api) -> String {
    table(
        &["option", "default", "meaning"],
        api.options
            .iter()
            .map(|o| vec![format!("`{}`", o.name), o.default.clone(), o.doc.clone()]),
    )
}

/// `` - `code`: doc `` for each error code.
pub fn md_errors(api: &Api) -> String {
    api.errors
        .iter()
        .map(|e| format!("- `{}`: {}", e.code, e.doc))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Marker lines of a generated section.
#[derive(Clone, Copy)]
enum Style {
    /// `/* generated:NAME */` ... `/* end generated */`
    Js,
    /// `<!-- generated:NAME -->` ... `<!-- end generated -->`
    Markdown,
}

impl Style {
    fn open(self) -> (&'static str, &'static str) {
        match self {
            Style::Js => ("/* generated:", " */"),
            Style::Markdown => ("<!-- generated:", " -->"),
        }
    }

    fn close(self) -> &'static str {
        match self {
            Style::Js => "/* end generated */",
            Style::Markdown => "<!-- end generated -->",
        }
    }

    /// The text of section `name`, or None for a name this style does not know.
    fn render(self, name: &str, api: &Api) -> Option<String> {
        Some(match (self, name) {
            (Style::Js, "methods") => host_methods(api),
            (Style::Js, "stub") => stub(api),
            (Style::Markdown, "snippet") => snippet(api),
            (Style::Markdown, "api") => md_api(api),
            (Style::Markdown, "commerce") => md_commerce(api),
            (Style::Markdown, "options") => md_options(api),
            (Style::Markdown, "errors") => md_errors(api),
            _ => return None,
        })
    }
}

/// A committed file with generated sections.
struct Target {
    path: &'static str,
    style: Style,
    /// Sections it must have (it may have the style's other ones too).
    required: &'static [&'static str],
}

const TARGETS: &[Target] = &[
    Target {
        path: "www/index.html",
        style: Style::Js,
        required: &["stub"],
    },
    Target {
        path: "www/product.html",
        style: Style::Js,
        required: &["stub"],
    },
    Target {
        path: "www/cart.html",
        style: Style::Js,
        required: &["stub"],
    },
    Target {
        path: "www/checkout.html",
        style: Style::Js,
        required: &["stub"],
    },
    Target {
        path: "www/confirmation.html",
        style: Style::Js,
        required: &["stub"],
    },
    Target {
        path: "e2e/fixtures/basic.html",
        style: Style::Js,
        required: &["stub"],
    },
    Target {
        path: "e2e/fixtures/shop.html",
        style: Style::Js,
        required: &["stub"],
    },
    Target {
        path: "e2e/fixtures/spa.html",
        style: Style::Js,
        required: &["stub"],
    },
    Target {
        path: "js/host.js",
        style: Style::Js,
        required: &["methods"],
    },
    Target {
        path: "README.md",
        style: Style::Markdown,
        required: &["snippet", "api", "commerce", "options", "errors"],
    },
    Target {
        path: "pkg-config/README.md",
        style: Style::Markdown,
        required: &["api", "options"],
    },
];

/// `text` with each generated section rewritten from `api`, and the names of the sections that
/// changed.
fn regenerate(
    text: &str,
    style: Style,
    required: &[&str],
    api: &Api,
) -> Result<(String, Vec<String>)> {
    let (prefix, suffix) = style.open();
    let close = style.close();
    let mut out = String::with_capacity(text.len());
    let mut changed = Vec::new();
    let mut found: Vec<String> = Vec::new();
    let mut lines = text.split_inclusive('\n').enumerate();
    while let Some((i, line)) = lines.next() {
        out.push_str(line);
        let marker = line.trim();
        if marker == close {
            return Err(format!(
                "line {}: `{close}` without a `{prefix}NAME{suffix}` before it",
                i + 1
            ));
        }
        let Some(name) = marker
            .strip_prefix(prefix)
            .and_then(|m| m.strip_suffix(suffix))
        else {
            continue;
        };
        let new = style
            .render(name, api)
            .ok_or_else(|| format!("line {}: there is no generated section `{name}`", i + 1))?;
        if found.iter().any(|f| f == name) {
            return Err(format!("line {}: section `{name}` appears twice", i + 1));
        }
        found.push(name.to_string());
        let mut old = String::new();
        loop {
            let Some((_, l)) = lines.next() else {
                return Err(format!(
                    "line {}: section `{name}` has no `{close}` line",
                    i + 1
                ));
            };
            if l.trim() == close {
                out.push_str(&new);
                out.push('\n');
                out.push_str(l);
                break;
            }
            if l.trim().starts_with(prefix) {
                return Err(format!(
                    "line {}: section `{name}` has no `{close}` line",
                    i + 1
                ));
            }
            old.push_str(l);
        }
        if old.trim_end_matches('\n') != new {
            changed.push(name.to_string());
        }
    }
    for r in required {
        if !found.iter().any(|f| f == r) {
            return Err(format!(
                "no section `{r}`: put the lines `{prefix}{r}{suffix}` and `{close}` where it goes"
            ));
        }
    }
    Ok((out, changed))
}

/// Rewrites the generated sections of js/host.js, README.md and pkg-config/README.md from
/// api.json; with `check`, writes nothing and fails naming each file and section that differs.
pub fn sync(check: bool) -> Result {
    let api = Api::load()?;
    let mut stale = Vec::new();
    let mut wrote = false;
    for t in TARGETS {
        let path = root().join(t.path);
        let old = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", t.path))?;
        let (new, changed) =
            regenerate(&old, t.style, t.required, &api).map_err(|e| format!("{}: {e}", t.path))?;
        if changed.is_empty() {
            continue;
        }
        let names = changed
            .iter()
            .map(|c| format!("`{c}`"))
            .collect::<Vec<_>>()
            .join(", ");
        if check {
            stale.push(format!("{}: section {names}", t.path));
        } else {
            std::fs::write(&path, new).map_err(|e| format!("{}: {e}", t.path))?;
            eprintln!("  wrote {}: section {names}", t.path);
            wrote = true;
        }
    }
    if !stale.is_empty() {
        return Err(format!(
            "generated sections differ from {SOURCE}:\n  {}\nrun `cargo xtask api` to rewrite them",
            stale.join("\n  ")
        ));
    }
    if wrote {
        return Ok(());
    }
    eprintln!(
        "  ok    {} are up to date with {SOURCE}",
        TARGETS
            .iter()
            .map(|t| t.path)
            .collect::<Vec<_>>()
            .join(", ")
    );
    Ok(())
}

// ---- the npm package ----

const GENERATED: &str = "Generated from pkg-config/api.json by `cargo xtask build`; do not edit.";

/// `pkg/index.js`: the bundler entry.
fn npm_index(api: &Api) -> String {
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
        "/* shoptrail for bundlers. {GENERATED} */\n\
         import {{ boot }} from \"./shoptrail.js\";\n\n\
         const api = boot();\n\n\
         export const {};\n\
         export const {};\n\
         export default api;\n",
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
   replayed in order; until then getters return undefined and `flush()` returns a Promise that
   settles after the load. */
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
  while (queue.length) {{
    const [path, args, resolve] = queue.shift();
    let r;
    try {{ r = get(api, path).apply(undefined, args); }} catch (e) {{ r = undefined; }}
    if (resolve) resolve(r);
  }}
  replayed = true;
}}

/* Loads the wasm once: a second call returns the first one's Promise (a failed load may be
   tried again). */
export default async function load(input) {{
  if (!loading) {{
    loading = start(input);
    loading.catch(() => {{ loading = undefined; }});
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
fn npm_dts(api: &Api, web: bool) -> String {
    let mut o = format!(
        "/* TypeScript declarations of shoptrail{}. {GENERATED} */\n\n",
        if web { "/web" } else { "" }
    );
    let w = &mut o;
    let line = |w: &mut String, s: &str| {
        w.push_str(s);
        w.push('\n');
    };

    line(w, "/** The options of `init`. */");
    line(w, "export interface ShoptrailConfig {");
    for opt in &api.options {
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

/// The files [`write_npm`] writes, by path inside the package.
pub fn npm_files(api: &Api) -> Vec<(&'static str, String)> {
    vec![
        ("index.js", npm_index(api)),
        ("web/index.js", npm_web(api)),
        ("node.js", npm_node(api)),
        ("index.d.ts", npm_dts(api, false)),
        ("web/index.d.ts", npm_dts(api, true)),
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
    use std::path::PathBuf;
    use std::process::Command;

    fn api() -> Api {
        Api::load().expect("pkg-config/api.json parses and passes its checks")
    }

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

    #[test]
    fn declarations_mention_every_method_option_and_error() {
        let api = api();
        for web in [false, true] {
            let dts = npm_dts(&api, web);
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

    #[test]
    fn snippet_defines_every_method() {
        let api = api();
        let s = snippet(&api);
        let list = s
            .split('"')
            .find(|p| p.starts_with("init "))
            .expect("the snippet's name list");
        let names: Vec<&str> = list.split(' ').collect();
        let want: Vec<&str> = api.methods.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(names, want);
        assert!(s.contains("data-endpoint=\"https://collect.example.com/v1/batch\""));
    }

    #[test]
    fn committed_files_are_up_to_date() {
        sync(true).expect("`cargo xtask api` has been run and its result committed");
    }

    #[test]
    fn a_tampered_copy_fails_the_check() {
        let api = api();
        let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
        let (same, changed) =
            regenerate(&readme, Style::Markdown, &["api", "snippet"], &api).unwrap();
        assert!(changed.is_empty());
        assert_eq!(same, readme);

        // A method gone from api.json: the README's snippet and its table differ.
        let mut fewer = api.clone();
        fewer.methods.retain(|m| m.name != "cart.view");
        let (_, changed) = regenerate(&readme, Style::Markdown, &[], &fewer).unwrap();
        assert_eq!(changed, ["snippet", "commerce"]);

        // A row edited by hand in the README.
        let row = "| `reset()` |";
        assert!(readme.contains(row));
        let edited = readme.replace(row, "| `logout()` |");
        let (fixed, changed) = regenerate(&edited, Style::Markdown, &[], &api).unwrap();
        assert_eq!(changed, ["api"]);
        assert_eq!(fixed, readme);

        // The host's method table with a name removed.
        let host = std::fs::read_to_string(root().join("js/host.js")).unwrap();
        let edited = host.replace(" cart.view ", " ");
        let (fixed, changed) = regenerate(&edited, Style::Js, &["methods"], &api).unwrap();
        assert_eq!(changed, ["methods"]);
        assert_eq!(fixed, host);

        // Missing, unknown and unterminated sections are errors.
        assert!(regenerate("x\n", Style::Markdown, &["api"], &api).is_err());
        assert!(regenerate(
            "<!-- generated:apis -->\n<!-- end generated -->\n",
            Style::Markdown,
            &[],
            &api
        )
        .is_err());
        assert!(regenerate(
            "<!-- generated:api -->\n| x |\n",
            Style::Markdown,
            &[],
            &api
        )
        .is_err());
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
            export default async function initWasm(input) { loads++; calls.push([\"#load\", input]); }\n\
            export function boot() {\n\
              return connect((method, json) => {\n\
                if (method == \"~batch\") {\n\
                  for (const c of json.split(\"\\u0002\")) {\n\
                    const [m, , , args] = c.split(\"\\u0001\");\n\
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
            import { notify } from \"./host.js\";\n";
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

// The snippet: a stub per method, queueing; flush alone returns a Promise; a second copy and a
// loaded SDK are left alone.
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
const q = w.shoptrail.q, track = w.shoptrail.track;
vm.runInNewContext(code, { window: w });
assert.equal(w.shoptrail.q, q);
assert.equal(w.shoptrail.track, track);
const done = { shoptrail: { loaded: true } };
vm.runInNewContext(code, { window: done });
assert.deepEqual(done.shoptrail, { loaded: true });

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
  if (name == "flush") assert.equal(await r, false);
  else if (name == "ready") assert.equal(await r, undefined);
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
