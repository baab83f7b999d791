//! What one step sends: the checks made before every attempt (the journey still runs, the
//! person consents to marketing and can be reached, the cart still waits), the daily limit
//! per contact address checked at the first attempt, the payload built then (every retry
//! sends the same bytes), its discount code and cart link, and the `Shoptrail-Signature`
//! header.

use crate::db::{self, vals, DbError, Sql};
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;

use super::cap::{self, Contacts};
use super::config::{JourneysConfig, Trigger};
use super::{cancel_pending, CANCELLED, SKIPPED};
use crate::identity::person;
use crate::time::format_millis;

/// What an attempt of a step does.
#[derive(Debug)]
pub(crate) enum Ready {
    /// POST this body with this idempotency key.
    Send { body: String, key: String },
    /// Nothing: the step was closed (cancelled or skipped).
    Closed,
}

struct Row {
    step: usize,
    name: String,
    due_at: i64,
    key: String,
    payload: Option<String>,
    run: i64,
    journey: String,
    run_key: String,
    anonymous_id: Option<String>,
    user_id: Option<String>,
    started_at: i64,
    state: String,
    ended_reason: Option<String>,
    trigger_id: String,
}

fn load(sql: &dyn Sql, id: i64) -> db::Result<Option<Row>> {
    sql.opt(
        "SELECT s.step, s.name, s.due_at, s.idempotency_key, s.payload, r.id, r.journey, r.key,
                r.anonymous_id, r.user_id, r.started_at, r.state, r.ended_reason, r.trigger_id
         FROM journey_steps s JOIN journey_runs r ON r.id = s.run WHERE s.id = ?1",
        &vals![id],
        |r| {
            Ok(Row {
                step: r.get::<i64>(0)? as usize,
                name: r.get(1)?,
                due_at: r.get(2)?,
                key: r.get(3)?,
                payload: r.get(4)?,
                run: r.get(5)?,
                journey: r.get(6)?,
                run_key: r.get(7)?,
                anonymous_id: r.get(8)?,
                user_id: r.get(9)?,
                started_at: r.get(10)?,
                state: r.get(11)?,
                ended_reason: r.get(12)?,
                trigger_id: r.get(13)?,
            })
        },
    )
}

/// Closes step `id` without sending it.
fn close(
    sql: &dyn Sql,
    id: i64,
    status: &'static str,
    reason: &str,
    now: i64,
) -> db::Result<Ready> {
    sql.execute(
        "UPDATE journey_steps SET status = ?2, reason = ?3, lease_until = NULL, lease_owner = NULL,
         updated_at = ?4 WHERE id = ?1",
        &vals![id, status, reason, now],
    )?;
    Ok(Ready::Closed)
}

