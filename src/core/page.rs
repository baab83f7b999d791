//! Page engagement: scroll depth and the `Page Left` event.

use super::json;

/// Percent of the document seen so far (0 to 100) from the scroll offset, the viewport height
/// and the document height, all in CSS pixels. A document no taller than the viewport is
/// seen whole.
pub fn scroll_percent(scroll_y: f64, viewport: f64, document: f64) -> u32 {
    // NaN sizes compare false, so they land here too.
    if document.partial_cmp(&viewport) != Some(std::cmp::Ordering::Greater) || viewport <= 0.0 {
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

#[cfg(test)]
mod tests {
    use super::*;

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
