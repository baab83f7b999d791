//! The identity graph under `--retention`: a component none of whose anonymous or user ids
//! any stored event holds any more is removed, with what repeats its edges elsewhere (see
//! the notes of [`super`]).
//!
//! Two passes per set of components. The first reads a snapshot, holds up nothing and finds
//! the components with no event left: most have some. The second, one write transaction per
//! few hundred components, takes the ingestion lock exclusively and then the graph's lock
//! (PostgreSQL; SQLite has one writer), the order inserts and erasure take them in, checks
//! each component again and removes it. An insert for one of its ids waits for that
//! transaction: it is stored before the check (and the component stays) or after the
//! removal (and makes new nodes), never beside it, so no node is left pointing at a removed
//! parent and no event's person loses their graph.

use std::collections::{BTreeMap, HashSet};

use crate::db::{self, marks, vals, Sql, Val};
use crate::identity::{Graph, Node};
use crate::store::Store;

/// Components checked again and removed per transaction.
const PER_TRANSACTION: usize = 200;

/// Values per `IN (...)` list.
const PER_LIST: usize = 500;

/// Components the sweep looks at per purge (see [`sweep`]).
pub(super) const SWEEP_PER_PURGE: usize = 20_000;

/// Parent pointers followed before a walk gives up (union by size keeps trees far lower).
const MAX_DEPTH: usize = 256;

