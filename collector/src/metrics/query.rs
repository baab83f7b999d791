//! The metric queries. Everything is computed in the database: a few temporary tables hold the
//! window's sessions, orders, carts and exposures (built from `facts` through its indexes),
//! then one grouped query per metric reads them. Nothing but the aggregates reaches Rust.
//!
//! Persons: an event's person is the identity graph's root of its anonymous id (`p<root>`),
//! else of its user id, else the anonymous id itself (`a:<id>`), else the user id (`u:<id>`).

use std::collections::BTreeMap;

use super::revenue::Sums;
use crate::db::{self, vals, Engine, Row, Sql, Val};

/// The window, `[from, to)` in milliseconds since the epoch, and whether bots' events count
/// (`bots=include`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Window {
    pub from: i64,
    pub to: i64,
    pub bots: bool,
    /// How long after a popup was shown an order counts for its campaign, ms.
    pub attribution: i64,
}

/// How sessions are grouped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum By {
    /// Source and medium of the session's first event with a campaign.
    Channel,
    /// Mobile or desktop, from the session's first event with a user agent.
    Device,
    /// One or several anonymous ids (devices) for the session's person.
    Devices,
    /// The experiment and variation the session's person was exposed to.
    Variant,
    /// Whether the session's events were sent cookieless or with the SDK's stored ids.
    Consent,
}

/// Money of one currency.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Money {
    /// Sum in micro-units.
    pub revenue: i64,
    /// Orders with an amount.
    pub orders: i64,
    /// Persons with such an order.
    pub customers: i64,
}

/// The counts behind the metrics of the totals or of one group.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Counts {
    pub sessions: i64,
    /// Sessions with at least one order.
    pub converted_sessions: i64,
    pub orders: i64,
    pub customers: i64,
    /// Customers with two orders or more.
    pub repeat_customers: i64,
    /// By currency.
    pub money: BTreeMap<String, Money>,
    pub carts: i64,
    pub abandoned_carts: i64,
    pub nps_responses: i64,
    pub promoters: i64,
    pub detractors: i64,
}

/// One UTC day of the series.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Day {
    /// Days since 1970-01-01.
    pub day: i64,
    pub sessions: i64,
    pub converted_sessions: i64,
    pub orders: i64,
    /// Micro-units by currency.
    pub revenue: BTreeMap<String, i64>,
}

/// One arm of an experiment.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Arm {
    pub experiment: String,
    pub variation: String,
    pub exposed: i64,
    pub converted: i64,
    /// The arm's share as its `Experiment Viewed` events say, in parts per million.
    pub allocation: Option<i64>,
    /// Per currency, the sums over its visitors of their revenue and orders at or after their
    /// exposure (see `revenue`).
    pub revenue: BTreeMap<String, Sums>,
}

/// Everything the endpoint answers with, before formatting.
#[derive(Debug, Clone, Default)]
pub(crate) struct Report {
    pub totals: Counts,
    /// Group key (JSON text) and its counts.
    pub groups: Vec<(String, Counts)>,
    pub series: Vec<Day>,
    /// Sessions that viewed, added to a cart, started a checkout, ordered (each step also
    /// reached the earlier ones).
    pub funnel: [i64; 4],
    pub arms: Vec<Arm>,
    /// Per campaign: shows, conversions and the orders attributed to it.
    pub campaigns: Vec<super::campaigns::Campaign>,
    /// Delivered first-step cart reminders and those followed by an order within 7 days.
    pub reminders: (i64, i64),
}

const TEMP: &str = "
DROP TABLE IF EXISTS temp.m_days;
DROP TABLE IF EXISTS temp.m_ids;
DROP TABLE IF EXISTS temp.m_sess;
DROP TABLE IF EXISTS temp.m_ord;
DROP TABLE IF EXISTS temp.m_cart;
DROP TABLE IF EXISTS temp.m_exp;
DROP TABLE IF EXISTS temp.m_sg;
DROP TABLE IF EXISTS temp.m_anons;
DROP TABLE IF EXISTS temp.m_shown;
CREATE TEMP TABLE m_ids (key TEXT PRIMARY KEY, kind TEXT NOT NULL, value TEXT NOT NULL,
                         root INTEGER) WITHOUT ROWID;
