//! `--retention DURATION`: what is older than that is purged, off the request path, in small
//! batches (one transaction each, so ingestion goes on between them), on both engines:
//!
//! - events received before the cutoff, with what derives from them by seq: the metrics'
//!   facts, forwarding outbox rows (never sent now) and dead letters;
//! - the identity graph's components none of whose anonymous or user ids any remaining event
//!   holds: the person has nothing left, and every node and edge came from purged events.
//!   With them go the link-token redemptions of their devices (each repeats a graph edge,
//!   device to token's person; the token gets the device back) and the refused merges that
//!   name their ids. A component with one event left stays whole. See [`graph`] for how
//!   this runs beside ingestion;
//! - refused merges (`id_conflicts`) recorded before the cutoff;
//! - journey runs that ended (ordered, emptied, withdrawn) before the cutoff, with their
//!   steps and discount codes;
//! - link tokens expired before the cutoff, with the devices they joined.
//!
//! What stays: link tokens that have not expired (the operator issued them for a message
//! still out there; they go once expired), journey runs under way, and the suppressions of
//! erased people (they must outlive every event, or an erased person would come back).
//! Traits, profiles and consent are not stored apart from events: they are read from the
//! events that remain. The graph's components are found from the ids of each batch of
//! purged events, and a sweep looks at up to 20,000 more per purge, so that components left
//! by purges from before the graph was purged go too. `GET /v1/retention` (admin) tells when
//! the last purge ran and what it removed.

mod graph;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::Json;
use serde_json::{json, Value};

use crate::db::{self, vals, Sql, Val};
use crate::error::ApiError;
use crate::identity::Node;
use crate::state::AppState;
use crate::store::Store;

/// Rows of a kind removed in one transaction.
const BATCH: i64 = 1000;

/// What the purges removed, for `GET /v1/retention`.
#[derive(Debug, Default)]
pub(crate) struct Report {
    last_run_at: Option<i64>,
    removed: std::collections::BTreeMap<&'static str, u64>,
}

/// The purge of one collector: its period and its report.
#[derive(Debug)]
pub(crate) struct Retention {
    /// How long data is kept.
    pub(crate) keep: Duration,
    report: Mutex<Report>,
    /// The root after which the next sweep of the graph starts.
    sweep_after: Mutex<i64>,
}

impl Retention {
    /// Keeps data for `keep`.
    pub(crate) fn new(keep: Duration) -> Arc<Retention> {
        Arc::new(Retention {
            keep,
            report: Mutex::default(),
            sweep_after: Mutex::new(0),
        })
    }

    /// Purges what is older than `keep` before `now` (Unix ms), batch after batch, then
    /// sweeps part of the graph; the rows removed.
    pub(crate) fn purge(&self, store: &Store, now: i64) -> db::Result<u64> {
        let cutoff = now.saturating_sub(i64::try_from(self.keep.as_millis()).unwrap_or(i64::MAX));
        let cutoff_text = crate::time::format_millis(cutoff);
        let mut total = 0;
        loop {
            let mut batch = Batch::default();
            store.with(|sql| {
                batch = purge_batch(sql, &cutoff_text, cutoff)?;
                Ok(())
            })?;
            // The events are gone: their people's components, unless other events name them.
            let mut removed = batch.removed;
            removed.extend(graph::forget(store, &batch.ids)?);
            let n = self.count(removed, now);
            total += n;
            if n == 0 {
                break;
            }
        }
        let after = *self.sweep_after.lock().unwrap_or_else(|e| e.into_inner());
        let (removed, next) = graph::sweep(store, after, graph::SWEEP_PER_PURGE)?;
        *self.sweep_after.lock().unwrap_or_else(|e| e.into_inner()) = next;
        Ok(total + self.count(removed, now))
    }

