//! Page engagement: scroll depth and the `Page Left` event; a URL's path and query, and the
//! redaction of reported URLs (registered parameters removed from url, search and referrer).

use super::event::PageInfo;
use super::json;
use crate::prelude::*;

/// Percent of the document seen so far (0 to 100) from the scroll offset, the viewport height
/// and the document height, all in CSS pixels. A document no taller than the viewport is
/// seen whole.
pub fn scroll_percent(scroll_y: f64, viewport: f64, document: f64) -> u32 {
    // NaN sizes compare false, so they land here too.
    if document.partial_cmp(&viewport) != Some(core::cmp::Ordering::Greater) || viewport <= 0.0 {
        return 100;
    }
    let seen = (scroll_y.max(0.0) + viewport) / document * 100.0;
    if seen >= 100.0 {
        100
    } else if seen > 0.0 {
        seen as u32
    } else {
        0
    }
}

/// Properties of `Page Left`: where, how long since the page view (ms) and the deepest scroll
/// (percent).
pub fn left_properties(path: &str, url: &str, time_on_page_ms: u64, max_scroll: u32) -> String {
    let mut o = String::with_capacity(url.len() + path.len() + 80);
    o.push('{');
    json::push_key(&mut o, "path", true);
    json::push_str(&mut o, path);
    json::push_key(&mut o, "url", false);
    json::push_str(&mut o, url);
    json::push_key(&mut o, "time_on_page_ms", false);
    json::push_u64(&mut o, time_on_page_ms);
    json::push_key(&mut o, "max_scroll_depth", false);
    json::push_u64(&mut o, max_scroll as u64);
    o.push('}');
    o
}

/// The query string of `url` with its leading `?` (empty when there is none).
pub fn search_of(url: &str) -> &str {
    let no_hash = url.split('#').next().unwrap_or_default();
    no_hash
        .find('?')
        .and_then(|i| no_hash.get(i..))
        .unwrap_or_default()
}

/// The path of an absolute `url` (`/` when it has none).
pub fn path_of(url: &str) -> &str {
    let end = url.find(['?', '#']).unwrap_or(url.len());
    let before = url.get(..end).unwrap_or_default();
    let after_scheme = before
        .as_bytes()
        .windows(3)
        .position(|w| w == b"://")
        .map_or(0, |i| i + 3);
    match before.get(after_scheme..).and_then(|r| r.find('/')) {
        Some(i) => before.get(after_scheme + i..).unwrap_or("/"),
        None => "/",
    }
}

/// `url` without the query parameters named in `params` (a `?` left with nothing goes too).
pub fn redact(url: &str, params: &[&str]) -> String {
    if params.is_empty() {
        return url.to_string();
    }
    let (base, hash) = match url.find('#') {
        Some(i) => url.split_at(i),
        None => (url, ""),
    };
    let (path, query) = match base.find('?') {
        Some(i) => (
            base.get(..i).unwrap_or(base),
            base.get(i + 1..).unwrap_or(""),
        ),
        None => return url.to_string(),
    };
    let kept: Vec<&str> = query
        .split('&')
        .filter(|pair| {
            let name = pair.split('=').next().unwrap_or_default();
            !pair.is_empty() && !params.contains(&super::campaign::decode_component(name).as_str())
        })
        .collect();
    let mut out = String::from(path);
    if !kept.is_empty() {
        out.push('?');
        out.push_str(&kept.join("&"));
    }
    out.push_str(hash);
    out
}

/// What a page message and `context.page` report for the real URL `href`: its path and
/// query, with the parameters in `redact` removed from url, search and referrer.
pub fn page_info(href: &str, referrer: &str, title: &str, redact_params: &[&str]) -> PageInfo {
    let url = redact(href, redact_params);
    PageInfo {
        path: path_of(&url).to_string(),
        search: search_of(&url).to_string(),
        referrer: redact(referrer, redact_params),
        title: title.to_string(),
        url,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_and_queries_of_urls() {
        assert_eq!(path_of("https://s.example/a/b?x=1#h"), "/a/b");
        assert_eq!(path_of("https://s.example"), "/");
        assert_eq!(path_of("https://s.example?x=1"), "/");
        assert_eq!(search_of("https://s.example/a?x=1&y#h?z"), "?x=1&y");
        assert_eq!(search_of("https://s.example/a#h?z"), "");
    }

    #[test]
    fn redacted_parameters_leave_every_reported_url() {
        let p = page_info(
            "https://s.example/p?utm_source=mail&st_lt=secret#top",
            "https://s.example/?st%5Flt=old",
            "Mug",
            &["st_lt"],
        );
        assert_eq!(p.url, "https://s.example/p?utm_source=mail#top");
        assert_eq!(p.search, "?utm_source=mail");
        assert_eq!(p.path, "/p");
        assert_eq!(p.referrer, "https://s.example/");
        assert_eq!(redact("https://s/?st_lt=1", &["st_lt"]), "https://s/");
        assert_eq!(redact("https://s/?a=1", &[]), "https://s/?a=1");
    }

    #[test]
    fn scroll_depth() {
        assert_eq!(
            scroll_percent(0.0, 800.0, 600.0),
            100,
            "short page is seen whole"
        );
        assert_eq!(scroll_percent(0.0, 800.0, 3200.0), 25);
        assert_eq!(scroll_percent(1200.0, 800.0, 3200.0), 62);
        assert_eq!(scroll_percent(2400.0, 800.0, 3200.0), 100);
        assert_eq!(scroll_percent(9999.0, 800.0, 3200.0), 100, "overscroll");
        assert_eq!(scroll_percent(-50.0, 800.0, 3200.0), 25, "rubber-band");
        assert_eq!(scroll_percent(0.0, 0.0, 3200.0), 100);
        assert_eq!(scroll_percent(0.0, 800.0, f64::NAN), 100);
    }

    #[test]
    fn page_left_payload() {
        let v: serde_json::Value = serde_json::from_str(&left_properties(
            "/p/mug",
            "https://s.example/p/mug?x=\"1\"",
            12_345,
            62,
        ))
        .unwrap();
        assert_eq!(
            v,
            serde_json::json!({"path":"/p/mug","url":"https://s.example/p/mug?x=\"1\"","time_on_page_ms":12345,"max_scroll_depth":62})
        );
    }
}
