//! Text templates: `{{traits.first_name | "there"}}`, `{{cart.total}}`, `{{cart.count}}`. The
//! result is plain text that the popup inserts as text (never as HTML); a missing value gives
//! the fallback, or nothing.

/// Fills in `text`, asking `lookup` for each path (`traits.first_name`).
pub fn render(text: &str, lookup: &dyn Fn(&str) -> Option<String>) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find("{{") {
        let Some(close) = rest[open..].find("}}") else {
            break;
        };
        out.push_str(&rest[..open]);
        let inner = &rest[open + 2..open + close];
        out.push_str(&fill(inner, lookup));
        rest = &rest[open + close + 2..];
    }
    out.push_str(rest);
    out
}

fn fill(inner: &str, lookup: &dyn Fn(&str) -> Option<String>) -> String {
    let (path, fallback) = match inner.split_once('|') {
        Some((p, f)) => (p.trim(), Some(f.trim())),
        None => (inner.trim(), None),
    };
    let valid = !path.is_empty()
        && path
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.');
    let value = if valid { lookup(path) } else { None };
    match value.filter(|v| !v.trim().is_empty()) {
        Some(v) => v,
        None => fallback.map(unquote).unwrap_or_default().to_string(),
    }
}

fn unquote(f: &str) -> &str {
    f.strip_prefix('"')
        .and_then(|f| f.strip_suffix('"'))
        .or_else(|| f.strip_prefix('\'').and_then(|f| f.strip_suffix('\'')))
        .unwrap_or(f)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn look(path: &str) -> Option<String> {
        match path {
            "traits.first_name" => Some("Ada".into()),
            "cart.total" => Some("42.50".into()),
            "cart.count" => Some("3".into()),
            "traits.blank" => Some("  ".into()),
            "traits.html" => Some("<img src=x onerror=alert(1)>".into()),
            _ => None,
        }
    }

    #[test]
    fn values_and_fallbacks() {
        assert_eq!(
            render("Hi {{traits.first_name | \"there\"}}!", &look),
            "Hi Ada!"
        );
        assert_eq!(
            render("Hi {{ traits.nick | \"there\" }}!", &look),
            "Hi there!"
        );
        assert_eq!(render("Hi {{traits.blank|'you'}}", &look), "Hi you");
        assert_eq!(
            render("{{cart.count}} items, {{cart.total}}", &look),
            "3 items, 42.50"
        );
        assert_eq!(render("x {{nope}} y", &look), "x  y");
        assert_eq!(
            render("open {{ never closed", &look),
            "open {{ never closed"
        );
        assert_eq!(render("{{bad path!|\"ok\"}}", &look), "ok");
        // Values stay text: the popup sets textContent.
        assert_eq!(
            render("{{traits.html}}", &look),
            "<img src=x onerror=alert(1)>"
        );
        assert_eq!(render("مرحبا {{traits.first_name}}", &look), "مرحبا Ada");
    }
}