CREATE TEMP TABLE m_days (session TEXT NOT NULL, day INTEGER NOT NULL, anon TEXT NOT NULL,
                          viewed INTEGER, added INTEGER, checkout INTEGER,
                          PRIMARY KEY (session, day)) WITHOUT ROWID;
CREATE TEMP TABLE m_sess (session TEXT PRIMARY KEY, person TEXT NOT NULL, viewed INTEGER,
                          added INTEGER, checkout INTEGER, ordered INTEGER NOT NULL)
    WITHOUT ROWID;
CREATE TEMP TABLE m_ord (seq INTEGER PRIMARY KEY, session TEXT, person TEXT NOT NULL,
                         ts INTEGER NOT NULL, amount INTEGER, currency TEXT NOT NULL);
CREATE INDEX temp.m_ord_session ON m_ord (session);
CREATE INDEX temp.m_ord_person ON m_ord (person, ts);
CREATE TEMP TABLE m_cart (cart_id TEXT PRIMARY KEY, session TEXT, abandoned INTEGER NOT NULL)
    WITHOUT ROWID;
CREATE TEMP TABLE m_exp (experiment TEXT NOT NULL, person TEXT NOT NULL,
                         variation TEXT NOT NULL, ts INTEGER NOT NULL, allocation INTEGER,
                         PRIMARY KEY (experiment, person)) WITHOUT ROWID;
CREATE INDEX temp.m_exp_person ON m_exp (person);
CREATE TEMP TABLE m_sg (session TEXT NOT NULL, g TEXT NOT NULL, PRIMARY KEY (session, g))
    WITHOUT ROWID;
CREATE TEMP TABLE m_anons (person TEXT PRIMARY KEY, anons INTEGER NOT NULL) WITHOUT ROWID;
CREATE TEMP TABLE m_shown (campaign TEXT NOT NULL, person TEXT NOT NULL, ts INTEGER NOT NULL,
                           PRIMARY KEY (campaign, person)) WITHOUT ROWID;
";

/// The person of the `facts` row `f` (see the module's documentation).
pub(super) const PERSON: &str = "COALESCE(
    (SELECT 'p' || root FROM m_ids WHERE key = 'a:' || f.anonymous_id),
    (SELECT 'p' || root FROM m_ids WHERE key = 'u:' || f.user_id),
    'a:' || f.anonymous_id,
    'u:' || f.user_id)";

/// The one pass over all of the window's events (through the covering index `facts_window`): each
/// session's days, anonymous id and funnel steps.
const DAYS: &str = "
INSERT INTO m_days (session, day, anon, viewed, added, checkout)
SELECT session, ts / 86400000, MIN(anonymous_id),
       MAX(CASE WHEN kind = 'page' OR event = 'Product Viewed' THEN 1 ELSE 0 END),
       MAX(CASE WHEN event = 'Product Added' THEN 1 ELSE 0 END),
       MAX(CASE WHEN event = 'Checkout Started' THEN 1 ELSE 0 END)
  FROM facts
 WHERE ts >= ?1 AND ts < ?2 AND session IS NOT NULL /*human*/
 GROUP BY 1, 2";

/// The ids whose person is needed: those of the sessions, orders and exposures. Their roots
/// follow: parent pointers are followed up to the node that is its own parent.
const IDS: &str = "
INSERT INTO m_ids (key, kind, value)
SELECT 'a:' || anon, 'anonymousId', anon FROM m_days
UNION
SELECT 'a:' || anonymous_id, 'anonymousId', anonymous_id FROM facts
 WHERE event IN ('Order Completed', 'Experiment Viewed', 'Popup Shown') AND ts >= ?1
   AND ts < ?2 AND anonymous_id IS NOT NULL /*human*/
UNION
SELECT 'u:' || user_id, 'userId', user_id FROM facts
 WHERE event IN ('Order Completed', 'Experiment Viewed', 'Popup Shown') AND ts >= ?1
   AND ts < ?2 AND user_id IS NOT NULL /*human*/";

const ROOTS: &str = "
INSERT INTO m_ids (key, kind, value, root)
WITH RECURSIVE walk(key, kind, value, node, parent) AS (
    SELECT i.key, i.kind, i.value, n.id, n.parent
      FROM m_ids i JOIN id_nodes n ON n.kind = i.kind AND n.value = i.value
    UNION ALL
    SELECT w.key, w.kind, w.value, n.id, n.parent
      FROM walk w JOIN id_nodes n ON n.id = w.parent
     WHERE w.node <> w.parent
)
SELECT key, kind, value, node FROM walk WHERE node = parent
ON CONFLICT (key) DO UPDATE SET root = excluded.root";

