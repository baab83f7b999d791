//! Calls made before `init`: kept in order, up to [`MAX_EARLY_CALLS`], to run once `init`'s
//! first page view is in. Getters are not kept: they answer nothing before `init`, and running
//! them later would answer no one.

use super::boundary::Call;
use crate::prelude::*;

/// Calls made before `init` that are kept and replayed by it.
pub const MAX_EARLY_CALLS: usize = 1000;

/// A call kept for later: the call, its arguments, and when and on which URL it was made.
pub type Kept = (Call, String, u64, Option<String>);

/// The calls made before `init`.
#[derive(Debug, Default)]
pub struct Early {
    calls: Vec<Kept>,
}

impl Early {
    /// None kept yet.
    pub const fn new() -> Early {
        Early { calls: Vec::new() }
    }

    /// Keeps `call` unless it is a getter or [`MAX_EARLY_CALLS`] wait already.
    pub fn keep(&mut self, call: Kept) {
        let getter = matches!(call.0, Call::Api(m) if m.is_getter());
        if self.calls.len() < MAX_EARLY_CALLS && !getter {
            self.calls.push(call);
        }
    }

    /// The calls kept, oldest first.
    pub fn take(&mut self) -> Vec<Kept> {
        core::mem::take(&mut self.calls)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tracker_core::boundary::Method;

    fn kept(m: Method, n: u64) -> Kept {
        (Call::Api(m), "[]".into(), n, None)
    }

    #[test]
    fn keeps_calls_in_order_up_to_the_limit_without_getters() {
        let mut e = Early::default();
        e.keep(kept(Method::Track, 1));
        e.keep(kept(Method::AnonymousId, 2));
        e.keep(kept(Method::CartGet, 3));
        e.keep(kept(Method::ConsentGrant, 4));
        let got: Vec<u64> = e.take().into_iter().map(|k| k.2).collect();
        assert_eq!(got, [1, 4]);
        assert!(e.take().is_empty(), "taken once");
        for n in 0..1500 {
            e.keep(kept(Method::Track, n));
        }
        let got = e.take();
        assert_eq!(got.len(), MAX_EARLY_CALLS);
        assert_eq!(got.last().map(|k| k.2), Some(MAX_EARLY_CALLS as u64 - 1));
    }
}
