//! Erasure and export of a person, behind the admin token.
//!
//! - `DELETE /v1/profiles/{id}` ([`erase`]): the person an id names (a user id, an anonymous
//!   id or an email, as `GET /v1/profiles/{id}` resolves it), every id and device of their
//!   identity component, is removed in one transaction: events, graph nodes and refused
//!   merges, link tokens issued for them and the devices that redeemed them, journey runs and
//!   steps (the pending ones counted as cancelled) with their discount codes, metrics facts,
//!   forwarding outbox rows and dead letters. The demo inbox drops the calls that mention
//!   them. The answer lists the ids, the rows removed per table, and the forwarding
//!   destinations that were sent the person's events, where the operator files deletions.
//! - A suppression is recorded for each id: a salted SHA-256 ([`suppression_hash`]), never
//!   the id. The store's insert path ([`unsuppressed`]) drops, inside the insert
//!   transaction, every later event that carries one (as `anonymousId`, `userId`, an alias's
//!   `previousId`, or an email in `traits` or `context.traits`), and counts it.
//! - `GET /v1/profiles/{id}/export` ([`export`]): the profile and every event of the person,
//!   as one JSON document or as NDJSON (`?format=ndjson`), written a page of events at a time.
//!
//! On PostgreSQL an insert runs beside the erasure: every insert transaction first takes a
//! shared advisory lock ([`ingest_lock`]), the erasure the same lock exclusively. The
//! suppressions are committed first; a second, empty transaction waits for the inserts whose
//! snapshots predate them; the erasure's own transaction, started after it, sees every event
//! they stored.

use std::collections::HashSet;

use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use futures_util::stream;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::db::{self, marks, vals, Engine, Sql, Val};
use crate::error::ApiError;
use crate::identity::{email_node, sha256_hex, Graph};
use crate::params::{opt, Param, Params};
use crate::profiles::{candidates, not_found};
use crate::state::AppState;
use crate::validate::PreparedEvent;

/// The suppressions: salted SHA-256 of erased ids (see [`suppression_hash`]).
pub(crate) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS suppressions (
    hash      TEXT PRIMARY KEY,
    erased_at INTEGER NOT NULL
);
";

/// The advisory lock every insert takes shared and an erasure exclusively (PostgreSQL).
const INGEST_LOCK: i64 = 7403;

/// Parameters per `IN (...)` list of hashes.
const HASHES_PER_QUERY: usize = 500;

/// Events per page of an export.
const EXPORT_PAGE: i64 = 500;

/// What the suppression table keeps of an id: SHA-256 of a fixed prefix and the id (an
/// email's is that of its graph node, itself a hash). The prefix keeps the table from
/// matching any other table's hashes.
pub(crate) fn suppression_hash(id: &str) -> String {
    sha256_hex(format!("shoptrail-erased\0{id}").as_bytes())
}

/// Takes the ingestion side of the erasure lock (shared), before an insert reads anything.
pub(crate) fn ingest_lock(sql: &dyn Sql) -> db::Result<()> {
    if sql.engine() == Engine::Postgres {
        sql.query(
            "SELECT pg_advisory_xact_lock_shared(?1)",
            &vals![INGEST_LOCK],
        )?;
    }
    Ok(())
}

/// Takes the ingestion lock exclusively (PostgreSQL): no insert is under way until the
/// transaction ends, and what the inserts before stored is seen. Erasure and the retention's
/// removal of graph components take it, before the graph's lock.
pub(crate) fn erase_lock(sql: &dyn Sql) -> db::Result<()> {
    if sql.engine() == Engine::Postgres {
        sql.query("SELECT pg_advisory_xact_lock(?1)", &vals![INGEST_LOCK])?;
    }
    Ok(())
}

