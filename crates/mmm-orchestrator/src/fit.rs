//! Fitting a loaded panel end to end, and the fitted model that `model.json` holds.
//!
//! [`fit_panel`] splits the calendar (holdout = the last weeks, never used for any training
//! decision), fits the scalers on the training weeks, trains the model, learns the channel DAG and
//! returns a [`FittedModel`]: everything needed to predict, decompose, and forecast new weeks with
//! state carried from the fitted history — saved as one versioned JSON file.

use crate::calibration::{LiftTestSpec, calibration_for, screen_experiments};
use crate::train::{EpochRecord, Progress, TrainConfig, train};
use crate::{Error, Result};
use mmm_data::{ColumnSpec, ControlScaler, MediaScaler, Panel, TargetScaler, TimeSplit, Week};
use mmm_linear::{Evidence, Experiment, KernelScreen, MediaScreen, ScreenData, WithinRegion};
use mmm_model::{
    ChannelDag, DagConfig, Decomposition, KernelStart, MediaFit, Model, ModelConfig, ModelInputs,
    fit_channel_dag,
};
use mmm_transforms::{Hill, TransformRegistry, WeibullAdstock};
use ndarray::{Array2, Array3, ArrayView2, Axis};
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::time::Instant;

/// Format tag of `model.json`.
pub const MODEL_FORMAT: &str = "dcmmm-model";
/// Version of the `model.json` layout this build reads and writes.
pub const MODEL_VERSION: u32 = 1;

/// Everything a fit is configured by: the `fit.toml` sections `[model]`, `[train]`, `[dag]` and
/// the holdout length.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FitConfig {
    /// Weeks at the end of the calendar held out from training (scored only).
    pub holdout_weeks: usize,
    /// Model hyper-parameters.
    pub model: ModelConfig,
    /// Training-loop settings.
    pub train: TrainConfig,
    /// Channel-DAG settings.
    pub dag: DagConfig,
    /// Experiments the fit is calibrated to (`[[lift_test]]` tables; `crate::calibration`).
    #[serde(rename = "lift_test", skip_serializing_if = "Vec::is_empty")]
    pub lift_tests: Vec<LiftTestSpec>,
}

