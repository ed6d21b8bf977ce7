//! What the data allow: a regression that KNOWS the simulator's true media mechanism — activity,
//! DAG, adstock, saturation and region multipliers — and estimates only the channels' effect sizes
//! from the same noisy panel and training weeks as dcmmm. No model that learns the mechanism from
//! data can be expected to do better on average, so its attribution error and regret are the
//! floor set by noise and collinearity in the panel, not by any modelling choice.
//!
//! On the training weeks (the holdout untouched) it fits, by least squares on the target scaled by
//! each region's training mean,
//!
//! ```text
//! y[r,t] / ȳ_r = a_r + d_r·τ_t + Σ_{j=1,2} (e_rj sin 2πjφ_t + f_rj cos 2πjφ_t)
//!              + Σ_k γ_k z_k[r,t] + Σ_c β_c · u_c[r,t] / ȳ_r,      β_c ≥ 0
//! ```
//!
//! with `u_c` the true contribution per unit of effect size (`Simulation::unit_contributions`),
//! `φ_t` the calendar year fraction, τ in years, and the controls standardised but untransformed
//! (as dcmmm sees them). Region-specific trend and seasonality match the simulator's baseline.
//! The region-specific terms are partialled out region by region (Frisch–Waugh, with faer's LU;
//! regions with at most 12 training weeks are left out), and the remaining small non-negative
//! least-squares problem in the pooled coefficients is solved with the bounded L-BFGS of
//! `mmm-optim` (a convex quadratic, solved to convergence).

use faer::Mat;
use faer::linalg::solvers::Solve;
use mmm_sim::Simulation;
use ndarray::{Array2, Axis};

/// Nuisance parameters per region: intercept, trend, two Fourier pairs.
const PER_REGION: usize = 6;

/// The oracle regression's estimate.
pub struct OracleFit {
    /// Estimated effect sizes `β̂_c ≥ 0` (the simulator's `β` units).
    pub effects: Vec<f64>,
    /// Estimated channel contributions over the observed region-weeks, in target units.
    pub contributions: Vec<f64>,
}

