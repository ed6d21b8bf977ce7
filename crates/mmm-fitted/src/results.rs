//! Everything a fit says about its history, computed once ([`FitResults::compute`]): the
//! prediction and its decomposition, the attribution of `summary.json` ([`Summary`]) and each
//! channel's response curve over the history. `dcmmm fit` writes its files from it and the report
//! renders it, so the two cannot disagree.
//!
//! The history curves price channel c's activity scaled by m in every region-week of the history
//! with the media response ([`crate::MediaResponse`]), summed over the observed region-weeks — the
//! cells the channel summaries sum over, so that the curve at m = 1 is the channel's direct and
//! total contribution and its spend there.

use crate::Result;
use crate::attribution::observed_sum;
use crate::model::FittedModel;
use crate::stability::Stability;
use crate::summary::Summary;
use mmm_data::Panel;
use mmm_model::Decomposition;
use ndarray::{Array2, Axis};
use serde::Serialize;

/// The activity multipliers of the history curves: 0, 0.25, …, 3.
pub fn history_multipliers() -> Vec<f64> {
    (0..=12).map(|i| f64::from(i) * 0.25).collect()
}

/// One channel's response over the history (module docs), target units.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HistoryCurve {
    /// Spend at each multiplier (m · the observed spend).
    pub spend: Vec<f64>,
    /// Direct contribution at each multiplier.
    pub direct: Vec<f64>,
    /// Direct + DAG-mediated contribution at each multiplier.
    pub total: Vec<f64>,
    /// The observed spend (m = 1).
    pub current_spend: f64,
}

/// What a fit says about its history (module docs).
#[derive(Debug, Clone)]
pub struct FitResults {
    /// Prediction, `[region, week]`, target units.
    pub prediction: Array2<f64>,
    /// Its additive decomposition.
    pub decomposition: Decomposition,
    /// The attribution of `summary.json`.
    pub summary: Summary,
    /// The multipliers of [`FitResults::curves`].
    pub multipliers: Vec<f64>,
    /// Each channel's history curve, in the model's channel order.
    pub curves: Vec<HistoryCurve>,
}

impl FitResults {
    /// The results of `fitted` on its history `panel`, with the stability assessment when
    /// refits ran, and history curves at [`history_multipliers`].
    ///
    /// # Errors
    /// The model cannot be run on the panel, or a lift test does not match it.
    pub fn compute(
        fitted: &FittedModel,
        panel: &Panel,
        stability: Option<&Stability>,
    ) -> Result<Self> {
        let (prediction, decomposition) = fitted.predict(panel)?;
        let summary = Summary::compute(fitted, panel, &decomposition, stability)?;
        let multipliers = history_multipliers();
        let curves = fitted.history_curves(panel, &multipliers)?;
        Ok(FitResults {
            prediction,
            decomposition,
            summary,
            multipliers,
            curves,
        })
    }
}

impl FittedModel {
    /// Each channel's response over the history `panel` at the activity `multipliers` (module
    /// docs), in the model's channel order.
    ///
    /// # Errors
    /// The panel does not fit the model's scalers, or the configuration is invalid.
    pub fn history_curves(&self, panel: &Panel, multipliers: &[f64]) -> Result<Vec<HistoryCurve>> {
        let response = self.media_response(panel)?;
        let cells = panel.observed.view();
        let spend = panel.spend_or_media();
        Ok((0..panel.n_channels())
            .map(|c| {
                let current_spend = observed_sum(panel, spend.index_axis(Axis(2), c));
                HistoryCurve {
                    spend: multipliers.iter().map(|m| m * current_spend).collect(),
                    direct: multipliers
                        .iter()
                        .map(|&m| response.direct(c, m, cells))
                        .collect(),
                    total: response.total(c, multipliers, cells),
                    current_spend,
                }
            })
            .collect())
    }
}
