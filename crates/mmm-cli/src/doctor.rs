//! `dcmmm doctor DIR`: checks the output directory of a `dcmmm fit` — every file of the CLI
//! contract present, no temporary file of an interrupted write left, one run id in `model.json`,
//! `metrics.json`, `summary.json` and `report.html`, the model loads (every field checked), and
//! `predictions.csv` and `contributions.csv` are what `model.json` predicts (within 1e-9,
//! relative), and the posterior's parameter draws (`posterior_draws.json`), when present, belong
//! to the model (run id, shape, finite values). Prints each problem found and fails when there is
//! one.

use crate::out_dir::FIT_FILES;
use anyhow::{Result, bail};
use clap::Args;
use mmm_analysis::ParameterDraws;
use mmm_fitted::FittedModel;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Examples shown by `dcmmm doctor --help`.
pub const EXAMPLES: &str = "\
Examples:
  dcmmm doctor fit/

Exit status 0 when the directory is consistent, 1 with one line per problem otherwise.";

/// Flags of `dcmmm doctor`.
#[derive(Args, Debug)]
pub struct DoctorArgs {
    /// The output directory of `dcmmm fit`.
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,
}

/// Largest relative difference between a stored and a recomputed value.
const TOLERANCE: f64 = 1e-9;

/// Runs `dcmmm doctor`.
pub fn run(args: &DoctorArgs) -> Result<()> {
    let problems = diagnose(&args.dir);
    if problems.is_empty() {
        println!("{}: consistent", args.dir.display());
        return Ok(());
    }
    for p in &problems {
        println!("problem: {p}");
    }
    bail!(
        "{}: {} problem(s) found",
        args.dir.display(),
        problems.len()
    )
}

/// Every problem of the output directory `dir`, one sentence each.
fn diagnose(dir: &Path) -> Vec<String> {
    let mut problems = Vec::new();
    let entries: Vec<String> = match std::fs::read_dir(dir) {
        Ok(e) => e
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect(),
        Err(e) => return vec![format!("{}: cannot read the directory: {e}", dir.display())],
    };
    for f in FIT_FILES {
        if !entries.iter().any(|e| e == f) {
            problems.push(format!("{f} is missing"));
        }
    }
    for e in &entries {
        if e.starts_with('.') && e.contains(".tmp-") {
            problems.push(format!(
                "{e} is the temporary file of a write that did not finish (an interrupted run): \
                 the files beside it may come from different runs"
            ));
        }
    }
    let fitted = match FittedModel::load(&dir.join("model.json")) {
        Ok(f) => f,
        Err(e) => {
            problems.push(format!("model.json does not load: {e}"));
            return problems;
        }
    };
    if fitted.run_id.is_empty() {
        problems.push(
            "model.json has no run id (written before run ids, or not by `dcmmm fit`)".into(),
        );
    }
    for f in ["metrics.json", "summary.json", "report.html"] {
        match run_id(&dir.join(f)) {
            Ok(id) if id == fitted.run_id => {}
            Ok(id) => problems.push(format!(
                "{f} has run id `{id}`, model.json `{}`: they come from different runs",
                fitted.run_id
            )),
            Err(e) if entries.iter().any(|x| x == f) => problems.push(format!("{f}: {e}")),
            Err(_) => {} // reported as missing
        }
    }
    // The posterior's parameter draws (dcmmm fit --posterior) must belong to this model.
    if let Err(e) = ParameterDraws::load_beside(&dir.join("model.json"), &fitted) {
        problems.push(e.to_string());
    }
    if let Err(e) = recompute(dir, &fitted, &mut problems) {
        problems.push(format!(
            "the predictions could not be recomputed from model.json: {e}"
        ));
    }
    problems
}