/// Fits the oracle regression on every week before the last `holdout_weeks`.
///
/// # Errors
/// Too few weeks, or the solver fails.
pub fn fit_oracle(sim: &Simulation, holdout_weeks: usize) -> anyhow::Result<OracleFit> {
    let (_, units) = sim.unit_contributions();
    let sales = sim.sales();
    let (r_n, t_n) = sales.dim();
    anyhow::ensure!(
        t_n > holdout_weeks + PER_REGION,
        "{t_n} weeks leave too few for the oracle's training span"
    );
    let train = 0..t_n - holdout_weeks;
    let cells: Vec<(usize, usize)> = (0..r_n)
        .flat_map(|r| train.clone().map(move |t| (r, t)))
        .filter(|&(r, t)| sim.observed(r, t))
        .collect();
    let mut level = vec![0.0; r_n];
    let mut count = vec![0usize; r_n];
    for &(r, t) in &cells {
        level[r] += sales[[r, t]];
        count[r] += 1;
    }
    for (l, n) in level.iter_mut().zip(&count) {
        *l = if *n > 0 { *l / *n as f64 } else { 1.0 };
    }
    // Standardised controls (pooled over the training cells).
    let raw = sim.control_values();
    let k_n = raw.dim().2;
    let controls: Vec<Array2<f64>> = (0..k_n)
        .map(|k| {
            let lane = raw.index_axis(Axis(2), k);
            let n = cells.len() as f64;
            let mean = cells.iter().map(|&c| lane[c]).sum::<f64>() / n;
            let var = cells.iter().map(|&c| (lane[c] - mean).powi(2)).sum::<f64>() / n;
            let sd = if var > 0.0 { var.sqrt() } else { 1.0 };
            lane.mapv(|v| (v - mean) / sd)
        })
        .collect();
    let c_n = units.len();
    let last = (train.end - 1) as f64;
    let nuisance: Vec<[f64; PER_REGION]> = sim
        .weeks()
        .iter()
        .enumerate()
        .map(|(t, w)| {
            let phase = std::f64::consts::TAU * w.year_fraction();
            [
                1.0,
                (t as f64 - last) / 52.0,
                phase.sin(),
                phase.cos(),
                (2.0 * phase).sin(),
                (2.0 * phase).cos(),
            ]
        })
        .collect();
    // The region-specific terms are partialled out region by region (Frisch–Waugh), leaving a
    // small problem in the pooled coefficients: controls, then effects.
    let p_n = k_n + c_n;
    let mut gram = Array2::<f64>::zeros((p_n, p_n));
    let mut rhs = vec![0.0; p_n];
    for r in 0..r_n {
        let weeks: Vec<usize> = cells
            .iter()
            .filter(|&&(cr, _)| cr == r)
            .map(|&(_, t)| t)
            .collect();
        if weeks.len() <= 2 * PER_REGION {
            continue; // too few weeks to separate the region's own terms
        }
        // Columns: scaled target, controls, effects' units.
        let column = |j: usize, t: usize| -> f64 {
            match j {
                0 => sales[[r, t]] / level[r],
                j if j <= k_n => controls[j - 1][[r, t]],
                j => units[j - 1 - k_n][[r, t]] / level[r],
            }
        };
        let ntn = Mat::<f64>::from_fn(PER_REGION, PER_REGION, |i, j| {
            weeks
                .iter()
                .map(|&t| nuisance[t][i] * nuisance[t][j])
                .sum::<f64>()
        });
        let nty = Mat::<f64>::from_fn(PER_REGION, 1 + p_n, |i, j| {
            weeks
                .iter()
                .map(|&t| nuisance[t][i] * column(j, t))
                .sum::<f64>()
        });
        let coef = ntn.partial_piv_lu().solve(&nty);
        let resid: Vec<Vec<f64>> = weeks
            .iter()
            .map(|&t| {
                (0..=p_n)
                    .map(|j| {
                        column(j, t)
                            - (0..PER_REGION)
                                .map(|i| nuisance[t][i] * coef[(i, j)])
                                .sum::<f64>()
                    })
                    .collect()
            })
            .collect();
        for e in &resid {
            for i in 0..p_n {
                rhs[i] += e[1 + i] * e[0];
                for j in 0..p_n {
                    gram[[i, j]] += e[1 + i] * e[1 + j];
                }
            }
        }
    }
    // min ½ θᵀGθ − bᵀθ with the effects ≥ 0, on unit-scaled columns for conditioning.
    let scale: Vec<f64> = (0..p_n)
        .map(|i| {
            let d = gram[[i, i]].sqrt();
            if d > 0.0 { d } else { 1.0 }
        })
        .collect();
    let objective = |x: &[f64], g: &mut [f64]| {
        let mut f = 0.0;
        for i in 0..p_n {
            let gx: f64 = (0..p_n)
                .map(|j| gram[[i, j]] / (scale[i] * scale[j]) * x[j])
                .sum();
            g[i] = gx - rhs[i] / scale[i];
            f += 0.5 * x[i] * gx - rhs[i] / scale[i] * x[i];
        }
        f
    };
    let mut lower = vec![f64::NEG_INFINITY; p_n];
    lower[k_n..].fill(0.0); // effects are non-negative, as in the simulator
    let upper = vec![f64::INFINITY; p_n];
    let cfg = mmm_optim::LbfgsConfig {
        max_iters: 10_000,
        grad_tol: 1e-10,
        ..Default::default()
    };
    let res = mmm_optim::minimize_lbfgs_box(objective, &vec![0.0; p_n], &lower, &upper, &cfg)?;
    anyhow::ensure!(
        res.converged,
        "the oracle regression did not converge ({:?})",
        res.termination
    );
    let effects: Vec<f64> = (k_n..p_n).map(|i| res.x[i] / scale[i]).collect();
    // Units are zero on unobserved region-weeks.
    let contributions = effects
        .iter()
        .zip(&units)
        .map(|(b, u)| b * u.sum())
        .collect();
    Ok(OracleFit {
        effects,
        contributions,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use mmm_sim::{Scenario, simulate};

    fn noiseless(noise_sd: f64) -> Simulation {
        let scenario = Scenario::from_toml(&format!(
            r#"
name = "oracle"
regions = 4
weeks = 104
channels = 4
controls = 2
media_share = 0.3
dag_edges = 1
zero_effect_channels = 1

[noise]
kind = "gaussian"
sd = {noise_sd}
"#
        ))
        .unwrap();
        simulate(&scenario, 3).unwrap()
    }

    #[test]
    fn recovers_the_true_effects_without_noise_and_approximately_with_it() {
        // Without noise the true effects fit the training weeks up to the controls' transforms
        // (price enters the truth as a log): the recovery is close, not exact.
        let sim = noiseless(0.0);
        let (truth, _) = sim.unit_contributions();
        let fit = fit_oracle(&sim, 13).unwrap();
        let scale = truth.iter().copied().fold(0.0, f64::max);
        for (c, (b, t)) in fit.effects.iter().zip(&truth).enumerate() {
            assert!(*b >= 0.0);
            assert!(
                (b - t).abs() < 0.05 * scale,
                "channel {c}: {b} vs true {t} ({:?} vs {truth:?})",
                fit.effects
            );
        }
        // Contributions are the effects times the channels' units over the observed cells.
        let t = sim.truth();
        for (c, ct) in t.channel_truth.iter().enumerate() {
            if truth[c] > 0.0 {
                let ratio = fit.contributions[c] / ct.contribution;
                assert!((ratio - fit.effects[c] / truth[c]).abs() < 1e-6, "{ratio}");
            }
        }
        // Noise makes the estimate worse, not better.
        let noisy = noiseless(0.08);
        let (truth_noisy, _) = noisy.unit_contributions();
        let err = |f: &OracleFit, t: &[f64]| -> f64 {
            f.effects.iter().zip(t).map(|(b, t)| (b - t).abs()).sum()
        };
        let noisy_fit = fit_oracle(&noisy, 13).unwrap();
        assert!(err(&noisy_fit, &truth_noisy) > err(&fit, &truth));
    }

    #[test]
    fn too_few_weeks_is_an_error() {
        let sim = noiseless(0.0);
        assert!(fit_oracle(&sim, 100).is_err());
    }
}
