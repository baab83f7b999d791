//! Links that carry identity: channel link tokens (`st_lt`, from email, SMS and push links) and
//! cross-domain ids (`st_x=<anonymousId>.<unix seconds>`, on links to the shop's other sites).
//! Both are read once on load and kept out of every reported URL.

use super::campaign::query_pairs;
use super::json;
use super::page::search_of;
use crate::prelude::*;

/// The cross-domain parameter.
pub const CROSS_PARAM: &str = "st_x";
/// How old a cross-domain id may be when it arrives, seconds.
pub const CROSS_MAX_AGE_S: u64 = 120;
/// How far ahead of this device's clock a cross-domain id may claim to be, seconds.
const CROSS_SKEW_S: u64 = 30;

/// The value of query parameter `name` in `url` (decoded), if present.
pub fn param(url: &str, name: &str) -> Option<String> {
    query_pairs(search_of(url)).find_map(|(k, v)| (k == name).then_some(v))
}

/// A link token as an email or SMS system writes it: 16 to 256 URL-safe characters.
pub fn token_ok(t: &str) -> bool {
    (16..=256).contains(&t.len())
        && t.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~'))
}

/// A UUID as shoptrail writes anonymous ids (lowercase or uppercase hex).
fn uuid_ok(s: &str) -> bool {
    s.len() == 36
        && s.bytes().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => b == b'-',
            _ => b.is_ascii_hexdigit(),
        })
}

/// The anonymous id a cross-domain value carries, if it is well formed and at most
/// [`CROSS_MAX_AGE_S`] old at `now` (Unix ms).
pub fn cross_id(value: &str, now: u64) -> Option<String> {
    let dot = value.bytes().rposition(|b| b == b'.')?;
    let (id, secs) = (value.get(..dot)?, value.get(dot + 1..)?);
    let t = json::parse_u64(secs)?;
    let now_s = now / 1000;
    let fresh =
        t <= now_s.saturating_add(CROSS_SKEW_S) && now_s.saturating_sub(t) <= CROSS_MAX_AGE_S;
    (uuid_ok(id) && fresh).then(|| id.to_ascii_lowercase())
}

/// A 64-bit FNV-1a fingerprint of a token: what the device keeps to send it once.
pub fn fingerprint(token: &str) -> u64 {
    token.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// The host of an absolute http(s) URL, lower-cased, without port or credentials.
pub fn host_of(url: &str) -> Option<String> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))?;
    let end = rest
        .bytes()
        .position(|b| matches!(b, b'/' | b'?' | b'#'))
        .unwrap_or(rest.len());
    let authority = rest.get(..end)?;
    let at = authority
        .bytes()
        .rposition(|b| b == b'@')
        .map_or(0, |i| i + 1);
    let host = authority.get(at..)?;
    let host = host.get(..host.bytes().position(|b| b == b':').unwrap_or(host.len()))?;
    (!host.is_empty()).then(|| host.to_ascii_lowercase())
}

/// Whether `host` is `domain` or one of its subdomains.
fn within(host: &str, domain: &str) -> bool {
    host == domain
        || host
            .strip_suffix(domain)
            .is_some_and(|rest| rest.ends_with('.'))
}

/// Whether `url` is on one of the shop's other sites: its host is one of `domains` or a
/// subdomain of one (`other-shop.example` covers `www.other-shop.example`, not the reverse),
/// and not `page_host` or one of its subdomains (the page's own site).
pub fn linked(url: &str, domains: &[String], page_host: &str) -> bool {
    host_of(url).is_some_and(|h| !within(&h, page_host) && domains.iter().any(|d| within(&h, d)))
}