/// The statements that fill the temporary tables, in order; `?1` and `?2` are the window's
/// bounds where a statement has them.
fn fill_statements() -> Vec<String> {
    vec![
        DAYS.to_owned(),
        IDS.to_owned(),
        ROOTS.to_owned(),
        // Orders, each order id counted once: at its first Order Completed (by time, then by
        // arrival), wherever that falls.
        format!(
            "INSERT INTO m_ord (seq, session, person, ts, amount, currency)
             SELECT f.seq, f.session, {PERSON}, f.ts, f.amount, COALESCE(f.currency, 'USD')
               FROM facts f
              WHERE f.event = 'Order Completed' AND f.ts >= ?1 AND f.ts < ?2 /*human f*/
                AND (f.order_id IS NULL OR NOT EXISTS (
                    SELECT 1 FROM facts d
                     WHERE d.order_id = f.order_id /*human d*/
                       AND (d.ts < f.ts OR (d.ts = f.ts AND d.seq < f.seq))))"
        ),
        // Sessions: their person, funnel steps and whether they hold an order.
        format!(
            "INSERT INTO m_sess (session, person, viewed, added, checkout, ordered)
             SELECT f.session, {PERSON}, f.viewed, f.added, f.checkout,
                    CASE WHEN EXISTS (SELECT 1 FROM m_ord o WHERE o.session = f.session)
                         THEN 1 ELSE 0 END
               FROM (SELECT session, MIN(anon) AS anonymous_id, NULL AS user_id,
                            MAX(viewed) AS viewed, MAX(added) AS added,
                            MAX(checkout) AS checkout
                       FROM m_days GROUP BY session) f"
        ),
        // Carts: the session of the first Product Added in the window, and whether any order
        // before the window's end carried the cart id.
        "INSERT INTO m_cart (cart_id, session, abandoned)
         SELECT c.cart_id, c.session, CASE WHEN EXISTS (
                    SELECT 1 FROM facts k
                     WHERE k.cart_id = c.cart_id AND k.event = 'Order Completed' AND k.ts < ?2
                       /*human k*/)
                    THEN 0 ELSE 1 END
           FROM (SELECT cart_id, session,
                        ROW_NUMBER() OVER (PARTITION BY cart_id ORDER BY ts, seq) AS n
                   FROM facts
                  WHERE event = 'Product Added' AND ts >= ?1 AND ts < ?2
                    AND cart_id IS NOT NULL /*human*/) c
          WHERE c.n = 1"
            .to_owned(),
        // Exposures: each person's first Experiment Viewed of each experiment in the window.
        format!(
            "INSERT INTO m_exp (experiment, person, variation, ts, allocation)
             SELECT experiment_id, person, variation_id, ts, allocation FROM (
                 SELECT x.*, ROW_NUMBER() OVER (
                            PARTITION BY x.experiment_id, x.person ORDER BY x.ts, x.seq) AS n
                   FROM (SELECT f.seq, f.ts, f.experiment_id, f.variation_id, f.allocation,
                                {PERSON} AS person
                           FROM facts f
                          WHERE f.event = 'Experiment Viewed' AND f.ts >= ?1 AND f.ts < ?2
                            AND f.experiment_id IS NOT NULL
                            AND f.variation_id IS NOT NULL /*human f*/) x) e
              WHERE n = 1"
        ),
        super::campaigns::shown(),
    ]
}

/// `query` reading people's facts only (`/*human*/`, or `/*human f*/` for alias `f`), unless
/// the window includes bots: a bot's copy of an order id hides no shopper's order, and a
/// bot's order recovers no shopper's cart. A session's first campaign or device is read from
/// every fact of a session that is a person's.
fn humans(query: &str, w: Window) -> String {
    let mut out = query.to_owned();
    for alias in ["", "f", "d", "k", "t"] {
        let mark = if alias.is_empty() {
            "/*human*/".to_owned()
        } else {
            format!("/*human {alias}*/")
        };
        let dot = if alias.is_empty() { "" } else { "." };
        let cond = if w.bots {
            String::new()
        } else {
            format!("AND {alias}{dot}bot = 0")
        };
        out = out.replace(&mark, &cond);
    }
    out
}

