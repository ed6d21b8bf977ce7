//! The backtest page (`backtest.html`, written by `dcmmm backtest` beside `backtest.json`, or by
//! `dcmmm report --backtest FILE`): a rolling-origin backtest's forecast scores per origin —
//! pooled R², within-region R² and wMAPE of the model beside each naive baseline and the best
//! naive baseline per metric — their means over the origins, and each origin's fit (media path,
//! epochs, regions left out, the fit's self-check warnings). One self-contained HTML file built
//! like the report (plotly.js embedded, numbers in a JSON block, everything from the data escaped).

use crate::{Error, PLOTLY_JS, PLOTLY_VERSION, Result, escape, fill};
use serde::Serialize;
use std::fmt::Write as _;
use std::path::Path;

const TEMPLATE: &str = include_str!("../assets/backtest.html");
const APP_JS: &str = include_str!("../assets/backtest.js");

/// The three headline scores of a forecast.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ForecastScores {
    /// Pooled R².
    pub r2_pooled: f64,
    /// Within-region R².
    pub r2_within: f64,
    /// wMAPE.
    pub wmape: f64,
}

/// One origin of a backtest as the page shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OriginRow {
    /// Calendar position of the first forecast week.
    pub origin: usize,
    /// Label of the first forecast week.
    pub first_forecast_week: String,
    /// Regions in the panel at this origin.
    pub regions: usize,
    /// The model's forecast scores.
    pub model: ForecastScores,
    /// The best naive baseline per metric.
    pub best_naive: ForecastScores,
    /// Each naive baseline's scores, by name.
    pub baselines: Vec<(String, ForecastScores)>,
    /// The media path kept.
    pub path: String,
    /// Epochs selected.
    pub epochs: usize,
    /// Seconds of the fit.
    pub fit_seconds: f64,
    /// The fit's self-check warnings.
    pub warnings: Vec<String>,
    /// Regions left out of training.
    pub left_out: Vec<String>,
}

/// A rolling-origin backtest as the page shows it: plain data, filled by the caller (`dcmmm`
/// from `backtest.json`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BacktestPage {
    /// Forecast weeks per origin.
    pub horizon: usize,
    /// Every origin, ascending.
    pub origins: Vec<OriginRow>,
    /// Means over the origins, one row each: the model, the best naive baseline, each baseline.
    pub means: Vec<(String, ForecastScores)>,
}

/// What the page's script draws: per origin, the scores of the model, the best naive baseline and
/// every naive baseline.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BacktestData {
    /// Labels of the first forecast week of each origin.
    pub origins: Vec<String>,
    /// The model's scores per origin.
    pub model: Vec<ForecastScores>,
    /// The best naive baseline per origin and metric.
    pub best_naive: Vec<ForecastScores>,
    /// Each naive baseline's scores per origin (`None` where an origin lacks it).
    pub baselines: Vec<(String, Vec<Option<ForecastScores>>)>,
}

impl BacktestData {
    /// The script's numbers from `page`.
    pub fn build(page: &BacktestPage) -> Self {
        let mut names: Vec<String> = Vec::new();
        for o in &page.origins {
            for (name, _) in &o.baselines {
                if !names.contains(name) {
                    names.push(name.clone());
                }
            }
        }
        BacktestData {
            origins: page
                .origins
                .iter()
                .map(|o| o.first_forecast_week.clone())
                .collect(),
            model: page.origins.iter().map(|o| o.model).collect(),
            best_naive: page.origins.iter().map(|o| o.best_naive).collect(),
            baselines: names
                .into_iter()
                .map(|name| {
                    let per_origin = page
                        .origins
                        .iter()
                        .map(|o| o.baselines.iter().find(|b| b.0 == name).map(|b| b.1))
                        .collect();
                    (name, per_origin)
                })
                .collect(),
        }
    }
}

fn number(x: f64) -> String {
    if x.is_finite() {
        format!("{x:.3}")
    } else {
        "–".into()
    }
}

fn score_cells(s: &ForecastScores) -> String {
    format!(
        "<td>{}</td><td>{}</td><td>{}</td>",
        number(s.r2_pooled),
        number(s.r2_within),
        number(s.wmape)
    )
}

