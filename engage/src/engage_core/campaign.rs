//! Campaign definitions: typed structs read with serde (from JavaScript objects through
//! `browser/strict.rs` in the browser, from JSON in host tests), then checked. An invalid
//! campaign is reported with the path of what is wrong (`campaigns[1].trigger.sensitivity must
//! be 10-100`) and skipped; the others run.

use super::detect::{self, Ms};
use super::strict::{Source, Strict};
use serde::Deserialize;

/// One campaign: when it fires, for whom, how often, and what it shows.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Campaign {
    /// Stable id (1–64 letters, digits, `-` or `_`): events, caps and experiment assignment
    /// use it.
    pub id: String,
    /// What fires it.
    pub trigger: TriggerDef,
    /// Who sees it (everyone, outside checkout pages, by default).
    #[serde(default)]
    pub target: Target,
    /// How often.
    #[serde(default)]
    pub frequency: Frequency,
    /// What it shows (for every variant without content of its own).
    #[serde(default)]
    pub content: Option<Content>,
    /// A/B variants; empty for a campaign without an experiment.
    #[serde(default)]
    pub variants: Vec<Variant>,
    /// Weight of the control group: assigned, tracked, shown nothing (0).
    #[serde(default)]
    pub control: u32,
}

/// Which kind of trigger.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Kind {
    /// Exit intent.
    Exit,
    /// Time on page (`seconds`).
    Time,
    /// Scroll depth (`percent`).
    Scroll,
    /// A cart with items and no activity (`seconds`).
    CartIdle,
    /// No activity on the page (`seconds`).
    Inactivity,
}

/// What fires a campaign: `type` says which; each kind reads its own fields, with the
/// documented defaults. (A flat struct rather than a tagged enum, so that serde can name the
/// path of a wrong field.)
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct TriggerDef {
    /// The kind.
    #[serde(rename = "type")]
    pub kind: Kind,
    /// exit: top band in px, 10–100 (20).
    pub sensitivity: Option<i32>,
    /// exit: time on page before it is armed, in ms (5,000).
    pub min_time: Option<Ms>,
    /// exit: a pointer back within this many ms was not leaving (300).
    pub grace: Option<Ms>,
    /// exit: leaving by the sides counts (false).
    pub sides: Option<bool>,
    /// exit: leaving by the bottom counts (false).
    pub bottom: Option<bool>,
    /// exit, touch: px of a fast upward scroll (200).
    pub scroll_up: Option<i32>,
    /// exit, touch: ... within this many ms (100).
    pub scroll_within: Option<Ms>,
    /// exit, touch: a tab hidden this many ms fires on return (5,000).
    pub hidden_for: Option<Ms>,
    /// exit, touch: the back button (false).
    pub back: Option<bool>,
    /// time, cartIdle, inactivity: seconds.
    pub seconds: Option<u32>,
    /// scroll: percent of the page, 1–100.
    pub percent: Option<u8>,
}

/// Which device a campaign is for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Device {
    /// Every device.
    #[default]
    Any,
    /// Touch devices (no hovering pointer).
    Mobile,
    /// Devices with a hovering pointer.
    Desktop,
}

/// New or returning visitors.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Visitor {
    /// Both.
    #[default]
    Any,
    /// In their first session.
    New,
    /// In a later session.
    Returning,
}

/// Where the shopper is in their journey.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Stage {
    /// Anyone.
    #[default]
    Any,
    /// No items in the cart and no order yet.
    Visitor,
    /// Items in the cart.
    Cart,
    /// At least `minOrders` orders (1 by default).
    Customer,
}

/// An inclusive range; either end may be left open.
#[derive(Debug, Clone, Copy, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Range {
    /// Lowest value that matches.
    pub min: Option<f64>,
    /// Highest value that matches.
    pub max: Option<f64>,
}