/// The suppression hashes of the ids an event carries.
fn carried_hashes(ev: &PreparedEvent) -> Vec<String> {
    let mut out = Vec::new();
    for id in [&ev.anonymous_id, &ev.user_id].into_iter().flatten() {
        out.push(suppression_hash(id));
    }
    if let Some(prev) = ev.object.get("previousId").and_then(Value::as_str) {
        out.push(suppression_hash(prev));
    }
    let traits = [
        ev.object.get("traits"),
        ev.object.get("context").and_then(|c| c.get("traits")),
    ];
    for email in traits
        .into_iter()
        .flatten()
        .filter_map(|t| t.get("email").and_then(Value::as_str))
        .filter(|e| e.contains('@'))
    {
        out.push(suppression_hash(&email_node(email).1));
    }
    out
}

/// Of a batch about to be stored, the indexes of the events that carry no erased id; the
/// caller drops the others. Runs in the insert transaction, after [`ingest_lock`]. `seen`
/// remembers that the table holds a suppression (none is ever removed); until it does, one
/// constant query tells that nobody was erased and no id is hashed or looked up: the lookup
/// of every id cost the ingestion about 13% of its events/s on either engine (`cargo xtask
/// load`).
pub(crate) fn unsuppressed(
    sql: &dyn Sql,
    events: &[PreparedEvent],
    seen: &std::sync::atomic::AtomicBool,
) -> db::Result<Vec<usize>> {
    use std::sync::atomic::Ordering::Relaxed;
    if !seen.load(Relaxed) {
        let any: i64 = sql.one(
            "SELECT COUNT(*) FROM (SELECT 1 FROM suppressions LIMIT 1) s",
            &[],
            |r| r.get(0),
        )?;
        if any == 0 {
            return Ok((0..events.len()).collect());
        }
        seen.store(true, Relaxed);
    }
    let per_event: Vec<Vec<String>> = events.iter().map(carried_hashes).collect();
    let mut all: Vec<&String> = per_event.iter().flatten().collect();
    all.sort_unstable();
    all.dedup();
    let mut suppressed: HashSet<String> = HashSet::new();
    for chunk in all.chunks(HASHES_PER_QUERY) {
        let args: Vec<Val> = chunk.iter().map(|h| Val::from(h.as_str())).collect();
        let found: Vec<String> = sql.rows(
            &format!(
                "SELECT hash FROM suppressions WHERE hash IN ({})",
                marks(1, chunk.len())
            ),
            &args,
            |r| r.get(0),
        )?;
        suppressed.extend(found);
    }
    Ok(per_event
        .iter()
        .enumerate()
        .filter(|(_, hashes)| !hashes.iter().any(|h| suppressed.contains(h)))
        .map(|(i, _)| i)
        .collect())
}

/// A person's ids: the members of their identity component.
#[derive(Debug, Default, Clone)]
struct Person {
    /// The component's root in `id_nodes`, when the graph knows the person.
    root: Option<i64>,
    anon: Vec<String>,
    users: Vec<String>,
    /// Email nodes' values (SHA-256 of the address).
    emails: Vec<String>,
}

impl Person {
    /// Every id, to suppress.
    fn all(&self) -> impl Iterator<Item = &String> {
        self.anon.iter().chain(&self.users).chain(&self.emails)
    }

    /// `(anonymous_id IN (...) OR user_id IN (...))` over `columns`, numbered from 1, and
    /// its parameters.
    fn filter(&self, (anon_col, user_col): (&str, &str)) -> (String, Vec<Val<'_>>) {
        let filter = format!(
            "({anon_col} IN ({}) OR {user_col} IN ({}))",
            marks(1, self.anon.len()),
            marks(1 + self.anon.len(), self.users.len())
        );
        let args = self
            .anon
            .iter()
            .chain(&self.users)
            .map(|s| Val::from(s.as_str()))
            .collect();
        (filter, args)
    }
}

