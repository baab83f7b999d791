//! Who sees a campaign: URL patterns, device, new or returning, journey stage, cart, campaign
//! source, the referring site, pages and time in the session, products and categories in the
//! cart, identified, subscribed. Evaluated against a [`Visit`] when a trigger fires, so the
//! cart is the cart of that moment.

use super::campaign::{Device, Range, Stage, Target, Visitor};

/// What targeting knows of the shopper and the page, from the tracker's `profile()` and
/// `cart.get()`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Visit {
    /// The page's URL.
    pub url: String,
    /// Its path.
    pub path: String,
    /// No hovering pointer.
    pub mobile: bool,
    /// Sessions so far, this one included.
    pub visits: u32,
    /// Orders completed on this device.
    pub orders: u32,
    /// Cart value in the cart's currency.
    pub cart_value: f64,
    /// Units in the cart.
    pub cart_items: u32,
    /// The session's utm_source.
    pub utm_source: Option<String>,
    /// Host of the site that sent the shopper this session (see `session`).
    pub referrer: Option<String>,
    /// Pages loaded in the session, this one included.
    pub pages: u32,
    /// Seconds since the session started.
    pub seconds_on_site: f64,
    /// The `product_id`, `sku` and `category` of each product in the cart.
    pub cart_tags: Vec<String>,
    /// A userId is set.
    pub identified: bool,
    /// Opted in (traits `subscribed`, or a form submitted here).
    pub subscribed: bool,
}

/// `*` matches any run of characters; everything else matches itself, case-insensitively.
pub fn glob(pattern: &str, text: &str) -> bool {
    let (p, t) = (pattern.as_bytes(), text.as_bytes());
    let (mut i, mut j) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while j < t.len() {
        if i < p.len() && p[i] == b'*' {
            star = Some((i, j));
            i += 1;
        } else if i < p.len() && p[i].eq_ignore_ascii_case(&t[j]) {
            i += 1;
            j += 1;
        } else if let Some((si, sj)) = star {
            i = si + 1;
            j = sj + 1;
            star = Some((si, sj + 1));
        } else {
            return false;
        }
    }
    p[i..].iter().all(|&c| c == b'*')
}

fn url_matches(pattern: &str, v: &Visit) -> bool {
    if pattern.starts_with('/') {
        glob(pattern, &v.path)
    } else {
        glob(pattern, &v.url)
    }
}

fn in_range(r: Option<Range>, x: f64) -> bool {
    r.is_none_or(|r| r.min.is_none_or(|lo| x >= lo) && r.max.is_none_or(|hi| x <= hi))
}

/// Whether a path is a checkout page (contains `/checkout`).
pub fn is_checkout(path: &str) -> bool {
    path.to_ascii_lowercase().contains("/checkout")
}

