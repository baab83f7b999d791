//! The metric queries. Everything is computed in SQLite: a few temporary tables hold the
//! window's sessions, orders, carts and exposures (built from `facts` through its indexes),
//! then one grouped query per metric reads them. Nothing but the aggregates reaches Rust.
//!
//! Persons: an event's person is the identity graph's root of its anonymous id (`p<root>`),
//! else of its user id, else the anonymous id itself (`a:<id>`), else the user id (`u:<id>`).

use std::collections::BTreeMap;

use rusqlite::{params, Connection};

/// The window, `[from, to)` in milliseconds since the epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Window {
    pub from: i64,
    pub to: i64,
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
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Arm {
    pub experiment: String,
    pub variation: String,
    pub exposed: i64,
    pub converted: i64,
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
    /// Delivered first-step cart reminders and those followed by an order within 7 days.
    pub reminders: (i64, i64),
}

const TEMP: &str = "
DROP TABLE IF EXISTS temp.m_ids;
DROP TABLE IF EXISTS temp.m_sess;
DROP TABLE IF EXISTS temp.m_ord;
DROP TABLE IF EXISTS temp.m_cart;
DROP TABLE IF EXISTS temp.m_exp;
DROP TABLE IF EXISTS temp.m_sg;
DROP TABLE IF EXISTS temp.m_anons;
CREATE TEMP TABLE m_ids (key TEXT PRIMARY KEY, kind TEXT NOT NULL, value TEXT NOT NULL,
                         root INTEGER) WITHOUT ROWID;
CREATE TEMP TABLE m_sess (session TEXT PRIMARY KEY, person TEXT NOT NULL) WITHOUT ROWID;
CREATE TEMP TABLE m_ord (seq INTEGER PRIMARY KEY, session TEXT, person TEXT NOT NULL,
                         ts INTEGER NOT NULL, amount INTEGER, currency TEXT NOT NULL);
CREATE INDEX temp.m_ord_session ON m_ord (session);
CREATE INDEX temp.m_ord_person ON m_ord (person, ts);
CREATE TEMP TABLE m_cart (cart_id TEXT PRIMARY KEY, session TEXT, abandoned INTEGER NOT NULL)
    WITHOUT ROWID;
CREATE TEMP TABLE m_exp (experiment TEXT NOT NULL, person TEXT NOT NULL,
                         variation TEXT NOT NULL, ts INTEGER NOT NULL,
                         PRIMARY KEY (experiment, person)) WITHOUT ROWID;
CREATE INDEX temp.m_exp_person ON m_exp (person);
CREATE TEMP TABLE m_sg (session TEXT NOT NULL, g TEXT NOT NULL, PRIMARY KEY (session, g))
    WITHOUT ROWID;
CREATE TEMP TABLE m_anons (person TEXT PRIMARY KEY, anons INTEGER NOT NULL) WITHOUT ROWID;
";

/// The person of the `facts` row `f` (see the module's documentation).
const PERSON: &str = "COALESCE(
    (SELECT 'p' || root FROM m_ids WHERE key = 'a:' || f.anonymous_id),
    (SELECT 'p' || root FROM m_ids WHERE key = 'u:' || f.user_id),
    'a:' || f.anonymous_id,
    'u:' || f.user_id)";

/// Every id seen in the window, then the root of those in the identity graph: parent
/// pointers are followed up to the node that is its own parent.
const IDS: &str = "
INSERT INTO m_ids (key, kind, value)
SELECT 'a:' || anonymous_id, 'anonymousId', anonymous_id FROM facts
 WHERE ts >= ?1 AND ts < ?2 AND anonymous_id IS NOT NULL
UNION
SELECT 'u:' || user_id, 'userId', user_id FROM facts
 WHERE ts >= ?1 AND ts < ?2 AND user_id IS NOT NULL";

const ROOTS: &str = "
INSERT OR REPLACE INTO m_ids (key, kind, value, root)
WITH RECURSIVE walk(key, kind, value, node, parent) AS (
    SELECT i.key, i.kind, i.value, n.id, n.parent
      FROM m_ids i JOIN id_nodes n ON n.kind = i.kind AND n.value = i.value
    UNION ALL
    SELECT w.key, w.kind, w.value, n.id, n.parent
      FROM walk w JOIN id_nodes n ON n.id = w.parent
     WHERE w.node <> w.parent
)
SELECT key, kind, value, node FROM walk WHERE node = parent";

