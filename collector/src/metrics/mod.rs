//! Storefront metrics from stored events: `GET /v1/metrics?from=&to=&by=`.
//!
//! Every stored event also gets a row in the `facts` table, in the same transaction (see
//! `facts.rs`); the metrics are SQL over that table's indexed columns and the identity graph.
//!
//! # Parameters
//!
//! - `from`, `to`: the window `[from, to)`, as `YYYY-MM-DD` (midnight UTC) or a full
//!   ISO-8601 date-time; by default the 30 days ending now (`from` alone: up to now; `to`
//!   alone: the 30 days before it). `from` must be before `to`, neither before 1970, and the
//!   window at most 3660 days long.
//! - `by`: `channel`, `device`, `devices`, `variant` or `consent` adds `groups`.
//! - `attribution`: days (1 to 90, `5` or `5d`; 5 by default) after a shopper's first
//!   `Popup Shown` of a campaign in which their orders count for it (`campaigns`).
//!
//! # Definitions
//!
//! - **Event time**: the event's `timestamp`, else its `receivedAt`. An event is in the
//!   window when its time is.
//! - **Bots**: events marked `context.bot` (see `crate::bots`) count in nothing unless the
//!   query says `bots=include`: a bot's copy of an order id hides no shopper's order and a
//!   bot's order recovers no cart. A person's session's first campaign or device is read from
//!   all of its facts.
//! - **Session**: `anonymousId` + `context.sessionId`. Events without both belong to no
//!   session. `sessions` counts the distinct sessions with an event in the window.
//! - **Person**: the identity graph's component of the event's anonymous id (else of its
//!   user id), so that the devices and ids stitched by `identify`, `alias`, emails and link
//!   tokens are one person; an id the graph does not know is a person of its own.
//! - **Orders**: `Order Completed` events in the window, each `order_id` counted once, at its
//!   first event (by time, then by arrival); an event before the window makes its repeats in
//!   the window uncounted. Events without an `order_id` each count.
//! - **Conversion rate**: sessions with at least one order / sessions.
//! - **Revenue**: per currency (`currency`, upper-case, `USD` when missing), the exact sum of
//!   each order's `total`, else `revenue`, read from its decimal text. Orders with neither
//!   count as orders but not in the money figures. Money is a decimal string with the
//!   currency's minor digits (0 for JPY and KRW, 3 for BHD, JOD, KWD, OMR and TND, 2
//!   otherwise), and more digits only when a sum has them.
//! - **Average order value**: per currency, revenue / orders with an amount in that currency,
//!   rounded half away from zero to the minor unit.
//! - **Customers**: persons with at least one order. **Repeat-purchase rate**: customers with
//!   two orders or more / customers.
//! - **Customer lifetime value**: per currency, revenue / customers with an order in that
//!   currency (within the window), rounded like the average order value.
//! - **Carts**: distinct `cart_id`s of `Product Added` in the window. **Abandoned**: carts
//!   that no `Order Completed` carrying the `cart_id` completed before the window's end.
//!   **Cart-abandonment rate**: abandoned / carts.
//! - **Reminder recovery**: `reminders` are delivered first-step abandoned-cart reminders in
//!   the window; `recovered` those whose person ordered within 7 days of the delivery;
//!   `reminderRecoveryRate` = recovered / reminders. Totals only (null in groups).
//! - **NPS**: `NPS Submitted` events in the window with an integer `score` from 0 to 10:
//!   `npsResponses`, `promoters` (9–10), `detractors` (0–6) and `nps` = 100 · (promoters −
//!   detractors) / responses, rounded half away from zero to one decimal.
//! - **Experiments**: per `experiment_id`, a person's arm is the `variation_id` of their first
//!   `Experiment Viewed` of it in the window (`control` is the control group). `exposed`:
//!   persons in the arm; `converted`: those with an order at or after their exposure, in the
//!   window. Each other arm against `control`: `lift` = p_arm − p_control, `ci` =
//!   lift ± 1.96 · √(p_arm(1 − p_arm)/n_arm + p_control(1 − p_control)/n_control), and
//!   `pValue`, the two-sided p-value of the pooled two-proportion z-test (null without
//!   variance; lift, ci and pValue are null without a control group).
//!   Revenue against control (`revenue.rs` has the methods): per arm and currency, the revenue
//!   of the orders at or after each visitor's exposure, `perVisitor` and `averageOrderValue`
//!   with 95% intervals, each variant's `perVisitorLift` with its interval; per experiment the
//!   `sampleRatio` check against the arms' `allocation` and the `currency` the verdicts read
//!   (the one of the most orders); per variant a `verdict` (`winner`, `loser`, `not enough
//!   data` with `visitorsNeeded`, `no difference`, `sample ratio mismatch`) and its
//!   `verdictLine`.
//! - **Groups** (`by`): each session gets a group; orders count in the group of their session
//!   (orders without a session only in the totals), carts in the group of the session of
//!   their first `Product Added`, NPS responses in the group of their session; customers,
//!   repeat-purchase rate and lifetime value are computed within the group's orders.
//!   - `channel`: `{"source", "medium"}` of the session's first event whose
//!     `context.campaign` has a `source` (medium `(none)` when missing);
//!     `{"source": "(direct)", "medium": "(none)"}` without one.
//!   - `device`: `"mobile"` when the session's first event with a `context.userAgent` names
//!     `Mobi`, `Android`, `iPhone` or `iPad`, else `"desktop"`.
//!   - `devices`: `"several"` when the session's person has more than one anonymous id in
//!     the identity graph, else `"one"`.
//!   - `variant`: `{"experimentId", "variationId"}` of each experiment the session's person
//!     was exposed to in the window; sessions of persons never exposed are in no group.
//!   - `consent`: `"cookieless"` when the session's events were sent cookieless (a shopper
//!     who refused storage, see `crate::cookieless`), else `"consented"` (the SDK's stored
//!     ids: consent given, or not required).
//! - **Series**: per UTC day of the window, every day listed: `sessions` with an event that
//!   day, `orders` that day, `conversionRate` (sessions with an order that day / sessions)
//!   and `revenue` per currency.
//! - **Funnel**: sessions that `viewed` (a page view or `Product Viewed`), then also
//!   `addedToCart` (`Product Added`), `checkoutStarted` (`Checkout Started`) and `ordered`
//!   (an order, as counted above): each step counts the sessions that also reached every
//!   earlier step, with `dropOff` = 1 − count / the previous step's count.
//! - **Campaigns** (`campaigns.rs`), with or without an experiment: `shows` (`Popup Shown`),
//!   `conversions` (`Popup Converted`), `conversionRate` (conversions / shows), `shoppers`
//!   (persons shown it), and `orders` and `revenue` per currency of those shoppers' orders in
//!   the window placed within `attribution` days after their first show there. Popup events
//!   stored before schema version 14 carry no campaign in their facts.
//! - Rates are fractions (0.5 is half), null when their denominator is 0.

