//! Forwarding: every accepted event is sent on to each `--forward` destination through a
//! durable outbox, and the events of people who consent to marketing to each
//! `--forward-marketing` destination. The outbox row is written in the event's own insert
//! transaction, so an event is forwarded exactly when it is stored; a sender takes a
//! destination's oldest rows in batches (order kept), removes them once the destination
//! answers 2xx, and otherwise waits with backoff; a batch still failing 24 hours after its
//! first failure goes to the dead letters and the next one is tried. `GET /v1/forwarding`
//! (admin) shows it all.
//!
//! - `sender`: the lease on a destination, the batch, the POST, the bookkeeping.
//! - `marketing`: who consents to marketing when an event is stored, and what a
//!   withdrawal removes from the marketing-only outboxes.
//! - this file: the tables, the destinations, the enqueue, the status endpoint.

pub(crate) mod marketing;
pub(crate) mod sender;

use axum::extract::State;
use axum::Json;
use serde_json::{json, Value};

use crate::db::{self, vals, Sql};
use crate::error::ApiError;
use crate::state::AppState;
use crate::time::format_millis;
use crate::validate::PreparedEvent;

pub(crate) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS forward_destinations (
    id              INTEGER PRIMARY KEY,
    url             TEXT NOT NULL UNIQUE,
    format          TEXT NOT NULL,
    lease_owner     TEXT,
    lease_until     INTEGER,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_at         INTEGER NOT NULL DEFAULT 0,
    failing_since   INTEGER,
    last_status     INTEGER,
    last_error      TEXT,
    delivered       INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS forward_outbox (
    destination INTEGER NOT NULL,
    seq         INTEGER NOT NULL,
    PRIMARY KEY (destination, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS forward_dead (
    destination INTEGER NOT NULL,
    seq         INTEGER NOT NULL,
    message_id  TEXT,
    at          INTEGER NOT NULL,
    error       TEXT,
    PRIMARY KEY (destination, seq)
);
";

/// A destination's kind, on databases from before marketing-only destinations.
pub(crate) const KIND_SCHEMA: &str =
    "ALTER TABLE forward_destinations ADD COLUMN kind TEXT NOT NULL DEFAULT 'all';";

/// How a destination wants its events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Segment's `POST /v1/batch` body: `{"batch": [...], "sentAt": ...}` (Segment,
    /// RudderStack, Jitsu, another shoptrail collector).
    Segment,
    /// A JSON array of the events, for a generic webhook.
    Json,
}

impl Format {
    fn name(self) -> &'static str {
        match self {
            Format::Segment => "segment",
            Format::Json => "json",
        }
    }
}

/// Which events a destination gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Every stored event (`--forward`).
    All,
    /// The events of people who consent to marketing when the event is stored: its own
    /// `context.consent.categoryPreferences.marketing` is `true`, or, when it carries no
    /// choice, the person's latest recorded choice grants it (`--forward-marketing`).
    Marketing,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::All => "all",
            Kind::Marketing => "marketing",
        }
    }
}

/// A place events are forwarded to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Destination {
    /// The URL POSTed to; `https://KEY@host/...` sends `KEY` as HTTP Basic user (Segment's
    /// write key).
    pub url: String,
    /// The body's shape.
    pub format: Format,
    /// Which events it gets.
    pub kind: Kind,
}

impl Destination {
    /// Parses a `--forward` URL: a destination of [`Kind::All`].
    pub fn parse(url: &str, format: Format) -> Result<Destination, String> {
        let ok = url
            .strip_prefix("https://")
            .or_else(|| url.strip_prefix("http://"))
            .is_some_and(|r| !r.is_empty() && !r.starts_with('/'));
        if !ok || url.contains(char::is_whitespace) {
            return Err(format!("'{url}' is not an http:// or https:// URL"));
        }
        Ok(Destination {
            url: url.to_owned(),
            format,
            kind: Kind::All,
        })
    }
}

/// The URL with any credentials replaced, for showing.
pub(crate) fn shown(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..end].rsplit_once('@') {
        Some((_, host)) => format!("{scheme}://***@{host}{}", &rest[end..]),
        None => url.to_owned(),
    }
}

/// The registered destinations' ids, by kind, which each stored event enters.
#[derive(Debug, Default)]
pub(crate) struct Outboxes {
    /// Every destination, in the order given.
    ids: Vec<i64>,
    all: Vec<i64>,
    marketing: Vec<i64>,
}

impl Outboxes {
    /// The destinations' ids, in the order given.
    pub(crate) fn ids(&self) -> &[i64] {
        &self.ids
    }