/// The person `id` names: their identity component, or, for an id the graph does not know
/// but events carry (a device that never signed in), that id alone. Takes the graph's lock.
fn resolve(sql: &dyn Sql, id: &str) -> db::Result<Option<Person>> {
    let graph = Graph::new(sql);
    graph.lock()?;
    for n in candidates(id) {
        let Some(root) = graph.root_of(&n)? else {
            continue;
        };
        let mut p = Person {
            root: Some(root),
            ..Person::default()
        };
        for (kind, value) in graph.members(root)? {
            match kind.as_str() {
                "anonymousId" => p.anon.push(value),
                "userId" => p.users.push(value),
                "email" => p.emails.push(value),
                _ => {}
            }
        }
        return Ok(Some(p));
    }
    let seen = |column: &str| {
        sql.opt(
            &format!("SELECT 1 FROM events WHERE {column} = ?1 LIMIT 1"),
            &vals![id],
            |_| Ok(()),
        )
        .map(|r| r.is_some())
    };
    let mut p = Person::default();
    if seen("anonymous_id")? {
        p.anon.push(id.to_owned());
    }
    if seen("user_id")? {
        p.users.push(id.to_owned());
    }
    Ok((!p.anon.is_empty() || !p.users.is_empty()).then_some(p))
}

fn suppress(sql: &dyn Sql, person: &Person, now: i64) -> db::Result<()> {
    for id in person.all() {
        sql.execute(
            "INSERT INTO suppressions (hash, erased_at) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
            &vals![suppression_hash(id), now],
        )?;
    }
    Ok(())
}

/// What an erasure removed.
#[derive(Debug)]
struct Erased {
    person: Person,
    /// Rows removed, by table.
    removed: Map<String, Value>,
    /// Journey steps that were still to be sent.
    cancelled_steps: i64,
    /// Destinations sent some of the person's events: `(shown url, events sent, events
    /// that were waiting and now never will be)`.
    forwarded: Vec<(String, i64, i64)>,
    /// What the demo inbox may hold of the person besides their ids: addresses, the
    /// idempotency keys of their steps.
    needles: Vec<String>,
}

