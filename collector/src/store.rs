//! Storage of events, over SQLite or PostgreSQL (see [`crate::db`]): the schema's migrations in
//! order, a batch's insert transaction (events, identity edges, journeys, forwarding rows), and
//! the events query.

use std::collections::HashMap;

use crate::db::{self, vals, Db, Engine, Migration, Sql, Val};
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

/// The schema, in order. A version is never changed once released: a change is a new one.
/// (The first six create tables with `IF NOT EXISTS`, so a SQLite file from before versioned
/// migrations takes them as they are.)
const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "events",
        sql: SCHEMA,
    },
    Migration {
        version: 2,
        name: "identity graph",
        sql: identity::SCHEMA,
    },
    Migration {
        version: 3,
        name: "link tokens",
        sql: crate::tokens::SCHEMA,
    },
    Migration {
        version: 4,
        name: "journeys",
        sql: crate::journeys::SCHEMA,
    },
    Migration {
        version: 5,
        name: "forwarding",
        sql: crate::forward::SCHEMA,
    },
    Migration {
        version: 6,
        name: "metrics facts",
        sql: crate::metrics::SCHEMA,
    },
    Migration {
        version: 7,
        name: "erasure suppressions",
        sql: crate::erasure::SCHEMA,
    },
    Migration {
        version: 8,
        name: "link tokens' own device limit",
        sql: crate::tokens::MAX_DEVICES_SCHEMA,
    },
    Migration {
        version: 9,
        name: "forwarding destinations' kind",
        sql: crate::forward::KIND_SCHEMA,
    },
    Migration {
        version: 10,
        name: "journey steps' contact addresses",
        sql: crate::journeys::CONTACTS_SCHEMA,
    },
    Migration {
        version: 11,
        name: "raw link tokens hidden in stored events",
        sql: crate::backfill::SCHEMA,
    },
    Migration {
        version: 12,
        name: "bots' facts kept, flagged",
        sql: crate::metrics::BOT_FLAG,
    },
    Migration {
        version: 13,
        name: "cookieless visitors",
        sql: crate::cookieless::SCHEMA,
    },
    Migration {
        version: 14,
        name: "experiment arms' allocation",
        sql: crate::metrics::ALLOCATION,
    },
];

/// Events per multi-row insert (8 parameters each, well within either engine's limit).
const ROWS_PER_INSERT: usize = 250;

/// The event store. Every method blocks, so async code calls it from `spawn_blocking`.
pub(crate) struct Store {
    db: Db,
    journeys: Option<std::sync::Arc<crate::journeys::config::JourneysConfig>>,
    /// The forwarding destinations: each stored event enters the outboxes of those that
    /// take it.
    forward: crate::forward::Outboxes,
    /// Set once the database is seen to hold a suppression (they are never removed): until
    /// then an insert asks whether any exists instead of looking up every id's hash.
    suppressions: std::sync::atomic::AtomicBool,
    /// The day's salt for cookieless visitors.
    cookieless: crate::cookieless::Salts,
}

