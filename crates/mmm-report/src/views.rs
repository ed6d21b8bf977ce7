//! The numbers behind every view, from the fit's results ([`mmm_fitted::FitResults`]: prediction,
//! decomposition, attribution, history curves) and, for the views of the model's own parts
//! (effectiveness, adstock, saturation), from the fitted model and its panel.
//!
//! Conventions (see `docs/report.md`):
//! * actual-vs-predicted comparisons (views 3–6) use the observed region-weeks only; the national
//!   series at week t is `Σ_r` over the regions observed in week t, for both actual and predicted;
//! * contributions and spend of the components and spend views (7–9, 17) sum over every
//!   region-week of the history in target units (the model predicts unobserved weeks too);
//! * ROI, marginal ROI and the response curves (views 10 and 14) are the attribution of
//!   `summary.json` ([`mmm_fitted::Summary`]) and the fit's history curves
//!   ([`mmm_fitted::HistoryCurve`]), summed over the observed region-weeks: ROI_c = contribution_c /
//!   spend_c, marginal ROI_c = (d contribution_c / dm) / spend_c at m = 1 for a common multiplier m
//!   on the channel's activity, total ROI from the DAG-mediated total effect;
//! * effectiveness (view 11) is the GRU multiplier m_c[r,t] averaged over the regions, absent when
//!   the fit does not modulate it (every multiplier exactly 1);
//! * saturation (view 13) is drawn against adstocked activity relative to its mean over the
//!   history (1 = the current average week), with the current mean marked;
//! * large series are rounded to 5 significant digits to keep the file small.

use crate::curves::{Allocation, ResponseCurves};
use crate::escape::html;
use crate::{Error, PosteriorSummary, ReportInput, Result};
use mmm_data::Panel;
use mmm_eval::FitMetrics;
use mmm_fitted::LiftTestCheck;
use mmm_fitted::summary::ChannelEntry;
use mmm_fitted::{ChannelStability, FittedModel, Scorecard, Spread, Stability};
use mmm_model::{Decomposition, Model, ModelInputs};
use ndarray::{Array2, ArrayView2, Axis};
use serde::Serialize;

/// Rounds to 5 significant digits (non-finite values pass through and serialise as `null`).
pub(crate) fn r5(x: f64) -> f64 {
    if !x.is_finite() || x == 0.0 {
        return x;
    }
    format!("{x:.4e}").parse().unwrap_or(x)
}

fn r5v(v: impl IntoIterator<Item = f64>) -> Vec<f64> {
    v.into_iter().map(r5).collect()
}

/// Week indices of the split.
#[derive(Debug, Clone, Serialize)]
pub struct SplitMarks {
    /// First validation week (end of the stage-1 fit weeks).
    pub validation_start: usize,
    /// First holdout week (= end of training).
    pub holdout_start: usize,
    /// End of the holdout.
    pub holdout_end: usize,
}

/// A named fit score for the R² chart of the summary card.
#[derive(Debug, Clone, Serialize)]
pub struct Score {
    /// Label ("model (train)", a baseline's name, ...).
    pub name: String,
    /// Pooled R².
    pub r2_pooled: f64,
    /// Within-region R².
    pub r2_within: f64,
}

/// Training history (view 2).
#[derive(Debug, Clone, Serialize)]
pub struct Training {
    /// Stage-1 epochs.
    pub epoch1: Vec<usize>,
    /// Stage-1 training loss.
    pub loss1: Vec<f64>,
    /// Stage-1 validation loss (`null` where absent).
    pub validation1: Vec<Option<f64>>,
    /// Stage-2 epochs.
    pub epoch2: Vec<usize>,
    /// Stage-2 training loss.
    pub loss2: Vec<f64>,
    /// Epochs selected by validation.
    pub best_epochs: usize,
}

/// Holdout cells (view 5).
#[derive(Debug, Clone, Serialize)]
pub struct HoldoutCells {
    /// Actual values.
    pub actual: Vec<f64>,
    /// Predicted values.
    pub predicted: Vec<f64>,
    /// Region index of each cell.
    pub region: Vec<usize>,
    /// Week index of each cell.
    pub week: Vec<usize>,
}

