//! Scenarios: the knobs of the data-generating process, read from TOML.
//!
//! A scenario fixes the panel's shape (regions × weeks × channels × controls) and the difficulty
//! knobs (media share of sales, confounding, DAG edges, zero-effect channels, absent channels, late
//! starts, noise). Everything else (region sizes, flighting, adstock and Hill parameters, effects) is
//! drawn from the seed, so `(scenario, seed)` determines the simulation bit for bit.
//!
//! Named scenarios ship as TOML files in `crates/mmm-sim/scenarios/` (see [`SCENARIO_NAMES`]);
//! every key except the shape has a default, so a user's own file can be as short as
//!
//! ```toml
//! name = "mine"
//! regions = 20
//! weeks = 104
//! channels = 6
//! controls = 3
//! ```

use crate::{Error, Result};
use serde::{Deserialize, Serialize};

/// Names of the built-in scenarios, in rising difficulty.
pub const SCENARIO_NAMES: [&str; 4] = ["national", "geo", "paper", "large"];

const NATIONAL: &str = include_str!("../scenarios/national.toml");
const GEO: &str = include_str!("../scenarios/geo.toml");
const PAPER: &str = include_str!("../scenarios/paper.toml");
const LARGE: &str = include_str!("../scenarios/large.toml");

/// Observation-noise distribution.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum NoiseKind {
    /// Gaussian noise.
    #[default]
    Gaussian,
    /// Student-t noise with `df` degrees of freedom, rescaled to unit variance.
    StudentT,
}

/// Observation noise: `noise[r,t] = sd · level_r · ε[r,t]` (+ rare outliers), see `docs/simulator.md`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NoiseSpec {
    /// Distribution of `ε`.
    pub kind: NoiseKind,
    /// Standard deviation relative to the region's baseline level (0.03 = 3 % of baseline sales).
    pub sd: f64,
    /// Degrees of freedom of the Student-t (must exceed 2 so the variance exists).
    pub df: f64,
    /// Probability that a region-week gets an additional outlier shock.
    pub outlier_prob: f64,
    /// Outlier size in units of `sd · level_r` (the shock is `± U(1, 2) · outlier_scale`).
    pub outlier_scale: f64,
}

impl Default for NoiseSpec {
    fn default() -> Self {
        NoiseSpec {
            kind: NoiseKind::Gaussian,
            sd: 0.03,
            df: 4.0,
            outlier_prob: 0.0,
            outlier_scale: 5.0,
        }
    }
}

/// A simulation scenario (TOML-serialisable); see the [module docs](self) and `docs/simulator.md`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Scenario name (written into the truth).
    pub name: String,
    /// Number of regions `R` (1 = a national panel without a region column).
    pub regions: usize,
    /// Number of weeks `T`.
    pub weeks: usize,
    /// Number of channels `C`.
    pub channels: usize,
    /// Number of controls `K`.
    pub controls: usize,
    /// First week (a Monday, ISO `YYYY-MM-DD`).
    #[serde(default = "default_start")]
    pub start_date: String,
    /// Fraction of expected sales (over observed region-weeks) explained by media, in `[0, 0.9]`.
    #[serde(default = "default_media_share")]
    pub media_share: f64,
    /// Strength in `[0, 1]` with which planned spend follows demand seasonality (confounding).
    #[serde(default)]
    pub confounding: f64,
    /// Number of channel-to-channel causal edges of the true activity DAG.
    #[serde(default)]
    pub dag_edges: usize,
    /// Number of channels with zero true effect.
    #[serde(default)]
    pub zero_effect_channels: usize,
    /// Probability that a (region, channel) pair has no activity at all (never for region 0).
    #[serde(default)]
    pub absent_fraction: f64,
    /// Report the digital channels (social, display, video, ...) as impressions with a separate
    /// `<channel>_spend` column.
    #[serde(default)]
    pub impressions: bool,
    /// Fraction of regions (never region 0) that start late.
    #[serde(default)]
    pub late_start_fraction: f64,
    /// Maximum number of missing leading weeks of a late region (`< weeks`).
    #[serde(default)]
    pub max_late_weeks: usize,
    /// Log-sd of region sizes (log-normal).
    #[serde(default = "default_size_sigma")]
    pub region_size_sigma: f64,
    /// Log-sd of the region-specific effect multipliers `ρ[r,c]`.
    #[serde(default = "default_rho_sigma")]
    pub rho_sigma: f64,
    /// Mean yearly seasonality amplitude relative to the baseline level.
    #[serde(default = "default_seasonality")]
    pub seasonality: f64,
    /// Mean trend, as a fraction of the baseline level per year.
    #[serde(default = "default_trend")]
    pub trend: f64,
    /// The saturation family of the true curves, by its name in the transform registry
    /// (`mmm_transforms::TransformRegistry`; `crate::simulate_with` for user transforms). It must
    /// have a half-saturation parametrisation (`Saturation::params_at_half`).
    #[serde(
        default = "default_saturation",
        skip_serializing_if = "is_default_saturation"
    )]
    pub saturation: String,
    /// Observation noise.
    #[serde(default)]
    pub noise: NoiseSpec,
}