    /// Puts stored event `seq` in the outbox of each destination that takes it (in the
    /// event's transaction). Only with a marketing-only destination does it look at the
    /// person: a withdrawal of marketing consent also removes the person's rows waiting for
    /// those destinations.
    pub(crate) fn enqueue(&self, sql: &dyn Sql, ev: &PreparedEvent, seq: i64) -> db::Result<()> {
        enqueue(sql, &self.all, seq)?;
        if self.marketing.is_empty() {
            return Ok(());
        }
        if crate::consent::withdraws_marketing(ev) {
            return marketing::withdrawn(sql, &self.marketing, ev);
        }
        if marketing::consents(sql, ev, seq)? {
            enqueue(sql, &self.marketing, seq)?;
        }
        Ok(())
    }
}

/// Registers the destinations (kept across restarts by URL, with their format and kind).
pub(crate) fn register(sql: &dyn Sql, destinations: &[Destination]) -> db::Result<Outboxes> {
    let mut out = Outboxes::default();
    for d in destinations {
        let id = sql.one(
            "INSERT INTO forward_destinations (url, format, kind) VALUES (?1, ?2, ?3)
             ON CONFLICT (url) DO UPDATE SET format = excluded.format, kind = excluded.kind
             RETURNING id",
            &vals![&d.url, d.format.name(), d.kind.name()],
            |r| r.get(0),
        )?;
        out.ids.push(id);
        match d.kind {
            Kind::All => out.all.push(id),
            Kind::Marketing => out.marketing.push(id),
        }
    }
    Ok(out)
}

/// Puts stored event `seq` in each of `destinations`' outboxes.
fn enqueue(sql: &dyn Sql, destinations: &[i64], seq: i64) -> db::Result<()> {
    for d in destinations {
        sql.execute(
            "INSERT INTO forward_outbox (destination, seq) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
            &vals![*d, seq],
        )?;
    }
    Ok(())
}

/// `GET /v1/forwarding` (admin): each destination's kind, pending, delivered and dead counts,
/// its failing state, and the last 100 dead letters.
pub(crate) async fn status(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let store = state.store();
    let body = tokio::task::spawn_blocking(move || store.read(report))
        .await
        .map_err(|e| ApiError::internal(e.to_string()))?
        .map_err(|e| ApiError::internal(format!("database: {e}")))?;
    Ok(Json(body))
}

fn report(sql: &dyn Sql) -> db::Result<Value> {
    let time = |t: Option<i64>| t.map_or(Value::Null, |t| json!(format_millis(t)));
    let destinations = sql.rows(
        "SELECT d.id, d.url, d.format, d.delivered, d.attempts, d.next_at, d.failing_since,
                d.last_status, d.last_error,
                (SELECT COUNT(*) FROM forward_outbox o WHERE o.destination = d.id),
                (SELECT COUNT(*) FROM forward_dead x WHERE x.destination = d.id), d.kind
         FROM forward_destinations d ORDER BY d.id",
        &[],
        |r| {
            let failing: Option<i64> = r.get(6)?;
            Ok(json!({
                "url": shown(&r.get::<String>(1)?),
                "format": r.get::<String>(2)?,
                "kind": r.get::<String>(11)?,
                "delivered": r.get::<i64>(3)?,
                "pending": r.get::<i64>(9)?,
                "dead": r.get::<i64>(10)?,
                "attempts": r.get::<i64>(4)?,
                "nextAttemptAt": if failing.is_some() { time(r.get(5)?) } else { Value::Null },
                "failingSince": time(failing),
                "lastStatus": r.get::<Option<i64>>(7)?,
                "lastError": r.get::<Option<String>>(8)?,
            }))
        },
    )?;
    let dead = sql.rows(
        "SELECT d.url, x.seq, x.message_id, x.at, x.error FROM forward_dead x
         JOIN forward_destinations d ON d.id = x.destination ORDER BY x.at DESC LIMIT 100",
        &[],
        |r| {
            Ok(json!({
                "url": shown(&r.get::<String>(0)?),
                "seq": r.get::<i64>(1)?,
                "messageId": r.get::<Option<String>>(2)?,
                "at": time(r.get(3)?),
                "error": r.get::<Option<String>>(4)?,
            }))
        },
    )?;
    Ok(json!({ "destinations": destinations, "dead": dead }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hides_credentials() {
        assert_eq!(
            shown("https://wk_123@api.segment.io/v1/batch"),
            "https://***@api.segment.io/v1/batch"
        );
        assert_eq!(shown("http://127.0.0.1:9/hook"), "http://127.0.0.1:9/hook");
        assert_eq!(
            shown("http://host/path?email=a@b.c"),
            "http://host/path?email=a@b.c"
        );
    }

    #[test]
    fn parses_urls() {
        assert!(Destination::parse("https://api.segment.io/v1/batch", Format::Segment).is_ok());
        assert_eq!(
            Destination::parse("ftp://x", Format::Json),
            Err("'ftp://x' is not an http:// or https:// URL".into())
        );
    }
}
