//! End-to-end tests of `dcmmm curves`, `dcmmm optimize` and `dcmmm scenarios` on a small model
//! fitted in the test (`mmm_orchestrator::fit_panel` with tiny settings on a synthetic panel).

mod common;
use common::{dcmmm, json, noise, tmp};
use mmm_data::{ColumnSpec, Panel, Week};
use mmm_fitted::{FitConfig, TrainConfig};
use mmm_orchestrator::fit_panel;
use ndarray::{Array2, Array3};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// A model fitted on 2 regions × 70 weeks × 2 channels, saved as model.json.
fn model() -> &'static Path {
    static M: OnceLock<PathBuf> = OnceLock::new();
    M.get_or_init(|| {
        let (r_n, t_n) = (2, 70);
        let media = Array3::from_shape_fn((r_n, t_n, 2), |(r, t, c)| {
            let k = (r * 1000 + t * 10 + c) as u64;
            if c == 0 {
                if t % 6 < 2 {
                    100.0 + 50.0 * noise(k)
                } else {
                    5.0 * noise(k)
                }
            } else {
                20.0 + 10.0 * noise(k)
            }
        });
        let controls = Array3::from_shape_fn((r_n, t_n, 1), |(r, t, _)| {
            10.0 + noise((r * 1000 + t) as u64 + 7)
        });
        let target = Array2::from_shape_fn((r_n, t_n), |(r, t)| {
            let size = 1.0 + r as f64;
            let tv = media[[r, t, 0]];
            size * (200.0 + 60.0 * tv / (tv + 80.0) + 1.5 * media[[r, t, 1]]
                - 5.0 * controls[[r, t, 0]]
                + 5.0 * noise((r * 1000 + t) as u64 + 17))
        });
        let panel = Panel {
            regions: vec!["a".into(), "b".into()],
            weeks: (0..t_n)
                .map(|t| Week::Date(19_360 + 7 * t as i64))
                .collect(),
            channels: vec!["tv".into(), "search".into()],
            controls: vec!["price".into()],
            target,
            media,
            spend: None,
            controls_data: controls,
            observed: Array2::from_elem((r_n, t_n), true),
        };
        let spec = ColumnSpec {
            target: "sales".into(),
            ..ColumnSpec::default()
        };
        let mut cfg = FitConfig {
            holdout_weeks: 8,
            ..FitConfig::default()
        };
        cfg.model.hidden = 4;
        cfg.train = TrainConfig {
            epochs: 40,
            validation_weeks: Some(6),
            ..TrainConfig::default()
        };
        let fitted = fit_panel(&panel, &spec, &cfg, &mut |_| {}).unwrap();
        let dir = tmp("model");
        let path = dir.join("model.json");
        fitted.save(&path).unwrap();
        path
    })
}