/// Erases the person `id` names in the caller's transaction (see the module's notes).
fn erase_in(sql: &dyn Sql, id: &str, now: i64) -> db::Result<Option<Erased>> {
    erase_lock(sql)?;
    let Some(person) = resolve(sql, id)? else {
        return Ok(None);
    };
    suppress(sql, &person, now)?;
    let (ev_filter, ev_args) = person.filter(("anonymous_id", "user_id"));
    let person_seqs = format!("SELECT seq FROM events WHERE {ev_filter}");
    let mut removed = Map::new();
    let mut count = |table: &str, n: u64| {
        let at = removed.entry(table.to_owned()).or_insert(json!(0));
        *at = json!(at.as_u64().unwrap_or(0) + n);
    };

    // Addresses the events gave, for the inbox (the graph keeps only their hashes).
    let mut needles: Vec<String> = Vec::new();
    let identifies: Vec<String> = sql.rows(
        &format!("SELECT body FROM events WHERE type = 'identify' AND {ev_filter}"),
        &ev_args,
        |r| r.get(0),
    )?;
    for body in identifies {
        let v: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
        if let Some(e) = v["traits"]["email"].as_str() {
            needles.push(e.to_owned());
        }
    }
    if id.contains('@') {
        needles.push(id.to_owned());
    }

    // Forwarding: what each destination was sent (no outbox row, no dead letter left).
    let forwarded: Vec<(String, i64, i64)> = sql.rows(
        &format!(
            "SELECT d.url,
               (SELECT COUNT(*) FROM events e WHERE e.seq IN ({person_seqs})
                  AND NOT EXISTS (SELECT 1 FROM forward_outbox o
                                  WHERE o.destination = d.id AND o.seq = e.seq)
                  AND NOT EXISTS (SELECT 1 FROM forward_dead x
                                  WHERE x.destination = d.id AND x.seq = e.seq)),
               (SELECT COUNT(*) FROM forward_outbox o
                  WHERE o.destination = d.id AND o.seq IN ({person_seqs}))
             FROM forward_destinations d ORDER BY d.id"
        ),
        &ev_args,
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )?;
    let forwarded = forwarded
        .into_iter()
        .filter(|(_, sent, _)| *sent > 0)
        .map(|(url, sent, pending)| (crate::forward::shown(&url), sent, pending))
        .collect();

    // Rows keyed by the events' seq, then the events.
    for table in ["forward_outbox", "forward_dead"] {
        count(
            table,
            sql.execute(
                &format!("DELETE FROM {table} WHERE seq IN ({person_seqs})"),
                &ev_args,
            )?,
        );
    }
    count(
        "facts",
        sql.execute(
            &format!("DELETE FROM facts WHERE seq IN ({person_seqs}) OR {ev_filter}"),
            &ev_args,
        )?,
    );
    count(
        "events",
        sql.execute(&format!("DELETE FROM events WHERE {ev_filter}"), &ev_args)?,
    );

    // Journeys: the runs, their steps and codes.
    let (run_filter, run_args) = person.filter(("anonymous_id", "user_id"));
    let runs = format!("SELECT id FROM journey_runs WHERE {run_filter}");
    let steps: Vec<(String, String, Option<String>)> = sql.rows(
        &format!("SELECT idempotency_key, status, code FROM journey_steps WHERE run IN ({runs})"),
        &run_args,
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )?;
    let cancelled_steps = steps
        .iter()
        .filter(|s| s.1 == crate::journeys::SCHEDULED || s.1 == "sending")
        .count() as i64;
    for (key, _, code) in steps {
        needles.push(key);
        needles.extend(code);
    }
    count(
        "discount_codes",
        sql.execute(
            &format!(
                "DELETE FROM discount_codes WHERE step IN
                 (SELECT id FROM journey_steps WHERE run IN ({runs}))"
            ),
            &run_args,
        )?,
    );
    count(
        "journey_steps",
        sql.execute(
            &format!("DELETE FROM journey_steps WHERE run IN ({runs})"),
            &run_args,
        )?,
    );
    count(
        "journey_runs",
        sql.execute(
            &format!("DELETE FROM journey_runs WHERE {run_filter}"),
            &run_args,
        )?,
    );

    // Link tokens issued for the person, and the devices that redeemed them.
    let token_filter = format!(
        "user_id IN ({}) OR email IN ({})",
        marks(1, person.users.len()),
        marks(1 + person.users.len(), person.emails.len())
    );
    let token_args: Vec<Val> = person
        .users
        .iter()
        .chain(&person.emails)
        .map(|s| Val::from(s.as_str()))
        .collect();
    let mut device_args = token_args.clone();
    device_args.extend(person.anon.iter().map(|s| Val::from(s.as_str())));
    count(
        "link_token_devices",
        sql.execute(
            &format!(
                "DELETE FROM link_token_devices
                 WHERE hash IN (SELECT hash FROM link_tokens WHERE {token_filter})
                 OR anonymous_id IN ({})",
                marks(1 + token_args.len(), person.anon.len())
            ),
            &device_args,
        )?,
    );
    count(
        "link_tokens",
        sql.execute(
            &format!("DELETE FROM link_tokens WHERE {token_filter}"),
            &token_args,
        )?,
    );

    // The graph: refused merges naming any id, then the component.
    let values: Vec<Val> = person.all().map(|s| Val::from(s.as_str())).collect();
    let n = values.len();
    let mut conflict_args = values.clone();
    conflict_args.extend(person.users.iter().map(|s| Val::from(s.as_str())));
    let users_marks = marks(n + 1, person.users.len());
    count(
        "id_conflicts",
        sql.execute(
            &format!(
                "DELETE FROM id_conflicts WHERE a_value IN ({all}) OR b_value IN ({all})
                 OR user_a IN ({users_marks}) OR user_b IN ({users_marks})",
                all = marks(1, n)
            ),
            &conflict_args,
        )?,
    );
    let nodes = match person.root {
        None => 0,
        Some(root) => sql.execute(
            "DELETE FROM id_nodes WHERE id IN (
                     WITH RECURSIVE m(id) AS (
                         SELECT CAST(?1 AS BIGINT)
                         UNION
                         SELECT n.id FROM id_nodes n JOIN m ON n.parent = m.id
                     )
                     SELECT id FROM m)",
            &vals![root],
        )?,
    };
    count("id_nodes", nodes);
    Ok(Some(Erased {
        person,
        removed,
        cancelled_steps,
        forwarded,
        needles,
    }))
}

