//! The fitted model that `model.json` holds: configuration, scalers, parameters, channel DAG,
//! training record and the data history — everything needed to predict, decompose, and forecast
//! new weeks with state carried from the fitted history — saved as one versioned JSON file and
//! checked field by field when loaded ([`FittedModel::validate`]).
//!
//! A `FittedModel` is built once, at the end of a fit (`mmm_orchestrator::fit_panel`).

use crate::config::{EpochRecord, FitConfig};
use crate::metrics::{PathChoice, ValidationScore};
use crate::{Error, Result};
use mmm_data::{ColumnSpec, ControlScaler, MediaScaler, Panel, TargetScaler, TimeSplit, Week};
use mmm_linear::{Evidence, MediaScreen};
use mmm_model::{ChannelDag, Model};
use mmm_transforms::TransformRegistry;
use ndarray::{Array2, Array3, Axis};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Format tag of `model.json`.
pub const MODEL_FORMAT: &str = "dcmmm-model";
/// Version of the `model.json` layout this build reads and writes.
pub const MODEL_VERSION: u32 = 1;

/// The raw (unscaled) history the model was fitted on, kept so that forecasts continue its state.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct History {
    /// Target `[region][week]`, `None` where not observed.
    pub target: Vec<Vec<Option<f64>>>,
    /// Media activity `[region][week][channel]`.
    pub media: Vec<Vec<Vec<f64>>>,
    /// Spend `[region][week][channel]` when it differs from the media (impressions), else `None`.
    pub spend: Option<Vec<Vec<Vec<f64>>>>,
    /// Controls `[region][week][control]`.
    pub controls: Vec<Vec<Vec<f64>>>,
}

impl History {
    /// The history of `panel`: its target (`None` where not observed), media, spend and controls.
    pub fn of(panel: &Panel) -> Self {
        History {
            target: panel
                .target
                .outer_iter()
                .map(|row| row.iter().map(|v| v.is_finite().then_some(*v)).collect())
                .collect(),
            media: nested3(&panel.media),
            spend: panel.spend.as_ref().map(nested3),
            controls: nested3(&panel.controls_data),
        }
    }
}

/// A fitted model: configuration, scalers, parameters, channel DAG, training history and the
/// data history. Serialised as `model.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FittedModel {
    /// Always [`MODEL_FORMAT`].
    pub format: String,
    /// Layout version, [`MODEL_VERSION`] when written by this build.
    pub version: u32,
    /// Identifier of the `dcmmm fit` run that wrote this file; the run's `metrics.json`,
    /// `summary.json` and `report.html` carry the same one. Empty for fits through the library
    /// and files saved before run ids.
    #[serde(default)]
    pub run_id: String,
    /// The configuration of the fit.
    pub config: FitConfig,
    /// Column roles of the input file.
    pub columns: ColumnSpec,
    /// Region names.
    pub regions: Vec<String>,
    /// Calendar weeks of the history.
    pub weeks: Vec<Week>,
    /// Channel names.
    pub channels: Vec<String>,
    /// Control names.
    pub controls: Vec<String>,
    /// The calendar split used.
    pub split: TimeSplit,
    /// Target scaler (ȳ_r).
    pub target_scaler: TargetScaler,
    /// Media scaler.
    pub media_scaler: MediaScaler,
    /// Control scaler.
    pub control_scaler: ControlScaler,
    /// Model parameters (layout of `mmm_model::Layout`).
    pub params: Vec<f64>,
    /// The learned channel DAG.
    pub dag: ChannelDag,
    /// Training history, epoch by epoch.
    pub training: Vec<EpochRecord>,
    /// Epochs selected by validation.
    pub best_epochs: usize,
    /// Wall-clock seconds of the fit.
    pub fit_seconds: f64,
    /// The Weibull kernel `[k, λ]` each channel started from when the kernel screen chose it
    /// (`[model] kernel_start = "screen"` and at least `mmm_orchestrator::SCREEN_MIN_REGIONS`
    /// regions); absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kernel_start: Option<Vec<[f64; 2]>>,
    /// The media part the media screen chose (`[model] media_fit = "screen"`, Weibull adstocks,
    /// at least `mmm_orchestrator::SCREEN_MIN_REGIONS` regions, calibrated to any lift tests;
    /// absent otherwise). When `used`, the fit ran in two stages and the same values are in
    /// `params`; when not, the screen's media share was implausible and the model was fitted
    /// jointly.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub screened_media: Option<ScreenedMedia>,
    /// Regions left out of training because they have fewer than [`MIN_REGION_FIT_WEEKS`]
    /// observed weeks before the validation slice (new markets, late starts): the model forecasts
    /// them from its shared terms at the level of their own training mean, or of the pooled
    /// training mean when they have no training week ([`FittedModel::left_out_note`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub left_out: Vec<String>,
    /// The media paths trained and the one kept by the validation loss (`None` when only one
    /// path was trained).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<PathChoice>,
    /// The kept fit's forecast of the validation slice beside the naive baselines (`None`
    /// without validation).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validation: Option<ValidationScore>,
    /// What the fit's self-check found ([`FittedModel::self_check`]): shown on stderr, in
    /// `metrics.json` and in the report.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// The data history.
    pub history: History,
    /// The transforms `config.model.adstock` and `.saturation` name (not stored: model.json
    /// holds the names): the built-ins unless the model was fitted or loaded with a registry
    /// holding user transforms (`mmm_orchestrator::fit_panel_with`,
    /// [`FittedModel::load_with`]).
    #[serde(skip, default = "TransformRegistry::with_builtins")]
    pub transforms: TransformRegistry,
}

