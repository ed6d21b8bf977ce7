//! Scores a `dcmmm fit --posterior` output against a panel's ground truth: posterior-mean share
//! MAE beside the equal split's (and the point fit's, given its summary.json), ROI rank
//! correlation, how many channels' 90 % intervals hold the true share and ROI, mean interval
//! widths (ROI's relative to the true ROI, over the channels with a non-zero one), and the
//! sampler's diagnostics. Prints one Markdown table row.
//!
//! ```text
//! cargo run --release -p mmm-posterior --example score -- NAME FIT_DIR TRUTH_JSON [POINT_SUMMARY_JSON]
//! ```
//!
//! TRUTH_JSON is either a `dcmmm simulate` truth.json (`channel_truth[].share / .roi`) or a PyMC
//! Labs benchmark truth.json (`contribution_total`, `roi`; shares are contributions over their sum).

use mmm_posterior::{AgainstTruth, Interval, score_against_truth};
use serde_json::Value;
use std::process::ExitCode;

fn read(path: &str) -> Result<Value, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
    serde_json::from_str(&text).map_err(|e| format!("{path}: {e}"))
}

/// True (share, roi) per channel name.
fn truth(t: &Value) -> Result<Vec<(String, f64, f64)>, String> {
    if let Some(ch) = t["channel_truth"].as_array() {
        return Ok(ch
            .iter()
            .map(|c| {
                (
                    c["name"].as_str().unwrap_or_default().to_string(),
                    c["share"].as_f64().unwrap_or(f64::NAN),
                    c["roi"].as_f64().unwrap_or(f64::NAN),
                )
            })
            .collect());
    }
    let names = t["channels"].as_array().ok_or("truth: no channels")?;
    let contrib = |n: &str| t["contribution_total"][n].as_f64().unwrap_or(f64::NAN);
    let total: f64 = names
        .iter()
        .map(|n| contrib(n.as_str().unwrap_or_default()))
        .sum();
    Ok(names
        .iter()
        .map(|n| {
            let n = n.as_str().unwrap_or_default();
            (
                n.to_string(),
                contrib(n) / total,
                t["roi"][n].as_f64().unwrap_or(f64::NAN),
            )
        })
        .collect())
}

fn pair(v: &Value) -> Option<(f64, f64)> {
    Some((v.get(0)?.as_f64()?, v.get(1)?.as_f64()?))
}

/// Posterior mean and [p05, p95] of `x` as (mean, (lo, hi)).
fn interval(x: &[f64]) -> (f64, (f64, f64)) {
    let i = mmm_posterior::Interval::of(x);
    (i.mean, (i.p05, i.p95))
}

/// Per channel of the fit in `dir`: (name, (mean share, share interval), (mean ROI, ROI
/// interval)) over the observed training cells, from the kept parameter draws (module docs);
/// and the spend of those cells per channel.
type Scored = Vec<(String, (f64, (f64, f64)), (f64, (f64, f64)))>;
fn training_weeks(dir: &str) -> Result<(Scored, Vec<f64>), String> {
    let point = mmm_fitted::FittedModel::load(std::path::Path::new(&format!("{dir}/model.json")))
        .map_err(|e| e.to_string())?;
    let draws = read(&format!("{dir}/posterior_draws.json"))?;
    let indices: Vec<usize> = draws["indices"]
        .as_array()
        .ok_or("posterior_draws.json: no indices")?
        .iter()
        .map(|v| v.as_u64().map(|v| v as usize).ok_or("bad index"))
        .collect::<Result<_, _>>()?;
    let panel = point.history_panel().map_err(|e| e.to_string())?;
    let cells = point.mask(&panel, point.split.train.clone());
    let c_n = point.channels.len();
    let spend: Vec<f64> = (0..c_n)
        .map(|c| {
            let x = panel.spend.as_ref().unwrap_or(&panel.media);
            x.index_axis(ndarray::Axis(2), c)
                .iter()
                .zip(cells.iter())
                .filter(|(_, in_cells)| **in_cells)
                .map(|(v, _)| v)
                .sum()
        })
        .collect();
    let (mut shares, mut rois) = (vec![vec![]; c_n], vec![vec![]; c_n]);
    for d in draws["draws"]
        .as_array()
        .ok_or("posterior_draws.json: no draws")?
    {
        let mut fitted = point.clone();
        for (&k, v) in indices
            .iter()
            .zip(d["values"].as_array().ok_or("no values")?)
        {
            fitted.params[k] = v.as_f64().ok_or("bad value")?;
        }
        let response = fitted.media_response(&panel).map_err(|e| e.to_string())?;
        let contribution: Vec<f64> = (0..c_n)
            .map(|c| response.direct(c, 1.0, cells.view()))
            .collect();
        let total: f64 = contribution.iter().sum();
        for c in 0..c_n {
            shares[c].push(contribution[c] / total);
            rois[c].push(contribution[c] / spend[c]);
        }
    }
    let scored = (0..c_n)
        .map(|c| {
            (
                point.channels[c].clone(),
                interval(&shares[c]),
                interval(&rois[c]),
            )
        })
        .collect();
    Ok((scored, spend))
}

