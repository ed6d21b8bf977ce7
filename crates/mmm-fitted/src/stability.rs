//! What the stability assessment of a fit found (`mmm_orchestrator::assess_stability`, whose
//! docs say how the refits are made): every fit's starting point and attribution, and per channel
//! the minimum, median and maximum over the fits. A narrow range means the data decide that
//! channel's number; a wide one means the number mostly reflects the starting point (or, for a
//! two-stage fit, the regions the media screen saw).

use crate::attribution::ChannelSummary;
use serde::{Deserialize, Serialize};

/// Where a fit's media coefficients started.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Start {
    /// Seed of the initialisation (GRU weights).
    pub seed: u64,
    /// Share of the target the channels together explained at the start.
    pub media_share: f64,
    /// How that share was split across channels (sums to 1).
    pub media_split: Vec<f64>,
}

/// One fit of the stability assessment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StabilityFit {
    /// Its starting point.
    pub start: Start,
    /// The regions (with repeats) its media screen was run on, for a restart of a two-stage fit
    /// (a bootstrap resample; see the module docs); `None` = every region once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub screen_regions: Option<Vec<String>>,
    /// Lowest validation loss of its first stage (`None` without a validation slice): fits with
    /// clearly higher values explain the validation weeks worse.
    pub best_validation_loss: Option<f64>,
    /// Epochs selected by validation.
    pub best_epochs: usize,
    /// Its attribution.
    pub channels: Vec<ChannelSummary>,
}

/// Minimum, median and maximum of a quantity over the fits.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Spread {
    /// Smallest value.
    pub min: f64,
    /// Median (mean of the two middle values for an even count).
    pub median: f64,
    /// Largest value.
    pub max: f64,
}

impl Spread {
    /// The spread of `values`; `None` when empty or any value is missing or not finite.
    pub fn of(values: impl IntoIterator<Item = Option<f64>>) -> Option<Spread> {
        let v: Vec<f64> = values.into_iter().collect::<Option<_>>()?;
        if !v.iter().all(|x| x.is_finite()) {
            return None;
        }
        Some(Spread {
            min: v.iter().copied().reduce(f64::min)?,
            median: mmm_eval::median(&v)?,
            max: v.iter().copied().reduce(f64::max)?,
        })
    }

    /// Whether `x` lies within [min, max].
    pub fn contains(&self, x: f64) -> bool {
        self.min <= x && x <= self.max
    }
}

/// One channel's numbers over all fits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChannelStability {
    /// Channel name.
    pub channel: String,
    /// Contribution share.
    pub share: Spread,
    /// ROI of the direct effect (`None` without spend).
    pub roi: Option<Spread>,
    /// Marginal ROI at current spend (`None` without spend).
    pub mroi: Option<Spread>,
}

/// The result of `mmm_orchestrator::assess_stability`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stability {
    /// The configured fit first, then the restarts.
    pub fits: Vec<StabilityFit>,
    /// Per channel, the spread over `fits`.
    pub channels: Vec<ChannelStability>,
}

impl Stability {
    /// How the refits were made, for notes and captions: "refits from random starting splits of
    /// the media", or "refits with the media screen on bootstrap resamples of the regions".
    pub fn refits_described(&self) -> &'static str {
        if self.fits.iter().any(|f| f.screen_regions.is_some()) {
            "refits with the media screen on bootstrap resamples of the regions"
        } else {
            "refits from random starting splits of the media"
        }
    }
}