/// A media part chosen by the media screen (`mmm_linear::MediaScreen`), channel by channel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScreenedMedia {
    /// Weibull kernel `[k, λ]` (λ in weeks).
    pub kernels: Vec<[f64; 2]>,
    /// Hill curve `[K, s]`, K in scaled activity (1 = the channel's mean training activity).
    pub curves: Vec<[f64; 2]>,
    /// Effect size β_c ≥ 0 on the scaled target.
    pub effects: Vec<f64>,
    /// Share of the training target this media part explains.
    pub media_share: f64,
    /// Whether the fit used it; `false` when its share reached
    /// `mmm_orchestrator::MAX_SCREENED_MEDIA_SHARE` and the model was fitted jointly instead.
    pub used: bool,
    /// How strongly the training data determine each channel's effect, kernel and curve
    /// (`mmm_linear::Evidence`; empty in models saved before it was recorded).
    #[serde(default)]
    pub evidence: Vec<Evidence>,
}

impl ScreenedMedia {
    /// The channels whose response the training data leave open: the effect is less than three
    /// standard errors from zero (`evidence.effect` < 9), or at least a quarter of the screen's
    /// kernels or of its curves fit as well as the chosen one (`mmm_linear::Evidence::ALIKE`; the
    /// grids spread over the plausible shapes, so a quarter of them is a wide range of carryovers
    /// or saturations). Their curves and marginal ROI are the screen's best guess among
    /// near-equal fits.
    pub fn undetermined(&self) -> Vec<usize> {
        let grid = MediaScreen::new();
        self.evidence
            .iter()
            .enumerate()
            .filter(|(_, e)| {
                e.effect < Self::CLEAR_EFFECT
                    || 4 * e.kernels_alike >= grid.kernels.len()
                    || 4 * e.curves_alike >= grid.curves.len()
            })
            .map(|(c, _)| c)
            .collect()
    }

    /// Evidence of an effect (χ²) from which it counts as shown: three standard errors.
    pub const CLEAR_EFFECT: f64 = 9.0;

    /// The media part `m` the media screen chose, recorded with whether the fit `used` it.
    pub fn from_screen(m: &mmm_linear::ScreenedMedia, used: bool) -> Self {
        ScreenedMedia {
            kernels: m.kernels.iter().map(|&(k, l)| [k, l]).collect(),
            curves: m.curves.iter().map(|&(h, s)| [h, s]).collect(),
            effects: m.effects.clone(),
            media_share: m.media_share,
            used,
            evidence: m.evidence.clone(),
        }
    }
}

/// Fewest observed weeks before the validation slice a region needs to be trained: its level,
/// trend and season are learnt from them, and a trend through fewer than a quarter of weeks
/// extrapolates noise. Regions with fewer are left out of training ([`FittedModel::left_out`]).
/// A plausibility bound, not a tuned value.
pub const MIN_REGION_FIT_WEEKS: usize = 13;

fn nested3(a: &Array3<f64>) -> Vec<Vec<Vec<f64>>> {
    a.outer_iter()
        .map(|m| m.outer_iter().map(|row| row.to_vec()).collect())
        .collect()
}