/// A named component of the decomposition.
#[derive(Debug, Clone, Serialize)]
pub struct Component {
    /// Component name (a channel or control name, or baseline/trend/seasonality).
    pub name: String,
    /// `base`, `control` or `channel`.
    pub kind: &'static str,
    /// National sum per week.
    pub series: Vec<f64>,
    /// Sum over all region-weeks.
    pub total: f64,
}

/// ROI figures per channel (view 10).
#[derive(Debug, Clone, Serialize)]
pub struct Roi {
    /// Total spend (or activity when no spend column was given).
    pub spend: Vec<f64>,
    /// Direct contribution.
    pub contribution: Vec<f64>,
    /// Total (DAG-mediated) contribution.
    pub total_contribution: Vec<f64>,
    /// contribution / spend.
    pub roi: Vec<f64>,
    /// total_contribution / spend.
    pub total_roi: Vec<f64>,
    /// Marginal ROI at the current spend.
    pub mroi: Vec<f64>,
    /// [min, max] of the direct ROI over the stability refits, when they were run.
    pub roi_range: Option<Vec<[f64; 2]>>,
    /// [min, max] of the marginal ROI over the stability refits, when they were run.
    pub mroi_range: Option<Vec<[f64; 2]>>,
}

/// Saturation curves (view 13).
#[derive(Debug, Clone, Serialize)]
pub struct SaturationCurves {
    /// Adstocked activity relative to its current mean.
    pub x: Vec<f64>,
    /// Saturation output per channel at each x.
    pub y: Vec<Vec<f64>>,
    /// Saturation output at the current mean (x = 1) per channel.
    pub current: Vec<f64>,
}

/// The channel DAG (view 15).
#[derive(Debug, Clone, Serialize)]
pub struct Dag {
    /// Standardised thresholded weights, `[i][j]` for edge i → j.
    pub standardized: Vec<Vec<f64>>,
    /// Weights in scaled-activity units.
    pub weights: Vec<Vec<f64>>,
    /// h(W) of the unthresholded solution.
    pub h: f64,
}

/// Everything the page draws, embedded once as JSON.
#[derive(Debug, Clone, Serialize)]
pub struct ReportData {
    /// Target column name.
    pub target: String,
    /// Week labels.
    pub weeks: Vec<String>,
    /// Region names.
    pub regions: Vec<String>,
    /// Channel names.
    pub channels: Vec<String>,
    /// Control names.
    pub controls: Vec<String>,
    /// Split marks.
    pub split: SplitMarks,
    /// R² scores for the summary chart (model train/holdout, then baselines on the holdout).
    pub scores: Vec<Score>,
    /// View 2.
    pub training: Training,
    /// View 3: national actual per week.
    pub national_actual: Vec<f64>,
    /// View 3: national predicted per week (same observed cells).
    pub national_predicted: Vec<f64>,
    /// View 4: actual `[region][week]` (`null` where unobserved).
    pub region_actual: Vec<Vec<f64>>,
    /// View 4: predicted `[region][week]`.
    pub region_predicted: Vec<Vec<f64>>,
    /// View 5.
    pub holdout: HoldoutCells,
    /// View 6: residuals relative to the region mean ȳ_r, training cells.
    pub residual_train: Vec<f64>,
    /// View 6: the same, holdout cells.
    pub residual_holdout: Vec<f64>,
    /// Views 7–9.
    pub components: Vec<Component>,
    /// View 10.
    pub roi: Roi,
    /// View 11: effectiveness `[channel][week]`, mean over regions; `None` when the fit does not
    /// modulate effectiveness (every multiplier is 1).
    pub effectiveness: Option<Vec<Vec<f64>>>,
    /// View 12: adstock weights `[channel][lag]`.
    pub adstock: Vec<Vec<f64>>,
    /// View 13.
    pub saturation: SaturationCurves,
    /// View 14.
    pub curves: ResponseCurves,
    /// View 15.
    pub dag: Dag,
    /// View 16 (absent when no optimisation was run).
    pub allocation: Option<Allocation>,
    /// View 17: national spend (or activity) `[channel][week]`.
    pub spend: Vec<Vec<f64>>,
    /// View 17: controls `[control][week]`, mean over regions.
    pub control_series: Vec<Vec<f64>>,
    /// Views 18 and 19 (absent without a posterior).
    pub posterior: Option<crate::posterior::PosteriorView>,
}

