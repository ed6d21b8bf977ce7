//! `dcmmm`: the command-line entry point. Each subcommand lives in its own module; the column
//! flags shared by every subcommand that reads a panel are [`panel_args::PanelArgs`].

mod backtest;
mod curves;
mod doctor;
mod fit;
mod optimize;
mod out_dir;
mod panel_args;
mod posterior;
mod predict;
mod report;
mod scenarios;
mod simulate;
mod validate;

use clap::{Parser, Subcommand};
use mmm_fitted::FittedModel;
use std::process::ExitCode;

/// Prints the fit's caveats on stderr and, for commands that make decisions from it
/// (`decisions`), the hint on which fit to use and the channels whose activity barely moves
/// apart from the regions' baselines.
fn print_caveats(fitted: &FittedModel, decisions: bool) {
    for c in fitted.caveats() {
        eprintln!("warning: {c}");
    }
    if !decisions {
        return;
    }
    if let Some(hint) = fitted.decision_hint() {
        eprintln!("note: {hint}");
    }
    // A two-stage fit measured how clearly the data determine each channel; otherwise the
    // activity's variation is the proxy.
    if let Some(note) = fitted.undetermined_note() {
        eprintln!("note: {note}");
        return;
    }
    match fitted.low_variation_note() {
        Ok(Some(note)) => eprintln!("note: {note}"),
        Ok(None) => {}
        Err(e) => eprintln!("warning: the channels' activity variation could not be measured: {e}"),
    }
}

const EXAMPLES: &str = "\
Examples:
  dcmmm validate --data panel.csv --target sales --media tv,search --controls price --region region
  dcmmm validate --data mmm_data.csv --region dmacode --time weekid --target target_visits \\
      --media 'impressions_*' --controls 'control_*' --json
  dcmmm validate --config fit.toml";

/// Deep causal marketing-mix modelling.
#[derive(Parser, Debug)]
#[command(name = "dcmmm", version, about, after_help = EXAMPLES)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Check a panel file and print a data summary, without fitting.
    #[command(after_help = validate::EXAMPLES)]
    Validate(validate::ValidateArgs),
    /// Fit the model on a panel and write predictions, contributions, metrics, the DAG and model.json.
    #[command(after_help = fit::EXAMPLES)]
    Fit(fit::FitArgs),
    /// Rolling-origin backtest: fit at several origins, forecast the next weeks, score beside the naive baselines.
    #[command(after_help = backtest::EXAMPLES)]
    Backtest(backtest::BacktestArgs),
    /// Forecast planned weeks with a fitted model, continuing its state from the fitted history.
    #[command(after_help = predict::EXAMPLES)]
    Predict(predict::PredictArgs),
    /// Rebuild the self-contained HTML report from a saved model.json.
    #[command(after_help = report::EXAMPLES)]
    Report(report::ReportArgs),
    /// Response curves, ROI and marginal ROI per channel (and region) from a saved model.json.
    #[command(after_help = curves::EXAMPLES)]
    Curves(curves::CurvesArgs),
    /// Optimal budget allocation (planning horizon or historical reallocation) from a saved model.json.
    #[command(after_help = optimize::EXAMPLES)]
    Optimize(optimize::OptimizeArgs),
    /// Compare planned-spend scenarios: outcome, ROI and difference vs. the baseline.
    #[command(after_help = scenarios::EXAMPLES)]
    Scenarios(scenarios::ScenariosArgs),
    /// Check the output directory of `dcmmm fit`: files present, one run id, the model loads and
    /// reproduces the predictions.
    #[command(after_help = doctor::EXAMPLES)]
    Doctor(doctor::DoctorArgs),
    /// Simulate a panel with known truth (for trying the tool and checking attribution).
    #[command(after_help = simulate::EXAMPLES)]
    Simulate(simulate::SimulateArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Validate(args) => validate::run(&args),
        Command::Fit(args) => fit::run(&args),
        Command::Backtest(args) => backtest::run(&args),
        Command::Predict(args) => predict::run(&args),
        Command::Report(args) => report::run(&args),
        Command::Curves(args) => curves::run(&args),
        Command::Optimize(args) => optimize::run(&args),
        Command::Scenarios(args) => scenarios::run(&args),
        Command::Doctor(args) => doctor::run(&args),
        Command::Simulate(args) => simulate::run(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
