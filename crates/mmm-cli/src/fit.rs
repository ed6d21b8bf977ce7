//! `dcmmm fit`: fit the model on a panel and write the output files of the CLI contract
//! (`predictions.csv`, `contributions.csv`, `summary.json`, `metrics.json`, `dag.json`,
//! `model.json`, `report.html`).

use crate::out_dir::{OutDir, new_run_id, write_json};
use crate::panel_args::PanelArgs;
use crate::posterior::{InferenceConfig, PosteriorOutput};
use anyhow::{Context, Result};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use mmm_data::Panel;
use mmm_fitted::{FitConfig, FitResults, FittedModel, Scorecard, Stability};
use mmm_model::Decomposition;
use mmm_orchestrator::{FitFile, Progress, assess_stability, fit_panel};
use ndarray::Array2;
use serde_json::json;
use std::io::Write;
use std::path::Path;

/// File name of the stability assessment next to `model.json`.
pub const STABILITY_FILE: &str = "stability.json";
/// File name of the posterior draws of the channel quantities (`--posterior`).
pub const POSTERIOR_FILE: &str = "posterior.csv";

/// Examples shown by `dcmmm fit --help`.
pub const EXAMPLES: &str = "\
Examples:
  dcmmm fit --data panel.csv --target sales --media tv,search,social --controls price \\
      --region region --time week --out fit/
  dcmmm fit --data mmm_data.csv --region dmacode --time weekid --target target_visits \\
      --media 'impressions_*' --controls 'control_*' --holdout-weeks 13 --seed 42 --out fit/
  dcmmm fit --config fit.toml --out fit/      # [data], [model], [train], [dag] tables
  dcmmm fit --config fit.toml --restarts 4 --out fit/   # + how stable the attribution is
  dcmmm fit --config fit.toml --converged --out fit-decisions/   # a joint fit, for decisions
  dcmmm fit --config fit.toml --posterior --chains 4 --draws 1000 --tune 1000 --out fit/
      # + posterior means and 90 % intervals (NUTS); [inference] table in fit.toml

