//! `dcmmm scenarios`: compare planned-spend scenarios over a planning horizon — outcome, ROI and
//! the difference vs. the baseline (the last weeks' flighting repeated). See `docs/analysis.md`.

use anyhow::{Context, Result};
use clap::Args;
use mmm_analysis::scenarios::write_scenarios;
use mmm_analysis::{compare_scenarios, read_scenario};
use mmm_fitted::FittedModel;
use std::path::PathBuf;

/// Examples shown by `dcmmm scenarios --help`.
pub const EXAMPLES: &str = "\
Examples:
  dcmmm scenarios --model fit/model.json --plan more_tv.csv --plan less_search.csv --out scen/

Each plan is a CSV `channel,spend` (total spend over the horizon) or `channel,region,spend`;
channels keep the flighting of the last WEEKS weeks, unmentioned channels keep their reference
spend. Writes scenarios.csv and scenarios.json (first row: the baseline).";

/// Flags of `dcmmm scenarios`.
#[derive(Args, Debug)]
pub struct ScenariosArgs {
    /// `model.json` written by `dcmmm fit`.
    #[arg(long, value_name = "FILE")]
    pub model: PathBuf,
    /// Scenario files (repeat the flag or separate by commas).
    #[arg(
        long = "plan",
        value_name = "FILE",
        value_delimiter = ',',
        required = true
    )]
    pub plans: Vec<PathBuf>,
    /// Planning horizon in weeks.
    #[arg(long, value_name = "N", default_value_t = 13)]
    pub weeks: usize,
    /// Channels whose media are impressions without a spend column.
    #[arg(long, value_name = "CHANNELS", value_delimiter = ',')]
    pub impressions: Vec<String>,
    /// The output directory.
    #[command(flatten)]
    pub out: crate::out_dir::OutDir,
}

/// Runs `dcmmm scenarios`.
pub fn run(args: &ScenariosArgs) -> Result<()> {
    let scenarios = args
        .plans
        .iter()
        .map(|p| read_scenario(p))
        .collect::<mmm_analysis::Result<Vec<_>>>()?;
    let fitted = FittedModel::load(&args.model)?;
    crate::print_caveats(&fitted, true);
    let rows = compare_scenarios(&fitted, args.weeks, &scenarios, &args.impressions)?;
    write_scenarios(&rows, args.out.prepare()?)
        .with_context(|| format!("writing into {}", args.out.dir.display()))?;
    println!(
        "{:<20} {:>14} {:>16} {:>10} {:>14} {:>9}",
        "scenario", "budget", "outcome", "ROI", "difference", "%"
    );
    for r in &rows {
        println!(
            "{:<20} {:>14.2} {:>16.2} {:>10} {:>+14.2} {:>+8.2}%",
            r.scenario,
            r.budget,
            r.outcome,
            r.roi.map_or("-".into(), |v| format!("{v:.4}")),
            r.difference,
            r.difference_pct
        );
    }
    Ok(())
}
