//! The ground truth of a simulation, as written to `truth.json`.
//!
//! Every number here is computed exactly from the known data-generating process (see
//! `docs/simulator.md`); only the marginal ROIs use a central difference (step `h = 10⁻³` in the
//! spend multiplier) of the exact response.
//!
//! Horizons: "panel" sums run over the observed region-weeks (what a fitted model's decomposition
//! covers); "with tail" sums also count the `MAX_LAG − 1` zero-spend weeks after the panel, which hold
//! the carryover of the last weeks' spend. Response curves always use the horizon with tail.

use serde::{Deserialize, Serialize};

/// Ground truth of one simulation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Truth {
    /// Scenario name.
    pub scenario: String,
    /// The seed.
    pub seed: u64,
    /// Region names (`["national"]` for a national panel).
    pub regions: Vec<String>,
    /// Channel names in column order.
    pub channels: Vec<String>,
    /// Control names in column order.
    pub controls: Vec<String>,
    /// Number of panel weeks.
    pub n_weeks: usize,
    /// Zero-spend weeks appended for carryover (`MAX_LAG − 1`).
    pub tail_weeks: usize,
    /// Σ sales over observed region-weeks.
    pub sales_total: f64,
    /// Σ of all direct media contributions over observed region-weeks.
    pub media_total: f64,
    /// `media_total / Σ expected sales` (expected = without noise) over observed region-weeks.
    pub media_share_of_sales: f64,
    /// Per-channel truth, in channel order.
    pub channel_truth: Vec<ChannelTruth>,
    /// The true channel DAG on activity.
    pub dag: TrueDag,
    /// True response curves.
    pub curves: ResponseCurves,
    /// All true parameters.
    pub params: TrueParams,
}

impl Truth {
    /// The truth of channel `name`, if it exists.
    pub fn channel(&self, name: &str) -> Option<&ChannelTruth> {
        self.channel_truth.iter().find(|c| c.name == name)
    }
}

/// Attribution truth of one channel.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChannelTruth {
    /// Channel name.
    pub name: String,
    /// Realised spend over observed region-weeks (the sum of the CSV's spend column).
    pub spend: f64,
    /// Planned spend over observed region-weeks (what a spend multiplier scales).
    pub planned_spend: f64,
    /// Direct contribution `Σ contribution_c` over observed region-weeks.
    pub contribution: f64,
    /// Direct contribution including the carryover tail.
    pub contribution_with_tail: f64,
    /// Total contribution over observed region-weeks: the drop of Σ media contributions when the
    /// channel's planned spend is set to 0 (direct + mediated through the DAG).
    pub total_contribution: f64,
    /// Total contribution including the carryover tail.
    pub total_contribution_with_tail: f64,
    /// `contribution / spend`.
    pub roi: f64,
    /// `total_contribution / spend`.
    pub roi_total: f64,
    /// Marginal direct ROI at actual spend: `d(direct response)/dm at m = 1 / planned_spend`
    /// (horizon with tail).
    pub mroi: f64,
    /// Marginal total ROI at actual spend (through the DAG), per unit of planned spend.
    pub mroi_total: f64,
    /// `contribution / Σ_c contribution_c`.
    pub share: f64,
    /// Whether the channel has zero true effect (`β = 0`).
    pub zero_effect: bool,
    /// Whether the media column holds impressions (with a `<channel>_spend` column).
    pub impressions: bool,
}

/// The true DAG on channel activity.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrueDag {
    /// `adjacency[i][j]` = weight of the edge `i → j` (0 = no edge); dimensionless, on per-capita
    /// activity.
    pub adjacency: Vec<Vec<f64>>,
    /// The edges.
    pub edges: Vec<Edge>,
    /// Channels in a topological order.
    pub topological_order: Vec<String>,
}

/// One DAG edge `from → to`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Edge {
    /// Parent channel.
    pub from: String,
    /// Child channel.
    pub to: String,
    /// Weight `W_ij`.
    pub weight: f64,
}

/// True response curves over spend multipliers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ResponseCurves {
    /// Multipliers `0, 0.1, …, 3.0`.
    pub multipliers: Vec<f64>,
    /// One curve per channel, in channel order.
    pub channels: Vec<ChannelCurve>,
}

