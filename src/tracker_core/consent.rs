//! Consent: the categories the shopper granted and what follows from them. Events need
//! `analytics` (without it nothing is stored or sent), popups need `marketing`, and Global
//! Privacy Control denies `marketing` whatever was granted. Every event carries the outcome as
//! `context.consent.categoryPreferences`, the member Segment's consent enforcement reads. The
//! stored record of a choice and what `consent.get()` returns are here too.

use super::json;
use crate::prelude::*;

/// The category events need.
pub const ANALYTICS: &str = "analytics";
/// The category popups need (and which Global Privacy Control denies).
pub const MARKETING: &str = "marketing";
/// Events held in memory while the shopper has not decided; later ones are dropped.
pub const HOLD_MAX: usize = 100;

/// The `consent` option.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// Nothing is stored or sent before `consent.grant` (opt-in); otherwise every category is
    /// granted until the shopper denies (opt-out).
    pub required: bool,
    /// The categories the site asks for (`analytics` among them).
    pub categories: Vec<String>,
    /// Honour Global Privacy Control (`navigator.globalPrivacyControl`) as a denial of
    /// `marketing`.
    pub gpc: bool,
    /// A consent manager decides (`from`): a choice stored earlier is not used before it has
    /// answered again, as it may have expired or been withdrawn there.
    pub managed: bool,
    /// A refusal of `analytics` still counts the visit (`onRefuse: "cookieless"`): events are
    /// sent without ids, traits or anything stored, and the collector derives a visitor that
    /// lasts a day at most.
    pub cookieless: bool,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            required: false,
            categories: vec![ANALYTICS.into(), MARKETING.into()],
            gpc: true,
            managed: false,
            cookieless: false,
        }
    }
}

/// What a page load driven by automation or a crawler does (the `bots` option); [`Consent`]
/// holds `Allow` for a shopper's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Bots {
    /// Nothing stored or sent.
    #[default]
    Drop,
    /// Events sent with `context.bot: true`.
    Mark,
    /// As a shopper's (test suites that drive headless browsers).
    Allow,
}

/// Where events stand with the shopper's consent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Analytics {
    /// Stored and sent.
    Granted,
    /// Held in memory (at most [`HOLD_MAX`]) until the shopper decides.
    Pending,
    /// Dropped.
    Denied,
    /// Sent without ids or traits, nothing stored (refused, with `onRefuse: "cookieless"`).
    Cookieless,
}

/// The shopper's choice under the site's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Consent {
    settings: Settings,
    /// What the shopper granted; `None` while undecided (opt-in only).
    granted: Option<Vec<String>>,
    /// The browser sends Global Privacy Control and the site honours it.
    gpc: bool,
    /// A bot's page load: `Drop` denies everything, `Mark` marketing (no popups).
    bot: Bots,
}

impl Consent {
    /// The choice at start: the stored one (see [`Consent::encode`]), else everything for an
    /// opt-out site, else undecided.
    pub fn new(settings: Settings, stored: Option<&str>, gpc_signal: bool) -> Consent {
        let stored = stored.filter(|_| !settings.managed);
        let granted = match stored {
            Some(s) => Some(
                s.split(' ')
                    .filter(|c| settings.categories.iter().any(|k| k == c))
                    .map(String::from)
                    .collect(),
            ),
            None => (!settings.required).then(|| settings.categories.clone()),
        };
        Consent {
            gpc: settings.gpc && gpc_signal,
            settings,
            granted,
            bot: Bots::Allow,
        }
    }

    /// The page load is a bot's, under the site's `bots` option.
    pub fn set_bot(&mut self, mode: Bots) {
        self.bot = mode;
    }

    /// A bot's page load whose events are sent marked.
    pub fn marked_bot(&self) -> bool {
        self.bot == Bots::Mark
    }

    /// A bot's page load that stores nothing, not even a consent choice.
    pub fn dropped_bot(&self) -> bool {
        self.bot == Bots::Drop
    }

    /// The site's settings.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Whether `category` is granted (and not denied by Global Privacy Control).
    pub fn allows(&self, category: &str) -> bool {
        !(self.gpc && category == MARKETING)
            && self
                .granted
                .as_ref()
                .is_some_and(|g| g.iter().any(|c| c == category))
    }

    /// Whether the site asks for `marketing` and it is granted: popups may run (never
    /// cookieless, where nothing may be stored and no id assigns an experiment's arm).
    pub fn marketing(&self) -> bool {
        self.bot == Bots::Allow
            && self.analytics() != Analytics::Cookieless
            && self.settings.categories.iter().any(|c| c == MARKETING)
            && self.allows(MARKETING)
    }

    /// Where events stand.
    pub fn analytics(&self) -> Analytics {
        match &self.granted {
            _ if self.bot == Bots::Drop => Analytics::Denied,
            None => Analytics::Pending,
            Some(_) if self.allows(ANALYTICS) => Analytics::Granted,
            Some(_) if self.settings.cookieless => Analytics::Cookieless,
            Some(_) => Analytics::Denied,
        }
    }