Experiments calibrate the fit: add [[lift_test]] tables to fit.toml, e.g.
  [[lift_test]]
  channel = \"tv\"            # media column
  start = \"2024-03-04\"      # first and last week of the test, as in the time column
  end = \"2024-04-22\"
  regions = [\"r01\", \"r07\"]  # optional; default every region
  lift = 125000.0           # measured incremental target over those region-weeks
  se = 20000.0              # its standard error
A heavy-up or scale-down test ran m times the usual spend in its weeks; add
  multiplier = 1.5          # tested spend / usual spend
  measured_until = \"2024-06-17\"  # optional; default the last week of the data
and give as lift the outcome with the tested spend minus with the usual, from the first tested
week to measured_until (carryover included): it measures the slope of the curve.

Writes predictions.csv, contributions.csv, summary.json, metrics.json, dag.json, model.json and
report.html into the output directory; with --restarts also stability.json, with --posterior also
posterior.csv and posterior_draws.json (parameter draws: dcmmm curves and optimize then give bands
and the posterior-expected allocation).";

/// Flags of `dcmmm fit`.
#[derive(Args, Debug)]
pub struct FitArgs {
    /// The panel and its columns.
    #[command(flatten)]
    pub panel: PanelArgs,
    /// Seed of the parameter initialisation (same seed ⇒ same model).
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,
    /// Maximum training epochs (overrides the config).
    #[arg(long, value_name = "N")]
    pub epochs: Option<usize>,
    /// Train to convergence: no validation slice, all epochs on all training weeks. Forecasts
    /// worse; with `media_fit = "joint"` on panels with many regions its curves gave better
    /// budget decisions than the early-stopped joint fit (docs/analysis.md, *Regret under the simulator's truth*). The default
    /// two-stage fit's media part does not depend on it. Overrides `[train] validation_weeks`.
    #[arg(long)]
    pub converged: bool,
    /// Also refit N more times and report each channel's range of share, ROI and marginal ROI
    /// over the fits (stability.json, summary.json, report): from random starting splits of the
    /// media, or, for a two-stage fit, with the media screen on bootstrap resamples of the
    /// regions (docs/model.md, *How far to trust the attribution*). Costs N more fits; the saved model is the configured fit.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub restarts: usize,
    /// The output directory.
    #[command(flatten)]
    pub out: OutDir,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
    /// After the point fit, sample the posterior of the model's interpretable part with NUTS:
    /// summary.json's per-channel figures become posterior means with 90 % intervals beside
    /// them, posterior.csv holds the draws (also `[inference] posterior = true`).
    #[arg(long)]
    pub posterior: bool,
    /// Posterior chains (overrides `[inference] chains`, default 4).
    #[arg(long, value_name = "N")]
    pub chains: Option<usize>,
    /// Kept posterior draws per chain (overrides `[inference] draws`, default 1000).
    #[arg(long, value_name = "N")]
    pub draws: Option<usize>,
    /// Tuning draws per chain (overrides `[inference] tune`, default 1000).
    #[arg(long, value_name = "N")]
    pub tune: Option<usize>,
}

/// The fit configuration of `args` (config file, then flags) with `holdout_weeks` held out, and
/// the posterior settings (`[inference]`, `--posterior`).
pub fn fit_config(args: &FitArgs, holdout_weeks: usize) -> Result<(FitConfig, InferenceConfig)> {
    let file = match &args.panel.config {
        Some(path) => FitFile::<InferenceConfig>::read(path)?,
        None => FitFile::default(),
    };
    let mut cfg = FitConfig {
        holdout_weeks,
        ..file.fit_config()
    };
    if let Some(seed) = args.seed {
        cfg.train.seed = seed;
    }
    if let Some(epochs) = args.epochs {
        cfg.train.epochs = epochs;
    }
    if args.converged {
        cfg.train = cfg.train.converged();
    }
    cfg.model.validate()?;
    cfg.train.validate()?;
    let mut inference = file.inference;
    inference.posterior |= args.posterior;
    inference.chains = args.chains.unwrap_or(inference.chains);
    inference.draws = args.draws.unwrap_or(inference.draws);
    inference.tune = args.tune.unwrap_or(inference.tune);
    Ok((cfg, inference))
}

/// Runs `dcmmm fit`.
pub fn run(args: &FitArgs) -> Result<()> {
    let (resolved, loaded) = args.panel.load()?;
    for w in &loaded.report.warnings {
        eprintln!("warning: {w}");
    }
    let (cfg, inference) = fit_config(args, resolved.holdout_weeks)?;
    let panel = &loaded.panel;
    let out = args.out.prepare()?;

    let bar = if args.quiet {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(cfg.train.epochs as u64)
    };
    bar.set_style(
        ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} epochs {msg}")
            .expect("static template")
            .progress_chars("=> "),
    );
    let mut shown = (usize::MAX, 0, 0);
    let folds = cfg.train.validation_folds;
    let mut report = |restart: usize, p: Progress| {
        if (restart, p.stage, p.fold) != shown {
            shown = (restart, p.stage, p.fold);
            bar.reset();
            bar.set_length(p.planned as u64);
            let what = match p.stage {
                1 if p.validation_loss.is_none() => "fit (all training weeks)".to_string(),
                1 if folds > 1 => format!("fit (validation fold {}/{folds})", p.fold + 1),
                1 => "fit (validation)".to_string(),
                _ => "refit (all training weeks)".to_string(),
            };
            bar.set_prefix(if restart == 0 {
                what
            } else {
                format!("restart {restart}/{}: {what}", args.restarts)
            });
        }
        bar.set_position(p.epoch as u64);
        let msg = match p.validation_loss {
            Some(v) => format!("loss {:.5} val {:.5}", p.train_loss, v),
            None => format!("loss {:.5}", p.train_loss),
        };
        bar.set_message(msg);
    };
    let lift_warnings: Vec<String> = cfg
        .lift_tests
        .iter()
        .enumerate()
        .filter_map(|(i, t)| Some(format!("lift_test {}: {}", i + 1, t.sign_warning()?)))
        .collect();
    for w in &lift_warnings {
        eprintln!("warning: {w}");
    }
    let mut fitted = fit_panel(panel, &resolved.spec, &cfg, &mut |p| report(0, p))?;
    fitted.run_id = new_run_id();
    let stability = if args.restarts > 0 {
        Some(assess_stability(
            panel,
            &resolved.spec,
            &cfg,
            &fitted,
            args.restarts,
            &mut report,
        )?)
    } else {
        None
    };
    bar.finish_and_clear();

    let results = FitResults::compute(&fitted, panel, stability.as_ref())?;
    let card = Scorecard::compute(&fitted, panel, &results.prediction)?;
    let posterior = if inference.posterior {
        Some(crate::posterior::run(
            &fitted,
            &inference,
            cfg.train.seed,
            args.quiet,
        )?)
    } else {
        None
    };
    write_outputs(
        out,
        &fitted,
        panel,
        &results,
        &card,
        stability.as_ref(),
        posterior.as_ref(),
    )?;
    let warnings: Vec<String> = loaded
        .report
        .warnings
        .iter()
        .map(ToString::to_string)
        .collect();
    crate::print_caveats(&fitted, false);
    if let Some(note) = fitted.left_out_note() {
        eprintln!("note: {note}");
    }
    for w in &fitted.warnings {
        eprintln!("warning: {w}");
    }
    let source = resolved.data.display().to_string();
    let posterior_summary = posterior.as_ref().map(PosteriorOutput::report_summary);
    // With a posterior the report's response curves carry its bands (as `dcmmm report` draws them).
    let curves = posterior
        .as_ref()
        .map(|p| crate::report::banded_curves(&fitted, &p.parameter_draws))
        .transpose()?;
    let report = mmm_report::ReportInput {
        warnings: Some(&warnings),
        source: Some(&source),
        stability: stability.as_ref(),
        posterior: posterior_summary.as_ref(),
        curves: curves.as_ref(),
        ..mmm_report::ReportInput::new(&fitted, panel, &card, &results)
    };
    mmm_report::write_report(&report, &out.join("report.html"))?;
    if let Some(p) = &posterior {
        p.print();
    }
    print_summary(&fitted, panel, &card, stability.as_ref(), out);
    Ok(())
}

