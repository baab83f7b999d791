//! The durable scheduler. Steps live in `journey_steps`; a scheduler claims the due ones by
//! setting a lease (`status = 'sending'`, `lease_until`, `lease_owner`) in one statement, so
//! two schedulers on one database (or a loop and a manual run) never take the same step. A
//! scheduler that dies mid-call leaves its lease to expire; the step is then claimed again
//! and sent with the same `Idempotency-Key`. A 2xx marks the step delivered for good; any
//! other answer, or none, schedules the next attempt with backoff (30 s doubling to 1 h, or
//! the webhook's `Retry-After` when longer) until `retry_for` after the step fell due, then
//! the step fails.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinSet;

use super::config::JourneysConfig;
use super::payload::{prepare, sign, Ready};
use super::{DELIVERED, FAILED, SCHEDULED};
use crate::clock::Clock;
use crate::db::{self, vals, Engine, Sql};
use crate::outbound::{self, Answer};
use crate::store::Store;

/// Steps claimed at a time (and webhook calls in flight).
const BATCH: i64 = 16;
/// The first retry's delay; each further one doubles it, up to [`MAX_BACKOFF_MS`].
const FIRST_BACKOFF_MS: i64 = 30_000;
const MAX_BACKOFF_MS: i64 = 3_600_000;

/// Delivers due steps to the webhook.
pub(crate) struct Scheduler {
    store: Arc<Store>,
    cfg: Arc<JourneysConfig>,
    clock: Clock,
    client: reqwest::Client,
    owner: String,
}

impl std::fmt::Debug for Scheduler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scheduler")
            .field("owner", &self.owner)
            .field("webhook", &self.cfg.webhook_url)
            .finish()
    }
}

impl Scheduler {
    /// A scheduler over `store` (whose schema holds the journey tables).
    pub fn new(store: Arc<Store>, cfg: Arc<JourneysConfig>, clock: Clock) -> std::io::Result<Self> {
        Ok(Scheduler {
            client: outbound::client(cfg.timeout)?,
            owner: outbound::owner_id()?,
            store,
            cfg,
            clock,
        })
    }

    /// Runs [`Scheduler::tick`] every `every` until `shutdown`.
    pub async fn run(self: Arc<Self>, shutdown: watch::Receiver<bool>, every: Duration) {
        outbound::every(shutdown, every, || self.tick()).await;
    }

    /// Sends every step due now (by the scheduler's clock); gives how many were delivered.
    pub async fn tick(self: &Arc<Self>) -> usize {
        let mut delivered = 0;
        // A bounded number of rounds: a step retried is due again only later.
        for _ in 0..64 {
            let now = self.clock.now_ms();
            let lease_until = now + self.cfg.timeout.as_millis() as i64 + 30_000;
            let store = Arc::clone(&self.store);
            let owner = self.owner.clone();
            let claimed = tokio::task::spawn_blocking(move || {
                store.with(|c| claim(c, now, lease_until, &owner, BATCH))
            })
            .await;
            let ids = match claimed {
                Ok(Ok(ids)) if !ids.is_empty() => ids,
                Ok(Ok(_)) => break,
                Ok(Err(e)) => {
                    eprintln!("shoptrail-collector: journeys: cannot claim steps: {e}");
                    break;
                }
                Err(e) => {
                    eprintln!("shoptrail-collector: journeys: {e}");
                    break;
                }
            };
            let mut calls = JoinSet::new();
            for id in ids {
                let this = Arc::clone(self);
                calls.spawn(async move { this.attempt(id).await });
            }
            while let Some(done) = calls.join_next().await {
                if matches!(done, Ok(true)) {
                    delivered += 1;
                }
            }
        }
        delivered
    }

    /// One attempt of step `id`: true when it was delivered.
    async fn attempt(&self, id: i64) -> bool {
        let (store, cfg, now) = (
            Arc::clone(&self.store),
            Arc::clone(&self.cfg),
            self.clock.now_ms(),
        );
        let ready =
            tokio::task::spawn_blocking(move || store.with(|c| prepare(c, &cfg, id, now))).await;
        let (body, key) = match ready {
            Ok(Ok(Ready::Send { body, key })) => (body, key),
            Ok(Ok(Ready::Closed)) => return false,
            Ok(Err(e)) => {
                self.finish(
                    id,
                    Answer::Failed {
                        status: None,
                        error: format!("could not build the payload: {e}"),
                        retry_after: None,
                    },
                )
                .await;
                return false;
            }
            Err(_) => return false,
        };
        let answer = self.post(&body, &key).await;
        let ok = matches!(answer, Answer::Ok(_));
        self.finish(id, answer).await;
        ok
    }

