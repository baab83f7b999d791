//! Command-line parsing for the `shoptrail-collector` binary (clap): the options, their checks
//! (a bad value exits 2 naming what to fix), and `--help` with every endpoint and who may call
//! it.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;

use clap::error::ErrorKind;
use clap::{CommandFactory, Parser};

use crate::{Options, StaticMount, DEFAULT_MAX_BODY, DEFAULT_RATE_LIMIT};

/// The endpoints, after the options in `--help`.
const ENDPOINTS: &str = "\
ENDPOINTS (ingest: anyone, with a write key when --write-keys is given; read: a --read-token
or the admin token; admin: the --admin-token, as Authorization: Bearer <token>):
    POST /v1/batch                 {\"batch\":[event, ...], \"sentAt\": ...} (ingest)
    POST /v1/{track,page,identify,alias,group,screen}   one event (ingest)
    POST /v1/id-cookie             anonymousId=&domain= (form): sets the SDK's id cookie
                                   (ingest; the site's own pages only)
    POST /v1/sources/shopify/pixel {aid?, consent?, events: [...]}: the web pixel's standard
                                   events, mapped to the e-commerce spec (ingest)
    POST /v1/sources/shopify/webhooks  Shopify's order, refund, checkout and customer webhooks
                                   (signed: X-Shopify-Hmac-Sha256 with --shopify-secret; from
                                   the --shopify-shop shops when given)
    GET  /v1/events                ?anonymousId=&userId=&type=&event=&after=&before=&limit=
                                   &order= (admin)
    GET  /v1/profiles/{id}         the person an id names (admin): ids, devices, traits, cart,
                                   orders, timeline (?limit=&before=)
    DELETE /v1/profiles/{id}       erases the person, with a suppression of later events (admin)
    GET  /v1/profiles/{id}/export  the profile and every event, JSON or ?format=ndjson (admin)
    GET  /v1/profiles?q=           profiles by user id or email (admin)
    GET  /v1/identity/conflicts    merges refused because they would join two users (admin)
    POST /v1/link-tokens           {userId|email, channel, campaign?, ttl?, maxDevices?}: a link
                                   token and its id (admin)
    GET  /v1/link-tokens           tokens that joined nothing, by reason (admin)
    DELETE /v1/link-tokens/{id}    revokes a link token (admin)
    GET  /v1/retention             --retention's period, last purge and rows removed (admin)
    GET  /v1/forwarding            each --forward and --forward-marketing destination: its
                                   kind, delivered, pending, dead, errors (admin)
    GET  /v1/metrics               the shop's numbers (read)
    GET  /v1/journeys              each journey's steps counted by status, cart recoveries
                                   (read)
    GET  /v1/journeys/deliveries   journey steps with status (admin; ?journey=&status=&limit=)
    POST /_shoptrail/inbox         a webhook receiver that checks Shoptrail-Signature (demo);
                                   GET lists what it received (admin)
    GET  /_shoptrail/stream        arriving events as Server-Sent Events (admin)
    GET  /health                   liveness check
    GET  /_shoptrail/              live view of arriving events (asks for the admin token)
";

/// shoptrail-collector: reference collection endpoint for shoptrail events. Receives events
/// in Segment's HTTP tracking API shape, stores them in SQLite and shows them live at
/// /_shoptrail/.
#[derive(Debug, Parser)]
#[command(name = "shoptrail-collector", version, after_help = ENDPOINTS)]
struct Cli {
    /// The database: a SQLite file (created when missing), or a PostgreSQL server as
    /// postgres://user:password@host:port/database, which several collectors may share
    #[arg(long, value_name = "PATH|URL", env = "SHOPTRAIL_DB", default_value = "./shoptrail.db", value_parser = database)]
    db: String,
    /// TCP port; 0 picks a free one
    #[arg(long, value_name = "N", default_value_t = 8080)]
    port: u16,
    /// IP address to listen on
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1", value_parser = parse_bind)]
    bind: IpAddr,
    /// Serve the files in DIR at /, or at /PREFIX/ with /PREFIX=DIR (repeatable)
    #[arg(long = "static", value_name = "[/PREFIX=]DIR", value_parser = StaticMount::parse)]
    statics: Vec<StaticMount>,
    /// Allow cross-origin requests to the ingestion routes (and static files) from ORIGIN,
    /// such as https://shop.example (repeatable); without it every origin is allowed
    #[arg(long = "allow-origin", value_name = "ORIGIN", value_parser = parse_origin)]
    allow_origins: Vec<String>,
    /// Largest accepted request body, in bytes (413 over it); a compressed body
    /// (Content-Encoding gzip or deflate, or ?compression=gzip) may inflate to 16 times this
    #[arg(long, value_name = "BYTES", default_value_t = DEFAULT_MAX_BODY, value_parser = positive)]
    max_body: usize,
    /// Bearer token of the admin endpoints, at least 16 characters; required with a --bind
    /// address other than loopback
    // Checked after parsing (`secret`): clap's own error would print the value.
    #[arg(
        long,
        value_name = "SECRET",
        env = "SHOPTRAIL_ADMIN_TOKEN",
        hide_env_values = true
    )]
    admin_token: Option<String>,
    /// Read the admin token from FILE (its first line; the same rule as --admin-token)
    #[arg(long, value_name = "FILE", value_parser = non_empty_path)]
    admin_token_file: Option<PathBuf>,
    /// A bearer token for dashboards: it opens the metrics and journey summaries only, no
    /// personal data (repeatable; at least 16 characters)
    #[arg(long = "read-token", value_name = "SECRET")]
    read_tokens: Vec<String>,
    /// Read tokens from FILE, one a line
    #[arg(long, value_name = "FILE", value_parser = non_empty_path)]
    read_token_file: Option<PathBuf>,
    /// Let pages of ORIGIN (a dashboard served elsewhere) call the read and admin routes
    /// with a token (repeatable); without it those routes answer no cross-origin request
    #[arg(long = "dashboard-origin", value_name = "ORIGIN", value_parser = parse_origin)]
    dashboard_origins: Vec<String>,
    /// A host name the read and admin routes answer to in the Host header, besides
    /// localhost and 127.0.0.1 on a loopback bind (repeatable): the name a proxy or a
    /// dashboard reaches the collector by; other names get 403 (DNS rebinding)
    #[arg(long = "public-host", value_name = "NAME", value_parser = parse_host)]
    public_hosts: Vec<String>,
    /// A proxy in front (an address or a network such as 10.0.0.0/8; repeatable): its
    /// X-Forwarded-For names the client the rate limit counts, its X-Forwarded-Host and
    /// -Proto are believed; from anyone else those headers are ignored
    #[arg(long = "trust-proxy", value_name = "ADDR[/BITS]", value_parser = crate::proxy::Trusted::parse)]
    trusted_proxies: Vec<crate::proxy::Trusted>,
    /// Connections served at once; more wait until one closes. Each has 10 s to send a
    /// request's headers and 30 s for its body (408), and at most 32 live streams are open
    #[arg(long, value_name = "N", default_value_t = 1024, value_parser = count)]
    max_connections: usize,
    /// Keep events, and what derives from them, this long (such as 400d or 13months): older
    /// ones are purged at start and every ten minutes (GET /v1/retention tells what); off by
    /// default
    #[arg(long, value_name = "DURATION", value_parser = retention)]
    retention: Option<std::time::Duration>,
    /// Accept only batches with one of these writeKeys, in the body or as the Basic auth
    /// user name (401 otherwise)
    #[arg(long, value_name = "K1,K2", value_parser = write_keys)]
    write_keys: Option<WriteKeys>,
    /// API requests (POSTs, and GETs under /v1/) a second per client (an IPv4 address or an
    /// IPv6 /64), in bursts of four seconds' worth; over it, 429 with Retry-After; 0 turns it
    /// off
    #[arg(long, value_name = "N", default_value_t = DEFAULT_RATE_LIMIT)]
    rate_limit: u32,
    /// Run the journeys in FILE (TOML): abandoned-cart, welcome and post-purchase steps
    /// POSTed to a signed webhook; the secret may come from SHOPTRAIL_WEBHOOK_SECRET
    #[arg(long, value_name = "FILE", value_parser = non_empty_path)]
    journeys: Option<PathBuf>,
    /// Forward every accepted event to URL, in order, retried, through a durable outbox
    /// (repeatable; https://KEY@host/... sends KEY as the Basic auth user, as Segment wants)
    #[arg(long = "forward", value_name = "URL")]
    forward: Vec<String>,
    /// Forward to URL only the events of people who consent to marketing: the event's own
    /// context.consent.categoryPreferences.marketing, or (an event without it) the person's
    /// latest recorded choice; after a withdrawal nothing more of theirs, and their events
    /// not yet sent are removed (repeatable; the same URL rules and --forward-format)
    #[arg(long = "forward-marketing", value_name = "URL")]
    forward_marketing: Vec<String>,
    /// The Shopify app's client secret, which signs its webhooks (X-Shopify-Hmac-Sha256):
    /// with it POST /v1/sources/shopify/webhooks takes orders, refunds, checkouts and
    /// customers; at least 16 characters
    // Checked after parsing (`secret`): clap's own error would print the value.
    #[arg(
        long,
        value_name = "SECRET",
        env = "SHOPTRAIL_SHOPIFY_SECRET",
        hide_env_values = true
    )]
    shopify_secret: Option<String>,
    /// Read the Shopify app's secret from FILE (its first line; the rule of --shopify-secret)
    #[arg(long, value_name = "FILE", value_parser = non_empty_path)]
    shopify_secret_file: Option<PathBuf>,
    /// Take Shopify webhooks only from this shop, such as example.myshopify.com (repeatable;
    /// X-Shopify-Shop-Domain): an app's secret signs the webhooks of every shop that installs it,
    /// so a collector for one shop names it; others get 403
    #[arg(long = "shopify-shop", value_name = "DOMAIN", value_parser = parse_host)]
    shopify_shops: Vec<String>,
    /// Events from crawler user agents (npm isbot's list): exclude marks them (context.bot)
    /// and leaves them out of metrics, identity and journeys; count checks no user agent, for
    /// test suites that drive headless browsers
    #[arg(long, value_name = "MODE", default_value = "exclude", value_parser = crate::bots::Bots::parse)]
    bots: crate::bots::Bots,
    /// The forwarded body: segment ({"batch": [...]}) or json (an array of events)
    #[arg(long, value_name = "FORMAT", default_value = "segment", value_parser = ["segment", "json"])]
    forward_format: String,
}

