//! What a fit is configured by (`fit.toml`: [`FitConfig`], with the training loop's
//! [`TrainConfig`]) and the record of its training ([`EpochRecord`]): both are stored in
//! `model.json`. The training loop itself is `mmm_orchestrator::train`.

use crate::calibration::LiftTestSpec;
use crate::{Error, Result};
use mmm_model::{DagConfig, ModelConfig};
use serde::{Deserialize, Serialize};

/// Everything a fit is configured by: the `fit.toml` sections `[model]`, `[train]`, `[dag]` and
/// the holdout length.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FitConfig {
    /// Weeks at the end of the calendar held out from training (scored only).
    pub holdout_weeks: usize,
    /// Model hyper-parameters.
    pub model: ModelConfig,
    /// Training-loop settings.
    pub train: TrainConfig,
    /// Channel-DAG settings.
    pub dag: DagConfig,
    /// Experiments the fit is calibrated to (`[[lift_test]]` tables; `crate::calibration`).
    #[serde(rename = "lift_test", skip_serializing_if = "Vec::is_empty")]
    pub lift_tests: Vec<LiftTestSpec>,
}

impl Default for FitConfig {
    fn default() -> Self {
        FitConfig {
            holdout_weeks: mmm_data::DEFAULT_HOLDOUT_WEEKS,
            model: ModelConfig::default(),
            train: TrainConfig::default(),
            dag: DagConfig::default(),
            lift_tests: Vec::new(),
        }
    }
}

/// Settings of the training loop.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TrainConfig {
    /// Maximum number of epochs (full passes over all regions).
    pub epochs: usize,
    /// Initial Adam learning rate.
    pub learning_rate: f64,
    /// Global gradient-norm clip.
    pub clip_norm: f64,
    /// Weeks at the end of the training span used for validation (0 = no validation: fixed
    /// epochs). Unset = automatic ([`TrainConfig::validation_weeks_for`]).
    pub validation_weeks: Option<usize>,
    /// Consecutive validation slices counted back from the end of the training weeks (rolling
    /// origin, `mmm_orchestrator::train`); their mean validation loss chooses stage 2's epoch count. 1 = only
    /// the last slice.
    pub validation_folds: usize,
    /// Early-stopping patience in epochs (on the validation loss).
    pub patience: usize,
    /// Epochs without validation improvement before the learning rate is reduced. The default
    /// equals `patience`, so the rate is not reduced before early stopping: on one-region panels
    /// reductions triggered by a noisy validation slice stalled training (docs/model.md, *Defaults and how they were chosen*).
    pub plateau_patience: usize,
    /// Factor applied to the learning rate on a plateau.
    pub plateau_factor: f64,
    /// Floor of the learning rate.
    pub min_learning_rate: f64,
    /// Refit on all training weeks for the best number of epochs (stage 2).
    pub refit: bool,
    /// Seed of the parameter initialisation.
    pub seed: u64,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            epochs: 600,
            learning_rate: 0.02,
            clip_norm: 1.0,
            validation_weeks: None,
            validation_folds: 1,
            patience: 60,
            plateau_patience: 60,
            plateau_factor: 0.5,
            min_learning_rate: 1e-4,
            refit: true,
            seed: 42,
        }
    }
}

/// Region-weeks the automatic validation slice aims for: with fewer, the validation loss is too
/// noisy to choose the epoch (docs/model.md, *Defaults and how they were chosen*: one region with 8 validation weeks stopped at
/// noise and forecast worse than the training mean on some seeds).
pub const VALIDATION_REGION_WEEKS: usize = 100;

impl TrainConfig {
    /// The same settings trained to convergence: no validation slice, so every one of `epochs`
    /// epochs runs on all training weeks. Early stopping picks the epoch count that forecasts
    /// best and keeps the fit near its starting split of the media; on panels with many regions
    /// the converged fit's response curves gave better budget decisions and worse forecasts
    /// (docs/analysis.md, *Regret under the simulator's truth*). `dcmmm fit --converged` uses it.
    pub fn converged(self) -> Self {
        TrainConfig {
            validation_weeks: Some(0),
            ..self
        }
    }