/// Number of adstock lags drawn in view 12.
pub const ADSTOCK_LAGS: usize = 13;

impl ReportData {
    /// Computes every view's numbers.
    pub fn build(input: &ReportInput<'_>) -> Result<Self> {
        let (f, p) = (input.fitted, input.panel);
        check_shapes(f, p)?;
        let model = f.model()?;
        let inputs = f.inputs_for(p)?;
        let (pred, dec) = (&input.results.prediction, &input.results.decomposition);
        let (national_actual, national_predicted) = national_totals(p, pred);
        let (holdout, residual_train, residual_holdout) = holdout_and_residuals(f, p, pred);
        Ok(ReportData {
            target: f.columns.target.clone(),
            weeks: f.weeks.iter().map(|w| w.to_string()).collect(),
            regions: f.regions.clone(),
            channels: f.channels.clone(),
            controls: f.controls.clone(),
            split: SplitMarks {
                validation_start: f.split.validation.start,
                holdout_start: f.split.holdout.start,
                holdout_end: f.split.holdout.end,
            },
            scores: scores(input.scorecard),
            training: training(f),
            national_actual,
            national_predicted,
            region_actual: by_region(p, &p.target, true),
            region_predicted: by_region(p, pred, false),
            holdout,
            residual_train,
            residual_holdout,
            components: components(f, dec),
            roi: roi(input)?,
            effectiveness: effectiveness(&model, f, &inputs),
            adstock: adstock_weights(&model, f),
            saturation: saturation_curves(&model, f, &inputs),
            curves: response_curves(input)?,
            dag: Dag {
                standardized: f.dag.standardized.clone(),
                weights: f.dag.weights.clone(),
                h: f.dag.h,
            },
            allocation: allocation(input)?,
            spend: spend_series(p),
            control_series: control_series(p),
            posterior: input
                .posterior
                .map(|post| crate::posterior::PosteriorView::build(post, &f.channels))
                .transpose()?,
        })
    }
}

/// The panel must be the one the model describes (same regions, weeks, channels, controls).
fn check_shapes(f: &FittedModel, p: &Panel) -> Result<()> {
    if p.n_regions() != f.regions.len()
        || p.n_weeks() != f.weeks.len()
        || p.n_channels() != f.channels.len()
        || p.n_controls() != f.controls.len()
    {
        return Err(Error::Input(format!(
            "panel is {}×{} with {} channels and {} controls; the model was fitted on {}×{} with {} and {}",
            p.n_regions(),
            p.n_weeks(),
            p.n_channels(),
            p.n_controls(),
            f.regions.len(),
            f.weeks.len(),
            f.channels.len(),
            f.controls.len()
        )));
    }
    Ok(())
}

/// View 1: R² of the model (train, holdout) and of the naive baselines (holdout).
fn scores(card: &Scorecard) -> Vec<Score> {
    let mut scores = vec![score("model (train)", &card.train)];
    if let Some(h) = &card.holdout {
        scores.push(score("model (holdout)", h));
    }
    for b in &card.baselines {
        scores.push(score(&format!("{} (holdout)", b.name), &b.holdout));
    }
    scores
}

/// View 2: the loss curves of stage 1 of the most recent validation fold (the one whose learning
/// rates stage 2 replays) and of stage 2.
fn training(f: &FittedModel) -> Training {
    let stage = |s: u8| {
        f.training
            .iter()
            .filter(move |e| e.stage == s && e.fold == 0)
    };
    Training {
        epoch1: stage(1).map(|e| e.epoch).collect(),
        loss1: r5v(stage(1).map(|e| e.train_loss)),
        validation1: stage(1).map(|e| e.validation_loss.map(r5)).collect(),
        epoch2: stage(2).map(|e| e.epoch).collect(),
        loss2: r5v(stage(2).map(|e| e.train_loss)),
        best_epochs: f.best_epochs,
    }
}