/// A statement and the window's bounds it uses: both as `?1` and `?2`, or the end alone
/// (renumbered `?1`: PostgreSQL cannot type a parameter a statement does not use), or none;
/// with people's facts only unless the window includes bots.
pub(super) fn with_window(query: &str, w: Window) -> (String, Vec<Val<'static>>) {
    let query = &humans(query, w);
    if query.contains("?1") {
        (query.to_owned(), vals![w.from, w.to].to_vec())
    } else if query.contains("?2") {
        (query.replace("?2", "?1"), vals![w.to].to_vec())
    } else {
        (query.to_owned(), Vec::new())
    }
}

/// Runs `query` with the window's bounds it uses.
fn run(sql: &dyn Sql, query: &str, w: Window) -> db::Result<u64> {
    let (query, params) = with_window(query, w);
    sql.execute(&query, &params)
}

/// Fills the temporary tables for the window.
fn prepare(sql: &dyn Sql, w: Window) -> db::Result<()> {
    match sql.engine() {
        Engine::Sqlite => sql.batch(TEMP)?,
        Engine::Postgres => sql.batch(&db::postgres_ddl(TEMP))?,
    }
    for query in fill_statements() {
        run(sql, &query, w)?;
    }
    Ok(())
}

/// The statements that give each session its group (or groups, for experiments) in `m_sg`;
/// group keys are JSON. `?2` is the window's end.
fn group_statements(by: By) -> Vec<&'static str> {
    match by {
        By::Channel => vec![
            "INSERT INTO m_sg (session, g)
             SELECT s.session, COALESCE(
                 (SELECT json_object('source', f.source,
                                     'medium', COALESCE(f.medium, '(none)'))
                    FROM facts f
                   WHERE f.session = s.session AND f.ts < ?2 AND f.source IS NOT NULL
                   ORDER BY f.ts, f.seq LIMIT 1),
                 json_object('source', '(direct)', 'medium', '(none)'))
               FROM m_sess s",
        ],
        By::Device => vec![
            "INSERT INTO m_sg (session, g)
             SELECT s.session,
                    CASE (SELECT f.mobile FROM facts f
                           WHERE f.session = s.session AND f.ts < ?2 AND f.mobile IS NOT NULL
                           ORDER BY f.ts, f.seq LIMIT 1)
                    WHEN 1 THEN '\"mobile\"' ELSE '\"desktop\"' END
               FROM m_sess s",
        ],
        By::Devices => vec![
            // Anonymous ids in the whole component of each root met in the window.
            "INSERT INTO m_anons (person, anons)
             WITH RECURSIVE comp(root, id) AS (
                 SELECT DISTINCT root, root FROM m_ids WHERE root IS NOT NULL
                 UNION
                 SELECT c.root, n.id FROM comp c JOIN id_nodes n ON n.parent = c.id
                  WHERE n.id <> n.parent
             )
             SELECT 'p' || c.root, COUNT(*) FROM comp c JOIN id_nodes n ON n.id = c.id
              WHERE n.kind = 'anonymousId' GROUP BY c.root",
            "INSERT INTO m_sg (session, g)
             SELECT s.session, CASE WHEN a.anons > 1 THEN '\"several\"' ELSE '\"one\"' END
               FROM m_sess s LEFT JOIN m_anons a ON a.person = s.person",
        ],
        By::Consent => vec![
            "INSERT INTO m_sg (session, g)
             SELECT s.session,
                    CASE WHEN EXISTS (SELECT 1 FROM facts f
                                       WHERE f.session = s.session AND f.cookieless = 1)
                    THEN '\"cookieless\"' ELSE '\"consented\"' END
               FROM m_sess s",
        ],
        By::Variant => vec![
            "INSERT INTO m_sg (session, g)
             SELECT s.session,
                    json_object('experimentId', e.experiment, 'variationId', e.variation)
               FROM m_sess s JOIN m_exp e ON e.person = s.person WHERE 1 = 1
             ON CONFLICT DO NOTHING",
        ],
    }
}

