//! What storage hands back (another version's, a tampered or truncated value): the persisted
//! queue, the cart, the session, the campaign, the consent record and the profile decode or
//! are refused, never panic; what decodes encodes again to something that decodes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use shoptrail::tracker_core::commerce::Cart;
use shoptrail::tracker_core::consent::{Consent, Settings};
use shoptrail::tracker_core::identity::Session;
use shoptrail::tracker_core::{campaign, profile, queue};

fuzz_target!(|text: &str| {
    if let Some(stored) = queue::decode(text) {
        let _ = stored.adoptable(0);
    }
    if let Some(cart) = Cart::decode(text) {
        let again = cart.encode();
        assert!(Cart::decode(&again).is_some(), "{again:?}");
    }
    if let Some(s) = Session::decode(text) {
        assert_eq!(Session::decode(&s.encode()), Some(s));
    }
    let _ = campaign::for_session(Some(text), 1, None);
    let _ = Consent::new(Settings::default(), Some(text), false).context_member();
    let _ = profile::to_json(text, Some(text), Some(text), text);
});
