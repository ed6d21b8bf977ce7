//! Scenario comparison: several planned-spend scenarios in, a table of outcome, ROI and the
//! difference vs. the baseline out.
//!
//! A scenario file is a CSV with header `channel,spend` (total spend per channel over the
//! planning horizon) or `channel,region,spend` (per region). Each channel keeps the flighting of
//! the reference plan (the last `weeks` historical weeks repeated, see `plan`); a national spend
//! is split over regions in proportion to the reference; channels (or regions) a file does not
//! mention keep their reference spend. The baseline is the reference plan itself.
//!
//! For each scenario: `outcome` = non-media prediction over the horizon + media contributions
//! over the horizon and the carryover tail; `roi` = (media outcome − media outcome with zero
//! spend in the horizon) / scenario budget; `difference` = outcome − baseline outcome.

use crate::optimize::{OptimizeConfig, Planner};
use crate::response::Effect;
use crate::{Error, Result};
use mmm_fitted::FittedModel;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// A scenario: spend per (channel, region or `None` for all regions).
#[derive(Debug, Clone, PartialEq)]
pub struct Scenario {
    /// Name (file stem).
    pub name: String,
    /// Spend per channel and optional region.
    pub spend: BTreeMap<(String, Option<String>), f64>,
}

/// One row of the comparison table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScenarioResult {
    /// Scenario name (`baseline` for the reference plan).
    pub scenario: String,
    /// Total spend.
    pub budget: f64,
    /// Predicted outcome (module docs).
    pub outcome: f64,
    /// Media part of the outcome.
    pub media_outcome: f64,
    /// ROI of the horizon's spend.
    pub roi: Option<f64>,
    /// Outcome − baseline outcome.
    pub difference: f64,
    /// Difference in percent of the baseline outcome.
    pub difference_pct: f64,
}

/// Reads a scenario CSV (module docs).
pub fn read_scenario(path: &Path) -> Result<Scenario> {
    let ferr = |m: String| Error::File {
        path: path.display().to_string(),
        message: m,
    };
    let mut rdr = csv::Reader::from_path(path).map_err(|e| ferr(e.to_string()))?;
    let header: Vec<String> = rdr
        .headers()
        .map_err(|e| ferr(e.to_string()))?
        .iter()
        .map(|h| h.trim().to_string())
        .collect();
    let col = |name: &str| header.iter().position(|h| h == name);
    let (Some(ci), Some(si)) = (col("channel"), col("spend")) else {
        return Err(ferr(
            "header must hold `channel` and `spend` (and optionally `region`)".into(),
        ));
    };
    let ri = col("region");
    let mut spend = BTreeMap::new();
    for (i, rec) in rdr.records().enumerate() {
        let row = i + 2;
        let rec = rec.map_err(|e| ferr(format!("row {row}: {e}")))?;
        let v: f64 = rec
            .get(si)
            .unwrap_or("")
            .trim()
            .parse()
            .map_err(|_| ferr(format!("row {row}, column `spend`: not a number")))?;
        if !(v.is_finite() && v >= 0.0) {
            return Err(ferr(format!(
                "row {row}, column `spend`: must be finite and ≥ 0"
            )));
        }
        let ch = rec.get(ci).unwrap_or("").trim().to_string();
        let region = ri.map(|r| rec.get(r).unwrap_or("").trim().to_string());
        if spend.insert((ch.clone(), region), v).is_some() {
            return Err(ferr(format!("row {row}: channel `{ch}` given twice")));
        }
    }
    Ok(Scenario {
        name: path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "scenario".into()),
        spend,
    })
}

