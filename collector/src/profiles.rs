//! Unified profiles over the identity graph, behind the admin token: every id of a person,
//! their devices, merged traits, channels, first and last campaign, current cart, orders and
//! the timeline across devices (`GET /v1/profiles/{id}`, `GET /v1/profiles?q=`), and the
//! refused merges (`GET /v1/identity/conflicts`).

use std::collections::BTreeMap;

use crate::db::{self, marks, Sql, Val};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::error::ApiError;
use crate::identity::{email_node, Graph, Node};
use crate::params::{opt, Params};
use crate::state::AppState;

/// The nodes an id given by an admin may be: a user id, an anonymous id, an email.
pub(crate) fn candidates(id: &str) -> Vec<Node> {
    let mut c = vec![("userId", id.to_string()), ("anonymousId", id.to_string())];
    if id.contains('@') {
        c.push(email_node(id));
    }
    c
}

/// The root of the person `id` names.
fn root_for(sql: &dyn Sql, id: &str) -> db::Result<Option<i64>> {
    let g = Graph::new(sql);
    // Finding a root shortens paths, a change to the graph.
    g.lock()?;
    for n in candidates(id) {
        if let Some(r) = g.root_of(&n)? {
            return Ok(Some(r));
        }
    }
    Ok(None)
}

/// The person's events (bodies), in arrival order, `before` a seq when paging backwards.
fn events(
    sql: &dyn Sql,
    anon: &[String],
    users: &[String],
    newest_first: Option<(u32, Option<i64>)>,
) -> db::Result<Vec<(i64, Value)>> {
    let mut args: Vec<Val> = anon
        .iter()
        .chain(users)
        .map(|s| Val::from(s.clone()))
        .collect();
    let mut query = format!(
        "SELECT seq, body FROM events WHERE (anonymous_id IN ({}) OR user_id IN ({}))",
        marks(1, anon.len()),
        marks(anon.len() + 1, users.len())
    );
    match newest_first {
        Some((limit, before)) => {
            if let Some(b) = before {
                args.push(Val::Int(b));
                query.push_str(&format!(" AND seq < ?{}", args.len()));
            }
            args.push(Val::Int(i64::from(limit)));
            query.push_str(&format!(" ORDER BY seq DESC LIMIT ?{}", args.len()));
        }
        None => query.push_str(" ORDER BY seq"),
    }
    sql.rows(&query, &args, |r| {
        let body: String = r.get(1)?;
        Ok((
            r.get(0)?,
            serde_json::from_str(&body).unwrap_or(Value::Null),
        ))
    })
}

