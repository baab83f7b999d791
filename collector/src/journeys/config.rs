//! The journeys file (`--journeys journeys.toml`): the webhook, the cart link, and each
//! journey's trigger and steps, read with the `toml` crate and checked with messages that
//! name the field.

use std::path::Path;
use std::time::Duration;

use serde::Deserialize;

/// The environment variable that may hold the webhook secret instead of the file.
pub const SECRET_ENV: &str = "SHOPTRAIL_WEBHOOK_SECRET";

/// Steps sent to one contact address in any 24 hours, by default
/// (`webhook.max_per_contact_per_day`).
pub const DEFAULT_MAX_PER_CONTACT_PER_DAY: u32 = 3;

/// The largest `webhook.max_per_contact_per_day` accepted.
pub const MAX_PER_CONTACT_PER_DAY: u32 = 100;

/// The journeys, their webhook and links, as read from the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JourneysConfig {
    /// Where each step is POSTed.
    pub webhook_url: String,
    /// The HMAC-SHA256 key of `Shoptrail-Signature`.
    pub secret: String,
    /// How long one webhook call may take.
    pub timeout: Duration,
    /// How long a failing step is retried after it fell due.
    pub retry_for: Duration,
    /// Steps sent to one email address or phone number in any 24 hours, whichever profiles
    /// claim it; a step past it is skipped.
    pub max_per_contact_per_day: u32,
    /// The shop's cart page; abandoned-cart steps link to it with a link token.
    pub cart_url: Option<String>,
    /// A Shopify store's address (`links.shopify_store`): abandoned-cart steps link to a cart
    /// permalink of the cart's variants there, with the link token (see
    /// [`crate::shopify::cart_permalink`]).
    pub shopify_store: Option<String>,
    /// The query parameter of the link token (the SDK's `linkParam`).
    pub link_param: String,
    /// The channel the link tokens are issued for (`email`, `sms`...).
    pub link_channel: String,
    /// The journeys, in file order.
    pub journeys: Vec<Journey>,
}

/// One journey.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Journey {
    /// Its id: in payloads, deliveries and metrics.
    pub id: String,
    /// What starts it.
    pub trigger: Trigger,
    /// Its steps, in order of their delays.
    pub steps: Vec<Step>,
}

/// What starts a journey.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trigger {
    /// A cart with items: every change moves the steps' clock; an order or an empty cart
    /// ends it.
    AbandonedCart,
    /// A track event of this name (one run per person at a time).
    Event(String),
}

/// One step of a journey.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// Its name, passed to the webhook (`reminder`, `discount`...).
    pub name: String,
    /// Its delay after the trigger (for carts: after the last change).
    pub after: Duration,
    /// A unique discount code made for this step.
    pub discount: Option<Discount>,
}