/// View 3: national actual and predicted per week over the regions observed that week (`NaN`
/// for a week without any).
fn national_totals(p: &Panel, pred: &Array2<f64>) -> (Vec<f64>, Vec<f64>) {
    let (n_r, n_t) = (p.n_regions(), p.n_weeks());
    let mut national_actual = vec![f64::NAN; n_t];
    let mut national_predicted = vec![f64::NAN; n_t];
    for t in 0..n_t {
        let (mut a, mut q, mut any) = (0.0, 0.0, false);
        for r in 0..n_r {
            if p.observed[[r, t]] {
                a += p.target[[r, t]];
                q += pred[[r, t]];
                any = true;
            }
        }
        if any {
            national_actual[t] = a;
            national_predicted[t] = q;
        }
    }
    (r5v(national_actual), r5v(national_predicted))
}

/// View 4: `a` as `[region][week]`, `NaN` in unobserved cells when `masked`.
fn by_region(p: &Panel, a: &Array2<f64>, masked: bool) -> Vec<Vec<f64>> {
    (0..p.n_regions())
        .map(|r| {
            r5v((0..p.n_weeks()).map(|t| {
                if masked && !p.observed[[r, t]] {
                    f64::NAN
                } else {
                    a[[r, t]]
                }
            }))
        })
        .collect()
}

/// Views 5–6: the observed holdout cells, and the residuals relative to the region mean of the
/// observed training and holdout cells.
fn holdout_and_residuals(
    f: &FittedModel,
    p: &Panel,
    pred: &Array2<f64>,
) -> (HoldoutCells, Vec<f64>, Vec<f64>) {
    let hold = f.split.holdout.clone();
    let mut holdout = HoldoutCells {
        actual: Vec::new(),
        predicted: Vec::new(),
        region: Vec::new(),
        week: Vec::new(),
    };
    let (mut residual_train, mut residual_holdout) = (Vec::new(), Vec::new());
    for r in 0..p.n_regions() {
        let ybar = f.target_scaler.means[r];
        for t in 0..p.n_weeks() {
            if !p.observed[[r, t]] {
                continue;
            }
            let rel = (p.target[[r, t]] - pred[[r, t]]) / ybar;
            if hold.contains(&t) {
                holdout.actual.push(r5(p.target[[r, t]]));
                holdout.predicted.push(r5(pred[[r, t]]));
                holdout.region.push(r);
                holdout.week.push(t);
                residual_holdout.push(r5(rel));
            } else if f.split.train.contains(&t) {
                residual_train.push(r5(rel));
            }
        }
    }
    (holdout, residual_train, residual_holdout)
}

/// Views 7–9: every additive component's national series and total (baseline, trend,
/// seasonality, controls, channels).
fn components(f: &FittedModel, dec: &Decomposition) -> Vec<Component> {
    let component = |name: &str, kind, a: ArrayView2<f64>| Component {
        name: name.into(),
        kind,
        series: r5v(a.sum_axis(Axis(0))),
        total: a.sum(),
    };
    let mut components = vec![
        component("baseline", "base", dec.baseline.view()),
        component("trend", "base", dec.trend.view()),
        component("seasonality", "base", dec.seasonality.view()),
    ];
    for (k, name) in f.controls.iter().enumerate() {
        components.push(component(
            name,
            "control",
            dec.controls.index_axis(Axis(0), k),
        ));
    }
    for (c, name) in f.channels.iter().enumerate() {
        components.push(component(
            name,
            "channel",
            dec.channels.index_axis(Axis(0), c),
        ));
    }
    components
}