impl Default for FitConfig {
    fn default() -> Self {
        FitConfig {
            holdout_weeks: mmm_data::DEFAULT_HOLDOUT_WEEKS,
            model: ModelConfig::default(),
            train: TrainConfig::default(),
            dag: DagConfig::default(),
            lift_tests: Vec::new(),
        }
    }
}

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
    /// (`[model] kernel_start = "screen"` and at least [`SCREEN_MIN_REGIONS`] regions); absent
    /// otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kernel_start: Option<Vec<[f64; 2]>>,
    /// The media part the media screen chose (`[model] media_fit = "screen"`, Weibull adstocks,
    /// at least [`SCREEN_MIN_REGIONS`] regions, calibrated to any lift tests; absent otherwise).
    /// When `used`, the fit ran in two stages and the same values are in `params`; when not, the
    /// screen's media share was implausible and the model was fitted jointly.
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
    /// The transforms `config.model.adstock` and `.saturation` name: the built-ins unless the
    /// model was fitted or loaded with a registry holding user transforms
    /// ([`fit_panel_with`], [`FittedModel::load_with`]).
    #[serde(skip, default = "TransformRegistry::with_builtins")]
    transforms: TransformRegistry,
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
    /// Whether the fit used it; `false` when its share reached [`MAX_SCREENED_MEDIA_SHARE`] and
    /// the model was fitted jointly instead.
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

    fn from_screen(m: &mmm_linear::ScreenedMedia, used: bool) -> Self {
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

/// Fits `panel` (loaded with `columns`) with `cfg` and the built-in transforms. `progress` is
/// called after every epoch.
pub fn fit_panel(
    panel: &Panel,
    columns: &ColumnSpec,
    cfg: &FitConfig,
    progress: &mut dyn FnMut(Progress),
) -> Result<FittedModel> {
    fit_panel_with(
        panel,
        columns,
        cfg,
        &TransformRegistry::with_builtins(),
        progress,
    )
}

/// [`fit_panel`] with the adstock and saturation that `cfg.model` names taken from
/// `transforms` (built-ins plus user-registered ones). The fitted model keeps the registry.
pub fn fit_panel_with(
    panel: &Panel,
    columns: &ColumnSpec,
    cfg: &FitConfig,
    transforms: &TransformRegistry,
    progress: &mut dyn FnMut(Progress),
) -> Result<FittedModel> {
    fit_panel_screening(panel, columns, cfg, transforms, None, progress)
}

/// Whether the media screen can represent the transforms of `model`: it has closed forms for the
/// Weibull adstock and the Hill saturation only (`mmm_linear::MediaScreen`).
fn two_stage_possible(model: &ModelConfig) -> bool {
    model.adstock == WeibullAdstock::NAME && model.saturation == Hill::NAME
}

/// The note of a fit whose transforms rule out the two-stage path under `media_fit = "auto"`.
fn joint_only_note(model: &ModelConfig) -> String {
    format!(
        "the two-stage fit (media screen) has closed forms only for the `{}` adstock with the `{}` \
         saturation; with `{}` and `{}` the media part was fitted jointly (docs/model.md, \
         *Outcome equation*)",
        WeibullAdstock::NAME,
        Hill::NAME,
        model.adstock,
        model.saturation
    )
}

/// [`fit_panel`], with the media and kernel screens run on the regions `screen_sample` (indices
/// into `panel.regions`, repeats allowed: a bootstrap resample; `None` = every region once).
/// Everything else is fitted on the whole panel.
pub(crate) fn fit_panel_screening(
    panel: &Panel,
    columns: &ColumnSpec,
    cfg: &FitConfig,
    transforms: &TransformRegistry,
    screen_sample: Option<&[usize]>,
    progress: &mut dyn FnMut(Progress),
) -> Result<FittedModel> {
    let started = Instant::now();
    // Checked before training, not after it, where the DAG is fitted.
    cfg.dag.validate()?;
    let two_stage_possible = two_stage_possible(&cfg.model);
    if cfg.model.media_fit == MediaFit::Screen && !two_stage_possible {
        return Err(Error::TwoStageTransforms {
            adstock: cfg.model.adstock.clone(),
            saturation: cfg.model.saturation.clone(),
        });
    }
    // The stored configuration says what was used: the validation slice is resolved here.
    let validation_weeks = cfg.train.validation_weeks_for(panel.n_regions());
    let mut cfg = cfg.clone();
    cfg.train.validation_weeks = Some(validation_weeks);
    let cfg = &cfg;
    let split = TimeSplit::new(
        panel.n_weeks(),
        cfg.holdout_weeks,
        validation_weeks,
        mmm_data::DEFAULT_MIN_TRAIN_WEEKS,
    )?;
    // Regions with too few observed weeks to learn their terms from are left out of training;
    // `train_panel` is the panel with their training weeks unobserved, so that neither the
    // screens nor the loss read them, and the model forecasts them from the shared terms at their
    // fallback level (`TargetScaler::fit_trained`).
    let trained = trained_regions(panel, split.fit_weeks());
    if !trained.iter().any(|&k| k) {
        return Err(Error::NoTrainableRegion {
            needed: MIN_REGION_FIT_WEEKS,
        });
    }
    let left_out: Vec<usize> = (0..panel.n_regions()).filter(|&r| !trained[r]).collect();
    let train_panel = without_training_weeks(panel, &left_out, split.train.clone());
    let train_panel = &train_panel;
    let target_scaler = TargetScaler::fit_trained(panel, split.train.clone(), &trained)?;
    let media_scaler = MediaScaler::fit_media(
        train_panel,
        &train_panel.media,
        &target_scaler.size_factors(),
        split.train.clone(),
    );
    let control_scaler = ControlScaler::fit(train_panel, split.train.clone());
    let history = History {
        target: panel
            .target
            .outer_iter()
            .map(|row| row.iter().map(|v| v.is_finite().then_some(*v)).collect())
            .collect(),
        media: nested3(&panel.media),
        spend: panel.spend.as_ref().map(nested3),
        controls: nested3(&panel.controls_data),
    };
    let mut fitted = FittedModel {
        format: MODEL_FORMAT.into(),
        version: MODEL_VERSION,
        run_id: String::new(),
        config: cfg.clone(),
        columns: columns.clone(),
        regions: panel.regions.clone(),
        weeks: panel.weeks.clone(),
        channels: panel.channels.clone(),
        controls: panel.controls.clone(),
        split: split.clone(),
        target_scaler,
        media_scaler,
        control_scaler,
        params: Vec::new(),
        dag: ChannelDag::empty(panel.n_channels()),
        training: Vec::new(),
        best_epochs: 0,
        fit_seconds: 0.0,
        kernel_start: None,
        screened_media: None,
        left_out: left_out.iter().map(|&r| panel.regions[r].clone()).collect(),
        path: None,
        validation: None,
        warnings: Vec::new(),
        history,
        transforms: transforms.clone(),
    };
    let mut inputs = fitted.inputs_for(train_panel)?;
    let base_model = fitted.model()?;
    let weights = base_model.region_weights(&fitted.target_scaler.means);
    let train_weights = inputs.loss_weights(split.train.clone(), &weights)?;
    let screened = if two_stage_possible && cfg.model.media_fit != MediaFit::Joint {
        let experiments = screen_experiments(&fitted, train_panel, &inputs, &train_weights)?;
        screen_media(
            train_panel,
            &inputs,
            split.train.clone(),
            screen_sample,
            experiments,
        )?
    } else {
        None
    };
    let plausible = screened
        .as_ref()
        .filter(|m| m.media_share < MAX_SCREENED_MEDIA_SHARE);
    // The paths to train: the two-stage fit where its media part is plausible (and, by default,
    // the joint fit beside it), else the joint fit alone.
    let paths: &[bool] = match (cfg.model.media_fit, plausible) {
        (MediaFit::Screen, Some(_)) => &[true],
        (MediaFit::Auto, Some(_)) => &[true, false],
        _ => &[false],
    };
    if let Some(cal) = calibration_for(&fitted, train_panel, &inputs, &train_weights)? {
        inputs = inputs.with_calibration(cal)?;
    }
    let mut fits = Vec::with_capacity(paths.len());
    for &two_stage in paths {
        let mut model = fitted.model()?;
        let mut kernel_start = None;
        if let Some(media) = plausible.filter(|_| two_stage) {
            model = model
                .with_adstock_start(
                    media
                        .kernels
                        .iter()
                        .map(|&(k, l)| WeibullAdstock::params_for(k, l))
                        .collect(),
                )?
                .with_saturation_start(
                    media
                        .curves
                        .iter()
                        .map(|&(h, s)| Hill::params_for(h, s))
                        .collect(),
                )?
                .with_fixed_media(media.effects.clone(), media.controls.clone())?;
        } else if cfg.model.adstock == WeibullAdstock::NAME
            && cfg.model.kernel_start == KernelStart::Screen
            && let Some((kernels, starts)) =
                screen_kernels(train_panel, &inputs, split.train.clone(), screen_sample)?
        {
            kernel_start = Some(kernels);
            model = model.with_adstock_start(starts)?;
        }
        let outcome = train(
            &model,
            &inputs,
            split.train.clone(),
            &weights,
            &cfg.train,
            progress,
        )?;
        fits.push((two_stage, model, kernel_start, outcome));
    }
    // The lowest validation loss wins; without validation (or with one path) the first path.
    let chosen = (0..fits.len())
        .min_by(|&a, &b| {
            let loss = |i: usize| fits[i].3.validation_loss.unwrap_or(f64::INFINITY);
            loss(a).total_cmp(&loss(b))
        })
        .unwrap_or(0);
    let scores: Vec<PathScore> = fits
        .iter()
        .map(|(two_stage, model, _, outcome)| {
            PathScore::compute(*two_stage, model, outcome, &fitted, train_panel, &inputs)
        })
        .collect::<Result<_>>()?;
    let (two_stage, model, kernel_start, outcome) = fits.swap_remove(chosen);
    fitted.screened_media = screened.map(|m| ScreenedMedia::from_screen(&m, two_stage));
    fitted.kernel_start = kernel_start;
    fitted.path = (scores.len() > 1).then(|| PathChoice {
        chosen: scores[chosen].path.clone(),
        scores: scores.clone(),
    });
    fitted.validation = scores.into_iter().nth(chosen).and_then(|s| s.validation);
    fitted.dag = fit_channel_dag(
        &model,
        &outcome.params,
        &inputs,
        split.train.clone(),
        &cfg.dag,
    )?;
    fitted.params = outcome.params;
    fitted.training = outcome.history;
    fitted.best_epochs = outcome.best_epochs;
    fitted.warnings = fitted.self_check();
    if cfg.model.media_fit == MediaFit::Auto && !two_stage_possible {
        fitted.warnings.push(joint_only_note(&cfg.model));
    }
    fitted.fit_seconds = started.elapsed().as_secs_f64();
    Ok(fitted)
}

/// How one media path (two-stage or joint) did on the validation slice.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PathScore {
    /// `"two-stage"` (the media part from the screen) or `"joint"`.
    pub path: String,
    /// Validation data loss at the selected epoch (the criterion; lower is better).
    pub validation_loss: Option<f64>,
    /// Epochs selected by validation.
    pub epochs: usize,
    /// The stage-1 model's fit of the validation slice, beside the naive baselines.
    pub validation: Option<ValidationScore>,
}