    /// Records the shopper's choice: these categories granted, every other one denied. A
    /// category the site did not configure is returned as the error.
    pub fn set(&mut self, categories: Vec<String>) -> Result<(), String> {
        if let Some(bad) = categories
            .iter()
            .find(|c| !self.settings.categories.contains(c))
        {
            return Err(bad.clone());
        }
        self.granted = Some(categories);
        Ok(())
    }

    /// The choice as stored (`shoptrail:consent`): the granted categories separated by spaces.
    pub fn encode(&self) -> String {
        self.granted.as_deref().unwrap_or_default().join(" ")
    }

    /// The `"consent":{...}` member of `context` (empty while undecided: nothing is sent then).
    pub fn context_member(&self) -> String {
        if self.granted.is_none() {
            return String::new();
        }
        let mut o = String::from("\"consent\":{\"categoryPreferences\":{");
        for (i, c) in self.settings.categories.iter().enumerate() {
            if i > 0 {
                o.push(',');
            }
            json::push_str(&mut o, c);
            o.push_str(if self.allows(c) { ":true" } else { ":false" });
        }
        o.push('}');
        if self.gpc {
            o.push_str(",\"gpc\":true");
        }
        o.push('}');
        o
    }

    /// What `consent.get()` returns: `{required, categories, granted, decided, gpc}`.
    pub fn state_json(&self) -> String {
        let list = |o: &mut String, items: &mut dyn Iterator<Item = &String>| {
            o.push('[');
            for (i, c) in items.enumerate() {
                if i > 0 {
                    o.push(',');
                }
                json::push_str(o, c);
            }
            o.push(']');
        };
        let mut o = String::from("{\"required\":");
        o.push_str(bool_text(self.settings.required));
        o.push_str(",\"categories\":");
        list(&mut o, &mut self.settings.categories.iter());
        o.push_str(",\"granted\":");
        list(
            &mut o,
            &mut self.settings.categories.iter().filter(|c| self.allows(c)),
        );
        o.push_str(",\"decided\":");
        o.push_str(bool_text(self.granted.is_some()));
        o.push_str(",\"gpc\":");
        o.push_str(bool_text(self.gpc));
        o.push('}');
        o
    }
}

fn bool_text(b: bool) -> &'static str {
    if b {
        "true"
    } else {
        "false"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opt_in() -> Settings {
        Settings {
            required: true,
            ..Settings::default()
        }
    }

    #[test]
    fn a_consent_manager_answers_again_before_a_stored_choice_is_used() {
        let managed = Settings {
            managed: true,
            ..opt_in()
        };
        let c = Consent::new(managed, Some("analytics marketing"), false);
        assert_eq!(c.analytics(), Analytics::Pending);
        let c = Consent::new(opt_in(), Some("analytics marketing"), false);
        assert_eq!(c.analytics(), Analytics::Granted);
    }

    #[test]
    fn an_opt_in_site_waits_and_an_opt_out_site_sends() {
        let c = Consent::new(opt_in(), None, false);
        assert_eq!(c.analytics(), Analytics::Pending);
        assert!(!c.allows(MARKETING));
        assert_eq!(c.context_member(), "");
        let c = Consent::new(Settings::default(), None, false);
        assert_eq!(c.analytics(), Analytics::Granted);
        assert!(c.allows(MARKETING));
    }

    #[test]
    fn a_stored_choice_is_restored_within_the_configured_categories() {
        let c = Consent::new(opt_in(), Some("analytics personalization"), false);
        assert_eq!(c.analytics(), Analytics::Granted);
        assert!(!c.allows("personalization"));
        assert!(!c.allows(MARKETING));
        // An opt-out site remembers a refusal as an empty record.
        let c = Consent::new(Settings::default(), Some(""), false);
        assert_eq!(c.analytics(), Analytics::Denied);
    }

    #[test]
    fn global_privacy_control_denies_marketing_unless_the_site_opts_out_of_it() {
        let mut c = Consent::new(opt_in(), None, true);
        c.set(vec![ANALYTICS.into(), MARKETING.into()]).unwrap();
        assert!(c.allows(ANALYTICS));
        assert!(!c.allows(MARKETING));
        assert_eq!(
            c.context_member(),
            "\"consent\":{\"categoryPreferences\":{\"analytics\":true,\"marketing\":false},\"gpc\":true}"
        );
        let c = Consent::new(
            Settings {
                gpc: false,
                ..Settings::default()
            },
            None,
            true,
        );
        assert!(c.allows(MARKETING));
    }

    #[test]
    fn only_configured_categories_can_be_granted() {
        let mut c = Consent::new(opt_in(), None, false);
        assert_eq!(c.set(vec!["ads".into()]), Err("ads".into()));
        assert_eq!(c.analytics(), Analytics::Pending);
        c.set(vec![MARKETING.into()]).unwrap();
        assert_eq!(c.analytics(), Analytics::Denied);
        assert!(c.allows(MARKETING));
        assert_eq!(c.encode(), "marketing");
        assert_eq!(
            c.state_json(),
            "{\"required\":true,\"categories\":[\"analytics\",\"marketing\"],\"granted\":[\"marketing\"],\"decided\":true,\"gpc\":false}"
        );
    }
}