/// Whether a JSON value holds one of `needles` as a string (addresses in any case).
fn mentions(v: &Value, needles: &HashSet<String>) -> bool {
    match v {
        Value::String(s) => needles.contains(s) || needles.contains(&s.trim().to_lowercase()),
        Value::Array(a) => a.iter().any(|x| mentions(x, needles)),
        Value::Object(o) => o.values().any(|x| mentions(x, needles)),
        _ => false,
    }
}

fn internal(e: impl std::fmt::Display) -> ApiError {
    ApiError::internal(format!("database: {e}"))
}

/// `DELETE /v1/profiles/{id}` (admin): erases the person `id` names (see the module's notes).
/// Answers `{ ids, removed, cancelledSteps, inbox, forwarded }`; 404 when no stored data has
/// the id.
pub(crate) async fn erase(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    match erase_person(&state, id).await? {
        Some(answer) => Ok(Json(answer)),
        None => Err(not_found()),
    }
}

/// Erases the person `id` names, as `DELETE /v1/profiles/{id}` does; its answer, or `None`
/// when nothing holds the id. Shopify's `customers/redact` calls it too.
pub(crate) async fn erase_person(state: &AppState, id: String) -> Result<Option<Value>, ApiError> {
    let now = state.clock().now_ms();
    let store = state.store();
    let erased = tokio::task::spawn_blocking(move || {
        // PostgreSQL: the suppressions first, then a barrier behind the inserts that began
        // before them (see the module's notes). SQLite has one writer at a time.
        let found = store.with(|sql| {
            if sql.engine() != Engine::Postgres {
                return Ok(true);
            }
            erase_lock(sql)?;
            let Some(person) = resolve(sql, &id)? else {
                return Ok(false);
            };
            suppress(sql, &person, now)?;
            Ok(true)
        })?;
        if !found {
            return Ok(None);
        }
        store.with(erase_lock)?;
        store.with(|sql| erase_in(sql, &id, now))
    })
    .await
    .map_err(internal)?
    .map_err(internal)?;
    let Some(erased) = erased else {
        return Ok(None);
    };
    let mut needles: HashSet<String> = erased.person.all().cloned().collect();
    for n in &erased.needles {
        needles.insert(n.clone());
        needles.insert(n.trim().to_lowercase());
    }
    let inbox = {
        let mut inbox = state.inbox();
        let before = inbox.len();
        inbox.retain(|call| !mentions(call, &needles));
        before - inbox.len()
    };
    let p = &erased.person;
    let forwarded: Vec<Value> = erased
        .forwarded
        .iter()
        .map(|(url, sent, pending)| json!({ "url": url, "sent": sent, "unsent": pending }))
        .collect();
    Ok(Some(json!({
        "ids": { "userIds": p.users, "anonymousIds": p.anon, "emailHashes": p.emails },
        "removed": erased.removed,
        "cancelledSteps": erased.cancelled_steps,
        "inbox": inbox,
        "forwarded": forwarded,
    })))
}

/// The query string of `GET /v1/profiles/{id}/export`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ExportQuery {
    /// `json` (the default) or `ndjson`.
    #[serde(default, deserialize_with = "opt")]
    format: Option<ExportFormat>,
}

/// The export's shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ExportFormat {
    Json,
    Ndjson,
}

impl Param for ExportFormat {
    fn parse(text: &str) -> Result<ExportFormat, String> {
        match text {
            "json" => Ok(ExportFormat::Json),
            "ndjson" => Ok(ExportFormat::Ndjson),
            other => Err(format!("must be json or ndjson, not '{other}'")),
        }
    }
}