/// A stage-1 model's forecast of the validation slice (the latest one, fold 0), which it did not
/// learn from, beside the naive baselines computed from the weeks before the slice.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ValidationScore {
    /// The model on the observed validation cells of the trained regions.
    pub model: mmm_eval::FitMetrics,
    /// The naive baselines (`mmm_eval::naive_baselines`) on the same cells.
    pub baselines: Vec<crate::BaselineScore>,
}

/// Which media path a fit took and how each did on the validation slice (both were trained:
/// `[model] media_fit = "auto"` where the two-stage fit is possible).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PathChoice {
    /// The path kept.
    pub chosen: String,
    /// Every path trained, in the order two-stage, joint.
    pub scores: Vec<PathScore>,
}

impl PathChoice {
    /// One sentence: the path kept and each path's validation loss and forecast of the slice.
    pub fn describe(&self) -> String {
        let parts: Vec<String> = self
            .scores
            .iter()
            .map(|s| {
                let loss = s
                    .validation_loss
                    .map_or_else(|| "–".to_string(), |l| format!("{l:.5}"));
                match &s.validation {
                    Some(v) => format!(
                        "{} loss {loss} (wMAPE {:.3}, within-region R² {:.3}, {} epochs)",
                        s.path, v.model.wmape, v.model.r2_within, s.epochs
                    ),
                    None => format!("{} loss {loss} ({} epochs)", s.path, s.epochs),
                }
            })
            .collect();
        let margin = self.margin().map_or_else(String::new, |m| {
            format!(
                " (validation loss {:.1} % below the other path's)",
                100.0 * m
            )
        });
        format!(
            "media path chosen on the validation slice: {}{margin} — {}",
            self.chosen,
            parts.join("; ")
        )
    }

