//! Model hyper-parameters, validated before a model is built (unchecked → checked, as linfa does).

use crate::{Error, Result};
use serde::{Deserialize, Serialize};

/// How regions are weighted in the training loss.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum RegionWeighting {
    /// Every region counts the same (the loss is on y/ȳ_r, so small regions weigh as much as big ones).
    Equal,
    /// Region r is weighted by its size factor ȳ_r / mean(ȳ): the loss then tracks errors in target
    /// units, which is what pooled R² and wMAPE measure.
    #[default]
    Size,
}

/// Where the channels' Weibull lag kernels start before gradient training (other adstocks start
/// at their transform's default parameters).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum KernelStart {
    /// Each channel starts at the kernel a linear screen of the training weeks prefers
    /// (`mmm_linear::KernelScreen::weibull`: k ∈ 0.7…4, λ ∈ 0.5…2.3 weeks; docs/model.md, *Defaults and how they were chosen*).
    /// Training moves a kernel's shape only locally, so the start matters. `fit_panel` screens
    /// only panels with at least `mmm_orchestrator::SCREEN_MIN_REGIONS` regions; smaller ones start
    /// as with [`KernelStart::Geometric`].
    #[default]
    Screen,
    /// Every channel starts at the geometric special case k = 1, e^{−1/λ} = 0.5.
    Geometric,
}

/// How the media part (lag kernels, saturation curves, effect sizes) is fitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum MediaFit {
    /// The default: where the two-stage fit ([`MediaFit::Screen`]) is possible, both it and the
    /// joint fit are trained and the one with the lower loss on the validation slice (inside the
    /// training weeks, never the holdout) is kept; elsewhere the joint fit (docs/model.md, *Defaults and how they were chosen*),
    /// with a note in the fit's warnings when it is the transforms (not Weibull and Hill) that
    /// rule the two-stage fit out.
    #[default]
    Auto,
    /// Two stages: a linear screen of the training weeks (`mmm_linear::MediaScreen`) chooses
    /// every channel's Weibull kernel and Hill curve and estimates its effect β_c ≥ 0 with each
    /// region's level, trend and season partialled out; gradient training then fits the rest of
    /// the model (baseline, GRU baseline modulation, trend, seasonality, controls) around those
    /// fixed media contributions, with region multipliers and effectiveness modulation at 1. On
    /// the simulations its budget recommendations had a fraction of the joint fit's regret
    /// (docs/model.md, *Defaults and how they were chosen*). It needs the Weibull adstock and the Hill saturation (the screen's closed
    /// forms): with other transforms `fit_panel` refuses it with an error. It runs only with at least
    /// `mmm_orchestrator::SCREEN_MIN_REGIONS` regions and a plausible media share (lift tests
    /// enter the screen's regression); otherwise it fits jointly.
    Screen,
    /// Every parameter trained together by gradient descent, the media part starting as
    /// [`KernelStart`] and `initial_media_share` say.
    Joint,
}

/// Regularisation weights. Each penalty is a mean over its block, so a weight means the same thing
/// whatever the panel size.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Penalties {
    /// Shrinkage of the log region-effect multipliers η_{r,c} toward 0 (multiplier 1).
    pub region_effect: f64,
    /// Shrinkage of region trend deviations Δδ_r toward the shared trend.
    pub region_trend: f64,
    /// Shrinkage of region seasonality deviations Δφ_{r,f} toward the shared seasonality.
    pub region_season: f64,
    /// L2 on the shared trend δ (keeps extrapolation modest).
    pub trend: f64,
    /// L2 on GRU weights and the modulation heads.
    pub gru: f64,
    /// L1 on the media coefficients β_c (they are ≥ 0, so this is their mean).
    pub media: f64,
}

impl Default for Penalties {
    fn default() -> Self {
        Penalties {
            region_effect: 0.1,
            // Measured on the reference panel (docs/model.md, "Defaults"): regions need their own
            // recent trend; strong shrinkage toward the shared trend cost 0.01 holdout R².
            region_trend: 0.05,
            region_season: 0.5,
            trend: 0.0,
            gru: 1e-3,
            media: 1e-3,
        }
    }
}

