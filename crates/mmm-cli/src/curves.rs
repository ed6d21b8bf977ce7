//! `dcmmm curves`: response curves, ROI, marginal ROI and Hill summaries per channel (national
//! and per region) from a saved `model.json` (maths in `docs/analysis.md`); with the posterior's
//! parameter draws beside it (`dcmmm fit --posterior`), also the 5–95 % bands of the national
//! curves, ROI and marginal ROI over the draws.

use anyhow::{Context, Result};
use clap::Args;
use mmm_analysis::{CurveConfig, ParameterDraws, WindowSpec, response_curves_with_bands};
use mmm_fitted::FittedModel;
use std::path::PathBuf;

/// Examples shown by `dcmmm curves --help`.
pub const EXAMPLES: &str = "\
Examples:
  dcmmm curves --model fit/model.json --out curves/
  dcmmm curves --model fit/model.json --window all --out curves/
  dcmmm curves --model fit/model.json --window 2024-01-01:2024-12-30 --impressions social --out curves/

Writes curves.csv (channel,region,effect,multiplier,spend,response,unit), roi.csv (spend, direct and
total contribution, ROI, marginal ROI, Hill summary per channel and region; region `all` = national)
and curves.json. Multipliers 0..3 scale each channel's activity in the window; carryover after the
window is counted. When posterior_draws.json lies beside the model (dcmmm fit --posterior), the
national curves get bands over the posterior's draws: curves.csv gains response_mean,
response_p05, response_p95 and roi.csv the 5 % and 95 % quantiles of ROI and marginal ROI
(--point ignores the draws).";

/// Flags of `dcmmm curves`.
#[derive(Args, Debug)]
pub struct CurvesArgs {
    /// `model.json` written by `dcmmm fit`.
    #[arg(long, value_name = "FILE")]
    pub model: PathBuf,
    /// Weeks whose activity is scaled: last-N, all, or FROM:TO (week labels as in the data).
    #[arg(long, value_name = "WINDOW", default_value = "last-52")]
    pub window: String,
    /// Largest multiplier of historical activity.
    #[arg(
        long,
        value_name = "M",
        default_value_t = 3.0,
        allow_negative_numbers = true
    )]
    pub max_multiplier: f64,
    /// Number of steps between 0 and the largest multiplier.
    #[arg(long, value_name = "N", default_value_t = 30)]
    pub steps: usize,
    /// Channels whose media are impressions without a spend column (reported per 1000 impressions).
    #[arg(long, value_name = "CHANNELS", value_delimiter = ',')]
    pub impressions: Vec<String>,
    /// Ignore the posterior's parameter draws beside the model (no bands).
    #[arg(long)]
    pub point: bool,
    /// The output directory.
    #[command(flatten)]
    pub out: crate::out_dir::OutDir,
}

/// Runs `dcmmm curves`.
pub fn run(args: &CurvesArgs) -> Result<()> {
    let window: WindowSpec = args.window.parse()?;
    if !(args.max_multiplier.is_finite() && args.max_multiplier > 0.0) || args.steps == 0 {
        anyhow::bail!(
            "--max-multiplier must be > 0 and --steps ≥ 1, got {} and {}",
            args.max_multiplier,
            args.steps
        );
    }
    let fitted = FittedModel::load(&args.model)?;
    crate::print_caveats(&fitted, true);
    let cfg = CurveConfig {
        window,
        multipliers: (0..=args.steps)
            .map(|i| args.max_multiplier * i as f64 / args.steps as f64)
            .collect(),
        impressions: args.impressions.clone(),
    };
    let draws = if args.point {
        None
    } else {
        ParameterDraws::load_beside(&args.model, &fitted)?
    };
    let curves = response_curves_with_bands(&fitted, draws.as_ref(), &cfg)?;
    curves
        .write(args.out.prepare()?)
        .with_context(|| format!("writing into {}", args.out.dir.display()))?;
    println!(
        "curves for {} channels over {} .. {} (+{} carryover weeks) written to {}",
        curves.channels.len(),
        curves.window_weeks.0,
        curves.window_weeks.1,
        curves.tail_weeks,
        args.out.dir.display()
    );
    if let Some(b) = &curves.posterior {
        println!(
            "bands over {} posterior draws (posterior_draws.json): direct ROI and mROI as point fit, then posterior mean [5 % – 95 %]",
            b.draws
        );
    }
    for (c, ch) in curves.channels.iter().enumerate() {
        let n = &ch.national;
        let band = curves.posterior.as_ref().map(|b| &b.channels[c]);
        let f = |v: Option<f64>, iv: Option<mmm_posterior::Interval>| {
            let point = v.map_or("-".to_string(), |x| format!("{x:.4}"));
            match iv {
                Some(i) => format!("{point}, {:.4} [{:.4} – {:.4}]", i.mean, i.p05, i.p95),
                None => point,
            }
        };
        println!(
            "  {:<16} {} {:>14.2}  ROI {} (total {})  mROI {} (total {})",
            ch.channel,
            ch.unit,
            n.spend,
            f(n.roi_direct, band.and_then(|b| b.roi_direct)),
            f(n.roi_total, None),
            f(n.mroi_direct, band.and_then(|b| b.mroi_direct)),
            f(n.mroi_total, None)
        );
    }
    Ok(())
}