    /// How much lower the kept path's validation loss is than the best other path's, as a
    /// fraction of the other's (`None` when a loss is missing).
    pub fn margin(&self) -> Option<f64> {
        let chosen = self.scores.iter().find(|s| s.path == self.chosen)?;
        let other = self
            .scores
            .iter()
            .filter(|s| s.path != self.chosen)
            .filter_map(|s| s.validation_loss)
            .min_by(f64::total_cmp)?;
        Some(1.0 - chosen.validation_loss? / other)
    }
}

impl PathScore {
    fn compute(
        two_stage: bool,
        model: &Model,
        outcome: &crate::TrainOutcome,
        fitted: &FittedModel,
        train_panel: &Panel,
        inputs: &ModelInputs,
    ) -> Result<Self> {
        let validation = match &outcome.validation_params {
            Some(params) if !fitted.split.validation.is_empty() => {
                let scaled = model.forward(params, inputs).prediction;
                let prediction = fitted.target_scaler.inverse(&scaled);
                let weeks = fitted.split.validation.clone();
                let mask = fitted.mask(train_panel, weeks.clone());
                let target = train_panel.target.view();
                Some(ValidationScore {
                    model: mmm_eval::FitMetrics::compute(target, prediction.view(), mask.view()),
                    baselines: mmm_eval::naive_baselines(
                        target,
                        train_panel.observed.view(),
                        fitted.split.fit_weeks(),
                        weeks,
                    )?
                    .into_iter()
                    .map(|(name, holdout)| crate::BaselineScore { name, holdout })
                    .collect(),
                })
            }
            _ => None,
        };
        Ok(PathScore {
            path: if two_stage { "two-stage" } else { "joint" }.into(),
            validation_loss: outcome.validation_loss,
            epochs: outcome.best_epochs,
            validation,
        })
    }
}

/// Fewest regions with enough training weeks (`mmm_linear::MIN_WEEKS`) for which the kernel
/// screen runs. On one region (about 140 training weeks of one series) its choice made the holdout
/// forecast of three of the four one-region example panels clearly worse (docs/model.md §8); from 40
/// regions up it helped. Between 1 and 40 nothing was measured: 10 is a conservative guess.
pub const SCREEN_MIN_REGIONS: usize = 10;

/// Fewest observed weeks before the validation slice a region needs to be trained: its level,
/// trend and season are learnt from them, and a trend through fewer than a quarter of weeks
/// extrapolates noise. Regions with fewer are left out of training ([`FittedModel::left_out`]).
/// A plausibility bound, not a tuned value.
pub const MIN_REGION_FIT_WEEKS: usize = 13;

/// Per region, whether it has at least [`MIN_REGION_FIT_WEEKS`] observed weeks in `fit_weeks`
/// (the training weeks before the validation slice): whether `fit_panel` trains it.
pub fn trained_regions(panel: &Panel, fit_weeks: std::ops::Range<usize>) -> Vec<bool> {
    panel
        .observed
        .rows()
        .into_iter()
        .map(|row| fit_weeks.clone().filter(|&t| row[t]).count() >= MIN_REGION_FIT_WEEKS)
        .collect()
}