/// View 10: spend, direct and total contributions, ROI, total ROI and marginal ROI per channel,
/// with the ranges over the stability refits when they were run.
fn roi(input: &ReportInput<'_>) -> Result<Roi> {
    let channels = &input.results.summary.channels;
    let entries = input
        .fitted
        .channels
        .iter()
        .map(|name| {
            channels
                .get(name)
                .ok_or_else(|| Error::Input(format!("the fit's results have no channel `{name}`")))
        })
        .collect::<Result<Vec<&ChannelEntry>>>()?;
    let pick = |f: fn(&ChannelEntry) -> f64| entries.iter().map(|e| f(e)).collect::<Vec<f64>>();
    let ratio = |f: fn(&ChannelEntry) -> Option<f64>| {
        entries
            .iter()
            .map(|e| f(e).unwrap_or(f64::NAN))
            .collect::<Vec<f64>>()
    };
    Ok(Roi {
        roi: ratio(|e| e.roi),
        total_roi: ratio(|e| e.total_roi),
        mroi: ratio(|e| e.mroi),
        roi_range: input.stability.map(|st| ranges(st, |c| c.roi)),
        mroi_range: input.stability.map(|st| ranges(st, |c| c.mroi)),
        spend: pick(|e| e.spend),
        contribution: pick(|e| e.contribution),
        total_contribution: pick(|e| e.total_contribution),
    })
}

/// View 11: each channel's effectiveness multiplier per week, averaged over the regions; `None`
/// when the fit does not modulate effectiveness (every multiplier is exactly 1: a two-stage fit
/// holds the media part fixed, or `effect_modulation = 0`), so that the page says so instead of
/// drawing flat lines.
fn effectiveness(model: &Model, f: &FittedModel, inputs: &ModelInputs) -> Option<Vec<Vec<f64>>> {
    let eff = model.effectiveness(&model.forward(&f.params, inputs));
    if eff.iter().all(|&m| m == 1.0) {
        return None;
    }
    Some(
        eff.axis_iter(Axis(0))
            .map(|e| r5v(e.mean_axis(Axis(0)).expect("regions ≥ 1")))
            .collect(),
    )
}

/// View 12: each channel's adstock weights for lags `0..ADSTOCK_LAGS`.
fn adstock_weights(model: &Model, f: &FittedModel) -> Vec<Vec<f64>> {
    (0..f.channels.len())
        .map(|c| {
            r5v(model
                .adstock(c)
                .lag_weights(model.adstock_params(&f.params, c), ADSTOCK_LAGS))
        })
        .collect()
}

/// View 13: each channel's saturation against adstocked activity relative to its mean over the
/// history, for u ∈ [0, 3], and its value at the mean (u = 1).
fn saturation_curves(model: &Model, f: &FittedModel, inputs: &ModelInputs) -> SaturationCurves {
    let adstocked = mmm_model::causal::adstock_all(model, &f.params, inputs);
    let x: Vec<f64> = r5v((0..=60).map(|i| f64::from(i) * 0.05));
    let (mut y, mut current) = (Vec::new(), Vec::new());
    for c in 0..f.channels.len() {
        let sat = model.saturation(c);
        let sp = model.saturation_params(&f.params, c);
        let mean = adstocked.index_axis(Axis(0), c).mean().unwrap_or(0.0);
        let scale = if mean > 0.0 { mean } else { 1.0 };
        y.push(r5v(x.iter().map(|u| sat.eval(sp, u * scale))));
        current.push(r5(sat.eval(sp, scale)));
    }
    SaturationCurves { x, y, current }
}

/// View 14: the curves given (checked against the channels), else the fit's history curves.
fn response_curves(input: &ReportInput<'_>) -> Result<ResponseCurves> {
    match input.curves {
        Some(c) => {
            c.validate(input.fitted.channels.len())?;
            Ok(c.clone())
        }
        None => Ok(ResponseCurves::from_results(input.results)),
    }
}

/// View 16: the allocation given, checked against the channels.
fn allocation(input: &ReportInput<'_>) -> Result<Option<Allocation>> {
    if let Some(a) = input.allocation {
        a.validate(input.fitted.channels.len())?;
    }
    Ok(input.allocation.cloned())
}