mod campaigns;
mod facts;
mod money;
mod query;
mod revenue;
mod stats;

use std::collections::BTreeMap;

use axum::extract::State;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Map, Value};

pub(crate) use facts::{catch_up_chunk, record, ALLOCATION, BOT_FLAG, SCHEMA};
use query::{By, Counts, Report, Window};

use crate::error::ApiError;
use crate::params::{opt, Param, Params};
use crate::state::AppState;
use crate::time;

const DAY_MS: i64 = 86_400_000;

/// Days after a popup's show in which an order counts for its campaign, by default.
const DEFAULT_ATTRIBUTION_DAYS: i64 = 5;

/// The default window, in days.
const DEFAULT_DAYS: i64 = 30;

/// The longest window, in days (about ten years).
const MAX_DAYS: i64 = 3660;

/// The query string of `GET /v1/metrics`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct MetricsQuery {
    /// The window's start (default: 30 days before its end).
    #[serde(default, deserialize_with = "opt")]
    from: Option<Instant>,
    /// The window's end (default: now).
    #[serde(default, deserialize_with = "opt")]
    to: Option<Instant>,
    /// The groups, if any.
    #[serde(default, deserialize_with = "opt")]
    by: Option<By>,
    /// `include`: bots' events count too (`exclude`, the default: they count in nothing).
    #[serde(default, deserialize_with = "opt")]
    bots: Option<BotsParam>,
    /// Days after a popup was shown in which an order counts for its campaign (5).
    #[serde(default, deserialize_with = "opt")]
    attribution: Option<Days>,
}