/// Hyper-parameters of the DeepCausalMMM model (see `docs/model.md` for the equations).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ModelConfig {
    /// GRU hidden size.
    pub hidden: usize,
    /// Number of yearly Fourier harmonics J (2J seasonal features).
    pub fourier_harmonics: usize,
    /// Adstock of every channel (shared across regions, learned per channel), by its name in the
    /// transform registry (`mmm_transforms::TransformRegistry`): built in are `"weibull"` (the
    /// default: Weibull-PDF lag weights over 13 weeks, shape k and scale λ — k = 1 is a geometric
    /// decay, k > 1 lets the effect peak weeks after the spend; with the screened start it
    /// recovered the simulations' attribution better than the geometric family, docs/model.md,
    /// *Outcome equation*), `"geometric"` (normalised geometric decay, peaking in the week of the
    /// spend) and `"delayed"`; a user-registered adstock by its name.
    pub adstock: String,
    /// Saturation of every channel, by its name in the transform registry: built in are
    /// `"hill"` (the default) and `"logistic"`; a user-registered saturation by its name. Model
    /// files written before this key existed used Hill.
    pub saturation: String,
    /// Where Weibull lag kernels start (ignored by other adstocks and by a screened media part).
    pub kernel_start: KernelStart,
    /// How the media part is fitted.
    pub media_fit: MediaFit,
    /// Share of the target the media channels together explain at initialisation, split
    /// equally across channels. Attribution is only partly identified by data, so this starting
    /// point acts as a weak prior (docs/model.md, *Defaults and how they were chosen*).
    pub initial_media_share: f64,
    /// Relative weights (channel order, all > 0) by which `initial_media_share` is split across
    /// channels at initialisation; unset = equally. A prior on the split, and what
    /// `dcmmm fit --restarts` varies to show how much of the attribution the data pin down.
    pub initial_media_split: Option<Vec<f64>>,
    /// Bound κ_m of the GRU's effectiveness modulation: multipliers lie in [1 − κ_m, 1 + κ_m].
    pub effect_modulation: f64,
    /// Bound κ_b of the GRU's baseline modulation, in units of the region's mean target (default
    /// 0.03: docs/model.md, *Defaults and how they were chosen*).
    pub baseline_modulation: f64,
    /// Huber loss threshold δ on the scaled target y/ȳ_r.
    pub huber_delta: f64,
    /// Region weights in the loss.
    pub region_weighting: RegionWeighting,
    /// Regularisation weights.
    pub penalties: Penalties,
    /// Multiplier on the likelihood of lift tests (`[[lift_test]]`): 1 weighs an experiment against
    /// the weekly data as if the weekly residuals were independent Gaussian noise; they are not
    /// (they are autocorrelated and the model is approximate), so the default is larger
    /// (docs/model.md, *Defaults and how they were chosen*).
    pub calibration_weight: f64,
}

impl Default for ModelConfig {
    fn default() -> Self {
        ModelConfig {
            hidden: 16,
            fourier_harmonics: 2,
            adstock: mmm_transforms::WeibullAdstock::NAME.to_string(),
            saturation: mmm_transforms::Hill::NAME.to_string(),
            kernel_start: KernelStart::default(),
            media_fit: MediaFit::default(),
            initial_media_share: 0.2,
            initial_media_split: None,
            effect_modulation: 0.3,
            baseline_modulation: 0.03,
            huber_delta: 0.25,
            region_weighting: RegionWeighting::Size,
            penalties: Penalties::default(),
            calibration_weight: 100.0,
        }
    }
}

/// Largest GRU hidden size accepted (bounds the parameter count a `model.json` can ask for).
pub const MAX_HIDDEN: usize = 1024;
/// Most yearly Fourier harmonics accepted: 26 cycles a year is the fastest weekly data resolve.
pub const MAX_FOURIER_HARMONICS: usize = 26;

