//! `--retention DURATION`: what is older than that is purged, off the request path, in small
//! batches (one transaction each, so ingestion goes on between them), on both engines:
//!
//! - events received before the cutoff, with what derives from them by seq: the metrics'
//!   facts, forwarding outbox rows (never sent now) and dead letters;
//! - journey runs that ended (ordered, emptied, withdrawn) before the cutoff, with their
//!   steps and discount codes;
//! - link tokens expired before the cutoff, with the devices they joined.
//!
//! The identity graph is kept: it holds ids and email hashes, not events, and erasure
//! (`DELETE /v1/profiles/{id}`) removes a person from it. `GET /v1/retention` (admin) tells
//! when the last purge ran and what it removed.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::Json;
use serde_json::{json, Value};

use crate::db::{self, vals, Sql, Val};
use crate::error::ApiError;
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
}

impl Retention {
    /// Keeps data for `keep`.
    pub(crate) fn new(keep: Duration) -> Arc<Retention> {
        Arc::new(Retention {
            keep,
            report: Mutex::default(),
        })
    }

    /// Purges what is older than `keep` before `now` (Unix ms), batch after batch; the rows
    /// removed.
    pub(crate) fn purge(&self, store: &Store, now: i64) -> db::Result<u64> {
        let cutoff = now.saturating_sub(i64::try_from(self.keep.as_millis()).unwrap_or(i64::MAX));
        let cutoff_text = crate::time::format_millis(cutoff);
        let mut total = 0;
        loop {
            let mut round: Vec<(&'static str, u64)> = Vec::new();
            store.with(|sql| {
                round = purge_batch(sql, &cutoff_text, cutoff)?;
                Ok(())
            })?;
            let n: u64 = round.iter().map(|(_, n)| n).sum();
            let mut report = self.report.lock().unwrap_or_else(|e| e.into_inner());
            for (table, count) in round {
                *report.removed.entry(table).or_default() += count;
            }
            report.last_run_at = Some(now);
            drop(report);
            total += n;
            if n == 0 {
                return Ok(total);
            }
        }
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

/// One batch of every kind; `(table, rows removed)`.
fn purge_batch(
    sql: &dyn Sql,
    cutoff_text: &str,
    cutoff: i64,
) -> db::Result<Vec<(&'static str, u64)>> {
    let mut out = Vec::new();
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
        for table in ["facts", "forward_outbox", "forward_dead", "events"] {
            let n = sql.execute(
                &format!("DELETE FROM {table} WHERE seq IN ({marks})"),
                &args,
            )?;
            out.push((table, n));
        }
    }
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
    Ok(out)
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