/// What happened to a batch on insertion.
#[derive(Debug, Default)]
pub(crate) struct InsertOutcome {
    /// `(index in the batch, seq)` of each newly stored event.
    pub stored: Vec<(usize, i64)>,
    /// Events whose `messageId` was already stored (or repeated in the batch).
    pub duplicates: usize,
    /// Events dropped because they carry an erased id (see [`crate::erasure`]).
    pub suppressed: usize,
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
    /// Opens the database `spec` names (a SQLite file path, or a `postgres://` URL),
    /// creating and migrating its schema as needed.
    pub fn open(spec: &str) -> Result<Store, String> {
        Ok(Store {
            db: Db::open(spec, MIGRATIONS)?,
            journeys: None,
            forward: crate::forward::Outboxes::default(),
            suppressions: std::sync::atomic::AtomicBool::new(false),
            cookieless: crate::cookieless::Salts::default(),
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
        self.forward = self
            .with(|sql| crate::forward::register(sql, destinations))
            .map_err(|e| format!("cannot register the forwarding destinations: {e}"))?;
        Ok(self)
    }

    /// The forwarding destinations' ids, in the order of [`crate::Options::forward`].
    pub fn forwarding(&self) -> &[i64] {
        self.forward.ids()
    }

    /// Gives the cookieless events of a batch their visitor and session (see
    /// [`crate::cookieless`]), for a request `from` a client address and user agent.
    pub fn assign_cookieless(
        &self,
        events: &mut [PreparedEvent],
        from: (std::net::IpAddr, &str),
        now: i64,
    ) -> db::Result<()> {
        use crate::cookieless as c;
        if !events.iter().any(|e| c::is_cookieless(&e.object)) {
            return Ok(());
        }
        let (day, due) = (c::day_of(now), self.cookieless.due(now));
        let cached = self.cookieless.cached(day);
        let salt = self.with(|sql| {
            if due {
                c::sweep(sql, now)?;
            }
            let salt = match &cached {
                Some(s) => s.clone(),
                None => c::salt(sql, day)?,
            };
            c::assign(sql, events, &salt, from, now)?;
            Ok(salt)
        })?;
        // Only once committed: a transaction PostgreSQL rolled back made nothing.
        self.cookieless.remember(day, Some(salt), due);
        Ok(())
    }

    /// Deletes the cookieless salts and sessions of the days before `now`'s.
    pub fn sweep_cookieless(&self, now: i64) -> db::Result<()> {
        if !self.cookieless.due(now) {
            return Ok(());
        }
        self.with(|sql| crate::cookieless::sweep(sql, now))?;
        let day = crate::cookieless::day_of(now);
        self.cookieless.remember(day, None, true);
        Ok(())
    }

    /// Inserts a batch in one transaction, ignoring known `messageId`s and dropping events
    /// that carry an erased person's id (see [`crate::erasure`]); `now` (ms) is the
    /// collector's clock, from which journey steps are scheduled. Returns once the
    /// transaction is committed.
    pub fn insert(&self, events: &[PreparedEvent], now: i64) -> db::Result<InsertOutcome> {
        self.with(|sql| self.insert_in(sql, events, now))
    }

    /// Inserts a batch as [`Store::insert`] does, then runs `then` in the same transaction
    /// with what happened (on PostgreSQL both may run again after a lost race).
    pub fn insert_then<T>(
        &self,
        events: &[PreparedEvent],
        now: i64,
        mut then: impl FnMut(&dyn Sql, &InsertOutcome) -> db::Result<T>,
    ) -> db::Result<(InsertOutcome, T)> {
        self.with(|sql| {
            let outcome = self.insert_in(sql, events, now)?;
            let result = then(sql, &outcome)?;
            Ok((outcome, result))
        })
    }

    fn insert_in(
        &self,
        sql: &dyn Sql,
        events: &[PreparedEvent],
        now: i64,
    ) -> db::Result<InsertOutcome> {
        let mut outcome = InsertOutcome::default();
        let mut graph_locked = false;
        // Events carrying an erased id are dropped, in this transaction.
        crate::erasure::ingest_lock(sql)?;
        let kept = crate::erasure::unsuppressed(sql, events, &self.suppressions)?;
        outcome.suppressed = events.len() - kept.len();
        // The new events' sequence numbers by messageId (a repeat in the batch is not new).
        let mut seqs: HashMap<String, i64> = HashMap::with_capacity(kept.len());
        for chunk in kept.chunks(ROWS_PER_INSERT) {
            let mut params = Vec::with_capacity(chunk.len() * 8);
            for ev in chunk.iter().map(|&i| &events[i]) {
                params.extend(vals![
                    &ev.message_id,
                    &ev.kind,
                    &ev.event,
                    &ev.anonymous_id,
                    &ev.user_id,
                    &ev.timestamp,
                    &ev.received_at,
                    ev.body()
                ]);
            }
            let stored = sql.rows(
                &format!(
                    "INSERT INTO events
                     (message_id, type, event, anonymous_id, user_id, timestamp, received_at, body)
                     VALUES {} ON CONFLICT DO NOTHING RETURNING seq, message_id",
                    db::value_rows(8, chunk.len())
                ),
                &params,
                |r| Ok((r.get::<String>(1)?, r.get::<i64>(0)?)),
            )?;
            seqs.extend(stored);
        }
        let new: Vec<(usize, i64)> = kept
            .iter()
            .filter_map(|&i| seqs.remove(&events[i].message_id).map(|seq| (i, seq)))
            .collect();
        outcome.duplicates = kept.len() - new.len();
        if sql.engine() == Engine::Postgres {
            // Sequence numbers do not follow commit order on a server with several writers,
            // so the facts cannot be derived behind a watermark: they are written with their
            // events.
            let facts: Vec<(i64, &PreparedEvent)> =
                new.iter().map(|&(i, seq)| (seq, &events[i])).collect();
            crate::metrics::record(sql, &facts)?;
        }
        for (i, seq) in new {
            let ev = &events[i];
            outcome.stored.push((i, seq));
            if crate::bots::marked(&ev.object) || crate::cookieless::is_cookieless(&ev.object) {
                // Kept and forwarded; no identity, link token or journey (see `bots` and
                // `cookieless`).
                self.forward.enqueue(sql, ev, seq)?;
                continue;
            }
            // The same transaction: an event is stored with its identity edges or not at all.
            // Whoever changes the graph holds its lock (PostgreSQL) from the first read.
            let graph = Graph::new(sql);
            let mut lock = || -> db::Result<()> {
                if !graph_locked {
                    graph.lock()?;
                    graph_locked = true;
                }
                Ok(())
            };
            if identity::may_link(ev) {
                lock()?;
                for (a, b) in identity::edges(ev, &graph)? {
                    if let Linked::Conflict(x, y) = graph.link(&a, &b)? {
                        graph.conflict(&ev.received_at, Some(&ev.message_id), &a, &b, (&x, &y))?;
                    }
                }
            }
            if crate::tokens::carried(ev).is_some() {
                lock()?;
                if let Some(edge) = crate::tokens::redeem(sql, ev)? {
                    crate::tokens::link(&graph, ev, edge)?;
                }
            }
            self.forward.enqueue(sql, ev, seq)?;
            if let Some(journeys) = &self.journeys {
                crate::journeys::observe(sql, journeys, ev, now)?;
            }
        }
        Ok(outcome)
    }

    /// Reads events matching `q` as `(seq, body)` pairs.
    pub fn query(&self, q: &EventQuery) -> db::Result<Vec<(i64, String)>> {
        let mut query = String::from("SELECT seq, body FROM events WHERE 1 = 1");
        let mut args: Vec<Val> = Vec::new();
        let filters = [
            ("anonymous_id", &q.anonymous_id),
            ("user_id", &q.user_id),
            ("type", &q.kind),
            ("event", &q.event),
        ];
        for (column, value) in filters {
            if let Some(value) = value {
                args.push(Val::from(value.clone()));
                query.push_str(&format!(" AND {column} = ?{}", args.len()));
            }
        }
        if let Some(after) = q.after {
            args.push(Val::Int(after));
            query.push_str(&format!(" AND seq > ?{}", args.len()));
        }
        if let Some(before) = q.before {
            args.push(Val::Int(before));
            query.push_str(&format!(" AND seq < ?{}", args.len()));
        }
        args.push(Val::Int(i64::from(q.limit)));
        query.push_str(&format!(
            " ORDER BY seq {} LIMIT ?{}",
            if q.descending { "DESC" } else { "ASC" },
            args.len()
        ));

        self.db
            .read(|sql| sql.rows(&query, &args, |r| Ok((r.get(0)?, r.get(1)?))))
    }

    /// Runs `f` in a snapshot that does not hold up writes: for long reads whose snapshot may
    /// miss what is being written meanwhile. Nothing `f` writes is kept.
    pub fn read<T>(&self, f: impl FnOnce(&dyn Sql) -> db::Result<T>) -> db::Result<T> {
        self.db.read(f)
    }

    /// Runs `f` in one write transaction, committed when it succeeds. On PostgreSQL `f` may
    /// run again when the transaction loses a deadlock or a serialization race.
    pub fn with<T>(&self, f: impl FnMut(&dyn Sql) -> db::Result<T>) -> db::Result<T> {
        self.db.write(f)
    }

    /// Derives the metrics' facts of every event stored so far, a chunk per transaction so
    /// that ingestion goes on between chunks. Returns how many facts were written.
    pub fn catch_up_facts(&self) -> db::Result<u64> {
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
    pub fn count(&self) -> db::Result<i64> {
        self.read(|sql| sql.one("SELECT COUNT(*) FROM events", &[], |r| r.get(0)))
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
        let store = Store::open(&dir.path().join("t.db").display().to_string()).expect("open");
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
