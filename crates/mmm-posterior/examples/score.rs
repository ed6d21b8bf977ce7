//! Scores a `dcmmm fit --posterior` output against a panel's ground truth: posterior-mean share
//! MAE beside the equal split's (and the point fit's, given its summary.json), ROI rank
//! correlation, how many channels' 90 % intervals hold the true share and ROI, mean interval
//! widths, and the sampler's diagnostics. Prints one Markdown table row.
//!
//! ```text
//! cargo run --release -p mmm-posterior --example score -- NAME FIT_DIR TRUTH_JSON [POINT_SUMMARY_JSON]
//! ```
//!
//! TRUTH_JSON is either a `dcmmm simulate` truth.json (`channel_truth[].share / .roi`) or a PyMC
//! Labs benchmark truth.json (`contribution_total`, `roi`; shares are contributions over their sum).

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

fn run(args: &[String]) -> Result<String, String> {
    let [name, dir, truth_path, rest @ ..] = args else {
        return Err("usage: score NAME FIT_DIR TRUTH_JSON [POINT_SUMMARY_JSON]".into());
    };
    let summary = read(&format!("{dir}/summary.json"))?;
    let metrics = read(&format!("{dir}/metrics.json"))?;
    let truth = truth(&read(truth_path)?)?;
    let point = rest.first().map(|p| read(p)).transpose()?;
    let n = truth.len() as f64;
    let (mut mae, mut mae_equal, mut mae_point) = (0.0, 0.0, 0.0);
    let (mut share_in, mut roi_in, mut share_width, mut roi_width) = (0, 0, 0.0, 0.0);
    let (mut est_roi, mut true_roi) = (vec![], vec![]);
    for (ch, share, roi) in &truth {
        let s = &summary["channels"][ch];
        let est = s["share"]
            .as_f64()
            .ok_or(format!("summary: no share of {ch}"))?;
        mae += (est - share).abs();
        mae_equal += (1.0 / n - share).abs();
        if let Some(p) = &point {
            mae_point += (p["channels"][ch]["share"].as_f64().unwrap_or(f64::NAN) - share).abs();
        }
        let (lo, hi) = pair(&s["share_ci"]).ok_or(format!("summary: no share_ci of {ch}"))?;
        share_in += usize::from((lo..=hi).contains(share));
        share_width += hi - lo;
        let (lo, hi) = pair(&s["roi_ci"]).ok_or(format!("summary: no roi_ci of {ch}"))?;
        roi_in += usize::from((lo..=hi).contains(roi));
        roi_width += (hi - lo) / roi.abs().max(1e-12);
        est_roi.push(s["roi"].as_f64().unwrap_or(f64::NAN));
        true_roi.push(*roi);
    }
    let rho =
        mmm_eval::spearman(&est_roi, &true_roi).map_or("n/a".to_string(), |r| format!("{r:.2}"));
    let p = &metrics["posterior"];
    let c = truth.len();
    let point = if point.is_some() {
        format!("{:.2}", 100.0 * mae_point / n)
    } else {
        "–".into()
    };
    Ok(format!(
        "| {name} | {:.2} | {:.2} | {point} | {rho} | {share_in}/{c} | {roi_in}/{c} | {:.1} | {:.0} % | {:.3} | {:.0} / {:.0} | {} | {:.1} |",
        100.0 * mae / n,
        100.0 * mae_equal / n,
        100.0 * share_width / n,
        100.0 * roi_width / n,
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
