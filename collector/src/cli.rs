//! Command-line parsing for the `shoptrail-collector` binary.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;

use crate::{Options, StaticMount};

/// Usage text printed by `--help`.
pub const USAGE: &str = "\
shoptrail-collector: reference collection endpoint for shoptrail events

Receives events in Segment's HTTP tracking API shape, stores them in SQLite
and shows them live at /_shoptrail/.

USAGE:
    shoptrail-collector [OPTIONS]

OPTIONS:
    --db PATH               SQLite database file [default: ./shoptrail.db]
    --port N                TCP port; 0 picks a free one [default: 8080]
    --bind ADDR             IP address to listen on [default: 127.0.0.1]
    --static DIR            serve the files in DIR at /
    --static /PREFIX=DIR    serve the files in DIR at /PREFIX/ (repeatable)
    --allow-origin ORIGIN   allow cross-origin requests from ORIGIN, such as
                            https://shop.example (repeatable); without it
                            every origin is allowed
    --max-body BYTES        largest accepted request body [default: 524288]
    --admin-token SECRET    bearer token of the admin endpoints (or SHOPTRAIL_ADMIN_TOKEN)
    --write-keys K1,K2      accept only batches with one of these writeKeys (401 otherwise)
    --rate-limit N          POST requests a second per client address, in bursts of four
                            seconds' worth; over it, 429 with Retry-After; 0 turns it off
                            [default: 50]
    -h, --help              print this help
    -V, --version           print the version

ENDPOINTS:
    POST /v1/batch                 {\"batch\":[event, ...], \"sentAt\": ...}
    POST /v1/{track,page,identify,alias,group,screen}   one event
    GET  /v1/events                ?anonymousId=&userId=&type=&event=&after=&limit=
    POST /v1/id-cookie             anonymousId=&domain= (form): sets the SDK's id cookie
    GET  /v1/profiles/{id}         the person an id names (admin): ids, devices, traits, cart,
                                   orders, timeline (?limit=&before=)
    GET  /v1/profiles?q=           profiles by user id or email (admin)
    GET  /v1/identity/conflicts    merges refused because they would join two users (admin)
    POST /v1/link-tokens           {userId|email, channel, campaign?, ttl?}: a link token (admin)
    GET  /v1/link-tokens           tokens that joined nothing, by reason (admin)
    GET  /health                   liveness check
    GET  /_shoptrail/              live view of arriving events
";

/// What the command line asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Run the server with these options.
    Run(Options),
    /// Print [`USAGE`] and exit.
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
    let mut options = Options::default();
    let mut args = args.into_iter().map(Into::into);
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) if flag.starts_with("--") => {
                (flag.to_owned(), Some(value.to_owned()))
            }
            _ => (arg.clone(), None),
        };
        match flag.as_str() {
            "-h" | "--help" => return Ok(Command::Help),
            "-V" | "--version" => return Ok(Command::Version),
            "--db" | "--port" | "--bind" | "--static" | "--allow-origin" | "--max-body"
            | "--admin-token" | "--write-keys" | "--rate-limit" => {}
            _ if flag.starts_with('-') => {
                return Err(ArgError(format!("unknown option '{flag}'")));
            }
            _ => return Err(ArgError(format!("unexpected argument '{arg}'"))),
        }
        let value = match inline {
            Some(v) => v,
            None => args
                .next()
                .ok_or_else(|| ArgError(format!("option '{flag}' needs a value")))?,
        };
        match flag.as_str() {
            "--db" => {
                if value.is_empty() {
                    return Err(ArgError("--db needs a file path".into()));
                }
                options.db = PathBuf::from(value);
            }
            "--port" => {
                options.port = value.parse().map_err(|_| {
                    ArgError(format!("--port: '{value}' is not a port number (0-65535)"))
                })?;
            }
            "--bind" => options.bind = parse_bind(&value)?,
            "--static" => options
                .statics
                .push(StaticMount::parse(&value).map_err(|e| ArgError(format!("--static: {e}")))?),
            "--allow-origin" => options.allow_origins.push(parse_origin(&value)?),
            "--max-body" => {
                options.max_body = match value.parse::<usize>() {
                    Ok(n) if n > 0 => n,
                    _ => {
                        return Err(ArgError(format!(
                            "--max-body: '{value}' is not a positive number of bytes"
                        )))
                    }
                };
            }
            "--write-keys" => {
                options.write_keys = value
                    .split(',')
                    .map(|k| k.trim().to_string())
                    .filter(|k| !k.is_empty())
                    .collect();
                if options.write_keys.is_empty() {
                    return Err(ArgError(
                        "--write-keys needs keys separated by commas".into(),
                    ));
                }
            }
            "--rate-limit" => {
                options.rate_limit = value.parse().map_err(|_| {
                    ArgError(format!(
                        "--rate-limit: '{value}' is not a number of requests a second (0 turns it off)"
                    ))
                })?;
            }
            "--admin-token" => {
                if value.len() < 16 {
                    return Err(ArgError(
                        "--admin-token: use a secret of at least 16 characters".into(),
                    ));
                }
                options.admin_token = Some(value);
            }
            _ => unreachable!("flags are checked above"),
        }
    }
    Ok(Command::Run(options))
}

fn parse_bind(value: &str) -> Result<IpAddr, ArgError> {
    if value == "localhost" {
        return Ok(IpAddr::V4(Ipv4Addr::LOCALHOST));
    }
    value
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse()
        .map_err(|_| ArgError(format!("--bind: '{value}' is not an IP address")))
}

/// Accepts `*` or a browser origin such as `https://shop.example:8443`.
fn parse_origin(value: &str) -> Result<String, ArgError> {
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
        Err(ArgError(format!(
            "--allow-origin: '{value}' is not an origin (expected something like https://shop.example)"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(args: &[&str]) -> Options {
        match parse_args(args.iter().copied()) {
            Ok(Command::Run(o)) => o,
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn defaults() {
        let o = run(&[]);
        assert_eq!(o, Options::default());
        assert_eq!(o.db, PathBuf::from("./shoptrail.db"));
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
        ]);
        assert_eq!(o.db, PathBuf::from("x.db"));
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
        ] {
            assert!(parse_args(bad.iter().copied()).is_err(), "{bad:?}");
        }
        assert_eq!(parse_args(["--port", "1", "--help"]), Ok(Command::Help));
    }
}
