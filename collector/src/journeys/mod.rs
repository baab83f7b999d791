//! Journeys: follow-ups the collector schedules from the events it stores (an abandoned
//! cart, a sign-up, an order) and delivers to the shop's webhook, signed, retried and never
//! twice for one step.
//!
//! - [`config`]: the TOML file.
//! - this file: the tables and what each stored event does to them (`observe`, called in
//!   the event's own insert transaction, so a step exists exactly when its trigger is
//!   stored).
//! - `scheduler`: due steps are claimed with a lease in the database, checked (consent,
//!   cart, order), built once into a payload and POSTed; failures are retried with backoff.
//! - `payload`: the profile, cart, order, discount code and cart link a step carries, and
//!   the `Shoptrail-Signature`.
//! - `cap`: the daily limit of steps per email address or phone number.
//! - `routes`: `GET /v1/journeys/deliveries` (admin), `GET /v1/journeys` (counts), and the
//!   demo's signature-checking inbox.

pub(crate) mod cap;
pub mod config;
pub(crate) mod payload;
pub(crate) mod routes;
pub(crate) mod scheduler;

use serde_json::Value;

use crate::db::{self, marks, vals, DbError, Sql, Val};
use crate::identity::person;
use crate::validate::PreparedEvent;
use config::{JourneysConfig, Trigger};

pub(crate) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS journey_runs (
    id           INTEGER PRIMARY KEY,
    journey      TEXT NOT NULL,
    key          TEXT NOT NULL,
    anonymous_id TEXT,
    user_id      TEXT,
    started_at   INTEGER NOT NULL,
    anchor_at    INTEGER NOT NULL,
    items        INTEGER NOT NULL DEFAULT 0,
    state        TEXT NOT NULL,
    ended_reason TEXT,
    ordered_at   INTEGER,
    trigger_id   TEXT NOT NULL,
    UNIQUE (journey, key)
);
CREATE INDEX IF NOT EXISTS journey_runs_anonymous_id ON journey_runs (anonymous_id);
CREATE INDEX IF NOT EXISTS journey_runs_user_id ON journey_runs (user_id);
CREATE TABLE IF NOT EXISTS journey_steps (
    id              INTEGER PRIMARY KEY,
    run             INTEGER NOT NULL REFERENCES journey_runs (id),
    step            INTEGER NOT NULL,
    name            TEXT NOT NULL,
    status          TEXT NOT NULL,
    due_at          INTEGER NOT NULL,
    next_at         INTEGER NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    lease_until     INTEGER,
    lease_owner     TEXT,
    idempotency_key TEXT NOT NULL UNIQUE,
    code            TEXT,
    payload         TEXT,
    last_status     INTEGER,
    last_error      TEXT,
    reason          TEXT,
    delivered_at    INTEGER,
    updated_at      INTEGER NOT NULL,
    UNIQUE (run, step)
);
CREATE INDEX IF NOT EXISTS journey_steps_due ON journey_steps (status, next_at);
CREATE INDEX IF NOT EXISTS journey_steps_delivered ON journey_steps (delivered_at);
CREATE TABLE IF NOT EXISTS discount_codes (
    code       TEXT PRIMARY KEY,
    step       INTEGER NOT NULL UNIQUE,
    percent    INTEGER NOT NULL,
    created_at INTEGER NOT NULL
);
";

/// The addresses each step was let through for (see [`cap`]), on databases from before the
/// daily limit per contact.
pub(crate) const CONTACTS_SCHEMA: &str = "
ALTER TABLE journey_steps ADD COLUMN email_hash TEXT;
ALTER TABLE journey_steps ADD COLUMN phone_hash TEXT;
CREATE INDEX IF NOT EXISTS journey_steps_email_hash ON journey_steps (email_hash);
CREATE INDEX IF NOT EXISTS journey_steps_phone_hash ON journey_steps (phone_hash);
";

/// A step waiting for its time (or for its next attempt after a failure).
pub(crate) const SCHEDULED: &str = "scheduled";
/// The webhook answered 2xx.
pub(crate) const DELIVERED: &str = "delivered";
/// The webhook kept failing for the whole retry period.
pub(crate) const FAILED: &str = "failed";
/// The journey ended first (an order, an emptied cart).
pub(crate) const CANCELLED: &str = "cancelled";
/// Not sent to this profile: no marketing consent, unsubscribed, no contact, or its contact
/// address reached its daily limit.
pub(crate) const SKIPPED: &str = "skipped";