/// Fills the temporary tables for the window (`?1`, `?2`).
fn prepare(conn: &Connection, w: Window) -> rusqlite::Result<()> {
    conn.execute_batch(TEMP)?;
    let window = params![w.from, w.to];
    conn.execute(IDS, window)?;
    conn.execute(ROOTS, [])?;
    conn.execute(
        &format!(
            "INSERT INTO m_sess (session, person)
             SELECT f.session, {PERSON} FROM (
                 SELECT session, MIN(anonymous_id) AS anonymous_id, NULL AS user_id
                   FROM facts WHERE ts >= ?1 AND ts < ?2 AND session IS NOT NULL
                  GROUP BY session) f"
        ),
        window,
    )?;
    // Orders, each order id counted once: at its first Order Completed (by time, then by
    // arrival), wherever that falls.
    conn.execute(
        &format!(
            "INSERT INTO m_ord (seq, session, person, ts, amount, currency)
             SELECT f.seq, f.session, {PERSON}, f.ts, f.amount, COALESCE(f.currency, 'USD')
               FROM facts f
              WHERE f.event = 'Order Completed' AND f.ts >= ?1 AND f.ts < ?2
                AND (f.order_id IS NULL OR NOT EXISTS (
                    SELECT 1 FROM facts e
                     WHERE e.order_id = f.order_id
                       AND (e.ts < f.ts OR (e.ts = f.ts AND e.seq < f.seq))))"
        ),
        window,
    )?;
    // Carts: the session of the first Product Added in the window, and whether any order
    // before the window's end carried the cart id.
    conn.execute(
        "INSERT INTO m_cart (cart_id, session, abandoned)
         SELECT c.cart_id, c.session, NOT EXISTS (
                    SELECT 1 FROM facts o
                     WHERE o.cart_id = c.cart_id AND o.event = 'Order Completed' AND o.ts < ?2)
           FROM (SELECT cart_id, session,
                        ROW_NUMBER() OVER (PARTITION BY cart_id ORDER BY ts, seq) AS n
                   FROM facts
                  WHERE event = 'Product Added' AND ts >= ?1 AND ts < ?2
                    AND cart_id IS NOT NULL) c
          WHERE c.n = 1",
        window,
    )?;
    // Exposures: each person's first Experiment Viewed of each experiment in the window.
    conn.execute(
        &format!(
            "INSERT INTO m_exp (experiment, person, variation, ts)
             SELECT experiment_id, person, variation_id, ts FROM (
                 SELECT x.*, ROW_NUMBER() OVER (
                            PARTITION BY x.experiment_id, x.person ORDER BY x.ts, x.seq) AS n
                   FROM (SELECT f.seq, f.ts, f.experiment_id, f.variation_id, {PERSON} AS person
                           FROM facts f
                          WHERE f.event = 'Experiment Viewed' AND f.ts >= ?1 AND f.ts < ?2
                            AND f.experiment_id IS NOT NULL
                            AND f.variation_id IS NOT NULL) x)
              WHERE n = 1"
        ),
        window,
    )?;
    Ok(())
}

/// Gives each session its group (or groups, for experiments) in `m_sg`; group keys are JSON.
fn group(conn: &Connection, w: Window, by: By) -> rusqlite::Result<()> {
    match by {
        By::Channel => conn.execute(
            "INSERT INTO m_sg (session, g)
             SELECT s.session, COALESCE(
                 (SELECT json_object('source', f.source,
                                     'medium', COALESCE(f.medium, '(none)'))
                    FROM facts f
                   WHERE f.session = s.session AND f.ts < ?1 AND f.source IS NOT NULL
                   ORDER BY f.ts, f.seq LIMIT 1),
                 json_object('source', '(direct)', 'medium', '(none)'))
               FROM m_sess s",
            [w.to],
        )?,
        By::Device => conn.execute(
            "INSERT INTO m_sg (session, g)
             SELECT s.session,
                    CASE (SELECT f.mobile FROM facts f
                           WHERE f.session = s.session AND f.ts < ?1 AND f.mobile IS NOT NULL
                           ORDER BY f.ts, f.seq LIMIT 1)
                    WHEN 1 THEN '\"mobile\"' ELSE '\"desktop\"' END
               FROM m_sess s",
            [w.to],
        )?,
        By::Devices => {
            // Anonymous ids in the whole component of each root met in the window.
            conn.execute(
                "INSERT INTO m_anons (person, anons)
                 WITH RECURSIVE comp(root, id) AS (
                     SELECT DISTINCT root, root FROM m_ids WHERE root IS NOT NULL
                     UNION
                     SELECT c.root, n.id FROM comp c JOIN id_nodes n ON n.parent = c.id
                      WHERE n.id <> n.parent
                 )
                 SELECT 'p' || c.root, COUNT(*) FROM comp c JOIN id_nodes n ON n.id = c.id
                  WHERE n.kind = 'anonymousId' GROUP BY c.root",
                [],
            )?;
            conn.execute(
                "INSERT INTO m_sg (session, g)
                 SELECT s.session, CASE WHEN a.anons > 1 THEN '\"several\"' ELSE '\"one\"' END
                   FROM m_sess s LEFT JOIN m_anons a ON a.person = s.person",
                [],
            )?
        }
        By::Variant => conn.execute(
            "INSERT OR IGNORE INTO m_sg (session, g)
             SELECT s.session,
                    json_object('experimentId', e.experiment, 'variationId', e.variation)
               FROM m_sess s JOIN m_exp e ON e.person = s.person",
            [],
        )?,
    };
    Ok(())
}

