//! The statistics of experiments: a variant's conversion against the control group's, with the
//! absolute lift, its 95% confidence interval and the two-sided p-value of the pooled
//! two-proportion z-test.

/// The z value of a two-sided 95% interval.
const Z95: f64 = 1.96;

/// A variant compared with the control group.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Comparison {
    /// `p_variant − p_control`.
    pub lift: f64,
    /// `lift ± 1.96·√(p_v(1−p_v)/n_v + p_c(1−p_c)/n_c)` (Wald, unpooled).
    pub ci: (f64, f64),
    /// Two-sided p-value of the pooled z-test; `None` when the pooled rate is 0 or 1 (no
    /// variance to test against).
    pub p_value: Option<f64>,
}

/// Compares `converted_v` of `n_v` with `converted_c` of `n_c`; `None` when a group is empty.
pub(crate) fn compare(
    converted_v: i64,
    n_v: i64,
    converted_c: i64,
    n_c: i64,
) -> Option<Comparison> {
    if n_v <= 0 || n_c <= 0 {
        return None;
    }
    let (xv, nv, xc, nc) = (
        converted_v as f64,
        n_v as f64,
        converted_c as f64,
        n_c as f64,
    );
    let (pv, pc) = (xv / nv, xc / nc);
    let lift = pv - pc;
    let se = (pv * (1.0 - pv) / nv + pc * (1.0 - pc) / nc).sqrt();
    let pooled = (xv + xc) / (nv + nc);
    let pooled_se = (pooled * (1.0 - pooled) * (1.0 / nv + 1.0 / nc)).sqrt();
    let p_value = (pooled_se > 0.0).then(|| {
        let z = lift / pooled_se;
        erfc(z.abs() / std::f64::consts::SQRT_2).clamp(0.0, 1.0)
    });
    Some(Comparison {
        lift,
        ci: (lift - Z95 * se, lift + Z95 * se),
        p_value,
    })
}

/// The complementary error function, with a relative error below 1.2·10⁻⁷ everywhere
/// (the Chebyshev fit of Numerical Recipes' `erfcc`).
pub(crate) fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let poly = -z * z - 1.265_512_23
        + t * (1.000_023_68
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_203_98
                                + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    let r = t * poly.exp();
    if x >= 0.0 {
        r
    } else {
        2.0 - r
    }
}

/// The standard normal cumulative distribution function.
#[cfg(test)]
fn normal_cdf(x: f64) -> f64 {
    0.5 * erfc(-x / std::f64::consts::SQRT_2)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol
    }

    #[test]
    fn erfc_matches_known_values() {
        // Values from a reference implementation (Python's math.erfc).
        let known = [
            (0.0, 1.0),
            (0.5, 0.479_500_122_186_953_5),
            (1.0, 0.157_299_207_050_285_1),
            (2.0, 0.004_677_734_981_047_265),
            (-1.0, 1.842_700_792_949_715),
            (3.5, 7.430_983_723_414_128e-7),
        ];
        for (x, want) in known {
            let got = erfc(x);
            assert!(
                (got - want).abs() <= want * 2e-7,
                "erfc({x}) = {got}, not {want}"
            );
        }
        assert!(close(normal_cdf(1.96), 0.975_002_104_851_779_5, 1e-7));
        assert!(close(normal_cdf(0.0), 0.5, 1e-7));
        assert!(close(normal_cdf(-1.644_853_6), 0.05, 1e-7));
    }

    #[test]
    fn two_proportions_match_hand_computed_values() {
        // 60/200 against 40/200: lift 0.1, se √(.3·.7/200 + .2·.8/200) = 0.0430116,
        // pooled p .25, pooled se √(.25·.75·(2/200)) = 0.0433013, z = 2.3094011,
        // p = erfc(z/√2) = 0.0209213.
        let c = compare(60, 200, 40, 200).expect("both groups");
        assert!(close(c.lift, 0.1, 1e-12));
        assert!(close(c.ci.0, 0.015_697_2, 1e-6), "{c:?}");
        assert!(close(c.ci.1, 0.184_302_8, 1e-6), "{c:?}");
        assert!(close(c.p_value.unwrap_or(-1.0), 0.020_921_3, 1e-6), "{c:?}");

        // 120/1000 against 100/1000: z = 1.4293008, p = 0.1529178.
        let c = compare(120, 1000, 100, 1000).expect("both groups");
        assert!(close(c.ci.0, -0.007_412_0, 1e-6), "{c:?}");
        assert!(close(c.ci.1, 0.047_412_0, 1e-6), "{c:?}");
        assert!(close(c.p_value.unwrap_or(-1.0), 0.152_917_8, 1e-6), "{c:?}");

        // No variance: both groups all converted or none.
        assert_eq!(compare(5, 5, 3, 3).and_then(|c| c.p_value), None);
        assert_eq!(compare(0, 5, 0, 3).map(|c| c.lift), Some(0.0));
        assert_eq!(compare(1, 0, 1, 3), None);
        assert_eq!(compare(1, 3, 0, 0), None);
    }
}
