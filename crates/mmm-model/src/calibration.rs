//! Calibration against experiments: lift tests as a likelihood term on a channel's contribution.
//!
//! Attribution is only partly identified by observational data (docs/model.md, *Defaults and how they were chosen*): the loss is
//! nearly flat along directions that trade one channel against another or against the baseline.
//! A lift test (geo experiment, conversion-lift study) measures one channel's incremental outcome
//! over a set of region-weeks directly. With the test's cells u_e[r,t] = ȳ_r on the tested
//! region-weeks (0 elsewhere), the model's answer to test e is the channel's direct contribution
//! there, in target units:
//!
//! ```text
//! C_e(θ) = Σ_{r,t} u_e[r,t] · β_c · exp(η_{r,c}) · m_c[r,t] · s_c[r,t]
//! ```
//!
//! A heavy-up or scale-down test instead compares the data's activity with the usual one,
//! x_c ⊙ f_e (f_e = 1/m on the weeks that ran m times the usual spend, 1 elsewhere); its answer is
//! the difference of the contributions, a point on the slope of the channel's curve:
//!
//! ```text
//! C_e(θ) = Σ_{r,t} u_e[r,t] · β_c · exp(η_{r,c}) · m_c[r,t] · (s_c[r,t] − s_c^e[r,t]),
//! s_c^e = Hill(adstock(x_c ⊙ f_e))
//! ```
//!
//! (the modulation m_c does not depend on the media). The training objective gains the Gaussian
//! log-likelihood of the measured lift L_e ± se_e,
//! on the scale of the data loss:
//!
//! ```text
//! loss_cal = κ · Σ_e (C_e − L_e)² / (2 se_e²),      κ = σ² / N
//! ```
//!
//! The weighted Huber data loss is ≈ (1/N) Σ r²/2 on N effective cells with noise variance σ² on
//! the scaled target, i.e. σ²/N times the Gaussian log-likelihood of the data; multiplying the
//! tests' log-likelihood by the same κ weighs one experiment against the data as a Bayesian
//! analysis would. κ comes from the caller (`mmm-orchestrator` estimates σ² from the training
//! data and N from the loss weights).

use crate::{Error, Result};
use ndarray::Array2;

/// One lift test in model units.
#[derive(Debug, Clone, PartialEq)]
pub struct LiftTest {
    /// Index of the tested channel.
    pub channel: usize,
    /// `[region, week]` weights u_e: the region's mean target ȳ_r on tested cells, 0 elsewhere,
    /// so that Σ u·(scaled contribution) is the contribution in target units.
    pub cells: Array2<f64>,
    /// `[region, week]` factors f_e of the activity the test compared the data's with (module
    /// docs); `None`: no activity, the answer is the channel's contribution.
    pub counterfactual: Option<Array2<f64>>,
    /// Measured incremental outcome L_e, target units.
    pub lift: f64,
    /// Its standard error se_e (> 0), target units.
    pub se: f64,
}

/// Lift tests and the weight κ of their likelihood (module docs).
#[derive(Debug, Clone, PartialEq)]
pub struct Calibration {
    /// The experiments.
    pub tests: Vec<LiftTest>,
    /// κ = σ²/N, the scale of the data loss relative to a Gaussian log-likelihood.
    pub scale: f64,
}

impl Calibration {
    /// Checks the tests against a panel of `regions × weeks` with `channels` channels.
    pub fn validate(&self, channels: usize, regions: usize, weeks: usize) -> Result<()> {
        if !(self.scale >= 0.0 && self.scale.is_finite()) {
            return Err(Error::Input(format!(
                "calibration scale must be finite and ≥ 0, got {}",
                self.scale
            )));
        }
        for (i, t) in self.tests.iter().enumerate() {
            let which = format!("lift test {}", i + 1);
            if t.channel >= channels {
                return Err(Error::Input(format!(
                    "{which}: channel index {} but the model has {channels} channels",
                    t.channel
                )));
            }
            if t.cells.dim() != (regions, weeks) {
                return Err(Error::Shape(format!(
                    "{which}: cells are {:?}, the inputs are {regions}×{weeks}",
                    t.cells.dim()
                )));
            }
            if let Some(f) = &t.counterfactual {
                if f.dim() != (regions, weeks) {
                    return Err(Error::Shape(format!(
                        "{which}: counterfactual factors are {:?}, the inputs are {regions}×{weeks}",
                        f.dim()
                    )));
                }
                if !f.iter().all(|v| *v >= 0.0 && v.is_finite()) {
                    return Err(Error::Input(format!(
                        "{which}: counterfactual factors must be finite and ≥ 0"
                    )));
                }
            }
            if !t.cells.iter().all(|u| *u >= 0.0 && u.is_finite()) || t.cells.sum() == 0.0 {
                return Err(Error::Input(format!(
                    "{which}: cell weights must be finite, ≥ 0 and not all zero"
                )));
            }
            if !(t.lift.is_finite() && t.se > 0.0 && t.se.is_finite()) {
                return Err(Error::Input(format!(
                    "{which}: lift must be finite and se finite and > 0 (lift {}, se {})",
                    t.lift, t.se
                )));
            }
        }
        Ok(())
    }

    /// The likelihood term for the model's answers `answers[e]` = C_e, and ∂loss/∂C_e.
    pub fn loss(&self, answers: &[f64]) -> (f64, Vec<f64>) {
        let mut total = 0.0;
        let grads = self
            .tests
            .iter()
            .zip(answers)
            .map(|(t, c)| {
                let z = (c - t.lift) / t.se;
                total += self.scale * 0.5 * z * z;
                self.scale * z / t.se
            })
            .collect();
        (total, grads)
    }
}
