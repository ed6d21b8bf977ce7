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
//! The region-specific terms are partialled out region by region (`mmm_linear::WithinRegion`;
//! regions with at most 12 training weeks are left out), and the remaining small non-negative
//! least-squares problem in the pooled coefficients is solved by
//! `mmm_linear::bounded_least_squares`.

use mmm_linear::WithinRegion;
use mmm_sim::Simulation;
use ndarray::{Array2, Axis};

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
        t_n > holdout_weeks + mmm_linear::TERMS,
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
    // The region-specific terms are partialled out region by region (Frisch–Waugh), leaving a
    // small problem in the pooled coefficients: controls, then effects.
    let year: Vec<f64> = sim.weeks().iter().map(|w| w.year_fraction()).collect();
    let observed = Array2::from_shape_fn((r_n, t_n), |(r, t)| sim.observed(r, t));
    let within = WithinRegion::new(&year, observed.view(), train)?;
    let per_level =
        |a: &Array2<f64>| Array2::from_shape_fn((r_n, t_n), |(r, t)| a[[r, t]] / level[r]);
    let y = within.residuals(per_level(sales).view());
    let columns: Vec<Vec<f64>> = controls
        .iter()
        .map(|z| within.residuals(z.view()))
        .chain(units.iter().map(|u| within.residuals(per_level(u).view())))
        .collect();
    let columns: Vec<&[f64]> = columns.iter().map(Vec::as_slice).collect();
    let theta = mmm_linear::bounded_least_squares(
        &mmm_linear::gram(&columns),
        &mmm_linear::cross(&columns, &y),
        k_n, // effects are non-negative, as in the simulator
    )?;
    let effects = theta[k_n..].to_vec();
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
