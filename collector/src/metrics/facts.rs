//! The `facts` table: one row per stored event with the columns the metrics group and filter
//! on. It is derived from `events` off the request path: behind a watermark (the greatest
//! `seq` with a fact), a chunk of events per transaction, by a background loop and before
//! every metrics query. Ingestion writes only the event; a database made before the table
//! existed is filled in the same way.

use crate::db::{self, vals, Sql};
use crate::validate::PreparedEvent;
use serde_json::{Map, Value};

use super::money;

/// The table and its indexes.
pub(crate) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS facts (
    seq           INTEGER PRIMARY KEY,
    ts            INTEGER NOT NULL,
    kind          TEXT NOT NULL,
    event         TEXT,
    anonymous_id  TEXT,
    user_id       TEXT,
    session       TEXT,
    order_id      TEXT,
    amount        INTEGER,
    currency      TEXT,
    cart_id       TEXT,
    source        TEXT,
    medium        TEXT,
    mobile        INTEGER,
    experiment_id TEXT,
    variation_id  TEXT,
    score         INTEGER
);
CREATE INDEX IF NOT EXISTS facts_event_ts ON facts (event, ts);
-- Covers the one pass over every event of a window.
CREATE INDEX IF NOT EXISTS facts_window ON facts (ts, session, anonymous_id, kind, event);
-- A session's first event with a user agent, and its first with a campaign.
CREATE INDEX IF NOT EXISTS facts_session ON facts (session, ts, mobile);
CREATE INDEX IF NOT EXISTS facts_campaign ON facts (session, ts) WHERE source IS NOT NULL;
CREATE INDEX IF NOT EXISTS facts_order ON facts (order_id, ts) WHERE order_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS facts_cart ON facts (cart_id, event, ts) WHERE cart_id IS NOT NULL;
";

/// The `bot` column (schema version 12): a bot's fact holds every column and the flag; the
/// facts of bots' events from before it hold their time only (kind `bot`). The window, order
/// and cart indexes cover the flag, so those lookups stay on their index.
pub(crate) const BOT_FLAG: &str = "
ALTER TABLE facts ADD COLUMN bot INTEGER NOT NULL DEFAULT 0;
UPDATE facts SET bot = 1 WHERE kind = 'bot';
DROP INDEX IF EXISTS facts_window;
CREATE INDEX IF NOT EXISTS facts_window ON facts (ts, session, anonymous_id, kind, event, bot);
DROP INDEX IF EXISTS facts_order;
CREATE INDEX IF NOT EXISTS facts_order ON facts (order_id, ts, bot) WHERE order_id IS NOT NULL;
DROP INDEX IF EXISTS facts_cart;
CREATE INDEX IF NOT EXISTS facts_cart ON facts (cart_id, event, ts, bot) WHERE cart_id IS NOT NULL;
";

/// The `allocation` column (schema version 14): an `Experiment Viewed`'s share of the arm in
/// parts per million, which the sample-ratio check compares the observed split with.
pub(crate) const ALLOCATION: &str = "ALTER TABLE facts ADD COLUMN allocation INTEGER;";

/// Events read and written per transaction while filling in an older database.
const CHUNK: i64 = 1000;

/// What the metrics read of one event.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Fact {
    /// Event time in milliseconds since the epoch: `timestamp`, else `receivedAt`.
    pub ts: i64,
    /// `type`: track, page, identify, ...
    pub kind: String,
    /// The track event's name.
    pub event: Option<String>,
    pub anonymous_id: Option<String>,
    pub user_id: Option<String>,
    /// `anonymousId:context.sessionId`.
    pub session: Option<String>,
    /// Order Completed: `order_id`.
    pub order_id: Option<String>,
    /// Order Completed: `total`, else `revenue`, in micro-units.
    pub amount: Option<i64>,
    /// Order Completed: `currency`, upper-case, `USD` when missing.
    pub currency: Option<String>,
    pub cart_id: Option<String>,
    /// `context.campaign.source` and `.medium`.
    pub source: Option<String>,
    pub medium: Option<String>,
    /// 1 when `context.userAgent` names a phone or tablet, 0 for another user agent.
    pub mobile: Option<i64>,
    /// Experiment Viewed: `experiment_id` and `variation_id`.
    pub experiment_id: Option<String>,
    pub variation_id: Option<String>,
    /// NPS Submitted: `score`, an integer from 0 to 10.
    pub score: Option<i64>,
    /// Experiment Viewed: `allocation`, the arm's share (above 0, at most 1), in parts per
    /// million.
    pub allocation: Option<i64>,
    /// A bot's event (`context.bot`): counted only when the metrics are asked to include bots.
    pub bot: bool,
    /// A cookieless event (`context.cookieless`, see `crate::cookieless`).
    pub cookieless: bool,
}