/// Rows removed, by table.
pub(super) type Counts = Vec<(&'static str, u64)>;

/// The root of `node`'s component, read without shortening paths (a snapshot may not
/// write); none when the graph does not know the node.
fn root_read_only(sql: &dyn Sql, (kind, value): &Node) -> db::Result<Option<i64>> {
    let Some(mut at) = sql.opt(
        "SELECT id FROM id_nodes WHERE kind = ?1 AND value = ?2",
        &vals![*kind, value],
        |r| r.get::<i64>(0),
    )?
    else {
        return Ok(None);
    };
    for _ in 0..MAX_DEPTH {
        let parent: Option<i64> = sql.opt(
            "SELECT parent FROM id_nodes WHERE id = ?1",
            &vals![at],
            |r| r.get(0),
        )?;
        match parent {
            Some(p) if p == at => return Ok(Some(at)),
            Some(p) => at = p,
            None => return Ok(None),
        }
    }
    Ok(None)
}

/// Whether some stored event holds one of `values` in `column`.
fn any_event(sql: &dyn Sql, column: &str, values: &[&str]) -> db::Result<bool> {
    for chunk in values.chunks(PER_LIST) {
        let args: Vec<Val> = chunk.iter().map(|v| Val::from(*v)).collect();
        let found = sql.opt(
            &format!(
                "SELECT 1 FROM events WHERE {column} IN ({}) LIMIT 1",
                marks(1, chunk.len())
            ),
            &args,
            |_| Ok(()),
        )?;
        if found.is_some() {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Whether no stored event holds an anonymous or user id of `members`.
fn forgotten(sql: &dyn Sql, members: &[(String, String)]) -> db::Result<bool> {
    let of = |kind: &str| -> Vec<&str> {
        members
            .iter()
            .filter(|(k, _)| k == kind)
            .map(|(_, v)| v.as_str())
            .collect()
    };
    Ok(!any_event(sql, "anonymous_id", &of("anonymousId"))?
        && !any_event(sql, "user_id", &of("userId"))?)
}

/// Of the components rooted at `roots`, those no stored event names (first pass).
fn candidates(sql: &dyn Sql, roots: &[i64]) -> db::Result<Vec<i64>> {
    let graph = Graph::new(sql);
    let mut out = Vec::new();
    for &root in roots {
        if forgotten(sql, &graph.members(root)?)? {
            out.push(root);
        }
    }
    Ok(out)
}

/// Removes the components rooted at `roots` that are still roots of components no stored
/// event names, under the locks (second pass); the rows removed by table.
fn remove(sql: &dyn Sql, roots: &[i64]) -> db::Result<Counts> {
    crate::erasure::erase_lock(sql)?;
    let graph = Graph::new(sql);
    graph.lock()?;
    let (mut nodes, mut gone) = (0, Vec::new());
    for &root in roots {
        let still_root = sql
            .opt(
                "SELECT 1 FROM id_nodes WHERE id = ?1 AND parent = ?1",
                &vals![root],
                |_| Ok(()),
            )?
            .is_some();
        if !still_root {
            continue;
        }
        let members = graph.members(root)?;
        if !forgotten(sql, &members)? {
            continue;
        }
        nodes += sql.execute(
            "DELETE FROM id_nodes WHERE id IN (
                 WITH RECURSIVE m(id) AS (
                     SELECT CAST(?1 AS BIGINT)
                     UNION
                     SELECT n.id FROM id_nodes n JOIN m ON n.parent = m.id
                 )
                 SELECT id FROM m)",
            &vals![root],
        )?;
        gone.extend(members);
    }
    let devices = forget_devices(sql, &gone)?;
    let conflicts = forget_conflicts(sql, &gone)?;
    Ok(vec![
        ("id_nodes", nodes),
        ("link_token_devices", devices),
        ("id_conflicts", conflicts),
    ])
}

/// Removes the link-token redemptions of the removed anonymous ids (each one is the edge
/// the graph held, between the device and the token's person) and gives the tokens their
/// device back; the rows removed.
fn forget_devices(sql: &dyn Sql, gone: &[(String, String)]) -> db::Result<u64> {
    let anon: Vec<&str> = gone
        .iter()
        .filter(|(k, _)| k == "anonymousId")
        .map(|(_, v)| v.as_str())
        .collect();
    let mut per_token: BTreeMap<String, i64> = BTreeMap::new();
    let mut removed = 0;
    for chunk in anon.chunks(PER_LIST) {
        let args: Vec<Val> = chunk.iter().map(|v| Val::from(*v)).collect();
        let hashes: Vec<String> = sql.rows(
            &format!(
                "DELETE FROM link_token_devices WHERE anonymous_id IN ({}) RETURNING hash",
                marks(1, chunk.len())
            ),
            &args,
            |r| r.get(0),
        )?;
        removed += hashes.len() as u64;
        for h in hashes {
            *per_token.entry(h).or_default() += 1;
        }
    }
    for (hash, n) in per_token {
        sql.execute(
            "UPDATE link_tokens SET devices = CASE WHEN devices > ?1 THEN devices - ?1 ELSE 0 END
             WHERE hash = ?2",
            &vals![n, &hash],
        )?;
    }
    Ok(removed)
}

/// Removes the refused merges that name a removed id; the rows removed.
fn forget_conflicts(sql: &dyn Sql, gone: &[(String, String)]) -> db::Result<u64> {
    let values: Vec<&str> = gone.iter().map(|(_, v)| v.as_str()).collect();
    let mut removed = 0;
    for chunk in values.chunks(PER_LIST) {
        let args: Vec<Val> = chunk.iter().map(|v| Val::from(*v)).collect();
        let all = marks(1, chunk.len());
        removed += sql.execute(
            &format!(
                "DELETE FROM id_conflicts WHERE a_value IN ({all}) OR b_value IN ({all})
                 OR user_a IN ({all}) OR user_b IN ({all})"
            ),
            &args,
        )?;
    }
    Ok(removed)
}

/// Removes, of the components rooted at `roots`, those no stored event names: the first
/// pass on a snapshot, the second under the locks, a few hundred per transaction.
fn purge_roots(store: &Store, roots: &[i64]) -> db::Result<Counts> {
    let mut out = Vec::new();
    for chunk in roots.chunks(PER_TRANSACTION) {
        let found = store.read(|sql| candidates(sql, chunk))?;
        if !found.is_empty() {
            out.extend(store.with(|sql| remove(sql, &found))?);
        }
    }
    Ok(out)
}

/// Removes the components of `ids` (the anonymous and user ids of events just purged) that
/// no stored event names any more.
pub(super) fn forget(store: &Store, ids: &[Node]) -> db::Result<Counts> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let roots = store.read(|sql| {
        let mut seen = HashSet::new();
        let mut roots = Vec::new();
        for node in ids {
            if let Some(root) = root_read_only(sql, node)? {
                if seen.insert(root) {
                    roots.push(root);
                }
            }
        }
        Ok(roots)
    })?;
    purge_roots(store, &roots)
}

/// Looks at up to `budget` components with a root after `after`, in the order of their
/// roots, and removes those no stored event names: what the purges of events left before
/// the graph was purged with them. Gives the rows removed and where the next sweep starts
/// (0 once it reached the last component).
pub(super) fn sweep(store: &Store, mut after: i64, budget: usize) -> db::Result<(Counts, i64)> {
    let mut out = Vec::new();
    let mut looked = 0;
    while looked < budget {
        let page = (budget - looked).min(PER_TRANSACTION * 5);
        let roots: Vec<i64> = store.read(|sql| {
            sql.rows(
                "SELECT id FROM id_nodes WHERE id > ?1 AND parent = id ORDER BY id LIMIT ?2",
                &vals![after, page],
                |r| r.get(0),
            )
        })?;
        let Some(&last) = roots.last() else {
            return Ok((out, 0));
        };
        looked += roots.len();
        after = last;
        out.extend(purge_roots(store, &roots)?);
        if roots.len() < page {
            return Ok((out, 0));
        }
    }
    Ok((out, after))
}
