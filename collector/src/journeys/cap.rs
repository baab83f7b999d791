//! The daily limit per contact address (`webhook.max_per_contact_per_day`): however many
//! profiles claim one email address or phone number, it gets at most that many steps in any
//! 24 hours. A step is counted from the moment its first attempt is let through (it then
//! carries the SHA-256 of its addresses) while it is on its way or retried, and for 24 hours
//! after it was delivered; a step that failed or was cancelled counts no more. A step past
//! the limit is skipped, not put off: a reminder or a welcome a day late is not the one the
//! shop meant to send.

use serde_json::Value;

use crate::db::{self, vals, Engine, Sql};
use crate::identity::sha256_hex;

/// Why a step past the limit was skipped.
pub(crate) const REASON: &str = "contact address reached its daily limit";

const DAY_MS: i64 = 86_400_000;

/// The addresses a step goes to, as the SHA-256 (hex) of their normal form.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Contacts {
    /// The `email` trait, trimmed and lower-cased.
    pub email: Option<String>,
    /// The `phone` trait's digits.
    pub phone: Option<String>,
}

impl Contacts {
    /// The addresses in a profile's `traits`.
    pub(crate) fn of(traits: &Value) -> Contacts {
        let text = |k: &str| traits[k].as_str().map(str::trim).unwrap_or_default();
        let email = text("email").to_lowercase();
        let phone: String = text("phone").chars().filter(char::is_ascii_digit).collect();
        let hash = |s: String| (!s.is_empty()).then(|| sha256_hex(s.as_bytes()));
        Contacts {
            email: hash(email),
            phone: hash(phone),
        }
    }

    /// Whether one of the addresses already has `max` steps counted at `now`, besides step
    /// `id`. Takes a lock first on PostgreSQL (SQLite has one writer), so two steps for one
    /// address are let through one after the other and the second sees the first.
    pub(crate) fn reached(&self, sql: &dyn Sql, id: i64, max: u32, now: i64) -> db::Result<bool> {
        if self.email.is_none() && self.phone.is_none() {
            return Ok(false);
        }
        if sql.engine() == Engine::Postgres {
            sql.query("SELECT pg_advisory_xact_lock(7404)", &[])?;
        }
        for (column, value) in [("email_hash", &self.email), ("phone_hash", &self.phone)] {
            let Some(value) = value else { continue };
            let counted: i64 = sql.one(
                &format!(
                    "SELECT COUNT(*) FROM journey_steps WHERE {column} = ?1 AND id <> ?2
                     AND (status IN ('sending', 'scheduled')
                          OR (status = 'delivered' AND delivered_at > ?3))"
                ),
                &vals![value, id, now - DAY_MS],
                |r| r.get(0),
            )?;
            if counted >= i64::from(max) {
                return Ok(true);
            }
        }
        Ok(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn addresses_are_compared_in_their_normal_form() {
        let a = Contacts::of(&json!({ "email": " Ada@Example.com ", "phone": "+44 20 7946-0018" }));
        let b = Contacts::of(&json!({ "email": "ada@example.com", "phone": "442079460018" }));
        assert_eq!(a, b);
        assert_eq!(a.email, Some(sha256_hex(b"ada@example.com")));
        assert_eq!(
            Contacts::of(&json!({ "email": "  ", "phone": "n/a" })),
            Contacts::default()
        );
    }
}