/// `panel` with the `weeks` of the regions `left_out` unobserved (target NaN).
fn without_training_weeks<'a>(
    panel: &'a Panel,
    left_out: &[usize],
    weeks: std::ops::Range<usize>,
) -> std::borrow::Cow<'a, Panel> {
    if left_out.is_empty() {
        return std::borrow::Cow::Borrowed(panel);
    }
    let mut p = panel.clone();
    for &r in left_out {
        for t in weeks.clone() {
            p.observed[[r, t]] = false;
            p.target[[r, t]] = f64::NAN;
        }
    }
    std::borrow::Cow::Owned(p)
}

/// Largest share of the training target a screened media part may explain; above it the fit
/// runs jointly (a guard: below it the validation slice chooses the path). The screen sees only how
/// media and target move together within regions, so a channel that barely varies can get an
/// effect whose level — extrapolated to zero activity — is most of the target. Chosen on rolling
/// origins (docs/experiments.md, "defaults re-chosen on rolling origins").
pub const MAX_SCREENED_MEDIA_SHARE: f64 = 0.4;

/// The media part the media screen (`mmm_linear::MediaScreen`) chooses and estimates on the
/// training weeks of the scaled inputs; `None` (fit jointly) when fewer than
/// [`SCREEN_MIN_REGIONS`] regions have enough training weeks.
fn screen_media(
    panel: &Panel,
    inputs: &ModelInputs,
    train: std::ops::Range<usize>,
    sample: Option<&[usize]>,
    experiments: Vec<Experiment>,
) -> Result<Option<mmm_linear::ScreenedMedia>> {
    let Some((within, data)) = screen_setup(panel, inputs, train, sample)? else {
        return Ok(None);
    };
    let regions = sample_or_all(panel, sample);
    let screen = MediaScreen {
        experiments: experiments
            .into_iter()
            .map(|e| Experiment {
                cells: e.cells.select(Axis(0), &regions),
                counterfactual: e.counterfactual.map(|f| f.select(Axis(0), &regions)),
                ..e
            })
            .collect(),
        ..MediaScreen::new()
    };
    Ok(Some(screen.fit(&within, &data.view())?))
}

/// The regions of a screen sample: `sample`, or every region once.
fn sample_or_all(panel: &Panel, sample: Option<&[usize]>) -> Vec<usize> {
    sample.map_or_else(|| (0..panel.n_regions()).collect(), <[usize]>::to_vec)
}

/// The scaled inputs of the regions a screen regresses.
struct ScreenInputs {
    target: Array2<f64>,
    media: Array3<f64>,
    controls: Array3<f64>,
}

impl ScreenInputs {
    fn view(&self) -> ScreenData<'_> {
        ScreenData {
            target: self.target.view(),
            media: self.media.view(),
            controls: self.controls.view(),
        }
    }
}

/// What both screens regress: the training weeks of the scaled inputs of the regions `sample`
/// (every region when `None`; a region drawn twice counts as two, each with its own terms), with
/// each region's terms partialled out; `None` when fewer than [`SCREEN_MIN_REGIONS`] of them have
/// enough training weeks.
fn screen_setup(
    panel: &Panel,
    inputs: &ModelInputs,
    train: std::ops::Range<usize>,
    sample: Option<&[usize]>,
) -> Result<Option<(WithinRegion, ScreenInputs)>> {
    let regions = &sample_or_all(panel, sample);
    if let Some(&r) = regions.iter().find(|&&r| r >= panel.n_regions()) {
        return Err(Error::Config(format!(
            "screen sample region {r} of a panel with {} regions",
            panel.n_regions()
        )));
    }
    let observed = panel.observed.select(Axis(0), regions);
    let Some(within) = within_region(panel, observed.view(), train)?
        .filter(|w| w.regions().count() >= SCREEN_MIN_REGIONS)
    else {
        return Ok(None);
    };
    let data = ScreenInputs {
        target: inputs.target.select(Axis(0), regions),
        media: inputs.media.select(Axis(1), regions),
        controls: inputs.controls.select(Axis(1), regions),
    };
    Ok(Some((within, data)))
}

/// Chosen kernels as `[k, λ]` per channel, and as the adstock's unconstrained parameters.
type Screened = (Vec<[f64; 2]>, Vec<Vec<f64>>);

/// The Weibull kernels (`[k, λ]`) and their unconstrained parameters that the default screen
/// (`mmm_linear::KernelScreen::weibull`) chooses on the training weeks of the scaled inputs; `None`
/// (start at the geometric special case) when fewer than [`SCREEN_MIN_REGIONS`] regions have
/// enough training weeks.
fn screen_kernels(
    panel: &Panel,
    inputs: &ModelInputs,
    train: std::ops::Range<usize>,
    sample: Option<&[usize]>,
) -> Result<Option<Screened>> {
    let Some((within, data)) = screen_setup(panel, inputs, train, sample)? else {
        return Ok(None);
    };
    let screen = KernelScreen::weibull();
    let choice = screen.choose(&WeibullAdstock::default(), &within, &data.view())?;
    let grid: Vec<(f64, f64)> = KernelScreen::weibull_grid().collect();
    Ok(Some(
        choice
            .into_iter()
            .map(|i| ([grid[i].0, grid[i].1], screen.candidates[i].clone()))
            .unzip(),
    ))
}