fn text(v: &Value, path: &[&str]) -> Option<String> {
    let mut at = v;
    for p in path {
        at = at.get(p)?;
    }
    match at {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Builds the profile of the component at `root`.
fn build(sql: &dyn Sql, root: i64, limit: u32, before: Option<i64>) -> db::Result<Value> {
    let members = Graph::new(sql).members(root)?;
    let of = |k: &str| -> Vec<String> {
        members
            .iter()
            .filter(|(kind, _)| kind == k)
            .map(|(_, v)| v.clone())
            .collect()
    };
    let (anon, users, emails) = (of("anonymousId"), of("userId"), of("email"));
    build_of(sql, (&anon, &users, &emails), limit, before)
}

/// The profile of the person with these anonymous ids, user ids and email hashes (the
/// timeline's last `limit` events, `before` a seq).
pub(crate) fn build_of(
    sql: &dyn Sql,
    (anon, users, emails): (&[String], &[String], &[String]),
    limit: u32,
    before: Option<i64>,
) -> db::Result<Value> {
    let all = events(sql, anon, users, None)?;
    let mut devices: BTreeMap<String, Map<String, Value>> = BTreeMap::new();
    let mut traits = Map::new();
    let mut trait_meta = Map::new();
    let mut channels = vec!["web".to_string()];
    let (mut first_touch, mut last_touch) = (Value::Null, Value::Null);
    let mut orders = Vec::new();
    // The latest consent the SDK reported (Segment's `context.consent`).
    let mut consent = Value::Null;
    // The current cart: the latest cart id seen, unless an order completed it.
    let mut cart_id: Option<String> = None;
    let mut completed: Vec<String> = Vec::new();
    for (_, e) in &all {
        let at = text(e, &["timestamp"])
            .or_else(|| text(e, &["receivedAt"]))
            .unwrap_or_default();
        let device = text(e, &["anonymousId"]).unwrap_or_default();
        let d = devices.entry(device.clone()).or_default();
        d.entry("anonymousId").or_insert(json!(device));
        d.entry("firstSeen").or_insert(json!(at));
        d.insert("lastSeen".into(), json!(at));
        if let Some(ua) = text(e, &["context", "userAgent"]) {
            d.insert("userAgent".into(), json!(ua));
        }
        if let Some(u) = text(e, &["userId"]) {
            d.insert("userId".into(), json!(u));
        }
        if let Some(Value::Object(t)) = e.get("traits") {
            for (k, v) in t {
                if k == "first_touch" || k == "last_touch" {
                    continue;
                }
                traits.insert(k.clone(), v.clone());
                trait_meta.insert(k.clone(), json!({ "at": at, "anonymousId": device }));
            }
        }
        if let Some(p) = e.as_object().and_then(crate::consent::preferences) {
            consent = Value::Object(p.clone());
        }
        if let Some(c @ Value::Object(_)) = e.get("context").and_then(|c| c.get("campaign")) {
            if first_touch.is_null() {
                first_touch = c.clone();
            }
            last_touch = c.clone();
            if let Some(m) = text(c, &["medium"]) {
                if !channels.contains(&m) {
                    channels.push(m);
                }
            }
        }
        let name = text(e, &["event"]).unwrap_or_default();
        if name == "Order Completed" {
            let p = e.get("properties").cloned().unwrap_or(Value::Null);
            orders.push(json!({
                "order_id": p.get("order_id"), "total": p.get("total").or(p.get("revenue")),
                "currency": p.get("currency"), "at": at, "anonymousId": device,
            }));
            completed.extend(text(&p, &["cart_id"]));
        } else if matches!(
            name.as_str(),
            "Product Added" | "Product Removed" | "Cart Viewed"
        ) {
            // Cart events, not every event that carries a cart id (a product viewed on another
            // device carries that device's empty cart).
            if let Some(c) = text(e, &["properties", "cart_id"]) {
                cart_id = Some(c);
            }
        }
    }
    for (channel, campaign) in crate::tokens::channels(sql, anon)? {
        if !channels.contains(&channel) {
            channels.push(channel.clone());
        }
        if let Some(c) = campaign {
            last_touch = json!({ "source": channel, "name": c });
        }
    }
    let cart = cart_id
        .filter(|id| !completed.contains(id))
        .map(|id| current_cart(&all, &id));
    let timeline: Vec<Value> = events(sql, anon, users, Some((limit, before)))?
        .into_iter()
        .map(|(seq, mut e)| {
            if let Value::Object(o) = &mut e {
                o.insert("seq".into(), json!(seq));
            }
            e
        })
        .collect();
    let next = (timeline.len() == limit as usize)
        .then(|| timeline.last().and_then(|e| e.get("seq")).cloned())
        .flatten();
    Ok(json!({
        "ids": { "userId": users.first(), "anonymousIds": anon, "emailHashes": emails },
        "devices": devices.into_values().collect::<Vec<_>>(),
        "traits": traits,
        "traitSources": trait_meta,
        "consent": consent,
        "channels": channels,
        "firstTouch": first_touch,
        "lastTouch": last_touch,
        "cart": cart,
        "orders": orders,
        "events": all.len(),
        "timeline": timeline,
        "nextBefore": next,
    }))
}

/// The lines of cart `id`, replayed from Product Added and Product Removed.
fn current_cart(all: &[(i64, Value)], id: &str) -> Value {
    let mut lines: Vec<(String, Value, i64)> = Vec::new();
    for (_, e) in all {
        let p = match e.get("properties") {
            Some(p) if text(p, &["cart_id"]).as_deref() == Some(id) => p,
            _ => continue,
        };
        let sign = match text(e, &["event"]).as_deref() {
            Some("Product Added") => 1,
            Some("Product Removed") => -1,
            _ => continue,
        };
        let key = format!(
            "{}|{}",
            text(p, &["product_id"])
                .or_else(|| text(p, &["sku"]))
                .unwrap_or_default(),
            text(p, &["variant"]).unwrap_or_default()
        );
        let qty = p.get("quantity").and_then(Value::as_i64).unwrap_or(1) * sign;
        match lines.iter_mut().find(|l| l.0 == key) {
            Some(l) => l.2 += qty,
            None => lines.push((key, p.clone(), qty)),
        }
    }
    let products: Vec<Value> = lines
        .into_iter()
        .filter(|l| l.2 > 0)
        .map(|(_, mut p, q)| {
            if let Value::Object(o) = &mut p {
                o.insert("quantity".into(), json!(q));
                o.remove("cart_id");
            }
            p
        })
        .collect();
    json!({ "cart_id": id, "products": products })
}

/// The query string of `GET /v1/profiles/{id}`: the timeline's page.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Paging {
    /// Events in the timeline (100 by default, at most 1,000).
    #[serde(default, deserialize_with = "opt")]
    limit: Option<i64>,
    /// Only events with a smaller seq (the previous page's `nextBefore`).
    #[serde(default, deserialize_with = "opt")]
    before: Option<i64>,
}

/// The query string of `GET /v1/profiles`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Search {
    /// A user id or an email.
    #[serde(default, deserialize_with = "opt")]
    q: Option<String>,
}

