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
    pub validation: Option<ValidationScore>,
    /// The media paths trained, how each did on the validation slice, and the one kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<PathChoice>,
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

/// How one media path (two-stage or joint) did on the validation slice.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PathScore {
    /// `"two-stage"` (the media part from the screen) or `"joint"`.
    pub path: String,
    /// Validation data loss at the selected epoch (the criterion; lower is better).
    pub validation_loss: Option<f64>,
    /// Epochs selected by validation.
    pub epochs: usize,
    /// The stage-1 model's fit of the validation slice, beside the naive baselines.
    pub validation: Option<ValidationScore>,
}

/// A stage-1 model's forecast of the validation slice (the latest one, fold 0), which it did not
/// learn from, beside the naive baselines computed from the weeks before the slice.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ValidationScore {
    /// The model on the observed validation cells of the trained regions.
    pub model: mmm_eval::FitMetrics,
    /// The naive baselines (`mmm_eval::naive_baselines`) on the same cells.
    pub baselines: Vec<BaselineScore>,
}

/// Which media path a fit took and how each did on the validation slice (both were trained:
/// `[model] media_fit = "auto"` where the two-stage fit is possible).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PathChoice {
    /// The path kept.
    pub chosen: String,
    /// Every path trained, in the order two-stage, joint.
    pub scores: Vec<PathScore>,
}

impl PathChoice {
    /// One sentence: the path kept and each path's validation loss and forecast of the slice.
    pub fn describe(&self) -> String {
        let parts: Vec<String> = self
            .scores
            .iter()
            .map(|s| {
                let loss = s
                    .validation_loss
                    .map_or_else(|| "–".to_string(), |l| format!("{l:.5}"));
                match &s.validation {
                    Some(v) => format!(
                        "{} loss {loss} (wMAPE {:.3}, within-region R² {:.3}, {} epochs)",
                        s.path, v.model.wmape, v.model.r2_within, s.epochs
                    ),
                    None => format!("{} loss {loss} ({} epochs)", s.path, s.epochs),
                }
            })
            .collect();
        let margin = self.margin().map_or_else(String::new, |m| {
            format!(
                " (validation loss {:.1} % below the other path's)",
                100.0 * m
            )
        });
        format!(
            "media path chosen on the validation slice: {}{margin} — {}",
            self.chosen,
            parts.join("; ")
        )
    }

    /// How much lower the kept path's validation loss is than the best other path's, as a
    /// fraction of the other's (`None` when a loss is missing).
    pub fn margin(&self) -> Option<f64> {
        let chosen = self.scores.iter().find(|s| s.path == self.chosen)?;
        let other = self
            .scores
            .iter()
            .filter(|s| s.path != self.chosen)
            .filter_map(|s| s.validation_loss)
            .min_by(f64::total_cmp)?;
        Some(1.0 - chosen.validation_loss? / other)
    }
}
