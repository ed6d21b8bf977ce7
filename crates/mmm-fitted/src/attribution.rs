//! What each channel returned over the history: contribution, spend, ROI, marginal ROI and share —
//! the numbers of `summary.json`, the report's ROI view and the evaluation on simulations, computed
//! in one place.
//!
//! Every sum runs over the observed region-weeks of the panel (training and holdout), in target
//! units — on a panel whose regions start late or miss weeks, the cells with data: `contribution`
//! is the channel's direct term of the decomposition, `total_contribution` the drop in the
//! prediction when its activity is removed and the change propagates along the channel DAG
//! ([`FittedModel::total_effects`]), `mroi` the derivative of the direct contribution with respect
//! to a common multiplier on the channel's spend ([`MediaResponse::slopes`](crate::MediaResponse::slopes))
//! divided by spend, and `share` the channel's part of the summed direct contributions. The
//! report's ROI view shows these numbers.

use crate::Result;
use crate::model::FittedModel;
use mmm_data::Panel;
use mmm_model::Decomposition;
use ndarray::{ArrayView2, Axis, Zip};
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
        // Unobserved cells count 0; the totals are summed as `total_contributions` sums, so that
        // on a fully observed panel they are that function's values exactly.
        let totals: Vec<f64> = self
            .total_effects(panel)?
            .outer_iter()
            .map(|e| {
                Zip::from(&e)
                    .and(&panel.observed)
                    .map_collect(|&v, &observed| if observed { v } else { 0.0 })
                    .sum()
            })
            .collect();
        let slopes: Vec<f64> = self
            .media_response(panel)?
            .slopes()
            .outer_iter()
            .map(|s| observed_sum(panel, s))
            .collect();
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