/// View 17 (left): national spend (or activity) per channel and week.
fn spend_series(p: &Panel) -> Vec<Vec<f64>> {
    let spend = p.spend_or_media();
    (0..p.n_channels())
        .map(|c| r5v(spend.index_axis(Axis(2), c).sum_axis(Axis(0))))
        .collect()
}

/// View 17 (right): each control per week, averaged over the regions.
fn control_series(p: &Panel) -> Vec<Vec<f64>> {
    (0..p.n_controls())
        .map(|k| {
            r5v(p
                .controls_data
                .index_axis(Axis(2), k)
                .mean_axis(Axis(0))
                .expect("regions ≥ 1"))
        })
        .collect()
}

/// Per channel [min, max] of one quantity over the stability fits (NaN where undefined).
fn ranges(st: &Stability, pick: impl Fn(&ChannelStability) -> Option<Spread>) -> Vec<[f64; 2]> {
    st.channels
        .iter()
        .map(|c| pick(c).map_or([f64::NAN; 2], |r| [r5(r.min), r5(r.max)]))
        .collect()
}

fn score(name: &str, m: &FitMetrics) -> Score {
    Score {
        name: name.into(),
        r2_pooled: m.r2_pooled,
        r2_within: m.r2_within,
    }
}

fn fmt_metric(x: f64, digits: usize) -> String {
    if x.is_finite() {
        format!("{x:.digits$}")
    } else {
        "–".into()
    }
}

/// The summary card's table of the experiments the fit is calibrated to (`[[lift_test]]`): each
/// test beside the model's answer and z = (answer − lift) / se; `None` without tests. A test the
/// panel cannot answer (the report drawn for other data) is said so instead of the table.
fn lift_tests_html(f: &FittedModel, checks: &[LiftTestCheck]) -> Option<String> {
    if checks.is_empty() {
        return None;
    }
    let mut h = String::from(
        "<table class=\"metrics\"><caption>Experiments the fit is calibrated to \
         (<code>[[lift_test]]</code>): a test of a channel's contribution, or one at another \
         spend level (what the tested spend changed, the slope of its curve)</caption>\
         <thead><tr><th>channel</th><th>weeks</th><th>regions</th><th>test</th><th>measured</th>\
         <th>model</th><th>z</th></tr></thead><tbody>",
    );
    let number = |x: f64| {
        if x.is_finite() {
            r5(x).to_string()
        } else {
            "–".into()
        }
    };
    for c in checks {
        let t = &c.test;
        let regions = if t.regions.is_empty() {
            "all".to_string()
        } else {
            t.regions
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        };
        let kind = match (t.multiplier, &t.measured_until) {
            (None, _) => "contribution".to_string(),
            (Some(m), None) => format!("×{m} spend"),
            (Some(m), Some(until)) => format!("×{m} spend, read to {until}"),
        };
        h.push_str(&format!(
            "<tr><td>{}</td><td>{} … {}</td><td>{}</td><td>{}</td><td>{} ± {}</td><td>{}</td>\
             <td>{}</td></tr>",
            html(&t.channel),
            html(&t.start.to_string()),
            html(&t.end.to_string()),
            html(&regions),
            html(&kind),
            number(t.lift),
            number(t.se),
            number(c.model),
            fmt_metric(c.z, 2)
        ));
    }
    h.push_str("</tbody></table>");
    for (i, t) in f.config.lift_tests.iter().enumerate() {
        if let Some(w) = t.sign_warning() {
            h.push_str(&format!(
                "<p class=\"note\">lift_test {}: {}</p>",
                i + 1,
                html(&w)
            ));
        }
    }
    Some(h)
}

