//! Frequency caps, persisted by the browser layer in `shoptrail:engage`: how often each
//! campaign was shown in the current session, when it was last dismissed, whether it
//! converted. The cap is counted when the popup is shown (before it renders), so a reload
//! cannot show it twice.
//!
//! Stored form: one line per campaign, `id TAB session TAB shown TAB dismissed-ms TAB
//! converted(0|1)`. Lines that do not parse are dropped.

use super::campaign::Frequency;

const DAY: u64 = 86_400_000;

#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    id: String,
    session: u64,
    shown: u32,
    dismissed: u64,
    converted: bool,
}

/// Every campaign's record.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Caps {
    entries: Vec<Entry>,
}

impl Caps {
    /// Reads the stored form (anything unreadable is dropped).
    pub fn decode(text: &str) -> Caps {
        let entries = text
            .lines()
            .filter_map(|l| {
                let mut f = l.split('\t');
                let id = f.next().filter(|s| !s.is_empty())?.to_string();
                let session = f.next()?.parse().ok()?;
                let shown = f.next()?.parse().ok()?;
                let dismissed = f.next()?.parse().ok()?;
                let converted = f.next()? == "1";
                Some(Entry {
                    id,
                    session,
                    shown,
                    dismissed,
                    converted,
                })
            })
            .collect();
        Caps { entries }
    }

    /// The stored form.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        for e in &self.entries {
            out.push_str(&format!(
                "{}\t{}\t{}\t{}\t{}\n",
                e.id,
                e.session,
                e.shown,
                e.dismissed,
                u8::from(e.converted)
            ));
        }
        out
    }

    fn entry(&mut self, id: &str) -> &mut Entry {
        let i = match self.entries.iter().position(|e| e.id == id) {
            Some(i) => i,
            None => {
                self.entries.push(Entry {
                    id: id.into(),
                    session: 0,
                    shown: 0,
                    dismissed: 0,
                    converted: false,
                });
                self.entries.len() - 1
            }
        };
        &mut self.entries[i]
    }

    /// Whether campaign `id` may show now in `session`.
    pub fn allows(&self, id: &str, f: &Frequency, session: u64, now: u64) -> bool {
        let Some(e) = self.entries.iter().find(|e| e.id == id) else {
            return true;
        };
        let shown = if e.session == session { e.shown } else { 0 };
        let quiet_until = e
            .dismissed
            .saturating_add(u64::from(f.dismiss_days).saturating_mul(DAY));
        !e.converted && shown < f.per_session && (e.dismissed == 0 || now >= quiet_until)
    }

    /// Counts one showing (or control assignment) in `session`.
    pub fn shown(&mut self, id: &str, session: u64) {
        let e = self.entry(id);
        if e.session != session {
            e.session = session;
            e.shown = 0;
        }
        e.shown = e.shown.saturating_add(1);
    }

    /// The shopper dismissed it at `now`.
    pub fn dismissed(&mut self, id: &str, now: u64) {
        self.entry(id).dismissed = now.max(1);
    }

    /// The shopper converted: never again.
    pub fn converted(&mut self, id: &str) {
        self.entry(id).converted = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_session_dismissal_and_conversion() {
        let f = Frequency {
            per_session: 2,
            dismiss_days: 5,
        };
        let mut c = Caps::default();
        assert!(c.allows("a", &f, 1, 0));
        c.shown("a", 1);
        assert!(c.allows("a", &f, 1, 0));
        c.shown("a", 1);
        assert!(!c.allows("a", &f, 1, 0), "two per session");
        assert!(c.allows("a", &f, 2, 0), "a new session");
        c.dismissed("a", 1_000);
        assert!(!c.allows("a", &f, 3, 1_000 + 5 * DAY - 1));
        assert!(c.allows("a", &f, 3, 1_000 + 5 * DAY));
        c.converted("a");
        assert!(!c.allows("a", &f, 9, 100 * DAY));
        assert!(c.allows("b", &f, 1, 0), "caps are per campaign");
    }

    #[test]
    fn survives_a_reload_and_drops_garbage() {
        let mut c = Caps::default();
        c.shown("exit-offer", 42);
        c.dismissed("news", 7);
        let text = c.encode();
        assert_eq!(Caps::decode(&text), c);
        let noisy = format!("{text}junk\n\tx\ny\t1\t2\n");
        assert_eq!(Caps::decode(&noisy), c);
        assert!(!Caps::decode(&text).allows("exit-offer", &Frequency::default(), 42, 0));
    }
}