/// Where an export's body is.
struct Cursor {
    store: std::sync::Arc<crate::store::Store>,
    person: Person,
    ndjson: bool,
    /// The head (the profile) not yet written.
    head: Option<String>,
    after: i64,
    first: bool,
    done: bool,
}

/// The next piece of an export: the head, then a page of events, then the tail.
async fn next_piece(mut c: Cursor) -> Option<(Result<Bytes, std::io::Error>, Cursor)> {
    if let Some(head) = c.head.take() {
        return Some((Ok(Bytes::from(head)), c));
    }
    if c.done {
        return None;
    }
    let store = c.store.clone();
    let person = c.person.clone();
    let after = c.after;
    let page = tokio::task::spawn_blocking(move || {
        let (filter, mut args) = person.filter(("anonymous_id", "user_id"));
        args.push(Val::Int(after));
        args.push(Val::Int(EXPORT_PAGE));
        let n = args.len();
        store.read(|sql| {
            sql.rows(
                &format!(
                    "SELECT seq, body FROM events WHERE {filter} AND seq > ?{}
                     ORDER BY seq LIMIT ?{n}",
                    n - 1
                ),
                &args,
                |r| Ok((r.get::<i64>(0)?, r.get::<String>(1)?)),
            )
        })
    })
    .await;
    let page = match page {
        Ok(Ok(page)) => page,
        Ok(Err(e)) => return Some((Err(std::io::Error::other(e.to_string())), c)),
        Err(e) => return Some((Err(std::io::Error::other(e.to_string())), c)),
    };
    let mut out = String::new();
    if (page.len() as i64) < EXPORT_PAGE {
        c.done = true;
    }
    for (seq, body) in &page {
        let mut event = match serde_json::from_str(body) {
            Ok(Value::Object(map)) => map,
            _ => Map::from_iter([("body".to_owned(), Value::String(body.clone()))]),
        };
        event.insert("seq".to_owned(), json!(seq));
        if !c.ndjson && !c.first {
            out.push(',');
        }
        c.first = false;
        out.push_str(&Value::Object(event).to_string());
        if c.ndjson {
            out.push('\n');
        }
        c.after = *seq;
    }
    if c.done && !c.ndjson {
        out.push_str("]}");
    }
    Some((Ok(Bytes::from(out)), c))
}

/// `GET /v1/profiles/{id}/export` (admin): the profile (as `GET /v1/profiles/{id}` gives it)
/// and every event of the person, oldest first, each with its `seq`: one JSON document
/// `{"profile": ..., "events": [...]}`, or with `?format=ndjson` a line `{"profile": ...}`
/// followed by a line per event. Events are read and written a page at a time.
pub(crate) async fn export(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Params(q): Params<ExportQuery>,
) -> Result<Response, ApiError> {
    let ndjson = q.format == Some(ExportFormat::Ndjson);
    let store = state.store();
    let found = tokio::task::spawn_blocking(move || {
        store.with(|sql| {
            let Some(person) = resolve(sql, &id)? else {
                return Ok(None);
            };
            let profile = crate::profiles::build_of(
                sql,
                (&person.anon, &person.users, &person.emails),
                100,
                None,
            )?;
            Ok(Some((person, profile)))
        })
    })
    .await
    .map_err(internal)?
    .map_err(internal)?;
    let Some((person, profile)) = found else {
        return Err(not_found());
    };
    let head = if ndjson {
        format!("{}\n", json!({ "profile": profile }))
    } else {
        format!("{{\"profile\":{profile},\"events\":[")
    };
    let cursor = Cursor {
        store: state.store(),
        person,
        ndjson,
        head: Some(head),
        after: 0,
        first: true,
        done: false,
    };
    let body = Body::from_stream(stream::unfold(cursor, next_piece));
    let kind = if ndjson {
        "application/x-ndjson"
    } else {
        "application/json"
    };
    let mut response = body.into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
    Ok(response)
}