/// The help text (`--help`): every option, then the endpoints.
pub fn usage() -> String {
    Cli::command().render_long_help().to_string()
}

/// What the command line asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Run the server with these options.
    Run(Box<Options>),
    /// Print [`usage`] and exit.
    Help,
    /// Print the version and exit.
    Version,
}

/// A command-line error, worded for people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArgError(pub String);

impl fmt::Display for ArgError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ArgError {}

/// Parses the arguments after the program name.
///
/// Flags take their value either as the next argument (`--port 8080`) or
/// after an equals sign (`--port=8080`).
pub fn parse_args<I, S>(args: I) -> Result<Command, ArgError>
where
    I: IntoIterator<Item = S>,
    S: Into<String>,
{
    let argv =
        std::iter::once("shoptrail-collector".to_string()).chain(args.into_iter().map(Into::into));
    let cli = match Cli::try_parse_from(argv) {
        Ok(cli) => cli,
        Err(e) => {
            return match e.kind() {
                ErrorKind::DisplayHelp => Ok(Command::Help),
                ErrorKind::DisplayVersion => Ok(Command::Version),
                // clap's first line, without its "error: " and usage tail.
                _ => Err(ArgError(
                    e.to_string()
                        .lines()
                        .next()
                        .unwrap_or_default()
                        .trim_start_matches("error: ")
                        .to_string(),
                )),
            };
        }
    };
    // Here rather than in the value parser, whose message would show the URL's password.
    crate::db::check(&cli.db).map_err(|e| ArgError(format!("--db (or SHOPTRAIL_DB): {e}")))?;
    let journeys = match &cli.journeys {
        Some(path) => Some(std::sync::Arc::new(
            crate::journeys::config::load(path).map_err(ArgError)?,
        )),
        None => None,
    };
    let format = if cli.forward_format == "json" {
        crate::forward::Format::Json
    } else {
        crate::forward::Format::Segment
    };
    let mut forward = Vec::new();
    let kinds = [
        ("--forward", &cli.forward, crate::forward::Kind::All),
        (
            "--forward-marketing",
            &cli.forward_marketing,
            crate::forward::Kind::Marketing,
        ),
    ];
    for (flag, urls, kind) in kinds {
        for url in urls {
            let mut d = crate::forward::Destination::parse(url, format)
                .map_err(|e| ArgError(format!("{flag}: {e}")))?;
            if forward
                .iter()
                .any(|f: &crate::forward::Destination| f.url == d.url)
            {
                return Err(ArgError(format!(
                    "{flag}: '{}' is given twice; give each destination once",
                    crate::forward::shown(url)
                )));
            }
            d.kind = kind;
            forward.push(d);
        }
    }
    let admin_token = match (cli.admin_token, &cli.admin_token_file) {
        (Some(_), Some(_)) => {
            return Err(ArgError(
                "--admin-token-file: the admin token is given twice (also by --admin-token or \
                 SHOPTRAIL_ADMIN_TOKEN); give it once"
                    .into(),
            ))
        }
        (None, Some(path)) => Some(admin_token_file(path).map_err(ArgError)?),
        (Some(token), None) => Some(
            secret(&token)
                .map_err(|e| ArgError(format!("--admin-token (or SHOPTRAIL_ADMIN_TOKEN): {e}")))?,
        ),
        (None, None) => None,
    };
    let shopify_secret = match (cli.shopify_secret, &cli.shopify_secret_file) {
        (Some(_), Some(_)) => {
            return Err(ArgError(
                "--shopify-secret-file: the Shopify secret is given twice (also by \
                 --shopify-secret or SHOPTRAIL_SHOPIFY_SECRET); give it once"
                    .into(),
            ))
        }
        (None, Some(path)) => Some(
            first_line(path)
                .and_then(|line| secret(&line))
                .map_err(|e| ArgError(format!("--shopify-secret-file {}: {e}", path.display())))?,
        ),
        (Some(s), None) => Some(secret(&s).map_err(|e| {
            ArgError(format!(
                "--shopify-secret (or SHOPTRAIL_SHOPIFY_SECRET): {e}"
            ))
        })?),
        (None, None) => None,
    };
    let mut read_tokens = Vec::new();
    for token in &cli.read_tokens {
        read_tokens.push(secret(token).map_err(|e| ArgError(format!("--read-token: {e}")))?);
    }
    if let Some(path) = &cli.read_token_file {
        let text = std::fs::read_to_string(path).map_err(|e| {
            ArgError(format!(
                "--read-token-file: cannot read {}: {e}",
                path.display()
            ))
        })?;
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() {
                continue;
            }
            read_tokens.push(secret(line).map_err(|e| {
                ArgError(format!(
                    "--read-token-file {} line {}: {e}",
                    path.display(),
                    n + 1
                ))
            })?);
        }
    }
    if cli.dashboard_origins.iter().any(|o| o == "*") {
        return Err(ArgError(
            "--dashboard-origin: name each dashboard's origin; '*' would let every site try \
             tokens"
                .into(),
        ));
    }
    if !cli.bind.is_loopback() && admin_token.is_none() {
        return Err(ArgError(format!(
            "--bind {}: the collector would be reachable from other machines without an \
             admin token; give --admin-token, --admin-token-file or SHOPTRAIL_ADMIN_TOKEN",
            cli.bind
        )));
    }
    Ok(Command::Run(Box::new(Options {
        db: cli.db,
        port: cli.port,
        bind: cli.bind,
        statics: cli.statics,
        allow_origins: cli.allow_origins,
        max_body: cli.max_body,
        admin_token,
        read_tokens,
        dashboard_origins: cli.dashboard_origins,
        public_hosts: cli.public_hosts,
        trusted_proxies: cli.trusted_proxies,
        retention: cli.retention,
        connections: crate::ConnectionLimits {
            max_connections: cli.max_connections,
            ..crate::ConnectionLimits::default()
        },
        write_keys: cli.write_keys.map(|k| k.0).unwrap_or_default(),
        rate_limit: cli.rate_limit,
        journeys,
        forward,
        shopify_secret,
        shopify_shops: cli.shopify_shops,
        bots: cli.bots,
        ..Options::default()
    })))
}

