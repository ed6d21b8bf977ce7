//! Prior and likelihood settings with their log densities on the unconstrained scale
//! (docs/model.md, "Posterior", where the defaults and their reasons are stated).
//!
//! Every helper returns `(log density, derivative)` with respect to the unconstrained value,
//! the log-Jacobian of the constraining map included.

use crate::{Error, Result};
use mmm_transforms::param::{log_sigmoid, sigmoid, softplus};
use serde::{Deserialize, Serialize};

/// Prior settings. Scales are in units of the scaled target ỹ = y/ȳ_r (mean 1 per region) unless
/// said otherwise; `(median, sd)` pairs are log-normal priors (sd of the log).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Priors {
    /// `(m, s)`: each channel's contribution over the training weeks as a fraction f_c of the
    /// training target, log f_c ~ Normal(log(m / C) − s²/2, s) with C channels — a priori the
    /// media together explain m of the target on average (E f_c = m / C), each channel within a
    /// factor e^{1.645 s} of its prior median either way with 90 % probability. A channel's user
    /// prior ([`ChannelPrior`]) replaces it.
    pub media_contribution: (f64, f64),
    /// ρ ∈ [0, 1): the share of the prior variance of log f_c common to every channel under the
    /// default prior — channels' effects correlated a priori (media strong or weak together),
    /// log f ~ MVN(μ, s²((1 − ρ) I + ρ 1 1ᵀ)); each channel's marginal prior stays the one of
    /// `media_contribution`. 0: independent.
    pub media_pooling: f64,
    /// w ∈ [0, 1]: how far each channel's prior mean follows its spend share, E f_c =
    /// m ((1 − w) / C + w · spend_c / Σ spend); 1 is an equal ROI for every channel a priori
    /// (Meridian's default), 0 an equal contribution.
    pub media_spend_weight: f64,
    /// K_c ~ LogNormal(log(multiple · mean positive activity of c), sd): `(multiple, sd)`.
    pub half_saturation: (f64, f64),
    /// Hill slope ~ LogNormal(log median, sd): `(median, sd)`.
    pub hill_slope: (f64, f64),
    /// Weibull shape k ~ LogNormal: `(median, sd)`.
    pub weibull_shape: (f64, f64),
    /// Weibull scale λ (weeks) ~ LogNormal: `(median, sd)`.
    pub weibull_scale: (f64, f64),
    /// Geometric decay α ~ Beta(a, b): `(a, b)`.
    pub geometric_decay: (f64, f64),
    /// τ_c ~ HalfNormal(region_scale): spread of log region multipliers η_{r,c} = τ_c ε_{r,c}.
    pub region_scale: f64,
    /// Region intercepts b_r ~ Normal(mean, sd): `(mean, sd)`.
    pub base: (f64, f64),
    /// Shared trend δ ~ Normal(0, trend_scale) per year.
    pub trend_scale: f64,
    /// Region trend deviations Δδ_r ~ Normal(0, region_trend_scale) per year.
    pub region_trend_scale: f64,
    /// Fourier coefficients φ_f ~ Normal(0, season_scale).
    pub season_scale: f64,
    /// Control coefficients γ_k ~ Normal(0, control_scale) (controls robustly standardised).
    pub control_scale: f64,
    /// Noise σ ~ HalfNormal(sigma_scale).
    pub sigma_scale: f64,
}

impl Default for Priors {
    fn default() -> Self {
        Priors {
            media_contribution: (0.3, 0.5),
            media_pooling: 0.0,
            media_spend_weight: 0.0,
            half_saturation: (1.0, 1.0),
            hill_slope: (1.0, 0.5),
            weibull_shape: (1.67, 0.53),
            weibull_scale: (1.66, 0.73),
            geometric_decay: (1.0, 3.0),
            region_scale: 0.3,
            base: (1.0, 1.0),
            trend_scale: 0.5,
            region_trend_scale: 0.2,
            season_scale: 0.5,
            control_scale: 0.5,
            sigma_scale: 0.5,
        }
    }
}

