//! Marketing-only destinations (`--forward-marketing`): whether the person an event belongs
//! to consents to marketing when it is stored, and what a withdrawal takes back. Both run in
//! the event's insert transaction, and only when such a destination is configured.

use serde_json::Value;

use crate::consent::{grants_marketing, preferences, CONSENT_UPDATED};
use crate::db::marks;
use crate::db::{self, Sql, Val};
use crate::identity::person;
use crate::validate::PreparedEvent;

/// Events read at a time while looking back for the person's latest choice.
const PAGE: i64 = 20;

/// Whether the person stored event `seq` belongs to consents to marketing: the event's own
/// `context.consent.categoryPreferences` when it carries them (as the SDK's events do);
/// otherwise (a server's event) the latest choice the person's earlier events recorded, on
/// any of their devices, where a consent update without marketing is a refusal. No choice
/// recorded: no.
pub(crate) fn consents(sql: &dyn Sql, ev: &PreparedEvent, seq: i64) -> db::Result<bool> {
    if let Some(p) = preferences(&ev.object) {
        return Ok(grants_marketing(p));
    }
    let (anon, users) = person(sql, ev.anonymous_id.as_deref(), ev.user_id.as_deref())?;
    latest_choice(sql, &anon, &users, seq)
}

/// The marketing choice of the newest event before `before` of the person with these ids
/// that recorded one (newest first, a page at a time: usually the first row answers).
fn latest_choice(
    sql: &dyn Sql,
    anon: &[String],
    users: &[String],
    mut before: i64,
) -> db::Result<bool> {
    let n = anon.len() + users.len();
    let query = format!(
        "SELECT seq, type, event, body FROM events
         WHERE (anonymous_id IN ({}) OR user_id IN ({})) AND seq < ?{}
           AND (event = ?{} OR body LIKE '%\"categoryPreferences\"%')
         ORDER BY seq DESC LIMIT ?{}",
        marks(1, anon.len()),
        marks(anon.len() + 1, users.len()),
        n + 1,
        n + 2,
        n + 3
    );
    loop {
        let mut args: Vec<Val> = anon
            .iter()
            .chain(users)
            .map(|s| Val::from(s.as_str()))
            .collect();
        args.extend([Val::Int(before), Val::from(CONSENT_UPDATED), Val::Int(PAGE)]);
        let rows: Vec<(i64, String, Option<String>, String)> = sql.rows(&query, &args, |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })?;
        for (seq, kind, event, body) in &rows {
            before = *seq;
            let Ok(Value::Object(e)) = serde_json::from_str::<Value>(body) else {
                continue;
            };
            let update = kind == "track" && event.as_deref() == Some(CONSENT_UPDATED);
            match preferences(&e) {
                Some(p) => return Ok(grants_marketing(p)),
                None if update => return Ok(false),
                // The text was elsewhere in the body (a property, a trait).
                None => {}
            }
        }
        if rows.len() < PAGE as usize {
            return Ok(false);
        }
    }
}

/// Marketing consent withdrawn (`ev` is the consent update): the person's events still
/// waiting for a marketing-only destination (`marketing`) are removed from its outbox. A
/// batch already on its way is not called back.
pub(crate) fn withdrawn(sql: &dyn Sql, marketing: &[i64], ev: &PreparedEvent) -> db::Result<()> {
    let (anon, users) = person(sql, ev.anonymous_id.as_deref(), ev.user_id.as_deref())?;
    let m = marketing.len();
    let mut args: Vec<Val> = marketing.iter().map(|d| Val::Int(*d)).collect();
    args.extend(anon.iter().chain(&users).map(|s| Val::from(s.as_str())));
    sql.execute(
        &format!(
            "DELETE FROM forward_outbox WHERE destination IN ({}) AND seq IN
             (SELECT seq FROM events WHERE anonymous_id IN ({}) OR user_id IN ({}))",
            marks(1, m),
            marks(m + 1, anon.len()),
            marks(m + anon.len() + 1, users.len())
        ),
        &args,
    )?;
    Ok(())
}