    async fn post(&self, body: &str, key: &str) -> Answer {
        let t = self.clock.now_ms().div_euclid(1000);
        let request = self
            .client
            .post(&self.cfg.webhook_url)
            .header("Content-Type", "application/json")
            .header("Shoptrail-Signature", sign(&self.cfg.secret, t, body))
            .header("Idempotency-Key", key)
            .body(body.to_owned());
        outbound::send(request, 86_400).await
    }

    async fn finish(&self, id: i64, answer: Answer) {
        let (store, cfg, now, owner) = (
            Arc::clone(&self.store),
            Arc::clone(&self.cfg),
            self.clock.now_ms(),
            self.owner.clone(),
        );
        let done = tokio::task::spawn_blocking(move || {
            store.with(|c| record(c, &cfg, id, &answer, now, &owner))
        })
        .await;
        if let Ok(Err(e)) = done {
            eprintln!("shoptrail-collector: journeys: cannot record step {id}: {e}");
        }
    }
}

/// Claims up to `limit` due steps for `owner`: scheduled ones whose time has come, and
/// those whose lease ran out. One statement, so a step goes to one claimer only: SQLite has
/// one writer at a time; on PostgreSQL the rows are locked `FOR UPDATE SKIP LOCKED`, so a
/// second scheduler takes other steps instead of waiting for (or re-taking) these.
pub(crate) fn claim(
    sql: &dyn Sql,
    now: i64,
    lease_until: i64,
    owner: &str,
    limit: i64,
) -> db::Result<Vec<i64>> {
    let lock = match sql.engine() {
        Engine::Sqlite => "",
        Engine::Postgres => "FOR UPDATE SKIP LOCKED",
    };
    sql.rows(
        &format!(
            "UPDATE journey_steps
             SET status = 'sending', lease_until = ?2, lease_owner = ?3, attempts = attempts + 1,
                 updated_at = ?1
             WHERE id IN (
                 SELECT id FROM journey_steps
                 WHERE (status = 'scheduled' AND next_at <= ?1)
                    OR (status = 'sending' AND lease_until <= ?1)
                 ORDER BY next_at LIMIT ?4 {lock})
             RETURNING id"
        ),
        &vals![now, lease_until, owner, limit],
        |r| r.get(0),
    )
}

/// The delay before attempt `attempts + 1`.
fn backoff(attempts: i64) -> i64 {
    let doublings = (attempts - 1).clamp(0, 20) as u32;
    FIRST_BACKOFF_MS
        .saturating_mul(1 << doublings.min(16))
        .min(MAX_BACKOFF_MS)
}

fn record(
    sql: &dyn Sql,
    cfg: &JourneysConfig,
    id: i64,
    answer: &Answer,
    now: i64,
    owner: &str,
) -> db::Result<()> {
    match answer {
        Answer::Ok(status) => {
            sql.execute(
                "UPDATE journey_steps SET status = ?2, delivered_at = ?3, last_status = ?4,
                 last_error = NULL, lease_until = NULL, lease_owner = NULL, updated_at = ?3
                 WHERE id = ?1",
                &vals![id, DELIVERED, now, i64::from(*status)],
            )?;
        }
        Answer::Failed {
            status,
            error,
            retry_after,
        } => {
            let mine: Option<(i64, i64)> = sql.opt(
                "SELECT due_at, attempts FROM journey_steps
                 WHERE id = ?1 AND lease_owner = ?2 AND status = 'sending'",
                &vals![id, owner],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?;
            // Another scheduler took the step over once this one's lease ran out: its
            // attempt decides.
            let Some((due, attempts)) = mine else {
                return Ok(());
            };
            let wait = backoff(attempts).max(retry_after.unwrap_or(0).min(MAX_BACKOFF_MS));
            let give_up = now + wait > due + cfg.retry_for.as_millis() as i64;
            sql.execute(
                "UPDATE journey_steps SET status = ?2, next_at = ?3, last_status = ?4,
                 last_error = ?5, lease_until = NULL, lease_owner = NULL, updated_at = ?6,
                 reason = ?7 WHERE id = ?1",
                &vals![
                    id,
                    if give_up { FAILED } else { SCHEDULED },
                    now + wait,
                    status.map(i64::from),
                    error,
                    now,
                    give_up.then_some("the webhook kept failing"),
                ],
            )?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::backoff;

    #[test]
    fn backs_off_doubling_to_an_hour() {
        let s: Vec<i64> = (1..=9).map(|a| backoff(a) / 1000).collect();
        assert_eq!(s, [30, 60, 120, 240, 480, 960, 1920, 3600, 3600]);
    }
}