fn non_empty_path(value: &str) -> Result<PathBuf, String> {
    if value.is_empty() {
        return Err("needs a file path".into());
    }
    Ok(PathBuf::from(value))
}

fn database(value: &str) -> Result<String, String> {
    if value.is_empty() {
        return Err("needs a SQLite file path or a postgres:// URL".into());
    }
    if value.contains("://") && !crate::db::is_postgres(value) {
        return Err(format!(
            "'{value}' is neither a file path nor a postgres:// or postgresql:// URL"
        ));
    }
    Ok(value.to_owned())
}

fn retention(value: &str) -> Result<std::time::Duration, String> {
    match humantime::parse_duration(value) {
        Ok(d) if d >= std::time::Duration::from_secs(86_400) => Ok(d),
        Ok(_) => Err(format!("'{value}' is less than a day")),
        Err(_) => Err(format!(
            "'{value}' is not a duration such as 400d or 13months"
        )),
    }
}

fn count(value: &str) -> Result<usize, String> {
    match value.parse::<usize>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(format!("'{value}' is not a positive number")),
    }
}

fn positive(value: &str) -> Result<usize, String> {
    match value.parse::<usize>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(format!("'{value}' is not a positive number of bytes")),
    }
}

/// The rule of every token (admin and read), wherever it comes from. The message never
/// repeats the value.
fn secret(value: &str) -> Result<String, String> {
    if value.len() < 16 {
        return Err("use a secret of at least 16 characters".into());
    }
    Ok(value.to_owned())
}

