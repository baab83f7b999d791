//! Sends each destination's outbox, oldest first. A sender first takes the destination's
//! lease (one statement: free, its own, or run out), so one process at a time forwards to a
//! destination and the order holds across instances. It then reads up to [`BATCH`] of the
//! oldest rows, POSTs them, and on a 2xx removes exactly those rows. On anything else it
//! backs off (1 s doubling to 5 minutes, or the `Retry-After` asked for); once the head batch
//! has failed for [`DEAD_AFTER_MS`] it is moved to the dead letters and the next is tried.
//! A sender that dies mid-call leaves rows in the outbox: they are sent again (at least once,
//! each with its `messageId`, which Segment's API and this collector deduplicate).

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio::sync::watch;

use super::{Destination, Format};
use crate::clock::Clock;
use crate::db::{self, vals, Sql};
use crate::outbound::{self, Answer};
use crate::store::Store;

/// Events per forwarded batch.
pub(crate) const BATCH: i64 = 100;
/// How long the head batch may keep failing before it is dead-lettered (24 hours).
pub(crate) const DEAD_AFTER_MS: i64 = 24 * 3_600_000;
const LEASE_MS: i64 = 60_000;
const FIRST_BACKOFF_MS: i64 = 1_000;
const MAX_BACKOFF_MS: i64 = 300_000;

/// Forwards every destination's outbox.
pub(crate) struct Sender {
    store: Arc<Store>,
    destinations: Vec<(i64, Destination)>,
    clock: Clock,
    client: reqwest::Client,
    owner: String,
}

impl std::fmt::Debug for Sender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sender")
            .field("owner", &self.owner)
            .field("destinations", &self.destinations.len())
            .finish()
    }
}

impl Sender {
    /// A sender for `destinations` (with their ids from [`super::register`]).
    pub fn new(
        store: Arc<Store>,
        destinations: Vec<(i64, Destination)>,
        clock: Clock,
    ) -> std::io::Result<Sender> {
        Ok(Sender {
            client: outbound::client(Duration::from_secs(30))?,
            owner: outbound::owner_id()?,
            store,
            destinations,
            clock,
        })
    }

    /// Runs [`Sender::round`] every `every` until `shutdown`.
    pub async fn run(self: Arc<Self>, shutdown: watch::Receiver<bool>, every: Duration) {
        outbound::every(shutdown, every, || self.round()).await;
    }

    /// Sends what each destination may take now (batch after batch while they succeed);
    /// gives how many events were delivered.
    pub async fn round(&self) -> usize {
        let mut delivered = 0;
        for (id, dest) in &self.destinations {
            // Bounded: a busy outbox is also drained by the next rounds.
            for _ in 0..100 {
                match self.once(*id, dest).await {
                    Some(n) if n > 0 => delivered += n,
                    _ => break,
                }
            }
        }
        delivered
    }

    /// One batch to one destination: `Some(n)` delivered, `Some(0)` nothing to send, `None`
    /// not now (leased elsewhere, backing off, or failed).
    async fn once(&self, id: i64, dest: &Destination) -> Option<usize> {
        let now = self.clock.now_ms();
        let owner = self.owner.clone();
        let store = Arc::clone(&self.store);
        let batch = tokio::task::spawn_blocking(move || {
            store.with(|c| {
                if !lease(c, id, &owner, now)? {
                    return Ok(None);
                }
                head(c, id).map(Some)
            })
        })
        .await
        .ok()?
        .map_err(|e| eprintln!("shoptrail-collector: forwarding: {e}"))
        .ok()??;
        if batch.is_empty() {
            return Some(0);
        }
        let answer = self.post(dest, &batch).await;
        let ok = matches!(answer, Answer::Ok(_));
        let n = batch.len();
        let (store, owner, now) = (
            Arc::clone(&self.store),
            self.owner.clone(),
            self.clock.now_ms(),
        );
        let done = tokio::task::spawn_blocking(move || {
            store.with(|c| record(c, id, &owner, &batch, &answer, now))
        })
        .await;
        if let Ok(Err(e)) = done {
            eprintln!("shoptrail-collector: forwarding: cannot record a batch: {e}");
        }
        ok.then_some(n)
    }