/// A whole number of days, 1 to 90.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Days(i64);

impl Param for Days {
    fn parse(text: &str) -> Result<Days, String> {
        match text.strip_suffix('d').unwrap_or(text).parse::<i64>() {
            Ok(n) if (1..=90).contains(&n) => Ok(Days(n)),
            _ => Err(format!(
                "must be a whole number of days from 1 to 90 (5 or 5d), not '{text}'"
            )),
        }
    }
}

/// `bots=include` or `bots=exclude`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct BotsParam(bool);

impl Param for BotsParam {
    fn parse(text: &str) -> Result<BotsParam, String> {
        match text {
            "include" => Ok(BotsParam(true)),
            "exclude" => Ok(BotsParam(false)),
            other => Err(format!("must be include or exclude, not '{other}'")),
        }
    }
}

/// A `from` or `to`: a date or an ISO-8601 date-time, as ms since 1970.
#[derive(Debug, Clone, Copy)]
struct Instant(i64);

impl Param for Instant {
    fn parse(text: &str) -> Result<Instant, String> {
        let v = text.trim();
        match time::parse_iso8601(v) {
            Some(ms) if ms >= 0 => Ok(Instant(ms)),
            Some(_) => Err(format!("must not be before 1970-01-01, not '{v}'")),
            None => Err(format!(
                "must be a date (YYYY-MM-DD) or an ISO-8601 date-time (YYYY-MM-DDTHH:MM:SSZ), \
                 not '{v}'"
            )),
        }
    }
}

impl Param for By {
    fn parse(text: &str) -> Result<By, String> {
        match text {
            "channel" => Ok(By::Channel),
            "device" => Ok(By::Device),
            "devices" => Ok(By::Devices),
            "variant" => Ok(By::Variant),
            "consent" => Ok(By::Consent),
            other => Err(format!(
                "must be channel, device, devices, variant or consent, not '{other}'"
            )),
        }
    }
}

/// `GET /v1/metrics`.
pub(crate) async fn metrics(
    State(state): State<AppState>,
    Params(params): Params<MetricsQuery>,
) -> Result<Json<Value>, ApiError> {
    let (window, by) = parse_params(&params, state.clock().now_ms())?;
    let store = state.store();
    let report = tokio::task::spawn_blocking(move || {
        // Every event stored before this request counts.
        store.catch_up_facts()?;
        store.read(|sql| query::report(sql, window, by))
    })
    .await
    .map_err(|e| ApiError::internal(format!("metrics task failed: {e}")))?
    .map_err(|e| ApiError::internal(format!("could not compute metrics: {e}")))?;
    Ok(Json(to_json(window, by, &report)))
}

