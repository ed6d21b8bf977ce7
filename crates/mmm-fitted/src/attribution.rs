//! What each channel returned over the history: contribution, spend, ROI, marginal ROI and share —
//! the numbers of `summary.json`, the report's ROI view and the evaluation on simulations, computed
//! in one place.
//!
//! Sums run over the observed region-weeks of the panel (training and holdout), in target units:
//! `contribution` is the channel's direct term of the decomposition, `total_contribution` the drop
//! in the prediction when its activity is removed and the change propagates along the channel DAG
//! ([`FittedModel::total_contributions`]), `mroi` the derivative of the direct contribution with
//! respect to a common multiplier on the channel's spend ([`FittedModel::contribution_slopes`])
//! divided by spend, and `share` the channel's part of the summed direct contributions.

use crate::Result;
use crate::model::FittedModel;
use mmm_data::Panel;
use mmm_model::Decomposition;
use ndarray::{ArrayView2, Axis};
use serde::{Deserialize, Serialize};

/// One channel's attribution over the history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChannelSummary {
    /// Channel name.
    pub channel: String,
    /// Direct contribution, target units.
    pub contribution: f64,
    /// Direct + DAG-mediated contribution, target units.
    pub total_contribution: f64,
    /// Spend (the media column when no spend column is given).
    pub spend: f64,
    /// Direct contribution per unit of spend; `None` without spend.
    pub roi: Option<f64>,
    /// Total contribution per unit of spend; `None` without spend.
    pub total_roi: Option<f64>,
    /// Marginal ROI of the direct effect at current spend; `None` without spend.
    pub mroi: Option<f64>,
    /// Share of the summed direct media contribution (0 when media contribute nothing).
    pub share: f64,
}

/// Sum of `a` over the observed cells of `panel`.
pub fn observed_sum(panel: &Panel, a: ArrayView2<f64>) -> f64 {
    a.indexed_iter()
        .filter(|(i, _)| panel.observed[*i])
        .map(|(_, v)| v)
        .sum()
}

impl FittedModel {
    /// Per-channel attribution of this model on `panel` (its history, usually), given the
    /// decomposition [`FittedModel::predict`] returned for it.
    pub fn channel_summaries(
        &self,
        panel: &Panel,
        decomposition: &Decomposition,
    ) -> Result<Vec<ChannelSummary>> {
        let totals = self.total_contributions(panel)?;
        let slopes = self.contribution_slopes(panel)?;
        let direct: Vec<f64> = (0..panel.n_channels())
            .map(|c| observed_sum(panel, decomposition.channels.index_axis(Axis(0), c)))
            .collect();
        let media_total: f64 = direct.iter().sum();
        Ok(self
            .channels
            .iter()
            .enumerate()
            .map(|(c, name)| {
                let spend = observed_sum(panel, panel.spend_or_media().index_axis(Axis(2), c));
                let ratio = |x: f64| (spend > 0.0).then(|| x / spend);
                ChannelSummary {
                    channel: name.clone(),
                    contribution: direct[c],
                    total_contribution: totals[c],
                    spend,
                    roi: ratio(direct[c]),
                    total_roi: ratio(totals[c]),
                    mroi: ratio(slopes[c]),
                    share: if media_total > 0.0 {
                        direct[c] / media_total
                    } else {
                        0.0
                    },
                }
            })
            .collect())
    }
}
