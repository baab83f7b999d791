//! SQLite storage of events.

use std::path::Path;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use rusqlite::types::Value as SqlValue;
use rusqlite::{params, params_from_iter, Connection};

use crate::identity::{self, Graph, Linked};
use crate::validate::PreparedEvent;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS events (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    message_id   TEXT NOT NULL UNIQUE,
    type         TEXT NOT NULL,
    event        TEXT,
    anonymous_id TEXT,
    user_id      TEXT,
    timestamp    TEXT,
    received_at  TEXT NOT NULL,
    body         TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_anonymous_id ON events (anonymous_id);
CREATE INDEX IF NOT EXISTS events_user_id ON events (user_id);
CREATE INDEX IF NOT EXISTS events_type ON events (type);
";

/// The event store: one SQLite connection behind a mutex. Every method
/// blocks, so async code calls it from `spawn_blocking`.
pub(crate) struct Store {
    conn: Mutex<Connection>,
    /// A second connection for long reads (the metrics): in WAL mode it reads a snapshot
    /// while the first one keeps writing.
    reader: Mutex<Connection>,
    journeys: Option<std::sync::Arc<crate::journeys::config::JourneysConfig>>,
    /// The forwarding destinations' ids: each stored event enters their outboxes.
    forward: Vec<i64>,
}

/// What happened to a batch on insertion.
#[derive(Debug, Default)]
pub(crate) struct InsertOutcome {
    /// `(index in the batch, seq)` of each newly stored event.
    pub stored: Vec<(usize, i64)>,
    /// Events whose `messageId` was already stored (or repeated in the batch).
    pub duplicates: usize,
}

/// Filters and paging for reading events back.
#[derive(Debug, Clone, Default)]
pub(crate) struct EventQuery {
    pub anonymous_id: Option<String>,
    pub user_id: Option<String>,
    pub kind: Option<String>,
    pub event: Option<String>,
    /// Only rows with a greater `seq`.
    pub after: Option<i64>,
    /// Only rows with a smaller `seq`.
    pub before: Option<i64>,
    pub limit: u32,
    /// Newest first instead of arrival order.
    pub descending: bool,
}

impl Store {
    /// Opens (creating if needed) the database at `path`, in WAL mode.
    pub fn open(path: &Path) -> Result<Store, String> {
        let conn = Connection::open(path).map_err(|e| e.to_string())?;
        Self::setup(&conn).map_err(|e| e.to_string())?;
        let mode: String = conn
            .query_row("PRAGMA journal_mode", [], |row| row.get(0))
            .map_err(|e| e.to_string())?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(format!(
                "could not switch the database to WAL mode (journal_mode is {mode})"
            ));
        }
        let reader = Connection::open(path).map_err(|e| e.to_string())?;
        reader
            .busy_timeout(Duration::from_secs(5))
            .map_err(|e| e.to_string())?;
        Ok(Store {
            conn: Mutex::new(conn),
            reader: Mutex::new(reader),
            journeys: None,
            forward: Vec::new(),
        })
    }

    /// Makes stored events move these journeys (see [`crate::journeys::observe`]).
    pub fn with_journeys(
        mut self,
        journeys: Option<std::sync::Arc<crate::journeys::config::JourneysConfig>>,
    ) -> Store {
        self.journeys = journeys;
        self
    }

    /// Registers the forwarding destinations; every event stored from now on enters their
    /// outboxes.
    pub fn with_forwarding(
        mut self,
        destinations: &[crate::forward::Destination],
    ) -> Result<Store, String> {
        let ids = crate::forward::register(&self.lock(), destinations)
            .map_err(|e| format!("cannot register the forwarding destinations: {e}"))?;
        self.forward = ids;
        Ok(self)
    }

    /// The forwarding destinations' ids, in `--forward` order.
    pub fn forwarding(&self) -> &[i64] {
        &self.forward
    }

    fn setup(conn: &Connection) -> rusqlite::Result<()> {
        conn.busy_timeout(Duration::from_secs(5))?;
        let _mode: String = conn.query_row("PRAGMA journal_mode=WAL", [], |row| row.get(0))?;
        conn.execute_batch("PRAGMA synchronous=NORMAL;")?;
        conn.execute_batch(SCHEMA)?;
        conn.execute_batch(crate::identity::SCHEMA)?;
        conn.execute_batch(crate::tokens::SCHEMA)?;
        conn.execute_batch(crate::journeys::SCHEMA)?;
        conn.execute_batch(crate::forward::SCHEMA)?;
        conn.execute_batch(crate::metrics::SCHEMA)
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock leaves no open transaction behind
        // (dropping a transaction rolls it back), so the connection is usable.
        self.conn
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Inserts a batch in one transaction, ignoring known `messageId`s; `now` (ms) is the
    /// collector's clock, from which journey steps are scheduled. Returns once the
    /// transaction is committed.
    pub fn insert(&self, events: &[PreparedEvent], now: i64) -> rusqlite::Result<InsertOutcome> {
        let mut conn = self.lock();
        let tx = conn.transaction()?;
        let mut outcome = InsertOutcome::default();
        {
            let mut stmt = tx.prepare_cached(
                "INSERT OR IGNORE INTO events
                 (message_id, type, event, anonymous_id, user_id, timestamp, received_at, body)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )?;
            for (i, ev) in events.iter().enumerate() {
                let changed = stmt.execute(params![
                    ev.message_id,
                    ev.kind,
                    ev.event,
                    ev.anonymous_id,
                    ev.user_id,
                    ev.timestamp,
                    ev.received_at,
                    ev.body(),
                ])?;
                if changed == 1 {
                    let seq = tx.last_insert_rowid();
                    outcome.stored.push((i, seq));
                    // The same transaction: an event is stored with its identity edges or
                    // not at all.
                    let graph = Graph::new(&tx);
                    for (a, b) in identity::edges(ev, &graph)? {
                        if let Linked::Conflict(x, y) = graph.link(&a, &b)? {
                            graph.conflict(
                                &ev.received_at,
                                Some(&ev.message_id),
                                &a,
                                &b,
                                (&x, &y),
                            )?;
                        }
                    }
                    if let Some(edge) = crate::tokens::redeem(&tx, ev)? {
                        crate::tokens::link(&graph, ev, edge)?;
                    }
                    crate::forward::enqueue(&tx, &self.forward, seq)?;
                    if let Some(journeys) = &self.journeys {
                        crate::journeys::observe(&tx, journeys, ev, now)?;
                    }
                } else {
                    outcome.duplicates += 1;
                }
            }
        }
        tx.commit()?;
        Ok(outcome)
    }

    /// Reads events matching `q` as `(seq, body)` pairs.
    pub fn query(&self, q: &EventQuery) -> rusqlite::Result<Vec<(i64, String)>> {
        let mut sql = String::from("SELECT seq, body FROM events WHERE 1 = 1");
        let mut args: Vec<SqlValue> = Vec::new();
        let filters = [
            ("anonymous_id", &q.anonymous_id),
            ("user_id", &q.user_id),
            ("type", &q.kind),
            ("event", &q.event),
        ];
        for (column, value) in filters {
            if let Some(value) = value {
                args.push(SqlValue::Text(value.clone()));
                sql.push_str(&format!(" AND {column} = ?{}", args.len()));
            }
        }
        if let Some(after) = q.after {
            args.push(SqlValue::Integer(after));
            sql.push_str(&format!(" AND seq > ?{}", args.len()));
        }
        if let Some(before) = q.before {
            args.push(SqlValue::Integer(before));
            sql.push_str(&format!(" AND seq < ?{}", args.len()));
        }
        args.push(SqlValue::Integer(i64::from(q.limit)));
        sql.push_str(&format!(
            " ORDER BY seq {} LIMIT ?{}",
            if q.descending { "DESC" } else { "ASC" },
            args.len()
        ));

        let conn = self.lock();
        let mut stmt = conn.prepare_cached(&sql)?;
        let rows = stmt.query_map(params_from_iter(args), |row| {
            Ok((row.get::<_, i64>(0)?, row.get::<_, String>(1)?))
        })?;
        rows.collect()
    }

    /// Runs `f` with the reading connection, which does not hold up writes: for long reads
    /// whose snapshot may miss what is being written meanwhile.
    pub fn read<T>(
        &self,
        f: impl FnOnce(&Connection) -> rusqlite::Result<T>,
    ) -> rusqlite::Result<T> {
        f(&self
            .reader
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()))
    }

    /// Runs `f` with the connection (the lock held).
    pub fn with<T>(
        &self,
        f: impl FnOnce(&Connection) -> rusqlite::Result<T>,
    ) -> rusqlite::Result<T> {
        f(&self.lock())
    }

    /// Derives the metrics' facts of every event stored so far, a chunk per transaction so
    /// that ingestion goes on between chunks. Returns how many facts were written.
    pub fn catch_up_facts(&self) -> rusqlite::Result<u64> {
        let mut written = 0;
        loop {
            match self.with(crate::metrics::catch_up_chunk)? {
                0 => return Ok(written),
                n => written += n,
            }
        }
    }

    /// The number of stored events.
    #[cfg(test)]
    pub fn count(&self) -> rusqlite::Result<i64> {
        self.lock()
            .query_row("SELECT COUNT(*) FROM events", [], |row| row.get(0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validate::prepare_batch;
    use serde_json::json;

    fn batch(ids: &[&str]) -> Vec<PreparedEvent> {
        let events: Vec<_> = ids
            .iter()
            .map(|id| json!({"type":"track","messageId":id,"anonymousId":"a","event":"E"}))
            .collect();
        prepare_batch(json!({ "batch": events }), "2026-01-01T00:00:00.000Z").expect("valid")
    }

    #[test]
    fn deduplicates_across_and_within_batches() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(&dir.path().join("t.db")).expect("open");
        let first = store.insert(&batch(&["a", "b", "a"]), 0).expect("insert");
        assert_eq!(first.stored.len(), 2);
        assert_eq!(first.duplicates, 1);
        let second = store.insert(&batch(&["b", "c"]), 0).expect("insert");
        assert_eq!(second.stored.len(), 1);
        assert_eq!(second.duplicates, 1);
        assert_eq!(store.count().expect("count"), 3);

        let all = store
            .query(&EventQuery {
                limit: 10,
                ..EventQuery::default()
            })
            .expect("query");
        // Ignored inserts may leave gaps in seq; the order is what counts.
        let seqs: Vec<i64> = all.iter().map(|r| r.0).collect();
        assert_eq!(seqs.len(), 3);
        assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");
        let stored_seqs: Vec<i64> = first
            .stored
            .iter()
            .chain(&second.stored)
            .map(|s| s.1)
            .collect();
        assert_eq!(seqs, stored_seqs);
        let newest = store
            .query(&EventQuery {
                limit: 2,
                descending: true,
                ..EventQuery::default()
            })
            .expect("query");
        assert_eq!(
            newest.iter().map(|r| r.0).collect::<Vec<_>>(),
            vec![seqs[2], seqs[1]]
        );
    }
}
