//! Page views: one per real URL change, `Page Left` once per page view, and the products each
//! page view has reported.

use super::{Action, Engine, Fact, Host, RESCAN_DELAY_MS};
use crate::prelude::*;
use crate::tracker_core::event::{Body, PageInfo};
use crate::tracker_core::page;

/// The state of the current page view.
#[derive(Debug, Clone)]
pub struct PageViews {
    /// The real URL of the last page view ("did the URL change?").
    url: String,
    /// Its reported URL and path (what `Page Left` says).
    reported_url: String,
    path: String,
    /// When it started, Unix ms.
    started: u64,
    /// Deepest scroll seen, percent.
    max_scroll: u32,
    /// `Page Left` went out for it (or there is no page view yet).
    left: bool,
    /// Products the page scan reported for this page view, and for the one before.
    viewed: Vec<String>,
    viewed_before: Vec<String>,
}

impl Default for PageViews {
    fn default() -> Self {
        PageViews {
            url: String::new(),
            reported_url: String::new(),
            path: String::new(),
            started: 0,
            max_scroll: 0,
            left: true,
            viewed: Vec::new(),
            viewed_before: Vec::new(),
        }
    }
}

impl PageViews {
    /// A page view of `raw_url`, reported as `page`, started at `now`.
    pub fn start(&mut self, raw_url: &str, page: &PageInfo, now: u64) {
        self.url = raw_url.to_string();
        self.reported_url = page.url.clone();
        self.path = page.path.clone();
        self.started = now;
        self.max_scroll = 0;
        self.left = false;
        self.viewed_before = core::mem::take(&mut self.viewed);
    }

    /// Whether `href` is the URL of the current page view.
    pub fn is_current(&self, href: &str) -> bool {
        href == self.url
    }

    /// A scroll sample, percent of the document seen.
    pub fn scroll(&mut self, percent: u32) {
        self.max_scroll = self.max_scroll.max(percent);
    }

    /// `Page Left`'s properties, the first time only (none before a page view).
    pub fn leave(&mut self, now: u64) -> Option<String> {
        if self.left || self.url.is_empty() {
            return None;
        }
        self.left = true;
        Some(page::left_properties(
            &self.path,
            &self.reported_url,
            now.saturating_sub(self.started),
            self.max_scroll,
        ))
    }

    /// Whether product `id` is seen for the first time in this page view (and was not
    /// reported by the one before: a single-page app may not have replaced the old route's
    /// markup yet). Records it either way.
    pub fn first_view_of(&mut self, id: &str) -> bool {
        if self
            .viewed
            .iter()
            .chain(&self.viewed_before)
            .any(|v| v == id)
        {
            return false;
        }
        self.viewed.push(id.to_string());
        true
    }
}

impl<H: Host> Engine<H> {
    /// A page view; it also starts the measures of `Page Left`.
    pub fn page_view(&mut self, name: Option<&str>, properties: &str, now: u64) {
        self.enqueue(Body::Page { name, properties }, now);
        self.context.start_view(now);
    }

    /// `history.pushState`/`replaceState`, `popstate` or `hashchange`: one page view per real
    /// URL change, after `Page Left` for the page being left; the page is read for products
    /// again once the app has rendered the new route.
    pub fn handle_navigation(&mut self, now: u64) {
        if !self.cfg.history {
            return;
        }
        let href = self.io.fact(Fact::Href);
        if self.context.views.is_current(&href) {
            return;
        }
        self.page_left(now);
        self.page_view(None, "{}", now);
        if self.cfg.capture || self.cfg.json_ld {
            self.io.out.push(Action::Scan(RESCAN_DELAY_MS));
        }
    }

    /// A scroll sample: offset, viewport height and document height in CSS pixels.
    pub fn handle_scroll(&mut self, y: u32, viewport: u32, document: u32) {
        self.context.views.scroll(page::scroll_percent(
            y as f64,
            viewport as f64,
            document as f64,
        ));
    }

    /// `Page Left` for the current page view, once: time on page and deepest scroll.
    pub(super) fn page_left(&mut self, now: u64) {
        if let Some(p) = self.context.views.leave(now) {
            self.track("Page Left", &p, now);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(url: &str, path: &str) -> PageInfo {
        PageInfo {
            url: url.into(),
            path: path.into(),
            ..PageInfo::default()
        }
    }

    #[test]
    fn page_left_once_per_page_view_and_never_before_one() {
        let mut p = PageViews::default();
        assert_eq!(p.leave(5), None);
        p.start("https://s/a?t=1", &info("https://s/a", "/a"), 1_000);
        p.scroll(40);
        p.scroll(20);
        let left = p.leave(3_500).unwrap();
        assert!(left.contains("\"url\":\"https://s/a\""), "{left}");
        assert!(left.contains("\"time_on_page_ms\":2500"));
        assert!(left.contains("\"max_scroll_depth\":40"));
        assert_eq!(p.leave(4_000), None);
        assert!(p.is_current("https://s/a?t=1"));
    }

    #[test]
    fn products_are_reported_once_and_not_again_right_after_a_navigation() {
        let mut p = PageViews::default();
        p.start("u1", &info("u1", "/1"), 0);
        assert!(p.first_view_of("a"));
        assert!(!p.first_view_of("a"));
        p.start("u2", &info("u2", "/2"), 1);
        assert!(
            !p.first_view_of("a"),
            "the old route's markup may still be there"
        );
        assert!(p.first_view_of("b"));
        p.start("u3", &info("u3", "/3"), 2);
        p.start("u4", &info("u4", "/4"), 3);
        assert!(p.first_view_of("a"));
    }
}
