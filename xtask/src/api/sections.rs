//! The generated sections of committed files: the method table of `js/host.js`, the stub of the
//! demo store's and the test fixtures' pages, the snippet and the tables of the READMEs.

use super::{Api, Kind, Section, SOURCE};
use crate::tools::{root, Result};
use std::fmt::Write as _;

/// The `METHODS` line of js/host.js, every method in api.json's order (a method's code is its
/// position): `name` for kinds 0 and 7, `name:K` for the others; then each internal call's
/// code as a constant (`const $res = 38;`), numbered after the methods, and each page fact's
/// and notify kind's (`const FACT_HREF = 0;`, `const NOTIFY_ERROR = 0;`), as build.rs numbers
/// them for the wasm, the names `on()` takes (`LISTENERS`, and `POPUP` for those that hear a
/// popup event) and api.json's limits (`const LIMIT_EVENT = 32768;`).
pub fn host_methods(api: &Api) -> String {
    let list: Vec<String> = api
        .methods
        .iter()
        .map(|m| match m.kind {
            Kind::Plain | Kind::Init => m.name.clone(),
            k => format!("{}:{}", m.name, k.code()),
        })
        .collect();
    let mut out = format!("const METHODS = \"{}\";", list.join(" "));
    for (i, c) in api.internal.iter().enumerate() {
        out.push_str(&format!("\nconst ${} = {};", c.name, api.methods.len() + i));
    }
    for (prefix, list) in [("FACT_", &api.facts), ("NOTIFY_", &api.notify)] {
        for (i, c) in list.iter().enumerate() {
            out.push_str(&format!("\nconst {prefix}{} = {i};", c.name.to_uppercase()));
        }
    }
    let plain: Vec<&str> = (api.listeners.iter())
        .filter(|l| l.event.is_none())
        .map(|l| l.name.as_str())
        .collect();
    out.push_str(&format!(
        "\n/* The names on() takes, besides the popup ones: each popup listener hears the track \
         event it is named after. */\nconst LISTENERS = \"{}\";",
        plain.join(" ")
    ));
    let popup: Vec<String> = (api.listeners.iter())
        .filter_map(|l| Some(format!("\"{}\": \"{}\"", l.event.as_ref()?, l.name)))
        .collect();
    out.push_str(&format!("\nconst POPUP = {{ {} }};", popup.join(", ")));
    for l in &api.limits {
        let (name, value, doc) = (l.name.to_uppercase(), l.value, &l.doc);
        out.push_str(&format!("\n/* {doc}. */\nconst LIMIT_{name} = {value};"));
    }
    out.push_str(&format!(
        "\n/* Crawlers' user agents ({}), and headless browsers. */\nconst CRAWLERS = /headless|{}/i;",
        api.crawlers.source, api.crawlers.pattern
    ));
    out
}

/// The `<head>` snippet: a stub that queues every call until the loader has the SDK (`flush`
/// and `ready` get a Promise settled then, the others return undefined), and the loader tag.
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
    // When shoptrail.js itself never starts (blocked by an extension, a 404), 5 s after the
    // page's load the Promises settle with false, later ones settle at once (`s.x`),
    // and init's onError hears `unsupported`; the calls stay queued for a script that loads
    // late.
    format!(
        "!function(w){{var s=w.shoptrail=w.shoptrail||{{}};if(!s.q&&!s.loaded){{s.q=[];\"{}\"\
         .split(\" \").forEach(function(m){{var p=m.split(\".\"),o=p[1]?s[p[0]]=s[p[0]]||{{}}:s;\
         o[p[1]||m]=function(){{var a=[].slice.call(arguments);if({})return s.x?Promise.resolve(\
         !1):new Promise(function(r){{s.q.push([m,a,r])}});s.q.push([m,a])}}}});\
         w.addEventListener&&w.addEventListener(\"load\",function(){{setTimeout(function(){{if(s.loaded||s.loading)\
         return;s.x=1;s.q=s.q.filter(function(c){{var f=c[1][0];if(c[2])c[2](!1);\
         else if(c[0]==\"init\"&&f&&typeof f.onError==\"function\")try{{var e=Error(\
         \"shoptrail.js did not load\");e.code=\"unsupported\";f.onError(e)}}catch(x){{}}\
         return!c[2]}})}},5e3)}})}}}}(window);",
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
        path: "www/assets/stub.js",
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
        path: "e2e/fixtures/engage.html",
        style: Style::Js,
        required: &["stub"],
    },
    Target {
        path: "e2e/fixtures/links.html",
        style: Style::Js,
        required: &["stub"],
    },
    Target {
        path: "e2e/fixtures/csp-engage.js",
        style: Style::Js,
        required: &["stub"],
    },
    Target {
        path: "e2e/fixtures/consent.html",
        style: Style::Js,
        required: &["stub"],
    },
    Target {
        path: "e2e/fixtures/cmp.html",
        style: Style::Js,
        required: &["stub"],
    },
    Target {
        path: "e2e/fixtures/cookieless.html",
        style: Style::Js,
        required: &["stub"],
    },
    Target {
        path: "shopify/extensions/shoptrail-embed/blocks/shoptrail.liquid",
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::tests::api;

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
}
