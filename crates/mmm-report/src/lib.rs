//! The dcmmm report: one self-contained, interactive HTML file with every diagnostic view of a
//! fitted model.
//!
//! [`write_report`] (or [`render_report`] for the text) turns a [`ReportInput`] — the fitted model,
//! the panel it was fitted on, its [`Scorecard`](mmm_fitted::Scorecard), the data-validation
//! warnings and, optionally, response curves and a budget allocation — into a single HTML file:
//!
//! * the charting library (plotly.js, MIT, vendored minified in `assets/`) is embedded, so the file
//!   opens offline with no CDN and no server;
//! * the numbers of every view are computed here in Rust ([`views`]) and embedded once as a JSON
//!   data block; a small script (`assets/report.js`) draws each view from it with plotly;
//! * everything from the data is escaped where it enters HTML or the script block ([`escape`]).
//!
//! Views (each with a one-line reading guide in the page): 1 summary card, 2 training curves,
//! 3 national actual vs predicted, 4 the same per region (selector), 5 holdout scatter,
//! 6 residuals, 7 stacked contributions, 8 contribution shares, 9 waterfall, 10 ROI and marginal
//! ROI, 11 effectiveness over time, 12 adstock decay, 13 saturation curves, 14 response curves
//! (with 5–95 % bands when the curves have them), 15 the channel DAG (network and heatmap),
//! 16 budget allocation, 17 data overview, 18 posterior intervals of share and ROI (forest plot)
//! and 19 the sampler's diagnostics (both with `dcmmm fit --posterior`).
//!
//! [`render_backtest`] renders a rolling-origin backtest (`backtest.json`) as a page of its own,
//! built the same way ([`backtest`]).
//! `docs/report.md` gives the formulas behind each view.

pub mod backtest;
pub mod curves;
pub mod escape;
pub mod posterior;
pub mod views;

pub use backtest::{BacktestPage, ForecastScores, OriginRow, render_backtest, write_backtest};
pub use curves::{Allocation, ChannelCurve, CurveBand, ResponseCurves};
pub use posterior::ParameterTrace;
pub use views::ReportData;

use mmm_data::Panel;
use mmm_fitted::{FitResults, FittedModel, Scorecard, Stability};
use std::path::Path;

/// The plotly.js bundle embedded in every report (`plotly.js-cartesian-dist-min`, the cartesian
/// trace types only, MIT licence).
pub const PLOTLY_JS: &str = include_str!("../assets/plotly.min.js");
/// Version of the embedded plotly.js.
pub const PLOTLY_VERSION: &str = "4.1.1";
const TEMPLATE: &str = include_str!("../assets/report.html");
const APP_JS: &str = include_str!("../assets/report.js");

/// Errors of the report crate.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The fitted model could not be evaluated on the panel (boxed: the fitted model's error is
    /// large).
    #[error(transparent)]
    Model(Box<mmm_fitted::Error>),
    /// An input does not match the model (wrong number of channels, regions or weeks).
    #[error("report input: {0}")]
    Input(String),
    /// Serialising the report data failed.
    #[error("serialising the report data: {0}")]
    Json(#[from] serde_json::Error),
    /// Writing the file failed.
    #[error("{0}: {1}")]
    Io(String, #[source] std::io::Error),
}

impl From<mmm_fitted::Error> for Error {
    fn from(e: mmm_fitted::Error) -> Self {
        Error::Model(Box::new(e))
    }
}

/// Result alias of the report crate.
pub type Result<T> = std::result::Result<T, Error>;

/// Everything a report is made from: the fit, its history and what was computed from them once
/// ([`FitResults`]). Views 14 (response curves) and 16 (budget allocation) are optional: without
/// `curves` the report draws the fit's history curves ([`ResponseCurves::from_results`]);
/// without `allocation` view 16 says that no optimisation was run.
#[derive(Debug, Clone, Copy)]
pub struct ReportInput<'a> {
    /// The fitted model.
    pub fitted: &'a FittedModel,
    /// The panel it was fitted on (`fitted.history_panel()`).
    pub panel: &'a Panel,
    /// Its scorecard (`metrics.json`).
    pub scorecard: &'a Scorecard,
    /// Its prediction, decomposition, attribution and history curves on `panel`
    /// ([`FitResults::compute`]).
    pub results: &'a FitResults,
    /// Warnings from data validation, shown in the summary card; `None` when they are not known
    /// (a report rebuilt from `model.json`, which does not keep them).
    pub warnings: Option<&'a [String]>,
    /// Name of the input data file, shown in the title (escaped).
    pub source: Option<&'a str>,
    /// Response curves (view 14); the fit's history curves when `None`.
    pub curves: Option<&'a ResponseCurves>,
    /// A budget allocation (view 16), when an optimisation was run.
    pub allocation: Option<&'a Allocation>,
    /// Refits (`dcmmm fit --restarts`): ROI ranges in view 10 and a note in
    /// the summary card.
    pub stability: Option<&'a Stability>,
    /// Posterior intervals and sampler diagnostics (`dcmmm fit --posterior`): the summary card
    /// and views 18 and 19.
    pub posterior: Option<&'a PosteriorSummary>,
}