fn flat3(v: &[Vec<Vec<f64>>], what: &str) -> Result<Array3<f64>> {
    let r = v.len();
    let t = v.first().map_or(0, Vec::len);
    let c = v.first().and_then(|w| w.first()).map_or(0, Vec::len);
    let flat: Vec<f64> = v.iter().flatten().flatten().copied().collect();
    Array3::from_shape_vec((r, t, c), flat)
        .map_err(|_| Error::ModelFile(format!("`history.{what}` is not rectangular")))
}

impl FittedModel {
    /// The model structure for this fit, its transforms from [`FittedModel::transforms`].
    pub fn model(&self) -> Result<Model> {
        Ok(Model::with_registry(
            self.config.model.clone(),
            self.regions.len(),
            self.channels.len(),
            self.controls.len(),
            &self.transforms,
        )?)
    }

    /// The history as a panel (what the model was fitted on).
    pub fn history_panel(&self) -> Result<Panel> {
        let h = &self.history;
        let target = Array2::from_shape_fn((self.regions.len(), self.weeks.len()), |(r, t)| {
            h.target
                .get(r)
                .and_then(|row| row.get(t))
                .copied()
                .flatten()
                .unwrap_or(f64::NAN)
        });
        let observed = target.mapv(f64::is_finite);
        Ok(Panel {
            regions: self.regions.clone(),
            weeks: self.weeks.clone(),
            channels: self.channels.clone(),
            controls: self.controls.clone(),
            target,
            media: flat3(&h.media, "media")?,
            spend: h.spend.as_deref().map(|s| flat3(s, "spend")).transpose()?,
            controls_data: flat3(&h.controls, "controls")?,
            observed,
        })
    }

    /// Writes `model.json` (atomically: `mmm_data::write_atomic`).
    pub fn save(&self, path: &Path) -> Result<()> {
        mmm_data::write_atomic(path, |w| Ok(serde_json::to_writer(w, self)?))
            .map_err(|e| Error::Io(path.display().to_string(), e))
    }

    /// Reads `model.json` with the built-in transforms ([`FittedModel::load_with`]).
    pub fn load(path: &Path) -> Result<Self> {
        Self::load_with(path, &TransformRegistry::with_builtins())
    }

    /// Reads `model.json`, checking the format tag and version first so that a file from another
    /// version gets a clear message rather than a field-by-field parse error, then every field
    /// against the others ([`FittedModel::validate`]), the adstock and saturation it names
    /// taken from `transforms` (a name missing there is an [`Error::InvalidModel`] at
    /// `config.model`). Files written before the saturation was named used Hill, the default.
    pub fn load_with(path: &Path, transforms: &TransformRegistry) -> Result<Self> {
        let text =
            std::fs::read_to_string(path).map_err(|e| Error::Io(path.display().to_string(), e))?;
        let head: serde_json::Value = serde_json::from_str(&text)
            .map_err(|e| Error::ModelFile(format!("{}: not JSON: {e}", path.display())))?;
        let format = head.get("format").and_then(|v| v.as_str()).unwrap_or("");
        if format != MODEL_FORMAT {
            return Err(Error::ModelFile(format!(
                "{}: not a dcmmm model file (format `{format}`)",
                path.display()
            )));
        }
        let version = head.get("version").and_then(|v| v.as_u64()).unwrap_or(0);
        if version != u64::from(MODEL_VERSION) {
            return Err(Error::ModelVersion {
                path: path.display().to_string(),
                found: version,
                expected: MODEL_VERSION,
            });
        }
        let mut model: FittedModel = serde_json::from_value(head)
            .map_err(|e| Error::ModelFile(format!("{}: {e}", path.display())))?;
        model.transforms = transforms.clone();
        model.validate(&path.display().to_string())?;
        Ok(model)
    }

    /// Observed-cell mask of the holdout or training weeks of the history, `[region, week]`
    /// ([`observed_mask`]).
    pub fn mask(&self, panel: &Panel, weeks: std::ops::Range<usize>) -> Array2<bool> {
        observed_mask(panel, weeks)
    }
}

/// The observed cells of `panel` in `weeks`, `[region, week]`.
pub fn observed_mask(panel: &Panel, weeks: std::ops::Range<usize>) -> Array2<bool> {
    let mut m = panel.observed.clone();
    for (t, mut col) in m.axis_iter_mut(Axis(1)).enumerate() {
        if !weeks.contains(&t) {
            col.fill(false);
        }
    }
    m
}
