//! The `init` options: parsing and validation with errors that say what to fix.

use super::rules::{endpoint_rule, HTTP_URL, WRITE_KEY};
pub use super::rules::{ConfigError, Resolve};
use crate::prelude::*;

/// A JavaScript value as the config parser sees it.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// The option was not given (or was `undefined`).
    Missing,
    /// A string.
    Str(String),
    /// A number, as JSON writes it.
    Num(String),
    /// A boolean.
    Bool(bool),
    /// A function (allowed only for callbacks).
    Function,
    /// An array, as JSON text (`campaigns`' items are not read here: they belong to the engage
    /// module).
    List(String),
    /// An object, as JSON text.
    Object(String),
    /// Anything else (null, object, array, ...).
    Other,
}

impl Value {
    /// A string passed through `f`; any other value as it is.
    fn map_str(self, f: Resolve) -> Value {
        match self {
            Value::Str(s) => Value::Str(f(&s)),
            v => v,
        }
    }
}

/// The options `init` accepts.
pub const OPTIONS: [&str; 24] = [
    "endpoint",
    "destinations",
    "writeKey",
    "batchSize",
    "flushInterval",
    "maxRetries",
    "debug",
    "onError",
    "beforeSend",
    "pageViews",
    "history",
    "capture",
    "jsonLd",
    "compress",
    "campaigns",
    "identity",
    "cookieDomain",
    "cookieRefreshUrl",
    "linkParam",
    "linkDomains",
    "allowInsecureEndpoint",
    "consent",
    "bots",
    "hashPii",
];

/// Validated configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Where batches are POSTed (absolute http(s) URL).
    pub endpoint: String,
    /// Sent as `writeKey` in each batch.
    pub write_key: Option<String>,
    /// Queued events that start a request (1 to 500, default 20).
    pub batch_size: u32,
    /// Longest wait before queued events leave, ms (0 to 60000, default 1000).
    pub flush_interval: u32,
    /// Failed attempts before a batch is reported as failing (0 to 100, default 10).
    pub max_retries: u32,
    /// Log every event and error to the console.
    pub debug: bool,
    /// Track a page view when `init` runs (default true).
    pub page_views: bool,
    /// Track single-page-app navigations (pushState, replaceState, popstate, hashchange) as
    /// page views (default true).
    pub history: bool,
    /// Track `data-shoptrail` markup clicks and views (default true).
    pub capture: bool,
    /// Track Product Viewed from schema.org Product JSON-LD (default true).
    pub json_ld: bool,
    /// Send batches gzip-compressed, saying so with `compression=gzip` in the URL (default
    /// false: only for endpoints that accept it, such as the shoptrail collector).
    pub compress: bool,
    /// Ids a server-rendered page hands over (`identity: { anonymousId, userId }`).
    pub identity: Identity,
    /// Where the anonymous id's cookie lives.
    pub cookie_domain: CookieDomain,
    /// An endpoint on the site's own domain that re-sets the id cookie from the server, called
    /// at most once a day (absolute http(s) URL).
    pub cookie_refresh_url: Option<String>,
    /// The query parameter of channel link tokens (`st_lt`).
    pub link_param: String,
    /// Hostnames whose links carry the anonymous id (`st_x`).
    pub link_domains: Vec<String>,
    /// What the shopper must consent to, and whether before anything is stored or sent.
    pub consent: super::consent::Settings,
    /// What a page load driven by automation or a crawler does.
    pub bots: super::consent::Bots,
    /// Send and store the `email` and `phone` traits as SHA-256 of their normal form.
    pub hash_pii: bool,
    /// The page gave a `beforeSend` middleware: each event goes through it before it is
    /// queued.
    pub before_send: bool,
    /// Endpoints besides `endpoint`, each with its own queue.
    pub destinations: Vec<super::destination::Destination>,
    /// `campaigns` holds at least one campaign (the engage module reads them, not the tracker).
    pub campaigns: bool,
}