fn internal(e: impl std::fmt::Display) -> ApiError {
    ApiError::internal(format!("database: {e}"))
}

/// `GET /v1/profiles/{id}`: the person `id` (a user id, anonymous id or email) names.
pub(crate) async fn profile(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Params(p): Params<Paging>,
) -> Result<Json<Value>, ApiError> {
    let limit = match p.limit {
        None => 100,
        Some(n) => u32::try_from(n)
            .ok()
            .filter(|n| (1..=1000).contains(n))
            .ok_or_else(|| {
                ApiError::bad_request(
                    format!("limit must be an integer from 1 to 1000, not '{n}'"),
                    Some("limit"),
                )
            })?,
    };
    let store = state.store();
    let found = tokio::task::spawn_blocking(move || {
        store.with(|sql| match root_for(sql, &id)? {
            Some(root) => build(sql, root, limit, p.before).map(Some),
            None => Ok(None),
        })
    })
    .await
    .map_err(internal)?
    .map_err(internal)?;
    found.map(Json).ok_or_else(not_found)
}

/// 404 for an id no stored data has.
pub(crate) fn not_found() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "no profile has this id",
        Some("id".into()),
    )
}

/// `GET /v1/profiles?q=`: profiles whose user id or email is `q` (exact; emails in any case).
pub(crate) async fn search(
    State(state): State<AppState>,
    Params(p): Params<Search>,
) -> Result<Json<Value>, ApiError> {
    let q = p.q.unwrap_or_default();
    if q.trim().is_empty() {
        return Err(ApiError::bad_request(
            "give q: a user id or an email",
            Some("q"),
        ));
    }
    let store = state.store();
    let found = tokio::task::spawn_blocking(move || {
        store.with(|sql| {
            let g = Graph::new(sql);
            g.lock()?;
            let mut out = Vec::new();
            for n in [("userId", q.trim().to_string()), email_node(&q)] {
                if let Some(root) = g.root_of(&n)? {
                    let ids = g.members(root)?;
                    out.push(json!({
                        "userId": ids.iter().find(|m| m.0 == "userId").map(|m| &m.1),
                        "anonymousIds": ids.iter().filter(|m| m.0 == "anonymousId").map(|m| &m.1).collect::<Vec<_>>(),
                    }));
                }
            }
            out.dedup();
            Ok(out)
        })
    })
    .await
    .map_err(internal)?
    .map_err(internal)?;
    Ok(Json(json!({ "profiles": found })))
}

/// `GET /v1/identity/conflicts`: edges refused because they would join two users.
pub(crate) async fn conflicts(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let store = state.store();
    let rows = tokio::task::spawn_blocking(move || {
        store.read(|sql| {
            sql.rows(
                "SELECT at, message_id, a_kind, a_value, b_kind, b_value, user_a, user_b
                 FROM id_conflicts ORDER BY seq DESC LIMIT 1000",
                &[],
                |r| {
                    Ok(json!({
                        "at": r.get::<String>(0)?, "messageId": r.get::<Option<String>>(1)?,
                        "from": { "kind": r.get::<String>(2)?, "value": r.get::<String>(3)? },
                        "to": { "kind": r.get::<String>(4)?, "value": r.get::<String>(5)? },
                        "users": [r.get::<String>(6)?, r.get::<String>(7)?],
                    }))
                },
            )
        })
    })
    .await
    .map_err(internal)?
    .map_err(internal)?;
    Ok(Json(json!({ "conflicts": rows })))
}
