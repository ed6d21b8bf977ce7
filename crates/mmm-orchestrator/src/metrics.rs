//! The fit's scorecard (`metrics.json`): the model's pooled and within-region fit on the training
//! and holdout weeks, beside the naive baselines scored on the same holdout cells, and what the
//! fit's self-check and its choice of media path found on the validation slice.

use crate::{FittedModel, Result};
use mmm_data::Panel;
use mmm_eval::FitMetrics;
use ndarray::Array2;
use serde::{Deserialize, Serialize};

/// A naive baseline's holdout score.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BaselineScore {
    /// Baseline name (`train_mean`, `last_13_mean`, `same_week_last_year`).
    pub name: String,
    /// Its metrics on the observed holdout cells.
    pub holdout: FitMetrics,
}

/// Everything `metrics.json` holds.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Scorecard {
    /// Model fit on the observed training weeks.
    pub train: FitMetrics,
    /// Model fit on the observed holdout weeks (`None` without a holdout).
    pub holdout: Option<FitMetrics>,
    /// Naive baselines on the same holdout cells.
    pub baselines: Vec<BaselineScore>,
    /// Training weeks, holdout weeks, validation weeks.
    pub weeks: WeekCounts,
    /// Wall-clock seconds of the fit.
    pub fit_seconds: f64,
    /// What the fit's self-check found (`FittedModel::self_check`); empty when nothing.
    #[serde(default)]
    pub warnings: Vec<String>,
    /// Regions left out of training (`FittedModel::left_out`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub left_out: Vec<String>,
    /// The kept fit's forecast of its validation slice beside the naive baselines.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validation: Option<crate::ValidationScore>,
    /// The media paths trained, how each did on the validation slice, and the one kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<crate::PathChoice>,
}

/// Sizes of the split.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct WeekCounts {
    /// Training weeks (incl. validation).
    pub train: usize,
    /// Validation weeks at the end of training (early stopping, LR schedule).
    pub validation: usize,
    /// Holdout weeks (never used in training).
    pub holdout: usize,
}

impl Scorecard {
    /// Scores `prediction` (target units, `[region, week]`) of `fitted` against the history `panel`.
    pub fn compute(fitted: &FittedModel, panel: &Panel, prediction: &Array2<f64>) -> Result<Self> {
        let split = &fitted.split;
        let train_mask = fitted.mask(panel, split.train.clone());
        let hold_mask = fitted.mask(panel, split.holdout.clone());
        let train = FitMetrics::compute(panel.target.view(), prediction.view(), train_mask.view());
        let has_holdout = hold_mask.iter().any(|&m| m);
        let holdout = has_holdout
            .then(|| FitMetrics::compute(panel.target.view(), prediction.view(), hold_mask.view()));
        let baselines = if has_holdout {
            mmm_eval::naive_baselines(
                panel.target.view(),
                panel.observed.view(),
                split.train.clone(),
                split.holdout.clone(),
            )
            .map(|v| {
                v.into_iter()
                    .map(|(name, holdout)| BaselineScore { name, holdout })
                    .collect()
            })?
        } else {
            Vec::new()
        };
        Ok(Scorecard {
            train,
            holdout,
            baselines,
            weeks: WeekCounts {
                train: split.train.len(),
                validation: split.validation.len(),
                holdout: split.holdout.len(),
            },
            fit_seconds: fitted.fit_seconds,
            warnings: fitted.warnings.clone(),
            left_out: fitted.left_out.clone(),
            validation: fitted.validation.clone(),
            path: fitted.path.clone(),
        })
    }
}