/// The options a build can leave out, each with the cargo feature that brings it: a page that
/// names none of them needs none of their code (`cargo xtask size --options` measures each).
/// api.json marks the same options `optional`; the script tag's loader fetches the build
/// without them (`shoptrail-lite.wasm`) when the first `init` names none.
pub const OPTIONAL: [(&str, bool); 5] = [
    ("destinations", cfg!(feature = "destinations")),
    ("beforeSend", cfg!(feature = "before-send")),
    ("linkDomains", cfg!(feature = "links")),
    ("hashPii", cfg!(feature = "hash-pii")),
    ("cookieRefreshUrl", cfg!(feature = "cookie-refresh")),
];

/// Whether this build has every option of [`OPTIONAL`].
const ALL_BUILT: bool = {
    let mut i = 0;
    while i < OPTIONAL.len() && OPTIONAL[i].1 {
        i += 1;
    }
    i == OPTIONAL.len()
};

/// What a build without an option says when a config names it. (The script tag loads the
/// build without them only when the first `init`'s config names none of them.)
pub const NOT_BUILT: &str =
    "is not in this build of shoptrail: the script tag loads the build with every option when the first init names one, or set data-wasm to shoptrail.wasm";

impl Config {
    /// `destinations`, in a build that has them.
    pub fn destinations(&self) -> &[super::destination::Destination] {
        if cfg!(feature = "destinations") {
            &self.destinations
        } else {
            &[]
        }
    }

    /// `linkDomains`, in a build that has them.
    pub fn link_domains(&self) -> &[String] {
        if cfg!(feature = "links") {
            &self.link_domains
        } else {
            &[]
        }
    }

    /// Whether traits are hashed (`hashPii`), in a build that can.
    pub fn hashes_pii(&self) -> bool {
        cfg!(feature = "hash-pii") && self.hash_pii
    }

    /// Whether events wait for `beforeSend`, in a build that has it.
    pub fn has_before_send(&self) -> bool {
        cfg!(feature = "before-send") && self.before_send
    }

    /// `cookieRefreshUrl`, taken out, in a build that has it.
    pub fn take_cookie_refresh_url(&mut self) -> Option<String> {
        self.cookie_refresh_url
            .take()
            .filter(|_| cfg!(feature = "cookie-refresh"))
    }
}

/// Ids from a server-rendered page.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Identity {
    /// The anonymous id to use (a UUID).
    pub anonymous_id: Option<String>,
    /// The user the page was rendered for.
    pub user_id: Option<String>,
}

/// Where the anonymous id's cookie is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CookieDomain {
    /// The registrable domain, found by probing (the default).
    Probe,
    /// Host-only (`cookieDomain: false`).
    HostOnly,
    /// This domain.
    Domain(String),
}

/// The message of an unknown option: [`ConfigError::describe`] lists [`OPTIONS`] after it.
const UNKNOWN: &str = "is not an option; the options are ";

impl ConfigError {
    /// What `init` reports: ``init: option `name` `` and the message (an unknown option's
    /// followed by the options, written once in [`OPTIONS`]).
    pub fn describe(&self) -> String {
        let mut m = ["init: option `", &self.option, "` ", self.message].concat();
        if self.message == UNKNOWN {
            m.push_str(&OPTIONS.join(", "));
        }
        m
    }
}

fn err(option: &'static str, message: &'static str) -> ConfigError {
    ConfigError {
        option: option.to_string(),
        message,
    }
}

/// An integer option within `min..=max`, or `default` when missing.
fn int(
    v: &Value,
    option: &'static str,
    min: u32,
    max: u32,
    default: u32,
    msg: &'static str,
) -> Result<u32, ConfigError> {
    match v {
        Value::Missing => Ok(default),
        Value::Num(n) => match integer(n) {
            Some(n) if n >= min && n <= max => Ok(n),
            _ => Err(err(option, msg)),
        },
        _ => Err(err(option, msg)),
    }
}

