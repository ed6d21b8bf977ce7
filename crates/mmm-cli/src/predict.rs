//! `dcmmm predict`: forecast new weeks from a plan (planned media and controls), continuing the
//! adstock and GRU state from the fitted history stored in `model.json`.

use crate::out_dir::OutDir;
use anyhow::{Context, Result, bail};
use clap::Args;
use mmm_data::{Panel, Week, load_plan};
use mmm_fitted::FittedModel;
use ndarray::{Array2, Array3, Axis};
use std::path::PathBuf;

/// Examples shown by `dcmmm predict --help`.
pub const EXAMPLES: &str = "\
Examples:
  dcmmm predict --model fit/model.json --data plan.csv --out forecast/

The plan has the columns of the fitted panel (region, week, media, spend, controls) for weeks after
the fitted history; the target column may be omitted. Region-weeks missing from the plan get zero
media and the region's last controls. Writes forecast.csv (region,week,predicted) and
forecast_contributions.csv (region,week,component,value).";

/// Flags of `dcmmm predict`.
#[derive(Args, Debug)]
pub struct PredictArgs {
    /// `model.json` written by `dcmmm fit`.
    #[arg(long, value_name = "FILE")]
    pub model: PathBuf,
    /// The plan: future weeks with planned media and controls.
    #[arg(long, value_name = "FILE")]
    pub data: PathBuf,
    /// The output directory.
    #[command(flatten)]
    pub out: OutDir,
    /// Most weeks the plan may start after the fitted history's last week. The weeks between are
    /// forecast with zero media, so a plan dated years ahead (or a typo in its year) is refused.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_GAP_WEEKS)]
    pub max_gap_weeks: usize,
}

/// Default of `--max-gap-weeks`: two years.
pub const DEFAULT_MAX_GAP_WEEKS: usize = 104;

/// The fitted history followed by the plan's weeks, as one panel over a continuous calendar.
/// Refused when the plan starts more than `max_gap_weeks` weeks after the history.
pub fn history_with_plan(
    history: &Panel,
    plan: &Panel,
    max_gap_weeks: usize,
) -> Result<(Panel, Vec<usize>)> {
    if plan.channels != history.channels {
        bail!(
            "the plan's media columns {:?} differ from the model's {:?}",
            plan.channels,
            history.channels
        );
    }
    if plan.controls != history.controls {
        bail!(
            "the plan's control columns {:?} differ from the model's {:?}",
            plan.controls,
            history.controls
        );
    }
    if plan.spend.is_some() != history.spend.is_some() {
        bail!("the plan must give spend columns exactly when the fitted panel did");
    }
    let region_index: Vec<usize> = plan
        .regions
        .iter()
        .map(|r| {
            history
                .regions
                .iter()
                .position(|h| h == r)
                .with_context(|| {
                    format!("the plan has region `{r}`, which the model was not fitted on")
                })
        })
        .collect::<Result<_>>()?;
    let last = *history
        .weeks
        .last()
        .context("the model has no history weeks")?;
    let step = if history.weeks.len() > 1 {
        history.weeks[1].key() - history.weeks[0].key()
    } else {
        7
    };
    let first_plan = *plan.weeks.first().context("the plan has no weeks")?;
    if first_plan.is_date() != last.is_date() {
        bail!(
            "the plan's weeks are {} but the model's are {}",
            kind(&first_plan),
            kind(&last)
        );
    }
    if first_plan.key() <= last.key() {
        bail!(
            "the plan starts at week {first_plan}, which is not after the fitted history's last week {last}"
        );
    }
    let offset = |w: &Week| -> Result<usize> {
        // Both within the range of a panel file's weeks (`FittedModel::validate`): no overflow.
        let d = w.key() - last.key();
        if d % step != 0 {
            bail!(
                "plan week {w} is not on the model's {step}-step calendar (last fitted week {last})"
            );
        }
        Ok((d / step) as usize)
    };
    let gap = offset(&first_plan)? - 1;
    if gap > max_gap_weeks {
        bail!(
            "the plan starts at week {first_plan}, {gap} weeks after the fitted history's last week \
             {last}: the model would forecast those weeks with zero media, and more than \
             {max_gap_weeks} are refused (--max-gap-weeks raises the limit)"
        );
    }
    let last_plan = *plan.weeks.last().context("the plan has no weeks")?;
    let extra = offset(&last_plan)?;
    let (r_n, t_h, c_n, k_n) = (
        history.n_regions(),
        history.n_weeks(),
        history.n_channels(),
        history.n_controls(),
    );
    let t_n = t_h + extra;
    let mut weeks = history.weeks.clone();
    weeks.extend((1..=extra as i64).map(|i| last.with_key(last.key() + i * step)));
    let mut target = Array2::from_elem((r_n, t_n), f64::NAN);
    let mut observed = Array2::from_elem((r_n, t_n), false);
    let mut media = Array3::zeros((r_n, t_n, c_n));
    let mut spend = history
        .spend
        .as_ref()
        .map(|_| Array3::zeros((r_n, t_n, c_n)));
    let mut controls = Array3::zeros((r_n, t_n, k_n));
    for r in 0..r_n {
        for t in 0..t_h {
            target[[r, t]] = history.target[[r, t]];
            observed[[r, t]] = history.observed[[r, t]];
            for c in 0..c_n {
                media[[r, t, c]] = history.media[[r, t, c]];
                if let (Some(s), Some(h)) = (spend.as_mut(), history.spend.as_ref()) {
                    s[[r, t, c]] = h[[r, t, c]];
                }
            }
        }
        // Controls carry the region's last value into the future unless the plan gives them.
        for t in 0..t_n {
            for k in 0..k_n {
                controls[[r, t, k]] = history.controls_data[[r, t.min(t_h - 1), k]];
            }
        }
    }
    let mut forecast_weeks = Vec::new();
    for (tp, w) in plan.weeks.iter().enumerate() {
        let t = t_h - 1 + offset(w)?;
        forecast_weeks.push(t);
        for (rp, &r) in region_index.iter().enumerate() {
            if !plan.observed[[rp, tp]] {
                continue;
            }
            observed[[r, t]] = true;
            for c in 0..c_n {
                media[[r, t, c]] = plan.media[[rp, tp, c]];
                if let (Some(s), Some(p)) = (spend.as_mut(), plan.spend.as_ref()) {
                    s[[r, t, c]] = p[[rp, tp, c]];
                }
            }
            for k in 0..k_n {
                controls[[r, t, k]] = plan.controls_data[[rp, tp, k]];
            }
        }
    }
    Ok((
        Panel {
            regions: history.regions.clone(),
            weeks,
            channels: history.channels.clone(),
            controls: history.controls.clone(),
            target,
            media,
            spend,
            controls_data: controls,
            observed,
        },
        forecast_weeks,
    ))
}

