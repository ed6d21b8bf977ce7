//! `dcmmm validate`: load and check a panel with the same column flags as `fit`, then print the
//! data summary (text, or JSON with `--json`) without fitting. Bad input exits non-zero with the
//! loader's typed error (file, line, column, what was expected).
//!
//! Beyond the loader's checks it requires the calendar to hold the holdout plus
//! `DEFAULT_MIN_TRAIN_WEEKS` training weeks, and every region a positive mean observed training
//! target (what the target scaler of `fit` needs).

use crate::panel_args::PanelArgs;
use anyhow::Result;
use clap::Args;
use mmm_data::{DEFAULT_MIN_TRAIN_WEEKS, DataSummary, TargetScaler, TimeSplit};
use mmm_fitted::{MIN_REGION_FIT_WEEKS, TrainConfig};
use mmm_orchestrator::fit::trained_regions;

/// Examples shown by `dcmmm validate --help`.
pub const EXAMPLES: &str = "\
Examples:
  dcmmm validate --data panel.csv --target sales --media tv,search --controls price --region region
  dcmmm validate --data panel.csv --target sales --media tv_imp,search_imp \\
      --spend tv_imp=tv_spend,search_imp=search_spend --time date --json
  dcmmm validate --data mmm_data.csv --region dmacode --time weekid --target target_visits \\
      --media 'impressions_*' --controls 'control_*'
  dcmmm validate --config fit.toml          # [data] target = \"sales\", media = [\"tv\"], ...";

/// Arguments of `dcmmm validate`.
#[derive(Args, Debug)]
pub struct ValidateArgs {
    /// The panel and its column roles.
    #[command(flatten)]
    pub panel: PanelArgs,
    /// Print the summary as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Run `dcmmm validate`.
pub fn run(args: &ValidateArgs) -> Result<()> {
    let (resolved, loaded) = args.panel.load()?;
    loaded.check_weeks(resolved.holdout_weeks, 0, DEFAULT_MIN_TRAIN_WEEKS)?;
    let split = TimeSplit::new(
        loaded.panel.n_weeks(),
        resolved.holdout_weeks,
        0,
        DEFAULT_MIN_TRAIN_WEEKS,
    )?;
    // As `dcmmm fit` with the automatic validation slice: regions with too few weeks before it
    // are left out of training (named below), every other needs a positive training mean.
    let validation = TrainConfig::default().validation_weeks_for(loaded.panel.n_regions());
    let fit_weeks = 0..split.train.end.saturating_sub(validation);
    let trained = trained_regions(&loaded.panel, fit_weeks);
    TargetScaler::fit_trained(&loaded.panel, split.train.clone(), &trained)
        .map_err(|e| anyhow::anyhow!("{}: {e}", resolved.data.display()))?;
    let left_out: Vec<&str> = (0..trained.len())
        .filter(|&r| !trained[r])
        .map(|r| loaded.panel.regions[r].as_str())
        .collect();
    if !left_out.is_empty() {
        eprintln!(
            "note: {} region(s) have fewer than {MIN_REGION_FIT_WEEKS} observed weeks before the \
             validation slice and will be left out of training, forecast at their training level \
             (docs/model.md, *Training*): {}",
            left_out.len(),
            left_out.join(", ")
        );
    }
    let summary = DataSummary::new(&loaded);
    let p = &loaded.panel;
    let holdout_from = p.weeks[split.holdout.start.min(p.n_weeks() - 1)].to_string();
    if args.json {
        let mut value = serde_json::to_value(&summary)?;
        if let Some(obj) = value.as_object_mut() {
            obj.insert("holdout_weeks".into(), resolved.holdout_weeks.into());
            obj.insert("holdout_start".into(), holdout_from.into());
            obj.insert("train_weeks".into(), split.train.len().into());
        }
        println!("{}", serde_json::to_string_pretty(&value)?);
    } else {
        print!("{}", summary.to_text());
        println!(
            "split: {} training weeks, holdout the last {} weeks (from {holdout_from})",
            split.train.len(),
            resolved.holdout_weeks
        );
        println!("ok: {} is valid", resolved.data.display());
    }
    Ok(())
}
