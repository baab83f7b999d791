//! Channel link tokens: an email, SMS or push system asks for one per person and message
//! (`POST /v1/link-tokens`, admin), puts it in its links as `st_lt=`, and the SDK sends it
//! once per device as `context.linkToken`. A redeemed token joins the device to the person in
//! the identity graph; an unknown (or revoked), expired or overused token (5 devices unless
//! issued with `maxDevices`, up to 100) joins nothing and is counted. Tokens are kept as their
//! SHA-256 only, which is also their id: an event's `context.linkToken` is replaced by
//! `context.linkTokenId` before it is stored (validate.rs), so no raw token is stored or
//! forwarded; events stored before that are rewritten once, in the background
//! (backfill.rs). `DELETE /v1/link-tokens/{id}` (admin) revokes one.

use crate::db::{self, vals, DbError, Sql};
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use base64::Engine as _;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::error::ApiError;
use crate::identity::{email_node, sha256_hex, Graph, Linked, Node};
use crate::state::AppState;
use crate::validate::PreparedEvent;

pub(crate) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS link_tokens (
    hash       TEXT PRIMARY KEY,
    user_id    TEXT,
    email      TEXT,
    channel    TEXT NOT NULL,
    campaign   TEXT,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    devices    INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS link_token_devices (
    hash         TEXT NOT NULL,
    anonymous_id TEXT NOT NULL,
    PRIMARY KEY (hash, anonymous_id)
);
CREATE TABLE IF NOT EXISTS link_token_misses (
    reason TEXT PRIMARY KEY,
    count  INTEGER NOT NULL
);
";

/// Devices one token may join unless issued with `maxDevices`.
pub(crate) const DEFAULT_DEVICES: i64 = 5;
/// The most `maxDevices` may be.
pub(crate) const MAX_DEVICES: i64 = 100;

/// Migration: each token's own device limit (tokens issued before keep 100).
pub(crate) const MAX_DEVICES_SCHEMA: &str =
    "ALTER TABLE link_tokens ADD COLUMN max_devices INTEGER NOT NULL DEFAULT 100;";
/// The default lifetime, seconds (30 days); at most a year.
const DEFAULT_TTL_S: u64 = 30 * 86_400;
const MAX_TTL_S: u64 = 365 * 86_400;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct Issue {
    user_id: Option<String>,
    email: Option<String>,
    channel: Option<String>,
    campaign: Option<String>,
    /// Lifetime in seconds.
    ttl: Option<u64>,
    /// Devices the token may join (1 to 100).
    max_devices: Option<i64>,
}

/// `POST /v1/link-tokens` (admin): `{ userId | email, channel, campaign?, ttl? }` gives
/// `{ token, expiresAt }`.
pub(crate) async fn issue(
    State(state): State<AppState>,
    body: Result<Json<Issue>, axum::extract::rejection::JsonRejection>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let Json(req) = body.map_err(|e| ApiError::bad_request(e.body_text(), None))?;
    let user = req
        .user_id
        .filter(|u| !u.trim().is_empty() && u.len() <= 128);
    let email = req.email.filter(|e| e.contains('@') && e.len() <= 320);
    if user.is_none() && email.is_none() {
        return Err(ApiError::bad_request(
            "give userId (1 to 128 characters) or email",
            Some("userId"),
        ));
    }
    let channel = req.channel.unwrap_or_default();
    let channel_ok = (1..=32).contains(&channel.len())
        && channel
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if !channel_ok {
        return Err(ApiError::bad_request(
            "must be a channel name such as email, sms or push",
            Some("channel"),
        ));
    }
    let ttl = req.ttl.unwrap_or(DEFAULT_TTL_S);
    if !(60..=MAX_TTL_S).contains(&ttl) {
        return Err(ApiError::bad_request(
            "must be 60 to 31536000 seconds",
            Some("ttl"),
        ));
    }
    let max_devices = req.max_devices.unwrap_or(DEFAULT_DEVICES);
    if !(1..=MAX_DEVICES).contains(&max_devices) {
        return Err(ApiError::bad_request(
            "must be 1 to 100 devices",
            Some("maxDevices"),
        ));
    }
    let now = state.clock().now_ms();
    let expires = now + (ttl as i64) * 1000;
    let email_hash = email.map(|e| email_node(&e).1);
    let store = state.store();
    let token = tokio::task::spawn_blocking(move || {
        store.with(|sql| {
            let who = (user.as_deref(), email_hash.as_deref());
            let channel = (channel.as_str(), req.campaign.as_deref());
            mint(sql, who, channel, max_devices, now, expires)
        })
    })
    .await
    .map_err(|e| ApiError::internal(e.to_string()))?
    .map_err(|e| ApiError::internal(e.to_string()))?;
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "id": sha256_hex(token.as_bytes()),
            "token": token,
            "expiresAt": crate::time::format_iso8601(
                std::time::UNIX_EPOCH + std::time::Duration::from_millis(expires as u64)
            ),
        })),
    ))
}