/// The window `params` name (`now` is the default end) and the grouping.
fn parse_params(params: &MetricsQuery, now: i64) -> Result<(Window, Option<By>), ApiError> {
    let (from, to) = match (params.from.map(|i| i.0), params.to.map(|i| i.0)) {
        (Some(f), Some(t)) => (f, t),
        (Some(f), None) => (f, now),
        (None, Some(t)) => (t.saturating_sub(DEFAULT_DAYS * DAY_MS).max(0), t),
        (None, None) => (now.saturating_sub(DEFAULT_DAYS * DAY_MS).max(0), now),
    };
    if from >= to {
        return Err(ApiError::bad_request(
            format!(
                "from ({}) must be before to ({})",
                time::format_millis(from),
                time::format_millis(to)
            ),
            Some("from"),
        ));
    }
    if to - from > MAX_DAYS * DAY_MS {
        return Err(ApiError::bad_request(
            format!(
                "the window from {} to {} is longer than {MAX_DAYS} days",
                time::format_millis(from),
                time::format_millis(to)
            ),
            Some("to"),
        ));
    }
    let bots = params.bots.is_some_and(|b| b.0);
    let attribution = params.attribution.map_or(DEFAULT_ATTRIBUTION_DAYS, |d| d.0) * DAY_MS;
    Ok((
        Window {
            from,
            to,
            bots,
            attribution,
        },
        params.by,
    ))
}

fn by_name(by: By) -> &'static str {
    match by {
        By::Channel => "channel",
        By::Device => "device",
        By::Devices => "devices",
        By::Variant => "variant",
        By::Consent => "consent",
    }
}

/// `part / whole` as a fraction, null when `whole` is 0.
fn rate(part: i64, whole: i64) -> Value {
    if whole == 0 {
        Value::Null
    } else {
        json!(part as f64 / whole as f64)
    }
}

/// `n / d` rounded half away from zero (`d` > 0).
fn div_round(n: i64, d: i64) -> i64 {
    let q = (2 * n.unsigned_abs() + d.unsigned_abs()) / (2 * d.unsigned_abs());
    let q = i64::try_from(q).unwrap_or(i64::MAX);
    if n < 0 {
        -q
    } else {
        q
    }
}

/// 100 · (promoters − detractors) / responses, to one decimal; null without responses.
fn nps(c: &Counts) -> Value {
    if c.nps_responses == 0 {
        return Value::Null;
    }
    let tenths = div_round(1000 * (c.promoters - c.detractors), c.nps_responses);
    json!(tenths as f64 / 10.0)
}

/// Money by currency, each amount from `f` (none: left out).
fn money_map(c: &Counts, f: impl Fn(&str, &query::Money) -> Option<i64>) -> Value {
    let map: Map<String, Value> = c
        .money
        .iter()
        .filter_map(|(cur, m)| f(cur, m).map(|v| (cur.clone(), json!(money::format(v, cur)))))
        .collect();
    Value::Object(map)
}

fn counts_json(c: &Counts, reminders: Option<(i64, i64)>) -> Value {
    let (reminded, recovered, recovery_rate) = match reminders {
        Some((n, r)) => (json!(n), json!(r), rate(r, n)),
        None => (Value::Null, Value::Null, Value::Null),
    };
    json!({
        "sessions": c.sessions,
        "convertedSessions": c.converted_sessions,
        "orders": c.orders,
        "conversionRate": rate(c.converted_sessions, c.sessions),
        "revenue": money_map(c, |_, m| Some(m.revenue)),
        "averageOrderValue": money_map(c, |cur, m| money::divide(m.revenue, m.orders, cur)),
        "customers": c.customers,
        "repeatCustomers": c.repeat_customers,
        "repeatPurchaseRate": rate(c.repeat_customers, c.customers),
        "customerLifetimeValue":
            money_map(c, |cur, m| money::divide(m.revenue, m.customers, cur)),
        "carts": c.carts,
        "abandonedCarts": c.abandoned_carts,
        "cartAbandonmentRate": rate(c.abandoned_carts, c.carts),
        "reminders": reminded,
        "recovered": recovered,
        "reminderRecoveryRate": recovery_rate,
        "npsResponses": c.nps_responses,
        "promoters": c.promoters,
        "detractors": c.detractors,
        "nps": nps(c),
    })
}