impl Priors {
    /// Errors unless every scale and median is finite and positive.
    pub fn validate(&self) -> Result<()> {
        let positive = [
            ("media_contribution share", self.media_contribution.0),
            ("media_contribution sd", self.media_contribution.1),
            ("half_saturation multiple", self.half_saturation.0),
            ("half_saturation sd", self.half_saturation.1),
            ("hill_slope median", self.hill_slope.0),
            ("hill_slope sd", self.hill_slope.1),
            ("weibull_shape median", self.weibull_shape.0),
            ("weibull_shape sd", self.weibull_shape.1),
            ("weibull_scale median", self.weibull_scale.0),
            ("weibull_scale sd", self.weibull_scale.1),
            ("geometric_decay a", self.geometric_decay.0),
            ("geometric_decay b", self.geometric_decay.1),
            ("region_scale", self.region_scale),
            ("base sd", self.base.1),
            ("trend_scale", self.trend_scale),
            ("region_trend_scale", self.region_trend_scale),
            ("season_scale", self.season_scale),
            ("control_scale", self.control_scale),
            ("sigma_scale", self.sigma_scale),
        ];
        for (name, v) in positive {
            if !(v.is_finite() && v > 0.0) {
                return Err(Error::Prior(format!(
                    "{name} must be finite and > 0, got {v}"
                )));
            }
        }
        if !(0.0..1.0).contains(&self.media_pooling) {
            return Err(Error::Prior(format!(
                "media_pooling must lie in [0, 1), got {}",
                self.media_pooling
            )));
        }
        if !(0.0..=1.0).contains(&self.media_spend_weight) {
            return Err(Error::Prior(format!(
                "media_spend_weight must lie in [0, 1], got {}",
                self.media_spend_weight
            )));
        }
        if !self.base.0.is_finite() {
            return Err(Error::Prior(format!(
                "base mean must be finite, got {}",
                self.base.0
            )));
        }
        Ok(())
    }
}

/// A mean and standard deviation on the natural scale (matched by a log-normal).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MeanSd {
    /// Mean (> 0).
    pub mean: f64,
    /// Standard deviation (> 0).
    pub sd: f64,
}

/// A user's prior on one channel (`[[inference.channel_prior]]` in fit.toml, docs/model.md
/// "Posterior"): on its ROI over the training weeks (contribution per unit of spend) or on its
/// contribution as a fraction of the training target; exactly one of the two. It replaces the
/// default prior ([`Priors::media_contribution`]) of that channel by a log-normal with the given
/// mean and sd.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChannelPrior {
    /// The channel (its column name).
    pub channel: String,
    /// Prior mean and sd of the channel's ROI over the training weeks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub roi: Option<MeanSd>,
    /// Prior mean and sd of the channel's contribution over the training weeks as a fraction of
    /// the training target.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contribution: Option<MeanSd>,
}

/// The noise distribution of the likelihood.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case", tag = "kind")]
#[non_exhaustive]
pub enum Likelihood {
    /// ε ~ Normal(0, σ).
    #[default]
    Normal,
    /// ε ~ Student-t(ν, 0, σ): heavier tails, robust to outlying weeks.
    StudentT {
        /// Degrees of freedom ν > 0.
        nu: f64,
    },
}

impl Likelihood {
    /// Errors unless ν is finite and positive.
    pub fn validate(&self) -> Result<()> {
        match *self {
            Likelihood::StudentT { nu } if !(nu.is_finite() && nu > 0.0) => Err(Error::Prior(
                format!("student-t degrees of freedom must be finite and > 0, got {nu}"),
            )),
            _ => Ok(()),
        }
    }

    /// Log density of a residual `e` with scale `sigma = e^{log_sigma}` (constants dropped),
    /// with its derivatives with respect to `e` and `log_sigma`.
    pub fn logp(&self, e: f64, sigma: f64, log_sigma: f64) -> (f64, f64, f64) {
        match *self {
            Likelihood::Normal => {
                let z = e / sigma;
                (-0.5 * z * z - log_sigma, -z / sigma, z * z - 1.0)
            }
            Likelihood::StudentT { nu } => {
                let q = nu * sigma * sigma + e * e;
                let w = (1.0 + e * e / (nu * sigma * sigma)).ln();
                (
                    -0.5 * (nu + 1.0) * w - log_sigma,
                    -(nu + 1.0) * e / q,
                    (nu + 1.0) * e * e / q - 1.0,
                )
            }
        }
    }
}

/// Normal(mean, sd) log density (constants dropped) and its derivative.
pub fn normal_logp(x: f64, mean: f64, sd: f64) -> (f64, f64) {
    let z = (x - mean) / sd;
    (-0.5 * z * z, -z / sd)
}

/// A log-normal(mu, sd) prior on `p = softplus(u)`, as a density of `u` (Jacobian
/// dp/du = σ(u) included): value and derivative.
pub fn lognormal_softplus(u: f64, mu: f64, sd: f64) -> (f64, f64) {
    let p = softplus(u);
    let lp = p.ln();
    let z = (lp - mu) / sd;
    let value = -lp - 0.5 * z * z + log_sigmoid(u);
    // d/dp[−log p − z²/2] = −(1 + z/sd)/p; times dp/du = σ(u); plus d log σ(u)/du = σ(−u).
    let deriv = -(1.0 + z / sd) / p * sigmoid(u) + sigmoid(-u);
    (value, deriv)
}

/// A Beta(a, b) prior on `α = σ(u)`, as a density of `u` (Jacobian α(1−α) included):
/// `a log σ(u) + b log σ(−u)` and its derivative.
pub fn beta_logp(u: f64, a: f64, b: f64) -> (f64, f64) {
    (
        a * log_sigmoid(u) + b * log_sigmoid(-u),
        a * sigmoid(-u) - b * sigmoid(u),
    )
}
