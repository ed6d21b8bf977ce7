//! `dcmmm backtest`: rolling-origin evaluation (`mmm_orchestrator::backtest`) — the fit of
//! `dcmmm fit` at several origins, each forecasting the next weeks, scored beside the naive
//! baselines; writes `backtest.csv`, `backtest.json` and the page `backtest.html`
//! (`mmm_report::write_backtest`) and prints a table.

use crate::fit::{FitArgs, fit_config};
use crate::out_dir::write_json;
use anyhow::{Context, Result, bail};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use mmm_orchestrator::{Backtest, Origins, Scores};
use serde_json::json;
use std::io::Write;
use std::path::Path;

/// Examples shown by `dcmmm backtest --help`.
pub const EXAMPLES: &str = "\
Examples:
  dcmmm backtest --data mmm_data.csv --region dmacode --time weekid --target target_visits \\
      --media 'impressions_*' --controls 'control_*' --origins 'every 4 from 52' --out bt/
  dcmmm backtest --config fit.toml --origins 52,56,60 --horizon 13 --out bt/

Origin T is a calendar position: the fit sees the first T weeks and forecasts weeks T … T+horizon−1
(warm: state runs through the training weeks). Writes backtest.csv (one row per origin and
model: dcmmm, each naive baseline, and the best naive baseline per metric), backtest.json and
backtest.html (the scores per origin as charts and tables, opens offline; dcmmm report --backtest
backtest.json rebuilds it).";

/// Flags of `dcmmm backtest`: those of `dcmmm fit`, plus the origins and the horizon.
#[derive(Args, Debug)]
pub struct BacktestArgs {
    /// The flags of `dcmmm fit` (`--holdout-weeks` is the default horizon; `--restarts` is not
    /// used).
    #[command(flatten)]
    pub fit: FitArgs,
    /// Origins: calendar positions of the first forecast week, as a list (`52,56,60`) or a step
    /// (`every 4 from 52`, optionally `to 96`).
    #[arg(long, value_name = "LIST")]
    pub origins: String,
    /// Weeks forecast from each origin [default: the holdout length, 13].
    #[arg(long, value_name = "N")]
    pub horizon: Option<usize>,
}

/// File name of the backtest's page beside `backtest.json`.
pub const BACKTEST_PAGE: &str = "backtest.html";

/// Names of the rows of `backtest.csv` besides the naive baselines.
const MODEL: &str = "dcmmm";
const BEST_NAIVE: &str = "best_naive";

/// Runs `dcmmm backtest`.
pub fn run(args: &BacktestArgs) -> Result<()> {
    if args.fit.restarts > 0 {
        bail!("--restarts is not used by backtest (each origin is one fit)");
    }
    let (resolved, loaded) = args.fit.panel.load()?;
    for w in &loaded.report.warnings {
        eprintln!("warning: {w}");
    }
    let horizon = args.horizon.unwrap_or(resolved.holdout_weeks);
    let (cfg, inference) = fit_config(&args.fit, horizon)?;
    if inference.posterior {
        bail!(
            "backtest scores point forecasts; --posterior (or [inference] posterior = true) is not used here: drop it"
        );
    }
    let panel = &loaded.panel;
    let origins: Origins = args.origins.parse()?;
    let origins = origins.resolve(panel.n_weeks(), horizon)?;
    let out = args.fit.out.prepare()?;
    eprintln!(
        "backtest: {} origins ({}), {horizon} forecast weeks each — one fit per origin",
        origins.len(),
        origins
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    );
    let bar = if args.fit.quiet {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(origins.len() as u64)
    };
    bar.set_style(
        ProgressStyle::with_template("origin {pos}/{len} [{bar:30}] {msg}")
            .expect("static template")
            .progress_chars("=> "),
    );
    let bt = mmm_orchestrator::backtest(
        panel,
        &resolved.spec,
        &cfg,
        &origins,
        horizon,
        &mut |i, p| {
            bar.set_position(i as u64);
            bar.set_message(format!(
                "week {}: stage {} epoch {}",
                origins[i], p.stage, p.epoch
            ));
        },
    )?;
    bar.finish_and_clear();
    write_csv(&out.join("backtest.csv"), &bt)?;
    write_json(&out.join("backtest.json"), &backtest_json(&bt))?;
    let source = resolved.data.display().to_string();
    mmm_report::write_backtest(&page(&bt), Some(&source), &out.join(BACKTEST_PAGE))?;
    print_table(&bt, out);
    Ok(())
}

fn scores(s: Scores) -> mmm_report::ForecastScores {
    mmm_report::ForecastScores {
        r2_pooled: s.r2_pooled,
        r2_within: s.r2_within,
        wmape: s.wmape,
    }
}