/// A JSON number's text as a whole number: digits only, or with a zero fraction (`20.0`),
/// without floating point.
fn integer(text: &str) -> Option<u32> {
    let (whole, frac) = text.split_once('.').unwrap_or((text, ""));
    if whole.is_empty() || whole.len() > 9 || !frac.bytes().all(|b| b == b'0') {
        return None;
    }
    whole.bytes().try_fold(0u32, |n, b| {
        b.is_ascii_digit().then(|| n * 10 + (b - b'0') as u32)
    })
}

fn flag(v: &Value, option: &'static str, default: bool) -> Result<bool, ConfigError> {
    match *v {
        Value::Missing => Ok(default),
        Value::Bool(b) => Ok(b),
        _ => Err(err(option, "must be true or false")),
    }
}

/// How the host marks a function value in the config's JSON.
pub const FUNCTION: &str = super::args::FUNCTION;

/// Validates the options given as JSON object text (the caller checks it is an object) (as the host writes `init`'s argument:
/// functions as [`FUNCTION`], `undefined` members left out).
pub fn parse_json(text: &str) -> Result<Config, ConfigError> {
    parse_json_at(text, &|url| url.into())
}

/// [`parse_json`] with `resolve` making each URL option absolute (`endpoint`,
/// `cookieRefreshUrl`, each destination's `endpoint`) before it is checked.
pub fn parse_json_at(text: &str, resolve: Resolve) -> Result<Config, ConfigError> {
    use super::json::scan;
    let members = scan::object_members(text).unwrap_or_default();
    let keys: Vec<String> = members
        .iter()
        .filter_map(|m| scan::unescape(m.key))
        .collect();
    let get = |name: &str| {
        let Some(raw) = scan::member(text, name) else {
            return Value::Missing;
        };
        match raw.as_bytes().first() {
            Some(b'"') => match scan::string_value(raw) {
                Some(s) if s == FUNCTION => Value::Function,
                Some(s) => Value::Str(s),
                None => Value::Other,
            },
            Some(b't') => Value::Bool(true),
            Some(b'f') => Value::Bool(false),
            Some(b'-' | b'0'..=b'9') => Value::Num(raw.to_string()),
            Some(b'[') => Value::List(raw.to_string()),
            Some(b'{') => Value::Object(raw.to_string()),
            _ => Value::Other,
        }
    };
    parse(&keys, get, resolve)
}

