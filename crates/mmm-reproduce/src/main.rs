//! `mmm-reproduce`: the project's benchmark table (run it with `cargo xtask reproduce`).
//!
//! Simulates the named scenarios (national, geo, paper; `--large` adds the 2000-region one), fits
//! each with the default dcmmm model and the classic adstock/Hill/ridge MMM, scores both against
//! the simulator's truth and the naive baselines, refits each simulation from random starts to score
//! the stability ranges (`--restarts`) and trains each again to convergence to score the fit for
//! decisions (`--converged`), fits each again calibrated with simulated lift tests
//! (`--lift-tests`, separate rows: tests of contributions, and those plus tests at half the spend),
//! fits the oracle regression that knows the true media
//! mechanism (what the data allow, `oracle.rs`), runs the reference's real panel when
//! `../shared/data/deepcausalmmm_real/` exists, and writes `docs/results.md` and
//! `docs/results.json`. Every fit runs in its own child process so that its peak memory is its own.

mod classic;
mod oracle;

use anyhow::{Context, Result, bail};
use clap::Parser;
use mmm_data::{ColumnSpec, Panel, load_panel};
use mmm_eval::FitMetrics;
use mmm_fitted::attribution::observed_sum;
use mmm_fitted::{FitConfig, FittedModel, Scorecard, Stability};
use mmm_model::Decomposition;
use mmm_orchestrator::{FitFile, assess_stability, fit_panel};
use mmm_sim::{Scenario, simulate};
use ndarray::{Array2, Axis};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Scores of one model on one data set.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
struct ModelScores {
    holdout: Option<FitMetrics>,
    train: Option<FitMetrics>,
    share_error: Option<f64>,
    share_mae_pp: Option<f64>,
    roi_median_rel_error: Option<f64>,
    roi_spearman: Option<f64>,
    /// Σ|f̂(m) − f(m)| / Σ f(m) over channels and multipliers 0…2 of the direct response curves.
    #[serde(default)]
    curve_error: Option<f64>,
}

/// dcmmm against the truth for one channel of a simulation.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
struct ChannelDetail {
    name: String,
    share_true: f64,
    share_est: f64,
    roi_true: f64,
    roi_est: f64,
    /// Σ|f̂(m) − f(m)| / Σ f(m) of this channel's direct curve over multipliers 0…2.
    curve_error: Option<f64>,
    /// Spend multiplier the model recommends (historical reallocation, ±50 %).
    multiplier_recommended: Option<f64>,
    /// Spend multiplier of the true optimum under the same constraints.
    multiplier_optimal: Option<f64>,
    /// Whether the fit says the data leave this channel's response open
    /// (`ScreenedMedia::undetermined`; `None` when the media part was not screened).
    #[serde(default)]
    undetermined: Option<bool>,
}

/// How well the ranges of `dcmmm fit --restarts` describe the truth.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
struct StabilityScores {
    /// Number of fits (the configured one and the restarts).
    fits: usize,
    /// Fraction of channels whose true share lies in [min, max] over the fits.
    coverage: f64,
    /// Mean width max − min of the share ranges, percentage points.
    mean_width_pp: f64,
    /// Share MAE (pp) of the per-channel median shares (renormalised).
    median_share_mae_pp: f64,
    /// Share MAE (pp) of the fit with the lowest validation loss.
    best_validation_share_mae_pp: Option<f64>,
}

/// The same simulation fitted again to convergence (`dcmmm fit --converged`, `--converged`).
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
struct ConvergedScores {
    scores: ModelScores,
    /// Optimiser regret of this fit under the true response (as [`Row::regret`]).
    regret: Option<f64>,
    fit_seconds: f64,
}

/// The regression that knows the true media mechanism (`oracle.rs`), scored like dcmmm.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
struct OracleScores {
    share_mae_pp: Option<f64>,
    roi_spearman: Option<f64>,
    /// Regret of the optimum under its estimated effect sizes, under the true response.
    regret: Option<f64>,
    /// RMS of ln(β̂_c / β_c) over the channels with an effect (β̂ floored at 1 % of β).
    rms_log_effect_error: Option<f64>,
}

/// The posterior of `dcmmm fit --posterior` (default priors, 4 chains × (1000 + 1000), seed 42)
/// against the true attribution.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct PosteriorScores {
    /// Means and 90 % intervals against the truth.
    #[serde(flatten)]
    truth: mmm_posterior::TruthScores,
    /// The sampler's diagnostics.
    diagnostics: mmm_posterior::diagnostics::Diagnostics,
}

/// One row of the table.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Row {
    name: String,
    shape: String,
    dcmmm: ModelScores,
    classic: ModelScores,
    baselines: Vec<(String, FitMetrics)>,
    dag_tpr: Option<f64>,
    dag_fdr: Option<f64>,
    dag_shd: Option<usize>,
    /// Optimiser regret under the true response, relative to the true optimum's lift over history.
    regret: Option<f64>,
    /// The same regret of the classic ridge's recommendation (`ClassicFit::recommend`).
    #[serde(default)]
    classic_regret: Option<f64>,
    /// Simulation seed (simulations only).
    #[serde(default)]
    seed: Option<u64>,
    /// Share MAE (pp) of the naive attribution "every channel gets the same share".
    #[serde(default)]
    equal_split_share_mae_pp: Option<f64>,
    /// Share MAE (pp) of the naive attribution "contribution shares = spend shares".
    #[serde(default)]
    spend_split_share_mae_pp: Option<f64>,
    /// Per-channel detail of dcmmm against the truth (simulations only): where the errors come from.
    #[serde(default)]
    channels: Vec<ChannelDetail>,
    /// (model − lift) / se of every lift test the fit was calibrated to.
    #[serde(default)]
    lift_test_z: Vec<f64>,
    /// Refits from random starts against the truth (simulations with `--restarts`).
    #[serde(default)]
    stability: Option<StabilityScores>,
    /// The fit trained to convergence (simulations with `--converged`).
    #[serde(default)]
    converged: Option<ConvergedScores>,
    /// The oracle regression (simulations without lift tests).
    #[serde(default)]
    oracle: Option<OracleScores>,
    /// The posterior (`dcmmm fit --posterior`, default settings) against the truth (`--posterior`).
    #[serde(default)]
    posterior: Option<PosteriorScores>,
    fit_seconds: f64,
    peak_memory_mb: f64,
}

const REAL_PANEL: &str = "deepcausalmmm_real/mmm_data.csv";

/// The column flags of the reference panel (`REAL_PANEL`).
const REAL_PANEL_FLAGS: [&str; 10] = [
    "--target",
    "target_visits",
    "--media",
    "impressions_*",
    "--controls",
    "control_*",
    "--region",
    "dmacode",
    "--time",
    "weekid",
];

/// The peers' public example panels in `../shared/data` (name, file, column flags); `--truth` where
/// the file carries the true channel contributions (docs/evaluation.md).
const PEER_PANELS: &[(&str, &str, &[&str])] = &[
    (
        "Meridian geo_all_channels",
        "meridian_simulated/geo_all_channels.csv",
        &[
            "--target",
            "conversions",
            "--media",
            "Channel?_impression",
            "--spend",
            "Channel0_impression=Channel0_spend,Channel1_impression=Channel1_spend,\
             Channel2_impression=Channel2_spend,Channel3_impression=Channel3_spend,\
             Channel4_impression=Channel4_spend",
            "--controls",
            "*_control,Promo",
            "--region",
            "geo",
            "--time",
            "time",
        ],
    ),
    (
        "Robyn dt_simulated_weekly",
        "robyn_simulated_weekly/dt_simulated_weekly.csv",
        &[
            "--target",
            "revenue",
            "--media",
            "tv_S,ooh_S,print_S,facebook_S,search_S",
            "--controls",
            "competitor_sales_B,newsletter",
            "--time",
            "DATE",
        ],
    ),
    (
        "pymc-marketing mmm_example",
        "pymc_marketing_example/mmm_example.csv",
        &[
            "--target",
            "y",
            "--media",
            "x1,x2",
            "--controls",
            "event_1,event_2",
            "--time",
            "date_week",
        ],
    ),
    (
        "pymc-marketing tvp (true contributions)",
        "pymc_marketing_tvp/media_tvp_data.csv",
        &[
            "--target",
            "y",
            "--media",
            "x1,x2",
            "--controls",
            "event_1,event_2",
            "--time",
            "date_week",
            "--truth",
            "x1=x1_contribution,x2=x2_contribution",
        ],
    ),
    (
        "pymc-marketing roas, unobserved confounder (true contributions)",
        "pymc_marketing_roas_confounded/mmm_roas_data.csv",
        &[
            "--target",
            "y",
            "--media",
            "x1,x2",
            "--time",
            "date",
            "--truth",
            "x1=y-y01,x2=y-y02",
        ],
    ),
];

/// PyMC Labs' public MMM benchmark panels in `../shared/data/pymc_labs_benchmark/` (data this
/// project did not generate, with their true attribution in `truth.json`): the panel and whether
/// its posterior is sampled by default (otherwise only with `--full`; the largest only fitted).
const LABS_PANELS: &[(&str, Option<bool>)] = &[
    ("small_business", Some(true)),
    ("growing_business", Some(true)),
    ("medium_business", Some(false)),
    ("large_business", None),
];

/// The job of one PyMC Labs panel (`LABS_PANELS`): its columns from `truth.json`.
fn labs_job(dir: &Path, name: &str, posterior: bool) -> Result<Vec<String>> {
    let panel = dir.join("pymc_labs_benchmark").join(name);
    let truth = panel.join("truth.json");
    let text =
        std::fs::read_to_string(&truth).with_context(|| format!("reading {}", truth.display()))?;
    let t: serde_json::Value = serde_json::from_str(&text)?;
    let names = |key: &str| -> Result<String> {
        let list = t[key]
            .as_array()
            .with_context(|| format!("{}: no list `{key}`", truth.display()))?;
        Ok(list
            .iter()
            .filter_map(|v| v.as_str())
            .collect::<Vec<_>>()
            .join(","))
    };
    let mut job: Vec<String> = vec![
        "--data".into(),
        panel.join("data.csv").display().to_string(),
        "--name".into(),
        format!("PyMC Labs {name}"),
        "--target".into(),
        "sales".into(),
        "--media".into(),
        names("channels")?,
        "--controls".into(),
        names("controls")?,
        "--region".into(),
        "region".into(),
        "--time".into(),
        "week".into(),
        "--truth-json".into(),
        truth.display().to_string(),
    ];
    if posterior {
        job.push("--posterior".into());
    }
    Ok(job)
}