    /// Adds rows removed to the report; their number.
    fn count(&self, removed: Vec<(&'static str, u64)>, now: i64) -> u64 {
        let mut report = self.report.lock().unwrap_or_else(|e| e.into_inner());
        let mut n = 0;
        for (table, count) in removed {
            *report.removed.entry(table).or_default() += count;
            n += count;
        }
        report.last_run_at = Some(now);
        n
    }

    fn json(&self) -> Value {
        let report = self.report.lock().unwrap_or_else(|e| e.into_inner());
        json!({
            "retentionDays": self.keep.as_secs_f64() / 86_400.0,
            "lastRunAt": report.last_run_at.map(crate::time::format_millis),
            "removed": report.removed,
        })
    }
}

/// What one batch removed.
#[derive(Debug, Default)]
struct Batch {
    /// `(table, rows removed)`.
    removed: Vec<(&'static str, u64)>,
    /// The anonymous and user ids the purged events held.
    ids: Vec<Node>,
}

/// One batch of every kind.
fn purge_batch(sql: &dyn Sql, cutoff_text: &str, cutoff: i64) -> db::Result<Batch> {
    let mut out = Vec::new();
    let mut ids = Vec::new();
    // The oldest events first: seq follows arrival, so the primary key finds them.
    let seqs: Vec<i64> = sql.rows(
        "SELECT seq FROM events WHERE received_at < ?1 ORDER BY seq LIMIT ?2",
        &vals![cutoff_text, BATCH],
        |r| r.get(0),
    )?;
    if !seqs.is_empty() {
        let marks = (1..=seqs.len())
            .map(|i| format!("?{i}"))
            .collect::<Vec<_>>()
            .join(", ");
        let args: Vec<Val> = seqs.iter().map(|s| Val::Int(*s)).collect();
        let held: Vec<(Option<String>, Option<String>)> = sql.rows(
            &format!("SELECT DISTINCT anonymous_id, user_id FROM events WHERE seq IN ({marks})"),
            &args,
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        let mut seen = std::collections::HashSet::new();
        for (anon, user) in held {
            let nodes = [
                anon.map(|a| ("anonymousId", a)),
                user.map(|u| ("userId", u)),
            ];
            for node in nodes.into_iter().flatten() {
                if seen.insert(node.clone()) {
                    ids.push(node);
                }
            }
        }
        for table in ["facts", "forward_outbox", "forward_dead", "events"] {
            let n = sql.execute(
                &format!("DELETE FROM {table} WHERE seq IN ({marks})"),
                &args,
            )?;
            out.push((table, n));
        }
    }
    let conflicts = sql.execute(
        "DELETE FROM id_conflicts WHERE seq IN
         (SELECT seq FROM id_conflicts WHERE at < ?1 ORDER BY seq LIMIT ?2)",
        &vals![cutoff_text, BATCH],
    )?;
    out.push(("id_conflicts", conflicts));
    let runs = "SELECT id FROM journey_runs WHERE state = 'ended' AND anchor_at < ?1 \
                ORDER BY id LIMIT ?2";
    let run_ids: Vec<i64> = sql.rows(runs, &vals![cutoff, BATCH], |r| r.get(0))?;
    for run in run_ids {
        let codes = sql.execute(
            "DELETE FROM discount_codes WHERE step IN (SELECT id FROM journey_steps WHERE run = ?1)",
            &vals![run],
        )?;
        let steps = sql.execute("DELETE FROM journey_steps WHERE run = ?1", &vals![run])?;
        let runs = sql.execute("DELETE FROM journey_runs WHERE id = ?1", &vals![run])?;
        out.extend([
            ("discount_codes", codes),
            ("journey_steps", steps),
            ("journey_runs", runs),
        ]);
    }
    let tokens: Vec<String> = sql.rows(
        "SELECT hash FROM link_tokens WHERE expires_at < ?1 ORDER BY hash LIMIT ?2",
        &vals![cutoff, BATCH],
        |r| r.get(0),
    )?;
    for hash in tokens {
        let devices = sql.execute(
            "DELETE FROM link_token_devices WHERE hash = ?1",
            &vals![&hash],
        )?;
        let token = sql.execute("DELETE FROM link_tokens WHERE hash = ?1", &vals![&hash])?;
        out.extend([("link_token_devices", devices), ("link_tokens", token)]);
    }
    Ok(Batch { removed: out, ids })
}

/// A purge with what it needs to run: for `Server::run_retention`.
pub(crate) struct Purger {
    pub(crate) retention: Arc<Retention>,
    pub(crate) store: Arc<Store>,
    pub(crate) clock: crate::clock::Clock,
}

impl std::fmt::Debug for Purger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Purger")
            .field("retention", &self.retention)
            .finish_non_exhaustive()
    }
}

impl Purger {
    /// Purges by the clock now; the rows removed.
    pub(crate) async fn run(&self) -> std::io::Result<u64> {
        let (r, store, now) = (
            Arc::clone(&self.retention),
            Arc::clone(&self.store),
            self.clock.now_ms(),
        );
        tokio::task::spawn_blocking(move || r.purge(&store, now))
            .await
            .map_err(std::io::Error::other)?
            .map_err(|e| std::io::Error::other(e.to_string()))
    }
}

/// Purges now and then every `every` until `shutdown`.
pub(crate) async fn run(
    retention: Arc<Retention>,
    store: Arc<Store>,
    clock: crate::clock::Clock,
    shutdown: tokio::sync::watch::Receiver<bool>,
    every: Duration,
) {
    let round = || {
        let (retention, store, now) = (Arc::clone(&retention), Arc::clone(&store), clock.now_ms());
        async move {
            let done = tokio::task::spawn_blocking(move || retention.purge(&store, now)).await;
            match done {
                Ok(Ok(_)) => {}
                Ok(Err(e)) => eprintln!("shoptrail-collector: retention: {e}"),
                Err(e) => eprintln!("shoptrail-collector: retention: {e}"),
            }
        }
    };
    round().await;
    crate::outbound::every(shutdown, every, round).await;
}

/// `GET /v1/retention` (admin): the period, when the last purge ran, the rows it removed by
/// table since the collector started.
pub(crate) async fn status(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    match &state.retention {
        Some(r) => Ok(Json(r.json())),
        None => Ok(Json(json!({ "retentionDays": null }))),
    }
}
