//! The collector's clock: the system's, or a manual one that tests set and advance, so a
//! day of journeys runs in milliseconds.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A clock in milliseconds since the Unix epoch. Clones share the time.
#[derive(Debug, Clone, Default)]
pub struct Clock {
    manual: Option<Arc<AtomicI64>>,
}

impl Clock {
    /// The system clock (the default).
    pub fn system() -> Clock {
        Clock::default()
    }

    /// A clock that stands at `ms` until [`Clock::set`] or [`Clock::advance`] moves it.
    pub fn manual(ms: i64) -> Clock {
        Clock {
            manual: Some(Arc::new(AtomicI64::new(ms))),
        }
    }

    /// Now, in milliseconds since the epoch.
    pub fn now_ms(&self) -> i64 {
        match &self.manual {
            Some(t) => t.load(Ordering::SeqCst),
            None => SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_millis() as i64)
                .unwrap_or(0),
        }
    }

    /// Now as `YYYY-MM-DDTHH:MM:SS.mmmZ`.
    pub fn now_iso8601(&self) -> String {
        crate::time::format_millis(self.now_ms())
    }

    /// Sets a manual clock (the system clock ignores it).
    pub fn set(&self, ms: i64) {
        if let Some(t) = &self.manual {
            t.store(ms, Ordering::SeqCst);
        }
    }

    /// Moves a manual clock forward (the system clock ignores it).
    pub fn advance(&self, by: Duration) {
        if let Some(t) = &self.manual {
            t.fetch_add(by.as_millis() as i64, Ordering::SeqCst);
        }
    }
}

/// Clocks are equal when they are the system clock, or the same manual clock.
impl PartialEq for Clock {
    fn eq(&self, other: &Clock) -> bool {
        match (&self.manual, &other.manual) {
            (None, None) => true,
            (Some(a), Some(b)) => Arc::ptr_eq(a, b),
            _ => false,
        }
    }
}

impl Eq for Clock {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manual_clock_moves_only_when_told() {
        let c = Clock::manual(1_000);
        let shared = c.clone();
        assert_eq!(c.now_ms(), 1_000);
        shared.advance(Duration::from_secs(90));
        assert_eq!(c.now_ms(), 91_000);
        c.set(5);
        assert_eq!(shared.now_ms(), 5);
        assert_eq!(c, shared);
        assert_ne!(c, Clock::manual(5));
        assert!(Clock::system().now_ms() > 1_700_000_000_000);
    }
}