/// The benchmark table behind `cargo xtask reproduce` (writes docs/results.md and results.json).
///
/// By default a quick run (about 10 minutes on a 2-core machine): seed 1 of each simulated scenario,
/// no restarts, no lift-test rows, the reference's real panel, the peers' panels and PyMC Labs'
/// benchmark panels, the posterior of the national simulation and of the two smallest PyMC Labs
/// panels, and a rolling-origin backtest of the reference panel at four origins. `--full`
/// regenerates the full table.
#[derive(Parser, Debug)]
#[command(name = "mmm-reproduce")]
struct Cli {
    #[command(subcommand)]
    one: Option<Sub>,
    /// The full table: seeds 1–3, 4 restarts, 3 lift tests, converged refits, the large scenario, the
    /// posterior of every national seed and of medium_business, and the backtests at every fourth
    /// origin from week 52 on every shared panel (hours on 2 cores).
    #[arg(long)]
    full: bool,
    /// Add the 2000-region scenario.
    #[arg(long)]
    large: bool,
    /// Simulation seeds 1..=N [default: 1; --full 3].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    seeds: Option<u64>,
    /// Refits per simulation for the stability ranges [default: 0; --full 4].
    #[arg(long, value_name = "K")]
    restarts: Option<usize>,
    /// Simulated lift tests per calibrated row (0 = no calibrated rows) [default: 0; --full 3].
    #[arg(long, value_name = "N")]
    lift_tests: Option<usize>,
    /// Output directory of results.md and results.json.
    #[arg(long, value_name = "DIR", default_value = "docs")]
    out: PathBuf,
    /// Directory of the shared panels [default: ../shared/data beside the repository].
    #[arg(long, value_name = "DIR")]
    shared_data: Option<PathBuf>,
    /// One more data set: the file, then its column flags (`--target Y --media A,B [--controls ..]
    /// [--region R] [--time W] [--spend a=a_spend,..] [--truth a=col|a=y-y_without_a,..]`); it
    /// takes every argument after it.
    #[arg(long, value_name = "FILE FLAGS", num_args = 1.., allow_hyphen_values = true)]
    data: Option<Vec<String>>,
}

#[derive(clap::Subcommand, Debug)]
enum Sub {
    /// One row as JSON: a simulated scenario or a data file, fitted and scored.
    One(OneArgs),
}

/// The flags of `mmm-reproduce one`.
#[derive(clap::Args, Debug, Clone)]
struct OneArgs {
    /// A named scenario (`national`, `geo`, `paper`, `large`) or a scenario TOML file (as `dcmmm
    /// simulate --scenario` takes).
    #[arg(
        long,
        value_name = "NAME|FILE",
        required_unless_present = "data",
        conflicts_with = "data"
    )]
    scenario: Option<String>,
    /// Simulation seed.
    #[arg(long, value_name = "N", default_value_t = 1)]
    seed: u64,
    /// A data file instead of a simulation, with the column flags below.
    #[arg(long, value_name = "FILE")]
    data: Option<PathBuf>,
    /// The row's name for a data file [default: the file].
    #[arg(long, value_name = "NAME")]
    name: Option<String>,
    /// The data file's columns.
    #[command(flatten)]
    columns: DataFlags,
    /// A fit.toml (`mmm_orchestrator::FitFile`): its `[model]`, `[train]`, `[dag]`,
    /// `[[lift_test]]` tables and `[data] holdout_weeks` configure the fit.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Simulated lift tests per kind (0 = none; simulations only).
    #[arg(long, value_name = "N", default_value_t = 0)]
    lift_tests: usize,
    /// The kinds of test per channel: `contribution` and/or spend multipliers, e.g.
    /// `contribution,0.5`.
    #[arg(long, value_name = "KINDS", default_value = "contribution")]
    lift_kinds: String,
    /// Refits for the stability ranges (simulations only).
    #[arg(long, value_name = "K", default_value_t = 0)]
    restarts: usize,
    /// Also train to convergence and score that fit (simulations only).
    #[arg(long)]
    converged: bool,
    /// Also sample the posterior (`dcmmm fit --posterior` defaults) and score its means and 90 %
    /// intervals against the truth (rows with a known truth).
    #[arg(long)]
    posterior: bool,
}

/// The column flags of a data file (lists are comma-separated; empty items are dropped).
#[derive(clap::Args, Debug, Clone, Default)]
struct DataFlags {
    /// Target column.
    #[arg(long, value_name = "COL")]
    target: Option<String>,
    /// Media columns or globs.
    #[arg(long, value_name = "COLS")]
    media: Option<String>,
    /// Control columns or globs.
    #[arg(long, value_name = "COLS")]
    controls: Option<String>,
    /// Region column; absent means one national region.
    #[arg(long, value_name = "COL")]
    region: Option<String>,
    /// Time column.
    #[arg(long, value_name = "COL")]
    time: Option<String>,
    /// Spend columns: `channel=column` pairs.
    #[arg(long, value_name = "CH=COL,..")]
    spend: Option<String>,
    /// True contributions per channel: `channel=column` or `channel=a-b` pairs
    /// (`truth_from_columns`).
    #[arg(long, value_name = "CH=COL,..")]
    truth: Option<String>,
    /// The true attribution as a PyMC Labs benchmark `truth.json` (`contribution_total` and
    /// `roi` per channel).
    #[arg(long, value_name = "FILE", conflicts_with = "truth")]
    truth_json: Option<PathBuf>,
}

/// [`DataFlags`] on their own, for the panels' flag lists in this file.
#[derive(Parser, Debug)]
#[command(no_binary_name = true)]
struct DataFlagsOnly {
    #[command(flatten)]
    flags: DataFlags,
}

impl DataFlags {
    /// Parses a flag list such as [`REAL_PANEL_FLAGS`].
    fn parse<S: AsRef<str>>(flags: &[S]) -> Result<DataFlags> {
        Ok(DataFlagsOnly::try_parse_from(flags.iter().map(AsRef::as_ref))?.flags)
    }