/// The first line of `path`, trimmed.
fn first_line(path: &std::path::Path) -> Result<String, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read it: {e}"))?;
    Ok(text.lines().next().unwrap_or_default().trim().to_owned())
}

/// The admin token in `path`: its first line, trimmed, under the rule of [`secret`].
fn admin_token_file(path: &std::path::Path) -> Result<String, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("--admin-token-file: cannot read {}: {e}", path.display()))?;
    secret(text.lines().next().unwrap_or_default().trim())
        .map_err(|e| format!("--admin-token-file {}: {e}", path.display()))
}

/// The keys of `--write-keys`, parsed as one value: clap stores what a value parser returns
/// and reads it back by the field's type, so a parser returning a `Vec` for an `Option<Vec<_>>`
/// field (which clap takes for a list of values) fails at run time.
#[derive(Debug, Clone, PartialEq, Eq)]
struct WriteKeys(Vec<String>);

fn write_keys(value: &str) -> Result<WriteKeys, String> {
    let keys: Vec<String> = value
        .split(',')
        .map(|k| k.trim().to_string())
        .filter(|k| !k.is_empty())
        .collect();
    if keys.is_empty() {
        return Err("needs keys separated by commas".into());
    }
    Ok(WriteKeys(keys))
}

fn parse_bind(value: &str) -> Result<IpAddr, String> {
    if value == "localhost" {
        return Ok(IpAddr::V4(Ipv4Addr::LOCALHOST));
    }
    value
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse()
        .map_err(|_| format!("'{value}' is not an IP address"))
}

