//! `dcmmm optimize`: the budget allocation that maximises the predicted outcome under bounds
//! (forward planning horizon or historical reallocation), and the inverse questions (smallest
//! budget for a target outcome or marginal ROI). With the posterior's parameter draws beside the
//! model (`dcmmm fit --posterior`) the allocation maximises the posterior-expected outcome and
//! says how likely it beats the current split. Maths in `docs/analysis.md`.

use anyhow::{Context, Result, bail};
use clap::Args;
use mmm_analysis::{
    Bounds, OptimizeConfig, ParameterDraws, Target, optimize, optimize_expected, smallest_budget,
};
use mmm_fitted::FittedModel;
use std::path::PathBuf;

/// Examples shown by `dcmmm optimize --help`.
pub const EXAMPLES: &str = "\
Examples:
  dcmmm optimize --model fit/model.json --budget 250000 --weeks 13 --out plan/
  dcmmm optimize --model fit/model.json --window all --out realloc/        # same money, better split
  dcmmm optimize --model fit/model.json --bounds bounds.toml --per-region --budget 1e6 --out plan/
  dcmmm optimize --model fit/model.json --target-mroi 1.0 --out plan/      # spend while mROI >= 1

bounds.toml:  lower = 0.5  upper = 1.5  [channels.tv] fixed = true  [channels.search] max = 50000
Writes allocation.json (channels: current, recommended, bounds, marginal ROI; budget, outcome, lift)
and allocation.csv. When posterior_draws.json lies beside the model (dcmmm fit --posterior), the
allocation maximises the posterior-expected outcome, its outcomes and marginal ROIs are posterior
means, and allocation.json gains `posterior`: the probability that the recommendation beats the
current split and the lift's mean and 90 % interval over the draws (--point ignores the draws; the
--target-* questions use the point fit).";

/// Flags of `dcmmm optimize`.
#[derive(Args, Debug)]
pub struct OptimizeArgs {
    /// `model.json` written by `dcmmm fit`.
    #[arg(long, value_name = "FILE")]
    pub model: PathBuf,
    /// Total budget [default: the reference spend: the last WEEKS weeks, or the window's spend].
    #[arg(long, value_name = "B", allow_negative_numbers = true)]
    pub budget: Option<f64>,
    /// Planning horizon in weeks after the history (its reference flighting repeats the last weeks).
    #[arg(long, value_name = "N", default_value_t = 13)]
    pub weeks: usize,
    /// Historical reallocation instead: re-split the spend of these weeks (all, last-N, FROM:TO).
    #[arg(long, value_name = "WINDOW")]
    pub window: Option<String>,
    /// Bounds file (TOML); default ±50 % of the current allocation per channel.
    #[arg(long, value_name = "FILE")]
    pub bounds: Option<PathBuf>,
    /// Allocate per channel and region instead of per channel.
    #[arg(long)]
    pub per_region: bool,
    /// Find the smallest budget whose optimal allocation reaches this outcome (target units).
    #[arg(long, value_name = "Y", conflicts_with_all = ["budget", "target_mroi"], allow_negative_numbers = true)]
    pub target_outcome: Option<f64>,
    /// Find the smallest budget at which the marginal ROI has fallen to this value.
    #[arg(
        long,
        value_name = "R",
        conflicts_with = "budget",
        allow_negative_numbers = true
    )]
    pub target_mroi: Option<f64>,
    /// Channels whose media are impressions without a spend column (budget in 1000 impressions).
    #[arg(long, value_name = "CHANNELS", value_delimiter = ',')]
    pub impressions: Vec<String>,
    /// Ignore the posterior's parameter draws beside the model (optimise the point fit).
    #[arg(long)]
    pub point: bool,
    /// The output directory.
    #[command(flatten)]
    pub out: crate::out_dir::OutDir,
}

/// Runs `dcmmm optimize`.
pub fn run(args: &OptimizeArgs) -> Result<()> {
    if let Some(b) = args.budget
        && !(b.is_finite() && b >= 0.0)
    {
        bail!("--budget must be a finite number ≥ 0, got {b}");
    }
    if let Some(y) = args.target_outcome
        && !y.is_finite()
    {
        bail!("--target-outcome must be a finite number, got {y}");
    }
    // Effects are ≥ 0 and saturate, so the marginal ROI falls towards 0 but never reaches it.
    if let Some(r) = args.target_mroi
        && !(r.is_finite() && r > 0.0)
    {
        bail!(
            "--target-mroi must be a finite number > 0 (the marginal ROI never falls below 0), got {r}"
        );
    }
    let bounds = match &args.bounds {
        Some(p) => Bounds::read(p)?,
        None => Bounds::default(),
    };
    let fitted = FittedModel::load(&args.model)?;
    crate::print_caveats(&fitted, true);
    let cfg = OptimizeConfig {
        budget: args.budget,
        weeks: args.weeks,
        window: args.window.as_deref().map(str::parse).transpose()?,
        bounds,
        per_region: args.per_region,
        impressions: args.impressions.clone(),
    };
    let draws = if args.point {
        None
    } else {
        ParameterDraws::load_beside(&args.model, &fitted)?
    };
    let target = args.target_outcome.is_some() || args.target_mroi.is_some();
    if draws.is_some() && target {
        eprintln!(
            "note: --target-outcome and --target-mroi answer from the point fit; the posterior's draws are not used"
        );
    }
    let alloc = match (args.target_outcome, args.target_mroi, &draws) {
        (Some(y), _, _) => smallest_budget(&fitted, &cfg, Target::Outcome(y))?,
        (None, Some(r), _) => smallest_budget(&fitted, &cfg, Target::MarginalRoi(r))?,
        (None, None, Some(d)) => optimize_expected(&fitted, d, &cfg)?,
        (None, None, None) => optimize(&fitted, &cfg)?,
    };
    alloc
        .write(args.out.prepare()?)
        .with_context(|| format!("writing into {}", args.out.dir.display()))?;
    println!(
        "{} allocation of {:.2} over {} .. {} ({} weeks, +{} carryover weeks):",
        alloc.mode,
        alloc.budget,
        alloc.window_weeks.0,
        alloc.window_weeks.1,
        alloc.weeks,
        alloc.tail_weeks
    );
    for (name, c) in &alloc.channels {
        println!(
            "  {:<16} {:>14.2} -> {:>14.2}  ({:+.1} %)  mROI {:.4}  [{}]{}",
            name,
            c.current,
            c.recommended,
            c.change_pct.unwrap_or(0.0),
            c.mroi_recommended.unwrap_or(0.0),
            c.status,
            if c.response_open == Some(true) {
                "  response open"
            } else {
                ""
            }
        );
    }
    println!(
        "outcome {:.2} -> {:.2} (lift {:+.2}, {:+.2} %), marginal ROI {:.4}; written to {}",
        alloc.outcome_current,
        alloc.outcome_recommended,
        alloc.lift,
        alloc.lift_pct,
        alloc.marginal_roi,
        args.out.dir.display()
    );
    if let Some(u) = &alloc.posterior {
        println!(
            "posterior-expected over {} draws: P(recommendation beats the current split) = {:.2}; \
             lift {:+.2} [90 %: {:+.2} – {:+.2}]",
            u.draws, u.probability_beats_current, u.lift.mean, u.lift.p05, u.lift.p95
        );
    }
    Ok(())
}