/// The totals (`grouped` false, key `""`) or every group's counts, by key.
fn counts(
    conn: &Connection,
    w: Window,
    grouped: bool,
) -> rusqlite::Result<BTreeMap<String, Counts>> {
    let g = if grouped { "sg.g" } else { "''" };
    let join = |alias: &str| {
        if grouped {
            format!("JOIN m_sg sg ON sg.session = {alias}.session")
        } else {
            String::new()
        }
    };
    let mut out: BTreeMap<String, Counts> = BTreeMap::new();
    fill(
        conn,
        &mut out,
        &format!(
            "SELECT {g}, COUNT(*),
                    SUM(EXISTS (SELECT 1 FROM m_ord o WHERE o.session = s.session))
               FROM m_sess s {} GROUP BY 1",
            join("s")
        ),
        [],
        |c, r| {
            c.sessions = r.get(1)?;
            c.converted_sessions = r.get(2)?;
            Ok(())
        },
    )?;
    fill(
        conn,
        &mut out,
        &format!(
            "SELECT g, SUM(n), COUNT(*), SUM(n >= 2) FROM (
                 SELECT {g} AS g, o.person, COUNT(*) AS n FROM m_ord o {} GROUP BY 1, 2)
              GROUP BY g",
            join("o")
        ),
        [],
        |c, r| {
            c.orders = r.get(1)?;
            c.customers = r.get(2)?;
            c.repeat_customers = r.get(3)?;
            Ok(())
        },
    )?;
    fill(
        conn,
        &mut out,
        &format!(
            "SELECT {g}, o.currency, SUM(o.amount), COUNT(*), COUNT(DISTINCT o.person)
               FROM m_ord o {} WHERE o.amount IS NOT NULL GROUP BY 1, 2",
            join("o")
        ),
        [],
        |c, r| {
            let money = Money {
                revenue: r.get(2)?,
                orders: r.get(3)?,
                customers: r.get(4)?,
            };
            c.money.insert(r.get(1)?, money);
            Ok(())
        },
    )?;
    fill(
        conn,
        &mut out,
        &format!(
            "SELECT {g}, COUNT(*), SUM(c.abandoned) FROM m_cart c {} GROUP BY 1",
            join("c")
        ),
        [],
        |c, r| {
            c.carts = r.get(1)?;
            c.abandoned_carts = r.get(2)?;
            Ok(())
        },
    )?;
    fill(
        conn,
        &mut out,
        &format!(
            "SELECT {g}, COUNT(*), SUM(f.score >= 9), SUM(f.score <= 6) FROM facts f {}
              WHERE f.event = 'NPS Submitted' AND f.ts >= ?1 AND f.ts < ?2
                AND f.score IS NOT NULL
              GROUP BY 1",
            join("f")
        ),
        [w.from, w.to],
        |c, r| {
            c.nps_responses = r.get(1)?;
            c.promoters = r.get(2)?;
            c.detractors = r.get(3)?;
            Ok(())
        },
    )?;
    Ok(out)
}

