//! Recovery of known truth on simulated panels: attribution, ROI, curves and optimiser regret.
//!
//! Inputs are per-channel vectors in one channel order (estimate first, truth second).
//!
//! ```text
//! shares             s_c = x_c / Σ_c' x_c'            (x_c ≥ 0, Σ x > 0)
//! share error        ½ Σ_c |ŝ_c − s_c|                ∈ [0, 1] (total-variation distance)
//! mean abs. error    100 · (1/C) Σ_c |ŝ_c − s_c|      (percentage points)
//! ROI rel. error     |r̂_c − r_c| / |r_c|  per channel (undefined where r_c = 0), and the median
//! Spearman ρ         Pearson correlation of the ranks (ties get their average rank)
//! curve error        Σ_m |f̂(m) − f(m)| / Σ_m f(m)   over a grid of spend multipliers m
//! regret             (f(opt) − f(rec)) / (f(opt) − f(hist))     under the TRUE response f
//! ```
//!
//! Regret: `opt` is the true optimum, `rec` the model's recommended allocation, `hist` the
//! historical allocation, all evaluated under the true response. 0 means the recommendation is
//! as good as the optimum, 1 that it is no better than history, above 1 that it is worse than
//! history. When history is already optimal (`f(opt) − f(hist) ≤ tol`, with
//! `tol = 1e-9 · max(1, |f(opt)|, |f(hist)|, |f(rec)|)`) there is nothing to recover and the
//! ratio is meaningless: [`Regret::relative`] is then `None` and only the absolute regret
//! `f(opt) − f(rec)` is reported. A value of `f(rec)` or `f(hist)` above `f(opt) + tol` means
//! `opt` is not the optimum, which is an error of the caller.

use crate::fit::median;
use crate::{Error, Result};
use serde::{Deserialize, Serialize};

/// Relative tolerance of the regret's comparisons (see the module docs).
const REGRET_REL_TOL: f64 = 1e-9;

fn check_finite(what: &'static str, v: &[f64]) -> Result<()> {
    match v.iter().position(|x| !x.is_finite()) {
        Some(i) => Err(Error::NonFinite {
            what,
            location: format!("index {i}"),
        }),
        None => Ok(()),
    }
}

fn check_pair(what: &'static str, est: &[f64], truth: &[f64]) -> Result<()> {
    if truth.is_empty() {
        return Err(Error::Empty(what));
    }
    if est.len() != truth.len() {
        return Err(Error::LengthMismatch {
            what,
            got: est.len(),
            expected: truth.len(),
        });
    }
    check_finite(what, est)?;
    check_finite(what, truth)
}

/// Normalises non-negative per-channel contributions to shares summing to 1.
///
/// # Errors
/// Empty input, a non-finite or negative value, or a zero total.
pub fn contribution_shares(contributions: &[f64]) -> Result<Vec<f64>> {
    if contributions.is_empty() {
        return Err(Error::Empty("contributions"));
    }
    check_finite("contributions", contributions)?;
    if let Some((index, &value)) = contributions.iter().enumerate().find(|(_, x)| **x < 0.0) {
        return Err(Error::NegativeContribution {
            what: "contributions",
            index,
            value,
        });
    }
    let total: f64 = contributions.iter().sum();
    if total <= 0.0 {
        return Err(Error::Undefined {
            metric: "contribution shares",
            reason: "all contributions are zero".into(),
        });
    }
    Ok(contributions.iter().map(|x| x / total).collect())
}

fn share_diffs(estimated: &[f64], truth: &[f64]) -> Result<Vec<f64>> {
    check_pair("contributions", estimated, truth)?;
    let (e, t) = (contribution_shares(estimated)?, contribution_shares(truth)?);
    Ok(e.iter().zip(&t).map(|(a, b)| (a - b).abs()).collect())
}

/// Contribution-share error `½ Σ_c |ŝ_c − s_c|` in `[0, 1]`, from raw contributions.
///
/// # Errors
/// As [`contribution_shares`] for either input, or a length mismatch.
pub fn share_error(estimated: &[f64], truth: &[f64]) -> Result<f64> {
    Ok(0.5 * share_diffs(estimated, truth)?.iter().sum::<f64>())
}