/// The posterior figures of `summary.json` in the shape of [`training_weeks`]'.
fn whole_history(summary: &Value, names: &[String]) -> Result<Scored, String> {
    names
        .iter()
        .map(|ch| {
            let s = &summary["channels"][ch];
            let share = s["share"]
                .as_f64()
                .ok_or(format!("summary: no share of {ch}"))?;
            let share_ci = pair(&s["share_ci"]).ok_or(format!("summary: no share_ci of {ch}"))?;
            let roi = s["roi"].as_f64().unwrap_or(f64::NAN);
            let roi_ci = pair(&s["roi_ci"]).ok_or(format!("summary: no roi_ci of {ch}"))?;
            Ok((ch.clone(), (share, share_ci), (roi, roi_ci)))
        })
        .collect()
}

fn run(args: &[String]) -> Result<String, String> {
    let (train, args) = match args {
        [flag, rest @ ..] if flag == "--train" => (true, rest),
        _ => (false, args),
    };
    let [name, dir, truth_path, rest @ ..] = args else {
        return Err("usage: score [--train] NAME FIT_DIR TRUTH_JSON [POINT_SUMMARY_JSON]".into());
    };
    let summary = read(&format!("{dir}/summary.json"))?;
    let metrics = read(&format!("{dir}/metrics.json"))?;
    let truth_json = read(truth_path)?;
    let point = rest.first().map(|p| read(p)).transpose()?;
    let (estimates, truth) = if train {
        let (scored, spend) = training_weeks(dir)?;
        let contrib = |n: &str| truth_json["contribution_train"][n].as_f64();
        let total: f64 = scored.iter().filter_map(|(n, ..)| contrib(n)).sum();
        let truth = scored
            .iter()
            .zip(&spend)
            .map(|((n, ..), s)| {
                let c = contrib(n).ok_or(format!("truth: no contribution_train of {n}"))?;
                Ok((n.clone(), c / total, c / s))
            })
            .collect::<Result<Vec<_>, String>>()?;
        (scored, truth)
    } else {
        let truth = truth(&truth_json)?;
        let names: Vec<String> = truth.iter().map(|t| t.0.clone()).collect();
        (whole_history(&summary, &names)?, truth)
    };
    let n = truth.len() as f64;
    let (mut mae_equal, mut mae_point) = (0.0, 0.0);
    let mut scored = Vec::with_capacity(truth.len());
    for ((ch, share, roi), (_, (est, share_ci), (est_roi, roi_ci))) in truth.iter().zip(&estimates)
    {
        mae_equal += (1.0 / n - share).abs();
        if let Some(p) = &point {
            mae_point += (p["channels"][ch]["share"].as_f64().unwrap_or(f64::NAN) - share).abs();
        }
        let interval = |mean: f64, (p05, p95): (f64, f64)| Interval { mean, p05, p95 };
        scored.push(AgainstTruth {
            share: interval(*est, *share_ci),
            roi: Some(interval(*est_roi, *roi_ci)),
            true_share: *share,
            true_roi: *roi,
        });
    }
    let scores = score_against_truth(&scored);
    let rho = scores
        .roi_spearman
        .map_or("n/a".to_string(), |r| format!("{r:.2}"));
    let p = &metrics["posterior"];
    let c = truth.len();
    let point = if point.is_some() {
        format!("{:.2}", 100.0 * mae_point / n)
    } else {
        "–".into()
    };
    Ok(format!(
        "| {name} | {:.2} | {:.2} | {point} | {rho} | {}/{c} | {}/{c} | {:.1} | {:.0} % | {:.3} | {:.0} / {:.0} | {} | {:.1} |",
        scores.share_mae_pp,
        100.0 * mae_equal / n,
        scores.share_covered,
        scores.roi_covered,
        scores.share_width_pp,
        100.0 * scores.roi_relative_width.unwrap_or(f64::NAN),
        p["rhat_max"].as_f64().unwrap_or(f64::NAN),
        p["ess_bulk_min"].as_f64().unwrap_or(f64::NAN),
        p["ess_tail_min"].as_f64().unwrap_or(f64::NAN),
        p["divergences"],
        p["seconds"].as_f64().unwrap_or(f64::NAN),
    ))
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(row) => {
            println!("{row}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