/// What the summary card shows of a posterior (`dcmmm fit --posterior`): each channel's share and
/// ROI with their 90 % intervals, and whether the sampler's diagnostics passed.
#[derive(Debug, Clone, PartialEq)]
pub struct PosteriorSummary {
    /// Chains run.
    pub chains: usize,
    /// Kept draws per chain.
    pub draws: usize,
    /// Largest rank-normalised split R-hat.
    pub rhat_max: f64,
    /// Smallest bulk effective sample size.
    pub ess_bulk_min: f64,
    /// Divergent transitions after tuning.
    pub divergences: usize,
    /// What failed, in words (empty when every check passed).
    pub problems: Vec<String>,
    /// One row per channel, in the model's channel order.
    pub channels: Vec<PosteriorChannel>,
    /// Key parameters' draws per chain and diagnostics (view 19).
    pub traces: Vec<ParameterTrace>,
}

/// One channel's posterior mean and 90 % interval `[p05, p95]` of share and ROI.
#[derive(Debug, Clone, PartialEq)]
pub struct PosteriorChannel {
    /// Channel name (escaped when rendered).
    pub name: String,
    /// Share of the media total: mean, p05, p95.
    pub share: [f64; 3],
    /// ROI: mean, p05, p95 (`None` without spend).
    pub roi: Option<[f64; 3]>,
}

impl<'a> ReportInput<'a> {
    /// An input with unknown warnings, no source name, no curves and no allocation.
    pub fn new(
        fitted: &'a FittedModel,
        panel: &'a Panel,
        scorecard: &'a Scorecard,
        results: &'a FitResults,
    ) -> Self {
        ReportInput {
            fitted,
            panel,
            scorecard,
            results,
            warnings: None,
            source: None,
            curves: None,
            allocation: None,
            stability: None,
            posterior: None,
        }
    }
}

/// Fills `{{KEY}}` markers of `template` in one pass (substituted values are never rescanned).
fn fill(template: &str, values: &[(&str, &str)]) -> String {
    let extra: usize = values.iter().map(|(_, v)| v.len()).sum();
    let mut out = String::with_capacity(template.len() + extra);
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        match after.find("}}") {
            Some(end) => {
                let key = &after[..end];
                match values.iter().find(|(k, _)| *k == key) {
                    Some((_, v)) => out.push_str(v),
                    None => {
                        out.push_str("{{");
                        out.push_str(key);
                        out.push_str("}}");
                    }
                }
                rest = &after[end + 2..];
            }
            None => {
                out.push_str(&rest[start..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// The report as HTML text.
pub fn render_report(input: &ReportInput<'_>) -> Result<String> {
    let data = ReportData::build(input)?;
    render_data(&data, input)
}

/// Renders already-computed report data (the title and summary card come from `input`).
pub fn render_data(data: &ReportData, input: &ReportInput<'_>) -> Result<String> {
    let title = match input.source {
        Some(src) => format!("dcmmm report: {} ({src})", input.fitted.columns.target),
        None => format!("dcmmm report: {}", input.fitted.columns.target),
    };
    let summary = views::summary_html(input);
    let json = escape::script_json(data)?;
    Ok(fill(
        TEMPLATE,
        &[
            ("TITLE", &escape::html(&title)),
            ("RUN_ID", &escape::html(&input.fitted.run_id)),
            ("SUMMARY", &summary),
            ("PLOTLY_VERSION", PLOTLY_VERSION),
            ("PLOTLY", PLOTLY_JS),
            ("DATA", &json),
            ("APP", APP_JS),
        ],
    ))
}

/// Writes the report to `path`.
pub fn write_report(input: &ReportInput<'_>, path: &Path) -> Result<()> {
    let html = render_report(input)?;
    mmm_data::write_atomic(path, |w| w.write_all(html.as_bytes()))
        .map_err(|e| Error::Io(path.display().to_string(), e))
}

#[cfg(test)]
mod tests;