/// The true response curve of one channel.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChannelCurve {
    /// Channel name.
    pub name: String,
    /// Planned spend over observed region-weeks at each multiplier (`m · planned_spend`).
    pub spend: Vec<f64>,
    /// Direct contribution (with tail) at each multiplier, minus its value at `m = 0`.
    pub direct: Vec<f64>,
    /// Σ of all channels' contributions (with tail) at each multiplier, minus its value at `m = 0`.
    pub total: Vec<f64>,
}

/// All true parameters.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrueParams {
    /// Region sizes `s_r`.
    pub region_size: Vec<f64>,
    /// Baseline levels `L_r` (sales per week).
    pub baseline_level: Vec<f64>,
    /// Trend `g_r` (fraction of `L_r` per year).
    pub trend_per_year: Vec<f64>,
    /// Seasonality amplitude `A_r` (fraction of `L_r`).
    pub season_amplitude: Vec<f64>,
    /// Seasonality phase shift `φ_r` (fraction of a year).
    pub season_phase: Vec<f64>,
    /// First observed week (0-based) of each region.
    pub region_start: Vec<usize>,
    /// Controls and their effects.
    pub controls: Vec<ControlParams>,
    /// Channel parameters.
    pub channels: Vec<ChannelParams>,
    /// Relative noise sd.
    pub noise_sd: f64,
}

/// A control's known effect: `effect[r,t] = L_r · gamma · (g(value) − g(center))`, `g` = identity or
/// `ln`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ControlParams {
    /// Control name.
    pub name: String,
    /// `"linear"` or `"log"`.
    pub transform: String,
    /// Reference value with zero effect.
    pub center: f64,
    /// Effect coefficient (for price with `"log"`, the elasticity).
    pub gamma: f64,
}

/// The true adstock of a channel (natural parameters; `max_lag` = 13 for all).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TrueAdstock {
    /// Truncated geometric, normalised: `w_l ∝ decayˡ`, `l < max_lag`.
    Geometric {
        /// Decay `α`.
        decay: f64,
        /// Number of lags.
        max_lag: usize,
    },
    /// Delayed (Jin et al. 2017): `w_l ∝ decay^{(l − delay)²}`, normalised.
    Delayed {
        /// Decay `α`.
        decay: f64,
        /// Peak delay `θ` (weeks).
        delay: f64,
        /// Number of lags.
        max_lag: usize,
    },
    /// Weibull PDF on `l + 1`, normalised.
    Weibull {
        /// Shape `k`.
        shape: f64,
        /// Scale `λ` (weeks).
        scale: f64,
        /// Number of lags.
        max_lag: usize,
    },
}

/// True parameters of a channel.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChannelParams {
    /// Channel name.
    pub name: String,
    /// Flighting pattern of planned spend.
    pub flighting: String,
    /// Adstock.
    pub adstock: TrueAdstock,
    /// The adstock's lag weights `w_0..w_{max_lag−1}`.
    pub lag_weights: Vec<f64>,
    /// The saturation family (`Scenario::saturation`; absent in the file when Hill).
    #[serde(default = "hill", skip_serializing_if = "is_hill")]
    pub saturation: String,
    /// Half-saturation `K` (per-capita adstocked activity): Hill's `K`, or for another family
    /// the activity at which its curve reaches half its maximum.
    pub hill_half_saturation: f64,
    /// Hill slope `S` (the slope given to another family's `params_at_half`).
    pub hill_slope: f64,
    /// Effect size `β_c` (sales per unit region size per week at full saturation).
    pub beta: f64,
    /// Channel scale `m_c` (activity units per unit region size per week).
    pub scale: f64,
    /// Activity units per unit of spend at the reference cost (`1` for spend channels, impressions
    /// per currency unit for impression channels).
    pub activity_per_spend: f64,
    /// Region effect multipliers `ρ[r,c]`.
    pub rho: Vec<f64>,
    /// Whether the channel is present in each region.
    pub present: Vec<bool>,
}

fn hill() -> String {
    mmm_transforms::Hill::NAME.to_string()
}

fn is_hill(name: &str) -> bool {
    name == mmm_transforms::Hill::NAME
}
