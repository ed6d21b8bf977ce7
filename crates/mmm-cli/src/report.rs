//! `dcmmm report`: rebuild the self-contained HTML report (`report.html`) from a saved
//! `model.json`, without refitting. The scorecard is recomputed from the model's stored history;
//! response curves come from `mmm-analysis` over every week of the history; a budget allocation
//! is shown when `allocation.json` (written by `dcmmm optimize`) lies next to the model, and the
//! attribution ranges when `stability.json` (written by `dcmmm fit --restarts`) does.
//! Data-validation warnings are not stored in `model.json`, so the summary card says so.

use anyhow::{Context, Result};
use clap::Args;
use mmm_fitted::{FittedModel, Scorecard, Stability};
use mmm_report::{Allocation, ReportInput, ResponseCurves, write_report};
use std::path::PathBuf;

/// Examples shown by `dcmmm report --help`.
pub const EXAMPLES: &str = "\
Examples:
  dcmmm report --model fit/model.json                 # writes fit/report.html
  dcmmm report --model fit/model.json --out /tmp/sales-report.html

The report is one HTML file with plotly.js embedded: it opens offline in any browser.";

/// Flags of `dcmmm report`.
#[derive(Args, Debug)]
pub struct ReportArgs {
    /// `model.json` written by `dcmmm fit`.
    #[arg(long, value_name = "FILE")]
    pub model: PathBuf,
    /// Output file (default: `report.html` next to the model).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

/// Run `dcmmm report`.
pub fn run(args: &ReportArgs) -> Result<()> {
    let fitted = FittedModel::load(&args.model)?;
    let panel = fitted.history_panel()?;
    let (prediction, _) = fitted.predict(&panel)?;
    let scorecard = Scorecard::compute(&fitted, &panel, &prediction)?;
    let dir = args
        .model
        .parent()
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."));

    let curve_cfg = mmm_analysis::CurveConfig {
        window: mmm_analysis::WindowSpec::All,
        ..mmm_analysis::CurveConfig::default()
    };
    let curves = match mmm_analysis::response_curves(&fitted, &curve_cfg) {
        Ok(c) => Some(ResponseCurves::from_analysis(&c, &fitted.channels)?),
        Err(e) => {
            eprintln!(
                "warning: response curves from mmm-analysis failed ({e}); the report computes them from the model"
            );
            None
        }
    };
    let alloc_path = dir.join("allocation.json");
    let allocation = if alloc_path.exists() {
        let text = std::fs::read_to_string(&alloc_path)
            .with_context(|| format!("reading {}", alloc_path.display()))?;
        let a: mmm_analysis::Allocation = serde_json::from_str(&text)
            .with_context(|| format!("{}: not an allocation file", alloc_path.display()))?;
        Some(Allocation::from_analysis(&a, &fitted.channels)?)
    } else {
        None
    };

    let stability_path = dir.join(crate::fit::STABILITY_FILE);
    let stability: Option<Stability> = if stability_path.exists() {
        let text = std::fs::read_to_string(&stability_path)
            .with_context(|| format!("reading {}", stability_path.display()))?;
        let st: Stability = serde_json::from_str(&text)
            .with_context(|| format!("{}: not a stability file", stability_path.display()))?;
        anyhow::ensure!(
            st.channels
                .iter()
                .map(|c| &c.channel)
                .eq(fitted.channels.iter()),
            "{}: its channels differ from the model's; refit with --restarts or remove it",
            stability_path.display()
        );
        Some(st)
    } else {
        None
    };

    let source = args.model.display().to_string();
    let input = ReportInput {
        source: Some(&source),
        curves: curves.as_ref(),
        allocation: allocation.as_ref(),
        stability: stability.as_ref(),
        ..ReportInput::new(&fitted, &panel, &scorecard)
    };
    let out = args.out.clone().unwrap_or_else(|| dir.join("report.html"));
    write_report(&input, &out)?;
    println!("wrote {}", out.display());
    Ok(())
}