/// The run id of a JSON output (`run_id`) or of the report (its `dcmmm-run-id` meta tag).
fn run_id(path: &Path) -> Result<String> {
    let text = std::fs::read_to_string(path)?;
    if path.extension().is_some_and(|e| e == "html") {
        let tag = "<meta name=\"dcmmm-run-id\" content=\"";
        let Some(at) = text.find(tag).map(|i| i + tag.len()) else {
            bail!("no run id");
        };
        let end = text[at..].find('"').map_or(at, |e| at + e);
        // Run ids are letters, digits and `-`: the HTML escaping left them as they are.
        return Ok(text[at..end].to_string());
    }
    let v: serde_json::Value = serde_json::from_str(&text)?;
    match v.get("run_id").and_then(|v| v.as_str()) {
        Some(id) => Ok(id.to_string()),
        None => bail!("no run id"),
    }
}

/// Compares `predictions.csv` and `contributions.csv` with the model's prediction of its history,
/// pushing a problem for the first few rows that differ and for missing or extra rows.
fn recompute(dir: &Path, fitted: &FittedModel, problems: &mut Vec<String>) -> Result<()> {
    let panel = fitted.history_panel()?;
    let (prediction, d) = fitted.predict(&panel)?;
    let region: HashMap<&str, usize> = fitted
        .regions
        .iter()
        .enumerate()
        .map(|(i, r)| (r.as_str(), i))
        .collect();
    let weeks: Vec<String> = fitted.weeks.iter().map(ToString::to_string).collect();
    let week: HashMap<&str, usize> = weeks
        .iter()
        .enumerate()
        .map(|(i, w)| (w.as_str(), i))
        .collect();
    let comps = fitted.components(&d);
    let component: HashMap<&str, usize> = comps
        .iter()
        .enumerate()
        .map(|(i, (n, _))| (*n, i))
        .collect();
    let observed = panel.observed.iter().filter(|o| **o).count();
    let mut differ = |file: &str, line: u64, what: String| {
        if problems.len() < 20 {
            problems.push(format!("{file}:{line}: {what}"));
        }
    };
    for (file, key_columns, expected_rows) in [
        ("predictions.csv", 2, observed),
        ("contributions.csv", 3, observed * comps.len()),
    ] {
        let path = dir.join(file);
        if !path.exists() {
            continue;
        }
        let mut reader = csv::Reader::from_path(&path)?;
        let mut rows = 0;
        for record in reader.records() {
            let record = record?;
            rows += 1;
            let line = record.position().map_or(0, |p| p.line());
            let field = |i: usize| record.get(i).unwrap_or("");
            let (Some(&r), Some(&t)) = (region.get(field(0)), week.get(field(1))) else {
                differ(
                    file,
                    line,
                    format!(
                        "region `{}`, week {} is not in the model",
                        field(0),
                        field(1)
                    ),
                );
                continue;
            };
            let expected = if key_columns == 2 {
                prediction[[r, t]]
            } else {
                let Some(&c) = component.get(field(2)) else {
                    differ(
                        file,
                        line,
                        format!("component `{}` is not in the model", field(2)),
                    );
                    continue;
                };
                comps[c].1[[r, t]]
            };
            let stored = field(3);
            let stored: f64 = match stored.parse() {
                Ok(v) => v,
                Err(_) => {
                    differ(file, line, format!("`{stored}` is not a number"));
                    continue;
                }
            };
            // Written with a NaN-proof comparison: a stored NaN is a difference.
            let close =
                (stored - expected).abs() <= TOLERANCE * expected.abs().max(f64::MIN_POSITIVE);
            if !close {
                differ(
                    file,
                    line,
                    format!("{stored} stored, model.json predicts {expected}"),
                );
            }
        }
        if rows != expected_rows {
            differ(
                file,
                0,
                format!(
                    "{rows} rows, model.json has {expected_rows} (one per observed region-week{})",
                    if key_columns == 3 {
                        " and component"
                    } else {
                        ""
                    }
                ),
            );
        }
    }
    Ok(())
}