/// Mean absolute share error in percentage points, `100 · mean_c |ŝ_c − s_c|`.
///
/// # Errors
/// As [`share_error`].
pub fn mean_abs_share_error_pp(estimated: &[f64], truth: &[f64]) -> Result<f64> {
    let d = share_diffs(estimated, truth)?;
    Ok(100.0 * d.iter().sum::<f64>() / d.len() as f64)
}

/// Per-channel ROI relative errors and their median, from [`roi_relative_errors`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoiErrors {
    /// `|r̂_c − r_c| / |r_c|`; `None` where the true ROI is 0.
    pub per_channel: Vec<Option<f64>>,
    /// Median over the defined channels; `None` if no channel is defined.
    pub median: Option<f64>,
}

/// ROI relative error per channel, `|r̂_c − r_c| / |r_c|`, and its median.
///
/// # Errors
/// Empty input, a length mismatch or a non-finite value.
pub fn roi_relative_errors(estimated: &[f64], truth: &[f64]) -> Result<RoiErrors> {
    check_pair("roi", estimated, truth)?;
    let per_channel: Vec<Option<f64>> = estimated
        .iter()
        .zip(truth)
        .map(|(&e, &t)| (t != 0.0).then(|| (e - t).abs() / t.abs()))
        .collect();
    let defined: Vec<f64> = per_channel.iter().flatten().copied().collect();
    Ok(RoiErrors {
        median: median(&defined),
        per_channel,
    })
}

/// Ranks starting at 1, ties receiving the average of the ranks they span.
fn average_ranks(v: &[f64]) -> Vec<f64> {
    let mut idx: Vec<usize> = (0..v.len()).collect();
    idx.sort_by(|&a, &b| v[a].total_cmp(&v[b]));
    let mut ranks = vec![0.0; v.len()];
    let mut i = 0;
    while i < idx.len() {
        let mut j = i;
        while j + 1 < idx.len() && v[idx[j + 1]] == v[idx[i]] {
            j += 1;
        }
        // Positions i..=j (0-based) share the ranks i+1..=j+1, whose mean is (i + j)/2 + 1.
        let r = (i + j) as f64 / 2.0 + 1.0;
        for &k in &idx[i..=j] {
            ranks[k] = r;
        }
        i = j + 1;
    }
    ranks
}

/// Spearman rank correlation: Pearson correlation of the average ranks.
///
/// # Errors
/// Fewer than two values, a length mismatch, a non-finite value, or a constant input (no
/// ranking to compare).
pub fn spearman(a: &[f64], b: &[f64]) -> Result<f64> {
    check_pair("spearman input", a, b)?;
    if a.len() < 2 {
        return Err(Error::Undefined {
            metric: "Spearman correlation",
            reason: "fewer than two values".into(),
        });
    }
    let (ra, rb) = (average_ranks(a), average_ranks(b));
    let mean = (a.len() as f64 + 1.0) / 2.0;
    let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
    for (x, y) in ra.iter().zip(&rb) {
        sab += (x - mean) * (y - mean);
        saa += (x - mean) * (x - mean);
        sbb += (y - mean) * (y - mean);
    }
    if saa == 0.0 || sbb == 0.0 {
        return Err(Error::Undefined {
            metric: "Spearman correlation",
            reason: "an input is constant".into(),
        });
    }
    Ok((sab / (saa * sbb).sqrt()).clamp(-1.0, 1.0))
}

/// Response-curve error `Σ_m |f̂(m) − f(m)| / Σ_m f(m)` from curves already evaluated on one grid.
///
/// # Errors
/// Empty input, a length mismatch, a non-finite value, or `Σ_m f(m) ≤ 0`.
pub fn response_curve_error(estimated: &[f64], truth: &[f64]) -> Result<f64> {
    check_pair("response curve", estimated, truth)?;
    let den: f64 = truth.iter().sum();
    if den <= 0.0 {
        return Err(Error::Undefined {
            metric: "response-curve error",
            reason: format!("Σ f(m) = {den} ≤ 0"),
        });
    }
    let num: f64 = estimated
        .iter()
        .zip(truth)
        .map(|(e, t)| (e - t).abs())
        .sum();
    Ok(num / den)
}