impl ModelConfig {
    /// The fractions (summing to 1) in which `initial_media_share` is split across `channels`
    /// channels: `initial_media_split` normalised, or equal.
    pub fn initial_media_fractions(&self, channels: usize) -> Vec<f64> {
        match &self.initial_media_split {
            Some(w) => {
                let total: f64 = w.iter().sum();
                w.iter().map(|v| v / total).collect()
            }
            None => vec![1.0 / channels as f64; channels],
        }
    }

    /// Checks every value, naming the first offending key.
    pub fn validate(&self) -> Result<()> {
        let bad = |key: &str, why: &str| Err(Error::Config(format!("`{key}` {why}")));
        if !(1..=MAX_HIDDEN).contains(&self.hidden) {
            return bad("hidden", &format!("must lie in 1..={MAX_HIDDEN}"));
        }
        if self.fourier_harmonics > MAX_FOURIER_HARMONICS {
            return bad(
                "fourier_harmonics",
                &format!(
                    "must be at most {MAX_FOURIER_HARMONICS} (weekly data resolve no faster cycle)"
                ),
            );
        }
        if !(0.0..1.0).contains(&self.effect_modulation) {
            return bad(
                "effect_modulation",
                "must lie in [0, 1) so that effects stay positive",
            );
        }
        if !(self.initial_media_share > 0.0 && self.initial_media_share < 1.0) {
            return bad("initial_media_share", "must lie in (0, 1)");
        }
        if let Some(split) = &self.initial_media_split
            && !split.iter().all(|w| *w > 0.0 && w.is_finite())
        {
            return bad("initial_media_split", "must hold finite weights > 0");
        }
        if !(self.baseline_modulation >= 0.0 && self.baseline_modulation.is_finite()) {
            return bad("baseline_modulation", "must be finite and ≥ 0");
        }
        if !(self.calibration_weight >= 0.0 && self.calibration_weight.is_finite()) {
            return bad("calibration_weight", "must be finite and ≥ 0");
        }
        if !(self.huber_delta > 0.0 && self.huber_delta.is_finite()) {
            return bad("huber_delta", "must be finite and > 0");
        }
        let p = &self.penalties;
        for (key, v) in [
            ("penalties.region_effect", p.region_effect),
            ("penalties.region_trend", p.region_trend),
            ("penalties.region_season", p.region_season),
            ("penalties.trend", p.trend),
            ("penalties.gru", p.gru),
            ("penalties.media", p.media),
        ] {
            if !(v >= 0.0 && v.is_finite()) {
                return bad(key, "must be finite and ≥ 0");
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_is_valid_and_bad_values_are_named() {
        ModelConfig::default().validate().unwrap();
        let cfg = ModelConfig {
            effect_modulation: 1.5,
            ..ModelConfig::default()
        };
        let err = cfg.validate().unwrap_err().to_string();
        assert!(err.contains("effect_modulation"), "{err}");
        for (cfg, key) in [
            (
                ModelConfig {
                    hidden: MAX_HIDDEN + 1,
                    ..ModelConfig::default()
                },
                "hidden",
            ),
            (
                ModelConfig {
                    fourier_harmonics: 27,
                    ..ModelConfig::default()
                },
                "fourier_harmonics",
            ),
        ] {
            let err = cfg.validate().unwrap_err().to_string();
            assert!(err.contains(key), "{err}");
        }
        let mut cfg = ModelConfig::default();
        cfg.penalties.gru = f64::NAN;
        assert!(
            cfg.validate()
                .unwrap_err()
                .to_string()
                .contains("penalties.gru")
        );
    }

    #[test]
    fn unknown_keys_are_rejected() {
        let err = serde_json::from_str::<ModelConfig>(r#"{"hiden": 3}"#)
            .unwrap_err()
            .to_string();
        assert!(err.contains("hiden"), "{err}");
    }
}