/// Checks step `id` (claimed by the caller) and gives what to send, building and storing
/// the payload at its first attempt.
pub(crate) fn prepare(sql: &dyn Sql, cfg: &JourneysConfig, id: i64, now: i64) -> db::Result<Ready> {
    let Some(row) = load(sql, id)? else {
        return Ok(Ready::Closed);
    };
    let journey = cfg.journeys.iter().find(|j| j.id == row.journey);
    let Some((journey, step)) = journey.and_then(|j| Some((j, j.steps.get(row.step)?))) else {
        return close(
            sql,
            id,
            CANCELLED,
            "the journey or step is no longer configured",
            now,
        );
    };
    if row.state == "ended" {
        let why = match row.ended_reason.as_deref() {
            Some("ordered") => "the shopper ordered",
            Some("emptied") => "the cart was emptied",
            Some("withdrawn") => "the shopper withdrew marketing consent",
            _ => "the journey ended",
        };
        return close(sql, id, CANCELLED, why, now);
    }
    let (anon, users) = person(sql, row.anonymous_id.as_deref(), row.user_id.as_deref())?;
    let profile = crate::profiles::build_of(sql, (&anon, &users, &[]), 0, None)?;
    let traits = &profile["traits"];
    if profile["consent"]["marketing"] != Value::Bool(true) {
        return close(sql, id, SKIPPED, "no marketing consent", now);
    }
    if traits["unsubscribed"] == Value::Bool(true) {
        return close(sql, id, SKIPPED, "unsubscribed", now);
    }
    let contact = |k: &str| traits[k].as_str().is_some_and(|v| !v.trim().is_empty());
    if !contact("email") && !contact("phone") {
        return close(sql, id, SKIPPED, "no email or phone trait", now);
    }
    let mut cart = Value::Null;
    if let Some(cart_id) = row.run_key.strip_prefix("cart:") {
        let since = format_millis(row.started_at);
        if ordered_since(sql, &anon, &users, &since)? {
            end_run(sql, row.run, "ordered", now)?;
            return close(sql, id, CANCELLED, "the shopper ordered", now);
        }
        let current = &profile["cart"];
        if current["cart_id"].as_str() != Some(cart_id) {
            cancel_pending(sql, row.run, "a newer cart replaced it", now)?;
            return close(sql, id, CANCELLED, "a newer cart replaced it", now);
        }
        if current["products"].as_array().is_none_or(Vec::is_empty) {
            end_run(sql, row.run, "emptied", now)?;
            return close(sql, id, CANCELLED, "the cart was emptied", now);
        }
        cart = current.clone();
    }
    if let Some(body) = row.payload {
        return Ok(Ready::Send { body, key: row.key });
    }
    let contacts = Contacts::of(traits);
    if contacts.reached(sql, id, cfg.max_per_contact_per_day, now)? {
        return close(sql, id, SKIPPED, cap::REASON, now);
    }

    let discount = match &step.discount {
        Some(d) => {
            let code = new_code(sql, id, &d.prefix, d.length, d.percent, now)?;
            json!({ "code": code, "percentOff": d.percent })
        }
        None => Value::Null,
    };
    let cart_url = match (
        cfg.cart_url.as_ref().or(cfg.shopify_store.as_ref()),
        cart.is_null(),
    ) {
        (Some(url), false) => {
            let email_hash = traits["email"]
                .as_str()
                .map(|e| crate::identity::email_node(e).1);
            let who = (users.first().map(String::as_str), email_hash.as_deref());
            let expires = now + 30 * 86_400_000;
            let token = crate::tokens::mint(
                sql,
                who,
                (&cfg.link_channel, Some(&journey.id)),
                crate::tokens::DEFAULT_DEVICES,
                now,
                expires,
            )?;
            if cfg.shopify_store.is_some() {
                json!(crate::shopify::cart_permalink(
                    url,
                    &cart,
                    &cfg.link_param,
                    &token
                ))
            } else {
                let sep = if url.contains('?') { '&' } else { '?' };
                json!(format!("{url}{sep}{}={token}", cfg.link_param))
            }
        }
        _ => Value::Null,
    };
    let (trigger, order) = match &journey.trigger {
        Trigger::AbandonedCart => (Value::Null, Value::Null),
        Trigger::Event(name) => {
            let props = trigger_properties(sql, &row.trigger_id)?;
            let order = if name == "Order Completed" {
                props.clone()
            } else {
                Value::Null
            };
            (
                json!({ "event": name, "messageId": row.trigger_id, "properties": props }),
                order,
            )
        }
    };
    let body = json!({
        "id": row.key,
        "type": "journey.step",
        "journey": journey.id,
        "step": { "index": row.step + 1, "name": row.name, "of": journey.steps.len() },
        "scheduledFor": format_millis(row.due_at),
        "createdAt": format_millis(now),
        "profile": {
            "userId": profile["ids"]["userId"],
            "anonymousIds": profile["ids"]["anonymousIds"],
            "traits": profile["traits"],
            "consent": profile["consent"],
            "channels": profile["channels"],
        },
        "cart": cart,
        "cartUrl": cart_url,
        "order": order,
        "trigger": trigger,
        "discount": discount,
    })
    .to_string();
    sql.execute(
        "UPDATE journey_steps SET payload = ?2, email_hash = ?3, phone_hash = ?4 WHERE id = ?1",
        &vals![id, &body, &contacts.email, &contacts.phone],
    )?;
    Ok(Ready::Send { body, key: row.key })
}

fn end_run(sql: &dyn Sql, run: i64, reason: &str, now: i64) -> db::Result<()> {
    sql.execute(
        "UPDATE journey_runs SET state = 'ended', ended_reason = ?2,
         ordered_at = CASE WHEN ?2 = 'ordered' THEN COALESCE(ordered_at, ?3) ELSE ordered_at END
         WHERE id = ?1",
        &vals![run, reason, now],
    )?;
    let why = if reason == "ordered" {
        "the shopper ordered"
    } else {
        "the cart was emptied"
    };
    cancel_pending(sql, run, why, now)
}

/// Whether the person's devices stored an Order Completed at or after `since` (the
/// collector's time): an order another device made before it was linked counts too.
fn ordered_since(
    sql: &dyn Sql,
    anon: &[String],
    users: &[String],
    since: &str,
) -> db::Result<bool> {
    for id in anon.iter().chain(users) {
        let found = sql.opt(
            "SELECT 1 FROM events WHERE (anonymous_id = ?1 OR user_id = ?1) AND type = 'track'
             AND event = 'Order Completed' AND received_at >= ?2 LIMIT 1",
            &vals![id, since],
            |_| Ok(()),
        )?;
        if found.is_some() {
            return Ok(true);
        }
    }
    Ok(false)
}