/// Who sees a campaign. Every condition given must hold.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct Target {
    /// URL patterns, one of which must match (`*` matches anything; a pattern starting with
    /// `/` matches the path, others the whole URL). Empty: every page.
    pub include: Vec<String>,
    /// URL patterns that must not match.
    pub exclude: Vec<String>,
    /// Also on checkout pages (paths containing `/checkout`): false.
    pub checkout: bool,
    /// Device.
    pub device: Device,
    /// New or returning visitor.
    pub visitor: Visitor,
    /// Journey stage.
    pub stage: Stage,
    /// Orders a customer must have placed for `stage: "customer"` (1).
    pub min_orders: Option<u32>,
    /// Cart value in the cart's currency.
    pub cart_value: Option<Range>,
    /// Units in the cart.
    pub cart_items: Option<Range>,
    /// utm_source values of the session, one of which must match.
    pub utm_source: Vec<String>,
    /// Hosts of the site that sent the shopper this session (`*` matches anything), one of
    /// which must match; a direct visit matches none.
    pub referrer: Vec<String>,
    /// Pages loaded in the session, this one included.
    pub pages: Option<Range>,
    /// Seconds since the session started.
    pub time_on_site: Option<Range>,
    /// Product ids, SKUs or categories (`*` matches anything): a product in the cart must
    /// match one of them.
    pub in_cart: Vec<String>,
    /// Identified (a userId) or not.
    pub identified: Option<bool>,
    /// Subscribed (traits `subscribed` true, or an email opt-in made here) or not.
    pub subscribed: Option<bool>,
}

/// How often a campaign shows.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Frequency {
    /// Times per session (1).
    #[serde(default = "one")]
    pub per_session: u32,
    /// Days without it after a dismissal (5).
    #[serde(default = "five")]
    pub dismiss_days: u32,
}

fn one() -> u32 {
    1
}
fn five() -> u32 {
    5
}

impl Default for Frequency {
    fn default() -> Self {
        Frequency {
            per_session: 1,
            dismiss_days: 5,
        }
    }
}

/// One arm of an experiment.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Variant {
    /// Id reported in `Experiment Viewed` (`variant_id`).
    pub id: String,
    /// Relative weight (1).
    #[serde(default = "one")]
    pub weight: u32,
    /// Content of this variant (the campaign's when absent).
    pub content: Option<Content>,
}

/// What a popup shows. Every text is inserted as text, never as HTML; `{{traits.first_name |
/// "there"}}`, `{{cart.total}}` and `{{cart.count}}` are filled in.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Content {
    /// The title; the dialog's accessible name.
    pub headline: String,
    /// Body text.
    pub body: Option<String>,
    /// An image.
    pub image: Option<Image>,
    /// A coupon code, with a copy button.
    pub coupon: Option<String>,
    /// A call-to-action link.
    pub cta: Option<Cta>,
    /// A list of products: the shopper's `cart` or recently `viewed`.
    pub items: Option<Items>,
    /// An opt-in form.
    pub form: Option<Form>,
    /// A Net Promoter Score question (the headline asks it): 0–10 and an optional comment.
    pub nps: Option<Nps>,
    /// The close button's label ("Close").
    pub close: Option<String>,
    /// Colours, font and corner radius.
    pub theme: Option<Theme>,
}

/// An image.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Image {
    /// An http(s) or relative URL.
    pub src: String,
    /// Alternative text ("" for a decorative image).
    #[serde(default)]
    pub alt: String,
}

/// A call to action.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cta {
    /// The link's text.
    pub label: String,
    /// An http(s) or relative URL; without it the button only closes (a conversion).
    pub url: Option<String>,
}

/// Which products a popup lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Items {
    /// The cart's lines.
    Cart,
    /// Recently viewed products.
    Viewed,
}

/// Whether a form field is asked for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Need {
    /// Not shown.
    #[default]
    Off,
    /// Shown, may stay empty.
    Optional,
    /// Shown and required.
    Required,
}

/// An opt-in form. Submitting it identifies the shopper with the contact traits and tracks
/// `Signed Up`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Form {
    /// Email (required).
    #[serde(default = "required")]
    pub email: Need,
    /// Phone (off).
    #[serde(default)]
    pub phone: Need,
    /// A checkbox consenting to SMS (shown with the phone field).
    #[serde(default)]
    pub sms: bool,
    /// A choice of email frequency: weekly or monthly.
    #[serde(default)]
    pub frequency: bool,
    /// City (off).
    #[serde(default)]
    pub city: Need,
    /// The submit button's label ("Subscribe").
    pub submit: Option<String>,
    /// Shown after a successful submit ("Thank you!").
    pub success: Option<String>,
    /// The SMS consent text.
    pub sms_text: Option<String>,
    /// A submit sooner than this many seconds after the form appeared is a bot's (1).
    #[serde(default = "min_seconds")]
    pub min_seconds: u8,
}