/// Compares `scenarios` over a planning horizon of `weeks` weeks; the first row is the baseline.
pub fn compare_scenarios(
    fitted: &FittedModel,
    weeks: usize,
    scenarios: &[Scenario],
    impressions: &[String],
) -> Result<Vec<ScenarioResult>> {
    let cfg = OptimizeConfig {
        weeks,
        per_region: true,
        impressions: impressions.to_vec(),
        ..OptimizeConfig::default()
    };
    let planner = Planner::new(fitted, &cfg)?;
    let (c_n, r_n) = (fitted.channels.len(), fitted.regions.len());
    let reference = &planner.reference; // unit index = c * r_n + r
    let zero = planner
        .surface
        .evaluate(&vec![0.0; c_n * r_n], Effect::Total, None)
        .total;
    let row = |name: &str, spend: &[f64]| -> ScenarioResult {
        let m: Vec<f64> = spend
            .iter()
            .zip(reference)
            .map(|(b, s)| if *s > 0.0 { b / s } else { 1.0 })
            .collect();
        let media = planner.surface.evaluate(&m, Effect::Total, None).total;
        let budget: f64 = spend.iter().sum();
        ScenarioResult {
            scenario: name.into(),
            budget,
            outcome: planner.nonmedia + media,
            media_outcome: media,
            roi: (budget > 0.0).then(|| (media - zero) / budget),
            difference: 0.0,
            difference_pct: 0.0,
        }
    };
    let mut out = vec![row("baseline", reference)];
    for sc in scenarios {
        let mut spend = reference.clone();
        for ((ch, region), v) in &sc.spend {
            let c = fitted
                .channels
                .iter()
                .position(|n| n == ch)
                .ok_or_else(|| {
                    Error::Invalid(format!(
                        "scenario `{}`: unknown channel `{ch}` (channels: {})",
                        sc.name,
                        fitted.channels.join(", ")
                    ))
                })?;
            match region {
                None => {
                    let tot: f64 = (0..r_n).map(|r| reference[c * r_n + r]).sum();
                    if tot <= 0.0 && *v > 0.0 {
                        return Err(Error::Invalid(format!(
                            "scenario `{}`: channel `{ch}` has no reference activity to scale",
                            sc.name
                        )));
                    }
                    for r in 0..r_n {
                        let share = if tot > 0.0 {
                            reference[c * r_n + r] / tot
                        } else {
                            0.0
                        };
                        spend[c * r_n + r] = v * share;
                    }
                }
                Some(name) => {
                    let r = fitted
                        .regions
                        .iter()
                        .position(|n| n == name)
                        .ok_or_else(|| {
                            Error::Invalid(format!(
                                "scenario `{}`: unknown region `{name}`",
                                sc.name
                            ))
                        })?;
                    if reference[c * r_n + r] <= 0.0 && *v > 0.0 {
                        return Err(Error::Invalid(format!(
                            "scenario `{}`: `{ch}` in `{name}` has no reference activity to scale",
                            sc.name
                        )));
                    }
                    spend[c * r_n + r] = *v;
                }
            }
        }
        out.push(row(&sc.name, &spend));
    }
    let base = out[0].outcome;
    for r in &mut out {
        r.difference = r.outcome - base;
        r.difference_pct = if base != 0.0 {
            100.0 * r.difference / base.abs()
        } else {
            0.0
        };
    }
    Ok(out)
}

/// Writes `scenarios.csv` and `scenarios.json` into `dir`.
pub fn write_scenarios(rows: &[ScenarioResult], dir: &Path) -> Result<()> {
    let ferr = |p: &Path, e: &dyn std::fmt::Display| Error::File {
        path: p.display().to_string(),
        message: e.to_string(),
    };
    std::fs::create_dir_all(dir).map_err(|e| ferr(dir, &e))?;
    let path = dir.join("scenarios.csv");
    mmm_data::write_csv_atomic(&path, |w| {
        for r in rows {
            w.serialize(r)?;
        }
        Ok(())
    })
    .map_err(|e| ferr(&path, &e))?;
    let path = dir.join("scenarios.json");
    let json = serde_json::to_string_pretty(rows).map_err(|e| ferr(&path, &e))?;
    mmm_data::write_atomic(&path, |w| w.write_all(json.as_bytes())).map_err(|e| ferr(&path, &e))?;
    Ok(())
}
