//! The interpretable blocks of a parameter vector by name: what a consumer of a fit (a
//! posterior, an analysis, a test) reads and writes without knowing where [`Layout`] keeps them.
//!
//! A parameter vector is one flat buffer so that one optimiser updates it all; its block offsets
//! are the model's business. [`Model::structural`] copies the structural terms of the outcome
//! equation (docs/model.md, *Outcome equation*) out of it, on their natural scales where the
//! model constrains them (β_c ≥ 0 rather than its softplus pre-image), and
//! [`Model::set_structural`] writes them back; [`Model::neutral_modulation`] switches off the
//! GRU's modulation heads, so that a vector's prediction is its structural terms alone.

use crate::Layout;
use crate::model::Model;
use mmm_transforms::param::{softplus, softplus_inv};
use ndarray::Array2;

/// The structural terms of the outcome equation of one parameter vector.
///
/// Transform parameters stay on each transform's own unconstrained scale (as
/// `Adstock::forward` and `Saturation::forward` take them); the media coefficients are β_c
/// itself. Everything else is as the outcome equation uses it.
#[derive(Debug, Clone, PartialEq)]
pub struct Structural {
    /// Adstock parameters per channel.
    pub adstock: Vec<Vec<f64>>,
    /// Saturation parameters per channel.
    pub saturation: Vec<Vec<f64>>,
    /// Media coefficients β_c ≥ 0 per channel.
    pub beta: Vec<f64>,
    /// Log region-effect multipliers η_{r,c}, `[region, channel]`.
    pub eta: Array2<f64>,
    /// Region baselines b_r.
    pub base: Vec<f64>,
    /// Shared trend δ.
    pub trend: f64,
    /// Region trend deviations Δδ_r.
    pub region_trend: Vec<f64>,
    /// Shared seasonal weights φ_f.
    pub season: Vec<f64>,
    /// Region seasonal deviations Δφ_{r,f}, `[region, f]`.
    pub region_season: Array2<f64>,
    /// Control coefficients γ_k.
    pub gamma: Vec<f64>,
}

impl Model {
    /// The structural terms of the parameters `p`.
    ///
    /// # Panics
    /// When `p` is not [`Model::n_params`] long (a programming error: vectors come from this
    /// model's `init_params` or a validated model file).
    pub fn structural(&self, p: &[f64]) -> Structural {
        let l = self.layout();
        check_len(l, p.len());
        Structural {
            adstock: (0..l.channels)
                .map(|c| p[l.adstock_of(c)].to_vec())
                .collect(),
            saturation: (0..l.channels)
                .map(|c| p[l.saturation_of(c)].to_vec())
                .collect(),
            beta: p[l.beta.clone()].iter().map(|&v| softplus(v)).collect(),
            eta: Array2::from_shape_fn((l.regions, l.channels), |(r, c)| p[l.eta_at(r, c)]),
            base: p[l.base.clone()].to_vec(),
            trend: p[l.trend.start],
            region_trend: p[l.region_trend.clone()].to_vec(),
            season: p[l.season.clone()].to_vec(),
            region_season: Array2::from_shape_fn((l.regions, l.fourier), |(r, f)| {
                p[l.region_season_at(r, f)]
            }),
            gamma: p[l.gamma.clone()].to_vec(),
        }
    }

    /// Writes the structural terms `s` into the parameters `p`, leaving the GRU and its heads as
    /// they are. β_c is stored through its softplus pre-image, so a β_c below the smallest
    /// positive normal float is stored as that float.
    ///
    /// # Panics
    /// When `p` is not [`Model::n_params`] long or a block of `s` does not have this model's
    /// number of channels, regions, Fourier features, controls or transform parameters (a
    /// programming error: `s` comes from [`Model::structural`] of the same model).
    pub fn set_structural(&self, p: &mut [f64], s: &Structural) {
        let l = self.layout();
        check_len(l, p.len());
        assert!(
            s.adstock.len() == l.channels
                && s.saturation.len() == l.channels
                && s.beta.len() == l.channels
                && s.eta.dim() == (l.regions, l.channels)
                && s.base.len() == l.regions
                && s.region_trend.len() == l.regions
                && s.season.len() == l.fourier
                && s.region_season.dim() == (l.regions, l.fourier)
                && s.gamma.len() == l.controls,
            "structural terms do not match the model's shape"
        );
        for c in 0..l.channels {
            p[l.adstock_of(c)].copy_from_slice(&s.adstock[c]);
            p[l.saturation_of(c)].copy_from_slice(&s.saturation[c]);
            p[l.beta.start + c] = softplus_inv(s.beta[c].max(f64::MIN_POSITIVE));
        }
        for ((r, c), &v) in s.eta.indexed_iter() {
            p[l.eta_at(r, c)] = v;
        }
        p[l.base.clone()].copy_from_slice(&s.base);
        p[l.trend.start] = s.trend;
        p[l.region_trend.clone()].copy_from_slice(&s.region_trend);
        p[l.season.clone()].copy_from_slice(&s.season);
        for ((r, f), &v) in s.region_season.indexed_iter() {
            p[l.region_season_at(r, f)] = v;
        }
        p[l.gamma.clone()].copy_from_slice(&s.gamma);
    }

    /// Switches off the GRU's modulation in `p`: the effectiveness head always (m_c = 1), and the
    /// baseline head (g = 0) unless `keep_baseline`. The GRU weights stay; with both heads off
    /// they no longer reach the prediction.
    ///
    /// # Panics
    /// When `p` is not [`Model::n_params`] long.
    pub fn neutral_modulation(&self, p: &mut [f64], keep_baseline: bool) {
        let l = self.layout();
        check_len(l, p.len());
        p[l.effect_head.clone()].fill(0.0);
        p[l.effect_bias.clone()].fill(0.0);
        if !keep_baseline {
            p[l.base_head.clone()].fill(0.0);
            p[l.base_bias.clone()].fill(0.0);
        }
    }
}

fn check_len(l: &Layout, len: usize) {
    assert_eq!(
        len, l.len,
        "a parameter vector of {len} values for a model of {} parameters",
        l.len
    );
}