fn required() -> Need {
    Need::Required
}

fn min_seconds() -> u8 {
    1
}

/// A Net Promoter Score question: eleven choices, 0 to 10, and an optional comment box. The
/// headline asks the question and names the choices. Answering tracks `NPS Submitted` and
/// converts the popup, so the campaign does not ask that shopper again.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct Nps {
    /// A comment box under the scores, at most [`NPS_COMMENT_MAX`] characters (false).
    pub comment: bool,
    /// The comment box's label ("What is the main reason for your score?").
    pub comment_label: Option<String>,
    /// The text at 0 ("Not likely").
    pub low: Option<String>,
    /// The text at 10 ("Very likely").
    pub high: Option<String>,
    /// The submit button's label ("Send").
    pub submit: Option<String>,
    /// Shown after the answer ("Thank you!").
    pub success: Option<String>,
}

/// The longest NPS comment kept, in characters.
pub const NPS_COMMENT_MAX: usize = 1000;

/// The popup's look. Values are CSS values set as custom properties, so an invalid one is
/// ignored by the browser and none can change anything but its own property.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Theme {
    /// Text colour.
    pub color: Option<String>,
    /// Background colour.
    pub background: Option<String>,
    /// Buttons and links.
    pub accent: Option<String>,
    /// Text on the accent colour.
    pub accent_text: Option<String>,
    /// Font family.
    pub font: Option<String>,
    /// Corner radius in px (0–48).
    pub radius: Option<u8>,
}

/// A campaign that did not pass the checks: the path of what is wrong and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    /// Where, from the campaign (`trigger.sensitivity`); empty for the campaign itself.
    pub path: String,
    /// What is wrong (`must be 10-100`).
    pub message: String,
}

impl Invalid {
    fn at(path: &str, message: &str) -> Self {
        Invalid {
            path: path.into(),
            message: message.into(),
        }
    }

    /// The message `onError` gets for the campaign at `index` of `campaigns`.
    pub fn describe(&self, index: usize) -> String {
        let sep = if self.path.is_empty() || self.path.starts_with('[') {
            ""
        } else {
            "."
        };
        format!("campaigns[{index}]{sep}{} {}", self.path, self.message)
    }
}

/// Reads one campaign strictly (unknown keys refused, the path of what is wrong kept), from a
/// JavaScript value in the browser or a JSON value in host tests, then checks it.
pub fn read<S: Source>(value: S) -> Result<Campaign, Invalid> {
    let c = Campaign::deserialize(Strict(value)).map_err(|e| Invalid {
        path: e.path(),
        message: e.inner().to_string(),
    })?;
    c.check()?;
    Ok(c)
}

fn url_ok(u: &str) -> bool {
    let lower = u.trim_start().to_ascii_lowercase();
    match lower.split_once(':') {
        // A scheme before any `/`, `?` or `#`: only http and https.
        Some((scheme, _)) if !scheme.contains(['/', '?', '#']) => {
            scheme == "http" || scheme == "https"
        }
        _ => true,
    }
}