fn kind(w: &Week) -> &'static str {
    if w.is_date() {
        "dates"
    } else {
        "integer weeks"
    }
}

/// Runs `dcmmm predict`.
pub fn run(args: &PredictArgs) -> Result<()> {
    let fitted = FittedModel::load(&args.model)?;
    let history = fitted.history_panel()?;
    let plan = load_plan(&args.data, &fitted.columns)?;
    for w in &plan.report.warnings {
        eprintln!("warning: {w}");
    }
    let (panel, forecast_weeks) = history_with_plan(&history, &plan.panel, args.max_gap_weeks)?;
    let (prediction, d) = fitted.predict(&panel)?;
    let out = args.out.prepare()?;
    // The forecast region-weeks: those the plan gives.
    let cells: Vec<(usize, usize)> = forecast_weeks
        .iter()
        .flat_map(|&t| (0..panel.n_regions()).map(move |r| (r, t)))
        .filter(|&(r, t)| panel.observed[[r, t]])
        .collect();
    let path = out.join("forecast.csv");
    mmm_data::write_csv_atomic(&path, |w| {
        w.write_record(["region", "week", "predicted"])?;
        for &(r, t) in &cells {
            let week = panel.weeks[t].to_string();
            w.write_record([&panel.regions[r], &week, &prediction[[r, t]].to_string()])?;
        }
        Ok(())
    })
    .with_context(|| format!("{}: cannot write", path.display()))?;
    let comps = fitted.components(&d);
    let path = out.join("forecast_contributions.csv");
    mmm_data::write_csv_atomic(&path, |w| {
        w.write_record(["region", "week", "component", "value"])?;
        for &(r, t) in &cells {
            let week = panel.weeks[t].to_string();
            for (name, v) in &comps {
                w.write_record([
                    panel.regions[r].as_str(),
                    &week,
                    name,
                    &v[[r, t]].to_string(),
                ])?;
            }
        }
        Ok(())
    })
    .with_context(|| format!("{}: cannot write", path.display()))?;
    let national: f64 = cells.iter().map(|&(r, t)| prediction[[r, t]]).sum();
    let media: f64 = cells
        .iter()
        .map(|&(r, t)| {
            d.channels
                .index_axis(Axis(1), r)
                .index_axis(Axis(1), t)
                .sum()
        })
        .sum();
    println!(
        "forecast {} week(s): total predicted {:.6e}, of which media {:.6e}; files in {}",
        forecast_weeks.len(),
        national,
        media,
        out.display()
    );
    Ok(())
}
