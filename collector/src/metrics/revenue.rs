//! Revenue against control, per arm of an experiment: revenue per visitor and average order
//! value with 95% intervals, each variant's lift over control, the sample-ratio check, and the
//! verdict.
//!
//! A visitor is a person exposed to the arm; `r` is the revenue of their orders at or after
//! their exposure in the window (one currency at a time) and `o` the number of those orders.
//!
//! - **Revenue per visitor** is the mean of `r` over every visitor, zeros included; its interval
//!   is mean ± 1.96·s/√n, the central limit theorem on per-visitor revenue. Order values are
//!   heavy-tailed, and the interval still holds once arms have a few thousand visitors: the
//!   tests simulate experiments with log-normal order values (σ = 1) and check that it covers
//!   the true value about 95% of the time.
//! - **Lift** in revenue per visitor: the difference of the means, ± 1.96·√(s_v²/n_v +
//!   s_c²/n_c) (Welch's unpooled interval).
//! - **Average order value**: Σr / Σo, a ratio of two per-visitor means. Its variance comes from
//!   the delta method, (s_r² − 2·A·s_ro + A²·s_o²) / (n·ō²), so that visitors with several
//!   orders are not counted as independent orders.
//! - **Sample ratio**: Pearson's χ² of the arms' visitors against the split the arms were
//!   given (`allocation` in `Experiment Viewed`, else an even split), with one degree of
//!   freedom fewer than arms; below p = 0.001 the split is off and no verdict is given.
//! - **Verdict** of each variant against control, on revenue per visitor: `winner` when the
//!   lift's interval is above zero, `loser` when it is below, else `not enough data`, with the
//!   visitors each arm still needs to tell a lift of 10% of the control's revenue per visitor
//!   at 80% power (two-sided 5%): n = (1.96 + 0.84)²·(s_v² + s_c²) / δ²; or `no difference`
//!   once both arms have that many. Read it once, at the size planned: looking again and again
//!   until it says `winner` finds winners that are not. Before each arm has 100 visitors there
//!   is no verdict but `not enough data`; below two visitors an arm has no interval.

/// The z value of a two-sided 95% interval.
const Z95: f64 = 1.96;
/// The z value of 80% power.
const Z80: f64 = 0.841_621_2;
/// The smallest lift a verdict looks for, as a share of the control's revenue per visitor.
pub(crate) const MDE: f64 = 0.10;
/// Below this sample-ratio p-value the split is off.
pub(crate) const SRM_P: f64 = 0.001;
/// No verdict before each arm has this many visitors: the intervals lean on the central limit
/// theorem.
pub(crate) const MIN_VISITORS: f64 = 100.0;

/// The sums over one arm's visitors, in one currency.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct Sums {
    /// Visitors (exposed persons), with or without orders.
    pub n: f64,
    /// Σr, Σr², Σo, Σo², Σr·o.
    pub r: f64,
    pub rr: f64,
    pub o: f64,
    pub oo: f64,
    pub ro: f64,
}

/// A value and its 95% interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Estimate {
    pub value: f64,
    pub low: f64,
    pub high: f64,
}

impl Estimate {
    fn around(value: f64, se: f64) -> Estimate {
        Estimate {
            value,
            low: value - Z95 * se,
            high: value + Z95 * se,
        }
    }
}

impl Sums {
    /// Adds a visitor who ordered `o` times for `r` in all.
    pub fn add(&mut self, r: f64, o: f64) {
        self.r += r;
        self.rr += r * r;
        self.o += o;
        self.oo += o * o;
        self.ro += r * o;
    }

    /// The sample variance of `r` (with `n − 1`), and of `o`, and their covariance.
    fn moments(&self) -> (f64, f64, f64) {
        let n = self.n;
        let d = (n - 1.0).max(1.0);
        (
            ((self.rr - self.r * self.r / n) / d).max(0.0),
            ((self.oo - self.o * self.o / n) / d).max(0.0),
            (self.ro - self.r * self.o / n) / d,
        )
    }

    /// Revenue per visitor; `None` with fewer than two visitors (no variance to tell).
    pub fn per_visitor(&self) -> Option<Estimate> {
        (self.n >= 2.0).then(|| {
            let (vr, _, _) = self.moments();
            Estimate::around(self.r / self.n, (vr / self.n).sqrt())
        })
    }