/// Each region's level, trend and season partialled out over the observed `train` weeks of
/// `panel` (`mmm_linear::WithinRegion`); `None` when no region has more than
/// `mmm_linear::MIN_WEEKS` of them.
pub(crate) fn training_within(
    panel: &Panel,
    train: std::ops::Range<usize>,
) -> Result<Option<WithinRegion>> {
    within_region(panel, panel.observed.view(), train)
}

/// [`training_within`] for the rows `observed` (`[region, week]` on `panel`'s weeks).
fn within_region(
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

    /// The registry the model's adstock and saturation come from.
    pub fn transforms(&self) -> &TransformRegistry {
        &self.transforms
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

    /// Scaled model inputs for a panel with this model's regions, channels and controls whose
    /// calendar starts at the history's first week (the history itself, or history + future).
    pub fn inputs_for(&self, panel: &Panel) -> Result<ModelInputs> {
        let year: Vec<f64> = (0..panel.n_weeks())
            .map(|t| panel.year_fraction(t))
            .collect();
        let media = self.media_scaler.transform(&panel.media);
        let controls = self.control_scaler.transform(&panel.controls_data);
        let target = self.target_scaler.transform(&panel.target);
        let trend_origin = self.split.train.end.saturating_sub(1);
        Ok(ModelInputs::new(
            &media,
            &controls,
            &target,
            &panel.observed,
            &year,
            trend_origin,
            self.config.model.fourier_harmonics,
        )?)
    }

    /// Prediction (target units, `[region, week]`) and the additive decomposition (target units)
    /// over every week of `panel`.
    pub fn predict(&self, panel: &Panel) -> Result<(Array2<f64>, Decomposition)> {
        let model = self.model()?;
        let inputs = self.inputs_for(panel)?;
        let tape = model.forward(&self.params, &inputs);
        let d = model.decompose_tape(&self.params, &inputs, &tape);
        let scale = |a: &Array2<f64>| self.target_scaler.inverse(a);
        let scale3 = |a: &Array3<f64>| {
            let mut out = a.clone();
            for mut slice in out.outer_iter_mut() {
                let s = scale(&slice.to_owned());
                slice.assign(&s);
            }
            out
        };
        let decomposition = Decomposition {
            baseline: scale(&d.baseline),
            trend: scale(&d.trend),
            seasonality: scale(&d.seasonality),
            controls: scale3(&d.controls),
            channels: scale3(&d.channels),
        };
        let prediction = scale(&tape.prediction);
        self.check_finite(panel, &prediction, &decomposition)?;
        Ok((prediction, decomposition))
    }

    /// An error naming the first observed region-week of `panel` whose prediction or a component
    /// of whose decomposition is not finite (parameters or data so large that the model
    /// overflows).
    fn check_finite(
        &self,
        panel: &Panel,
        prediction: &Array2<f64>,
        d: &Decomposition,
    ) -> Result<()> {
        let parts = [&d.baseline, &d.trend, &d.seasonality, prediction];
        let cells = d.controls.outer_iter().chain(d.channels.outer_iter());
        let bad = |(r, t): (usize, usize)| {
            panel.observed[[r, t]]
                && (parts.iter().any(|a| !a[[r, t]].is_finite())
                    || cells.clone().any(|a| !a[[r, t]].is_finite()))
        };
        match ndarray::indices(prediction.dim())
            .into_iter()
            .find(|&i| bad(i))
        {
            Some((r, t)) => Err(Error::NonFinitePrediction {
                region: self.regions[r].clone(),
                week: panel.weeks[t].to_string(),
            }),
            None => Ok(()),
        }
    }

    /// Total (direct + DAG-mediated) contribution of each channel over all weeks of `panel`, in
    /// target units: the drop in the prediction when the channel's activity is set to zero and the
    /// change propagates downstream along the channel DAG.
    pub fn total_contributions(&self, panel: &Panel) -> Result<Vec<f64>> {
        let model = self.model()?;
        let inputs = self.inputs_for(panel)?;
        let base = model.forward(&self.params, &inputs).prediction;
        let adstocked = mmm_model::causal::adstock_all(&model, &self.params, &inputs);
        let zero = Array2::zeros((inputs.n_regions(), inputs.n_weeks()));
        (0..inputs.n_channels())
            .map(|c| {
                let media = self.dag.intervene(
                    &model,
                    &self.params,
                    &inputs.media,
                    &adstocked,
                    c,
                    zero.view(),
                );
                let cf = model
                    .forward(&self.params, &inputs.with_media(media))
                    .prediction;
                Ok(self.target_scaler.inverse(&(&base - &cf)).sum())
            })
            .collect()
    }

    /// Derivative of each channel's direct contribution (target units, all weeks of `panel`) with
    /// respect to a common multiplier m on its activity in every week, at m = 1. Exact: adstock is
    /// linear, so d/dm sat(adstock(m·x)) = sat'(a)·a with a = adstock(x).
    pub fn contribution_slopes(&self, panel: &Panel) -> Result<Vec<f64>> {
        let model = self.model()?;
        let inputs = self.inputs_for(panel)?;
        let tape = model.forward(&self.params, &inputs);
        let d = model.decompose_tape(&self.params, &inputs, &tape);
        let adstocked = mmm_model::causal::adstock_all(&model, &self.params, &inputs);
        let layout = model.layout();
        Ok((0..inputs.n_channels())
            .map(|c| {
                let sat = model.saturation(c);
                let sp = &self.params[layout.saturation_of(c)];
                let mut total = 0.0;
                for r in 0..inputs.n_regions() {
                    for t in 0..inputs.n_weeks() {
                        let a = adstocked[[c, r, t]];
                        let s = sat.eval(sp, a);
                        if s > 0.0 {
                            // contribution = k·s with k independent of m; d/dm = k·sat'(a)·a.
                            let k = d.channels[[c, r, t]] / s;
                            total += k * sat.derivative(sp, a) * a * self.target_scaler.means[r];
                        }
                    }
                }
                total
            })
            .collect())
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

    /// Observed-cell mask of the holdout or training weeks of the history, `[region, week]`.
    pub fn mask(&self, panel: &Panel, weeks: std::ops::Range<usize>) -> Array2<bool> {
        let mut m = panel.observed.clone();
        for (t, mut col) in m.axis_iter_mut(Axis(1)).enumerate() {
            if !weeks.contains(&t) {
                col.fill(false);
            }
        }
        m
    }

    /// What a reader of this model's attribution should know, measured on the simulator
    /// (docs/model.md §8): shown by `dcmmm fit` and in the report.
    pub fn caveats(&self) -> Vec<&'static str> {
        let one_region = self.regions.len() == 1;
        let converged = self.trained_without_validation();
        let mut caveats = Vec::new();
        if one_region {
            caveats.push(SINGLE_REGION_CAVEAT);
        }
        if converged {
            caveats.push(CONVERGED_CAVEAT);
        }
        if one_region && converged {
            caveats.push(CONVERGED_SINGLE_REGION_CAVEAT);
        }
        caveats
    }

    /// A hint for the commands that turn this fit into decisions (`curves`, `optimize`,
    /// `scenarios`): an early-stopped joint fit of a regional panel, where a converged fit
    /// measured better (docs/analysis.md §5). `None` for converged and one-region fits, and for
    /// two-stage fits, whose media part training does not change.
    pub fn decision_hint(&self) -> Option<&'static str> {
        let two_stage = self.screened_media.as_ref().is_some_and(|m| m.used);
        (self.regions.len() > 1 && !self.trained_without_validation() && !two_stage)
            .then_some(EARLY_STOPPED_DECISION_HINT)
    }

    /// A note naming the channels whose response the training data leave open
    /// ([`ScreenedMedia::undetermined`]) with their evidence, for `dcmmm fit` and the commands
    /// that turn the fit into decisions; `None` when there are none or the media part was not
    /// screened (or was saved without evidence).
    pub fn undetermined_note(&self) -> Option<String> {
        let media = self.screened_media.as_ref().filter(|m| m.used)?;
        let open: Vec<String> = media
            .undetermined()
            .into_iter()
            .map(|c| format!("{} ({})", self.channels[c], media.evidence[c].brief()))
            .collect();
        (!open.is_empty()).then(|| {
            format!(
                "the data leave the response of {} open: their curves and marginal ROI are the \
                 best guess among near-equal fits, so read any change recommended for them as the \
                 least certain; a heavy-up or scale-down test ([[lift_test]] multiplier) \
                 measures the slope of a curve, a test of the contribution does not \
                 (summary.json \"evidence\", docs/model.md §9)",
                open.join(", ")
            )
        })
    }

    /// What the fit found about itself that a user should know before trusting its forecast:
    /// training that stopped at the first epoch (the fit is its starting point), and a
    /// validation forecast worse than the best naive baseline on within-region R² or wMAPE.
    /// Recorded in [`FittedModel::warnings`] by `fit_panel`.
    pub fn self_check(&self) -> Vec<String> {
        let mut warnings = Vec::new();
        let validated = self.config.train.validation_weeks.is_some_and(|v| v > 0);
        if validated && self.best_epochs <= 1 {
            warnings.push(format!(
                "training stopped at epoch {}: no epoch improved the validation loss on the \
                 starting point, so the fit is little more than its initialisation; compare its \
                 forecast with the naive baselines before using it",
                self.best_epochs
            ));
        }
        let Some(v) = &self.validation else {
            return warnings;
        };
        let best = |key: fn(&mmm_eval::FitMetrics) -> f64, higher: bool| {
            v.baselines
                .iter()
                .filter(|b| key(&b.holdout).is_finite())
                .max_by(|a, b| {
                    let o = key(&a.holdout).total_cmp(&key(&b.holdout));
                    if higher { o } else { o.reverse() }
                })
        };
        let within = best(|m| m.r2_within, true);
        let wmape = best(|m| m.wmape, false);
        let worse_within = within.filter(|b| v.model.r2_within < b.holdout.r2_within);
        let worse_wmape = wmape.filter(|b| v.model.wmape > b.holdout.wmape);
        if worse_within.is_some() || worse_wmape.is_some() {
            let weeks = &self.split.validation;
            let name = |i: usize| {
                self.weeks
                    .get(i)
                    .map_or_else(String::new, ToString::to_string)
            };
            let mut parts = Vec::new();
            if let Some(b) = within {
                parts.push(format!(
                    "within-region R² {:.3} against {:.3} ({})",
                    v.model.r2_within, b.holdout.r2_within, b.name
                ));
            }
            if let Some(b) = wmape {
                parts.push(format!(
                    "wMAPE {:.3} against {:.3} ({})",
                    v.model.wmape, b.holdout.wmape, b.name
                ));
            }
            warnings.push(format!(
                "on its validation slice (weeks {} to {}, forecast without learning from them) the \
                 fit is worse than a naive per-region baseline: {}; do not expect its forecasts \
                 to beat that baseline",
                name(weeks.start),
                name(weeks.end.saturating_sub(1)),
                parts.join(", ")
            ));
        }
        warnings
    }

    /// A note naming the regions left out of training ([`FittedModel::left_out`]) and how they
    /// are forecast; `None` when every region was trained.
    pub fn left_out_note(&self) -> Option<String> {
        (!self.left_out.is_empty()).then(|| {
            format!(
                "{} region(s) left out of training, with fewer than {MIN_REGION_FIT_WEEKS} \
                 observed weeks before the validation slice: {}; they are forecast from the \
                 shared terms (trend, season, media, controls) at the level of their own training \
                 mean, or of the pooled training mean when they have no training week \
                 (docs/model.md §5)",
                self.left_out.len(),
                self.left_out.join(", ")
            )
        })
    }

    /// Whether training ran all epochs without a validation slice (`dcmmm fit --converged`).
    fn trained_without_validation(&self) -> bool {
        self.config.train.validation_weeks == Some(0)
    }
}