/// A discount code's shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Discount {
    /// Percent off, 1 to 100.
    pub percent: u8,
    /// The codes' prefix (letters, digits, `-` and `_`).
    pub prefix: String,
    /// How many random characters follow the prefix (6 to 32).
    pub length: u8,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    webhook: WebhookFile,
    #[serde(default)]
    links: LinksFile,
    #[serde(default, rename = "journey")]
    journeys: Vec<JourneyFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WebhookFile {
    url: String,
    secret: Option<String>,
    timeout: Option<String>,
    retry_for: Option<String>,
    max_per_contact_per_day: Option<i64>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct LinksFile {
    cart_url: Option<String>,
    shopify_store: Option<String>,
    param: Option<String>,
    channel: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct JourneyFile {
    id: String,
    trigger: String,
    event: Option<String>,
    #[serde(default, rename = "step")]
    steps: Vec<StepFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StepFile {
    name: String,
    after: String,
    discount: Option<DiscountFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DiscountFile {
    percent: Option<i64>,
    prefix: Option<String>,
    length: Option<i64>,
}

/// Reads and checks a journeys file; the webhook secret may come from
/// [`SECRET_ENV`] (which wins over the file).
pub fn load(path: &Path) -> Result<JourneysConfig, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read journeys file {}: {e}", path.display()))?;
    let env = std::env::var(SECRET_ENV).ok().filter(|s| !s.is_empty());
    parse(&text, env).map_err(|e| format!("{}: {e}", path.display()))
}

/// Parses journeys text; `env_secret` replaces the file's `webhook.secret`.
pub fn parse(text: &str, env_secret: Option<String>) -> Result<JourneysConfig, String> {
    let file: File = toml::from_str(text).map_err(|e| e.to_string().trim_end().to_owned())?;
    let w = file.webhook;
    check_url(&w.url, "webhook.url")?;
    let secret = env_secret.or(w.secret).ok_or_else(|| {
        format!("webhook.secret: is required (or set {SECRET_ENV}); it signs every call")
    })?;
    if secret.len() < 16 {
        return Err("webhook.secret: must be at least 16 characters".into());
    }
    let timeout = duration(w.timeout.as_deref().unwrap_or("10s"), "webhook.timeout")?;
    if timeout.is_zero() || timeout > Duration::from_secs(60) {
        return Err("webhook.timeout: must be more than 0 and at most 60s".into());
    }
    let retry_for = duration(w.retry_for.as_deref().unwrap_or("24h"), "webhook.retry_for")?;
    if retry_for > Duration::from_secs(7 * 86_400) {
        return Err("webhook.retry_for: must be at most 7d".into());
    }
    let per_contact = w
        .max_per_contact_per_day
        .unwrap_or(i64::from(DEFAULT_MAX_PER_CONTACT_PER_DAY));
    let max_per_contact_per_day = u32::try_from(per_contact)
        .ok()
        .filter(|n| (1..=MAX_PER_CONTACT_PER_DAY).contains(n))
        .ok_or_else(|| {
            format!(
                "webhook.max_per_contact_per_day: the steps one email address or phone number \
                 may get in 24 hours must be 1 to {MAX_PER_CONTACT_PER_DAY}, not {per_contact}"
            )
        })?;
    if let Some(url) = &file.links.cart_url {
        check_url(url, "links.cart_url")?;
    }
    if let Some(url) = &file.links.shopify_store {
        check_url(url, "links.shopify_store")?;
        if file.links.cart_url.is_some() {
            return Err(
                "links.shopify_store: cart links go to a Shopify store or to links.cart_url; \
                 give one"
                    .into(),
            );
        }
    }
    let link_param = file.links.param.unwrap_or_else(|| "st_lt".into());
    if !is_name(&link_param, 32) {
        return Err("links.param: must be 1 to 32 letters, digits, - or _".into());
    }
    let link_channel = file.links.channel.unwrap_or_else(|| "email".into());
    if !is_name(&link_channel, 32) {
        return Err("links.channel: must be 1 to 32 letters, digits, - or _".into());
    }
    if file.journeys.is_empty() {
        return Err("no [[journey]]: the file configures none".into());
    }
    let mut journeys: Vec<Journey> = Vec::new();
    for (i, j) in file.journeys.into_iter().enumerate() {
        let at = format!("journey[{i}]");
        if !is_name(&j.id, 64) {
            return Err(format!(
                "{at}.id: '{}' must be 1 to 64 letters, digits, - or _",
                j.id
            ));
        }
        if journeys.iter().any(|k| k.id == j.id) {
            return Err(format!("{at}.id: '{}' is used twice", j.id));
        }
        let trigger = match (j.trigger.as_str(), j.event) {
            ("abandoned_cart", None) => Trigger::AbandonedCart,
            ("event", Some(e)) if !e.trim().is_empty() && e.len() <= 200 => Trigger::Event(e),
            ("event", _) => {
                return Err(format!(
                    "{at}.event: names the track event that starts it (such as \"Signed Up\")"
                ))
            }
            ("abandoned_cart", Some(_)) => {
                return Err(format!("{at}.event: only for trigger = \"event\""))
            }
            (other, _) => {
                return Err(format!(
                    "{at}.trigger: '{other}' is not one of abandoned_cart, event"
                ))
            }
        };
        if j.steps.is_empty() || j.steps.len() > 20 {
            return Err(format!("{at}: needs 1 to 20 [[journey.step]]"));
        }
        let mut steps: Vec<Step> = Vec::new();
        for (k, s) in j.steps.into_iter().enumerate() {
            let at = format!("{at}.step[{k}]");
            if !is_name(&s.name, 64) {
                return Err(format!(
                    "{at}.name: '{}' must be 1 to 64 letters, digits, - or _",
                    s.name
                ));
            }
            let after = duration(&s.after, &format!("{at}.after"))?;
            if after > Duration::from_secs(365 * 86_400) {
                return Err(format!("{at}.after: must be at most 365d"));
            }
            if let Some(prev) = steps.last() {
                if after < prev.after {
                    return Err(format!(
                        "{at}.after: steps are in order of their delays; {} comes before {}",
                        s.after,
                        humantime::format_duration(prev.after)
                    ));
                }
            }
            let discount = s
                .discount
                .map(|d| discount(d, &format!("{at}.discount")))
                .transpose()?;
            steps.push(Step {
                name: s.name,
                after,
                discount,
            });
        }
        journeys.push(Journey {
            id: j.id,
            trigger,
            steps,
        });
    }
    Ok(JourneysConfig {
        webhook_url: w.url,
        secret,
        timeout,
        retry_for,
        max_per_contact_per_day,
        cart_url: file.links.cart_url,
        shopify_store: file.links.shopify_store,
        link_param,
        link_channel,
        journeys,
    })
}

fn discount(d: DiscountFile, at: &str) -> Result<Discount, String> {
    let percent = d.percent.unwrap_or(10);
    if !(1..=100).contains(&percent) {
        return Err(format!("{at}.percent: must be 1 to 100, not {percent}"));
    }
    let prefix = d.prefix.unwrap_or_default();
    if prefix.len() > 24
        || !prefix
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(format!(
            "{at}.prefix: at most 24 letters, digits, - or _, not '{prefix}'"
        ));
    }
    let length = d.length.unwrap_or(8);
    if !(6..=32).contains(&length) {
        return Err(format!("{at}.length: must be 6 to 32, not {length}"));
    }
    Ok(Discount {
        percent: percent as u8,
        prefix,
        length: length as u8,
    })
}

fn duration(text: &str, at: &str) -> Result<Duration, String> {
    humantime::parse_duration(text.trim())
        .map_err(|_| format!("{at}: '{text}' is not a duration (such as 0s, 30m, 1h, 2d)"))
}

fn check_url(url: &str, at: &str) -> Result<(), String> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"));
    match rest {
        Some(r) if !r.is_empty() && !r.starts_with('/') && !url.contains(char::is_whitespace) => {
            Ok(())
        }
        _ => Err(format!("{at}: '{url}' is not an http:// or https:// URL")),
    }
}

fn is_name(s: &str, max: usize) -> bool {
    (1..=max).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEMO: &str = include_str!("../../demo/journeys.toml");

    #[test]
    fn reads_the_demo_file() {
        let c = parse(DEMO, None).expect("demo parses");
        assert_eq!(c.journeys.len(), 3);
        let cart = &c.journeys[0];
        assert_eq!(cart.trigger, Trigger::AbandonedCart);
        assert_eq!(cart.steps[0].after, Duration::from_secs(3600));
        assert_eq!(cart.steps[1].after, Duration::from_secs(86_400));
        let d = cart.steps[1].discount.as_ref().expect("a code");
        assert_eq!((d.percent, d.length), (10, 8));
        assert_eq!(
            c.journeys[1].trigger,
            Trigger::Event("Signed Up".to_string())
        );
        let welcome: Vec<u64> = c.journeys[1]
            .steps
            .iter()
            .map(|s| s.after.as_secs())
            .collect();
        assert_eq!(welcome, [0, 2 * 86_400, 7 * 86_400]);
        assert_eq!(c.timeout, Duration::from_secs(10));
        assert_eq!(c.retry_for, Duration::from_secs(86_400));
        assert_eq!(c.max_per_contact_per_day, DEFAULT_MAX_PER_CONTACT_PER_DAY);
    }

    #[test]
    fn reads_and_checks_the_daily_limit_per_contact() {
        let with = |n: &str| {
            let text = format!(
                "{HEAD}max_per_contact_per_day = {n}\n[[journey]]\nid = \"a\"\n\
                 trigger = \"abandoned_cart\"\n[[journey.step]]\nname = \"s\"\nafter = \"1h\"\n"
            );
            parse(&text, None)
        };
        assert_eq!(with("5").expect("parses").max_per_contact_per_day, 5);
        for bad in ["0", "-1", "101"] {
            assert_eq!(
                with(bad).expect_err("refused"),
                format!(
                    "webhook.max_per_contact_per_day: the steps one email address or phone \
                     number may get in 24 hours must be 1 to 100, not {bad}"
                )
            );
        }
        let e = with("\"3\"").expect_err("refused");
        assert!(e.contains("max_per_contact_per_day"), "{e}");
    }

    #[test]
    fn the_environment_secret_wins() {
        let c = parse(DEMO, Some("from-the-environment".into())).expect("parses");
        assert_eq!(c.secret, "from-the-environment");
    }

    fn err(text: &str) -> String {
        parse(text, None).expect_err("refused")
    }

    const HEAD: &str =
        "[webhook]\nurl = \"https://hooks.example/st\"\nsecret = \"0123456789abcdef\"\n";

    #[test]
    fn names_the_bad_field() {
        let one = |journey: &str| err(&format!("{HEAD}{journey}"));
        assert_eq!(
            one("[[journey]]\nid = \"a\"\ntrigger = \"cart\"\n[[journey.step]]\nname = \"s\"\nafter = \"1h\"\n"),
            "journey[0].trigger: 'cart' is not one of abandoned_cart, event"
        );
        assert_eq!(
            one("[[journey]]\nid = \"a\"\ntrigger = \"abandoned_cart\"\n[[journey.step]]\nname = \"s\"\nafter = \"soon\"\n"),
            "journey[0].step[0].after: 'soon' is not a duration (such as 0s, 30m, 1h, 2d)"
        );
        assert_eq!(
            one("[[journey]]\nid = \"a\"\ntrigger = \"event\"\n[[journey.step]]\nname = \"s\"\nafter = \"1h\"\n"),
            "journey[0].event: names the track event that starts it (such as \"Signed Up\")"
        );
        assert_eq!(
            one("[[journey]]\nid = \"a\"\ntrigger = \"abandoned_cart\"\n[[journey.step]]\nname = \"s\"\nafter = \"2h\"\n[[journey.step]]\nname = \"t\"\nafter = \"1h\"\n"),
            "journey[0].step[1].after: steps are in order of their delays; 1h comes before 2h"
        );
        assert_eq!(
            one("[[journey]]\nid = \"a\"\ntrigger = \"abandoned_cart\"\n[[journey.step]]\nname = \"s\"\nafter = \"1h\"\ndiscount = { percent = 150 }\n"),
            "journey[0].step[0].discount.percent: must be 1 to 100, not 150"
        );
        assert_eq!(
            one("[[journey]]\nid = \"a\"\ntrigger = \"abandoned_cart\"\n"),
            "journey[0]: needs 1 to 20 [[journey.step]]"
        );
        assert_eq!(one(""), "no [[journey]]: the file configures none");
        let unknown =
            one("[[journey]]\nid = \"a\"\ntrigger = \"abandoned_cart\"\ndelay = \"1h\"\n");
        assert!(unknown.contains("unknown field `delay`"), "{unknown}");
        assert!(unknown.contains("line 7"), "{unknown}");
    }

    #[test]
    fn checks_the_webhook() {
        let e = err("[webhook]\nurl = \"ftp://x\"\nsecret = \"0123456789abcdef\"\n");
        assert_eq!(
            e,
            "webhook.url: 'ftp://x' is not an http:// or https:// URL"
        );
        let e = err("[webhook]\nurl = \"https://x.example\"\n");
        assert!(e.starts_with("webhook.secret: is required"), "{e}");
        let e = err("[webhook]\nurl = \"https://x.example\"\nsecret = \"short\"\n");
        assert_eq!(e, "webhook.secret: must be at least 16 characters");
        let e = err("");
        assert!(e.contains("missing field `webhook`"), "{e}");
    }

    #[test]
    fn cart_links_go_to_one_place() {
        let hook = "[webhook]\nurl = \"https://x.example\"\nsecret = \"0123456789abcdef\"\n";
        let e = err(&format!(
            "{hook}[links]\ncart_url = \"https://s.example/cart\"\n\
             shopify_store = \"https://s.example\"\n"
        ));
        assert!(
            e.starts_with("links.shopify_store: cart links go to"),
            "{e}"
        );
        let e = err(&format!("{hook}[links]\nshopify_store = \"s.example\"\n"));
        assert_eq!(
            e,
            "links.shopify_store: 's.example' is not an http:// or https:// URL"
        );
    }
}