/// Validates the options. `get(name)` returns the value of option `name`; `keys` are the
/// names the caller actually passed (unknown names are an error: they are usually typos).
/// `resolve` makes URL options absolute.
pub fn parse(
    keys: &[String],
    get: impl Fn(&str) -> Value,
    resolve: Resolve,
) -> Result<Config, ConfigError> {
    if let Some(k) = keys.iter().find(|k| !OPTIONS.contains(&k.as_str())) {
        return Err(ConfigError {
            option: k.clone(),
            message: UNKNOWN,
        });
    }
    // A constant: the build with every option has no trace of the check.
    if !ALL_BUILT {
        if let Some((k, _)) = OPTIONAL
            .iter()
            .find(|(k, built)| !built && keys.iter().any(|x| x == k))
        {
            return Err(err(k, NOT_BUILT));
        }
    }
    let insecure = flag(
        &get("allowInsecureEndpoint"),
        "allowInsecureEndpoint",
        false,
    )?;
    let endpoint = match get("endpoint") {
        Value::Str(s) => {
            let url = resolve(&s);
            match endpoint_rule(&url, insecure) {
                None => url,
                Some(message) => return Err(err("endpoint", message)),
            }
        }
        Value::Missing => return Err(err("endpoint", "is required: the URL that receives event batches, such as https://collect.example.com/v1/batch")),
        _ => return Err(err("endpoint", HTTP_URL)),
    };
    let destinations = match get("destinations") {
        _ if !cfg!(feature = "destinations") => Vec::new(),
        Value::Missing => Vec::new(),
        Value::List(raw) => super::destination::parse(&raw, insecure, resolve)?,
        _ => return Err(err("destinations", super::destination::SHAPE)),
    };
    let write_key = match get("writeKey") {
        Value::Missing => None,
        Value::Str(s) if !s.is_empty() && s.len() <= 256 => Some(s),
        _ => return Err(err("writeKey", WRITE_KEY)),
    };
    let campaigns = match get("campaigns") {
        Value::Missing => false,
        Value::List(l) => l != "[]",
        _ => {
            return Err(err(
                "campaigns",
                "must be an array of campaign objects (see Campaigns in the README)",
            ))
        }
    };
    let on_error = get("onError");
    if !matches!(on_error, Value::Missing | Value::Function) {
        return Err(err("onError", "must be a function"));
    }
    let before_send = match get("beforeSend") {
        _ if !cfg!(feature = "before-send") => false,
        Value::Missing => false,
        Value::Function => true,
        _ => {
            return Err(err(
                "beforeSend",
                "must be a function that takes an event and returns it (changed or not), or null to drop it",
            ))
        }
    };
    Ok(Config {
        endpoint,
        write_key,
        batch_size: int(
            &get("batchSize"),
            "batchSize",
            1,
            500,
            20,
            "must be an integer from 1 to 500",
        )?,
        flush_interval: int(
            &get("flushInterval"),
            "flushInterval",
            0,
            60_000,
            1000,
            "must be an integer number of milliseconds from 0 to 60000",
        )?,
        max_retries: int(
            &get("maxRetries"),
            "maxRetries",
            0,
            100,
            10,
            "must be an integer from 0 to 100",
        )?,
        debug: flag(&get("debug"), "debug", false)?,
        page_views: flag(&get("pageViews"), "pageViews", true)?,
        history: flag(&get("history"), "history", true)?,
        capture: flag(&get("capture"), "capture", true)?,
        json_ld: flag(&get("jsonLd"), "jsonLd", true)?,
        compress: flag(&get("compress"), "compress", false)?,
        identity: identity(get("identity"))?,
        cookie_domain: match get("cookieDomain") {
            Value::Missing | Value::Bool(true) => CookieDomain::Probe,
            Value::Bool(false) => CookieDomain::HostOnly,
            Value::Str(d) if is_hostname(d.strip_prefix('.').unwrap_or(&d)) => {
                CookieDomain::Domain(d.strip_prefix('.').unwrap_or(&d).to_ascii_lowercase())
            }
            _ => {
                return Err(err(
                    "cookieDomain",
                    "must be a domain such as \"shop.example\", or false for a host-only cookie",
                ))
            }
        },
        cookie_refresh_url: match get("cookieRefreshUrl").map_str(resolve) {
            _ if !cfg!(feature = "cookie-refresh") => None,
            Value::Missing => None,
            Value::Str(s) if s.starts_with("https://") || s.starts_with("http://") => Some(s),
            _ => {
                return Err(err(
                    "cookieRefreshUrl",
                    "must be a URL on the site's own domain, such as /shoptrail/id-cookie",
                ))
            }
        },
        link_param: match get("linkParam") {
            Value::Missing => "st_lt".into(),
            Value::Str(s)
                if (1..=32).contains(&s.len())
                    && s.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-') =>
            {
                s
            }
            _ => {
                return Err(err(
                    "linkParam",
                    "must be a query parameter name of 1 to 32 letters, digits, '_' or '-'",
                ))
            }
        },
        link_domains: if cfg!(feature = "links") {
            link_domains(get("linkDomains"))?
        } else {
            Vec::new()
        },
        consent: consent(get("consent"))?,
        bots: match get("bots") {
            Value::Missing => super::consent::Bots::Drop,
            Value::Str(s) if s == "drop" => super::consent::Bots::Drop,
            Value::Str(s) if s == "mark" => super::consent::Bots::Mark,
            Value::Str(s) if s == "allow" => super::consent::Bots::Allow,
            _ => return Err(err("bots", "must be \"drop\", \"mark\" or \"allow\"")),
        },
        hash_pii: cfg!(feature = "hash-pii") && flag(&get("hashPii"), "hashPii", false)?,
        before_send,
        destinations,
        campaigns,
    })
}

