//! Inputs of the optional views: response curves (view 14) and a budget allocation (view 16).
//!
//! Both are plain data so that any analysis crate can fill them. When no curves are given, the
//! report computes them from the fitted model itself ([`ResponseCurves::from_model`]): for channel
//! c and a multiplier m on its activity in every region-week of the history,
//!
//! ```text
//! direct_c(m) = Σ_{r,t} k_{c,r,t} · s_c(m · a_{c,r,t})        a = adstock(x̃), k = β_c·exp(η_{r,c})·m_c[r,t]·ȳ_r
//! total_c(m)  = Σ_{r,t} ŷ_{r,t}(x̃_c ← m·x̃_c, propagated along the DAG) − ŷ_{r,t}(x̃_c ← 0, propagated)
//! spend_c(m)  = m · Σ_{r,t} spend_{c,r,t}
//! ```
//!
//! The direct curve is exact without re-running the model: adstock is linear (adstock(m·x) =
//! m·adstock(x)) and the factor k (coefficient, region multiplier, GRU effectiveness, ȳ_r) does not
//! depend on the channel's own activity because the GRU does not read media. The total curve uses
//! the same identity for every channel the intervention changes (c and its DAG descendants),
//! `Σ_j Σ_{r,t} k_{j,r,t} · [s_j(adstock_j(x̃'_j)) − s_j(a_j)]` with k_{j,r,t} = β_j · exp(η_{r,j}) ·
//! m_j[r,t] · ȳ_r, so no point needs a model run (tested against
//! [`FittedModel::total_contributions`], which runs the model). For channels without downstream
//! edges the total curve equals the direct curve.

use crate::{Error, Result};
use mmm_data::Panel;
use mmm_fitted::FittedModel;
use ndarray::{Array2, Array3, Axis};
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

    /// Curves computed from the fitted model over the history `panel` at the activity
    /// `multipliers` (see the module docs).
    pub fn from_model(fitted: &FittedModel, panel: &Panel, multipliers: &[f64]) -> Result<Self> {
        let model = fitted.model()?;
        let inputs = fitted.inputs_for(panel)?;
        let adstocked = mmm_model::causal::adstock_all(&model, &fitted.params, &inputs);
        // k_{c,r,t} = β_c · exp(η_{r,c}) · m_c[r,t] · ȳ_r: the factor of s_c in the channel's
        // contribution (target units); independent of media because the GRU reads none.
        let tape = model.forward(&fitted.params, &inputs);
        let effectiveness = model.effectiveness(&tape);
        let beta = model.media_coefficients(&fitted.params);
        let layout_k = model.layout();
        let k = ndarray::Array3::from_shape_fn(effectiveness.dim(), |(c, r, t)| {
            beta[c]
                * fitted.params[layout_k.eta_at(r, c)].exp()
                * effectiveness[[c, r, t]]
                * fitted.target_scaler.means[r]
        });
        let layout = model.layout();
        let spend_data = panel.spend_or_media();
        let n_c = inputs.n_channels();
        let mut channels = Vec::with_capacity(n_c);
        for c in 0..n_c {
            let sat = model.saturation(c);
            let sp = &fitted.params[layout.saturation_of(c)];
            let a = adstocked.index_axis(Axis(0), c);
            let kc = k.index_axis(Axis(0), c);
            let direct: Vec<f64> = multipliers
                .iter()
                .map(|&m| {
                    a.iter()
                        .zip(kc.iter())
                        .map(|(&av, &kv)| kv * sat.eval(sp, m * av))
                        .sum()
                })
                .collect();
            let has_children = fitted.dag.weights[c].iter().any(|&w| w != 0.0);
            let total = if has_children {
                let own = inputs.media.index_axis(Axis(0), c).to_owned();
                let scenario = |activity: &Array2<f64>| {
                    fitted.dag.intervene(
                        &model,
                        &fitted.params,
                        &inputs.media,
                        &adstocked,
                        c,
                        activity.view(),
                    )
                };
                let media_sum = |media: &Array3<f64>| -> f64 {
                    let mut sum = 0.0;
                    for j in 0..n_c {
                        let xj = media.index_axis(Axis(0), j);
                        if xj == inputs.media.index_axis(Axis(0), j) {
                            continue; // unchanged: no change of its contribution
                        }
                        let mut aj = Array2::zeros(xj.dim());
                        model.adstock(j).forward(
                            &fitted.params[layout.adstock_of(j)],
                            xj,
                            aj.view_mut(),
                        );
                        let satj = model.saturation(j);
                        let spj = &fitted.params[layout.saturation_of(j)];
                        let old = adstocked.index_axis(Axis(0), j);
                        let kj = k.index_axis(Axis(0), j);
                        for ((&a_new, &a_old), &kv) in aj.iter().zip(old.iter()).zip(kj.iter()) {
                            // Change of channel j's contribution from the actual history.
                            sum += kv * (satj.eval(spj, a_new) - satj.eval(spj, a_old));
                        }
                    }
                    sum
                };
                let zero = media_sum(&scenario(&Array2::zeros(own.dim())));
                multipliers
                    .iter()
                    .map(|&m| media_sum(&scenario(&(&own * m))) - zero)
                    .collect()
            } else {
                direct.clone()
            };
            let current_spend = spend_data.index_axis(Axis(2), c).sum();
            channels.push(ChannelCurve {
                spend: multipliers.iter().map(|m| m * current_spend).collect(),
                direct,
                total,
                current_spend,
                band: None,
            });
        }
        Ok(ResponseCurves {
            channels,
            source: format!(
                "computed from the fitted model: each channel's activity scaled by m in {{{}}} in every region-week",
                multipliers
                    .iter()
                    .map(|m| format!("{m}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        })
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

/// The default multipliers of [`ResponseCurves::from_model`]: 0, 0.25, …, 3.
pub fn default_multipliers() -> Vec<f64> {
    (0..=12).map(|i| f64::from(i) * 0.25).collect()
}
