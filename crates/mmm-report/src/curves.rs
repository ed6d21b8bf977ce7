//! Inputs of the optional views: response curves (view 14) and a budget allocation (view 16).
//!
//! Both are plain data so that any analysis crate can fill them. When no curves are given, the
//! report draws the fit's history curves ([`ResponseCurves::from_results`],
//! `mmm_fitted::FitResults::curves`): for channel c and a multiplier m on its activity in every
//! region-week of the history, the direct and total (DAG-mediated) contribution and the spend
//! m · S_c, summed over the observed region-weeks — the cells the channel summaries of
//! `summary.json` and view 10 sum over, so that the curve at m = 1 is the channel's contribution
//! and spend there.

use crate::{Error, Result};
use mmm_fitted::FitResults;
use serde::{Deserialize, Serialize};

/// Response curve of one channel, all values summed over the regions and weeks of the history
/// in target units.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChannelCurve {
    /// Total spend at each point.
    pub spend: Vec<f64>,
    /// Direct effect of the channel at each point.
    pub direct: Vec<f64>,
    /// Total (direct + DAG-mediated) effect at each point.
    pub total: Vec<f64>,
    /// The current (observed) total spend, marked on the chart.
    pub current_spend: f64,
    /// The direct curve's 5–95 % band over the posterior's draws (`None` without draws).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub band: Option<CurveBand>,
}

/// A band around a direct response curve: 5 % and 95 % quantiles over the posterior's draws at
/// each point.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CurveBand {
    /// 5 % quantile at each point.
    pub p05: Vec<f64>,
    /// 95 % quantile at each point.
    pub p95: Vec<f64>,
}

/// Response curves of every channel, in the model's channel order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResponseCurves {
    /// One curve per channel.
    pub channels: Vec<ChannelCurve>,
    /// Where the curves come from (shown under the chart).
    pub source: String,
}

/// A budget allocation (view 16): current and recommended spend per channel, in the model's
/// channel order, and the outcomes the model expects under each.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Allocation {
    /// Current spend per channel.
    pub current: Vec<f64>,
    /// Recommended spend per channel.
    pub recommended: Vec<f64>,
    /// Expected outcome under the current allocation.
    pub current_outcome: f64,
    /// Expected outcome under the recommended allocation.
    pub expected_outcome: f64,
    /// Per channel: whether the fit leaves its response open, so that its move is the least
    /// certain (`mmm_analysis::UnitAllocation::response_open`); empty when the fit cannot tell.
    #[serde(default)]
    pub open: Vec<bool>,
}

impl Allocation {
    /// Checks that there is one value per channel (and one `open` flag, unless there are none).
    pub fn validate(&self, channels: usize) -> Result<()> {
        if self.current.len() != channels
            || self.recommended.len() != channels
            || !(self.open.is_empty() || self.open.len() == channels)
        {
            return Err(Error::Input(format!(
                "allocation has {} current, {} recommended values and {} open flags for \
                 {channels} channels",
                self.current.len(),
                self.recommended.len(),
                self.open.len()
            )));
        }
        Ok(())
    }
}

impl ResponseCurves {
    /// Checks that there is one curve per channel with matching point counts.
    pub fn validate(&self, channels: usize) -> Result<()> {
        if self.channels.len() != channels {
            return Err(Error::Input(format!(
                "{} response curves for {channels} channels",
                self.channels.len()
            )));
        }
        for (c, curve) in self.channels.iter().enumerate() {
            let n = curve.spend.len();
            if curve.direct.len() != n || curve.total.len() != n {
                return Err(Error::Input(format!(
                    "response curve {c}: {n} spend points, {} direct, {} total",
                    curve.direct.len(),
                    curve.total.len()
                )));
            }
            if let Some(b) = &curve.band
                && (b.p05.len() != n || b.p95.len() != n)
            {
                return Err(Error::Input(format!(
                    "response curve {c}: {n} spend points, a band of {} and {}",
                    b.p05.len(),
                    b.p95.len()
                )));
            }
        }
        Ok(())
    }

    /// The fit's history curves ([`FitResults::curves`]): each channel's activity scaled by m in
    /// every region-week of the history, summed over the observed region-weeks (module docs).
    pub fn from_results(results: &FitResults) -> Self {
        ResponseCurves {
            channels: results
                .curves
                .iter()
                .map(|c| ChannelCurve {
                    spend: c.spend.clone(),
                    direct: c.direct.clone(),
                    total: c.total.clone(),
                    current_spend: c.current_spend,
                    band: None,
                })
                .collect(),
            source: format!(
                "computed from the fitted model: each channel's activity scaled by m in {{{}}} in every region-week",
                results
                    .multipliers
                    .iter()
                    .map(|m| format!("{m}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    }
}

impl ResponseCurves {
    /// The national curves of `mmm-analysis` (`dcmmm curves`), reordered to the model's
    /// `channels`, with the bands of their direct curves when the curves have them. Their spend
    /// and responses cover the analysis window (with its carryover tail).
    pub fn from_analysis(curves: &mmm_analysis::Curves, channels: &[String]) -> Result<Self> {
        let out = channels
            .iter()
            .map(|name| {
                let at = curves
                    .channels
                    .iter()
                    .position(|c| &c.channel == name)
                    .ok_or_else(|| {
                        Error::Input(format!("no response curve for channel `{name}`"))
                    })?;
                let n = &curves.channels[at].national;
                let band = curves.posterior.as_ref().map(|b| CurveBand {
                    p05: b.channels[at].direct.p05.clone(),
                    p95: b.channels[at].direct.p95.clone(),
                });
                Ok(ChannelCurve {
                    spend: n.spend_grid.clone(),
                    direct: n.direct.clone(),
                    total: n.total.clone(),
                    current_spend: n.spend,
                    band,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(ResponseCurves {
            channels: out,
            source: format!(
                "mmm-analysis response curves over the weeks {} to {} (window `{}`, plus {} carryover weeks); spend in each channel's unit{}",
                curves.window_weeks.0,
                curves.window_weeks.1,
                curves.window,
                curves.tail_weeks,
                curves.posterior.as_ref().map_or(String::new(), |b| format!(
                    "; shaded: 5–95 % of the direct curve over {} posterior draws",
                    b.draws
                ))
            ),
        })
    }
}

impl Allocation {
    /// The per-channel totals of an `mmm-analysis` allocation (`dcmmm optimize`), in the model's
    /// channel order.
    pub fn from_analysis(alloc: &mmm_analysis::Allocation, channels: &[String]) -> Result<Self> {
        let unit = |name: &String| {
            alloc
                .channels
                .get(name)
                .ok_or_else(|| Error::Input(format!("the allocation has no channel `{name}`")))
        };
        Ok(Allocation {
            current: channels
                .iter()
                .map(|c| unit(c).map(|u| u.current))
                .collect::<Result<_>>()?,
            recommended: channels
                .iter()
                .map(|c| unit(c).map(|u| u.recommended))
                .collect::<Result<_>>()?,
            current_outcome: alloc.outcome_current,
            expected_outcome: alloc.outcome_recommended,
            open: channels
                .iter()
                .map(|c| unit(c).map(|u| u.response_open))
                .collect::<Result<Option<Vec<bool>>>>()?
                .unwrap_or_default(),
        })
    }
}
