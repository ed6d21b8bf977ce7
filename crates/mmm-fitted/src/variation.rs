//! How much each channel's activity moves apart from its regions' level, trend and season over
//! the training weeks.
//!
//! Each region has its own baseline level, trend and seasonality in the model, so a channel's
//! effect is told apart from the baseline only by the part of its activity those do not explain.
//! [`FittedModel::activity_variation`] measures that part relative to the channel's level
//! (`mmm_linear::WithinRegion::relative_variation`). Channels run at a steady level that follows
//! demand score low; on the simulations their recommended budgets were the furthest from the true
//! optimum (mean |recommended − optimal| spend multiplier 0.30 on geo and 0.21 on paper-scale
//! panels, against 0.11 and 0.09 for the other channels; docs/analysis.md, *Regret under the simulator's truth*), so decision
//! commands name them.

use crate::{FittedModel, Result};
use mmm_data::Panel;
use mmm_linear::WithinRegion;
use ndarray::{ArrayView2, Axis};

/// Relative within-region variation below which decision commands name a channel: its activity
/// moves by less than a quarter of its level around each region's own pattern. The simulator's
/// always-on and seasonal channels score 0.15–0.19, its flighted ones above 1; the reference
/// panel's channels 0.12–2.5 (docs/analysis.md, *Regret under the simulator's truth*).
pub const LOW_VARIATION: f64 = 0.25;

impl FittedModel {
    /// Each channel's relative within-region variation of its activity over the training weeks
    /// (module docs). `None` for a channel without activity, and for every channel when no region
    /// has more than `mmm_linear::MIN_WEEKS` observed training weeks.
    ///
    /// # Errors
    /// The stored history is malformed.
    pub fn activity_variation(&self) -> Result<Vec<Option<f64>>> {
        let panel = self.history_panel()?;
        let Some(within) = training_within(&panel, self.split.train.clone())? else {
            return Ok(vec![None; panel.n_channels()]);
        };
        Ok(panel
            .media
            .axis_iter(Axis(2))
            .map(|x| within.relative_variation(x))
            .collect())
    }

    /// A note naming the channels whose variation is below [`LOW_VARIATION`], for the commands
    /// that turn the fit into decisions; `None` when there are none.
    ///
    /// # Errors
    /// As [`FittedModel::activity_variation`].
    pub fn low_variation_note(&self) -> Result<Option<String>> {
        let low: Vec<String> = self
            .channels
            .iter()
            .zip(self.activity_variation()?)
            .filter_map(|(name, v)| {
                v.filter(|&v| v < LOW_VARIATION)
                    .map(|v| format!("{name} ({v:.2})"))
            })
            .collect();
        Ok((!low.is_empty()).then(|| {
            format!(
                "the weekly activity of {} moves by less than {:.0} % of its level around each \
                 region's own level, trend and season (relative variation in brackets): the model \
                 tells these effects from the baseline only by such small movements. On simulated \
                 panels the recommended budgets of channels like these were the furthest from the \
                 true optimum; read their ROI and any change recommended for them as the least \
                 certain (docs/analysis.md, *Regret under the simulator's truth*).",
                low.join(", "),
                100.0 * LOW_VARIATION
            )
        }))
    }
}

/// Each region's level, trend and season partialled out over the observed `train` weeks of
/// `panel` (`mmm_linear::WithinRegion`); `None` when no region has more than
/// `mmm_linear::MIN_WEEKS` of them.
pub fn training_within(
    panel: &Panel,
    train: std::ops::Range<usize>,
) -> Result<Option<WithinRegion>> {
    within_region(panel, panel.observed.view(), train)
}

/// [`training_within`] for the rows `observed` (`[region, week]` on `panel`'s weeks).
pub fn within_region(
    panel: &Panel,
    observed: ArrayView2<bool>,
    train: std::ops::Range<usize>,
) -> Result<Option<WithinRegion>> {
    let year: Vec<f64> = (0..panel.n_weeks())
        .map(|t| panel.year_fraction(t))
        .collect();
    match WithinRegion::new(&year, observed, train) {
        Ok(w) => Ok(Some(w)),
        Err(mmm_linear::Error::TooFewWeeks { .. }) => Ok(None),
        Err(e) => Err(e.into()),
    }
}