    async fn post(&self, dest: &Destination, batch: &[(i64, String)]) -> Answer {
        let events: Vec<&str> = batch.iter().map(|(_, body)| body.as_str()).collect();
        let array = format!("[{}]", events.join(","));
        let body = match dest.format {
            Format::Segment => format!(
                "{{\"batch\":{array},\"sentAt\":\"{}\"}}",
                self.clock.now_iso8601()
            ),
            Format::Json => array,
        };
        let request = self
            .client
            .post(&dest.url)
            .header("Content-Type", "application/json")
            .body(body);
        outbound::send(request, 3600).await
    }
}

/// Takes (or renews) the lease of destination `id` when it is free, ours or run out, and
/// its backoff has passed.
fn lease(sql: &dyn Sql, id: i64, owner: &str, now: i64) -> db::Result<bool> {
    // One statement: on PostgreSQL a second sender waits for the row and sees the lease.
    let n = sql.execute(
        "UPDATE forward_destinations SET lease_owner = ?2, lease_until = ?3
         WHERE id = ?1 AND next_at <= ?4
           AND (lease_owner IS NULL OR lease_owner = ?2 OR lease_until <= ?4)",
        &vals![id, owner, now + LEASE_MS, now],
    )?;
    Ok(n == 1)
}

/// The oldest outbox rows of destination `id`, with the stored events.
fn head(sql: &dyn Sql, id: i64) -> db::Result<Vec<(i64, String)>> {
    sql.rows(
        "SELECT o.seq, e.body FROM forward_outbox o JOIN events e ON e.seq = o.seq
         WHERE o.destination = ?1 ORDER BY o.seq LIMIT ?2",
        &vals![id, BATCH],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
}

fn record(
    sql: &dyn Sql,
    id: i64,
    owner: &str,
    batch: &[(i64, String)],
    answer: &Answer,
    now: i64,
) -> db::Result<()> {
    match answer {
        Answer::Ok(_) => {
            let mut removed = 0;
            for (seq, _) in batch {
                removed += sql.execute(
                    "DELETE FROM forward_outbox WHERE destination = ?1 AND seq = ?2",
                    &vals![id, *seq],
                )?;
            }
            sql.execute(
                "UPDATE forward_destinations SET delivered = delivered + ?2, attempts = 0,
                 failing_since = NULL, next_at = 0, last_status = NULL, last_error = NULL
                 WHERE id = ?1",
                &vals![id, removed as i64],
            )?;
        }
        Answer::Failed {
            status,
            error,
            retry_after,
        } => {
            let row: Option<(i64, Option<i64>)> = sql.opt(
                "SELECT attempts, failing_since FROM forward_destinations
                 WHERE id = ?1 AND lease_owner = ?2",
                &vals![id, owner],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?;
            let Some((attempts, since)) = row else {
                return Ok(());
            };
            let since = since.unwrap_or(now);
            if now - since >= DEAD_AFTER_MS {
                for (seq, body) in batch {
                    let message_id = serde_json::from_str::<Value>(body)
                        .ok()
                        .and_then(|v| v["messageId"].as_str().map(str::to_owned));
                    sql.execute(
                        "INSERT INTO forward_dead (destination, seq, message_id, at, error)
                         VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT DO NOTHING",
                        &vals![id, *seq, message_id, now, error],
                    )?;
                    sql.execute(
                        "DELETE FROM forward_outbox WHERE destination = ?1 AND seq = ?2",
                        &vals![id, *seq],
                    )?;
                }
                sql.execute(
                    "UPDATE forward_destinations SET attempts = 0, failing_since = NULL,
                     next_at = 0, last_status = ?2, last_error = ?3 WHERE id = ?1",
                    &vals![id, status.map(i64::from), error],
                )?;
            } else {
                let doublings = attempts.clamp(0, 16) as u32;
                let wait = (FIRST_BACKOFF_MS << doublings)
                    .min(MAX_BACKOFF_MS)
                    .max(retry_after.unwrap_or(0).min(MAX_BACKOFF_MS));
                sql.execute(
                    "UPDATE forward_destinations SET attempts = attempts + 1, failing_since = ?2,
                     next_at = ?3, last_status = ?4, last_error = ?5 WHERE id = ?1",
                    &vals![id, since, now + wait, status.map(i64::from), error],
                )?;
            }
        }
    }
    Ok(())
}
