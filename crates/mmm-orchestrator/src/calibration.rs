//! How lift tests from the configuration (`mmm_fitted::calibration`) weigh in the fit: as the
//! model's [`Calibration`] in the training loss and as experiments of the media screen.
//!
//! A test's weight in the loss is κ = σ²/N (see `mmm_model::calibration`) times
//! `[model] calibration_weight`: σ² is the noise variance of the scaled target, estimated
//! robustly from second differences over consecutive observed training weeks,
//!
//! ```text
//! d[r,t] = ỹ[r,t+1] − 2ỹ[r,t] + ỹ[r,t−1],     σ̂ = 1.4826 · MAD(d) / √6
//! ```
//!
//! (white noise has Var d = 6σ²; smooth seasonality and trend nearly cancel), and N = 1 / Σ w²
//! is the effective number of cells of the normalised training loss weights w.

use crate::fit::FitContext;
use crate::{Error, Result};
use mmm_data::Panel;
use mmm_fitted::calibration::resolve_lift_tests;
use mmm_linear::Experiment;
use mmm_model::{Calibration, ModelInputs};
use ndarray::Array2;

/// Robust noise variance of the scaled target over the training cells (module docs); `None`
/// when fewer than 10 second differences exist.
pub fn noise_variance(inputs: &ModelInputs, weights: &Array2<f64>) -> Option<f64> {
    let mut d = Vec::new();
    for r in 0..inputs.n_regions() {
        for t in 1..inputs.n_weeks().saturating_sub(1) {
            if (t - 1..=t + 1).all(|s| weights[[r, s]] > 0.0) {
                let y = |s: usize| inputs.target[[r, s]];
                d.push(y(t + 1) - 2.0 * y(t) + y(t - 1));
            }
        }
    }
    if d.len() < 10 {
        return None;
    }
    let m = mmm_eval::median(&d)?;
    let dev: Vec<f64> = d.iter().map(|x| (x - m).abs()).collect();
    let sigma = 1.4826 * mmm_eval::median(&dev)? / 6f64.sqrt();
    (sigma > 0.0).then_some(sigma * sigma)
}

/// The model's calibration for `ctx.config.lift_tests` on `panel` (`None` without tests),
/// weighted against the training loss weights `weights`.
pub(crate) fn calibration_for(
    ctx: &FitContext,
    panel: &Panel,
    inputs: &ModelInputs,
    weights: &Array2<f64>,
) -> Result<Option<Calibration>> {
    if ctx.config.lift_tests.is_empty() {
        return Ok(None);
    }
    let tests = resolve_lift_tests(&ctx.config.lift_tests, panel, &ctx.target_scaler.means)?;
    let sigma2 = needed_noise_variance(inputs, weights)?;
    let n_eff = 1.0 / weights.iter().map(|w| w * w).sum::<f64>();
    Ok(Some(Calibration {
        tests,
        scale: ctx.config.model.calibration_weight * sigma2 / n_eff,
    }))
}

/// [`noise_variance`], or the error that lift tests cannot be weighed without it.
fn needed_noise_variance(inputs: &ModelInputs, weights: &Array2<f64>) -> Result<f64> {
    noise_variance(inputs, weights).ok_or_else(|| {
        Error::Config(
            "lift tests need at least 10 triples of consecutive observed training weeks to \
             weigh them against the data"
                .into(),
        )
    })
}

/// `ctx.config.lift_tests` on `panel` as experiments of the media screen
/// (`mmm_linear::Experiment`): the same cells and lift, weighted `w σ² / se²` against the screen's
/// sum of squared residuals (w = `[model] calibration_weight`, σ² as for the model; the screen's
/// data term is the unweighted sum over cells, so N does not enter).
pub(crate) fn screen_experiments(
    ctx: &FitContext,
    panel: &Panel,
    inputs: &ModelInputs,
    weights: &Array2<f64>,
) -> Result<Vec<Experiment>> {
    if ctx.config.lift_tests.is_empty() {
        return Ok(Vec::new());
    }
    let sigma2 = needed_noise_variance(inputs, weights)?;
    let w = ctx.config.model.calibration_weight;
    Ok(
        resolve_lift_tests(&ctx.config.lift_tests, panel, &ctx.target_scaler.means)?
            .into_iter()
            .map(|t| Experiment {
                channel: t.channel,
                cells: t.cells,
                counterfactual: t.counterfactual,
                lift: t.lift,
                weight: w * sigma2 / (t.se * t.se),
            })
            .collect(),
    )
}