/// The summary card's note naming the channels whose response the data leave open
/// (`ScreenedMedia::undetermined`, docs/model.md, *How far to trust the attribution*); `None` when there are none or the media
/// part was not screened.
fn undetermined_html(f: &FittedModel) -> Option<String> {
    let media = f.screened_media.as_ref().filter(|m| m.used)?;
    let open = media.undetermined();
    if open.is_empty() {
        return None;
    }
    let names: Vec<String> = open
        .iter()
        .map(|&c| {
            format!(
                "<b>{}</b> ({})",
                html(&f.channels[c]),
                media.evidence[c].brief()
            )
        })
        .collect();
    Some(format!(
        "<p class=\"note\">The data leave the response of {} open: the effect is under three \
         standard errors or many carryovers or saturations fit as well, so their curves and \
         marginal ROI — and the optimiser's moves of them — are the best guess among near-equal \
         fits. A heavy-up or scale-down test (<code>[[lift_test]] multiplier</code>) measures \
         the slope of a channel's curve; a test of its contribution does not \
         (<code>summary.json</code> <code>evidence</code>, docs/model.md, *How far to trust the attribution*).</p>",
        names.join(", ")
    ))
}

/// The stability table of the summary card: each channel's share, ROI and marginal ROI as
/// median and [min, max] over the configured fit and its refits.
fn stability_html(st: &Stability) -> String {
    let pct = |x: f64| fmt_metric(100.0 * x, 1) + " %";
    let num = |x: f64| fmt_metric(x, 3);
    let cell = |r: Option<Spread>, f: &dyn Fn(f64) -> String| {
        r.map_or("–".into(), |r| {
            format!("{} [{} – {}]", f(r.median), f(r.min), f(r.max))
        })
    };
    let mut h = format!(
        "<p class=\"note\">Attribution stability: this fit and {} {} \
         (<code>stability.json</code>). Median [min – max] over the {} fits; a wide \
         range means the data do not pin that number down.</p>\
         <table class=\"metrics\"><thead><tr><th>channel</th><th>share</th><th>ROI</th>\
         <th>marginal ROI</th></tr></thead><tbody>",
        st.fits.len() - 1,
        st.refits_described(),
        st.fits.len()
    );
    for c in &st.channels {
        h.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            html(&c.channel),
            cell(Some(c.share), &pct),
            cell(c.roi, &num),
            cell(c.mroi, &num)
        ));
    }
    h.push_str("</tbody></table>");
    h
}

/// The posterior's part of the summary card: the sampler's diagnostics (a warning when they
/// failed) and each channel's share and ROI with their 90 % intervals.
fn posterior_html(post: &PosteriorSummary) -> String {
    let mut h = String::new();
    let facts = format!(
        "Posterior (NUTS, {} chains × {} draws): R-hat max {:.3}, bulk ESS min {:.0}, {} divergent transitions.",
        post.chains, post.draws, post.rhat_max, post.ess_bulk_min, post.divergences
    );
    if post.problems.is_empty() {
        h.push_str(&format!("<p class=\"ok\">{}</p>", html(&facts)));
    } else {
        h.push_str(&format!(
            "<ul class=\"warnings\"><li>{} The sampler's diagnostics failed: {}</li></ul>",
            html(&facts),
            html(&post.problems.join("; "))
        ));
    }
    h.push_str(
        "<table class=\"metrics\"><thead><tr><th>channel</th><th>share (posterior mean)</th>\
         <th>90 % interval</th><th>ROI (posterior mean)</th><th>90 % interval</th></tr></thead><tbody>",
    );
    for c in &post.channels {
        let pct = |x: f64| format!("{:.1} %", 100.0 * x);
        let (roi, roi_ci) = match c.roi {
            Some([m, lo, hi]) => (format!("{m:.3}"), format!("{lo:.3} … {hi:.3}")),
            None => ("–".into(), "–".into()),
        };
        h.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{} … {}</td><td>{roi}</td><td>{roi_ci}</td></tr>",
            html(&c.name),
            pct(c.share[0]),
            pct(c.share[1]),
            pct(c.share[2])
        ));
    }
    h.push_str("</tbody></table>");
    h
}