/// Writes every output file of the CLI contract but the report into `dir` (and `stability.json`
/// when refits from random starts were run, `posterior.csv` and `posterior_draws.json` when the
/// posterior was sampled), each
/// atomically; `metrics.json` and `summary.json` carry the model's run id.
pub fn write_outputs(
    dir: &Path,
    fitted: &FittedModel,
    panel: &Panel,
    results: &FitResults,
    card: &Scorecard,
    stability: Option<&Stability>,
    posterior: Option<&PosteriorOutput>,
) -> Result<()> {
    let path = |name: &str| dir.join(name);
    write_predictions(&path("predictions.csv"), fitted, panel, &results.prediction)?;
    write_contributions(
        &path("contributions.csv"),
        fitted,
        panel,
        &results.decomposition,
    )?;
    let mut summary = serde_json::to_value(&results.summary)?;
    let mut metrics = serde_json::to_value(card)?;
    let posterior_path = path(POSTERIOR_FILE);
    let draws_path = path(mmm_analysis::DRAWS_FILE);
    match posterior {
        Some(p) => {
            p.amend_summary(&mut summary);
            metrics["posterior"] = serde_json::to_value(&p.diagnostics)?;
            p.write_csv(&posterior_path)?;
            p.parameter_draws.write(&draws_path)?;
        }
        None => {
            // Stale files from an earlier run must not be read as this fit's.
            for stale in [&posterior_path, &draws_path] {
                if stale.exists() {
                    std::fs::remove_file(stale)
                        .with_context(|| format!("{}: cannot remove", stale.display()))?;
                }
            }
        }
    }
    write_json(&path("summary.json"), &summary)?;
    let stability_path = path(STABILITY_FILE);
    match stability {
        Some(st) => write_json(&stability_path, st)?,
        // A stale file from an earlier run must not be read as this fit's.
        None if stability_path.exists() => std::fs::remove_file(&stability_path)
            .with_context(|| format!("{}: cannot remove", stability_path.display()))?,
        None => {}
    }
    metrics["run_id"] = json!(fitted.run_id);
    write_json(&path("metrics.json"), &metrics)?;
    write_json(&path("dag.json"), &dag_json(fitted))?;
    fitted.save(&path("model.json"))?;
    Ok(())
}

fn write_predictions(
    path: &Path,
    fitted: &FittedModel,
    panel: &Panel,
    prediction: &Array2<f64>,
) -> Result<()> {
    mmm_data::write_csv_atomic(path, |w| {
        w.write_record(["region", "week", "actual", "predicted", "split"])?;
        for (r, region) in panel.regions.iter().enumerate() {
            for (t, week) in panel.weeks.iter().enumerate() {
                if !panel.observed[[r, t]] {
                    continue;
                }
                let split = if fitted.split.holdout.contains(&t) {
                    "holdout"
                } else {
                    "train"
                };
                w.write_record([
                    region.clone(),
                    week.to_string(),
                    panel.target[[r, t]].to_string(),
                    prediction[[r, t]].to_string(),
                    split.to_string(),
                ])?;
            }
        }
        Ok(())
    })
    .with_context(|| format!("{}: cannot write", path.display()))
}

fn write_contributions(
    path: &Path,
    fitted: &FittedModel,
    panel: &Panel,
    d: &Decomposition,
) -> Result<()> {
    let comps = fitted.components(d);
    mmm_data::write_csv_atomic(path, |w| {
        w.write_record(["region", "week", "component", "value"])?;
        for (r, region) in panel.regions.iter().enumerate() {
            for (t, week) in panel.weeks.iter().enumerate() {
                if !panel.observed[[r, t]] {
                    continue;
                }
                let week = week.to_string();
                for (name, values) in &comps {
                    w.write_record([
                        region.as_str(),
                        week.as_str(),
                        name,
                        &values[[r, t]].to_string(),
                    ])?;
                }
            }
        }
        Ok(())
    })
    .with_context(|| format!("{}: cannot write", path.display()))
}

