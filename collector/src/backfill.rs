//! One-off rewrites of stored rows, run in the background from start so that a big database
//! does not hold up the listener: each walks its table in windows of [`WINDOW`] seqs, one
//! transaction per window (ingestion goes on between them), keeps its place in the
//! `backfills` table and marks itself done there at the end. A collector that stops halfway
//! goes on from its place at the next start; collectors sharing a PostgreSQL database take
//! turns, the job's row locked by each window's transaction.
//!
//! The one job: events stored before link tokens were replaced by their id at ingestion
//! (migration 11 adds it). Their raw `context.linkToken` becomes `context.linkTokenId`, the
//! token's id, as ingestion stores it now ([`crate::tokens::hide_raw_token`]). It costs one
//! pass over the events table, reading the bodies that mention `"linkToken"`. Events a
//! collector of an older version stores after the pass (one still running beside the new
//! one on a shared database) keep their token: restart every collector on the new version.

use std::sync::Arc;

use crate::db::{self, vals, Sql};
use crate::store::Store;

/// The table of jobs, and the job of this version.
pub(crate) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS backfills (
    name      TEXT PRIMARY KEY,
    after_seq INTEGER NOT NULL DEFAULT 0,
    done_at   INTEGER
);
INSERT INTO backfills (name) VALUES ('link token ids') ON CONFLICT DO NOTHING;
";

/// The job that hides raw link tokens.
const LINK_TOKENS: &str = "link token ids";

/// Seqs of events looked at per transaction.
const WINDOW: i64 = 2000;

/// What one window did.
#[derive(Debug, PartialEq, Eq)]
enum Step {
    /// Events rewritten; more windows to go.
    More(u64),
    /// Events rewritten; the job is done.
    Done(u64),
}

/// One window of the link-token job, at `now` (Unix ms).
fn link_tokens_window(sql: &dyn Sql, now: i64) -> db::Result<Step> {
    // Locks the job's row (PostgreSQL) until the transaction ends: one collector at a time.
    let after: Option<i64> = sql.opt(
        "UPDATE backfills SET after_seq = after_seq WHERE name = ?1 AND done_at IS NULL
         RETURNING after_seq",
        &vals![LINK_TOKENS],
        |r| r.get(0),
    )?;
    let Some(after) = after else {
        return Ok(Step::Done(0));
    };
    let last: i64 = sql.one("SELECT COALESCE(MAX(seq), 0) FROM events", &[], |r| {
        r.get(0)
    })?;
    let until = last.min(after.saturating_add(WINDOW));
    let rows: Vec<(i64, String)> = sql.rows(
        "SELECT seq, body FROM events WHERE seq > ?1 AND seq <= ?2 AND body LIKE ?3",
        &vals![after, until, "%\"linkToken\"%"],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    let mut rewritten = 0;
    for (seq, body) in rows {
        let Ok(mut event) = serde_json::from_str::<serde_json::Value>(&body) else {
            continue;
        };
        let hidden = event
            .get_mut("context")
            .and_then(serde_json::Value::as_object_mut)
            .is_some_and(crate::tokens::hide_raw_token);
        if hidden {
            rewritten += sql.execute(
                "UPDATE events SET body = ?1 WHERE seq = ?2",
                &vals![event.to_string(), seq],
            )?;
        }
    }
    if until >= last {
        sql.execute(
            "UPDATE backfills SET after_seq = ?1, done_at = ?2 WHERE name = ?3",
            &vals![until.max(after), now, LINK_TOKENS],
        )?;
        return Ok(Step::Done(rewritten));
    }
    sql.execute(
        "UPDATE backfills SET after_seq = ?1 WHERE name = ?2",
        &vals![until, LINK_TOKENS],
    )?;
    Ok(Step::More(rewritten))
}

/// Runs the jobs not done yet, a window per blocking task, until they are done or
/// `shutdown`; says on stderr what they rewrote. Sets `done` at the end, whatever happened.
pub(crate) async fn run(
    store: Arc<Store>,
    clock: crate::clock::Clock,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
    done: tokio::sync::watch::Sender<bool>,
) {
    let mut rewritten = 0;
    loop {
        if *shutdown.borrow_and_update() {
            break;
        }
        let (store, now) = (Arc::clone(&store), clock.now_ms());
        let step =
            tokio::task::spawn_blocking(move || store.with(|sql| link_tokens_window(sql, now)))
                .await;
        match step {
            Ok(Ok(Step::More(n))) => rewritten += n,
            Ok(Ok(Step::Done(n))) => {
                rewritten += n;
                break;
            }
            Ok(Err(e)) => {
                eprintln!(
                    "shoptrail-collector: hiding stored link tokens: {e} (again at the next start)"
                );
                break;
            }
            Err(e) => {
                eprintln!("shoptrail-collector: hiding stored link tokens: {e}");
                break;
            }
        }
    }
    if rewritten > 0 {
        eprintln!(
            "shoptrail-collector: {rewritten} stored events now hold their link token's id \
             instead of the token"
        );
    }
    let _ = done.send(true);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::{Db, Migration};

    const EVENTS: &str = "CREATE TABLE events (seq INTEGER PRIMARY KEY, body TEXT NOT NULL)";

    #[test]
    fn windows_walk_the_events_and_rewrite_only_raw_tokens() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("b.db").display().to_string();
        let migrations = [
            Migration {
                version: 1,
                name: "events",
                sql: EVENTS,
            },
            Migration {
                version: 2,
                name: "backfills",
                sql: SCHEMA,
            },
        ];
        let db = Db::open(&path, &migrations).unwrap();
        let bodies = [
            (1, r#"{"context":{"linkToken":"tok-1","page":{}}}"#),
            (2, r#"{"properties":{"linkToken":"not a context"}}"#),
            (3, r#"{"context":{"linkToken":7}}"#),
            (WINDOW + 5, r#"{"context":{"linkToken":"tok-2"}}"#),
        ];
        db.write(|sql| {
            for (seq, body) in bodies {
                sql.execute(
                    "INSERT INTO events (seq, body) VALUES (?1, ?2)",
                    &vals![seq, body],
                )?;
            }
            Ok(())
        })
        .unwrap();
        let steps: Vec<Step> = (0..3)
            .map(|_| db.write(|sql| link_tokens_window(sql, 42)).unwrap())
            .collect();
        assert_eq!(steps, [Step::More(1), Step::Done(1), Step::Done(0)]);
        let stored: Vec<serde_json::Value> = db
            .read(|sql| sql.rows("SELECT body FROM events ORDER BY seq", &[], |r| r.get(0)))
            .unwrap()
            .iter()
            .map(|b: &String| serde_json::from_str(b).unwrap())
            .collect();
        let id = |t: &str| crate::identity::sha256_hex(t.as_bytes());
        assert_eq!(
            stored,
            [
                serde_json::json!({ "context": { "linkTokenId": id("tok-1"), "page": {} } }),
                serde_json::json!({ "properties": { "linkToken": "not a context" } }),
                serde_json::json!({ "context": { "linkToken": 7 } }),
                serde_json::json!({ "context": { "linkTokenId": id("tok-2") } }),
            ]
        );
        let done: Option<i64> = db
            .read(|sql| {
                sql.one(
                    "SELECT done_at FROM backfills WHERE name = ?1",
                    &vals![LINK_TOKENS],
                    |r| r.get(0),
                )
            })
            .unwrap();
        assert_eq!(done, Some(42));
    }
}