/// A string, or a number's text; empty strings are none.
fn text(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) if !s.trim().is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Reads the fact of an event as stored (with `receivedAt`).
pub(crate) fn extract(ev: &Map<String, Value>) -> Fact {
    let get = |path: &[&str]| -> Option<&Value> {
        let (first, rest) = path.split_first()?;
        rest.iter().try_fold(ev.get(*first)?, |at, key| at.get(key))
    };
    let ts = [get(&["timestamp"]), get(&["receivedAt"])]
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .find_map(crate::time::parse_iso8601)
        .unwrap_or(0);
    let event = text(get(&["event"]));
    let anonymous_id = text(get(&["anonymousId"]));
    let session = anonymous_id
        .as_ref()
        .zip(text(get(&["context", "sessionId"])))
        .map(|(a, s)| format!("{a}:{s}"));
    let prop = |key: &str| get(&["properties", key]);
    let mut fact = Fact {
        ts,
        kind: text(get(&["type"])).unwrap_or_default(),
        anonymous_id,
        user_id: text(get(&["userId"])),
        session,
        cart_id: text(prop("cart_id")),
        source: text(get(&["context", "campaign", "source"])),
        medium: text(get(&["context", "campaign", "medium"])),
        mobile: get(&["context", "userAgent"])
            .and_then(Value::as_str)
            .map(|ua| i64::from(is_mobile(ua))),
        bot: crate::bots::marked(ev),
        cookieless: crate::cookieless::is_cookieless(ev),
        ..Fact::default()
    };
    match event.as_deref() {
        Some("Order Completed") => {
            fact.order_id = text(prop("order_id"));
            fact.amount = prop("total")
                .and_then(money::micros_of)
                .or_else(|| prop("revenue").and_then(money::micros_of));
            let currency = prop("currency")
                .and_then(Value::as_str)
                .map(|c| c.trim().to_ascii_uppercase())
                .filter(|c| !c.is_empty());
            fact.currency = Some(currency.unwrap_or_else(|| "USD".to_owned()));
        }
        Some("Experiment Viewed") => {
            fact.experiment_id = text(prop("experiment_id"));
            fact.variation_id = text(prop("variation_id"));
            fact.allocation = prop("allocation")
                .and_then(Value::as_f64)
                .filter(|a| *a > 0.0 && *a <= 1.0)
                .map(|a| (a * 1e6).round() as i64);
        }
        // A popup's campaign and variant, in the experiment's columns.
        Some("Popup Shown" | "Popup Converted") => {
            fact.experiment_id = text(prop("campaign_id"));
            fact.variation_id = text(prop("variant_id"));
        }
        Some("NPS Submitted") => {
            fact.score = prop("score")
                .and_then(|s| {
                    s.as_i64()
                        .or_else(|| s.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64))
                })
                .filter(|s| (0..=10).contains(s));
        }
        _ => {}
    }
    fact.event = event;
    fact
}

/// Whether a user agent is a phone's or a tablet's (`Mobi|Android|iPhone|iPad`).
fn is_mobile(user_agent: &str) -> bool {
    ["Mobi", "Android", "iPhone", "iPad"]
        .iter()
        .any(|m| user_agent.contains(m))
}

/// Facts per multi-row insert (20 parameters each).
const ROWS_PER_INSERT: usize = 100;

/// Writes facts, `(seq, fact)`, a multi-row insert per hundred.
fn insert(sql: &dyn Sql, facts: &[(i64, Fact)]) -> db::Result<()> {
    for chunk in facts.chunks(ROWS_PER_INSERT) {
        let mut params = Vec::with_capacity(chunk.len() * 18);
        for (seq, f) in chunk {
            params.extend(vals![
                *seq,
                f.ts,
                &f.kind,
                &f.event,
                &f.anonymous_id,
                &f.user_id,
                &f.session,
                &f.order_id,
                f.amount,
                &f.currency,
                &f.cart_id,
                &f.source,
                &f.medium,
                f.mobile,
                &f.experiment_id,
                &f.variation_id,
                f.score,
                i64::from(f.bot),
                i64::from(f.cookieless),
                f.allocation,
            ]);
        }
        sql.execute(
            &format!(
                "INSERT INTO facts
                 (seq, ts, kind, event, anonymous_id, user_id, session, order_id, amount, currency,
                  cart_id, source, medium, mobile, experiment_id, variation_id, score, bot,
                  cookieless, allocation)
                 VALUES {}",
                db::value_rows(20, chunk.len())
            ),
            &params,
        )?;
    }
    Ok(())
}

/// Writes the facts of events just stored, `(seq, event)`, in their insert transaction
/// (PostgreSQL, whose sequence numbers do not follow commit order).
pub(crate) fn record(sql: &dyn Sql, events: &[(i64, &PreparedEvent)]) -> db::Result<()> {
    let facts: Vec<(i64, Fact)> = events
        .iter()
        .map(|(seq, ev)| (*seq, extract(&ev.object)))
        .collect();
    insert(sql, &facts)
}