/// A hostname: labels of letters, digits and `-`, separated by dots.
fn is_hostname(h: &str) -> bool {
    !h.is_empty()
        && h.len() <= 253
        && h.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

fn identity(v: Value) -> Result<Identity, ConfigError> {
    use super::json::scan;
    const MSG: &str = "must be { anonymousId?: a UUID, userId?: a string of 1 to 128 characters }";
    let text = match v {
        Value::Missing => return Ok(Identity::default()),
        Value::Object(t) => t,
        _ => return Err(err("identity", MSG)),
    };
    let members = scan::object_members(&text).unwrap_or_default();
    let mut out = Identity::default();
    for m in members {
        let key = scan::unescape(m.key).unwrap_or_default();
        let value = scan::string_value(m.value);
        match (key.as_str(), value) {
            ("anonymousId", Some(a)) if super::id::is_valid_id(&a) => out.anonymous_id = Some(a),
            ("userId", Some(u)) if super::identity::is_valid_user_id(&u) => out.user_id = Some(u),
            _ => return Err(err("identity", MSG)),
        }
    }
    Ok(out)
}

fn link_domains(v: Value) -> Result<Vec<String>, ConfigError> {
    use super::json::scan;
    const MSG: &str = "must be a list of hostnames such as [\"other-shop.example\"]";
    let text = match v {
        Value::Missing => return Ok(Vec::new()),
        Value::List(t) => t,
        _ => return Err(err("linkDomains", MSG)),
    };
    let mut out = Vec::new();
    for item in scan::array_items(&text).unwrap_or_default() {
        match scan::string_value(item) {
            Some(h) if is_hostname(&h) => out.push(h.to_ascii_lowercase()),
            _ => return Err(err("linkDomains", MSG)),
        }
    }
    Ok(out)
}

fn consent(v: Value) -> Result<super::consent::Settings, ConfigError> {
    use super::consent::{Settings, ANALYTICS};
    use super::json::scan;
    const MSG: &str = "must be { required?: boolean, categories?: string[] (with \"analytics\"; names of 1 to 32 letters, digits, '_' or '-'), gpc?: boolean, from?: \"tcf\" | \"gcm\" | \"onetrust\" | \"cookiebot\" | \"shopify\" | \"wp\", map?: object, gcm?: boolean, onRefuse?: \"drop\" | \"cookieless\" }";
    let mut out = Settings::default();
    // A consent manager named in `from` decides: nothing before it has, unless `required` says.
    let mut required = None;
    let mut from = false;
    let text = match v {
        Value::Missing => return Ok(out),
        Value::Object(t) => t,
        _ => return Err(err("consent", MSG)),
    };
    for m in scan::object_members(&text).unwrap_or_default() {
        let key = scan::unescape(m.key).unwrap_or_default();
        match (key.as_str(), m.value) {
            ("required", "true") => required = Some(true),
            ("required", "false") => required = Some(false),
            // The adapters are JavaScript, loaded beside the SDK; `map`'s members are theirs to
            // check (reported as `consent_source_unavailable`).
            (
                "from",
                r#""tcf""# | r#""gcm""# | r#""onetrust""# | r#""cookiebot""# | r#""shopify""#,
            )
            | ("from", r#""wp""#) => from = true,
            ("gcm", "true" | "false") | ("onRefuse", r#""drop""#) => {}
            ("onRefuse", r#""cookieless""#) => out.cookieless = true,
            ("map", m) if m.starts_with('{') => {}
            ("gpc", "true") => out.gpc = true,
            ("gpc", "false") => out.gpc = false,
            ("categories", list) => {
                out.categories.clear();
                for item in scan::array_items(list).ok_or_else(|| err("consent", MSG))? {
                    match scan::string_value(item) {
                        Some(c)
                            if (1..=32).contains(&c.len())
                                && c.bytes().all(|b| {
                                    b.is_ascii_alphanumeric() || b == b'_' || b == b'-'
                                })
                                && !out.categories.contains(&c) =>
                        {
                            out.categories.push(c)
                        }
                        _ => return Err(err("consent", MSG)),
                    }
                }
                if !out.categories.iter().any(|c| c == ANALYTICS) {
                    return Err(err("consent", MSG));
                }
            }
            _ => return Err(err("consent", MSG)),
        }
    }
    out.required = required.unwrap_or(from);
    out.managed = from;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// URL options reach the checks made absolute by the host (the browser's URL parser; here
    /// one that knows paths from the site's root), and the config keeps them so.
    #[test]
    #[cfg(all(feature = "cookie-refresh", feature = "destinations"))]
    fn url_options_are_resolved_against_the_page_before_they_are_checked() {
        let resolve = |url: &str| -> String {
            match url.strip_prefix('/') {
                Some(path) if !path.starts_with('/') => {
                    ["https://www.shop.example/", path].concat()
                }
                _ => url.into(),
            }
        };
        let text = r#"{"endpoint":"/v1/batch","cookieRefreshUrl":"/id-cookie","destinations":[{"endpoint":"/mirror"},{"endpoint":"https://b.example/x"}]}"#;
        let c = parse_json_at(text, &resolve).unwrap();
        assert_eq!(c.endpoint, "https://www.shop.example/v1/batch");
        assert_eq!(
            c.cookie_refresh_url.as_deref(),
            Some("https://www.shop.example/id-cookie")
        );
        let ends: Vec<&str> = c.destinations.iter().map(|d| d.endpoint.as_str()).collect();
        assert_eq!(
            ends,
            ["https://www.shop.example/mirror", "https://b.example/x"]
        );
        // What the host could not make absolute is refused by the rule as given.
        let e = parse_json_at(r#"{"endpoint":"//odd"}"#, &resolve).unwrap_err();
        assert_eq!(e.option, "endpoint");
        // Without a resolver (host tests), a path is no endpoint.
        assert!(parse_json(r#"{"endpoint":"/v1/batch"}"#).is_err());
    }

    fn run(pairs: &[(&str, Value)]) -> Result<Config, ConfigError> {
        let keys: Vec<String> = pairs.iter().map(|(k, _)| k.to_string()).collect();
        parse(
            &keys,
            |name| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| v.clone())
                    .unwrap_or(Value::Missing)
            },
            &|url| url.into(),
        )
    }

    /// Each option a build can leave out is taken when built in and refused, naming it, when
    /// not. (`cargo xtask test` runs this test on the build without any of them too.)
    #[test]
    fn optional_options_are_taken_or_refused_by_name() {
        let ep = ("endpoint", Value::Str("https://c.example/v1/batch".into()));
        for (name, built) in OPTIONAL {
            assert!(OPTIONS.contains(&name), "{name}");
            let value = match name {
                "destinations" => {
                    Value::List(r#"[{"endpoint":"https://d.example/v1/batch"}]"#.into())
                }
                "beforeSend" => Value::Function,
                "linkDomains" => Value::List(r#"["other.example"]"#.into()),
                "hashPii" => Value::Bool(true),
                _ => Value::Str("https://shop.example/id-cookie".into()),
            };
            let c = run(&[ep.clone(), (name, value)]);
            if built {
                let c = c.unwrap();
                let on = match name {
                    "destinations" => c.destinations().len() == 1,
                    "beforeSend" => c.has_before_send(),
                    "linkDomains" => c.link_domains() == ["other.example"],
                    "hashPii" => c.hashes_pii(),
                    _ => c.clone().take_cookie_refresh_url().is_some(),
                };
                assert!(on, "{name} was not taken");
            } else {
                let e = c.unwrap_err();
                assert_eq!((e.option.as_str(), e.message), (name, NOT_BUILT));
            }
        }
    }

    #[test]
    fn endpoints_are_https_except_on_this_machine() {
        let endpoint = |url: &str, allow: Option<bool>| {
            let mut pairs = vec![("endpoint", Value::Str(url.into()))];
            if let Some(a) = allow {
                pairs.push(("allowInsecureEndpoint", Value::Bool(a)));
            }
            run(&pairs).map(|c| c.endpoint).map_err(|e| e.option)
        };
        for ok in [
            "https://collect.example.com/v1/batch",
            "http://localhost:8080/v1/batch",
            "http://127.0.0.1:9/v1/batch",
            "http://[::1]:8080/v1/batch",
        ] {
            assert_eq!(endpoint(ok, None).as_deref(), Ok(ok));
        }
        for bad in [
            "http://collect.example.com/v1/batch",
            "http://127.0.0.1.evil.example/v1/batch",
            "http://localhost.evil.example/",
        ] {
            assert_eq!(endpoint(bad, None), Err("endpoint".into()), "{bad}");
        }
        assert!(endpoint("http://shop-a.test:8080/v1/batch", Some(true)).is_ok());
    }

    /// The one list of the API surface names the same options this parser accepts, and every
    /// error code the core reports.
    #[test]
    fn api_json_lists_these_options() {
        let api: serde_json::Value =
            serde_json::from_str(include_str!("../../pkg-config/api.json")).unwrap();
        let listed: Vec<&str> = api["options"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["name"].as_str().unwrap())
            .collect();
        let mut a = listed.clone();
        let mut b = OPTIONS.to_vec();
        a.sort_unstable();
        b.sort_unstable();
        assert_eq!(a, b);
        // Those marked optional are the ones a build can leave out (the lite wasm).
        let optional: Vec<&str> = api["options"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|o| o["optional"].is_string())
            .map(|o| o["name"].as_str().unwrap())
            .collect();
        assert_eq!(optional.len(), OPTIONAL.len());
        assert!(OPTIONAL.iter().all(|(k, _)| optional.contains(k)));
        // The error codes are generated from api.json (boundary::ErrorCode): a code the wasm
        // reports is listed there by construction.
    }

    #[test]
    fn defaults() {
        let c = run(&[("endpoint", Value::Str("https://c.example/v1/batch".into()))]).unwrap();
        assert_eq!(
            (
                c.batch_size,
                c.flush_interval,
                c.max_retries,
                c.debug,
                c.page_views
            ),
            (20, 1000, 10, false, true)
        );
        assert_eq!(c.write_key, None);
    }

    #[test]
    fn each_bad_option_is_named() {
        let ep = ("endpoint", Value::Str("https://c.example/".into()));
        assert_eq!(run(&[]).unwrap_err().option, "endpoint");
        assert_eq!(
            run(&[("endpoint", Value::Str("ftp://x".into()))])
                .unwrap_err()
                .option,
            "endpoint"
        );
        for (k, v) in [
            ("batchSize", Value::Num("0".into())),
            ("batchSize", Value::Num("2.5".into())),
            ("batchSize", Value::Str("10".into())),
            ("flushInterval", Value::Num("-1".into())),
            ("maxRetries", Value::Num("101".into())),
            ("debug", Value::Str("yes".into())),
            ("writeKey", Value::Str(String::new())),
            ("onError", Value::Str("log".into())),
            ("beforeSend", Value::Bool(true)),
            ("beforeSend", Value::Other),
            ("pageViews", Value::Num("1".into())),
            ("history", Value::Str("on".into())),
        ] {
            let e = run(&[ep.clone(), (k, v.clone())]).unwrap_err();
            assert_eq!(e.option, k, "{v:?}");
            assert!(!e.message.is_empty());
        }
        let e = run(&[ep.clone(), ("batchsize", Value::Num("5".into()))]).unwrap_err();
        assert_eq!(e.option, "batchsize");
        assert_eq!(
            e.describe(),
            "init: option `batchsize` is not an option; the options are endpoint, destinations, writeKey, batchSize, flushInterval, maxRetries, debug, onError, beforeSend, pageViews, history, capture, jsonLd, compress, campaigns, identity, cookieDomain, cookieRefreshUrl, linkParam, linkDomains, allowInsecureEndpoint, consent, bots, hashPii"
        );
        let e = run(&[ep.clone(), ("batchSize", Value::Num("0".into()))]).unwrap_err();
        assert_eq!(
            e.describe(),
            "init: option `batchSize` must be an integer from 1 to 500"
        );
        let ok = run(&[
            ep,
            ("batchSize", Value::Num("500".into())),
            ("onError", Value::Function),
            ("beforeSend", Value::Function),
            ("writeKey", Value::Str("k".into())),
        ])
        .unwrap();
        assert_eq!((ok.batch_size, ok.write_key.as_deref()), (500, Some("k")));
        assert!(ok.before_send);
    }

    #[test]
    fn bots_are_dropped_by_default_and_the_mode_is_checked() {
        use crate::tracker_core::consent::Bots;
        let ep = ("endpoint", Value::Str("https://c.example/".into()));
        assert_eq!(run(core::slice::from_ref(&ep)).unwrap().bots, Bots::Drop);
        for (text, mode) in [
            ("drop", Bots::Drop),
            ("mark", Bots::Mark),
            ("allow", Bots::Allow),
        ] {
            let c = run(&[ep.clone(), ("bots", Value::Str(text.into()))]).unwrap();
            assert_eq!(c.bots, mode);
        }
        for bad in [Value::Str("count".into()), Value::Bool(true)] {
            let e = run(&[ep.clone(), ("bots", bad)]).unwrap_err();
            assert_eq!(e.option, "bots");
            assert_eq!(e.message, "must be \"drop\", \"mark\" or \"allow\"");
        }
    }

    #[test]
    fn consent_is_opt_out_by_default_and_checked_when_given() {
        let ep = ("endpoint", Value::Str("https://c.example/".into()));
        let c = run(core::slice::from_ref(&ep)).unwrap().consent;
        assert!(!c.required && c.gpc);
        assert_eq!(c.categories, ["analytics", "marketing"]);
        let obj = |t: &str| run(&[ep.clone(), ("consent", Value::Object(t.into()))]);
        let c = obj(r#"{"required":true,"categories":["analytics","ads"],"gpc":false}"#)
            .unwrap()
            .consent;
        assert!(c.required && !c.gpc);
        assert_eq!(c.categories, ["analytics", "ads"]);
        // A consent manager decides, so nothing is stored or sent before it has; unless the
        // site says the consent manager only ever withdraws.
        let c = obj(r#"{"from":"tcf","map":{"analytics":[1,7]},"gcm":true}"#).unwrap();
        assert!(c.consent.required);
        assert!(!obj(r#"{"gcm":true}"#).unwrap().consent.required);
        for from in ["gcm", "onetrust", "cookiebot", "shopify", "wp"] {
            let c = obj(&format!(r#"{{"from":"{from}"}}"#)).unwrap();
            assert!(c.consent.required, "{from}");
        }
        let c = obj(r#"{"from":"onetrust","required":false}"#).unwrap();
        assert!(!c.consent.required);
        assert!(!c.consent.cookieless);
        let c = obj(r#"{"onRefuse":"cookieless"}"#).unwrap().consent;
        assert!(c.cookieless && !c.required);
        assert!(!obj(r#"{"onRefuse":"drop"}"#).unwrap().consent.cookieless);
        for bad in [
            r#"{"onRefuse":"count"}"#,
            r#"{"onRefuse":true}"#,
            r#"{"required":"yes"}"#,
            r#"{"categories":["marketing"]}"#,
            r#"{"categories":["analytics","analytics"]}"#,
            r#"{"categories":["analytics","<b>"]}"#,
            r#"{"categories":"analytics"}"#,
            r#"{"require":true}"#,
            r#"{"from":"didomi"}"#,
            r#"{"from":true}"#,
            r#"{"gcm":"yes"}"#,
            r#"{"map":["C0002"]}"#,
        ] {
            assert_eq!(obj(bad).unwrap_err().option, "consent", "{bad}");
        }
    }
}
