//! Experiment assignment: deterministic from the anonymous id and the campaign id, so it is
//! stable across reloads and across devices that share the id, and independent between
//! campaigns: 64-bit FNV-1a with murmur3's finalizer, then a slot by weight.

/// Which arm a shopper is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arm {
    /// Assigned, tracked, shown nothing.
    Control,
    /// The variant at this index.
    Variant(usize),
}

/// 64-bit FNV-1a over campaign id, a separator and anonymous id, then murmur3's finalizer.
fn hash(campaign: &str, anonymous_id: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in campaign.bytes().chain([0]).chain(anonymous_id.bytes()) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    // FNV's low bits follow the last bytes closely: murmur3's finalizer mixes every bit in.
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}

/// The arm for `anonymous_id` among variants of `weights` and a control group of `control`.
/// With no variants, everyone is in the one content (variant `None`) unless in control.
pub fn assign(campaign: &str, anonymous_id: &str, weights: &[u32], control: u32) -> Arm {
    let total: u64 = weights.iter().map(|&w| u64::from(w)).sum::<u64>()
        + u64::from(control)
        + u64::from(weights.is_empty());
    let mut point = hash(campaign, anonymous_id) % total.max(1);
    if point < u64::from(control) {
        return Arm::Control;
    }
    point -= u64::from(control);
    for (i, &w) in weights.iter().enumerate() {
        if point < u64::from(w) {
            return Arm::Variant(i);
        }
        point -= u64::from(w);
    }
    Arm::Variant(0)
}

/// The share of shoppers [`assign`] puts in `arm` (0 to 1): what the collector checks the
/// observed split against (a sample-ratio mismatch means the assignment or the tracking is off).
pub fn share(weights: &[u32], control: u32, arm: Arm) -> f64 {
    let total = weights.iter().map(|&w| f64::from(w)).sum::<f64>()
        + f64::from(control)
        + f64::from(u8::from(weights.is_empty()));
    let w = match arm {
        Arm::Control => control,
        Arm::Variant(i) => weights.get(i).copied().unwrap_or(1),
    };
    if total > 0.0 {
        f64::from(w) / total
    } else {
        1.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stable_and_close_to_the_weights() {
        let mut counts = [0u32; 3];
        for i in 0..30_000 {
            let id = format!("5f0c8a4e-1b2d-4c3e-9f00-{i:012}");
            let arm = assign("newsletter", &id, &[1, 2], 1);
            assert_eq!(arm, assign("newsletter", &id, &[1, 2], 1), "stable");
            match arm {
                Arm::Control => counts[0] += 1,
                Arm::Variant(v) => counts[v + 1] += 1,
            }
        }
        // Expected 7,500 / 7,500 / 15,000: within 3%.
        for (got, want) in counts.iter().zip([7_500.0, 7_500.0, 15_000.0]) {
            assert!((f64::from(*got) - want).abs() < want * 0.03, "{counts:?}");
        }
    }

    #[test]
    fn campaigns_assign_independently() {
        let same = (0..2_000)
            .filter(|i| {
                let id = format!("id-{i}");
                assign("a", &id, &[1], 1) == assign("b", &id, &[1], 1)
            })
            .count();
        assert!((900..1_100).contains(&same), "{same}");
    }

    #[test]
    fn no_variants_and_no_control_is_the_content() {
        assert_eq!(assign("x", "y", &[], 0), Arm::Variant(0));
        assert_eq!(assign("x", "y", &[0, 0], 0), Arm::Variant(0));
    }

    #[test]
    fn shares_follow_the_weights() {
        assert_eq!(share(&[1, 2], 1, Arm::Control), 0.25);
        assert_eq!(share(&[1, 2], 1, Arm::Variant(1)), 0.5);
        // No variants: the content is one slot beside the control group's.
        assert_eq!(share(&[], 1, Arm::Control), 0.5);
        assert_eq!(share(&[], 9, Arm::Variant(0)), 0.1);
    }
}