impl Target {
    /// Whether every condition holds for `v`.
    pub fn matches(&self, v: &Visit) -> bool {
        let include = self.include.is_empty() || self.include.iter().any(|p| url_matches(p, v));
        let exclude = self.exclude.iter().any(|p| url_matches(p, v));
        let device = match self.device {
            Device::Any => true,
            Device::Mobile => v.mobile,
            Device::Desktop => !v.mobile,
        };
        let visitor = match self.visitor {
            Visitor::Any => true,
            Visitor::New => v.visits <= 1,
            Visitor::Returning => v.visits > 1,
        };
        let stage = match self.stage {
            Stage::Any => true,
            Stage::Visitor => v.cart_items == 0 && v.orders == 0,
            Stage::Cart => v.cart_items > 0,
            Stage::Customer => v.orders >= self.min_orders.unwrap_or(1).max(1),
        };
        let source = self.utm_source.is_empty()
            || v.utm_source
                .as_deref()
                .is_some_and(|s| self.utm_source.iter().any(|u| u.eq_ignore_ascii_case(s)));
        let referrer = self.referrer.is_empty()
            || (v.referrer.as_deref()).is_some_and(|r| self.referrer.iter().any(|p| glob(p, r)));
        let in_cart = self.in_cart.is_empty()
            || (self.in_cart.iter()).any(|p| v.cart_tags.iter().any(|t| glob(p, t)));
        include
            && !exclude
            && (self.checkout || !is_checkout(&v.path))
            && device
            && visitor
            && stage
            && in_range(self.cart_value, v.cart_value)
            && in_range(self.cart_items, f64::from(v.cart_items))
            && source
            && referrer
            && in_cart
            && in_range(self.pages, f64::from(v.pages))
            && in_range(self.time_on_site, v.seconds_on_site)
            && self.identified.is_none_or(|i| i == v.identified)
            && self.subscribed.is_none_or(|s| s == v.subscribed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn visit(path: &str) -> Visit {
        Visit {
            url: format!("https://shop.example{path}"),
            path: path.into(),
            visits: 1,
            ..Visit::default()
        }
    }

    #[test]
    fn globs() {
        assert!(glob("/products/*", "/products/tea"));
        assert!(glob("/products/*", "/products/"));
        assert!(!glob("/products/*", "/product"));
        assert!(glob("*sale*", "/summer-SALE/1"));
        assert!(glob("/a*b*c", "/aXXbYYc"));
        assert!(!glob("/a*b*c", "/aXXbYY"));
        assert!(glob("https://shop.example/*", "https://shop.example/x"));
        assert!(glob("*", ""));
    }

    #[test]
    fn never_on_checkout_pages_unless_asked() {
        let t = Target::default();
        assert!(t.matches(&visit("/products/tea")));
        assert!(!t.matches(&visit("/checkout/payment")));
        assert!(!t.matches(&visit("/shop/Checkout")));
        let t = Target {
            checkout: true,
            ..Target::default()
        };
        assert!(t.matches(&visit("/checkout")));
    }

    #[test]
    fn include_and_exclude() {
        let t = Target {
            include: vec!["/products/*".into(), "https://shop.example/sale*".into()],
            exclude: vec!["/products/gift-card".into()],
            ..Target::default()
        };
        assert!(t.matches(&visit("/products/tea")));
        assert!(t.matches(&visit("/sale/summer")));
        assert!(!t.matches(&visit("/products/gift-card")));
        assert!(!t.matches(&visit("/about")));
    }

    #[test]
    fn stage_cart_device_and_people() {
        let mut v = visit("/");
        let cart = Target {
            stage: Stage::Cart,
            cart_value: Some(Range {
                min: Some(20.0),
                max: None,
            }),
            device: Device::Desktop,
            ..Target::default()
        };
        assert!(!cart.matches(&v), "an empty cart");
        v.cart_items = 2;
        v.cart_value = 19.99;
        assert!(!cart.matches(&v), "under the minimum value");
        v.cart_value = 20.0;
        assert!(cart.matches(&v));
        v.mobile = true;
        assert!(!cart.matches(&v), "desktop only");
        let customer = Target {
            stage: Stage::Customer,
            min_orders: Some(2),
            visitor: Visitor::Returning,
            identified: Some(true),
            subscribed: Some(false),
            utm_source: vec!["Newsletter".into()],
            ..Target::default()
        };
        let mut c = visit("/");
        c.orders = 2;
        c.visits = 3;
        c.identified = true;
        c.utm_source = Some("newsletter".into());
        assert!(customer.matches(&c));
        c.subscribed = true;
        assert!(!customer.matches(&c));
        c.subscribed = false;
        c.orders = 1;
        assert!(!customer.matches(&c));
        let new = Target {
            visitor: Visitor::New,
            stage: Stage::Visitor,
            ..Target::default()
        };
        assert!(new.matches(&visit("/")));
        c.orders = 0;
        c.cart_items = 0;
        assert!(!new.matches(&c), "a returning visitor");
    }

    #[test]
    fn the_referring_site_pages_and_time_in_the_session() {
        let t = Target {
            referrer: vec!["*google.*".into(), "instagram.com".into()],
            pages: Some(Range {
                min: Some(2.0),
                max: None,
            }),
            time_on_site: Some(Range {
                min: Some(60.0),
                max: Some(600.0),
            }),
            ..Target::default()
        };
        let v = Visit {
            referrer: Some("www.google.com".into()),
            pages: 2,
            seconds_on_site: 90.0,
            ..visit("/products/tea")
        };
        assert!(t.matches(&v));
        let from = |r: Option<&str>| Visit {
            referrer: r.map(String::from),
            ..v.clone()
        };
        assert!(t.matches(&from(Some("instagram.com"))));
        assert!(!t.matches(&from(Some("l.instagram.com"))));
        assert!(!t.matches(&from(None)), "a direct visit");
        assert!(
            !t.matches(&Visit {
                pages: 1,
                ..v.clone()
            }),
            "the first page"
        );
        assert!(!t.matches(&Visit {
            seconds_on_site: 30.0,
            ..v.clone()
        }));
        assert!(!t.matches(&Visit {
            seconds_on_site: 601.0,
            ..v.clone()
        }));
        assert!(Target::default().matches(&from(None)));
    }

    #[test]
    fn products_and_categories_in_the_cart() {
        let t = Target {
            in_cart: vec!["tea-*".into(), "Gifts".into()],
            ..Target::default()
        };
        let cart = |tags: &[&str]| Visit {
            cart_tags: tags.iter().map(|p| p.to_string()).collect(),
            ..visit("/products/tea")
        };
        assert!(t.matches(&cart(&["mug-1", "MUG-SKU", "Kitchen", "tea-green"])));
        assert!(
            t.matches(&cart(&["mug-1", "gifts"])),
            "a category, any case"
        );
        assert!(!t.matches(&cart(&["mug-1", "Kitchen"])));
        assert!(!t.matches(&cart(&[])), "an empty cart");
        assert!(Target::default().matches(&cart(&[])));
    }
}
