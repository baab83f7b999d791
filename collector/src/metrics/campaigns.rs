//! Per campaign, with or without an experiment: `shows` (`Popup Shown`), `conversions`
//! (`Popup Converted`) and the `shoppers` shown it in the window, and the orders attributed to
//! it: each order of a shopper placed within the attribution window (`attribution`, 5 days by
//! default) after their first show of the campaign in the window, counted once per campaign.

use std::collections::BTreeMap;

use crate::db::{self, Sql};

use super::query::{with_window, Window, PERSON};

/// One campaign's numbers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Campaign {
    pub id: String,
    pub shows: i64,
    pub conversions: i64,
    pub shoppers: i64,
    /// Attributed orders, with or without an amount.
    pub orders: i64,
    /// Attributed revenue in micro-units, per currency.
    pub revenue: BTreeMap<String, i64>,
}

/// Fills `m_shown`: each shopper's first `Popup Shown` of each campaign in the window.
pub(super) fn shown() -> String {
    format!(
        "INSERT INTO m_shown (campaign, person, ts)
         SELECT campaign, person, ts FROM (
             SELECT x.*, ROW_NUMBER() OVER (
                        PARTITION BY x.campaign, x.person ORDER BY x.ts, x.seq) AS n
               FROM (SELECT f.seq, f.ts, f.experiment_id AS campaign, {PERSON} AS person
                       FROM facts f
                      WHERE f.event = 'Popup Shown' AND f.ts >= ?1 AND f.ts < ?2
                        AND f.experiment_id IS NOT NULL /*human f*/) x) s
          WHERE n = 1"
    )
}

/// Shows and conversions per campaign.
const EVENTS: &str = "
SELECT experiment_id, SUM(CASE WHEN event = 'Popup Shown' THEN 1 ELSE 0 END),
       SUM(CASE WHEN event = 'Popup Converted' THEN 1 ELSE 0 END)
  FROM facts
 WHERE event IN ('Popup Shown', 'Popup Converted') AND ts >= ?1 AND ts < ?2
   AND experiment_id IS NOT NULL /*human*/
 GROUP BY 1";

/// Shoppers shown each campaign.
const SHOPPERS: &str = "SELECT campaign, COUNT(*) FROM m_shown GROUP BY 1";

/// Orders within `{ATTRIBUTION}` ms after each shopper's first show, per campaign and currency.
const ATTRIBUTED: &str = "
SELECT s.campaign, o.currency, COUNT(*), SUM(o.amount)
  FROM m_shown s JOIN m_ord o ON o.person = s.person AND o.ts >= s.ts
                              AND o.ts < s.ts + {ATTRIBUTION}
 GROUP BY 1, 2";

/// The statements that read `facts` or the temporary tables (the query plan test runs them).
#[cfg(test)]
pub(super) const QUERIES: [&str; 3] = [EVENTS, SHOPPERS, ATTRIBUTED];

/// Every campaign with a show or a conversion in the window, by id.
pub(super) fn stats(sql: &dyn Sql, w: Window) -> db::Result<Vec<Campaign>> {
    let mut campaigns: BTreeMap<String, Campaign> = BTreeMap::new();
    let (events, params) = with_window(EVENTS, w);
    for r in sql.query(&events, &params)? {
        let c = entry(&mut campaigns, r.get(0)?);
        c.shows = r.get(1)?;
        c.conversions = r.get(2)?;
    }
    for r in sql.query(SHOPPERS, &[])? {
        entry(&mut campaigns, r.get(0)?).shoppers = r.get(1)?;
    }
    let attributed = ATTRIBUTED.replace("{ATTRIBUTION}", &w.attribution.to_string());
    for r in sql.query(&attributed, &[])? {
        let c = entry(&mut campaigns, r.get(0)?);
        c.orders += r.get::<i64>(2)?;
        if let Some(amount) = r.get::<Option<i64>>(3)? {
            c.revenue.insert(r.get(1)?, amount);
        }
    }
    Ok(campaigns.into_values().collect())
}

fn entry(campaigns: &mut BTreeMap<String, Campaign>, id: String) -> &mut Campaign {
    campaigns.entry(id.clone()).or_insert_with(|| Campaign {
        id,
        ..Campaign::default()
    })
}