/// How far a stored event moves the journeys. Runs in the event's insert transaction; `now`
/// is the collector's clock.
pub(crate) fn observe(
    sql: &dyn Sql,
    cfg: &JourneysConfig,
    ev: &PreparedEvent,
    now: i64,
) -> db::Result<()> {
    if ev.kind != "track" {
        return Ok(());
    }
    let Some(name) = ev.event.as_deref() else {
        return Ok(());
    };
    let props = ev.object.get("properties");
    let cart_id = props.and_then(|p| p.get("cart_id")).and_then(Value::as_str);
    if name == "Order Completed" {
        ordered(sql, ev, cart_id, now)?;
    }
    if crate::consent::withdraws_marketing(ev) {
        withdrawn(sql, ev, now)?;
    }
    for (j, journey) in cfg.journeys.iter().enumerate() {
        match &journey.trigger {
            Trigger::AbandonedCart => {
                let change = match name {
                    "Product Added" => Some(quantity(props)),
                    "Product Removed" => Some(-quantity(props)),
                    _ => None,
                };
                if let (Some(change), Some(cart)) = (change, cart_id) {
                    cart_changed(sql, cfg, j, ev, cart, change, now)?;
                }
            }
            Trigger::Event(e) if e == name => started(sql, cfg, j, ev, now)?,
            Trigger::Event(_) => {}
        }
    }
    Ok(())
}

fn quantity(props: Option<&Value>) -> i64 {
    props
        .and_then(|p| p.get("quantity"))
        .and_then(Value::as_i64)
        .filter(|q| *q > 0)
        .unwrap_or(1)
}

/// A cart gained or lost items: its run starts (or starts again after it was emptied), and
/// the steps not yet sent count their delays from now.
fn cart_changed(
    sql: &dyn Sql,
    cfg: &JourneysConfig,
    j: usize,
    ev: &PreparedEvent,
    cart: &str,
    change: i64,
    now: i64,
) -> db::Result<()> {
    let journey = &cfg.journeys[j];
    let key = format!("cart:{cart}");
    let run: Option<(i64, i64, String, Option<String>)> = sql.opt(
        "SELECT id, items, state, ended_reason FROM journey_runs WHERE journey = ?1 AND key = ?2",
        &vals![&journey.id, &key],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
    )?;
    let (run, items) = match run {
        // A completed cart is never reminded of again.
        Some((_, _, _, Some(reason))) if reason == "ordered" => return Ok(()),
        Some((id, items, _, _)) => (id, (items + change).max(0)),
        None if change <= 0 => return Ok(()),
        None => {
            let id = sql.one(
                "INSERT INTO journey_runs (journey, key, anonymous_id, user_id, started_at,
                 anchor_at, items, state, trigger_id) VALUES (?1, ?2, ?3, ?4, ?5, ?5, 0, 'active', ?6)
                 RETURNING id",
                &vals![&journey.id, &key, &ev.anonymous_id, &ev.user_id, now, &ev.message_id],
                |r| r.get(0),
            )?;
            (id, change)
        }
    };
    if items == 0 {
        sql.execute(
            "UPDATE journey_runs SET items = 0, state = 'ended', ended_reason = 'emptied'
             WHERE id = ?1",
            &vals![run],
        )?;
        return cancel_pending(sql, run, "the cart was emptied", now);
    }
    sql.execute(
        "UPDATE journey_runs SET items = ?2, anchor_at = ?3, state = 'active', ended_reason = NULL,
         user_id = COALESCE(?4, user_id) WHERE id = ?1",
        &vals![run, items, now, &ev.user_id],
    )?;
    for (k, step) in journey.steps.iter().enumerate() {
        let due = now + step.after.as_millis() as i64;
        // Steps not attempted yet move; a step already sent (or under way) stays as it is.
        let moved = sql.execute(
            "UPDATE journey_steps SET due_at = ?3, next_at = ?3, status = 'scheduled', reason = NULL,
             updated_at = ?4
             WHERE run = ?1 AND step = ?2 AND attempts = 0 AND status IN ('scheduled', 'cancelled')",
            &vals![run, k as i64, due, now],
        )?;
        if moved == 0 {
            insert_step(sql, run, k, &step.name, due, now)?;
        }
    }
    Ok(())
}

fn insert_step(
    sql: &dyn Sql,
    run: i64,
    k: usize,
    name: &str,
    due: i64,
    now: i64,
) -> db::Result<()> {
    sql.execute(
        "INSERT INTO journey_steps (run, step, name, status, due_at, next_at,
         idempotency_key, updated_at) VALUES (?1, ?2, ?3, 'scheduled', ?4, ?4, ?5, ?6)
         ON CONFLICT DO NOTHING",
        &vals![run, k as i64, name, due, idempotency_key()?, now],
    )?;
    Ok(())
}

/// A random key that names one step for its whole life (every attempt sends it).
fn idempotency_key() -> db::Result<String> {
    let mut raw = [0u8; 16];
    getrandom::fill(&mut raw).map_err(|e| DbError::new(format!("no random bytes: {e}")))?;
    Ok(format!(
        "stp_{}",
        raw.iter().map(|b| format!("{b:02x}")).collect::<String>()
    ))
}