/// The caveat of a one-region (national) fit.
const SINGLE_REGION_CAVEAT: &str = "one region: a single time series identifies the channels' \
effects only weakly — on simulated national panels the model's contribution shares were no closer to \
the truth than an equal split, and the budget reallocation of 5 of 24 seeds did worse than keeping \
the historical split (docs/model.md §3 and §8, docs/results.md). Read ROI, curves and allocations as \
rough; lift tests ([[lift_test]] in fit.toml) improve the shares, regional data the allocations.";

/// The caveat of a fit trained without a validation slice (`dcmmm fit --converged`).
const CONVERGED_CAVEAT: &str = "trained to convergence (no validation slice): such fits forecast worse \
than early-stopped ones (on the reference panel behind the naive baseline) — on regional panels fitted \
jointly use this fit for curves and optimize, an early-stopped fit for predict; a two-stage fit's media \
part does not depend on it (docs/analysis.md §5).";

/// The hint of [`FittedModel::decision_hint`].
const EARLY_STOPPED_DECISION_HINT: &str = "this joint fit was stopped early, for forecasting; on \
regional simulations the curves of a joint fit trained to convergence (`dcmmm fit --converged`) gave \
better budget allocations, and the default two-stage fit better still (docs/analysis.md §5).";

/// The caveat of a one-region fit trained to convergence.
const CONVERGED_SINGLE_REGION_CAVEAT: &str = "one region trained to convergence: on simulated national \
panels this made the budget reallocation worse than the early-stopped fit's (8 of 24 seeds did worse \
than the historical split, against 5); keep the default fit for decisions on one region.";
