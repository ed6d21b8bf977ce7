//! `dcmmm report`: rebuild the self-contained HTML report (`report.html`) from a saved
//! `model.json`, without refitting. The scorecard is recomputed from the model's stored history;
//! response curves come from `mmm-analysis` over every week of the history; a budget allocation
//! is shown when `allocation.json` (written by `dcmmm optimize`) lies next to the model, and the
//! attribution ranges when `stability.json` (written by `dcmmm fit --restarts`) does; with a
//! posterior (`dcmmm fit --posterior`: `posterior.csv`, `metrics.json` and `posterior_draws.json`
//! beside the model) the intervals, the sampler's diagnostics and the curves' bands. Data-validation
//! warnings are not stored in `model.json`, so the summary card says so.
//!
//! `dcmmm report --backtest DIR/backtest.json` renders a backtest's page (`backtest.html`, which
//! `dcmmm backtest` also writes) from its saved `backtest.json`.

use anyhow::{Context, Result};
use clap::Args;
use mmm_analysis::ParameterDraws;
use mmm_fitted::{FitResults, FittedModel, Scorecard, Stability};
use mmm_orchestrator::Backtest;
use mmm_report::{Allocation, ReportInput, ResponseCurves, write_report};
use std::path::{Path, PathBuf};

/// Examples shown by `dcmmm report --help`.
pub const EXAMPLES: &str = "\
Examples:
  dcmmm report --model fit/model.json                 # writes fit/report.html
  dcmmm report --model fit/model.json --out /tmp/sales-report.html
  dcmmm report --backtest bt/backtest.json           # writes bt/backtest.html

The report is one HTML file with plotly.js embedded: it opens offline in any browser.";

/// Flags of `dcmmm report`.
#[derive(Args, Debug)]
pub struct ReportArgs {
    /// `model.json` written by `dcmmm fit`.
    #[arg(
        long,
        value_name = "FILE",
        required_unless_present = "backtest",
        conflicts_with = "backtest"
    )]
    pub model: Option<PathBuf>,
    /// Render a backtest instead: `backtest.json` written by `dcmmm backtest`.
    #[arg(long, value_name = "FILE")]
    pub backtest: Option<PathBuf>,
    /// Output file (default: `report.html` next to the model, `backtest.html` next to the
    /// backtest).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

/// The directory of `file` (`.` for a bare file name).
fn dir_of(file: &Path) -> PathBuf {
    file.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .map_or_else(|| PathBuf::from("."), PathBuf::from)
}

/// The report's response curves over every week of the history, with the 5–95 % bands of the
/// direct curves over the posterior's parameter draws.
pub fn banded_curves(fitted: &FittedModel, draws: &ParameterDraws) -> Result<ResponseCurves> {
    let curves = mmm_analysis::response_curves_with_bands(fitted, Some(draws), &history_curves())?;
    Ok(ResponseCurves::from_analysis(&curves, &fitted.channels)?)
}

/// The curve settings of the report: every week of the history.
fn history_curves() -> mmm_analysis::CurveConfig {
    mmm_analysis::CurveConfig {
        window: mmm_analysis::WindowSpec::All,
        ..mmm_analysis::CurveConfig::default()
    }
}

/// Run `dcmmm report`.
pub fn run(args: &ReportArgs) -> Result<()> {
    let Some(model) = &args.model else {
        let path = args
            .backtest
            .as_ref()
            .expect("clap requires --model or --backtest");
        return backtest_page(path, args.out.as_deref());
    };
    let fitted = FittedModel::load(model)?;
    let panel = fitted.history_panel()?;
    let dir = dir_of(model);

    let draws = ParameterDraws::load_beside(model, &fitted)?;
    let posterior = crate::posterior::read_report_summary(&dir, &fitted)?;
    let curves = match mmm_analysis::response_curves_with_bands(
        &fitted,
        draws.as_ref(),
        &history_curves(),
    ) {
        Ok(c) => Some(ResponseCurves::from_analysis(&c, &fitted.channels)?),
        Err(e) => {
            eprintln!(
                "warning: response curves from mmm-analysis failed ({e}); the report draws the fit's history curves"
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

    let results = FitResults::compute(&fitted, &panel, stability.as_ref())?;
    let scorecard = Scorecard::compute(&fitted, &panel, &results.prediction)?;
    let source = model.display().to_string();
    let input = ReportInput {
        source: Some(&source),
        curves: curves.as_ref(),
        allocation: allocation.as_ref(),
        stability: stability.as_ref(),
        posterior: posterior.as_ref(),
        ..ReportInput::new(&fitted, &panel, &scorecard, &results)
    };
    let out = args.out.clone().unwrap_or_else(|| dir.join("report.html"));
    write_report(&input, &out)?;
    println!("wrote {}", out.display());
    Ok(())
}

/// `dcmmm report --backtest FILE`: the backtest page from a saved `backtest.json`.
fn backtest_page(path: &Path, out: Option<&Path>) -> Result<()> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let bt: Backtest = serde_json::from_str(&text).with_context(|| {
        format!(
            "{}: not a backtest file (written by dcmmm backtest)",
            path.display()
        )
    })?;
    let out = out.map_or_else(|| dir_of(path).join("backtest.html"), PathBuf::from);
    mmm_report::write_backtest(
        &crate::backtest::page(&bt),
        Some(&path.display().to_string()),
        &out,
    )?;
    println!("wrote {}", out.display());
    Ok(())
}