fn experiments_json(report: &Report) -> Value {
    let mut by_experiment: BTreeMap<&str, Vec<&query::Arm>> = BTreeMap::new();
    for arm in &report.arms {
        by_experiment.entry(&arm.experiment).or_default().push(arm);
    }
    let experiments: Vec<Value> = by_experiment
        .into_iter()
        .map(|(id, mut arms)| {
            // The control group first, then the variants by id.
            arms.sort_by_key(|a| (a.variation != "control", a.variation.clone()));
            experiment_json(id, &arms)
        })
        .collect();
    Value::Array(experiments)
}

/// One experiment: each arm's conversion and revenue, each variant against control, the
/// sample-ratio check and the verdicts (see `revenue`).
fn experiment_json(id: &str, arms: &[&query::Arm]) -> Value {
    let control = arms.iter().find(|a| a.variation == "control").copied();
    // The split the arms were given, when every arm says; else an even one.
    let given: Option<Vec<f64>> = arms
        .iter()
        .map(|a| a.allocation.map(|ppm| ppm as f64 / 1e6))
        .collect();
    let shares = given.clone().unwrap_or_else(|| vec![1.0; arms.len()]);
    let mut seen: Vec<(f64, f64)> = arms
        .iter()
        .zip(&shares)
        .map(|(a, s)| (a.exposed as f64, *s))
        .collect();
    // An arm nobody was seen in still had its share: the worst mismatch of all.
    let given_sum: f64 = given.iter().flatten().sum();
    if given.is_some() && given_sum < 0.999 {
        seen.push((0.0, 1.0 - given_sum));
    }
    let srm = revenue::sample_ratio(&seen);
    let mismatch = srm.is_some_and(|p| p < revenue::SRM_P);
    // The verdicts read the currency of the most orders (amounts in two currencies do not
    // compare), the first by name on a tie.
    let mut totals: BTreeMap<&str, f64> = BTreeMap::new();
    for a in arms {
        for (cur, s) in &a.revenue {
            *totals.entry(cur).or_default() += s.o;
        }
    }
    let currency = totals
        .iter()
        .max_by(|x, y| x.1.total_cmp(y.1).then(y.0.cmp(x.0)))
        .map(|(c, _)| c.to_string());
    let sums = |a: &query::Arm, cur: &str| {
        a.revenue.get(cur).copied().unwrap_or(revenue::Sums {
            n: a.exposed as f64,
            ..revenue::Sums::default()
        })
    };
    let variants: Vec<Value> = arms
        .iter()
        .map(|a| {
            let mut v = json!({
                "variationId": a.variation,
                "exposed": a.exposed,
                "converted": a.converted,
                "conversionRate": rate(a.converted, a.exposed),
                "allocation": a.allocation.map(|ppm| ppm as f64 / 1e6),
            });
            let mut money = Map::new();
            for cur in totals.keys() {
                let s = sums(a, cur);
                let mut m = json!({
                    "revenue": amount(s.r, cur),
                    "orders": s.o as i64,
                    "perVisitor": s.per_visitor().map(|e| amount(e.value, cur)),
                    "perVisitorCi": s.per_visitor().map(|e| interval(&e, cur)),
                    "averageOrderValue": s.order_value().map(|e| amount(e.value, cur)),
                    "averageOrderValueCi": s.order_value().map(|e| interval(&e, cur)),
                });
                if let (Some(c), true) = (control, a.variation != "control") {
                    let l = revenue::lift(&s, &sums(c, cur));
                    m["perVisitorLift"] = json!(l.map(|e| amount(e.value, cur)));
                    m["perVisitorLiftCi"] = json!(l.map(|e| interval(&e, cur)));
                }
                money.insert(cur.to_string(), m);
            }
            v["revenue"] = Value::Object(money);
            if let (Some(c), true) = (control, a.variation != "control") {
                let cmp = stats::compare(a.converted, a.exposed, c.converted, c.exposed);
                v["lift"] = json!(cmp.map(|c| c.lift));
                v["ci"] = json!(cmp.map(|c| [c.ci.0, c.ci.1]));
                v["pValue"] = json!(cmp.and_then(|c| c.p_value));
                let cur = currency.as_deref().unwrap_or("USD");
                let (sv, sc) = (sums(a, cur), sums(c, cur));
                let verdict = revenue::Verdict::of(&sv, &sc, mismatch);
                v["verdict"] = json!(verdict.name());
                v["visitorsNeeded"] = json!(match verdict {
                    revenue::Verdict::NotYet(Some(n)) => Some((n - sv.n.min(sc.n)).max(0.0) as i64),
                    _ => None,
                });
                v["verdictLine"] = json!(verdict_line(&a.variation, &verdict, &sv, &sc, cur, srm));
            }
            v
        })
        .collect();
    json!({
        "experimentId": id,
        "currency": currency,
        "sampleRatio": {
            "pValue": srm,
            "mismatch": mismatch,
            "expected": given.is_some().then(|| {
                arms.iter()
                    .zip(&shares)
                    .map(|(a, s)| (a.variation.clone(), json!(s)))
                    .collect::<Map<String, Value>>()
            }),
        },
        "variants": variants,
    })
}

