//! The journeys' endpoints: `GET /v1/journeys/deliveries` (admin: every step with its
//! status), `GET /v1/journeys` (counts per journey and step, and the cart recoveries), and
//! `POST|GET /_shoptrail/inbox`, a webhook receiver that checks the signature, for the demo
//! and for trying a configuration out.

use crate::db::{self, Sql, Val};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use super::config::{JourneysConfig, Trigger};
use crate::error::ApiError;
use crate::params::{opt, Param, Params};
use crate::state::AppState;
use crate::time::format_millis;

/// Calls the inbox keeps (the newest).
pub(crate) const INBOX_SIZE: usize = 100;

const STATUSES: [&str; 7] = [
    "scheduled",
    "retrying",
    "sending",
    "delivered",
    "failed",
    "cancelled",
    "skipped",
];

fn config(state: &AppState) -> Result<std::sync::Arc<JourneysConfig>, ApiError> {
    state.journeys().ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "no journeys: start the collector with --journeys FILE",
            None,
        )
    })
}

async fn blocking<T: Send + 'static>(
    state: &AppState,
    f: impl FnOnce(&dyn Sql) -> db::Result<T> + Send + 'static,
) -> Result<T, ApiError> {
    let store = state.store();
    tokio::task::spawn_blocking(move || store.read(f))
        .await
        .map_err(|e| ApiError::internal(e.to_string()))?
        .map_err(|e| ApiError::internal(format!("database: {e}")))
}

/// The query string of `GET /v1/journeys/deliveries`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct DeliveriesQuery {
    /// One journey's steps.
    #[serde(default, deserialize_with = "opt")]
    journey: Option<String>,
    /// Steps with this status.
    #[serde(default, deserialize_with = "opt")]
    status: Option<Status>,
    /// How many (100 by default, at most 1,000).
    #[serde(default, deserialize_with = "opt")]
    limit: Option<i64>,
}

