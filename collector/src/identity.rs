//! The identity graph: anonymous ids, user ids, emails (SHA-256 of the trimmed, lower-cased
//! address) and link tokens as nodes; identify, alias, email traits and redeemed link tokens
//! as edges. Components are kept with union-find in SQLite (parent pointers, union by size,
//! path compression), so a merge is a few row updates, never a recomputation. A component
//! holds at most one user id: an edge that would join two is refused and recorded as a
//! conflict.

use crate::db::{self, vals, Engine, Sql};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::validate::PreparedEvent;

pub(crate) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS id_nodes (
    id      INTEGER PRIMARY KEY,
    kind    TEXT NOT NULL,
    value   TEXT NOT NULL,
    parent  INTEGER NOT NULL,
    size    INTEGER NOT NULL DEFAULT 1,
    user_id TEXT,
    UNIQUE (kind, value)
);
CREATE INDEX IF NOT EXISTS id_nodes_parent ON id_nodes (parent);
CREATE TABLE IF NOT EXISTS id_conflicts (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    at         TEXT NOT NULL,
    message_id TEXT,
    a_kind     TEXT NOT NULL,
    a_value    TEXT NOT NULL,
    b_kind     TEXT NOT NULL,
    b_value    TEXT NOT NULL,
    user_a     TEXT NOT NULL,
    user_b     TEXT NOT NULL
);
";

/// A node: its kind (`anonymousId`, `userId`, `email`, `linkToken`) and value.
pub(crate) type Node = (&'static str, String);

/// The node of an email: its SHA-256 (hex) once trimmed and lower-cased.
pub(crate) fn email_node(email: &str) -> Node {
    ("email", sha256_hex(email.trim().to_lowercase().as_bytes()))
}

/// SHA-256 as lower-case hex.
pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// What an edge did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Linked {
    /// Two components became one.
    Joined,
    /// Both ends were already one person.
    Same,
    /// Refused: the ends belong to two different users (`userId`s).
    Conflict(String, String),
}

/// The graph over one transaction.
pub(crate) struct Graph<'c> {
    sql: &'c dyn Sql,
}