/// A query of [`COUNTS`] and how its row is read.
type CountQuery = (&'static str, fn(&mut Counts, &Row) -> db::Result<()>);

/// The grouped queries behind [`Counts`]. Each reads a table aliased `t`; `{G}` stands for the
/// group key and `{JOIN}` for the join to the sessions' groups (both empty for the totals).
const COUNTS: [CountQuery; 5] = [
    (
        "SELECT {G}, COUNT(*), SUM(t.ordered) FROM m_sess t {JOIN} GROUP BY 1",
        |c, r| {
            c.sessions = r.get(1)?;
            c.converted_sessions = r.get(2)?;
            Ok(())
        },
    ),
    (
        "SELECT g, SUM(n), COUNT(*), SUM(CASE WHEN n >= 2 THEN 1 ELSE 0 END) FROM (
             SELECT {G} AS g, t.person, COUNT(*) AS n FROM m_ord t {JOIN} GROUP BY 1, 2) q
          GROUP BY g",
        |c, r| {
            c.orders = r.get(1)?;
            c.customers = r.get(2)?;
            c.repeat_customers = r.get(3)?;
            Ok(())
        },
    ),
    (
        "SELECT {G}, t.currency, SUM(t.amount), COUNT(*), COUNT(DISTINCT t.person)
           FROM m_ord t {JOIN} WHERE t.amount IS NOT NULL GROUP BY 1, 2",
        |c, r| {
            let money = Money {
                revenue: r.get(2)?,
                orders: r.get(3)?,
                customers: r.get(4)?,
            };
            c.money.insert(r.get(1)?, money);
            Ok(())
        },
    ),
    (
        "SELECT {G}, COUNT(*), SUM(t.abandoned) FROM m_cart t {JOIN} GROUP BY 1",
        |c, r| {
            c.carts = r.get(1)?;
            c.abandoned_carts = r.get(2)?;
            Ok(())
        },
    ),
    (
        "SELECT {G}, COUNT(*), SUM(CASE WHEN t.score >= 9 THEN 1 ELSE 0 END),
                SUM(CASE WHEN t.score <= 6 THEN 1 ELSE 0 END) FROM facts t {JOIN}
          WHERE t.event = 'NPS Submitted' AND t.ts >= ?1 AND t.ts < ?2 AND t.score IS NOT NULL
                /*human t*/
          GROUP BY 1",
        |c, r| {
            c.nps_responses = r.get(1)?;
            c.promoters = r.get(2)?;
            c.detractors = r.get(3)?;
            Ok(())
        },
    ),
];

/// A query of [`COUNTS`] for the totals or for the groups.
fn count_sql(template: &str, grouped: bool) -> String {
    let (g, join) = if grouped {
        ("sg.g", "JOIN m_sg sg ON sg.session = t.session")
    } else {
        ("''", "")
    };
    template.replace("{G}", g).replace("{JOIN}", join)
}

/// The totals (`grouped` false, key `""`) or every group's counts, by key.
fn counts(sql: &dyn Sql, w: Window, grouped: bool) -> db::Result<BTreeMap<String, Counts>> {
    let mut out: BTreeMap<String, Counts> = BTreeMap::new();
    for (template, read) in COUNTS {
        let (query, params) = with_window(&count_sql(template, grouped), w);
        for row in sql.query(&query, &params)? {
            let key: String = row.get(0)?;
            read(out.entry(key).or_default(), &row)?;
        }
    }
    Ok(out)
}

/// Sessions, orders and revenue per UTC day, every day of the window included.
/// Sessions per UTC day of the window.
const SERIES_SESSIONS: &str = "SELECT day, COUNT(*) FROM m_days GROUP BY day";

/// Sessions at each step of the funnel, each step within the sessions of the step before.
const FUNNEL: &str = "
SELECT COALESCE(SUM(viewed), 0), COALESCE(SUM(viewed * added), 0),
       COALESCE(SUM(viewed * added * checkout), 0),
       COALESCE(SUM(viewed * added * checkout * ordered), 0)
  FROM m_sess";