/// [`response_curve_error`] of two response functions evaluated on a grid of spend multipliers.
///
/// # Errors
/// As [`response_curve_error`].
pub fn response_curve_error_on_grid(
    estimated: impl Fn(f64) -> f64,
    truth: impl Fn(f64) -> f64,
    grid: &[f64],
) -> Result<f64> {
    let e: Vec<f64> = grid.iter().map(|&m| estimated(m)).collect();
    let t: Vec<f64> = grid.iter().map(|&m| truth(m)).collect();
    response_curve_error(&e, &t)
}

/// Optimiser regret under the true response, from [`optimiser_regret`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Regret {
    /// `f(opt) − f(rec)`, clamped at 0 within tolerance; in target units.
    pub absolute: f64,
    /// `(f(opt) − f(rec)) / (f(opt) − f(hist))`; `None` when history is already optimal.
    pub relative: Option<f64>,
}

/// Optimiser regret: how much of the achievable improvement over history the recommendation
/// leaves on the table, measured with the true response (see the module docs).
///
/// # Errors
/// A non-finite value, or `f_rec` / `f_hist` above `f_opt` by more than the tolerance.
pub fn optimiser_regret(f_opt: f64, f_rec: f64, f_hist: f64) -> Result<Regret> {
    check_finite(
        "regret input (f_opt, f_rec, f_hist)",
        &[f_opt, f_rec, f_hist],
    )?;
    let tol = REGRET_REL_TOL * 1f64.max(f_opt.abs()).max(f_rec.abs()).max(f_hist.abs());
    for (name, v) in [("f(rec)", f_rec), ("f(hist)", f_hist)] {
        if v > f_opt + tol {
            return Err(Error::Undefined {
                metric: "optimiser regret",
                reason: format!("{name} = {v} exceeds f(opt) = {f_opt}: opt is not the optimum"),
            });
        }
    }
    let absolute = (f_opt - f_rec).max(0.0);
    let gain = f_opt - f_hist;
    let relative = (gain > tol).then(|| absolute / gain);
    Ok(Regret { absolute, relative })
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_relative_eq;
    use mmm_testkit::seeded_uniform;
    use proptest::prelude::*;

    #[test]
    fn shares_and_share_errors_by_hand() {
        assert_eq!(contribution_shares(&[1.0, 3.0]).unwrap(), vec![0.25, 0.75]);
        // Shares 0.25/0.75 vs 0.5/0.5: ½(0.25 + 0.25) = 0.25; mean abs 0.25 → 25 pp.
        assert_relative_eq!(
            share_error(&[1.0, 3.0], &[2.0, 2.0]).unwrap(),
            0.25,
            epsilon = 1e-15
        );
        assert_relative_eq!(
            mean_abs_share_error_pp(&[1.0, 3.0], &[2.0, 2.0]).unwrap(),
            25.0,
            epsilon = 1e-12
        );
        // Scale does not matter: [2,2,4] and [1,1,2] have equal shares.
        assert_eq!(
            share_error(&[2.0, 2.0, 4.0], &[1.0, 1.0, 2.0]).unwrap(),
            0.0
        );
        // Disjoint support → 1. Mean abs: (1 + 0 + 1)/3 → 66.67 pp.
        assert_eq!(
            share_error(&[1.0, 0.0, 0.0], &[0.0, 0.0, 5.0]).unwrap(),
            1.0
        );
        assert_relative_eq!(
            mean_abs_share_error_pp(&[1.0, 0.0, 0.0], &[0.0, 0.0, 5.0]).unwrap(),
            200.0 / 3.0,
            epsilon = 1e-12
        );
    }

    #[test]
    fn share_input_errors() {
        assert!(matches!(contribution_shares(&[]), Err(Error::Empty(_))));
        assert!(matches!(
            contribution_shares(&[1.0, -0.1]),
            Err(Error::NegativeContribution { index: 1, .. })
        ));
        assert!(matches!(
            contribution_shares(&[0.0, 0.0]),
            Err(Error::Undefined { .. })
        ));
        assert!(matches!(
            contribution_shares(&[1.0, f64::NAN]),
            Err(Error::NonFinite { .. })
        ));
        assert!(matches!(
            share_error(&[1.0], &[1.0, 2.0]),
            Err(Error::LengthMismatch { .. })
        ));
    }

    #[test]
    fn roi_errors_by_hand() {
        // |1.5−1|/1 = 0.5, |2−2|/2 = 0, |0.5−1|/1 = 0.5, true ROI 0 → undefined.
        let e = roi_relative_errors(&[1.5, 2.0, 0.5, 3.0], &[1.0, 2.0, 1.0, 0.0]).unwrap();
        assert_eq!(e.per_channel, vec![Some(0.5), Some(0.0), Some(0.5), None]);
        assert_eq!(e.median, Some(0.5));
        // Negative true ROI uses |r|: |−1 − (−2)| / 2 = 0.5.
        assert_eq!(
            roi_relative_errors(&[-1.0], &[-2.0]).unwrap().per_channel,
            vec![Some(0.5)]
        );
        assert_eq!(roi_relative_errors(&[1.0], &[0.0]).unwrap().median, None);
    }

    #[test]
    fn spearman_by_hand() {
        // No ties: d = 0, 1, 1, 0 → ρ = 1 − 6·2 / (4·15) = 0.8.
        assert_relative_eq!(
            spearman(&[1.0, 2.0, 3.0, 4.0], &[10.0, 30.0, 20.0, 40.0]).unwrap(),
            0.8,
            epsilon = 1e-12
        );
        // Ties: ranks of a = [1, 2.5, 2.5, 4]; centred a = [−1.5, 0, 0, 1.5], b = [−1.5, −.5, .5, 1.5];
        // Σab = 4.5, Σa² = 4.5, Σb² = 5 → ρ = 4.5/√22.5 = √0.9.
        assert_relative_eq!(
            spearman(&[1.0, 2.0, 2.0, 3.0], &[1.0, 2.0, 3.0, 4.0]).unwrap(),
            0.9f64.sqrt(),
            epsilon = 1e-12
        );
        assert_relative_eq!(
            spearman(&[3.0, 2.0, 1.0], &[1.0, 2.0, 3.0]).unwrap(),
            -1.0,
            epsilon = 1e-12
        );
        assert!(matches!(
            spearman(&[1.0], &[2.0]),
            Err(Error::Undefined { .. })
        ));
        assert!(matches!(
            spearman(&[1.0, 1.0], &[2.0, 3.0]),
            Err(Error::Undefined { .. })
        ));
        assert_eq!(
            average_ranks(&[5.0, 1.0, 5.0, 5.0]),
            vec![3.0, 1.0, 3.0, 3.0]
        );
    }

    #[test]
    fn curve_error_by_hand() {
        // |1−1| + |2−1| + |3−4| = 2 over Σf = 6.
        assert_relative_eq!(
            response_curve_error(&[1.0, 2.0, 3.0], &[1.0, 1.0, 4.0]).unwrap(),
            1.0 / 3.0,
            epsilon = 1e-15
        );
        // f̂ = 2m vs f = m on {1, 2, 3}: Σ|m| / Σm = 1.
        assert_relative_eq!(
            response_curve_error_on_grid(|m| 2.0 * m, |m| m, &[1.0, 2.0, 3.0]).unwrap(),
            1.0,
            epsilon = 1e-15
        );
        assert!(matches!(
            response_curve_error(&[1.0], &[0.0]),
            Err(Error::Undefined { .. })
        ));
        assert!(matches!(
            response_curve_error_on_grid(|m| m, |m| m, &[]),
            Err(Error::Empty(_))
        ));
    }

    #[test]
    fn regret_by_hand() {
        // (10 − 8)/(10 − 5) = 0.4.
        let r = optimiser_regret(10.0, 8.0, 5.0).unwrap();
        assert_eq!(r.absolute, 2.0);
        assert_relative_eq!(r.relative.unwrap(), 0.4, epsilon = 1e-15);
        // Worse than history: 8/5 = 1.6.
        assert_relative_eq!(
            optimiser_regret(10.0, 2.0, 5.0).unwrap().relative.unwrap(),
            1.6,
            epsilon = 1e-15
        );
        // Perfect recommendation → 0; rec above opt within tolerance → clamped to 0.
        assert_eq!(
            optimiser_regret(10.0, 10.0, 5.0).unwrap().relative,
            Some(0.0)
        );
        assert_eq!(
            optimiser_regret(10.0, 10.0 + 1e-12, 5.0).unwrap().absolute,
            0.0
        );
        // History already optimal: ratio undefined, absolute regret still reported.
        let d = optimiser_regret(10.0, 9.0, 10.0).unwrap();
        assert_eq!(
            d,
            Regret {
                absolute: 1.0,
                relative: None
            }
        );
        // "Optimum" beaten → caller error.
        assert!(matches!(
            optimiser_regret(10.0, 11.0, 5.0),
            Err(Error::Undefined { .. })
        ));
        assert!(matches!(
            optimiser_regret(10.0, 9.0, 12.0),
            Err(Error::Undefined { .. })
        ));
        assert!(matches!(
            optimiser_regret(f64::NAN, 9.0, 5.0),
            Err(Error::NonFinite { .. })
        ));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        #[test]
        fn share_error_bounds(seed in any::<u64>(), c in 1usize..12) {
            let a = seeded_uniform(seed, c, 0.0, 10.0);
            let b = seeded_uniform(seed ^ 7, c, 0.0, 10.0);
            prop_assume!(a.iter().sum::<f64>() > 0.0 && b.iter().sum::<f64>() > 0.0);
            let e = share_error(&a, &b).unwrap();
            prop_assert!((0.0..=1.0 + 1e-12).contains(&e));
            // Symmetric, zero on itself, scale invariant.
            prop_assert_eq!(e, share_error(&b, &a).unwrap());
            prop_assert_eq!(share_error(&a, &a).unwrap(), 0.0);
            let scaled: Vec<f64> = a.iter().map(|x| 3.5 * x).collect();
            prop_assert!(share_error(&scaled, &a).unwrap() < 1e-12);
            // mean abs (pp) = 100 · 2 · share error / C.
            let pp = mean_abs_share_error_pp(&a, &b).unwrap();
            prop_assert!((pp - 200.0 * e / c as f64).abs() < 1e-9);
            let s: f64 = contribution_shares(&a).unwrap().iter().sum();
            prop_assert!((s - 1.0).abs() < 1e-12);
        }

        #[test]
        fn spearman_monotone_invariance(seed in any::<u64>(), n in 2usize..20) {
            let a = seeded_uniform(seed, n, -3.0, 3.0);
            let b = seeded_uniform(seed ^ 11, n, -3.0, 3.0);
            let up: Vec<f64> = a.iter().map(|x| x.exp() + x.powi(3)).collect();
            let down: Vec<f64> = a.iter().map(|x| -x.powi(3)).collect();
            prop_assert!((spearman(&a, &up).unwrap() - 1.0).abs() < 1e-12);
            prop_assert!((spearman(&a, &down).unwrap() + 1.0).abs() < 1e-12);
            let r = spearman(&a, &b).unwrap();
            prop_assert!((-1.0..=1.0).contains(&r));
            prop_assert!((r - spearman(&b, &a).unwrap()).abs() < 1e-12);
        }

        #[test]
        fn regret_in_unit_interval_for_rec_between_hist_and_opt(seed in any::<u64>()) {
            let v = seeded_uniform(seed, 3, 0.0, 100.0);
            let (hist, opt) = (v[0].min(v[1]), v[0].max(v[1]));
            prop_assume!(opt - hist > 1e-6);
            let rec = hist + v[2] / 100.0 * (opt - hist);
            let r = optimiser_regret(opt, rec, hist).unwrap();
            let rel = r.relative.unwrap();
            prop_assert!((-1e-12..=1.0 + 1e-12).contains(&rel));
            prop_assert!((rel - (opt - rec) / (opt - hist)).abs() < 1e-9);
        }

        #[test]
        fn curve_error_zero_on_itself_and_scales(seed in any::<u64>(), n in 1usize..10) {
            let f = seeded_uniform(seed, n, 0.1, 5.0);
            prop_assert_eq!(response_curve_error(&f, &f).unwrap(), 0.0);
            let g: Vec<f64> = f.iter().map(|x| 1.5 * x).collect();
            prop_assert!((response_curve_error(&g, &f).unwrap() - 0.5).abs() < 1e-12);
        }
    }
}