fn default_saturation() -> String {
    mmm_transforms::Hill::NAME.to_string()
}

fn is_default_saturation(name: &str) -> bool {
    name == mmm_transforms::Hill::NAME
}

fn default_start() -> String {
    "2022-01-03".to_string()
}
fn default_media_share() -> f64 {
    0.25
}
fn default_size_sigma() -> f64 {
    0.7
}
fn default_rho_sigma() -> f64 {
    0.25
}
fn default_seasonality() -> f64 {
    0.12
}
fn default_trend() -> f64 {
    0.03
}

impl Scenario {
    /// A built-in scenario by name (one of [`SCENARIO_NAMES`]).
    ///
    /// # Errors
    /// [`Error::UnknownScenario`] for other names.
    pub fn named(name: &str) -> Result<Scenario> {
        let text = match name {
            "national" => NATIONAL,
            "geo" => GEO,
            "paper" => PAPER,
            "large" => LARGE,
            other => return Err(Error::UnknownScenario(other.to_string())),
        };
        Scenario::from_toml(text)
    }

    /// Parses and validates a scenario from TOML text.
    ///
    /// # Errors
    /// [`Error::Toml`] for malformed TOML or unknown keys, [`Error::InvalidScenario`] for values
    /// out of range.
    pub fn from_toml(text: &str) -> Result<Scenario> {
        let s: Scenario = toml::from_str(text).map_err(|e| Error::Toml(e.to_string()))?;
        s.validate()?;
        Ok(s)
    }

    /// Serialises the scenario to TOML.
    pub fn to_toml(&self) -> String {
        toml::to_string(self).expect("a scenario always serialises to TOML")
    }

    /// The first week as days since 1970-01-01.
    ///
    /// # Errors
    /// [`Error::InvalidScenario`] if `start_date` is not an ISO date of a Monday.
    pub fn start_day(&self) -> Result<i64> {
        match mmm_data::parse_week(&self.start_date) {
            Some(mmm_data::Week::Date(d)) if (d + 3).rem_euclid(7) == 0 => Ok(d),
            Some(mmm_data::Week::Date(_)) => Err(invalid(format!(
                "start_date `{}` is not a Monday",
                self.start_date
            ))),
            _ => Err(invalid(format!(
                "start_date `{}` is not an ISO date YYYY-MM-DD",
                self.start_date
            ))),
        }
    }

    /// Checks every value; [`crate::simulate`] calls this too.
    ///
    /// # Errors
    /// [`Error::InvalidScenario`] naming the offending key.
    pub fn validate(&self) -> Result<()> {
        if self.regions == 0 || self.weeks == 0 || self.channels == 0 {
            return Err(invalid(
                "regions, weeks and channels must be at least 1".into(),
            ));
        }
        self.start_day()?;
        let unit = |name: &str, v: f64, hi: f64| {
            if v.is_finite() && (0.0..=hi).contains(&v) {
                Ok(())
            } else {
                Err(invalid(format!("{name} = {v} must lie in [0, {hi}]")))
            }
        };
        unit("media_share", self.media_share, 0.9)?;
        unit("confounding", self.confounding, 1.0)?;
        unit("absent_fraction", self.absent_fraction, 0.9)?;
        unit("late_start_fraction", self.late_start_fraction, 1.0)?;
        unit("region_size_sigma", self.region_size_sigma, 3.0)?;
        unit("rho_sigma", self.rho_sigma, 2.0)?;
        unit("seasonality", self.seasonality, 0.5)?;
        unit("trend", self.trend.abs(), 0.5)?;
        unit("noise.sd", self.noise.sd, 1.0)?;
        unit("noise.outlier_prob", self.noise.outlier_prob, 1.0)?;
        unit("noise.outlier_scale", self.noise.outlier_scale, 100.0)?;
        if self.noise.kind == NoiseKind::StudentT
            && !(self.noise.df > 2.0 && self.noise.df.is_finite())
        {
            return Err(invalid(format!(
                "noise.df = {} must exceed 2",
                self.noise.df
            )));
        }
        if self.zero_effect_channels >= self.channels {
            return Err(invalid(format!(
                "zero_effect_channels = {} must be below channels = {}",
                self.zero_effect_channels, self.channels
            )));
        }
        let max_edges = self.channels * (self.channels - 1) / 2;
        if self.dag_edges > max_edges {
            return Err(invalid(format!(
                "dag_edges = {} exceeds C(C-1)/2 = {max_edges}",
                self.dag_edges
            )));
        }
        if self.late_start_fraction > 0.0 && self.max_late_weeks >= self.weeks {
            return Err(invalid(format!(
                "max_late_weeks = {} must be below weeks = {}",
                self.max_late_weeks, self.weeks
            )));
        }
        Ok(())
    }
}

fn invalid(msg: String) -> Error {
    Error::InvalidScenario(msg)
}