impl<'c> Graph<'c> {
    /// The graph in `sql`'s database (the schema must exist).
    pub fn new(sql: &'c dyn Sql) -> Graph<'c> {
        Graph { sql }
    }

    /// Takes the graph's lock until the transaction ends, before reading what a change
    /// depends on. PostgreSQL runs transactions side by side, and two merges reading the same
    /// roots would undo each other; SQLite has one writer at a time already.
    pub fn lock(&self) -> db::Result<()> {
        if self.sql.engine() == Engine::Postgres {
            self.sql.query("SELECT pg_advisory_xact_lock(7402)", &[])?;
        }
        Ok(())
    }

    fn id_of(&self, (kind, value): &Node) -> db::Result<Option<i64>> {
        self.sql.opt(
            "SELECT id FROM id_nodes WHERE kind = ?1 AND value = ?2",
            &vals![*kind, value],
            |r| r.get(0),
        )
    }

    fn node(&self, node: &Node) -> db::Result<i64> {
        if let Some(id) = self.id_of(node)? {
            return Ok(id);
        }
        let (kind, value) = node;
        let user = (*kind == "userId").then_some(value.as_str());
        let id: i64 = self.sql.one(
            "INSERT INTO id_nodes (kind, value, parent, user_id) VALUES (?1, ?2, 0, ?3)
             RETURNING id",
            &vals![*kind, value, user],
            |r| r.get(0),
        )?;
        self.sql
            .execute("UPDATE id_nodes SET parent = ?1 WHERE id = ?1", &vals![id])?;
        Ok(id)
    }

    fn parent(&self, id: i64) -> db::Result<i64> {
        self.sql.one(
            "SELECT parent FROM id_nodes WHERE id = ?1",
            &vals![id],
            |r| r.get(0),
        )
    }

    /// The root of `id`'s component; the path is compressed on the way.
    fn find(&self, id: i64) -> db::Result<i64> {
        let mut path = Vec::new();
        let mut at = id;
        loop {
            let p = self.parent(at)?;
            if p == at {
                break;
            }
            path.push(at);
            at = p;
        }
        for n in path.iter().take(path.len().saturating_sub(1)) {
            self.sql.execute(
                "UPDATE id_nodes SET parent = ?1 WHERE id = ?2",
                &vals![at, *n],
            )?;
        }
        Ok(at)
    }

    /// The root of the component holding `node`, if the node is known.
    pub fn root_of(&self, node: &Node) -> db::Result<Option<i64>> {
        self.id_of(node)?.map(|id| self.find(id)).transpose()
    }

    fn root_row(&self, root: i64) -> db::Result<(i64, Option<String>)> {
        self.sql.one(
            "SELECT size, user_id FROM id_nodes WHERE id = ?1",
            &vals![root],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
    }

    /// Joins the components of `a` and `b`, unless that would put two users in one.
    pub fn link(&self, a: &Node, b: &Node) -> db::Result<Linked> {
        let (ra, rb) = (self.find(self.node(a)?)?, self.find(self.node(b)?)?);
        if ra == rb {
            return Ok(Linked::Same);
        }
        let ((sa, ua), (sb, ub)) = (self.root_row(ra)?, self.root_row(rb)?);
        if let (Some(x), Some(y)) = (&ua, &ub) {
            if x != y {
                return Ok(Linked::Conflict(x.clone(), y.clone()));
            }
        }
        // Union by size: the smaller tree hangs under the larger root.
        let (big, small) = if sa >= sb { (ra, rb) } else { (rb, ra) };
        self.sql.execute(
            "UPDATE id_nodes SET parent = ?1 WHERE id = ?2",
            &vals![big, small],
        )?;
        self.sql.execute(
            "UPDATE id_nodes SET size = ?1, user_id = ?2 WHERE id = ?3",
            &vals![sa + sb, ua.or(ub), big],
        )?;
        Ok(Linked::Joined)
    }

    /// Every node of the component rooted at `root`.
    pub fn members(&self, root: i64) -> db::Result<Vec<(String, String)>> {
        self.sql.rows(
            "WITH RECURSIVE m(id) AS (
                 SELECT CAST(?1 AS BIGINT)
                 UNION
                 SELECT n.id FROM id_nodes n JOIN m ON n.parent = m.id
             )
             SELECT kind, value FROM id_nodes WHERE id IN (SELECT id FROM m) ORDER BY id",
            &vals![root],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
    }

    /// Records a refused edge.
    pub fn conflict(
        &self,
        at: &str,
        message_id: Option<&str>,
        a: &Node,
        b: &Node,
        users: (&str, &str),
    ) -> db::Result<()> {
        self.sql.execute(
            "INSERT INTO id_conflicts (at, message_id, a_kind, a_value, b_kind, b_value, user_a, user_b)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            &vals![at, message_id, a.0, &a.1, b.0, &b.1, users.0, users.1],
        )?;
        Ok(())
    }
}

/// The anonymous ids and user ids of the person an event's ids name (one device when the
/// graph knows nothing of them).
pub(crate) fn person(
    sql: &dyn Sql,
    anonymous_id: Option<&str>,
    user_id: Option<&str>,
) -> db::Result<(Vec<String>, Vec<String>)> {
    let graph = Graph::new(sql);
    graph.lock()?;
    let mut root = None;
    if let Some(u) = user_id {
        root = graph.root_of(&("userId", u.to_string()))?;
    }
    if root.is_none() {
        if let Some(a) = anonymous_id {
            root = graph.root_of(&("anonymousId", a.to_string()))?;
        }
    }
    let (mut anon, mut users) = (Vec::new(), Vec::new());
    if let Some(root) = root {
        for (kind, value) in graph.members(root)? {
            match kind.as_str() {
                "anonymousId" => anon.push(value),
                "userId" => users.push(value),
                _ => {}
            }
        }
    }
    for (list, id) in [(&mut anon, anonymous_id), (&mut users, user_id)] {
        if let Some(id) = id {
            if !list.iter().any(|x| x == id) {
                list.push(id.to_string());
            }
        }
    }
    Ok((anon, users))
}

/// Whether an event may give edges (see [`edges`]): it names a user, or is an alias or an
/// identify.
pub(crate) fn may_link(ev: &PreparedEvent) -> bool {
    ev.user_id.is_some() || ev.kind == "alias" || ev.kind == "identify"
}

/// The edges an accepted event gives (the link token's are added by the caller, who knows
/// the tokens).
pub(crate) fn edges(ev: &PreparedEvent, graph: &Graph) -> db::Result<Vec<(Node, Node)>> {
    let mut out = Vec::new();
    let anon = ev.anonymous_id.clone().map(|a| ("anonymousId", a));
    let user = ev.user_id.clone().map(|u| ("userId", u));
    if let (Some(a), Some(u)) = (&anon, &user) {
        out.push((a.clone(), u.clone()));
    }
    if ev.kind == "alias" {
        if let (Some(prev), Some(u)) = (ev.object.get("previousId").and_then(Value::as_str), &user)
        {
            // A previous id that is a known user id is that user; otherwise an anonymous id.
            let as_user = ("userId", prev.to_string());
            let prev = if graph.root_of(&as_user)?.is_some() {
                as_user
            } else {
                ("anonymousId", prev.to_string())
            };
            out.push((prev, u.clone()));
        }
    }
    if ev.kind == "identify" {
        let email = ev
            .object
            .get("traits")
            .and_then(|t| t.get("email"))
            .and_then(Value::as_str)
            .filter(|e| e.contains('@'));
        if let (Some(e), Some(who)) = (email, user.as_ref().or(anon.as_ref())) {
            out.push((who.clone(), email_node(e)));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs `f` on a graph in a fresh SQLite file, in one transaction.
    fn with_graph(f: impl FnOnce(&Graph)) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("graph.db").display().to_string();
        let migration = crate::db::Migration {
            version: 1,
            name: "graph",
            sql: SCHEMA,
        };
        let db = crate::db::Db::open(&path, &[migration]).unwrap();
        let mut f = Some(f);
        db.write(|sql| {
            if let Some(f) = f.take() {
                f(&Graph::new(sql));
            }
            Ok(())
        })
        .unwrap();
    }

    fn n(kind: &'static str, v: &str) -> Node {
        (kind, v.to_string())
    }

    #[test]
    fn joins_chains_and_refuses_two_users() {
        with_graph(|g| {
            assert_eq!(
                g.link(&n("anonymousId", "a1"), &n("userId", "u1")).unwrap(),
                Linked::Joined
            );
            // An alias chain: a2 -> u1 through an email.
            assert_eq!(
                g.link(&n("anonymousId", "a2"), &email_node(" Ada@Example.com "))
                    .unwrap(),
                Linked::Joined
            );
            assert_eq!(
                g.link(&n("userId", "u1"), &email_node("ada@example.com"))
                    .unwrap(),
                Linked::Joined
            );
            assert_eq!(
                g.link(&n("anonymousId", "a2"), &n("anonymousId", "a1"))
                    .unwrap(),
                Linked::Same
            );
            let root = g.root_of(&n("anonymousId", "a2")).unwrap().unwrap();
            let members = g.members(root).unwrap();
            assert_eq!(members.len(), 4, "{members:?}");
            // Another user: its own component; joining the two is refused.
            g.link(&n("anonymousId", "b1"), &n("userId", "u2")).unwrap();
            assert_eq!(
                g.link(&n("anonymousId", "b1"), &n("anonymousId", "a1"))
                    .unwrap(),
                Linked::Conflict("u2".into(), "u1".into())
            );
            assert_ne!(
                g.root_of(&n("userId", "u1")).unwrap(),
                g.root_of(&n("userId", "u2")).unwrap()
            );
            assert_eq!(g.root_of(&n("anonymousId", "never")).unwrap(), None);
        });
    }

    /// 10,000 random edges over 2,000 nodes against a plain model: the same components, and a
    /// conflict exactly when the model's components hold two different users.
    #[test]
    fn random_edges_agree_with_a_simple_model() {
        with_graph(|g| {
            let mut seed = 0x2545_f491_4f6c_dd1du64;
            let mut next = |m: u64| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                seed % m
            };
            const N: usize = 2_000;
            let node = |i: usize| -> Node {
                if i.is_multiple_of(10) {
                    ("userId", format!("u{i}"))
                } else {
                    ("anonymousId", format!("a{i}"))
                }
            };
            let mut comp: Vec<usize> = (0..N).collect();
            let mut conflicts = 0;
            for _ in 0..10_000 {
                let (x, y) = (next(N as u64) as usize, next(N as u64) as usize);
                let users = |c: usize, comp: &Vec<usize>| -> Vec<usize> {
                    (0..N)
                        .filter(|&i| comp[i] == c && i.is_multiple_of(10))
                        .collect()
                };
                let (cx, cy) = (comp[x], comp[y]);
                let expect = if cx == cy {
                    Linked::Same
                } else {
                    let (ux, uy) = (users(cx, &comp), users(cy, &comp));
                    if !ux.is_empty() && !uy.is_empty() {
                        Linked::Conflict(format!("u{}", ux[0]), format!("u{}", uy[0]))
                    } else {
                        for c in comp.iter_mut() {
                            if *c == cy {
                                *c = cx;
                            }
                        }
                        Linked::Joined
                    }
                };
                let got = g.link(&node(x), &node(y)).unwrap();
                match (&expect, &got) {
                    (Linked::Conflict(..), Linked::Conflict(..)) => conflicts += 1,
                    _ => assert_eq!(got, expect),
                }
            }
            assert!(conflicts > 0);
            for i in (0..N).step_by(37) {
                for j in (0..N).step_by(53) {
                    let same = g.root_of(&node(i)).unwrap() == g.root_of(&node(j)).unwrap();
                    assert_eq!(same, comp[i] == comp[j], "{i} {j}");
                }
            }
        });
    }
}