/// One of [`STATUSES`].
#[derive(Debug, Clone, Copy)]
struct Status(&'static str);

impl Param for Status {
    fn parse(text: &str) -> Result<Status, String> {
        match STATUSES.iter().find(|s| **s == text) {
            Some(s) => Ok(Status(s)),
            None => Err(format!(
                "must be one of {}, not '{text}'",
                STATUSES.join(", ")
            )),
        }
    }
}

/// `GET /v1/journeys/deliveries?journey=&status=&limit=` (admin): steps, newest first.
pub(crate) async fn deliveries(
    State(state): State<AppState>,
    Params(q): Params<DeliveriesQuery>,
) -> Result<Json<Value>, ApiError> {
    config(&state)?;
    let limit = match q.limit {
        None => 100,
        Some(n) if (1..=1000).contains(&n) => n,
        Some(n) => {
            return Err(ApiError::bad_request(
                format!("limit must be 1 to 1000, not '{n}'"),
                Some("limit"),
            ))
        }
    };
    let mut query = String::from(
        "SELECT s.id, s.idempotency_key, r.journey, s.step, s.name, s.status, s.attempts,
                s.due_at, s.next_at, s.delivered_at, s.last_status, s.last_error, s.reason,
                s.code, r.anonymous_id, r.user_id, r.key
         FROM journey_steps s JOIN journey_runs r ON r.id = s.run WHERE 1 = 1",
    );
    let mut args: Vec<Val> = Vec::new();
    if let Some(j) = q.journey {
        args.push(Val::from(j));
        query.push_str(&format!(" AND r.journey = ?{}", args.len()));
    }
    match q.status.map(|s| s.0) {
        None => {}
        Some("retrying") => query.push_str(" AND s.status = 'scheduled' AND s.attempts > 0"),
        Some("scheduled") => query.push_str(" AND s.status = 'scheduled' AND s.attempts = 0"),
        Some(s) => {
            args.push(Val::from(s));
            query.push_str(&format!(" AND s.status = ?{}", args.len()));
        }
    }
    args.push(Val::Int(limit));
    query.push_str(&format!(" ORDER BY s.id DESC LIMIT ?{}", args.len()));
    let rows = blocking(&state, move |sql| {
        sql.rows(&query, &args, |r| {
            let status: String = r.get(5)?;
            let attempts: i64 = r.get(6)?;
            let time = |i: usize| -> db::Result<Value> {
                Ok(r.get::<Option<i64>>(i)?.map_or(Value::Null, |t| json!(format_millis(t))))
            };
            let key: String = r.get(16)?;
            Ok(json!({
                "id": r.get::<i64>(0)?,
                "idempotencyKey": r.get::<String>(1)?,
                "journey": r.get::<String>(2)?,
                "step": r.get::<i64>(3)? + 1,
                "stepName": r.get::<String>(4)?,
                "status": if status == "scheduled" && attempts > 0 { "retrying" } else { status.as_str() },
                "attempts": attempts,
                "dueAt": time(7)?,
                "nextAttemptAt": if status == "scheduled" { time(8)? } else { Value::Null },
                "deliveredAt": time(9)?,
                "lastStatus": r.get::<Option<i64>>(10)?,
                "lastError": r.get::<Option<String>>(11)?,
                "reason": r.get::<Option<String>>(12)?,
                "code": r.get::<Option<String>>(13)?,
                "anonymousId": r.get::<Option<String>>(14)?,
                "userId": r.get::<Option<String>>(15)?,
                "cartId": key.strip_prefix("cart:"),
            }))
        })
    })
    .await?;
    Ok(Json(json!({ "deliveries": rows })))
}

/// `GET /v1/journeys`: each configured journey with its steps' counts by status, and for
/// cart journeys the reminders sent and the carts recovered within 7 days.
pub(crate) async fn summary(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let cfg = config(&state)?;
    let counts = blocking(&state, |sql| {
        let rows = sql.rows(
            "SELECT r.journey, s.step,
                    CASE WHEN s.status = 'scheduled' AND s.attempts > 0 THEN 'retrying'
                         ELSE s.status END,
                    COUNT(*)
             FROM journey_steps s JOIN journey_runs r ON r.id = s.run
             GROUP BY 1, 2, 3",
            &[],
            |r| {
                Ok((
                    r.get::<String>(0)?,
                    r.get::<i64>(1)?,
                    r.get::<String>(2)?,
                    r.get::<i64>(3)?,
                ))
            },
        )?;
        let recovered = super::recovery(sql, 0, i64::MAX)?;
        Ok((rows, recovered))
    })
    .await?;
    let (rows, (reminded, recovered)) = counts;
    let journeys: Vec<Value> = cfg
        .journeys
        .iter()
        .map(|j| {
            let steps: Vec<Value> = j
                .steps
                .iter()
                .enumerate()
                .map(|(k, s)| {
                    let mut by = serde_json::Map::new();
                    for st in STATUSES {
                        let n: i64 = rows
                            .iter()
                            .filter(|r| r.0 == j.id && r.1 == k as i64 && r.2 == st)
                            .map(|r| r.3)
                            .sum();
                        by.insert(st.to_string(), json!(n));
                    }
                    json!({
                        "step": k + 1,
                        "name": s.name,
                        "after": short(s.after),
                        "counts": by,
                    })
                })
                .collect();
            let (trigger, recovery) = match &j.trigger {
                Trigger::AbandonedCart => (
                    json!("abandoned_cart"),
                    json!({ "reminded": reminded, "recovered": recovered }),
                ),
                Trigger::Event(e) => (json!({ "event": e }), Value::Null),
            };
            json!({ "id": j.id, "trigger": trigger, "steps": steps, "recovery": recovery })
        })
        .collect();
    Ok(Json(json!({ "journeys": journeys })))
}

/// A delay as the journeys file would write it: `0s`, `90s`, `30m`, `1h`, `36h`, `2d`.
fn short(d: std::time::Duration) -> String {
    let s = d.as_secs();
    match s {
        0 => "0s".into(),
        _ if s.is_multiple_of(86_400) => format!("{}d", s / 86_400),
        _ if s.is_multiple_of(3_600) => format!("{}h", s / 3_600),
        _ if s.is_multiple_of(60) => format!("{}m", s / 60),
        _ => format!("{s}s"),
    }
}

/// `POST /_shoptrail/inbox`: accepts a webhook call whose `Shoptrail-Signature` verifies
/// with the journeys' secret (401 otherwise) and keeps it for `GET`.
pub(crate) async fn inbox_post(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let cfg = config(&state)?;
    let text = String::from_utf8_lossy(&body).into_owned();
    let header = headers
        .get("shoptrail-signature")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let now_s = state.clock().now_ms().div_euclid(1000);
    if !super::payload::verify(&cfg.secret, header, &text, now_s, 300) {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "the Shoptrail-Signature does not verify with the journeys' secret",
            None,
        ));
    }
    let key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let payload: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    let mut inbox = state.inbox();
    let repeat = key.is_some() && inbox.iter().any(|c| c["idempotencyKey"] == json!(key));
    if !repeat {
        if inbox.len() == INBOX_SIZE {
            inbox.pop_front();
        }
        inbox.push_back(json!({
            "receivedAt": state.clock().now_iso8601(),
            "idempotencyKey": key,
            "payload": payload,
        }));
    }
    Ok(Json(json!({ "ok": true, "repeat": repeat })))
}

/// `GET /_shoptrail/inbox`: the calls the inbox accepted, newest first.
pub(crate) async fn inbox_get(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    config(&state)?;
    let calls: Vec<Value> = state.inbox().iter().rev().cloned().collect();
    Ok(Json(json!({ "calls": calls })))
}