    /// Average order value; `None` without orders or with fewer than two visitors.
    pub fn order_value(&self) -> Option<Estimate> {
        (self.o > 0.0 && self.n >= 2.0).then(|| {
            let a = self.r / self.o;
            let mean_o = self.o / self.n;
            let (vr, vo, cov) = self.moments();
            let var = (vr - 2.0 * a * cov + a * a * vo).max(0.0) / (self.n * mean_o * mean_o);
            Estimate::around(a, var.sqrt())
        })
    }
}

/// The lift of `variant` over `control` in revenue per visitor; `None` when an arm is empty.
pub(crate) fn lift(variant: &Sums, control: &Sums) -> Option<Estimate> {
    let (v, c) = (variant.per_visitor()?, control.per_visitor()?);
    let (vv, _, _) = variant.moments();
    let (vc, _, _) = control.moments();
    Some(Estimate::around(
        v.value - c.value,
        (vv / variant.n + vc / control.n).sqrt(),
    ))
}

/// The visitors each arm needs in all to tell a lift of [`MDE`] of the control's revenue per
/// visitor at 80% power; `None` while the control has no revenue.
pub(crate) fn visitors_needed(variant: &Sums, control: &Sums) -> Option<f64> {
    let delta = MDE * control.per_visitor()?.value;
    if delta <= 0.0 {
        return None;
    }
    let (vv, _, _) = variant.moments();
    let (vc, _, _) = control.moments();
    Some(((Z95 + Z80).powi(2) * (vv + vc) / (delta * delta)).ceil())
}

/// The p-value of Pearson's χ² test of the visitors of each arm against its share (the
/// shares are scaled to sum to 1); `None` with fewer than two arms or no visitors.
pub(crate) fn sample_ratio(arms: &[(f64, f64)]) -> Option<f64> {
    let total: f64 = arms.iter().map(|a| a.0).sum();
    let shares: f64 = arms.iter().map(|a| a.1).sum();
    if arms.len() < 2 || total <= 0.0 || shares <= 0.0 {
        return None;
    }
    let chi2: f64 = arms
        .iter()
        .map(|&(seen, share)| {
            let expected = total * share / shares;
            if expected > 0.0 {
                (seen - expected).powi(2) / expected
            } else {
                0.0
            }
        })
        .sum();
    let df = (arms.len() - 1) as f64;
    Some(gamma_q(df / 2.0, chi2 / 2.0).clamp(0.0, 1.0))
}

/// ln Γ(x) for x > 0 (Lanczos, g = 7, 9 terms: about 15 digits).
fn ln_gamma(x: f64) -> f64 {
    const G: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    let x = x - 1.0;
    let mut sum = G[0];
    for (i, g) in G.iter().enumerate().skip(1) {
        sum += g / (x + i as f64);
    }
    let t = x + 7.5;
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + sum.ln()
}

/// The regularized upper incomplete gamma function Q(a, x): the series below a + 1, Lentz's
/// continued fraction above.
fn gamma_q(a: f64, x: f64) -> f64 {
    if x <= 0.0 {
        return 1.0;
    }
    let front = (-x + a * x.ln() - ln_gamma(a)).exp();
    if x < a + 1.0 {
        let (mut term, mut sum, mut ap) = (1.0 / a, 1.0 / a, a);
        for _ in 0..500 {
            ap += 1.0;
            term *= x / ap;
            sum += term;
            if term.abs() < sum.abs() * 1e-15 {
                break;
            }
        }
        1.0 - sum * front
    } else {
        let tiny = 1e-300;
        let mut b = x + 1.0 - a;
        let mut c = 1.0 / tiny;
        let mut d = 1.0 / b;
        let mut h = d;
        for i in 1..500 {
            let an = -(i as f64) * (i as f64 - a);
            b += 2.0;
            d = an * d + b;
            if d.abs() < tiny {
                d = tiny;
            }
            c = b + an / c;
            if c.abs() < tiny {
                c = tiny;
            }
            d = 1.0 / d;
            let step = d * c;
            h *= step;
            if (step - 1.0).abs() < 1e-15 {
                break;
            }
        }
        front * h
    }
}