/// Each campaign's shows, conversions and attributed orders (see `campaigns`).
fn campaigns_json(campaigns: &[campaigns::Campaign]) -> Value {
    let list: Vec<Value> = campaigns
        .iter()
        .map(|c| {
            let revenue: Map<String, Value> = (c.revenue.iter())
                .map(|(cur, v)| (cur.clone(), json!(money::format(*v, cur))))
                .collect();
            json!({
                "campaignId": c.id,
                "shows": c.shows,
                "shoppers": c.shoppers,
                "conversions": c.conversions,
                "conversionRate": rate(c.conversions, c.shows),
                "orders": c.orders,
                "revenue": revenue,
            })
        })
        .collect();
    Value::Array(list)
}

/// Micro-units as money text rounded to the currency's minor unit.
fn amount(micros: f64, currency: &str) -> Value {
    money::divide(micros.round() as i64, 1, currency)
        .map_or(Value::Null, |m| json!(money::format(m, currency)))
}

fn interval(e: &revenue::Estimate, currency: &str) -> Value {
    json!([amount(e.low, currency), amount(e.high, currency)])
}

/// The verdict as a sentence a merchant reads.
fn verdict_line(
    variant: &str,
    verdict: &revenue::Verdict,
    v: &revenue::Sums,
    c: &revenue::Sums,
    cur: &str,
    srm: Option<f64>,
) -> String {
    use revenue::Verdict;
    let text = |x: f64| amount(x, cur).as_str().unwrap_or("0").to_owned();
    let lift = revenue::lift(v, c);
    let range = |l: &revenue::Estimate| format!("95% interval {} to {}", text(l.low), text(l.high));
    match (verdict, lift) {
        (Verdict::Mismatch, _) => format!(
            "The split is off (sample ratio p = {:.1e}): fix the assignment or the tracking before reading these numbers.",
            srm.unwrap_or(0.0)
        ),
        (Verdict::Winner, Some(l)) => format!(
            "{variant} earns more per visitor than control: +{} {cur} ({}).",
            text(l.value),
            range(&l)
        ),
        (Verdict::Loser, Some(l)) => format!(
            "{variant} earns less per visitor than control: {} {cur} ({}).",
            text(l.value),
            range(&l)
        ),
        (Verdict::NoDifference, _) => format!(
            "No difference: with {} visitors per arm a 10% difference in revenue per visitor would have shown.",
            v.n.min(c.n) as i64
        ),
        (Verdict::NotYet(Some(n)), _) => format!(
            "Not enough data yet: about {} more visitors per arm to tell a 10% difference in revenue per visitor.",
            (n - v.n.min(c.n)).max(0.0) as i64
        ),
        _ => "Not enough data yet: the control group has no revenue to compare with.".to_owned(),
    }
}