fn id_ok(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

impl Campaign {
    /// Checks what serde's types cannot: ranges, ids, URLs, required content.
    pub fn check(&self) -> Result<(), Invalid> {
        if !id_ok(&self.id) {
            return Err(Invalid::at(
                "id",
                "must be 1-64 letters, digits, '-' or '_'",
            ));
        }
        check_trigger(&self.trigger)?;
        if self.frequency.per_session == 0 {
            return Err(Invalid::at("frequency.perSession", "must be at least 1"));
        }
        for (name, r) in [
            ("target.cartValue", self.target.cart_value),
            ("target.cartItems", self.target.cart_items),
            ("target.pages", self.target.pages),
            ("target.timeOnSite", self.target.time_on_site),
        ] {
            if let Some(Range {
                min: Some(lo),
                max: Some(hi),
            }) = r
            {
                if lo > hi {
                    return Err(Invalid::at(name, "min must not be above max"));
                }
            }
        }
        if self.variants.is_empty() {
            match &self.content {
                Some(c) => check_content(c, "content")?,
                None => return Err(Invalid::at("content", "is required")),
            }
        } else {
            if let Some(c) = &self.content {
                check_content(c, "content")?;
            }
            for (i, v) in self.variants.iter().enumerate() {
                let at = format!("variants[{i}]");
                if !id_ok(&v.id) || v.id == "control" {
                    return Err(Invalid::at(
                        &format!("{at}.id"),
                        "must be 1-64 letters, digits, '-' or '_', and not 'control'",
                    ));
                }
                if self.variants[..i].iter().any(|w| w.id == v.id) {
                    return Err(Invalid::at(&format!("{at}.id"), "is used twice"));
                }
                match (&v.content, &self.content) {
                    (Some(c), _) => check_content(c, &format!("{at}.content"))?,
                    (None, Some(_)) => {}
                    (None, None) => {
                        return Err(Invalid::at(&format!("{at}.content"), "is required"))
                    }
                }
            }
            if self.variants.iter().all(|v| v.weight == 0) {
                return Err(Invalid::at("variants", "need a weight above 0"));
            }
        }
        Ok(())
    }

    /// The detector's trigger, with the defaults filled in.
    pub fn detector_trigger(&self) -> detect::Trigger {
        let t = &self.trigger;
        let d = detect::Exit::default();
        let secs = Ms::from(t.seconds.unwrap_or(0)) * 1000;
        match t.kind {
            Kind::Exit => detect::Trigger::Exit(detect::Exit {
                min_time: t.min_time.unwrap_or(d.min_time),
                sensitivity: t.sensitivity.unwrap_or(d.sensitivity),
                grace: t.grace.unwrap_or(d.grace),
                sides: t.sides.unwrap_or(d.sides),
                bottom: t.bottom.unwrap_or(d.bottom),
                scroll_up: t.scroll_up.unwrap_or(d.scroll_up),
                scroll_within: t.scroll_within.unwrap_or(d.scroll_within),
                hidden_for: t.hidden_for.unwrap_or(d.hidden_for),
                back: t.back.unwrap_or(d.back),
            }),
            Kind::Time => detect::Trigger::Time(secs),
            Kind::Scroll => detect::Trigger::Depth(t.percent.unwrap_or(0)),
            Kind::CartIdle => detect::Trigger::CartIdle(secs),
            Kind::Inactivity => detect::Trigger::Idle(secs),
        }
    }

    /// The content of arm `variant` (`None`: the campaign's own).
    pub fn content(&self, variant: Option<usize>) -> Option<&Content> {
        variant
            .and_then(|i| self.variants.get(i)?.content.as_ref())
            .or(self.content.as_ref())
    }
}

fn check_trigger(t: &TriggerDef) -> Result<(), Invalid> {
    let fields = [
        ("sensitivity", t.sensitivity.is_some()),
        ("minTime", t.min_time.is_some()),
        ("grace", t.grace.is_some()),
        ("sides", t.sides.is_some()),
        ("bottom", t.bottom.is_some()),
        ("scrollUp", t.scroll_up.is_some()),
        ("scrollWithin", t.scroll_within.is_some()),
        ("hiddenFor", t.hidden_for.is_some()),
        ("back", t.back.is_some()),
        ("seconds", t.seconds.is_some()),
        ("percent", t.percent.is_some()),
    ];
    let own: &[&str] = match t.kind {
        Kind::Exit => &[],
        Kind::Time | Kind::CartIdle | Kind::Inactivity => &["seconds"],
        Kind::Scroll => &["percent"],
    };
    for (name, given) in fields {
        let exit_field = !matches!(name, "seconds" | "percent");
        let belongs = own.contains(&name) || (t.kind == Kind::Exit && exit_field);
        if given && !belongs {
            return Err(Invalid::at(
                &format!("trigger.{name}"),
                "does not apply to this trigger type",
            ));
        }
        if !given && own.contains(&name) {
            return Err(Invalid::at(&format!("trigger.{name}"), "is required"));
        }
    }
    let range = |name: &str, v: Option<i64>, lo: i64, hi: i64, msg: &str| match v {
        Some(v) if v < lo || v > hi => Err(Invalid::at(&format!("trigger.{name}"), msg)),
        _ => Ok(()),
    };
    let ms = |v: Option<Ms>| v.map(|v| i64::try_from(v).unwrap_or(i64::MAX));
    range(
        "sensitivity",
        t.sensitivity.map(i64::from),
        10,
        100,
        "must be 10-100",
    )?;
    range(
        "minTime",
        ms(t.min_time),
        0,
        600_000,
        "must be 0-600000 (ms)",
    )?;
    range("grace", ms(t.grace), 0, 5_000, "must be 0-5000 (ms)")?;
    range(
        "scrollUp",
        t.scroll_up.map(i64::from),
        50,
        5_000,
        "must be 50-5000 (px)",
    )?;
    range(
        "scrollWithin",
        ms(t.scroll_within),
        10,
        2_000,
        "must be 10-2000 (ms)",
    )?;
    range(
        "hiddenFor",
        ms(t.hidden_for),
        1_000,
        3_600_000,
        "must be 1000-3600000 (ms)",
    )?;
    range(
        "seconds",
        t.seconds.map(i64::from),
        0,
        86_400,
        "must be 0-86400",
    )?;
    range("percent", t.percent.map(i64::from), 1, 100, "must be 1-100")
}

fn check_content(c: &Content, at: &str) -> Result<(), Invalid> {
    let err = |field: &str, msg: &str| Err(Invalid::at(&format!("{at}.{field}"), msg));
    if c.headline.trim().is_empty() {
        return err("headline", "is required (it names the dialog)");
    }
    if let Some(i) = &c.image {
        if !url_ok(&i.src) || i.src.trim().is_empty() {
            return err("image.src", "must be an http(s) or relative URL");
        }
    }
    if let Some(Cta { url: Some(u), .. }) = &c.cta {
        if !url_ok(u) {
            return err("cta.url", "must be an http(s) or relative URL");
        }
    }
    if let Some(Cta { label, .. }) = &c.cta {
        if label.trim().is_empty() {
            return err("cta.label", "must not be empty");
        }
    }
    if let Some(f) = &c.form {
        if f.email == Need::Off && f.phone == Need::Off {
            return err("form", "needs an email or a phone field");
        }
        if f.sms && f.phone == Need::Off {
            return err("form.sms", "needs the phone field");
        }
    }
    if let Some(n) = &c.nps {
        // The answer is the popup's conversion; a form, a coupon or a link would be a second.
        for (name, given) in [
            ("form", c.form.is_some()),
            ("coupon", c.coupon.is_some()),
            ("cta", c.cta.is_some()),
        ] {
            if given {
                return err(name, "cannot be combined with nps");
            }
        }
        if n.comment_label.is_some() && !n.comment {
            return err("nps.commentLabel", "needs comment: true");
        }
        for (name, text) in [
            ("low", &n.low),
            ("high", &n.high),
            ("commentLabel", &n.comment_label),
            ("submit", &n.submit),
            ("success", &n.success),
        ] {
            if text.as_deref().is_some_and(|t| t.trim().is_empty()) {
                return err(&format!("nps.{name}"), "must not be empty");
            }
        }
    }
    if let Some(Theme {
        radius: Some(r), ..
    }) = &c.theme
    {
        if *r > 48 {
            return err("theme.radius", "must be 0-48");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> Result<Campaign, Invalid> {
        read(
            serde_json::from_str::<serde_json::Value>(json)
                .map_err(|e| Invalid::at("", &e.to_string()))?,
        )
    }

    const OK: &str = r#"{"id":"exit-offer","trigger":{"type":"exit"},
        "content":{"headline":"Wait! 10% off","coupon":"SAVE10"}}"#;

    #[test]
    fn a_minimal_campaign_gets_the_defaults() {
        let c = parse(OK).unwrap();
        assert_eq!(c.frequency.per_session, 1);
        assert_eq!(c.frequency.dismiss_days, 5);
        assert!(!c.target.checkout);
        assert_eq!(
            c.detector_trigger(),
            detect::Trigger::Exit(detect::Exit::default())
        );
    }

    /// The message, without serde_json's position (the browser's reader has none).
    fn error(json: &str, index: usize) -> String {
        let e = parse(json).unwrap_err().describe(index);
        e.split(" at line ").next().unwrap().to_string()
    }

    #[test]
    fn errors_name_the_path() {
        let bad = OK.replace(r#"{"type":"exit"}"#, r#"{"type":"exit","sensitivity":5}"#);
        assert_eq!(
            error(&bad, 1),
            "campaigns[1].trigger.sensitivity must be 10-100"
        );
        let typo = OK.replace(r#""coupon""#, r#""copun""#);
        let e = error(&typo, 0);
        assert!(
            e.starts_with("campaigns[0].content.copun unknown field `copun`"),
            "{e}"
        );
        let ty = OK.replace(r#"{"type":"exit"}"#, r#"{"type":"exit","grace":"soon"}"#);
        let e = error(&ty, 2);
        assert!(
            e.starts_with("campaigns[2].trigger.grace invalid type: string"),
            "{e}"
        );
        let kind = OK.replace(r#"{"type":"exit"}"#, r#"{"type":"hover"}"#);
        let e = error(&kind, 0);
        assert!(
            e.starts_with("campaigns[0].trigger.type unknown variant `hover`"),
            "{e}"
        );
        let stray = OK.replace(r#"{"type":"exit"}"#, r#"{"type":"exit","seconds":4}"#);
        assert_eq!(
            error(&stray, 0),
            "campaigns[0].trigger.seconds does not apply to this trigger type"
        );
        let missing = OK.replace(r#"{"type":"exit"}"#, r#"{"type":"scroll"}"#);
        assert_eq!(
            error(&missing, 0),
            "campaigns[0].trigger.percent is required"
        );
        let idle = OK.replace(r#"{"type":"exit"}"#, r#"{"type":"inactivity"}"#);
        assert_eq!(error(&idle, 0), "campaigns[0].trigger.seconds is required");
        let no_id = r#"{"trigger":{"type":"time","seconds":3},"content":{"headline":"x"}}"#;
        assert_eq!(error(no_id, 0), "campaigns[0] missing field `id`");
    }

    #[test]
    fn content_urls_and_ranges_are_checked() {
        let js = OK.replace(
            r#""coupon":"SAVE10""#,
            r#""cta":{"label":"Go","url":" JavaScript:alert(1)"}"#,
        );
        assert_eq!(
            error(&js, 0),
            "campaigns[0].content.cta.url must be an http(s) or relative URL"
        );
        for ok in [
            "/cart",
            "https://shop.example/cart",
            "?coupon=1",
            "cart#top",
        ] {
            assert!(url_ok(ok), "{ok}");
        }
        for bad in ["data:text/html,x", "javascript:x", "vbscript:x"] {
            assert!(!url_ok(bad), "{bad}");
        }
        let range = OK.replace(
            r#""trigger""#,
            r#""target":{"cartValue":{"min":50,"max":10}},"trigger""#,
        );
        assert_eq!(
            error(&range, 0),
            "campaigns[0].target.cartValue min must not be above max"
        );
        let no_content = r#"{"id":"a","trigger":{"type":"time","seconds":3}}"#;
        assert_eq!(error(no_content, 0), "campaigns[0].content is required");
        let form = OK.replace(r#""coupon":"SAVE10""#, r#""form":{"email":"off"}"#);
        assert_eq!(
            error(&form, 0),
            "campaigns[0].content.form needs an email or a phone field"
        );
    }

    const NPS: &str = r#"{"id":"nps","trigger":{"type":"exit"},
        "content":{"headline":"How likely are you to recommend us?",
        "nps":{"comment":true,"commentLabel":"What is the main reason?","low":"Not likely",
        "high":"Very likely","submit":"Send","success":"Thank you!"}}}"#;

    #[test]
    fn an_nps_question_reads_with_its_texts_and_defaults() {
        let c = parse(NPS).unwrap();
        let n = c.content(None).unwrap().nps.clone().unwrap();
        assert!(n.comment);
        assert_eq!(n.comment_label.as_deref(), Some("What is the main reason?"));
        assert_eq!(n.low.as_deref(), Some("Not likely"));
        assert_eq!(n.high.as_deref(), Some("Very likely"));
        assert_eq!(n.submit.as_deref(), Some("Send"));
        assert_eq!(n.success.as_deref(), Some("Thank you!"));
        let bare = parse(
            r#"{"id":"n","trigger":{"type":"time","seconds":3},
            "content":{"headline":"Recommend us?","nps":{}}}"#,
        )
        .unwrap();
        let n = bare.content(None).unwrap().nps.clone().unwrap();
        assert!(!n.comment && n.low.is_none() && n.success.is_none());
        // Beside a body, an image and the products it may ask about.
        let with = NPS.replace(
            r#""nps":"#,
            r#""body":"Two questions.","image":{"src":"/a.png"},"items":"viewed","nps":"#,
        );
        assert!(parse(&with).is_ok());
    }

    #[test]
    fn an_nps_question_is_checked() {
        let typo = NPS.replace(r#""low""#, r#""lo""#);
        let e = error(&typo, 0);
        assert!(
            e.starts_with("campaigns[0].content.nps.lo unknown field `lo`"),
            "{e}"
        );
        let ty = NPS.replace(r#""comment":true"#, r#""comment":"yes""#);
        let e = error(&ty, 3);
        assert!(
            e.starts_with("campaigns[3].content.nps.comment invalid type: string"),
            "{e}"
        );
        for (extra, field) in [
            (r#""form":{"email":"required"},"#, "form"),
            (r#""coupon":"SAVE10","#, "coupon"),
            (r#""cta":{"label":"Go","url":"/"},"#, "cta"),
        ] {
            let both = NPS.replace(r#""nps":"#, &format!("{extra}\"nps\":"));
            assert_eq!(
                error(&both, 0),
                format!("campaigns[0].content.{field} cannot be combined with nps")
            );
        }
        let label = NPS.replace(r#""comment":true"#, r#""comment":false"#);
        assert_eq!(
            error(&label, 0),
            "campaigns[0].content.nps.commentLabel needs comment: true"
        );
        for field in ["low", "high", "commentLabel", "submit", "success"] {
            let empty = blank(NPS, field);
            assert_eq!(
                error(&empty, 0),
                format!("campaigns[0].content.nps.{field} must not be empty")
            );
        }
        // In a variant, the path names the variant.
        let v = r#"{"id":"ab","trigger":{"type":"time","seconds":3},
            "variants":[{"id":"a","content":{"headline":"A","nps":{}}},
            {"id":"b","content":{"headline":"B","coupon":"X","nps":{}}}]}"#;
        assert_eq!(
            error(v, 0),
            "campaigns[0].variants[1].content.coupon cannot be combined with nps"
        );
    }

    /// `json` with the string value of `field` replaced by blanks.
    fn blank(json: &str, field: &str) -> String {
        let key = format!(r#""{field}":""#);
        let start = json.find(&key).unwrap() + key.len();
        let end = start + json[start..].find('"').unwrap();
        format!("{}  {}", &json[..start], &json[end..])
    }

    #[test]
    fn variants_need_ids_and_content() {
        let v = r#"{"id":"news","trigger":{"type":"time","seconds":3},"control":1,
            "variants":[{"id":"a","content":{"headline":"A"}},{"id":"a","content":{"headline":"B"}}]}"#;
        assert_eq!(error(v, 0), "campaigns[0].variants[1].id is used twice");
        let v = v.replace(r#""id":"a","content":{"headline":"B"}"#, r#""id":"b""#);
        assert_eq!(error(&v, 0), "campaigns[0].variants[1].content is required");
        let ok = v.replace(
            r#"{"id":"b"}"#,
            r#"{"id":"b","weight":3,"content":{"headline":"B"}}"#,
        );
        let c = parse(&ok).unwrap();
        assert_eq!(c.content(Some(1)).unwrap().headline, "B");
        assert_eq!(c.variants[0].weight, 1);
    }
}