fn trigger_properties(sql: &dyn Sql, message_id: &str) -> db::Result<Value> {
    let body: Option<String> = sql.opt(
        "SELECT body FROM events WHERE message_id = ?1",
        &vals![message_id],
        |r| r.get(0),
    )?;
    Ok(body
        .and_then(|b| serde_json::from_str::<Value>(&b).ok())
        .map(|e| e["properties"].clone())
        .unwrap_or(Value::Null))
}

/// Letters and digits that cannot be mistaken for one another (no 0/O, 1/I).
const CODE_ALPHABET: &[u8; 32] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";

/// A new discount code for step `id`, stored so that no other step ever gets it.
fn new_code(
    sql: &dyn Sql,
    id: i64,
    prefix: &str,
    length: u8,
    percent: u8,
    now: i64,
) -> db::Result<String> {
    let existing: Option<String> = sql.opt(
        "SELECT code FROM discount_codes WHERE step = ?1",
        &vals![id],
        |r| r.get(0),
    )?;
    if let Some(code) = existing {
        return Ok(code);
    }
    for _ in 0..8 {
        let mut raw = vec![0u8; usize::from(length)];
        getrandom::fill(&mut raw).map_err(|e| DbError::new(format!("no random bytes: {e}")))?;
        let tail: String = raw
            .iter()
            .map(|b| char::from(CODE_ALPHABET[usize::from(b & 31)]))
            .collect();
        let code = format!("{prefix}{tail}");
        let added = sql.execute(
            "INSERT INTO discount_codes (code, step, percent, created_at)
             VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING",
            &vals![&code, id, percent, now],
        )?;
        if added == 1 {
            sql.execute(
                "UPDATE journey_steps SET code = ?2 WHERE id = ?1",
                &vals![id, &code],
            )?;
            return Ok(code);
        }
    }
    Err(DbError::new(
        "no unused discount code after 8 tries: lengthen the codes",
    ))
}

/// The `Shoptrail-Signature` value: `t=<unix seconds>,v1=<hex HMAC-SHA256 of "t.body">`.
pub(crate) fn sign(secret: &str, t: i64, body: &str) -> String {
    format!("t={t},v1={}", hex(&mac(secret, t, body)))
}

fn mac(secret: &str, t: i64, body: &str) -> Vec<u8> {
    let mut m = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    m.update(t.to_string().as_bytes());
    m.update(b".");
    m.update(body.as_bytes());
    m.finalize().into_bytes().to_vec()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Checks a `Shoptrail-Signature` header: a `v1` matches (in constant time) and `t` is
/// within `tolerance_s` of `now_s`.
pub(crate) fn verify(secret: &str, header: &str, body: &str, now_s: i64, tolerance_s: i64) -> bool {
    let mut t = None;
    let mut sigs = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", v)) => t = v.parse::<i64>().ok(),
            Some(("v1", v)) => sigs.push(v),
            _ => {}
        }
    }
    let Some(t) = t else { return false };
    if (now_s - t).abs() > tolerance_s {
        return false;
    }
    let want = hex(&mac(secret, t, body));
    sigs.iter().any(|s| {
        s.len() == want.len()
            && s.bytes()
                .zip(want.bytes())
                .fold(0u8, |d, (a, b)| d | (a ^ b))
                == 0
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_as_stripe_does() {
        // HMAC-SHA256("0123456789abcdef", "1700000000.{}") computed independently with
        // Python: hmac.new(b"0123456789abcdef", b"1700000000.{}", hashlib.sha256).hexdigest()
        let h = sign("0123456789abcdef", 1_700_000_000, "{}");
        assert_eq!(
            h,
            "t=1700000000,v1=e4f8e2ecae2295b2ddb2f0b5584c8275e226c0ebe9b3b819e70156bb67122e3e"
        );
    }

    #[test]
    fn verifies_time_and_signature() {
        let h = sign("secret-secret-secret", 1_000, "{\"a\":1}");
        assert!(verify("secret-secret-secret", &h, "{\"a\":1}", 1_100, 300));
        assert!(!verify("secret-secret-secret", &h, "{\"a\":2}", 1_100, 300));
        assert!(!verify("another-secret-here", &h, "{\"a\":1}", 1_100, 300));
        assert!(!verify("secret-secret-secret", &h, "{\"a\":1}", 1_400, 300));
        assert!(!verify(
            "secret-secret-secret",
            "v1=00",
            "{\"a\":1}",
            1_000,
            300
        ));
    }
}