/// An event-triggered journey starts, unless a run of it still has steps to send to the
/// person.
fn started(
    sql: &dyn Sql,
    cfg: &JourneysConfig,
    j: usize,
    ev: &PreparedEvent,
    now: i64,
) -> db::Result<()> {
    let journey = &cfg.journeys[j];
    let (anon, users) = person(sql, ev.anonymous_id.as_deref(), ev.user_id.as_deref())?;
    let (filter, mut args) = who(&anon, &users, 2);
    args.insert(0, Val::from(journey.id.clone()));
    let busy = sql
        .opt(
            &format!(
                "SELECT 1 FROM journey_runs r JOIN journey_steps s ON s.run = r.id
                 WHERE r.journey = ?1 AND s.status IN ('scheduled', 'sending')
                 AND ({filter}) LIMIT 1"
            ),
            &args,
            |_| Ok(()),
        )?
        .is_some();
    if busy {
        return Ok(());
    }
    let Some(run) = sql.opt(
        "INSERT INTO journey_runs (journey, key, anonymous_id, user_id, started_at,
         anchor_at, state, trigger_id) VALUES (?1, ?2, ?3, ?4, ?5, ?5, 'active', ?2)
         ON CONFLICT DO NOTHING RETURNING id",
        &vals![
            &journey.id,
            &ev.message_id,
            &ev.anonymous_id,
            &ev.user_id,
            now
        ],
        |r| r.get::<i64>(0),
    )?
    else {
        return Ok(());
    };
    for (k, step) in journey.steps.iter().enumerate() {
        insert_step(
            sql,
            run,
            k,
            &step.name,
            now + step.after.as_millis() as i64,
            now,
        )?;
    }
    Ok(())
}

/// An order: the person's cart runs end (their pending steps are cancelled) and remember
/// when they ordered, for the recovery rate.
fn ordered(sql: &dyn Sql, ev: &PreparedEvent, cart_id: Option<&str>, now: i64) -> db::Result<()> {
    let (anon, users) = person(sql, ev.anonymous_id.as_deref(), ev.user_id.as_deref())?;
    let (mut filter, mut args) = who(&anon, &users, 1);
    if let Some(cart) = cart_id {
        args.push(Val::from(format!("cart:{cart}")));
        filter = format!("{filter} OR r.key = ?{}", args.len());
    }
    let runs: Vec<i64> = sql.rows(
        &format!(
            "SELECT r.id FROM journey_runs r WHERE r.key LIKE 'cart:%' AND r.ordered_at IS NULL
             AND ({filter})"
        ),
        &args,
        |r| r.get(0),
    )?;
    for run in runs {
        sql.execute(
            "UPDATE journey_runs SET ordered_at = ?2, state = 'ended', ended_reason = 'ordered'
             WHERE id = ?1",
            &vals![run, now],
        )?;
        cancel_pending(sql, run, "the shopper ordered", now)?;
    }
    Ok(())
}

/// Marketing withdrawn: every run of the person ends and its steps not sent yet are
/// cancelled at once (the consent check before each attempt would skip them anyway, on
/// every device of the person).
fn withdrawn(sql: &dyn Sql, ev: &PreparedEvent, now: i64) -> db::Result<()> {
    let (anon, users) = person(sql, ev.anonymous_id.as_deref(), ev.user_id.as_deref())?;
    let (filter, args) = who(&anon, &users, 1);
    let runs: Vec<i64> = sql.rows(
        &format!("SELECT r.id FROM journey_runs r WHERE r.state <> 'ended' AND ({filter})"),
        &args,
        |r| r.get(0),
    )?;
    for run in runs {
        sql.execute(
            "UPDATE journey_runs SET state = 'ended', ended_reason = 'withdrawn' WHERE id = ?1",
            &vals![run],
        )?;
        cancel_pending(sql, run, "the shopper withdrew marketing consent", now)?;
    }
    Ok(())
}

/// Cancels the steps of `run` not sent yet.
pub(crate) fn cancel_pending(sql: &dyn Sql, run: i64, reason: &str, now: i64) -> db::Result<()> {
    sql.execute(
        "UPDATE journey_steps SET status = 'cancelled', reason = ?2, lease_until = NULL,
         lease_owner = NULL, updated_at = ?3 WHERE run = ?1 AND status = 'scheduled'",
        &vals![run, reason, now],
    )?;
    Ok(())
}

/// `r.anonymous_id IN (?n, ...) OR r.user_id IN (...)`, its parameters numbered from
/// `first`.
fn who<'a>(anon: &'a [String], users: &'a [String], first: usize) -> (String, Vec<Val<'a>>) {
    let filter = format!(
        "r.anonymous_id IN ({}) OR r.user_id IN ({})",
        marks(first, anon.len()),
        marks(first + anon.len(), users.len())
    );
    let args = anon
        .iter()
        .chain(users)
        .map(|i| Val::from(i.clone()))
        .collect();
    (filter, args)
}

/// Abandoned-cart reminders (first steps) delivered in `[from, to)`, and how many of them
/// were followed by an order within 7 days.
pub(crate) fn recovery(sql: &dyn Sql, from: i64, to: i64) -> db::Result<(i64, i64)> {
    sql.one(
        "SELECT COUNT(*), COALESCE(SUM(CASE WHEN r.ordered_at IS NOT NULL
                AND r.ordered_at >= s.delivered_at AND r.ordered_at < s.delivered_at + 604800000
                THEN 1 ELSE 0 END), 0)
         FROM journey_steps s JOIN journey_runs r ON r.id = s.run
         WHERE s.step = 0 AND s.status = 'delivered' AND r.key LIKE 'cart:%'
           AND s.delivered_at >= ?1 AND s.delivered_at < ?2",
        &vals![from, to],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
}