fn series(sql: &dyn Sql, w: Window) -> db::Result<Vec<Day>> {
    const DAY: i64 = 86_400_000;
    let (first, last) = (w.from.div_euclid(DAY), (w.to - 1).div_euclid(DAY));
    let mut days: BTreeMap<i64, Day> = (first..=last)
        .map(|day| {
            (
                day,
                Day {
                    day,
                    ..Day::default()
                },
            )
        })
        .collect();
    for r in sql.query(SERIES_SESSIONS, &[])? {
        if let Some(d) = days.get_mut(&r.get::<i64>(0)?) {
            d.sessions = r.get(1)?;
        }
    }
    let orders = "SELECT ts / 86400000, COUNT(*), COUNT(DISTINCT session) FROM m_ord GROUP BY 1";
    for r in sql.query(orders, &[])? {
        if let Some(d) = days.get_mut(&r.get::<i64>(0)?) {
            d.orders = r.get(1)?;
            d.converted_sessions = r.get(2)?;
        }
    }
    let revenue = "SELECT ts / 86400000, currency, SUM(amount) FROM m_ord
                    WHERE amount IS NOT NULL GROUP BY 1, 2";
    for r in sql.query(revenue, &[])? {
        if let Some(d) = days.get_mut(&r.get::<i64>(0)?) {
            d.revenue.insert(r.get(1)?, r.get(2)?);
        }
    }
    Ok(days.into_values().collect())
}

fn funnel(sql: &dyn Sql) -> db::Result<[i64; 4]> {
    sql.one(FUNNEL, &[], |r| {
        Ok([r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?])
    })
}

fn arms(sql: &dyn Sql) -> db::Result<Vec<Arm>> {
    let mut arms = sql.rows(ARMS, &[], |r| {
        Ok(Arm {
            experiment: r.get(0)?,
            variation: r.get(1)?,
            exposed: r.get(2)?,
            converted: r.get(3)?,
            allocation: r.get(4)?,
            revenue: BTreeMap::new(),
        })
    })?;
    for row in sql.query(ARM_REVENUE, &[])? {
        let (experiment, variation): (String, String) = (row.get(0)?, row.get(1)?);
        let Some(arm) = arms
            .iter_mut()
            .find(|a| a.experiment == experiment && a.variation == variation)
        else {
            continue;
        };
        let sums = arm.revenue.entry(row.get(2)?).or_insert(Sums {
            n: arm.exposed as f64,
            ..Sums::default()
        });
        let (amount, orders): (i64, i64) = (row.get(3)?, row.get(4)?);
        sums.add(amount as f64, orders as f64);
    }
    Ok(arms)
}

/// Each arm's visitors, those with an order at or after their exposure, and its allocation.
const ARMS: &str = "
SELECT e.experiment, e.variation, COUNT(*),
       SUM(CASE WHEN EXISTS (SELECT 1 FROM m_ord o WHERE o.person = e.person AND o.ts >= e.ts)
                THEN 1 ELSE 0 END),
       MAX(e.allocation)
  FROM m_exp e GROUP BY 1, 2 ORDER BY 1, 2";

/// Per arm, currency and visitor with orders at or after their exposure: the revenue (micro-
/// units) and the number of those orders.
const ARM_REVENUE: &str = "
SELECT e.experiment, e.variation, o.currency, SUM(o.amount), COUNT(*)
  FROM m_exp e JOIN m_ord o ON o.person = e.person AND o.ts >= e.ts
 WHERE o.amount IS NOT NULL
 GROUP BY e.experiment, e.variation, o.currency, e.person";