/// The means over the origins, the first row (the model) in bold.
fn means_html(page: &BacktestPage) -> String {
    let mut h = String::from(
        "<table class=\"metrics\" id=\"backtest-means\"><thead><tr><th>mean over the origins</th>\
         <th>pooled R²</th><th>within-region R²</th><th>wMAPE</th></tr></thead><tbody>",
    );
    for (i, (name, s)) in page.means.iter().enumerate() {
        let class = if i == 0 { " class=\"model\"" } else { "" };
        let _ = write!(
            h,
            "<tr{class}><td>{}</td>{}</tr>",
            escape::html(name),
            score_cells(s)
        );
    }
    h.push_str("</tbody></table>");
    h
}

/// One row per origin: its fit and its scores beside the best naive baseline, and its warnings.
fn origins_html(page: &BacktestPage) -> String {
    let mut h = String::from(
        "<table class=\"metrics\" id=\"backtest-origins\"><thead><tr><th>origin</th>\
         <th>first forecast week</th><th>regions</th><th>pooled R²</th><th>within R²</th>\
         <th>wMAPE</th><th>naive pooled R²</th><th>naive within R²</th><th>naive wMAPE</th>\
         <th>media path</th><th>epochs</th><th>fit s</th></tr></thead><tbody>",
    );
    let mut warnings = String::new();
    for o in &page.origins {
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}</td>{}{}<td>{}</td><td>{}</td><td>{:.1}</td></tr>",
            o.origin,
            escape::html(&o.first_forecast_week),
            o.regions,
            score_cells(&o.model),
            score_cells(&o.best_naive),
            escape::html(&o.path),
            o.epochs,
            o.fit_seconds
        );
        for w in &o.warnings {
            let _ = write!(
                warnings,
                "<li>origin {} ({}): {}</li>",
                o.origin,
                escape::html(&o.first_forecast_week),
                escape::html(w)
            );
        }
        if !o.left_out.is_empty() {
            let names: Vec<String> = o.left_out.iter().map(|r| escape::html(r)).collect();
            let _ = write!(
                warnings,
                "<li>origin {}: regions left out of training (too few observed weeks): {}</li>",
                o.origin,
                names.join(", ")
            );
        }
    }
    h.push_str("</tbody></table>");
    if warnings.is_empty() {
        h.push_str("<p class=\"ok\" id=\"backtest-warnings\">No fit warned about itself.</p>");
    } else {
        let _ = write!(
            h,
            "<ul class=\"warnings\" id=\"backtest-warnings\">{warnings}</ul>"
        );
    }
    h
}

/// The backtest page as HTML text; `source` (the backtest file or the panel) is shown in the title.
///
/// # Errors
/// [`Error::Input`] for a backtest without origins; [`Error::Json`] if its numbers cannot be
/// serialised.
pub fn render_backtest(bt: &BacktestPage, source: Option<&str>) -> Result<String> {
    if bt.origins.is_empty() {
        return Err(Error::Input("the backtest has no origins".into()));
    }
    let data = BacktestData::build(bt);
    let title = match source {
        Some(s) => format!(
            "dcmmm backtest: {} origins × {} weeks ({s})",
            bt.origins.len(),
            bt.horizon
        ),
        None => format!(
            "dcmmm backtest: {} origins × {} weeks",
            bt.origins.len(),
            bt.horizon
        ),
    };
    Ok(fill(
        TEMPLATE,
        &[
            ("TITLE", &escape::html(&title)),
            ("MEANS", &means_html(bt)),
            ("ORIGINS", &origins_html(bt)),
            ("PLOTLY_VERSION", PLOTLY_VERSION),
            ("PLOTLY", PLOTLY_JS),
            ("DATA", &escape::script_json(&data)?),
            ("APP", APP_JS),
        ],
    ))
}

/// Writes the backtest page to `path` atomically.
///
/// # Errors
/// As [`render_backtest`], and [`Error::Io`] when the file cannot be written.
pub fn write_backtest(bt: &BacktestPage, source: Option<&str>, path: &Path) -> Result<()> {
    let html = render_backtest(bt, source)?;
    mmm_data::write_atomic(path, |w| w.write_all(html.as_bytes()))
        .map_err(|e| Error::Io(path.display().to_string(), e))
}