/// A variant's verdict against control on revenue per visitor.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Verdict {
    /// The split is off: no verdict until the assignment is fixed.
    Mismatch,
    Winner,
    Loser,
    /// The interval holds zero; each arm needs this many visitors in all, when known.
    NotYet(Option<f64>),
    /// The interval holds zero although both arms have the visitors a 10% lift needs.
    NoDifference,
}

impl Verdict {
    /// The verdict of `variant` against `control` (with `mismatch` when the split is off).
    pub fn of(variant: &Sums, control: &Sums, mismatch: bool) -> Verdict {
        if mismatch {
            return Verdict::Mismatch;
        }
        let needed = visitors_needed(variant, control).map(|n| n.max(MIN_VISITORS));
        let fewest = variant.n.min(control.n);
        match lift(variant, control) {
            _ if fewest < MIN_VISITORS => Verdict::NotYet(needed),
            Some(l) if l.low > 0.0 => Verdict::Winner,
            Some(l) if l.high < 0.0 => Verdict::Loser,
            _ => match needed {
                Some(n) if n <= fewest => Verdict::NoDifference,
                needed => Verdict::NotYet(needed),
            },
        }
    }

    /// Its name in the answer.
    pub fn name(&self) -> &'static str {
        match self {
            Verdict::Mismatch => "sample ratio mismatch",
            Verdict::Winner => "winner",
            Verdict::Loser => "loser",
            Verdict::NotYet(_) => "not enough data",
            Verdict::NoDifference => "no difference",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// SplitMix64: a seeded generator for the simulations.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> f64 {
            self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
        }

        /// A standard normal draw (Box–Muller).
        fn normal(&mut self) -> f64 {
            let u = self.next().max(f64::MIN_POSITIVE);
            let v = self.next();
            (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
        }
    }

    /// An arm of `n` visitors who each order once with probability `p`, sometimes twice,
    /// for log-normal amounts (median e^μ, σ = 1: a long tail of large orders).
    fn arm(rng: &mut Rng, n: usize, p: f64, mu: f64) -> Sums {
        let mut s = Sums {
            n: n as f64,
            ..Sums::default()
        };
        for _ in 0..n {
            if rng.next() < p {
                let orders = if rng.next() < 0.2 { 2 } else { 1 };
                let r: f64 = (0..orders).map(|_| (mu + rng.normal()).exp()).sum();
                s.add(r, f64::from(orders));
            }
        }
        s
    }

    #[test]
    fn intervals_cover_the_true_values_about_95_percent_of_the_time() {
        // True values: a visitor orders with probability p, 1.2 orders on average, each worth
        // e^(μ + 1/2). Control p = 5%, μ = 4; the variant p = 6%, μ = 4.1.
        let value = |p: f64, mu: f64| p * 1.2 * (mu + 0.5f64).exp();
        let (true_lift, true_aov) = (value(0.06, 4.1) - value(0.05, 4.0), (4.1f64 + 0.5).exp());
        let mut rng = Rng(7);
        let runs = 1_000;
        let (mut lift_in, mut aov_in, mut rpv_in) = (0, 0, 0);
        for _ in 0..runs {
            let c = arm(&mut rng, 4_000, 0.05, 4.0);
            let v = arm(&mut rng, 4_000, 0.06, 4.1);
            let l = lift(&v, &c).unwrap();
            lift_in += usize::from(l.low <= true_lift && true_lift <= l.high);
            let a = v.order_value().unwrap();
            aov_in += usize::from(a.low <= true_aov && true_aov <= a.high);
            let r = c.per_visitor().unwrap();
            let truth = value(0.05, 4.0);
            rpv_in += usize::from(r.low <= truth && truth <= r.high);
        }
        for (name, hits) in [("lift", lift_in), ("AOV", aov_in), ("RPV", rpv_in)] {
            let share = hits as f64 / runs as f64;
            // 95% of 1,000 runs: within about 2.5 standard errors (±1.7 points).
            assert!((0.925..=0.97).contains(&share), "{name}: {share}");
        }
    }