/// Delivered first-step cart reminders in the window and those whose person ordered within
/// 7 days of the delivery.
/// Computes the report of window `w`, grouped `by` when given, in the caller's read
/// transaction (rolled back at its end: the temporary tables go with it).
pub(crate) fn report(sql: &dyn Sql, w: Window, by: Option<By>) -> db::Result<Report> {
    prepare(sql, w)?;
    let totals = counts(sql, w, false)?.remove("").unwrap_or_default();
    let groups = match by {
        None => Vec::new(),
        Some(by) => {
            for query in group_statements(by) {
                run(sql, query, w)?;
            }
            let mut groups: Vec<(String, Counts)> = counts(sql, w, true)?.into_iter().collect();
            groups.sort_by(|a, b| b.1.sessions.cmp(&a.1.sessions).then(a.0.cmp(&b.0)));
            groups
        }
    };
    Ok(Report {
        totals,
        groups,
        series: series(sql, w)?,
        funnel: funnel(sql)?,
        arms: arms(sql)?,
        campaigns: super::campaigns::stats(sql, w)?,
        reminders: crate::journeys::recovery(sql, w.from, w.to)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rusqlite::Connection;

    /// Every statement that reads `facts`, with the plan SQLite picks for it.
    fn plans() -> Vec<(String, Vec<String>)> {
        let conn = Connection::open_in_memory().expect("memory");
        conn.execute_batch(super::super::SCHEMA).expect("facts");
        conn.execute_batch(super::super::BOT_FLAG)
            .expect("the bot flag");
        conn.execute_batch(crate::cookieless::SCHEMA)
            .expect("the cookieless flag");
        conn.execute_batch(super::super::ALLOCATION)
            .expect("the allocation");
        conn.execute_batch(crate::identity::SCHEMA).expect("graph");
        conn.execute_batch(TEMP).expect("temporary tables");
        let mut all: Vec<String> = fill_statements();
        for by in [
            By::Channel,
            By::Device,
            By::Devices,
            By::Variant,
            By::Consent,
        ] {
            all.extend(group_statements(by).into_iter().map(str::to_owned));
        }
        for (template, _) in COUNTS {
            all.push(count_sql(template, false));
            all.push(count_sql(template, true));
        }
        all.push(SERIES_SESSIONS.to_owned());
        all.push(FUNNEL.to_owned());
        all.push(ARMS.to_owned());
        all.push(ARM_REVENUE.to_owned());
        all.extend(
            (super::super::campaigns::QUERIES.iter()).map(|q| q.replace("{ATTRIBUTION}", "1")),
        );
        // As they run by default: people's facts only.
        let people = Window {
            from: 0,
            to: 1,
            bots: false,
            attribution: 5 * 86_400_000,
        };
        all.into_iter()
            .map(|sql| humans(&sql, people))
            .map(|sql| {
                let mut stmt = conn
                    .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
                    .expect("explain");
                let bounds = [0i64, 86_400_000];
                let args = rusqlite::params_from_iter(&bounds[..stmt.parameter_count()]);
                let lines = stmt
                    .query_map(args, |r| r.get::<_, String>(3))
                    .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
                    .expect("plan");
                (sql, lines)
            })
            .collect()
    }

    /// Whether a plan line reads `facts` from end to end (its aliases are `f`, `d`, `k`, and
    /// `t` where the statement says so; a subquery's alias is not `facts`).
    fn scans_facts(sql: &str, lines: &[String], line: &str) -> bool {
        let mut aliases = vec!["facts", "f", "d", "k"];
        if sql.contains("FROM facts t") {
            aliases.push("t");
        }
        aliases.retain(|a| !lines.contains(&format!("CO-ROUTINE {a}")));
        aliases
            .iter()
            .any(|a| line == format!("SCAN {a}") || line.starts_with(&format!("SCAN {a} ")))
    }

    #[test]
    fn queries_search_facts_through_indexes() {
        let plans = plans();
        for (sql, lines) in &plans {
            if !sql.contains("FROM facts") {
                continue;
            }
            assert!(
                !lines.iter().any(|l| scans_facts(sql, lines, l)),
                "{sql}\n{lines:#?}"
            );
            assert!(
                lines.iter().any(|l| l.contains("INDEX facts_")),
                "{sql}\n{lines:#?}"
            );
        }
        let plan_of = |needle: &str| -> String {
            plans
                .iter()
                .find(|(sql, _)| sql.contains(needle))
                .map(|(_, lines)| lines.join("\n"))
                .unwrap_or_default()
        };
        // The lookups that run once per order, cart or session use their own index.
        assert!(plan_of("SELECT 1 FROM facts d").contains("USING COVERING INDEX facts_order"));
        assert!(
            plan_of("SELECT 1 FROM facts k").contains("INDEX facts_cart (cart_id=? AND event=?")
        );
        assert!(plan_of("'medium', COALESCE").contains("INDEX facts_campaign (session=?"));
        assert!(plan_of("WHEN 1 THEN").contains("COVERING INDEX facts_session (session=?"));
        assert!(plan_of("INSERT INTO m_days")
            .contains("SEARCH facts USING COVERING INDEX facts_window (ts>? AND ts<?)"));
        assert!(plan_of("INTO m_ord").contains("INDEX facts_event_ts (event=? AND ts>? AND ts<?)"));
    }
}