/// The summary card's HTML (view 1, text part): data shape, fit time, the fit table beside the
/// naive baselines, the fit's self-check warnings, its regions left out of training, the media
/// path it chose and the data warnings. Every data-derived string is HTML-escaped.
pub fn summary_html(input: &ReportInput<'_>) -> String {
    let f = input.fitted;
    let p = input.panel;
    let s = input.scorecard;
    let mut h = String::new();
    let first = f.weeks.first().map(|w| w.to_string()).unwrap_or_default();
    let last = f.weeks.last().map(|w| w.to_string()).unwrap_or_default();
    h.push_str("<dl class=\"facts\">");
    let mut fact = |k: &str, v: String| {
        h.push_str(&format!("<dt>{}</dt><dd>{}</dd>", html(k), html(&v)));
    };
    if let Some(src) = input.source {
        fact("data file", src.to_string());
    }
    if !f.run_id.is_empty() {
        fact("run id", f.run_id.clone());
    }
    fact("target", f.columns.target.clone());
    fact(
        "shape",
        format!(
            "{} regions × {} weeks ({first} … {last}), {} channels, {} controls, {} observed region-weeks",
            p.n_regions(),
            p.n_weeks(),
            p.n_channels(),
            p.n_controls(),
            p.n_observed()
        ),
    );
    fact(
        "split",
        format!(
            "{} training weeks (last {} for validation), {} holdout weeks",
            s.weeks.train, s.weeks.validation, s.weeks.holdout
        ),
    );
    fact(
        "fit",
        format!(
            "{:.1} s, {} epochs selected, {} epochs run",
            f.fit_seconds,
            f.best_epochs,
            f.training.len()
        ),
    );
    fact("channels", f.channels.join(", "));
    if !f.controls.is_empty() {
        fact("controls", f.controls.join(", "));
    }
    h.push_str("</dl>");

    h.push_str(
        "<table class=\"metrics\"><thead><tr><th>scored on</th><th>pooled R²</th>\
         <th>within-region R²</th><th>MAPE</th><th>wMAPE</th><th>RMSE</th><th>cells</th></tr></thead><tbody>",
    );
    let mut row = |name: &str, m: &FitMetrics, class: &str| {
        h.push_str(&format!(
            "<tr class=\"{class}\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            html(name),
            fmt_metric(m.r2_pooled, 3),
            fmt_metric(m.r2_within, 3),
            fmt_metric(100.0 * m.mape, 1) + " %",
            fmt_metric(100.0 * m.wmape, 1) + " %",
            fmt_metric(m.rmse, 4),
            m.n
        ));
    };
    row("model, training weeks", &s.train, "model");
    if let Some(hm) = &s.holdout {
        row("model, holdout weeks", hm, "model");
    }
    for b in &s.baselines {
        row(
            &format!("naive baseline `{}`, holdout weeks", b.name),
            &b.holdout,
            "baseline",
        );
    }
    h.push_str("</tbody></table>");

    for c in f.caveats() {
        h.push_str(&format!("<p class=\"note\">{}</p>", html(c)));
    }
    if !f.warnings.is_empty() {
        h.push_str("<ul class=\"warnings\">");
        for w in &f.warnings {
            h.push_str(&format!("<li>Self-check: {}</li>", html(w)));
        }
        h.push_str("</ul>");
    }
    if let Some(note) = f.left_out_note() {
        h.push_str(&format!("<p class=\"note\">{}</p>", html(&note)));
    }
    if let Some(path) = &f.path {
        h.push_str(&format!("<p class=\"note\">{}</p>", html(&path.describe())));
    }
    if let Some(note) = undetermined_html(f) {
        h.push_str(&note);
    }
    if let Some(table) = lift_tests_html(f, &input.results.summary.lift_tests) {
        h.push_str(&table);
    }
    if let Some(st) = input.stability {
        h.push_str(&stability_html(st));
    }
    if let Some(post) = input.posterior {
        h.push_str(&posterior_html(post));
    }
    match input.warnings {
        None => h.push_str(
            "<p class=\"note\">Data-validation warnings are not kept in model.json; \
             run <code>dcmmm validate</code> on the data file to see them.</p>",
        ),
        Some([]) => h.push_str("<p class=\"ok\">Data validation raised no warnings.</p>"),
        Some(warnings) => {
            h.push_str("<ul class=\"warnings\">");
            for w in warnings {
                h.push_str(&format!("<li>{}</li>", html(w)));
            }
            h.push_str("</ul>");
        }
    }
    h
}