/// What the backtest page (`backtest.html`) shows of `bt`: every origin's fit and scores, and the
/// means over the origins — dcmmm, the best naive baseline, each naive baseline (as
/// `backtest.json`'s `mean`).
pub fn page(bt: &Backtest) -> mmm_report::BacktestPage {
    let mut means = vec![
        (MODEL.to_string(), scores(bt.model_mean())),
        (
            "best naive (per origin and metric)".to_string(),
            scores(bt.best_naive_mean()),
        ),
    ];
    if let Some(first) = bt.origins.first() {
        for b in &first.baselines {
            if let Some(m) = bt.baseline_mean(&b.name) {
                means.push((format!("naive {}", b.name), scores(m)));
            }
        }
    }
    mmm_report::BacktestPage {
        horizon: bt.horizon,
        origins: bt
            .origins
            .iter()
            .map(|o| mmm_report::OriginRow {
                origin: o.origin,
                first_forecast_week: o.first_forecast_week.clone(),
                regions: o.regions,
                model: scores((&o.model).into()),
                best_naive: scores(o.best_naive()),
                baselines: o
                    .baselines
                    .iter()
                    .map(|b| (b.name.clone(), scores((&b.holdout).into())))
                    .collect(),
                path: o.path.clone(),
                epochs: o.epochs,
                fit_seconds: o.fit_seconds,
                warnings: o.warnings.clone(),
                left_out: o.left_out.clone(),
            })
            .collect(),
        means,
    }
}

/// Every row of `backtest.csv`: (origin, model, scores).
fn rows(bt: &Backtest) -> Vec<(usize, String, Scores, usize)> {
    let mut rows = Vec::new();
    for o in &bt.origins {
        rows.push((o.origin, MODEL.to_string(), (&o.model).into(), o.model.n));
        for b in &o.baselines {
            rows.push((o.origin, b.name.clone(), (&b.holdout).into(), b.holdout.n));
        }
        rows.push((o.origin, BEST_NAIVE.to_string(), o.best_naive(), o.model.n));
    }
    rows
}

fn write_csv(path: &Path, bt: &Backtest) -> Result<()> {
    mmm_data::write_csv_atomic(path, |w| {
        w.write_record([
            "origin",
            "first_forecast_week",
            "horizon",
            "model",
            "r2_pooled",
            "r2_within",
            "wmape",
            "cells",
        ])?;
        for (origin, model, s, n) in rows(bt) {
            let week = bt
                .origins
                .iter()
                .find(|o| o.origin == origin)
                .map_or_else(String::new, |o| o.first_forecast_week.clone());
            w.write_record([
                origin.to_string(),
                week,
                bt.horizon.to_string(),
                model,
                s.r2_pooled.to_string(),
                s.r2_within.to_string(),
                s.wmape.to_string(),
                n.to_string(),
            ])?;
        }
        Ok(())
    })
    .with_context(|| format!("{}: cannot write", path.display()))
}

fn backtest_json(bt: &Backtest) -> serde_json::Value {
    let mut means = serde_json::Map::new();
    means.insert(MODEL.into(), json!(bt.model_mean()));
    if let Some(first) = bt.origins.first() {
        for b in &first.baselines {
            means.insert(b.name.clone(), json!(bt.baseline_mean(&b.name)));
        }
    }
    means.insert(BEST_NAIVE.into(), json!(bt.best_naive_mean()));
    json!({
        "horizon": bt.horizon,
        "origins": bt.origins,
        "mean": means,
        "notes": {
            "origin": "calendar position of the first forecast week: the fit saw the weeks before it",
            "best_naive": "per origin and metric, the best of the naive baselines (highest R², lowest wMAPE)",
        },
    })
}

fn print_table(bt: &Backtest, out: &Path) {
    let mut s = std::io::stdout().lock();
    let _ = writeln!(
        s,
        "{:>6} {:>12}  {:>8} {:>9} {:>7}   {:>8} {:>9} {:>7}   {:<9} {:>6} warnings",
        "origin",
        "first week",
        "R² pool",
        "R² within",
        "wMAPE",
        "naive R²",
        "n. within",
        "n. wMAPE",
        "path",
        "epochs"
    );
    let line = |s: &mut std::io::StdoutLock,
                origin: &str,
                week: &str,
                m: Scores,
                b: Scores,
                rest: &str| {
        let _ = writeln!(
            s,
            "{origin:>6} {week:>12}  {:>8.3} {:>9.3} {:>7.3}   {:>8.3} {:>9.3} {:>8.3}   {rest}",
            m.r2_pooled, m.r2_within, m.wmape, b.r2_pooled, b.r2_within, b.wmape
        );
    };
    for o in &bt.origins {
        let rest = format!("{:<9} {:>6} {}", o.path, o.epochs, o.warnings.len());
        line(
            &mut s,
            &o.origin.to_string(),
            &o.first_forecast_week,
            (&o.model).into(),
            o.best_naive(),
            &rest,
        );
    }
    line(
        &mut s,
        "mean",
        "",
        bt.model_mean(),
        bt.best_naive_mean(),
        "",
    );
    let _ = writeln!(
        s,
        "naive = the best naive baseline per origin and metric; outputs in {}",
        out.display()
    );
}