/// `href` with `st_x=<anonymous id>.<now in seconds>` (replacing any), for a link that is
/// [`linked`].
pub fn decorate(href: &str, aid: &str, now: u64) -> String {
    let clean = super::page::redact(href, &[CROSS_PARAM]);
    let (base, hash) = match clean.find('#') {
        Some(i) => clean.split_at(i),
        None => (clean.as_str(), ""),
    };
    let mut out = String::from(base);
    out.push(if base.contains('?') { '&' } else { '?' });
    out.push_str(CROSS_PARAM);
    out.push('=');
    out.push_str(aid);
    out.push('.');
    json::push_u64(&mut out, now / 1000);
    out.push_str(hash);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const AID: &str = "5f0c8a4e-1b2d-4c3e-9f00-0000000000aa";
    const NOW: u64 = 1_800_000_000_000;

    #[test]
    fn params_and_tokens() {
        let url = "https://s.example/p?a=1&st_lt=tok_ABCDEFGHIJKLmnop&b=%20x#frag";
        assert_eq!(param(url, "st_lt").as_deref(), Some("tok_ABCDEFGHIJKLmnop"));
        assert_eq!(param(url, "b").as_deref(), Some(" x"));
        assert_eq!(param(url, "c"), None);
        assert!(token_ok("tok_ABCDEFGHIJKLmnop"));
        for bad in [
            "short",
            "has space in the token!",
            "<script>alert(1)</script>xx",
        ] {
            assert!(!token_ok(bad), "{bad}");
        }
    }

    #[test]
    fn cross_domain_ids_are_adopted_fresh_and_well_formed_only() {
        let secs = NOW / 1000;
        let v = |age: i64| format!("{AID}.{}", (secs as i64 - age) as u64);
        assert_eq!(cross_id(&v(0), NOW).as_deref(), Some(AID));
        assert_eq!(cross_id(&v(120), NOW).as_deref(), Some(AID));
        assert_eq!(cross_id(&v(121), NOW), None, "older than 2 minutes");
        assert_eq!(cross_id(&v(180), NOW), None, "3 minutes old");
        assert_eq!(cross_id(&v(-31), NOW), None, "from the future");
        assert_eq!(cross_id(&format!("not-a-uuid.{secs}"), NOW), None);
        assert_eq!(cross_id(AID, NOW), None);
        assert_eq!(cross_id(&format!("{AID}.soon"), NOW), None);
    }

    #[test]
    fn links_to_the_shops_other_sites_are_decorated() {
        let secs = NOW / 1000;
        assert_eq!(
            decorate("https://other-shop.example/cart", AID, NOW),
            format!("https://other-shop.example/cart?st_x={AID}.{secs}")
        );
        assert_eq!(
            decorate(
                "https://www.other-shop.example/p?x=1&st_x=old.1#top",
                AID,
                NOW
            ),
            format!("https://www.other-shop.example/p?x=1&st_x={AID}.{secs}#top")
        );
        assert_eq!(
            host_of("https://user:pw@Other-Shop.example:8443/x").as_deref(),
            Some("other-shop.example")
        );
    }

    #[test]
    fn the_shops_other_sites_are_the_listed_domains_and_their_subdomains() {
        let domains = vec!["other-shop.example".to_string()];
        let l = |url: &str| linked(url, &domains, "shop.example");
        assert!(l("https://other-shop.example/cart"));
        assert!(l("https://www.other-shop.example/"), "a subdomain");
        assert!(l("http://Other-Shop.example:8080/"));
        for not in [
            "https://elsewhere.example/",
            "https://shop.example/other-shop.example",
            "https://notother-shop.example/",
            "https://other-shop.example.evil.com/",
            "https://evil.com/?other-shop.example",
            "https://other-shop.example@evil.com/",
            "mailto:a@other-shop.example",
            "other-shop.example",
            "",
        ] {
            assert!(!l(not), "{not}");
        }
        // `www.` listed covers that host and its subdomains, not the bare domain.
        let www = vec!["www.other-shop.example".to_string()];
        assert!(!linked("https://other-shop.example/", &www, "shop.example"));
        // The page's own site is never one of the others, even when listed.
        let own = vec!["shop.example".to_string(), "other-shop.example".to_string()];
        assert!(!linked("https://shop.example/x", &own, "shop.example"));
        assert!(!linked("https://blog.shop.example/x", &own, "shop.example"));
        assert!(linked("https://other-shop.example/", &own, "shop.example"));
    }
}