/// Runs a query whose first column is a group key, and lets `f` read each row into that
/// key's counts.
fn fill(
    conn: &Connection,
    out: &mut BTreeMap<String, Counts>,
    sql: &str,
    args: impl rusqlite::Params,
    mut f: impl FnMut(&mut Counts, &rusqlite::Row<'_>) -> rusqlite::Result<()>,
) -> rusqlite::Result<()> {
    let mut stmt = conn.prepare(sql)?;
    let mut rows = stmt.query(args)?;
    while let Some(row) = rows.next()? {
        let key: String = row.get(0)?;
        f(out.entry(key).or_default(), row)?;
    }
    Ok(())
}

/// Sessions, orders and revenue per UTC day, every day of the window included.
fn series(conn: &Connection, w: Window) -> rusqlite::Result<Vec<Day>> {
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
    let mut stmt = conn.prepare(
        "SELECT ts / 86400000, COUNT(DISTINCT session) FROM facts
          WHERE ts >= ?1 AND ts < ?2 AND session IS NOT NULL GROUP BY 1",
    )?;
    let mut rows = stmt.query([w.from, w.to])?;
    while let Some(r) = rows.next()? {
        if let Some(d) = days.get_mut(&r.get(0)?) {
            d.sessions = r.get(1)?;
        }
    }
    let mut stmt = conn
        .prepare("SELECT ts / 86400000, COUNT(*), COUNT(DISTINCT session) FROM m_ord GROUP BY 1")?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        if let Some(d) = days.get_mut(&r.get(0)?) {
            d.orders = r.get(1)?;
            d.converted_sessions = r.get(2)?;
        }
    }
    let mut stmt = conn.prepare(
        "SELECT ts / 86400000, currency, SUM(amount) FROM m_ord
          WHERE amount IS NOT NULL GROUP BY 1, 2",
    )?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        if let Some(d) = days.get_mut(&r.get(0)?) {
            d.revenue.insert(r.get(1)?, r.get(2)?);
        }
    }
    Ok(days.into_values().collect())
}

fn funnel(conn: &Connection, w: Window) -> rusqlite::Result<[i64; 4]> {
    conn.query_row(
        "SELECT IFNULL(SUM(v), 0), IFNULL(SUM(v AND a), 0),
                IFNULL(SUM(v AND a AND c), 0), IFNULL(SUM(v AND a AND c AND ordered), 0)
           FROM (SELECT MAX(f.kind = 'page' OR IFNULL(f.event, '') = 'Product Viewed') AS v,
                        MAX(IFNULL(f.event, '') = 'Product Added') AS a,
                        MAX(IFNULL(f.event, '') = 'Checkout Started') AS c,
                        EXISTS (SELECT 1 FROM m_ord o WHERE o.session = f.session) AS ordered
                   FROM facts f
                  WHERE f.ts >= ?1 AND f.ts < ?2 AND f.session IS NOT NULL
                  GROUP BY f.session)",
        [w.from, w.to],
        |r| Ok([r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?]),
    )
}

fn arms(conn: &Connection) -> rusqlite::Result<Vec<Arm>> {
    let mut stmt = conn.prepare(
        "SELECT e.experiment, e.variation, COUNT(*),
                SUM(EXISTS (SELECT 1 FROM m_ord o WHERE o.person = e.person AND o.ts >= e.ts))
           FROM m_exp e GROUP BY 1, 2 ORDER BY 1, 2",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(Arm {
            experiment: r.get(0)?,
            variation: r.get(1)?,
            exposed: r.get(2)?,
            converted: r.get(3)?,
        })
    })?;
    rows.collect()
}

/// Delivered first-step cart reminders in the window and those whose person ordered within
/// 7 days of the delivery.
fn reminder_recovery(_conn: &Connection, _w: Window) -> rusqlite::Result<(i64, i64)> {
    // joined with journeys::recovery when that module lands
    Ok((0, 0))
}

/// Computes the report of window `w`, grouped `by` when given, in one read transaction.
pub(crate) fn report(conn: &Connection, w: Window, by: Option<By>) -> rusqlite::Result<Report> {
    // Rolled back when dropped: the temporary tables go with it.
    let tx = conn.unchecked_transaction()?;
    prepare(&tx, w)?;
    let totals = counts(&tx, w, false)?.remove("").unwrap_or_default();
    let groups = match by {
        None => Vec::new(),
        Some(by) => {
            group(&tx, w, by)?;
            let mut groups: Vec<(String, Counts)> = counts(&tx, w, true)?.into_iter().collect();
            groups.sort_by(|a, b| b.1.sessions.cmp(&a.1.sessions).then(a.0.cmp(&b.0)));
            groups
        }
    };
    Ok(Report {
        totals,
        groups,
        series: series(&tx, w)?,
        funnel: funnel(&tx, w)?,
        arms: arms(&tx)?,
        reminders: reminder_recovery(&tx, w)?,
    })
}
