//! The backtest page (`backtest.html`, written by `dcmmm backtest` beside `backtest.json`, or by
//! `dcmmm report --backtest FILE`): a rolling-origin backtest's forecast scores per origin —
//! pooled R², within-region R² and wMAPE of the model beside each naive baseline and the best
//! naive baseline per metric — their means over the origins, and each origin's fit (media path,
//! epochs, regions left out, the fit's self-check warnings). One self-contained HTML file built
//! like the report (plotly.js embedded, numbers in a JSON block, everything from the data escaped).

use crate::{Error, PLOTLY_JS, PLOTLY_VERSION, Result, escape, fill};
use mmm_orchestrator::{Backtest, Scores};
use serde::Serialize;
use std::fmt::Write as _;
use std::path::Path;

const TEMPLATE: &str = include_str!("../assets/backtest.html");
const APP_JS: &str = include_str!("../assets/backtest.js");

/// What the page's script draws: per origin, the scores of the model, the best naive baseline and
/// every naive baseline.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BacktestData {
    /// Labels of the first forecast week of each origin.
    pub origins: Vec<String>,
    /// The model's scores per origin.
    pub model: Vec<Scores>,
    /// The best naive baseline per origin and metric.
    pub best_naive: Vec<Scores>,
    /// Each naive baseline's scores per origin (`None` where an origin lacks it).
    pub baselines: Vec<(String, Vec<Option<Scores>>)>,
}

impl BacktestData {
    /// The page's numbers from `bt`.
    pub fn build(bt: &Backtest) -> Self {
        let mut names: Vec<String> = Vec::new();
        for o in &bt.origins {
            for b in &o.baselines {
                if !names.contains(&b.name) {
                    names.push(b.name.clone());
                }
            }
        }
        BacktestData {
            origins: bt
                .origins
                .iter()
                .map(|o| o.first_forecast_week.clone())
                .collect(),
            model: bt.origins.iter().map(|o| Scores::from(&o.model)).collect(),
            best_naive: bt.origins.iter().map(|o| o.best_naive()).collect(),
            baselines: names
                .into_iter()
                .map(|name| {
                    let per_origin = bt
                        .origins
                        .iter()
                        .map(|o| {
                            o.baselines
                                .iter()
                                .find(|b| b.name == name)
                                .map(|b| Scores::from(&b.holdout))
                        })
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

fn score_cells(s: &Scores) -> String {
    format!(
        "<td>{}</td><td>{}</td><td>{}</td>",
        number(s.r2_pooled),
        number(s.r2_within),
        number(s.wmape)
    )
}

/// The means over the origins: the model, the best naive baseline per metric, each baseline.
fn means_html(bt: &Backtest, data: &BacktestData) -> String {
    let mut h = String::from(
        "<table class=\"metrics\" id=\"backtest-means\"><thead><tr><th>mean over the origins</th>\
         <th>pooled R²</th><th>within-region R²</th><th>wMAPE</th></tr></thead><tbody>",
    );
    let _ = write!(
        h,
        "<tr class=\"model\"><td>dcmmm</td>{}</tr>",
        score_cells(&bt.model_mean())
    );
    let _ = write!(
        h,
        "<tr><td>best naive (per origin and metric)</td>{}</tr>",
        score_cells(&bt.best_naive_mean())
    );
    for (name, _) in &data.baselines {
        if let Some(m) = bt.baseline_mean(name) {
            let _ = write!(
                h,
                "<tr><td>naive {}</td>{}</tr>",
                escape::html(name),
                score_cells(&m)
            );
        }
    }
    h.push_str("</tbody></table>");
    h
}

/// One row per origin: its fit and its scores beside the best naive baseline, and its warnings.
fn origins_html(bt: &Backtest) -> String {
    let mut h = String::from(
        "<table class=\"metrics\" id=\"backtest-origins\"><thead><tr><th>origin</th>\
         <th>first forecast week</th><th>regions</th><th>pooled R²</th><th>within R²</th>\
         <th>wMAPE</th><th>naive pooled R²</th><th>naive within R²</th><th>naive wMAPE</th>\
         <th>media path</th><th>epochs</th><th>fit s</th></tr></thead><tbody>",
    );
    let mut warnings = String::new();
    for o in &bt.origins {
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}</td>{}{}<td>{}</td><td>{}</td><td>{:.1}</td></tr>",
            o.origin,
            escape::html(&o.first_forecast_week),
            o.regions,
            score_cells(&Scores::from(&o.model)),
            score_cells(&o.best_naive()),
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
pub fn render_backtest(bt: &Backtest, source: Option<&str>) -> Result<String> {
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
            ("MEANS", &means_html(bt, &data)),
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
pub fn write_backtest(bt: &Backtest, source: Option<&str>, path: &Path) -> Result<()> {
    let html = render_backtest(bt, source)?;
    mmm_data::write_atomic(path, |w| w.write_all(html.as_bytes()))
        .map_err(|e| Error::Io(path.display().to_string(), e))
}
