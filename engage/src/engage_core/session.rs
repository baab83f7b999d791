//! What targeting knows of the session beyond this page: its campaign source (the landing
//! URL's `utm_source`), the site that sent the shopper (the host of the first outside
//! referrer of the session) and the pages loaded so far. One stored line holds them
//! (`session TAB source TAB referrer TAB pages`); a new session starts afresh.

/// The session's facts, this page counted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Facts {
    /// utm_source of the session's landing page.
    pub source: Option<String>,
    /// Host of the site that sent the shopper, `None` for a direct visit.
    pub referrer: Option<String>,
    /// Pages loaded in the session, this one included.
    pub pages: u32,
}

/// The facts of the page that loads now in `session`, from the stored line (if any), this
/// page's `utm_source`, its referrer's host and its own host (lower-case, as the URL API
/// gives them); and the line to store.
pub fn on_page(
    stored: Option<&str>,
    session: u64,
    landing_source: Option<&str>,
    referrer_host: Option<&str>,
    own_host: &str,
) -> (Facts, String) {
    let prefix = format!("{session}\t");
    let kept: Vec<&str> = (stored.and_then(|l| l.strip_prefix(&prefix)))
        .map_or(Vec::new(), |rest| rest.split('\t').collect());
    let field = |i: usize| kept.get(i).filter(|f| !f.is_empty()).map(|f| f.to_string());
    let given = |s: Option<&str>| s.filter(|s| !s.is_empty()).map(String::from);
    let facts = Facts {
        source: given(landing_source).or_else(|| field(0)),
        referrer: field(1).or_else(|| given(referrer_host.filter(|h| *h != own_host))),
        pages: kept.get(2).and_then(|p| p.parse::<u64>().ok()).unwrap_or(0) as u32 + 1,
    };
    let line = format!(
        "{prefix}{}\t{}\t{}",
        facts.source.as_deref().unwrap_or(""),
        facts.referrer.as_deref().unwrap_or(""),
        facts.pages
    );
    (facts, line)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_keeps_its_source_and_referrer_and_counts_its_pages() {
        let (f, line) = on_page(
            None,
            7,
            Some("news"),
            Some("www.google.com"),
            "shop.example",
        );
        assert_eq!(
            f,
            Facts {
                source: Some("news".into()),
                referrer: Some("www.google.com".into()),
                pages: 1
            }
        );
        // The next page: sent by the shop itself, no utm_source.
        let (f, line) = on_page(Some(&line), 7, None, Some("shop.example"), "shop.example");
        assert_eq!(
            (f.source.as_deref(), f.referrer.as_deref(), f.pages),
            (Some("news"), Some("www.google.com"), 2)
        );
        // Another outside referrer later in the session does not replace the first.
        let (f, line) = on_page(Some(&line), 7, None, Some("instagram.com"), "shop.example");
        assert_eq!(
            (f.referrer.as_deref(), f.pages),
            (Some("www.google.com"), 3)
        );
        // A new session starts afresh; a direct visit has no referrer.
        let (f, _) = on_page(Some(&line), 8, None, None, "shop.example");
        assert_eq!(
            f,
            Facts {
                pages: 1,
                ..Facts::default()
            }
        );
    }

    #[test]
    fn a_line_stored_by_an_older_version_keeps_its_source() {
        let (f, line) = on_page(Some("7\tnews"), 7, None, None, "shop.example");
        assert_eq!(
            (f.source.as_deref(), f.referrer, f.pages),
            (Some("news"), None, 1)
        );
        assert_eq!(line, "7\tnews\t\t1");
    }
}