    /// The validation slice used for a panel of `regions` regions: the configured number of
    /// weeks, or automatically enough weeks for [`VALIDATION_REGION_WEEKS`] region-weeks, at least
    /// 8 and at most 13 (a quarter).
    pub fn validation_weeks_for(&self, regions: usize) -> usize {
        self.validation_weeks.unwrap_or_else(|| {
            VALIDATION_REGION_WEEKS
                .div_ceil(regions.max(1))
                .clamp(8, 13)
        })
    }

    /// The number of validation folds for `n_train` training weeks and slices of
    /// `validation_weeks` (1 when there is no validation).
    ///
    /// # Errors
    /// `validation_folds` is 0, exceeds 1 without the refit (the folds choose the refit's epoch
    /// count), or leaves fewer than [`mmm_data::DEFAULT_MIN_TRAIN_WEEKS`] weeks to learn from
    /// before the earliest slice.
    pub fn validation_folds_for(&self, n_train: usize, validation_weeks: usize) -> Result<usize> {
        let k = self.validation_folds;
        let min_train = mmm_data::DEFAULT_MIN_TRAIN_WEEKS;
        if k == 0 {
            return Err(Error::Config(
                "`validation_folds` must be at least 1".into(),
            ));
        }
        if validation_weeks == 0 || k == 1 {
            return Ok(1);
        }
        if !self.refit {
            return Err(Error::Config(format!(
                "`validation_folds` = {k} needs `refit` = true (the folds choose the refit's epochs)"
            )));
        }
        if n_train < k * validation_weeks + min_train {
            return Err(Error::Config(format!(
                "`validation_folds` = {k} slices of {validation_weeks} weeks leave fewer than \
                 {min_train} of the {n_train} training weeks to learn from"
            )));
        }
        Ok(k)
    }

    /// Checks the values, naming the first bad key.
    pub fn validate(&self) -> Result<()> {
        let bad = |k: &str, why: &str| Err(Error::Config(format!("`{k}` {why}")));
        if self.epochs == 0 {
            return bad("epochs", "must be at least 1");
        }
        if !(self.learning_rate > 0.0 && self.learning_rate.is_finite()) {
            return bad("learning_rate", "must be finite and > 0");
        }
        if self.clip_norm.is_nan() || self.clip_norm <= 0.0 {
            return bad("clip_norm", "must be > 0");
        }
        if !(self.plateau_factor > 0.0 && self.plateau_factor < 1.0) {
            return bad("plateau_factor", "must lie in (0, 1)");
        }
        if !(self.min_learning_rate >= 0.0 && self.min_learning_rate <= self.learning_rate) {
            return bad("min_learning_rate", "must lie in [0, learning_rate]");
        }
        if self.validation_weeks == Some(0) && self.validation_folds > 1 {
            return bad(
                "validation_folds",
                "needs validation weeks, but `validation_weeks` = 0 (or `dcmmm fit --converged`) \
                 turns validation off",
            );
        }
        Ok(())
    }
}

/// One epoch of the training history.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct EpochRecord {
    /// Stage (1 = with validation, 2 = refit on all training weeks).
    pub stage: u8,
    /// Validation fold of a stage-1 epoch (0 = the slice at the end of the training weeks, whose
    /// learning rates stage 2 replays); 0 in stage 2.
    #[serde(default)]
    pub fold: usize,
    /// 0-based epoch within the stage.
    pub epoch: usize,
    /// Training loss (data + penalty) before this epoch's update.
    pub train_loss: f64,
    /// Validation data loss of the parameters this epoch starts from (stage 1 with validation only).
    pub validation_loss: Option<f64>,
    /// Learning rate used by this epoch's update.
    pub learning_rate: f64,
    /// Gradient norm before clipping.
    pub grad_norm: f64,
}