/// Stores a new token for `(user id, email hash)` on `(channel, campaign)`, joining at most
/// `max_devices`, and gives it (only its hash is kept).
pub(crate) fn mint(
    sql: &dyn Sql,
    (user, email_hash): (Option<&str>, Option<&str>),
    (channel, campaign): (&str, Option<&str>),
    max_devices: i64,
    now: i64,
    expires: i64,
) -> db::Result<String> {
    let mut raw = [0u8; 24];
    getrandom::fill(&mut raw).map_err(|e| DbError::new(format!("no random bytes: {e}")))?;
    let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw);
    sql.execute(
        "INSERT INTO link_tokens
             (hash, user_id, email, channel, campaign, created_at, expires_at, max_devices)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        &vals![
            sha256_hex(token.as_bytes()),
            user,
            email_hash,
            channel,
            campaign,
            now,
            expires,
            max_devices
        ],
    )?;
    Ok(token)
}

/// `DELETE /v1/link-tokens/{id}` (admin): the token stops joining devices (later uses count
/// as unknown); the devices it joined stay joined. 204, or 404 for an id never issued.
pub(crate) async fn revoke(
    State(state): State<AppState>,
    axum::extract::Path(id): axum::extract::Path<String>,
) -> Result<StatusCode, ApiError> {
    let store = state.store();
    let removed = tokio::task::spawn_blocking(move || {
        store.with(|sql| {
            sql.execute(
                "DELETE FROM link_token_devices WHERE hash = ?1",
                &vals![&id],
            )?;
            sql.execute("DELETE FROM link_tokens WHERE hash = ?1", &vals![&id])
        })
    })
    .await
    .map_err(|e| ApiError::internal(e.to_string()))?
    .map_err(|e| ApiError::internal(e.to_string()))?;
    if removed == 0 {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "no link token has this id",
            None,
        ));
    }
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /v1/link-tokens` (admin): tokens that joined nothing, by reason.
pub(crate) async fn stats(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let store = state.store();
    let misses = tokio::task::spawn_blocking(move || {
        store.read(|sql| {
            sql.rows("SELECT reason, count FROM link_token_misses", &[], |r| {
                Ok((r.get::<String>(0)?, r.get::<i64>(1)?))
            })
        })
    })
    .await
    .map_err(|e| ApiError::internal(e.to_string()))?
    .map_err(|e| ApiError::internal(e.to_string()))?;
    let mut m = json!({ "unknown": 0, "expired": 0, "overused": 0 });
    for (reason, n) in misses {
        m[reason] = json!(n);
    }
    Ok(Json(json!({ "misses": m })))
}

fn miss(sql: &dyn Sql, reason: &str) -> db::Result<()> {
    sql.execute(
        "INSERT INTO link_token_misses (reason, count) VALUES (?1, 1)
         ON CONFLICT (reason) DO UPDATE SET count = link_token_misses.count + 1",
        &vals![reason],
    )?;
    Ok(())
}

/// A token's user id, email hash, expiry, devices joined and devices it may join.
type TokenRow = (Option<String>, Option<String>, i64, i64, i64);

/// The edge a stored event's `context.linkToken` gives: the device and the token's person,
/// or nothing (counted) for an unknown, expired or overused token.
pub(crate) fn redeem(sql: &dyn Sql, ev: &PreparedEvent) -> db::Result<Option<(Node, Node)>> {
    let Some(hash) = carried(ev) else {
        return Ok(None);
    };
    let Some(anon) = ev.anonymous_id.clone() else {
        return Ok(None);
    };
    let row: Option<TokenRow> = sql.opt(
        "SELECT user_id, email, expires_at, devices, max_devices FROM link_tokens WHERE hash = ?1",
        &vals![hash],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
    )?;
    let Some((user, email, expires, devices, max_devices)) = row else {
        miss(sql, "unknown")?;
        return Ok(None);
    };
    // The event's receipt, by the collector's clock.
    let received = crate::time::parse_iso8601(&ev.received_at).unwrap_or(i64::MAX);
    if expires < received {
        miss(sql, "expired")?;
        return Ok(None);
    }
    let known = sql
        .opt(
            "SELECT 1 FROM link_token_devices WHERE hash = ?1 AND anonymous_id = ?2",
            &vals![hash, &anon],
            |_| Ok(()),
        )?
        .is_some();
    if !known {
        if devices >= max_devices {
            miss(sql, "overused")?;
            return Ok(None);
        }
        sql.execute(
            "INSERT INTO link_token_devices (hash, anonymous_id) VALUES (?1, ?2)",
            &vals![hash, &anon],
        )?;
        sql.execute(
            "UPDATE link_tokens SET devices = devices + 1 WHERE hash = ?1",
            &vals![hash],
        )?;
    }
    let person: Node = match (user, email) {
        (Some(u), _) => ("userId", u),
        (None, Some(e)) => ("email", e),
        (None, None) => return Ok(None),
    };
    Ok(Some((("anonymousId", anon), person)))
}

/// The channels and campaigns of the tokens the devices in `anon` redeemed.
pub(crate) fn channels(
    sql: &dyn Sql,
    anon: &[String],
) -> db::Result<Vec<(String, Option<String>)>> {
    let mut out = Vec::new();
    for a in anon {
        let rows = sql.rows(
            "SELECT DISTINCT t.channel, t.campaign FROM link_token_devices d
             JOIN link_tokens t ON t.hash = d.hash WHERE d.anonymous_id = ?1",
            &vals![a],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        for r in rows {
            if !out.contains(&r) {
                out.push(r);
            }
        }
    }
    Ok(out)
}

/// The id of the link token an event carried (`context.linkTokenId`, which validation put in
/// the token's place).
pub(crate) fn carried(ev: &PreparedEvent) -> Option<&str> {
    ev.object
        .get("context")
        .and_then(|c| c.get("linkTokenId"))
        .and_then(Value::as_str)
}

/// Replaces an event context's raw `linkToken` by `linkTokenId`, the token's id (its SHA-256,
/// whether the collector knows the token or not); whether there was one. Ingestion does it
/// before storing an event, and [`crate::backfill`] to the events stored before it did.
pub(crate) fn hide_raw_token(context: &mut serde_json::Map<String, Value>) -> bool {
    let Some(Value::String(token)) = context.get("linkToken") else {
        return false;
    };
    let id = sha256_hex(token.as_bytes());
    context.remove("linkToken");
    context.insert("linkTokenId".to_owned(), Value::String(id));
    true
}

/// Links a redeemed token's edge, recording a conflict as any other edge.
pub(crate) fn link(graph: &Graph, ev: &PreparedEvent, edge: (Node, Node)) -> db::Result<()> {
    if let Linked::Conflict(x, y) = graph.link(&edge.0, &edge.1)? {
        graph.conflict(
            &ev.received_at,
            Some(&ev.message_id),
            &edge.0,
            &edge.1,
            (&x, &y),
        )?;
    }
    Ok(())
}