fn run(args: &[&str]) -> String {
    let out = dcmmm().args(args).output().unwrap();
    assert!(
        out.status.success(),
        "dcmmm {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn curves_writes_csv_and_json() {
    let out = tmp("curves");
    run(&[
        "curves",
        "--model",
        model().to_str().unwrap(),
        "--window",
        "last-26",
        "--out",
        out.to_str().unwrap(),
    ]);
    let csv = std::fs::read_to_string(out.join("curves.csv")).unwrap();
    assert!(csv.starts_with("channel,region,effect,multiplier,spend,response,unit"));
    // 2 channels × (all + 2 regions) × 2 effects × 31 multipliers.
    assert_eq!(csv.lines().count(), 1 + 2 * 3 * 2 * 31);
    let roi = std::fs::read_to_string(out.join("roi.csv")).unwrap();
    assert!(roi.lines().next().unwrap().contains("mroi_total"));
    assert_eq!(roi.lines().count(), 1 + 2 * 3);
    let j = json(&out.join("curves.json"));
    assert_eq!(j["channels"].as_array().unwrap().len(), 2);
    assert!(j["channels"][0]["national"]["roi_direct"].is_number());
    // tv runs in bursts; search at a steady level ± 10/√12 ≈ 2.9 around 25 (0.115 of its level).
    let variation = |c: usize| j["channels"][c]["activity_variation"].as_f64().unwrap();
    assert!(variation(0) > 1.0, "tv {}", variation(0));
    assert!(
        (variation(1) - 0.115).abs() < 0.02,
        "search {}",
        variation(1)
    );
}

#[test]
fn decision_commands_name_the_channels_whose_activity_barely_moves() {
    let out = dcmmm()
        .args(["curves", "--model", model().to_str().unwrap(), "--out"])
        .arg(tmp("curves-note"))
        .output()
        .unwrap();
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    let note = stderr
        .lines()
        .find(|l| l.contains("moves by less than 25 %"))
        .unwrap_or_else(|| panic!("no low-variation note in {stderr}"));
    assert!(note.contains("search (0.1"), "{note}");
    assert!(!note.contains("tv ("), "{note}");
}

#[test]
fn optimize_writes_an_exact_allocation() {
    let out = tmp("optimize");
    // Inputs beside the output directory: a directory of other files is not written into.
    let bounds = tmp("optimize-inputs").join("bounds.toml");
    std::fs::write(
        &bounds,
        "lower = 0.7\nupper = 1.3\n[channels.search]\nfixed = true\n",
    )
    .unwrap();
    run(&[
        "optimize",
        "--model",
        model().to_str().unwrap(),
        "--budget",
        "5000",
        "--weeks",
        "8",
        "--bounds",
        bounds.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    let a = json(&out.join("allocation.json"));
    assert_eq!(a["budget"].as_f64().unwrap(), 5000.0);
    let ch = a["channels"].as_object().unwrap();
    let sum: f64 = ch
        .values()
        .map(|c| c["recommended"].as_f64().unwrap())
        .sum();
    assert!((sum - 5000.0).abs() < 1e-8 * 5000.0);
    assert_eq!(ch["search"]["recommended"], ch["search"]["current"]);
    let tv = &ch["tv"];
    let rec = tv["recommended"].as_f64().unwrap();
    assert!(rec >= tv["lower"].as_f64().unwrap() && rec <= tv["upper"].as_f64().unwrap());
    assert!(a["lift"].as_f64().unwrap() >= -1e-9);

    // Historical reallocation per region, and the inverse question.
    let out2 = tmp("optimize-hist");
    run(&[
        "optimize",
        "--model",
        model().to_str().unwrap(),
        "--window",
        "all",
        "--per-region",
        "--out",
        out2.to_str().unwrap(),
    ]);
    let h = json(&out2.join("allocation.json"));
    assert_eq!(h["mode"], "historical");
    assert_eq!(h["regions"].as_array().unwrap().len(), 4);
    let out3 = tmp("optimize-inverse");
    let target = a["outcome_recommended"].as_f64().unwrap();
    run(&[
        "optimize",
        "--model",
        model().to_str().unwrap(),
        "--weeks",
        "8",
        "--bounds",
        bounds.to_str().unwrap(),
        "--target-outcome",
        &target.to_string(),
        "--out",
        out3.to_str().unwrap(),
    ]);
    let inv = json(&out3.join("allocation.json"));
    assert!(inv["outcome_recommended"].as_f64().unwrap() >= target);
    assert!((inv["budget"].as_f64().unwrap() / 5000.0 - 1.0).abs() < 1e-3);
}

#[test]
fn optimize_rejects_bad_input() {
    let out = tmp("optimize-bad");
    let bounds = out.join("bounds.toml");
    std::fs::write(&bounds, "[channels.radio]\nfixed = true\n").unwrap();
    let o = dcmmm()
        .args([
            "optimize",
            "--model",
            model().to_str().unwrap(),
            "--budget",
            "100",
            "--bounds",
            bounds.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("radio"));
    // Targets that cannot be met are refused with what was asked and what the model gives.
    let model = model();
    let model = model.to_str().unwrap();
    for (flag, value, says) in [
        (
            "--target-mroi",
            "-1",
            "--target-mroi must be a finite number > 0",
        ),
        (
            "--target-mroi",
            "0",
            "--target-mroi must be a finite number > 0",
        ),
        (
            "--target-outcome",
            "inf",
            "--target-outcome must be a finite number",
        ),
        ("--budget", "-5", "--budget must be a finite number ≥ 0"),
        (
            "--target-outcome",
            "1e300",
            "an outcome of 1.0000e300 is not reached with any budget",
        ),
    ] {
        let o = dcmmm()
            .args(["optimize", "--model", model, flag, value, "--out"])
            .arg(&out)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert!(
            !o.status.success() && stderr.contains(says),
            "{flag} {value}: {stderr}"
        );
    }
}

#[test]
fn scenarios_compare_plans() {
    let out = tmp("scenarios");
    let inputs = tmp("scenarios-inputs");
    let more = inputs.join("more_tv.csv");
    std::fs::write(&more, "channel,spend\ntv,100000\n").unwrap();
    let none = inputs.join("no_tv.csv");
    std::fs::write(&none, "channel,spend\ntv,0\n").unwrap();
    run(&[
        "scenarios",
        "--model",
        model().to_str().unwrap(),
        "--plan",
        more.to_str().unwrap(),
        "--plan",
        none.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    let rows = json(&out.join("scenarios.json"));
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[0]["scenario"], "baseline");
    assert_eq!(rows[1]["scenario"], "more_tv");
    let o = |i: usize| rows[i]["outcome"].as_f64().unwrap();
    assert!(
        o(1) >= o(0) && o(0) >= o(2),
        "more TV never lowers the outcome: {} {} {}",
        o(1),
        o(0),
        o(2)
    );
    assert!(
        std::fs::read_to_string(out.join("scenarios.csv"))
            .unwrap()
            .starts_with("scenario,budget,outcome")
    );
}