    /// The column roles the flags give.
    fn column_spec(&self) -> Result<ColumnSpec> {
        let spend = list(self.spend.as_deref())
            .into_iter()
            .map(|p| {
                p.split_once('=')
                    .map(|(a, b)| (a.to_string(), b.to_string()))
                    .context("--spend takes channel=column pairs")
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(ColumnSpec {
            target: self.target.clone().context("--data needs --target")?,
            media: list(self.media.as_deref()),
            controls: list(self.controls.as_deref()),
            region: self.region.clone(),
            time: self.time.clone().unwrap_or_default(),
            spend,
        })
    }
}

/// Rough seconds of each kind of job on this 2-core machine when it is not shared (measured:
/// docs/results.md `fit s`, the child's classic ridge, oracle and decisions added), for the
/// estimate printed at the start.
fn estimated_seconds(job: &[String], restarts: usize) -> f64 {
    let has = |s: &str| job.iter().any(|a| a == s);
    let per_fit = if has("paper")
        || job
            .iter()
            .any(|a| a.contains("deepcausalmmm_real") || a.contains("large_business"))
    {
        40.0
    } else if has("large") {
        900.0
    } else if has("geo") || job.iter().any(|a| a.contains("meridian")) {
        10.0
    } else {
        3.0
    };
    let fits =
        1.0 + if has("--restarts") {
            restarts as f64
        } else {
            0.0
        } + f64::from(u8::from(has("--converged")));
    // The posterior (4 × 2000 draws): seconds for a national panel, minutes with 8 regions.
    let posterior = if !has("--posterior") {
        0.0
    } else if job.iter().any(|a| a.contains("medium_business")) {
        600.0
    } else if job.iter().any(|a| a.contains("growing_business")) {
        60.0
    } else {
        15.0
    };
    per_fit * fits + posterior
}

/// Seconds of one backtest origin of the reference panel (both media paths where the screen is
/// plausible), for the estimate.
const BACKTEST_ORIGIN_SECONDS: f64 = 30.0;

fn main() -> Result<()> {
    let cli = Cli::parse();
    if let Some(Sub::One(args)) = &cli.one {
        let row = run_one(args)?;
        println!("{}", serde_json::to_string(&row)?);
        return Ok(());
    }
    let full = cli.full;
    let large = cli.large || full;
    let seeds = cli.seeds.unwrap_or(if full { 3 } else { 1 });
    let restarts = cli.restarts.unwrap_or(if full { 4 } else { 0 });
    let lift_tests = cli.lift_tests.unwrap_or(if full { 3 } else { 0 });
    let out = cli.out.clone();
    let extra: Vec<Vec<String>> = cli
        .data
        .iter()
        .map(|rest| {
            std::iter::once("--data".to_string())
                .chain(rest.iter().cloned())
                .collect()
        })
        .collect();
    let shared = cli.shared_data.clone().or_else(shared_data);
    // Every scenario × seed, with `flag value` appended.
    let sim_jobs = |flag: &str, value: usize| -> Vec<Vec<String>> {
        let mut jobs = Vec::new();
        for scenario in ["national", "geo", "paper"] {
            for seed in 1..=seeds {
                jobs.push(vec![
                    "--scenario".into(),
                    scenario.into(),
                    "--seed".into(),
                    seed.to_string(),
                    flag.into(),
                    value.to_string(),
                ]);
            }
        }
        jobs
    };
    let mut jobs = sim_jobs("--restarts", restarts);
    // The posterior of the national simulations (cheap: seconds each).
    for job in &mut jobs {
        if job[1] == "national" {
            job.push("--posterior".into());
        }
    }
    if lift_tests > 0 {
        // The same scenarios calibrated with simulated experiments, as separate rows: tests of the
        // channels' contributions, and those plus as many tests at another spend level.
        jobs.extend(sim_jobs("--lift-tests", lift_tests));
        for mut job in sim_jobs("--lift-tests", lift_tests) {
            job.extend([
                "--lift-kinds".into(),
                format!("contribution,{SLOPE_TEST_MULTIPLIER}"),
            ]);
            jobs.push(job);
        }
    }
    if full {
        for job in &mut jobs {
            job.push("--converged".into());
        }
    }
    if large {
        jobs.push(vec!["--scenario".into(), "large".into()]);
    }
    match &shared {
        Some(dir) => jobs.push(
            [
                "--data",
                &dir.join(REAL_PANEL).display().to_string(),
                "--name",
                "deepcausalmmm_real (190 DMAs)",
            ]
            .into_iter()
            .chain(REAL_PANEL_FLAGS)
            .map(String::from)
            .collect(),
        ),
        None => eprintln!("skipping the reference's real panel: ../shared/data not found"),
    }
    if let Some(dir) = &shared {
        for (name, file, flags) in PEER_PANELS {
            let mut job = vec![
                "--data".to_string(),
                dir.join(file).display().to_string(),
                "--name".into(),
                name.to_string(),
            ];
            job.extend(flags.iter().map(|s| s.to_string()));
            jobs.push(job);
        }
    }
    if let Some(dir) = &shared {
        for (name, posterior) in LABS_PANELS {
            if posterior.is_none() && !full {
                continue;
            }
            jobs.push(labs_job(
                dir,
                name,
                posterior.is_some_and(|quick| quick || full),
            )?);
        }
    }
    jobs.extend(extra);
    let backtests = backtest_jobs(shared.as_deref(), full);
    let estimate = jobs
        .iter()
        .map(|j| estimated_seconds(j, restarts))
        .sum::<f64>()
        + backtests
            .iter()
            .map(|b| b.origins.len() as f64 * b.seconds_per_origin)
            .sum::<f64>();
    eprintln!(
        "reproduce{}: {} fits and {} backtests, about {:.0} minutes on an unshared 2-core machine{}",
        if full { " --full" } else { "" },
        jobs.len(),
        backtests.len(),
        (estimate / 60.0).ceil(),
        if full {
            ""
        } else {
            " (`--full` for every seed, restart, lift test and backtest)"
        }
    );
    let exe = std::env::current_exe()?;
    let mut rows = Vec::new();
    let total = jobs.len() + backtests.len();
    for (i, job) in jobs.iter().enumerate() {
        eprintln!("[{}/{total}] running {}", i + 1, job.join(" "));
        let output = Command::new(&exe).arg("one").args(job).output()?;
        if !output.status.success() {
            bail!(
                "run `{}` failed:\n{}",
                job.join(" "),
                String::from_utf8_lossy(&output.stderr)
            );
        }
        let row: Row = serde_json::from_slice(&output.stdout).context("reading a run's result")?;
        eprintln!("  done in {:.1} s", row.fit_seconds);
        rows.push(row);
    }
    std::fs::create_dir_all(&out)?;
    std::fs::write(
        out.join("results.json"),
        serde_json::to_string_pretty(&rows)?,
    )?;
    let first: Vec<Row> = rows
        .iter()
        .filter(|r| r.seed.is_none_or(|s| s == 1))
        .cloned()
        .collect();
    let table = markdown(&first);
    let robustness = seed_summary(&rows);
    let stability = stability_summary(&rows);
    let converged = converged_summary(&rows);
    let oracle = oracle_summary(&rows);
    let detail = channel_detail(&first);
    let posterior = posterior_summary(&rows);
    let mut backtest_tables = String::new();
    for (k, job) in backtests.iter().enumerate() {
        eprintln!(
            "[{}/{total}] backtest {} at origins {:?}",
            jobs.len() + k + 1,
            job.name,
            job.origins
        );
        backtest_tables += &run_backtest(job)?;
    }
    std::fs::write(
        out.join("results.md"),
        format!(
            "{RESULTS_HEADER}\n{table}\n{SEEDS_HEADER}\n{robustness}\n{STABILITY_HEADER}\n{stability}\n{CONVERGED_HEADER}\n{converged}\n{ORACLE_HEADER}\n{oracle}\n{DETAIL_HEADER}\n{detail}\n{BACKTEST_HEADER}\n{backtest_tables}\n{POSTERIOR_HEADER}\n{posterior}\n{POSTERIOR_SECTION}"
        ),
    )?;
    println!("{table}\n{robustness}");
    Ok(())
}

/// The posterior measurements, run by hand with the commands they state (`dcmmm fit --posterior`
/// and `mmm-posterior`'s `score` example); kept at the end of results.md when it is regenerated.
const POSTERIOR_SECTION: &str = include_str!("../../../docs/results-posterior.md");

const RESULTS_HEADER: &str = "# Results\n\n\
Generated by `cargo xtask reproduce` (do not edit by hand). Simulated rows are seed 1; the next section gives \
every scenario over all seeds. Holdout = the last 13 weeks of every region, never used \
for training, early stopping or learning-rate decisions. R² pooled is over all region-weeks; R² within demeans each \
region by its own mean, so it measures whether the weekly movements are right, not the region levels. \
`share err` = ½ Σ|ŝ−s| of channel contribution shares; `ROI err` = median relative ROI error; `ρ ROI` = Spearman \
rank correlation of channel ROIs; `curve err` = Σ|f̂(m)−f(m)| / Σ f(m) of the direct response curves over spend \
multipliers 0…2 (all weeks scaled, carryover counted), pooled over channels. `classic` = adstock/Hill grid + ridge regression fitted on the same split. \
Naive baselines: each region's training mean and the mean of its last 13 training weeks. \
`regret` = (true outcome at the true optimum − true outcome of dcmmm's recommended reallocation of the historical budget) \
/ (true optimum − historical allocation), all under the simulator's true response, channel bounds ±50 %; the \
classic ridge's regret is that of its own recommendation (the reallocation maximising its fitted media response, \
same solver and bounds). \
Rows `+ 3 lift tests`: the same simulation fitted with three simulated experiments (`[[lift_test]]`, \
docs/evaluation.md) measuring the contributions of the three largest spenders; rows `+ 3 lift + 3 scale-down ×0.5 tests`: \
with three more on the same channels in the other regions, each measuring what halving the channel's spend for \
eight weeks lost (`multiplier = 0.5`, a point on the curve's slope); their classic and naive lines are those of the row without tests. \
The last rows are the peers' public example panels from `../shared/data` (Meridian, Robyn, pymc-marketing; \
docs/evaluation.md): the Meridian and Robyn files carry no truth, so only the forecast is scored; the two \
pymc-marketing files with `(true contributions)` carry each channel's true contribution per week, scored like \
the simulations (ROI = contribution / the media column, which is spend there). The `roas` panel's sales contain \
an unobserved confounder correlated with x1 (corr 0.71) that no model here is given.\n";

const SEEDS_HEADER: &str = "## Over simulation seeds\n\n\
The table above shows seed 1. Attribution on simulated data varies with the draw, so here every scenario \
is simulated and fitted with each seed (`cargo xtask reproduce --full` runs seeds 1–3, the default run seed 1 only; `--seeds N` changes it): \
mean and worst (max error, min R²/ρ) over the seeds. `share MAE` = mean absolute error of the channel \
contribution shares in percentage points (target ≤ 3). Two naive attributions that need no model sit \
beside it: `equal split` gives every channel the same share, `spend split` sets shares to spend shares; \
a model's attribution is only informative where it beats them.\n";

const STABILITY_HEADER: &str = "## Attribution stability (`dcmmm fit --restarts`)\n\n\
Every simulated fit above is repeated K times (`--restarts K`: 4 with `--full`, none by default; docs/model.md, *How far to trust the attribution*): a two-stage fit \
with its media screen on K bootstrap resamples of the regions, a joint fit from K random starting splits of \
the media. `coverage` = fraction of channels whose true share lies within [min, max] of the fits, \
`width` = mean max − min of the share ranges. Then three ways to pick one attribution from the fits: the \
configured fit (what `dcmmm fit` saves), the per-channel median over the fits, and the fit with the lowest \
validation loss (never the holdout). Mean over seeds.\n";

const DETAIL_HEADER: &str = "## Where the attribution error comes from (seed 1)\n\n\
Per channel: true and estimated contribution share and ROI, the direct-curve error, and the spend \
multiplier of dcmmm's recommended historical reallocation beside the true optimum's (bounds ±50 %), and \
whether the fit itself says the data leave the channel's response open (`undetermined` in summary.json: the \
effect is under three standard errors, or a quarter of the media screen's kernels or curves fit alike; – when \
the media part was not screened; docs/model.md, *How far to trust the attribution*).\n";

/// Names of the rows `keep` selects, each once, in order of first appearance.
fn scenario_names(rows: &[Row], keep: impl Fn(&Row) -> bool) -> Vec<&str> {
    let mut names: Vec<&str> = Vec::new();
    for r in rows.iter().filter(|r| keep(r)) {
        if !names.contains(&r.name.as_str()) {
            names.push(&r.name);
        }
    }
    names
}

/// The rows of scenario `name` that carry `part`, each with it.
fn rows_with<'a, T>(
    rows: &'a [Row],
    name: &str,
    part: impl Fn(&'a Row) -> Option<&'a T>,
) -> Vec<(&'a Row, &'a T)> {
    rows.iter()
        .filter(|r| r.name == name)
        .filter_map(|r| Some((r, part(r)?)))
        .collect()
}

/// The finite values of `g` over `rs`.
fn finite<T>(rs: &[(&Row, &T)], g: &dyn Fn(&Row, &T) -> Option<f64>) -> Vec<f64> {
    rs.iter()
        .filter_map(|(r, t)| g(r, t))
        .filter(|x| x.is_finite())
        .collect()
}

/// Mean of `v`, `None` when empty.
fn mean(v: &[f64]) -> Option<f64> {
    (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
}

/// Largest value of `v`, `None` when empty.
fn worst(v: &[f64]) -> Option<f64> {
    v.iter().copied().reduce(f64::max)
}

/// Mean and worst over seeds for every simulated scenario.
fn seed_summary(rows: &[Row]) -> String {
    let mut s = String::from(
        "| scenario | seeds | dcmmm share MAE pp mean (worst) | equal split | spend split | classic share MAE pp | ρ ROI mean (min) | curve err mean | regret median (worst) | classic regret median (worst) | dcmmm holdout R² mean (min) | classic holdout R² mean (min) |\n|---|---|---|---|---|---|---|---|---|---|---|---|\n",
    );
    let names = scenario_names(rows, |r| r.seed.is_some());
    let min = |v: &[f64]| v.iter().copied().reduce(f64::min);
    let median = |v: &[f64]| mmm_eval::median(v);
    for name in names {
        let rs: Vec<&Row> = rows
            .iter()
            .filter(|r| r.name == name && r.seed.is_some())
            .collect();
        let col = |g: &dyn Fn(&Row) -> Option<f64>| -> Vec<f64> {
            rs.iter()
                .filter_map(|r| g(r))
                .filter(|x| x.is_finite())
                .collect()
        };
        let share = col(&|r| r.dcmmm.share_mae_pp);
        let rho = col(&|r| r.dcmmm.roi_spearman);
        let regret = col(&|r| r.regret);
        let classic_regret = col(&|r| r.classic_regret);
        let r2 = col(&|r| r.dcmmm.holdout.as_ref().map(|h| h.r2_pooled));
        let cr2 = col(&|r| r.classic.holdout.as_ref().map(|h| h.r2_pooled));
        s.push_str(&format!(
            "| {name} | {} | {} ({}) | {} | {} | {} | {} ({}) | {} | {} ({}) | {} ({}) | {} ({}) | {} ({}) |\n",
            rs.len(),
            f(mean(&share), 2),
            f(worst(&share), 2),
            f(mean(&col(&|r| r.equal_split_share_mae_pp)), 2),
            f(mean(&col(&|r| r.spend_split_share_mae_pp)), 2),
            f(mean(&col(&|r| r.classic.share_mae_pp)), 2),
            f(mean(&rho), 2),
            f(min(&rho), 2),
            f(mean(&col(&|r| r.dcmmm.curve_error)), 2),
            f(median(&regret), 2),
            f(worst(&regret), 2),
            f(median(&classic_regret), 2),
            f(worst(&classic_regret), 2),
            f(mean(&r2), 3),
            f(min(&r2), 3),
            f(mean(&cr2), 3),
            f(min(&cr2), 3),
        ));
    }
    s
}

/// Coverage and width of the stability ranges, and the share MAE of three ways to pick a fit.
fn stability_summary(rows: &[Row]) -> String {
    let mut s = String::from(
        "| scenario | seeds | fits | coverage | width pp | share MAE pp: configured fit | median over fits | lowest validation loss |\n|---|---|---|---|---|---|---|---|\n",
    );
    let names = scenario_names(rows, |r| r.stability.is_some());
    for name in names {
        let rs = rows_with(rows, name, |r| r.stability.as_ref());
        let col = |g: &dyn Fn(&Row, &StabilityScores) -> Option<f64>| {
            mean(&rs.iter().filter_map(|(r, st)| g(r, st)).collect::<Vec<_>>())
        };
        s.push_str(&format!(
            "| {name} | {} | {} | {} | {} | {} | {} | {} |\n",
            rs.len(),
            rs.first().map_or(0, |(_, st)| st.fits),
            f(col(&|_, st| Some(st.coverage)), 2),
            f(col(&|_, st| Some(st.mean_width_pp)), 1),
            f(col(&|r, _| r.dcmmm.share_mae_pp), 2),
            f(col(&|_, st| Some(st.median_share_mae_pp)), 2),
            f(col(&|_, st| st.best_validation_share_mae_pp), 2),
        ));
    }
    s
}

const POSTERIOR_HEADER: &str = "## Posterior (`dcmmm fit --posterior`), scored against the truth\n\n\
Each row with a known truth and `--posterior`: the default point fit, then its posterior with the default \
priors, 4 chains × (1000 tune + 1000 draws), seed 42 (docs/model.md, *Posterior*). Share MAE of the \
posterior-mean shares beside the point fit's and the equal split's; how many channels' 90 % intervals hold \
the true share and ROI; mean interval widths (share in pp, ROI relative to the true ROI); the sampler's \
diagnostics and wall-clock seconds of sampling (this machine, as loaded as it was).\n";

/// The posterior rows and the calibration over all of their channels.
fn posterior_summary(rows: &[Row]) -> String {
    let mut s = String::from(
        "| data | shape | share MAE pp | point fit | equal split | ρ ROI | share in 90 % | ROI in 90 % | share width pp | ROI width | R-hat max | ESS bulk / tail min | divergences | seconds | leapfrog steps / draw |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n",
    );
    let (mut share_in, mut roi_in, mut n) = (0, 0, 0);
    for r in rows {
        let Some(scores) = &r.posterior else {
            continue;
        };
        let p = &scores.truth;
        let d = &scores.diagnostics;
        let name = match r.seed {
            Some(seed) => format!("{} seed {seed}", r.name),
            None => r.name.clone(),
        };
        s.push_str(&format!(
            "| {name} | {} | {:.2} | {} | {} | {} | {}/{} | {}/{} | {:.1} | {:.0} % | {:.3} | {:.0} / {:.0} | {} | {:.1} | {:.0} |\n",
            r.shape,
            p.share_mae_pp,
            f(r.dcmmm.share_mae_pp, 2),
            f(r.equal_split_share_mae_pp, 2),
            f(p.roi_spearman, 2),
            p.share_covered,
            p.channels,
            p.roi_covered,
            p.channels,
            p.share_width_pp,
            100.0 * p.roi_relative_width.unwrap_or(f64::NAN),
            d.rhat_max,
            d.ess_bulk_min,
            d.ess_tail_min,
            d.divergences,
            d.seconds,
            d.leapfrog_steps_per_draw,
        ));
        share_in += p.share_covered;
        roi_in += p.roi_covered;
        n += p.channels;
    }
    if n > 0 {
        s.push_str(&format!(
            "\nOver these {n} channels the 90 % intervals held the true share of {share_in} ({:.0} %) and the true ROI of {roi_in} ({:.0} %).\n",
            100.0 * share_in as f64 / n as f64,
            100.0 * roi_in as f64 / n as f64
        ));
    }
    s
}

const CONVERGED_HEADER: &str = "## Decisions from a converged fit (`dcmmm fit --converged`)\n\n\
Every simulation of the first table fitted again without a validation slice, all 600 epochs on all training \
weeks (docs/analysis.md, *Regret under the simulator's truth*): the default (early-stopped) fit → the converged fit, mean over the seeds (regret: \
median and worst). The holdout is the same 13 weeks.\n";

/// The default fit against the converged one, per scenario.
fn converged_summary(rows: &[Row]) -> String {
    let mut s = String::from(
        "| scenario | seeds | regret median (worst) | share MAE pp | ρ ROI | holdout R² within | fit s |\n|---|---|---|---|---|---|---|\n",
    );
    let names = scenario_names(rows, |r| r.converged.is_some());
    for name in names {
        let rs = rows_with(rows, name, |r| r.converged.as_ref());
        let col = |g: &dyn Fn(&Row, &ConvergedScores) -> Option<f64>| finite(&rs, g);
        let within = |m: &ModelScores| m.holdout.as_ref().map(|h| h.r2_within);
        let pair = |a: Vec<f64>, b: Vec<f64>, digits: usize| {
            format!("{} → {}", f(mean(&a), digits), f(mean(&b), digits))
        };
        let (regret, regret_conv) = (col(&|r, _| r.regret), col(&|_, c| c.regret));
        s.push_str(&format!(
            "| {name} | {} | {} ({}) → {} ({}) | {} | {} | {} | {} |\n",
            rs.len(),
            f(mmm_eval::median(&regret), 2),
            f(worst(&regret), 2),
            f(mmm_eval::median(&regret_conv), 2),
            f(worst(&regret_conv), 2),
            pair(
                col(&|r, _| r.dcmmm.share_mae_pp),
                col(&|_, c| c.scores.share_mae_pp),
                2
            ),
            pair(
                col(&|r, _| r.dcmmm.roi_spearman),
                col(&|_, c| c.scores.roi_spearman),
                2
            ),
            pair(
                col(&|r, _| within(&r.dcmmm)),
                col(&|_, c| within(&c.scores)),
                3
            ),
            pair(
                col(&|r, _| Some(r.fit_seconds)),
                col(&|_, c| Some(c.fit_seconds)),
                1
            ),
        ));
    }
    s
}

const ORACLE_HEADER: &str = "## What the data allow: a regression that knows the true mechanism\n\n\
The same simulations fitted by a regression that is GIVEN the simulator's true activity, DAG, adstock, \
saturation and region multipliers and estimates only each channel's effect size (non-negative least squares \
on the training weeks, region-specific level, trend and seasonality, linear controls; `crates/mmm-reproduce/src/oracle.rs`). \
No model that has to learn the mechanism from the panel should be expected to beat it on average: its errors \
come from noise and collinearity in the data. Its recommendation is the optimum under its estimated effect \
sizes, scored under the truth like dcmmm's (same bounds). `effect err` = RMS of ln(β̂/β) over the channels with \
an effect. Mean over seeds; regret median (worst).\n";

/// The oracle regression beside the default dcmmm fit, per scenario.
fn oracle_summary(rows: &[Row]) -> String {
    let mut s = String::from(
        "| scenario | seeds | share MAE pp: oracle | dcmmm | ρ ROI: oracle | dcmmm | effect err oracle | regret: oracle | dcmmm |\n|---|---|---|---|---|---|---|---|---|\n",
    );
    let names = scenario_names(rows, |r| r.oracle.is_some());
    for name in names {
        let rs = rows_with(rows, name, |r| r.oracle.as_ref());
        let col = |g: &dyn Fn(&Row, &OracleScores) -> Option<f64>| finite(&rs, g);
        let (oracle_regret, regret) = (col(&|_, o| o.regret), col(&|r, _| r.regret));
        s.push_str(&format!(
            "| {name} | {} | {} | {} | {} | {} | {} | {} ({}) | {} ({}) |\n",
            rs.len(),
            f(mean(&col(&|_, o| o.share_mae_pp)), 2),
            f(mean(&col(&|r, _| r.dcmmm.share_mae_pp)), 2),
            f(mean(&col(&|_, o| o.roi_spearman)), 2),
            f(mean(&col(&|r, _| r.dcmmm.roi_spearman)), 2),
            f(mean(&col(&|_, o| o.rms_log_effect_error)), 2),
            f(mmm_eval::median(&oracle_regret), 3),
            f(worst(&oracle_regret), 3),
            f(mmm_eval::median(&regret), 2),
            f(worst(&regret), 2),
        ));
    }
    s
}

/// Per-channel truth against dcmmm for the rows with a known truth.
fn channel_detail(rows: &[Row]) -> String {
    let mut s = String::new();
    for r in rows.iter().filter(|r| !r.channels.is_empty()) {
        s.push_str(&format!(
            "\n**{}**\n\n| channel | share true | share dcmmm | ROI true | ROI dcmmm | curve err | multiplier dcmmm | multiplier true optimum | data leave it open |\n|---|---|---|---|---|---|---|---|---|\n",
            r.name
        ));
        for c in &r.channels {
            s.push_str(&format!(
                "| {} | {:.3} | {:.3} | {:.2} | {:.2} | {} | {} | {} | {} |\n",
                c.name,
                c.share_true,
                c.share_est,
                c.roi_true,
                c.roi_est,
                f(c.curve_error, 2),
                f(c.multiplier_recommended, 2),
                f(c.multiplier_optimal, 2),
                match c.undetermined {
                    Some(true) => "yes",
                    Some(false) => "",
                    None => "–",
                },
            ));
        }
    }
    s
}

fn f(v: Option<f64>, digits: usize) -> String {
    v.filter(|x| x.is_finite())
        .map_or("–".into(), |x| format!("{x:.digits$}"))
}

fn markdown(rows: &[Row]) -> String {
    let mut s = String::new();
    s.push_str("| data | shape | model | holdout R² pooled | holdout R² within | holdout wMAPE | train−holdout R² gap | share err | ROI err | ρ ROI | curve err | DAG TPR / FDR / SHD | regret | fit s | peak MB |\n");
    s.push_str("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
    for r in rows {
        let line = |model: &str, m: &ModelScores, extra: (&str, String, String, String)| {
            let h = m.holdout.as_ref();
            let gap = match (m.train.as_ref(), h) {
                (Some(t), Some(h)) => Some(t.r2_pooled - h.r2_pooled),
                _ => None,
            };
            format!(
                "| {} | {} | {model} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
                r.name,
                r.shape,
                f(h.map(|x| x.r2_pooled), 3),
                f(h.map(|x| x.r2_within), 3),
                f(h.map(|x| x.wmape), 3),
                f(gap, 3),
                f(m.share_error, 3),
                f(m.roi_median_rel_error, 2),
                f(m.roi_spearman, 2),
                f(m.curve_error, 2),
                extra.0,
                extra.1,
                extra.2,
                extra.3
            )
        };
        let dag = match (r.dag_tpr, r.dag_fdr, r.dag_shd) {
            (Some(t), Some(fd), Some(shd)) => format!("{t:.2} / {fd:.2} / {shd}"),
            _ => "–".into(),
        };
        s.push_str(&line(
            "**dcmmm**",
            &r.dcmmm,
            (
                &dag,
                f(r.regret, 3),
                format!("{:.1}", r.fit_seconds),
                format!("{:.0}", r.peak_memory_mb),
            ),
        ));
        if !r.lift_test_z.is_empty() {
            // A calibrated row: its classic and naive lines are those of the row without tests.
            continue;
        }
        s.push_str(&line(
            "classic ridge",
            &r.classic,
            ("–", f(r.classic_regret, 3), "–".into(), "–".into()),
        ));
        for (name, m) in &r.baselines {
            let naive = ModelScores {
                holdout: Some(*m),
                ..ModelScores::default()
            };
            s.push_str(&line(
                &format!("naive: {name}"),
                &naive,
                ("–", "–".into(), "–".into(), "–".into()),
            ));
        }
    }
    s
}

fn shared_data() -> Option<PathBuf> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data");
    root.join(REAL_PANEL).is_file().then_some(root)
}

/// Per channel, in panel order: names, true contributions, shares and ROI.
type TrueAttribution = (Vec<String>, Vec<f64>, Vec<f64>, Vec<f64>);

/// True channel contributions from truth columns of the data file, in `channels` order: each spec is
/// `channel=column` (the channel's contribution per row) or `channel=a-b` (a counterfactual
/// difference per row, e.g. `y-y01` = sales minus sales with the channel switched off), summed over
/// every row of the file.
fn truth_from_columns(path: &Path, specs: &[String], channels: &[String]) -> Result<Vec<f64>> {
    let mut reader =
        csv::Reader::from_path(path).with_context(|| format!("reading {}", path.display()))?;
    let header = reader.headers()?.clone();
    let column = |name: &str| -> Result<usize> {
        header
            .iter()
            .position(|h| h == name)
            .with_context(|| format!("{}: no column `{name}`", path.display()))
    };
    let mut terms: Vec<Option<(usize, Option<usize>)>> = vec![None; channels.len()];
    for spec in specs {
        let (channel, expr) = spec.split_once('=').with_context(|| {
            format!("--truth takes channel=column or channel=a-b, got `{spec}`")
        })?;
        let c = channels
            .iter()
            .position(|x| x == channel)
            .with_context(|| format!("--truth: `{channel}` is not a media channel"))?;
        terms[c] = Some(match expr.split_once('-') {
            Some((a, b)) => (column(a)?, Some(column(b)?)),
            None => (column(expr)?, None),
        });
    }
    let terms: Vec<(usize, Option<usize>)> = terms
        .into_iter()
        .zip(channels)
        .map(|(t, c)| t.with_context(|| format!("--truth gives no column for channel `{c}`")))
        .collect::<Result<_>>()?;
    let mut sums = vec![0.0; channels.len()];
    for (row, record) in reader.records().enumerate() {
        let record = record?;
        let value = |i: usize| -> Result<f64> {
            record[i].trim().parse::<f64>().with_context(|| {
                format!(
                    "{} row {}: column `{}` is not a number",
                    path.display(),
                    row + 2,
                    &header[i]
                )
            })
        };
        for (c, (a, b)) in terms.iter().enumerate() {
            sums[c] += value(*a)? - b.map_or(Ok(0.0), value)?;
        }
    }
    Ok(sums)
}

/// The items of a comma-separated list, trimmed, empty ones dropped.
fn list(v: Option<&str>) -> Vec<String> {
    v.map(|s| {
        s.split(',')
            .map(str::trim)
            .filter(|x| !x.is_empty())
            .map(String::from)
            .collect()
    })
    .unwrap_or_default()
}

fn peak_memory_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

const BACKTEST_HEADER: &str = "## Rolling-origin backtests\n\n\
`dcmmm backtest` with the default configuration (`mmm_orchestrator::backtest`): at each origin T the fit sees the \
first T calendar weeks and forecasts weeks T … T+12 (warm); the naive baselines are computed from the same \
training weeks and scored on the same cells; `best naive` is the best of the three per metric (highest R², \
lowest wMAPE). `gap` = best naive within-region R² − dcmmm's; `warned` = the fit's self-check (validation slice \
or first-epoch stop) printed a warning. On the reference panel origin 96 is the final holdout of the table \
above. The default run covers four origins of the reference panel; `--full` every fourth origin from week 52 \
on every shared panel.\n";

/// One backtest of `reproduce`: a shared panel and its origins.
struct BacktestJob {
    name: String,
    file: PathBuf,
    flags: Vec<String>,
    origins: Vec<usize>,
    seconds_per_origin: f64,
}

/// The backtests of the run: the reference panel at four origins, or with `full` at every fourth
/// origin from week 52 on the reference and the peers' panels (none without the shared data).
fn backtest_jobs(shared: Option<&Path>, full: bool) -> Vec<BacktestJob> {
    let Some(dir) = shared else {
        return Vec::new();
    };
    let every_fourth = |weeks: usize| (52..=weeks - 13).step_by(4).collect::<Vec<_>>();
    let reference = BacktestJob {
        name: "deepcausalmmm_real (190 DMAs)".into(),
        file: dir.join(REAL_PANEL),
        flags: REAL_PANEL_FLAGS.map(String::from).to_vec(),
        origins: if full {
            every_fourth(109)
        } else {
            vec![60, 72, 84, 96]
        },
        seconds_per_origin: BACKTEST_ORIGIN_SECONDS,
    };
    if !full {
        return vec![reference];
    }
    let mut jobs = vec![reference];
    for (name, file, flags) in PEER_PANELS {
        let path = dir.join(file);
        let Ok(panel) = DataFlags::parse(flags)
            .and_then(|f| f.column_spec())
            .and_then(|spec| Ok(load_panel(&path, &spec)?.panel))
        else {
            continue;
        };
        jobs.push(BacktestJob {
            name: name.to_string(),
            file: path,
            flags: flags
                .iter()
                .take_while(|f| **f != "--truth")
                .map(|s| s.to_string())
                .collect(),
            origins: every_fourth(panel.n_weeks()),
            seconds_per_origin: if panel.n_regions() > 1 { 10.0 } else { 1.0 },
        });
    }
    jobs
}

/// Runs `job` and returns its markdown section: the per-origin table and the means.
fn run_backtest(job: &BacktestJob) -> Result<String> {
    let spec = DataFlags::parse(&job.flags)?.column_spec()?;
    let panel = load_panel(&job.file, &spec)?.panel;
    let n = job.origins.len();
    let bt = mmm_orchestrator::backtest(
        &panel,
        &spec,
        &FitConfig::default(),
        &job.origins,
        13,
        &mut |i, p| {
            if p.epoch == 1 && p.stage == 1 {
                eprintln!("  origin {} ({}/{n})", job.origins[i], i + 1);
            }
        },
    )?;
    let mut t = format!(
        "### {}\n\n| origin | path | epochs | dcmmm R² pooled | R² within | wMAPE | best naive R² pooled | R² within | wMAPE | gap | warned |\n|---|---|---|---|---|---|---|---|---|---|---|\n",
        job.name
    );
    for o in &bt.origins {
        let b = o.best_naive();
        t += &format!(
            "| {} | {} | {} | {:.3} | {:.3} | {:.3} | {:.3} | {:.3} | {:.3} | {:.2} | {} |\n",
            o.origin,
            o.path,
            o.epochs,
            o.model.r2_pooled,
            o.model.r2_within,
            o.model.wmape,
            b.r2_pooled,
            b.r2_within,
            b.wmape,
            b.r2_within - o.model.r2_within,
            if o.warnings.is_empty() { "no" } else { "yes" }
        );
    }
    let (m, b) = (bt.model_mean(), bt.best_naive_mean());
    t += &format!(
        "| **mean** | | | **{:.3}** | **{:.3}** | **{:.3}** | **{:.3}** | **{:.3}** | **{:.3}** | {:.2} | |\n\n",
        m.r2_pooled,
        m.r2_within,
        m.wmape,
        b.r2_pooled,
        b.r2_within,
        b.wmape,
        b.r2_within - m.r2_within
    );
    Ok(t)
}

/// The data set of one row: its name, panel, column roles and, when simulated, the simulation.
struct Input {
    name: String,
    panel: Panel,
    spec: ColumnSpec,
    sim: Option<mmm_sim::Simulation>,
}

/// Simulates the row's scenario (written to CSV and loaded back as `dcmmm` would) or loads its
/// data file.
fn load_input(args: &OneArgs) -> Result<Input> {
    if let Some(scenario) = &args.scenario {
        let parsed = if scenario.ends_with(".toml") {
            Scenario::from_toml(&std::fs::read_to_string(scenario)?)?
        } else {
            Scenario::named(scenario)?
        };
        let sim = simulate(&parsed, args.seed)?;
        let scenario = parsed.name.clone();
        let dir =
            std::env::temp_dir().join(format!("dcmmm-reproduce-{scenario}-{}", std::process::id()));
        sim.write(&dir)?;
        let spec = sim.column_spec();
        let panel = load_panel(&dir.join("panel.csv"), &spec)?.panel;
        std::fs::remove_dir_all(&dir).ok();
        Ok(Input {
            name: format!("sim: {scenario}"),
            panel,
            spec,
            sim: Some(sim),
        })
    } else if let Some(path) = &args.data {
        let spec = args.columns.column_spec()?;
        let panel = load_panel(path, &spec)?.panel;
        Ok(Input {
            name: args
                .name
                .clone()
                .unwrap_or_else(|| path.display().to_string()),
            panel,
            spec,
            sim: None,
        })
    } else {
        bail!("`one` needs --scenario NAME or --data FILE");
    }
}

/// The fit configuration: `--config`'s fit.toml, or the defaults.
fn row_config(args: &OneArgs) -> Result<FitConfig> {
    Ok(match &args.config {
        Some(path) => FitFile::<toml::Table>::read(path)?.fit_config(),
        None => FitConfig::default(),
    })
}

/// The kinds of `--lift-kinds`: `None` for a test of the contribution, `Some(m)` for a test at
/// spend multiplier m.
fn lift_kinds(flag: &str) -> Result<Vec<Option<f64>>> {
    flag.split(',')
        .map(|k| match k {
            "contribution" => Ok(None),
            m => m
                .parse()
                .map(Some)
                .context("--lift-kinds: `contribution` or a multiplier"),
        })
        .collect()
}

/// Adds `--lift-tests` simulated tests of every kind to `cfg` and returns the row's name with
/// them; the name alone when there are none (or the data are not simulated).
fn with_simulated_lift_tests(cfg: &mut FitConfig, input: &Input, args: &OneArgs) -> Result<String> {
    let kinds = lift_kinds(&args.lift_kinds)?;
    let (Some(sim), n) = (&input.sim, args.lift_tests) else {
        return Ok(input.name.clone());
    };
    if n == 0 {
        return Ok(input.name.clone());
    }
    for (i, &kind) in kinds.iter().enumerate() {
        let tests =
            simulated_lift_tests(sim, &input.panel, cfg.holdout_weeks, n, kind, i, args.seed)?;
        cfg.lift_tests.extend(tests);
    }
    let kinds: Vec<String> = kinds
        .iter()
        .map(|kind| match kind {
            None => format!("{n} lift"),
            Some(m) if *m < 1.0 => format!("{n} scale-down ×{m}"),
            Some(m) => format!("{n} heavy-up ×{m}"),
        })
        .collect();
    Ok(format!("{} + {} tests", input.name, kinds.join(" + ")))
}

/// The forecast scores (holdout and training) of dcmmm and of the classic ridge.
fn forecast_scores(
    card: &Scorecard,
    classic: &classic::ClassicFit,
    fitted: &FittedModel,
    panel: &Panel,
) -> (ModelScores, ModelScores) {
    let dcmmm = ModelScores {
        holdout: card.holdout,
        train: Some(card.train),
        ..ModelScores::default()
    };
    let scores = |weeks: std::ops::Range<usize>| {
        let mask = fitted.mask(panel, weeks);
        FitMetrics::compute(panel.target.view(), classic.prediction.view(), mask.view())
    };
    let classic_scores = ModelScores {
        holdout: Some(scores(fitted.split.holdout.clone())),
        train: Some(scores(fitted.split.train.clone())),
        ..ModelScores::default()
    };
    (dcmmm, classic_scores)
}

/// Each channel's spend (or activity) summed over the observed cells.
fn channel_spend(panel: &Panel) -> Vec<f64> {
    (0..panel.n_channels())
        .map(|c| observed_sum(panel, panel.spend_or_media().index_axis(Axis(2), c)))
        .collect()
}

/// Each channel's contribution (`[channel, region, week]`) summed over the observed cells.
fn channel_totals(panel: &Panel, contributions: &ndarray::Array3<f64>) -> Vec<f64> {
    (0..panel.n_channels())
        .map(|c| observed_sum(panel, contributions.index_axis(Axis(0), c)))
        .collect()
}

/// The true attribution (names, contributions, shares, ROI): from the simulator, or from the
/// `--truth` columns of a data file; `None` when neither is known.
fn true_attribution(
    input: &Input,
    args: &OneArgs,
    spend: &[f64],
) -> Result<Option<TrueAttribution>> {
    if let Some(sim) = &input.sim {
        let t = &sim.truth().channel_truth;
        return Ok(Some((
            t.iter().map(|c| c.name.clone()).collect(),
            t.iter().map(|c| c.contribution).collect(),
            t.iter().map(|c| c.share).collect(),
            t.iter().map(|c| c.roi).collect(),
        )));
    }
    if let Some(path) = &args.columns.truth_json {
        return truth_from_json(path, &input.panel.channels).map(Some);
    }
    let Some(columns) = &args.columns.truth else {
        return Ok(None);
    };
    let path = args.data.as_deref().context("--truth needs --data")?;
    let contrib = truth_from_columns(path, &list(Some(columns)), &input.panel.channels)?;
    let shares = mmm_eval::contribution_shares(&contrib)?;
    let roi = contrib
        .iter()
        .zip(spend)
        .map(|(x, s)| if *s > 0.0 { x / s } else { 0.0 })
        .collect();
    Ok(Some((input.panel.channels.clone(), contrib, shares, roi)))
}

/// The true attribution of a PyMC Labs benchmark `truth.json`: each channel's
/// `contribution_total` and `roi`, in the panel's channel order.
fn truth_from_json(path: &Path, channels: &[String]) -> Result<TrueAttribution> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let t: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("{}: not JSON", path.display()))?;
    let field = |key: &str, c: &str| {
        t[key][c]
            .as_f64()
            .with_context(|| format!("{}: no number `{key}.{c}`", path.display()))
    };
    let contrib = channels
        .iter()
        .map(|c| field("contribution_total", c))
        .collect::<Result<Vec<_>>>()?;
    let roi = channels
        .iter()
        .map(|c| field("roi", c))
        .collect::<Result<Vec<_>>>()?;
    let shares = mmm_eval::contribution_shares(&contrib)?;
    Ok((channels.to_vec(), contrib, shares, roi))
}

/// The attribution against the truth: scores of dcmmm and of the classic ridge (into `dcmmm`
/// and `classic_scores`), the per-channel detail and the share MAE of the two naive splits.
struct AttributionScores {
    channels: Vec<ChannelDetail>,
    equal_split: Option<f64>,
    spend_split: Option<f64>,
}

/// Scores dcmmm's and the classic ridge's attribution against `truth`.
#[allow(clippy::too_many_arguments)]
fn attribution_scores(
    dcmmm: &mut ModelScores,
    classic_scores: &mut ModelScores,
    fitted: &FittedModel,
    panel: &Panel,
    decomposition: &Decomposition,
    classic: &classic::ClassicFit,
    spend: &[f64],
    truth @ (names, true_contrib, true_share, true_roi): &TrueAttribution,
) -> AttributionScores {
    let est = channel_totals(panel, &decomposition.channels);
    let est_roi = score_attribution(dcmmm, &est, spend, truth);
    score_attribution(
        classic_scores,
        &channel_totals(panel, &classic.contributions),
        spend,
        truth,
    );
    let shares = mmm_eval::contribution_shares(&est).unwrap_or_default();
    let channels = names
        .iter()
        .enumerate()
        .map(|(c, name)| ChannelDetail {
            name: name.clone(),
            share_true: true_share[c],
            share_est: shares.get(c).copied().unwrap_or(f64::NAN),
            roi_true: true_roi[c],
            roi_est: est_roi[c],
            undetermined: fitted
                .screened_media
                .as_ref()
                .filter(|m| m.used)
                .map(|m| m.undetermined().contains(&c)),
            ..ChannelDetail::default()
        })
        .collect();
    AttributionScores {
        channels,
        equal_split: mmm_eval::mean_abs_share_error_pp(
            &vec![1.0; panel.n_channels()],
            true_contrib,
        )
        .ok(),
        spend_split: mmm_eval::mean_abs_share_error_pp(spend, true_contrib).ok(),
    }
}

/// What only a simulation can score: decisions under the true response and the DAG.
#[derive(Default)]
struct DecisionScores {
    regret: Option<f64>,
    classic_regret: Option<f64>,
    dag_tpr: Option<f64>,
    dag_fdr: Option<f64>,
    dag_shd: Option<usize>,
}

/// Scores the fit's curves and recommendation (into `dcmmm` and `channels`), the classic
/// ridge's recommendation and the learned DAG against the simulation's truth.
#[allow(clippy::too_many_arguments)]
fn decision_scores(
    sim: &mmm_sim::Simulation,
    fitted: &FittedModel,
    classic: &classic::ClassicFit,
    panel: &Panel,
    optimum: Option<&mmm_analysis::TrueOptimum>,
    bounds: &mmm_analysis::Bounds,
    dcmmm: &mut ModelScores,
    channels: &mut [ChannelDetail],
) -> DecisionScores {
    let mut scores = DecisionScores::default();
    let (curves, comparison) = decisions_on_truth(fitted, sim, optimum, bounds, "default fit");
    if let Some((pooled, per_channel)) = curves {
        dcmmm.curve_error = Some(pooled);
        for (d, e) in channels.iter_mut().zip(per_channel) {
            d.curve_error = Some(e);
        }
    }
    if let Some(cmp) = comparison {
        scores.regret = cmp.regret.relative;
        for (c, d) in channels.iter_mut().enumerate() {
            d.multiplier_recommended = cmp.recommended_multipliers.get(c).copied();
            d.multiplier_optimal = cmp.optimal_multipliers.get(c).copied();
        }
    }
    scores.classic_regret = optimum.and_then(|optimum| {
        classic
            .recommend(fitted, panel, bounds)
            .and_then(|m| Ok(optimum.score(sim, m)?))
            .inspect_err(|e| eprintln!("classic ridge: regret on the truth failed: {e}"))
            .ok()
            .and_then(|cmp| cmp.regret.relative)
    });
    let truth = sim.truth();
    if !truth.dag.edges.is_empty() {
        let c = panel.n_channels();
        let true_adj = Array2::from_shape_fn((c, c), |(i, j)| truth.dag.adjacency[i][j]);
        let est = Array2::from_shape_fn((c, c), |(i, j)| fitted.dag.weights[i][j]);
        scores.dag_tpr = Some(mmm_dag::metrics::tpr(est.view(), true_adj.view()));
        scores.dag_fdr = Some(mmm_dag::metrics::fdr(est.view(), true_adj.view()));
        scores.dag_shd = Some(mmm_dag::metrics::shd(est.view(), true_adj.view()));
    }
    scores
}

/// The same simulation trained to convergence (`cfg` with `TrainConfig::converged`), scored like
/// the default fit.
#[allow(clippy::too_many_arguments)]
fn converged_scores(
    input: &Input,
    sim: &mmm_sim::Simulation,
    cfg: &FitConfig,
    spend: &[f64],
    truth: &TrueAttribution,
    optimum: Option<&mmm_analysis::TrueOptimum>,
    bounds: &mmm_analysis::Bounds,
) -> Result<ConvergedScores> {
    let cfg = FitConfig {
        train: cfg.train.clone().converged(),
        ..cfg.clone()
    };
    let panel = &input.panel;
    let fitted = fit_panel(panel, &input.spec, &cfg, &mut |_| {})?;
    let (pred, decomposition) = fitted.predict(panel)?;
    let card = Scorecard::compute(&fitted, panel, &pred)?;
    let mut scores = ModelScores {
        holdout: card.holdout,
        train: Some(card.train),
        ..ModelScores::default()
    };
    score_attribution(
        &mut scores,
        &channel_totals(panel, &decomposition.channels),
        spend,
        truth,
    );
    let (curves, comparison) = decisions_on_truth(&fitted, sim, optimum, bounds, "converged fit");
    scores.curve_error = curves.map(|(pooled, _)| pooled);
    Ok(ConvergedScores {
        scores,
        regret: comparison.and_then(|cmp| cmp.regret.relative),
        fit_seconds: fitted.fit_seconds,
    })
}

/// One row of the table: load or simulate the data, fit, and score the fit, the classic ridge,
/// the naive baselines and (where the truth is known) the attribution, the decisions, the
/// stability ranges, the oracle and the converged fit.
fn run_one(args: &OneArgs) -> Result<Row> {
    let input = load_input(args)?;
    let mut cfg = row_config(args)?;
    let name = with_simulated_lift_tests(&mut cfg, &input, args)?;
    let (panel, sim) = (&input.panel, input.sim.as_ref());
    let fitted = fit_panel(panel, &input.spec, &cfg, &mut |_| {})?;
    let (pred, decomposition) = fitted.predict(panel)?;
    let stability = match (sim, args.restarts) {
        (Some(sim), k) if k > 0 => {
            let st = assess_stability(panel, &input.spec, &cfg, &fitted, k, &mut |_, _| {})?;
            Some(stability_scores(&st, sim)?)
        }
        _ => None,
    };
    let card = Scorecard::compute(&fitted, panel, &pred)?;
    let classic = classic::fit_classic(&fitted, panel)?;
    let (mut dcmmm, mut classic_scores) = forecast_scores(&card, &classic, &fitted, panel);
    let spend = channel_spend(panel);
    let truth = true_attribution(&input, args, &spend)?;
    let mut attribution = match &truth {
        Some(t) => attribution_scores(
            &mut dcmmm,
            &mut classic_scores,
            &fitted,
            panel,
            &decomposition,
            &classic,
            &spend,
            t,
        ),
        None => AttributionScores {
            channels: Vec::new(),
            equal_split: None,
            spend_split: None,
        },
    };
    // The true optimum of the simulation, solved once for every model scored against it.
    let bounds = mmm_analysis::Bounds::default();
    let optimum = sim.and_then(|sim| {
        mmm_analysis::TrueOptimum::solve(sim, &bounds)
            .inspect_err(|e| eprintln!("the true optimum failed: {e}"))
            .ok()
    });
    let decisions = match sim {
        Some(sim) => decision_scores(
            sim,
            &fitted,
            &classic,
            panel,
            optimum.as_ref(),
            &bounds,
            &mut dcmmm,
            &mut attribution.channels,
        ),
        None => DecisionScores::default(),
    };
    let peak_memory_mb = peak_memory_mb();
    // What the data allow: the regression that knows the true mechanism (the same draw with lift
    // tests adds nothing to it, so only rows without them).
    let oracle = match (sim, &truth) {
        (Some(sim), Some(t)) if args.lift_tests == 0 => Some(oracle_scores(
            sim,
            cfg.holdout_weeks,
            &spend,
            t,
            optimum.as_ref(),
            &bounds,
        )),
        _ => None,
    };
    let posterior = match &truth {
        Some(t) if args.posterior => Some(posterior_scores(&fitted, t)?),
        _ => None,
    };
    // The same simulation trained to convergence (after the memory reading: it is a second fit in
    // this process).
    let converged = match (sim, &truth) {
        (Some(sim), Some(t)) if args.converged => Some(converged_scores(
            &input,
            sim,
            &cfg,
            &spend,
            t,
            optimum.as_ref(),
            &bounds,
        )?),
        _ => None,
    };
    Ok(Row {
        name,
        shape: shape(panel),
        dcmmm,
        classic: classic_scores,
        baselines: card
            .baselines
            .iter()
            .filter(|b| b.name != "same_week_last_year")
            .map(|b| (b.name.clone(), b.holdout))
            .collect(),
        dag_tpr: decisions.dag_tpr,
        dag_fdr: decisions.dag_fdr,
        dag_shd: decisions.dag_shd,
        regret: decisions.regret,
        classic_regret: decisions.classic_regret,
        seed: sim.map(|_| args.seed),
        equal_split_share_mae_pp: attribution.equal_split,
        spend_split_share_mae_pp: attribution.spend_split,
        channels: attribution.channels,
        lift_test_z: fitted
            .lift_test_checks(panel)?
            .iter()
            .map(|c| c.z)
            .collect(),
        stability,
        converged,
        oracle,
        posterior,
        fit_seconds: fitted.fit_seconds,
        peak_memory_mb,
    })
}

/// Samples the posterior of `fitted` as `dcmmm fit --posterior` does by default and scores its
/// means and 90 % intervals against the true attribution.
fn posterior_scores(
    fitted: &FittedModel,
    (names, _, true_share, true_roi): &TrueAttribution,
) -> Result<PosteriorScores> {
    use mmm_posterior::{
        AgainstTruth, BuildOptions, Settings, channel_draws, score_against_truth, summarize,
    };
    let (model, init) = mmm_posterior::from_fitted(fitted, &BuildOptions::default())?;
    let settings = Settings::default();
    let posterior = mmm_posterior::sample(&model, &init, &settings, &|_, _| {})?;
    let diagnostics =
        mmm_posterior::diagnostics::Diagnostics::assess(&model, &posterior, &settings);
    let draws: Vec<_> = posterior
        .draws
        .iter()
        .flatten()
        .map(|theta| channel_draws(&model, theta))
        .collect();
    let intervals = summarize(&draws);
    let scored = names
        .iter()
        .enumerate()
        .map(|(c, name)| {
            let at = fitted
                .channels
                .iter()
                .position(|n| n == name)
                .with_context(|| format!("the truth's channel `{name}` is not in the fit"))?;
            Ok(AgainstTruth {
                share: intervals[at].share,
                roi: intervals[at].roi,
                true_share: true_share[c],
                true_roi: true_roi[c],
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(PosteriorScores {
        truth: score_against_truth(&scored),
        diagnostics,
    })
}

/// The fit's response curves and budget recommendation against the simulator's truth: the curve
/// error (pooled, per channel) and the regret comparison against the true `optimum` (solved with
/// `bounds`), each `None` with a message on stderr when it cannot be computed.
fn decisions_on_truth(
    fitted: &mmm_fitted::FittedModel,
    sim: &mmm_sim::Simulation,
    optimum: Option<&mmm_analysis::TrueOptimum>,
    bounds: &mmm_analysis::Bounds,
    which: &str,
) -> (
    Option<(f64, Vec<f64>)>,
    Option<mmm_analysis::TruthComparison>,
) {
    let curves = curve_error(fitted, sim)
        .inspect_err(|e| eprintln!("{which}: curve error failed: {e}"))
        .ok();
    let comparison = optimum.and_then(|optimum| {
        optimum
            .score_fitted(sim, fitted, bounds)
            .inspect_err(|e| eprintln!("{which}: regret on the truth failed: {e}"))
            .ok()
    });
    (curves, comparison)
}

/// Fits the oracle regression (`oracle.rs`) and scores its attribution and its recommendation
/// against the truth; a failing part is `None` with a message on stderr.
fn oracle_scores(
    sim: &mmm_sim::Simulation,
    holdout_weeks: usize,
    spend: &[f64],
    truth: &TrueAttribution,
    optimum: Option<&mmm_analysis::TrueOptimum>,
    bounds: &mmm_analysis::Bounds,
) -> OracleScores {
    let fit = match oracle::fit_oracle(sim, holdout_weeks) {
        Ok(fit) => fit,
        Err(e) => {
            eprintln!("oracle regression failed: {e}");
            return OracleScores::default();
        }
    };
    let mut scores = ModelScores::default();
    score_attribution(&mut scores, &fit.contributions, spend, truth);
    let (beta, _) = sim.unit_contributions();
    let logs: Vec<f64> = beta
        .iter()
        .zip(&fit.effects)
        .filter(|(b, _)| **b > 0.0)
        .map(|(b, e)| (e.max(0.01 * b) / b).ln())
        .collect();
    let regret = optimum.and_then(|optimum| {
        mmm_analysis::multipliers_with_effects(sim, &fit.effects, bounds)
            .and_then(|m| optimum.score(sim, m))
            .inspect_err(|e| eprintln!("oracle: regret on the truth failed: {e}"))
            .ok()
            .and_then(|cmp| cmp.regret.relative)
    });
    OracleScores {
        share_mae_pp: scores.share_mae_pp,
        roi_spearman: scores.roi_spearman,
        regret,
        rms_log_effect_error: (!logs.is_empty())
            .then(|| (logs.iter().map(|v| v * v).sum::<f64>() / logs.len() as f64).sqrt()),
    }
}

/// Scores estimated channel contributions (`est`, summed over the observed cells) against the
/// truth: share error and MAE, ROI error and rank correlation. Returns the estimated ROIs.
fn score_attribution(
    scores: &mut ModelScores,
    est: &[f64],
    spend: &[f64],
    (_, true_contrib, _, true_roi): &TrueAttribution,
) -> Vec<f64> {
    let est_roi: Vec<f64> = est
        .iter()
        .zip(spend)
        .map(|(e, s)| if *s > 0.0 { e / s } else { 0.0 })
        .collect();
    scores.share_error = mmm_eval::share_error(est, true_contrib).ok();
    scores.share_mae_pp = mmm_eval::mean_abs_share_error_pp(est, true_contrib).ok();
    scores.roi_median_rel_error = mmm_eval::roi_relative_errors(&est_roi, true_roi)
        .ok()
        .and_then(|r| r.median);
    scores.roi_spearman = mmm_eval::spearman(&est_roi, true_roi).ok();
    est_roi
}

/// Weeks of a simulated lift test: the last weeks of the training span.
const LIFT_TEST_WEEKS: usize = 8;
/// Spend multiplier of the simulated tests of the curves' slopes (rows `+ 3 lift + 3 scale-down
/// ×0.5 tests`).
const SLOPE_TEST_MULTIPLIER: f64 = 0.5;
/// Relative standard error of a simulated lift test.
const LIFT_TEST_RELATIVE_SE: f64 = 0.1;

/// `n` lift tests read from the simulator's truth, as a marketing team would run them: the `n`
/// channels with the most spend, each tested over the last [`LIFT_TEST_WEEKS`] training weeks in
/// every other region starting with region `kind` mod 2 (so that two kinds of test of a channel
/// run in different regions; in a one-region panel the `kind`-th runs `kind` test periods
/// earlier). Without `multiplier`, a test of the
/// channel's contribution: the measured lift is its true contribution over those region-weeks.
/// With `multiplier` m, a heavy-up (m > 1) or scale-down test: the data's activity in those
/// region-weeks is taken as m times the usual, and the measured lift is the true difference the
/// channel's direct contribution shows over the tested regions from the test's first week to the
/// last week of the data. Either lift gets Gaussian noise with a standard error of
/// [`LIFT_TEST_RELATIVE_SE`] of the channel's contribution over the tested region-weeks, or of the
/// average channel's, whichever is larger (the noise of an experiment comes from the outcome, not
/// from the effect, so a heavy-up's smaller difference is measured no more precisely).
fn simulated_lift_tests(
    sim: &mmm_sim::Simulation,
    panel: &Panel,
    holdout_weeks: usize,
    n: usize,
    multiplier: Option<f64>,
    kind: usize,
    seed: u64,
) -> Result<Vec<mmm_fitted::LiftTestSpec>> {
    use rand::SeedableRng;
    use rand_distr::Distribution;
    let weeks = sim.weeks();
    // One region cannot run two kinds of test at once: the k-th kind runs k periods earlier.
    let earlier = if sim.regions().len() > 1 { 0 } else { kind };
    anyhow::ensure!(
        weeks.len() > holdout_weeks + (earlier + 1) * LIFT_TEST_WEEKS,
        "too few weeks for a lift test"
    );
    let end = weeks.len() - holdout_weeks - 1 - earlier * LIFT_TEST_WEEKS;
    let start = end + 1 - LIFT_TEST_WEEKS;
    let spend = panel.spend_or_media();
    let mut by_spend: Vec<usize> = (0..panel.n_channels()).collect();
    let total = |c: usize| spend.index_axis(Axis(2), c).sum();
    by_spend.sort_by(|a, b| total(*b).total_cmp(&total(*a)));
    let first = if sim.regions().len() > 1 { kind % 2 } else { 0 };
    let regions: Vec<usize> = (first..sim.regions().len()).step_by(2).collect();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed ^ 0x11f7 ^ ((kind as u64) << 20));
    let component = |name: &String| {
        sim.component_names()
            .iter()
            .position(|x| x == name)
            .context("channel missing from the truth")
    };
    let tested_sum = |a: ndarray::ArrayView2<f64>, last: usize| -> f64 {
        regions
            .iter()
            .flat_map(|&r| (start..=last).map(move |t| (r, t)))
            .map(|(r, t)| a[[r, t]])
            .sum()
    };
    // True contribution of every channel over the tested region-weeks.
    let truth: Vec<f64> = panel
        .channels
        .iter()
        .map(|name| {
            let k = component(name)?;
            Ok(tested_sum(sim.components().index_axis(Axis(2), k), end))
        })
        .collect::<Result<_>>()?;
    // An experiment's noise comes from the outcome, not from the effect: a test of a channel with
    // no effect still has a standard error. Floor: 10 % of the average channel's true lift.
    let typical = truth.iter().map(|x| x.abs()).sum::<f64>() / truth.len() as f64;
    by_spend
        .into_iter()
        .take(n)
        .map(|c| {
            let measured = match multiplier {
                None => truth[c],
                Some(m) => {
                    let sim_c = sim
                        .channels()
                        .iter()
                        .position(|x| *x == panel.channels[c])
                        .context("channel missing from the simulation")?;
                    let mut usual = ndarray::Array2::ones(sim.sales().dim());
                    for &r in &regions {
                        for t in start..=end {
                            usual[[r, t]] = 1.0 / m;
                        }
                    }
                    let k = component(&panel.channels[c])?;
                    let data = sim.components().index_axis(Axis(2), k);
                    let usual = sim.component_with_activity_factors(sim_c, &usual)?;
                    let last = weeks.len() - 1;
                    tested_sum(data, last) - tested_sum(usual.view(), last)
                }
            };
            let se = LIFT_TEST_RELATIVE_SE * truth[c].abs().max(typical);
            let noise: f64 = rand_distr::StandardNormal.sample(&mut rng);
            Ok(mmm_fitted::LiftTestSpec {
                channel: panel.channels[c].clone(),
                start: mmm_fitted::Label::Text(weeks[start].to_string()),
                end: mmm_fitted::Label::Text(weeks[end].to_string()),
                regions: regions
                    .iter()
                    .map(|&r| mmm_fitted::Label::Text(sim.regions()[r].clone()))
                    .collect(),
                lift: measured + se * noise,
                se,
                multiplier,
                measured_until: None,
            })
        })
        .collect()
}

/// Scores the stability ranges against the simulator's true shares.
fn stability_scores(st: &Stability, sim: &mmm_sim::Simulation) -> Result<StabilityScores> {
    let truth: Vec<f64> = sim.truth().channel_truth.iter().map(|c| c.share).collect();
    anyhow::ensure!(truth.len() == st.channels.len(), "channel count differs");
    let n = truth.len() as f64;
    let inside = st
        .channels
        .iter()
        .zip(&truth)
        .filter(|(c, t)| c.share.contains(**t))
        .count();
    let median: Vec<f64> = st.channels.iter().map(|c| c.share.median).collect();
    let best = st
        .fits
        .iter()
        .filter_map(|f| Some((f, f.best_validation_loss?)))
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(f, _)| f);
    let shares =
        |f: &mmm_fitted::StabilityFit| -> Vec<f64> { f.channels.iter().map(|c| c.share).collect() };
    Ok(StabilityScores {
        fits: st.fits.len(),
        coverage: inside as f64 / n,
        mean_width_pp: 100.0
            * st.channels
                .iter()
                .map(|c| c.share.max - c.share.min)
                .sum::<f64>()
            / n,
        median_share_mae_pp: mmm_eval::mean_abs_share_error_pp(&median, &truth)?,
        best_validation_share_mae_pp: best
            .map(|f| mmm_eval::mean_abs_share_error_pp(&shares(f), &truth))
            .transpose()?,
    })
}

/// Direct response curves of the model (all weeks scaled, carryover counted) against the truth's,
/// over multipliers 0…2: pooled over channels, and per channel.
fn curve_error(
    fitted: &mmm_fitted::FittedModel,
    sim: &mmm_sim::Simulation,
) -> Result<(f64, Vec<f64>)> {
    let truth = &sim.truth().curves;
    let grid: Vec<usize> = (0..truth.multipliers.len())
        .filter(|&i| truth.multipliers[i] <= 2.0 + 1e-9)
        .collect();
    let cfg = mmm_analysis::CurveConfig {
        window: mmm_analysis::WindowSpec::All,
        multipliers: grid.iter().map(|&i| truth.multipliers[i]).collect(),
        ..mmm_analysis::CurveConfig::default()
    };
    let model = mmm_analysis::response_curves(fitted, &cfg)?;
    let (mut est, mut tru, mut per_channel) = (Vec::new(), Vec::new(), Vec::new());
    for (mc, tc) in model.channels.iter().zip(&truth.channels) {
        anyhow::ensure!(mc.channel == tc.name, "channel order differs");
        let t: Vec<f64> = grid.iter().map(|&i| tc.direct[i]).collect();
        // A zero-effect channel has no relative error; its absolute error still counts in the pooled one.
        per_channel
            .push(mmm_eval::response_curve_error(&mc.national.direct, &t).unwrap_or(f64::NAN));
        est.extend(mc.national.direct.iter().copied());
        tru.extend(t);
    }
    Ok((mmm_eval::response_curve_error(&est, &tru)?, per_channel))
}

fn shape(p: &Panel) -> String {
    format!(
        "{}×{}×{}×{}",
        p.n_regions(),
        p.n_weeks(),
        p.n_channels(),
        p.n_controls()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_panels_flag_lists_parse_into_their_column_roles() {
        let spec = DataFlags::parse(&REAL_PANEL_FLAGS)
            .unwrap()
            .column_spec()
            .unwrap();
        assert_eq!(spec.target, "target_visits");
        assert_eq!(spec.media, ["impressions_*"]);
        assert_eq!(spec.controls, ["control_*"]);
        assert_eq!(spec.region.as_deref(), Some("dmacode"));
        assert_eq!(spec.time, "weekid");
        for (_, _, flags) in PEER_PANELS {
            DataFlags::parse(flags).unwrap().column_spec().unwrap();
        }
        let meridian = DataFlags::parse(PEER_PANELS[0].2).unwrap();
        let spend = meridian.column_spec().unwrap().spend;
        assert_eq!(spend.len(), 5);
        assert_eq!(
            spend[0],
            ("Channel0_impression".into(), "Channel0_spend".into())
        );
        assert!(DataFlags::parse(&["--target", "y", "--colour", "red"]).is_err());
        let err = DataFlags::parse(&["--media", "a"])
            .unwrap()
            .column_spec()
            .unwrap_err();
        assert!(err.to_string().contains("--target"), "{err}");
    }

    #[test]
    fn one_takes_a_scenario_or_a_data_file_with_its_flags() {
        let cli = Cli::try_parse_from([
            "mmm-reproduce",
            "one",
            "--scenario",
            "geo",
            "--seed",
            "3",
            "--lift-tests",
            "2",
            "--lift-kinds",
            "contribution,0.5",
            "--converged",
        ])
        .unwrap();
        let Some(Sub::One(args)) = cli.one else {
            panic!("`one` parsed as {:?}", cli.one);
        };
        assert_eq!(args.scenario.as_deref(), Some("geo"));
        assert_eq!((args.seed, args.lift_tests, args.restarts), (3, 2, 0));
        assert!(args.converged);
        assert_eq!(lift_kinds(&args.lift_kinds).unwrap(), [None, Some(0.5)]);
        assert!(lift_kinds("contribution,half").is_err());

        let cli = Cli::try_parse_from([
            "mmm-reproduce",
            "one",
            "--data",
            "panel.csv",
            "--target",
            "y",
            "--media",
            "x1, x2,",
            "--truth",
            "x1=c1",
        ])
        .unwrap();
        let Some(Sub::One(args)) = cli.one else {
            panic!("`one` parsed as {:?}", cli.one);
        };
        assert_eq!(args.seed, 1);
        assert_eq!(args.columns.column_spec().unwrap().media, ["x1", "x2"]);
        assert_eq!(args.columns.truth.as_deref(), Some("x1=c1"));

        for bad in [
            &["mmm-reproduce", "one", "--seed", "2"][..],
            &[
                "mmm-reproduce",
                "one",
                "--scenario",
                "geo",
                "--data",
                "x.csv",
            ],
            &[
                "mmm-reproduce",
                "one",
                "--scenario",
                "geo",
                "--restart",
                "2",
            ],
            &[
                "mmm-reproduce",
                "one",
                "--data",
                "x.csv",
                "--truth",
                "x1=c1",
                "--truth-json",
                "truth.json",
            ],
        ] {
            assert!(Cli::try_parse_from(bad).is_err(), "{bad:?}");
        }
    }

    /// A PyMC Labs truth.json gives contributions, shares and ROI in the panel's channel order,
    /// and names a channel it lacks.
    #[test]
    fn truth_json_follows_the_panel_channels() {
        let dir = std::env::temp_dir().join(format!("dcmmm-truth-json-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("truth.json");
        std::fs::write(
            &path,
            r#"{"contribution_total": {"a": 30.0, "b": 10.0}, "roi": {"a": 3.0, "b": 0.5}}"#,
        )
        .unwrap();
        let channels = ["b".to_string(), "a".to_string()];
        let (names, contrib, shares, roi) = truth_from_json(&path, &channels).unwrap();
        assert_eq!(names, channels);
        assert_eq!(contrib, [10.0, 30.0]);
        assert_eq!(shares, [0.25, 0.75]);
        assert_eq!(roi, [0.5, 3.0]);
        let err = truth_from_json(&path, &["c".to_string()]).unwrap_err();
        assert!(err.to_string().contains("contribution_total.c"), "{err}");
        std::fs::remove_dir_all(&dir).ok();
    }
}