fn dag_json(fitted: &FittedModel) -> serde_json::Value {
    let dag = &fitted.dag;
    let mut edges = Vec::new();
    for (i, from) in fitted.channels.iter().enumerate() {
        for (j, to) in fitted.channels.iter().enumerate() {
            if dag.weights[i][j] != 0.0 {
                edges.push(json!({"from": from, "to": to, "weight": dag.weights[i][j], "standardized": dag.standardized[i][j]}));
            }
        }
    }
    json!({
        "channels": fitted.channels,
        "edges": edges,
        "weights": dag.weights,
        "scores": dag.scores,
        "h": dag.h,
        "meaning": "weights[i][j] > 0: part of channel j's activity is caused by channel i's adstocked activity (scaled units)",
    })
}

/// `x` with four significant digits, without an exponent for everyday magnitudes.
fn significant(x: f64) -> String {
    let digits = if x == 0.0 || !x.is_finite() {
        0
    } else {
        (3 - x.abs().log10().floor() as i32).clamp(0, 12) as usize
    };
    format!("{x:.digits$}")
}

fn print_summary(
    fitted: &FittedModel,
    panel: &Panel,
    card: &Scorecard,
    stability: Option<&Stability>,
    out: &Path,
) {
    let mut s = std::io::stdout().lock();
    let line = |name: &str, m: &mmm_eval::FitMetrics| {
        format!(
            "  {name:<22} R² pooled {:>7.3}   R² within {:>8.3}   wMAPE {:>6.3}",
            m.r2_pooled, m.r2_within, m.wmape
        )
    };
    let _ = writeln!(
        s,
        "fitted {} regions × {} weeks in {:.1} s ({} epochs selected)",
        fitted.regions.len(),
        fitted.weeks.len(),
        fitted.fit_seconds,
        fitted.best_epochs
    );
    match &fitted.screened_media {
        Some(m) if m.used => {
            let _ = writeln!(
                s,
                "media part: chosen by the media screen ({:.0} % of the training target), the rest \
                 trained around it (two stages)",
                100.0 * m.media_share
            );
            if let Some(note) = fitted.undetermined_note() {
                let _ = writeln!(s, "  note: {note}");
            }
        }
        Some(m) if m.media_share >= mmm_orchestrator::MAX_SCREENED_MEDIA_SHARE => {
            let _ = writeln!(
                s,
                "media part: trained jointly — the media screen gave the media {:.0} % of the \
                 training target (≥ {:.0} %: implausible, docs/model.md, *Defaults and how they were chosen*)",
                100.0 * m.media_share,
                100.0 * mmm_orchestrator::MAX_SCREENED_MEDIA_SHARE
            );
        }
        Some(m) => {
            let _ = writeln!(
                s,
                "media part: trained jointly — it forecast the validation slice better than the \
                 two-stage fit (media screen: {:.0} % of the training target)",
                100.0 * m.media_share
            );
        }
        None => {}
    }
    if let Some(path) = &fitted.path {
        let _ = writeln!(s, "{}", path.describe());
    }
    let _ = writeln!(s, "{}", line("train", &card.train));
    if let Some(h) = &card.holdout {
        let _ = writeln!(s, "{}", line("holdout", h));
        for b in &card.baselines {
            let _ = writeln!(s, "{}", line(&format!("naive {}", b.name), &b.holdout));
        }
    }
    if let Some(st) = stability {
        let _ = writeln!(
            s,
            "attribution over this fit and {} {} (share: this fit, median [min – max]):",
            st.fits.len() - 1,
            st.refits_described()
        );
        for (c, ch) in st.channels.iter().enumerate() {
            let _ = writeln!(
                s,
                "  {:<22} {:>6.1} %   {:>6.1} % [{:.1} – {:.1}]",
                ch.channel,
                100.0 * st.fits[0].channels[c].share,
                100.0 * ch.share.median,
                100.0 * ch.share.min,
                100.0 * ch.share.max
            );
        }
    }
    if let Ok(checks) = fitted.lift_test_checks(panel) {
        for c in checks {
            let kind = match (c.test.multiplier, &c.test.measured_until) {
                (None, _) => String::new(),
                (Some(m), None) => format!(" at ×{m} spend"),
                (Some(m), Some(until)) => format!(" at ×{m} spend (read to {until})"),
            };
            let _ = writeln!(
                s,
                "lift test {}{kind} {}…{}: measured {} ± {}, model {} (z = {:+.2})",
                c.test.channel,
                c.test.start,
                c.test.end,
                significant(c.test.lift),
                significant(c.test.se),
                significant(c.model),
                c.z
            );
        }
    }
    let _ = writeln!(s, "outputs in {}", out.display());
}
