//! Fitting a loaded panel end to end.
//!
//! [`fit_panel`] splits the calendar (holdout = the last weeks, never used for any training
//! decision), fits the scalers on the training weeks, trains the model, learns the channel DAG and
//! builds the [`FittedModel`] once, from what the fit chose and learnt.

use crate::calibration::{calibration_for, screen_experiments};
use crate::train::{Progress, TrainOutcome, train};
use crate::{Error, Result};
use mmm_data::{ColumnSpec, ControlScaler, MediaScaler, Panel, TargetScaler, TimeSplit};
use mmm_fitted::model::observed_mask;
use mmm_fitted::predict::Scaling;
use mmm_fitted::variation::within_region;
use mmm_fitted::{
    BaselineScore, FitConfig, FittedModel, History, MIN_REGION_FIT_WEEKS, MODEL_FORMAT,
    MODEL_VERSION, PathChoice, PathScore, ScreenedMedia, ValidationScore,
};
use mmm_linear::{Experiment, KernelScreen, MediaScreen, ScreenData, WithinRegion};
use mmm_model::{KernelStart, MediaFit, Model, ModelConfig, ModelInputs, fit_channel_dag};
use mmm_transforms::{Hill, TransformRegistry, WeibullAdstock};
use ndarray::{Array2, Array3, Axis};
use std::time::Instant;

/// What a fit trains in: the resolved configuration, the calendar split and the scalers fitted
/// on the training weeks. The [`FittedModel`] is built from it once training is done.
pub(crate) struct FitContext {
    /// The configuration, with the validation slice resolved.
    pub(crate) config: FitConfig,
    /// The calendar split.
    pub(crate) split: TimeSplit,
    /// Target scaler (ȳ_r).
    pub(crate) target_scaler: TargetScaler,
    /// Media scaler.
    pub(crate) media_scaler: MediaScaler,
    /// Control scaler.
    pub(crate) control_scaler: ControlScaler,
    /// Regions, channels and controls of the panel.
    dims: (usize, usize, usize),
    /// Where the configured transforms come from.
    transforms: TransformRegistry,
}

impl FitContext {
    /// The model structure of the fit.
    fn model(&self) -> Result<Model> {
        let (regions, channels, controls) = self.dims;
        Ok(Model::with_registry(
            self.config.model.clone(),
            regions,
            channels,
            controls,
            &self.transforms,
        )?)
    }

    /// Scaled model inputs of `panel` (`FittedModel::inputs_for`).
    fn inputs_for(&self, panel: &Panel) -> Result<ModelInputs> {
        let scaling = Scaling {
            target: &self.target_scaler,
            media: &self.media_scaler,
            controls: &self.control_scaler,
            split: &self.split,
            fourier_harmonics: self.config.model.fourier_harmonics,
        };
        Ok(scaling.inputs_for(panel)?)
    }
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
    let ctx = FitContext {
        config: cfg.clone(),
        split: split.clone(),
        target_scaler,
        media_scaler,
        control_scaler,
        dims: (panel.n_regions(), panel.n_channels(), panel.n_controls()),
        transforms: transforms.clone(),
    };
    let mut inputs = ctx.inputs_for(train_panel)?;
    let base_model = ctx.model()?;
    let weights = base_model.region_weights(&ctx.target_scaler.means);
    let train_weights = inputs.loss_weights(split.train.clone(), &weights)?;
    let screened = if two_stage_possible && cfg.model.media_fit != MediaFit::Joint {
        let experiments = screen_experiments(&ctx, train_panel, &inputs, &train_weights)?;
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
    if let Some(cal) = calibration_for(&ctx, train_panel, &inputs, &train_weights)? {
        inputs = inputs.with_calibration(cal)?;
    }
    let mut fits = Vec::with_capacity(paths.len());
    for &two_stage in paths {
        let mut model = ctx.model()?;
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
            path_score(*two_stage, model, outcome, &ctx, train_panel, &inputs)
        })
        .collect::<Result<_>>()?;
    let (two_stage, model, kernel_start, outcome) = fits.swap_remove(chosen);
    let dag = fit_channel_dag(
        &model,
        &outcome.params,
        &inputs,
        split.train.clone(),
        &cfg.dag,
    )?;
    let path = (scores.len() > 1).then(|| PathChoice {
        chosen: scores[chosen].path.clone(),
        scores: scores.clone(),
    });
    let FitContext {
        config,
        split,
        target_scaler,
        media_scaler,
        control_scaler,
        transforms,
        ..
    } = ctx;
    let mut fitted = FittedModel {
        format: MODEL_FORMAT.into(),
        version: MODEL_VERSION,
        run_id: String::new(),
        config,
        columns: columns.clone(),
        regions: panel.regions.clone(),
        weeks: panel.weeks.clone(),
        channels: panel.channels.clone(),
        controls: panel.controls.clone(),
        split,
        target_scaler,
        media_scaler,
        control_scaler,
        params: outcome.params,
        dag,
        training: outcome.history,
        best_epochs: outcome.best_epochs,
        fit_seconds: 0.0,
        kernel_start,
        screened_media: screened.map(|m| ScreenedMedia::from_screen(&m, two_stage)),
        left_out: left_out.iter().map(|&r| panel.regions[r].clone()).collect(),
        path,
        validation: scores.into_iter().nth(chosen).and_then(|s| s.validation),
        warnings: Vec::new(),
        history: History::of(panel),
        transforms,
    };
    // The self-check reads the complete fit; the clock stops last, as it always has.
    fitted.warnings = fitted.self_check();
    if fitted.config.model.media_fit == MediaFit::Auto && !two_stage_possible {
        fitted.warnings.push(joint_only_note(&fitted.config.model));
    }
    fitted.fit_seconds = started.elapsed().as_secs_f64();
    Ok(fitted)
}

/// How the media path `two_stage` (trained to `outcome`) did on the validation slice.
fn path_score(
    two_stage: bool,
    model: &Model,
    outcome: &TrainOutcome,
    ctx: &FitContext,
    train_panel: &Panel,
    inputs: &ModelInputs,
) -> Result<PathScore> {
    let validation = match &outcome.validation_params {
        Some(params) if !ctx.split.validation.is_empty() => {
            let scaled = model.forward(params, inputs).prediction;
            let prediction = ctx.target_scaler.inverse(&scaled);
            let weeks = ctx.split.validation.clone();
            let mask = observed_mask(train_panel, weeks.clone());
            let target = train_panel.target.view();
            Some(ValidationScore {
                model: mmm_eval::FitMetrics::compute(target, prediction.view(), mask.view()),
                baselines: mmm_eval::naive_baselines(
                    target,
                    train_panel.observed.view(),
                    ctx.split.fit_weeks(),
                    weeks,
                )?
                .into_iter()
                .map(|(name, holdout)| BaselineScore { name, holdout })
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

/// Fewest regions with enough training weeks (`mmm_linear::MIN_WEEKS`) for which the kernel
/// screen runs. On one region (about 140 training weeks of one series) its choice made the holdout
/// forecast of three of the four one-region example panels clearly worse (docs/model.md, *Defaults and how they were chosen*); from 40
/// regions up it helped. Between 1 and 40 nothing was measured: 10 is a conservative guess.
pub const SCREEN_MIN_REGIONS: usize = 10;

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