/// Writes the facts of the next events (at most `CHUNK`) after the watermark, in the
/// caller's write transaction. Returns how many were written: 0 when the facts are up to
/// date.
///
/// On SQLite events are numbered in commit order (one writer at a time), so every event up
/// to the watermark has its fact and the next ones are exactly those with a greater `seq`;
/// the write transaction (`IMMEDIATE`) holds the lock from the watermark's reading on, so
/// two collectors on one file never derive the same chunk. On PostgreSQL every event got
/// its fact when stored, and this finds nothing.
pub(crate) fn catch_up_chunk(sql: &dyn Sql) -> db::Result<u64> {
    let rows: Vec<(i64, String, String, String)> = sql.rows(
        "SELECT seq, body, type, received_at FROM events
         WHERE seq > (SELECT COALESCE(MAX(seq), 0) FROM facts)
         ORDER BY seq LIMIT ?1",
        &vals![CHUNK],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
    )?;
    let mut facts = Vec::with_capacity(rows.len());
    for (seq, body, kind, received_at) in &rows {
        let object = match serde_json::from_str(body) {
            Ok(Value::Object(map)) => map,
            // Never expected: the body is what validation produced. The columns still give a
            // time and a type.
            _ => Map::from_iter([
                ("type".to_owned(), Value::String(kind.clone())),
                ("receivedAt".to_owned(), Value::String(received_at.clone())),
            ]),
        };
        facts.push((*seq, extract(&object)));
    }
    insert(sql, &facts)?;
    Ok(rows.len() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fact(v: Value) -> Fact {
        match v {
            Value::Object(map) => extract(&map),
            _ => Fact::default(),
        }
    }

    #[test]
    fn reads_orders_exactly() {
        let f = fact(json!({
            "type": "track", "event": "Order Completed", "anonymousId": "a1", "userId": "u1",
            "timestamp": "2026-11-22T10:00:00.000Z", "receivedAt": "2026-11-22T10:00:05.000Z",
            "properties": {"order_id": 42, "total": 19.99, "revenue": 18, "currency": "eur",
                           "cart_id": "c1"},
            "context": {"sessionId": 1_763_805_600_000u64, "userAgent": "Mozilla/5.0 (iPhone)",
                        "campaign": {"source": "newsletter", "medium": "email"}}
        }));
        assert_eq!(
            f,
            Fact {
                ts: 1_795_341_600_000,
                kind: "track".into(),
                event: Some("Order Completed".into()),
                anonymous_id: Some("a1".into()),
                user_id: Some("u1".into()),
                session: Some("a1:1763805600000".into()),
                order_id: Some("42".into()),
                amount: Some(19_990_000),
                currency: Some("EUR".into()),
                cart_id: Some("c1".into()),
                source: Some("newsletter".into()),
                medium: Some("email".into()),
                mobile: Some(1),
                ..Fact::default()
            }
        );
        let f = fact(json!({
            "type": "track", "event": "Order Completed", "userId": "u1",
            "timestamp": "not a time", "receivedAt": "2026-11-22T10:00:05.000Z",
            "properties": {"revenue": "7.5"},
            "context": {"sessionId": 5, "userAgent": "Mozilla/5.0 (X11; Linux x86_64)"}
        }));
        assert_eq!(f.ts, 1_795_341_605_000);
        assert_eq!(f.session, None, "no anonymous id, no session");
        assert_eq!(
            (f.amount, f.currency.as_deref()),
            (Some(7_500_000), Some("USD"))
        );
        assert_eq!(f.mobile, Some(0));
    }

    #[test]
    fn reads_experiments_and_scores() {
        let f = fact(
            json!({"type": "track", "event": "Experiment Viewed", "anonymousId": "a",
            "properties": {"experiment_id": "exit-offer", "variation_id": "control"}}),
        );
        assert_eq!(f.experiment_id.as_deref(), Some("exit-offer"));
        assert_eq!(f.variation_id.as_deref(), Some("control"));
        assert_eq!((f.mobile, f.ts), (None, 0));
        let score = |s: Value| {
            fact(
                json!({"type": "track", "event": "NPS Submitted", "anonymousId": "a",
                "properties": {"score": s}}),
            )
            .score
        };
        assert_eq!(score(json!(10)), Some(10));
        assert_eq!(score(json!(0)), Some(0));
        assert_eq!(score(json!(7.0)), Some(7));
        for bad in [json!(11), json!(-1), json!(7.5), json!("9"), json!(null)] {
            assert_eq!(score(bad.clone()), None, "{bad}");
        }
        // Order fields only on orders.
        let f = fact(
            json!({"type": "track", "event": "Product Added", "anonymousId": "a",
            "properties": {"order_id": "o", "total": 5, "cart_id": "c"}}),
        );
        assert_eq!((f.order_id, f.amount, f.currency), (None, None, None));
        assert_eq!(f.cart_id.as_deref(), Some("c"));
    }
}