/// A host name as the `Host` header carries it, without a port: `collect.shop.example`,
/// `10.0.0.5`, `[fd00::5]`.
fn parse_host(value: &str) -> Result<String, String> {
    let ok = !value.is_empty()
        && (value.starts_with('[') && value.ends_with(']')
            || value
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-')));
    if ok {
        Ok(value.to_ascii_lowercase())
    } else {
        Err(format!(
            "'{value}' is not a host name (such as collect.shop.example, without a scheme or port)"
        ))
    }
}

/// Accepts `*` or a browser origin such as `https://shop.example:8443`.
fn parse_origin(value: &str) -> Result<String, String> {
    if value == "*" {
        return Ok(value.to_owned());
    }
    let origin = value.trim_end_matches('/');
    let valid = origin.split_once("://").is_some_and(|(scheme, host)| {
        !scheme.is_empty()
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
            && !host.is_empty()
            && host.chars().all(|c| c.is_ascii_graphic() && c != '/')
    });
    if valid {
        Ok(origin.to_owned())
    } else {
        Err(format!(
            "'{value}' is not an origin (expected something like https://shop.example)"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(args: &[&str]) -> Options {
        match parse_args(args.iter().copied()) {
            Ok(Command::Run(o)) => *o,
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn defaults() {
        let o = run(&[]);
        assert_eq!(o, Options::default());
        assert_eq!(o.db, "./shoptrail.db");
        assert_eq!(o.port, 8080);
        assert_eq!(o.bind, IpAddr::V4(Ipv4Addr::LOCALHOST));
        assert_eq!(o.max_body, 524_288);
    }

    #[test]
    fn parses_every_flag() {
        let o = run(&[
            "--db",
            "x.db",
            "--port=0",
            "--bind",
            "0.0.0.0",
            "--static",
            "www",
            "--static=/dist=pkg",
            "--allow-origin",
            "https://a.example/",
            "--allow-origin=http://b.example:8000",
            "--max-body",
            "100",
            "--admin-token",
            "0123456789abcdef",
            "--write-keys",
            "wk_live, wk_test,",
            "--rate-limit",
            "0",
            "--forward",
            "https://key@hooks.example/in",
            "--forward-format",
            "json",
        ]);
        assert_eq!(o.db, "x.db");
        assert_eq!(o.port, 0);
        assert_eq!(o.bind.to_string(), "0.0.0.0");
        assert_eq!(
            o.statics,
            vec![
                StaticMount {
                    prefix: String::new(),
                    dir: PathBuf::from("www")
                },
                StaticMount {
                    prefix: "/dist".into(),
                    dir: PathBuf::from("pkg")
                },
            ]
        );
        assert_eq!(
            o.allow_origins,
            vec!["https://a.example", "http://b.example:8000"]
        );
        assert_eq!(o.max_body, 100);
        assert_eq!(o.admin_token.as_deref(), Some("0123456789abcdef"));
        assert_eq!(o.write_keys, ["wk_live", "wk_test"]);
        assert_eq!(o.rate_limit, 0);
        assert_eq!(o.forward.len(), 1);
        assert_eq!(o.forward[0].format, crate::forward::Format::Json);
        assert_eq!(o.forward[0].kind, crate::forward::Kind::All);
    }

    #[test]
    fn marketing_destinations_follow_the_others_and_each_url_is_given_once() {
        let o = run(&[
            "--forward-marketing",
            "https://ads.example/in",
            "--forward",
            "https://crm.example/in",
        ]);
        let kinds: Vec<_> = o.forward.iter().map(|d| (d.url.as_str(), d.kind)).collect();
        assert_eq!(
            kinds,
            [
                ("https://crm.example/in", crate::forward::Kind::All),
                ("https://ads.example/in", crate::forward::Kind::Marketing),
            ]
        );
        let e = parse_args(["--forward-marketing", "ads.example"]).unwrap_err();
        assert_eq!(
            e.0,
            "--forward-marketing: 'ads.example' is not an http:// or https:// URL"
        );
        let e = parse_args([
            "--forward",
            "https://k@x.example/in",
            "--forward-marketing",
            "https://k@x.example/in",
        ])
        .unwrap_err();
        assert_eq!(
            e.0,
            "--forward-marketing: 'https://***@x.example/in' is given twice; give each \
             destination once"
        );
    }

    #[test]
    fn rejects_bad_input() {
        for bad in [
            &["--nope"][..],
            &["extra"],
            &["--port"],
            &["--port", "70000"],
            &["--bind", "somewhere"],
            &["--max-body", "0"],
            &["--allow-origin", "shop.example"],
            &["--static", "/dist="],
            &["--admin-token", "short"],
            &["--write-keys", ","],
            &["--rate-limit", "-1"],
        ] {
            assert!(parse_args(bad.iter().copied()).is_err(), "{bad:?}");
        }
        assert_eq!(parse_args(["--port", "1", "--help"]), Ok(Command::Help));
        assert_eq!(parse_args(["--version"]), Ok(Command::Version));
        let e = parse_args(["--write-keys", ","]).unwrap_err();
        assert!(e.0.contains("needs keys separated by commas"), "{e}");
        let e = parse_args(["--max-body", "0"]).unwrap_err();
        assert!(
            e.0.contains("--max-body") && e.0.contains("positive"),
            "{e}"
        );
        let help = usage();
        // The inflated-body cap is a number in --help, and the one the server applies.
        let cap = format!("may inflate to {} times", crate::encoding::INFLATE_FACTOR);
        assert!(help.contains(&cap), "{help}");
        for flag in [
            "--db",
            "--rate-limit",
            "--write-keys",
            "--forward-marketing",
            "ENDPOINTS (",
            "/v1/batch",
        ] {
            assert!(help.contains(flag), "{flag} missing from help");
        }
    }
}