fn to_json(w: Window, by: Option<By>, report: &Report) -> Value {
    let series: Vec<Value> = report
        .series
        .iter()
        .map(|d| {
            let revenue: Map<String, Value> = d
                .revenue
                .iter()
                .map(|(cur, v)| (cur.clone(), json!(money::format(*v, cur))))
                .collect();
            json!({
                "date": &time::format_millis(d.day * DAY_MS)[..10],
                "sessions": d.sessions,
                "orders": d.orders,
                "conversionRate": rate(d.converted_sessions, d.sessions),
                "revenue": revenue,
            })
        })
        .collect();
    let steps = ["viewed", "addedToCart", "checkoutStarted", "ordered"];
    let funnel: Vec<Value> = steps
        .iter()
        .zip(report.funnel)
        .enumerate()
        .map(|(i, (step, count))| {
            let drop_off = match i.checked_sub(1).and_then(|p| report.funnel.get(p)) {
                Some(&prev) if prev > 0 => json!(1.0 - count as f64 / prev as f64),
                _ => Value::Null,
            };
            json!({ "step": step, "count": count, "dropOff": drop_off })
        })
        .collect();
    let mut out = json!({
        "from": time::format_millis(w.from),
        "to": time::format_millis(w.to),
        "by": by.map(by_name),
        "bots": if w.bots { "included" } else { "excluded" },
        "totals": counts_json(&report.totals, Some(report.reminders)),
        "series": series,
        "funnel": funnel,
        "experiments": experiments_json(report),
        "attributionDays": w.attribution / DAY_MS,
        "campaigns": campaigns_json(&report.campaigns),
    });
    if by.is_some() {
        let groups: Vec<Value> = report
            .groups
            .iter()
            .map(|(key, c)| {
                let key: Value = serde_json::from_str(key).unwrap_or(Value::Null);
                json!({ "key": key, "metrics": counts_json(c, None) })
            })
            .collect();
        out["groups"] = Value::Array(groups);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The window and grouping a query string gives at `now`.
    fn read(query: &str, now: i64) -> Result<(Window, Option<By>), ApiError> {
        let uri = format!("/v1/metrics?{query}").parse().expect("a URI");
        parse_params(&crate::params::read::<MetricsQuery>(&uri)?, now)
    }

    #[test]
    fn reads_the_window_and_grouping() {
        let now = 1_764_547_200_000; // 2025-12-01
        let (w, by) = read("", now).expect("defaults");
        assert_eq!((w.from, w.to, by), (now - 30 * DAY_MS, now, None));
        let (w, by) =
            read("from=2025-11-01&to=2025-11-02T12:00:00Z&by=devices", now).expect("valid");
        assert_eq!(
            (w.from, w.to, by),
            (1_761_955_200_000, 1_762_084_800_000, Some(By::Devices))
        );
        let (w, _) = read("to=2025-11-01", now).expect("valid");
        assert_eq!(w.to - w.from, 30 * DAY_MS);
        for (bad, field) in [
            ("from=yesterday", "from"),
            ("to=2025-02-30", "to"),
            ("from=2025-11-02&to=2025-11-01", "from"),
            ("from=2025-11-01&to=2025-11-01", "from"),
            ("from=1969-12-31", "from"),
            ("from=2000-01-01&to=2025-01-01", "to"),
            ("by=country", "by"),
            ("since=2025-11-01", "since"),
        ] {
            let err = read(bad, now).expect_err("rejected");
            assert_eq!(err.field(), Some(field), "{bad}");
        }
    }

    #[test]
    fn nps_rounds_to_one_decimal() {
        let c = |p, d, n| Counts {
            promoters: p,
            detractors: d,
            nps_responses: n,
            ..Counts::default()
        };
        assert_eq!(nps(&c(2, 1, 3)), json!(33.3));
        assert_eq!(nps(&c(1, 2, 3)), json!(-33.3));
        assert_eq!(nps(&c(2, 0, 3)), json!(66.7));
        assert_eq!(nps(&c(1, 0, 8)), json!(12.5));
        assert_eq!(nps(&c(0, 0, 0)), Value::Null);
    }
}
