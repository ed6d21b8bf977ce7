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