    #[test]
    fn sample_ratio_flags_a_skewed_split_and_not_an_even_one() {
        // 1,000 against 1,200 on an even split: χ² = 18.18, p ≈ 2.0e-5.
        let p = sample_ratio(&[(1_000.0, 0.5), (1_200.0, 0.5)]).unwrap();
        assert!((p - 2.008e-5).abs() < 1e-7, "{p}");
        assert!(p < SRM_P);
        assert!(sample_ratio(&[(1_000.0, 0.5), (1_030.0, 0.5)]).unwrap() > 0.4);
        // A 10% control group is no mismatch at 10%.
        assert!(sample_ratio(&[(205.0, 0.1), (1_795.0, 0.9)]).unwrap() > 0.5);
        // Three arms, two degrees of freedom: χ² = 8 gives p = e^-4.
        let p = sample_ratio(&[(80.0, 1.0), (100.0, 1.0), (120.0, 1.0)]).unwrap();
        assert!((p - (-4.0f64).exp()).abs() < 1e-9, "{p}");
        assert_eq!(sample_ratio(&[(10.0, 1.0)]), None);
    }

    #[test]
    fn incomplete_gamma_matches_known_values() {
        // Q(1/2, x) = erfc(√x); Q(1, x) = e^-x; Q(5, 3) from a table (0.815263).
        for x in [0.1, 0.5, 2.0, 8.0] {
            let want = super::super::stats::erfc(f64::sqrt(x));
            assert!((gamma_q(0.5, x) - want).abs() < 1e-6, "{x}");
            assert!((gamma_q(1.0, x) - (-x).exp()).abs() < 1e-12, "{x}");
        }
        assert!((gamma_q(5.0, 3.0) - 0.815_263).abs() < 1e-6);
        assert!((ln_gamma(10.0) - 362_880f64.ln()).abs() < 1e-12);
    }

    #[test]
    fn verdicts_and_the_visitors_still_needed() {
        let mut rng = Rng(11);
        let c = arm(&mut rng, 20_000, 0.05, 4.0);
        let better = arm(&mut rng, 20_000, 0.08, 4.0);
        let worse = arm(&mut rng, 20_000, 0.03, 4.0);
        assert_eq!(Verdict::of(&better, &c, false), Verdict::Winner);
        assert_eq!(Verdict::of(&worse, &c, false), Verdict::Loser);
        assert_eq!(Verdict::of(&better, &c, true), Verdict::Mismatch);
        let small_c = arm(&mut rng, 300, 0.05, 4.0);
        let small_v = arm(&mut rng, 300, 0.05, 4.0);
        // Arms as large as a 10% lift needs, without one: no difference.
        let same_c = arm(&mut rng, 200_000, 0.05, 4.0);
        let same_v = arm(&mut rng, 200_000, 0.05, 4.0);
        assert_eq!(Verdict::of(&same_v, &same_c, false), Verdict::NoDifference);
        match Verdict::of(&small_v, &small_c, false) {
            // σ² of r is about p·1.2·e^(2μ+2)·(more for the second order): tens of thousands of
            // visitors per arm for a 10% lift.
            Verdict::NotYet(Some(n)) => assert!(n > 20_000.0 && n < 400_000.0, "{n}"),
            other => panic!("{other:?}"),
        }
        let empty = Sums {
            n: 100.0,
            ..Sums::default()
        };
        assert_eq!(Verdict::of(&empty, &empty, false), Verdict::NotYet(None));
        // One shopper each: a lift with no variance is no verdict.
        let mut one = Sums {
            n: 1.0,
            ..Sums::default()
        };
        let none = one;
        one.add(31.87, 1.0);
        assert_eq!(one.per_visitor(), None);
        assert_eq!(Verdict::of(&one, &none, false), Verdict::NotYet(None));
        let (mut v99, c99) = (
            Sums {
                n: 99.0,
                ..Sums::default()
            },
            Sums {
                n: 99.0,
                ..Sums::default()
            },
        );
        v99.add(500.0, 1.0);
        assert!(matches!(Verdict::of(&v99, &c99, false), Verdict::NotYet(_)));
    }

    #[test]
    fn order_value_counts_a_visitor_with_two_orders_once() {
        // Two visitors: one ordered twice for 30 in all, one once for 10; two visitors without.
        let mut s = Sums {
            n: 4.0,
            ..Sums::default()
        };
        s.add(30.0, 2.0);
        s.add(10.0, 1.0);
        let a = s.order_value().unwrap();
        assert!((a.value - 40.0 / 3.0).abs() < 1e-12);
        assert!(a.low < a.value && a.value < a.high);
        let r = s.per_visitor().unwrap();
        assert_eq!(r.value, 10.0);
    }
}
