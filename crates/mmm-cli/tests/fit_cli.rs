//! End-to-end tests of `dcmmm fit` and `dcmmm predict` on a small generated panel: the files of
//! the CLI contract exist with the right headers, components sum to the prediction, and a plan
//! is forecast from the saved model.

mod common;
use common::{dcmmm, noise, tmp};
use std::collections::HashMap;
use std::path::Path;

/// 3 regions × `weeks` weekly dates from 2023-01-02; region `c` starts two weeks late.
fn write_panel(path: &Path, weeks: usize, first_week: usize, with_target: bool) {
    let mut s = String::from(if with_target {
        "region,week,sales,tv,search,price\n"
    } else {
        "region,week,tv,search,price\n"
    });
    for (ri, region) in ["a", "b", "c"].iter().enumerate() {
        for w in first_week..first_week + weeks {
            if *region == "c" && w < 2 {
                continue;
            }
            let day = 1 + 7 * w as u64; // days after 2023-01-01 (a Sunday): Mondays from 2023-01-02
            let (y, m, d) = civil(19358 + day as i64);
            let k = (ri * 1000 + w) as u64;
            let tv = if w % 6 < 2 {
                100.0 + 50.0 * noise(k)
            } else {
                5.0 * noise(k + 7)
            };
            let search = 20.0 + 10.0 * noise(k + 11);
            let price = 10.0 + noise(k + 13);
            let size = 1.0 + ri as f64;
            let sales =
                size * (200.0 + 0.4 * tv + 1.5 * search - 5.0 * price + 10.0 * noise(k + 17));
            if with_target {
                s += &format!(
                    "{region},{y:04}-{m:02}-{d:02},{sales:.3},{tv:.3},{search:.3},{price:.3}\n"
                );
            } else {
                s += &format!("{region},{y:04}-{m:02}-{d:02},{tv:.3},{search:.3},{price:.3}\n");
            }
        }
    }
    std::fs::write(path, s).unwrap();
}

/// Civil date from days since 1970-01-01 (test-local, to stay independent of the crate).
fn civil(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

fn read_csv(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    let header = lines.next().unwrap().split(',').map(String::from).collect();
    (
        header,
        lines
            .map(|l| l.split(',').map(String::from).collect())
            .collect(),
    )
}

#[test]
fn fit_writes_the_contract_files_and_predict_forecasts_a_plan() {
    let dir = tmp("contract");
    let panel = dir.join("panel.csv");
    write_panel(&panel, 70, 0, true);
    let out = dir.join("fit");
    let status = dcmmm()
        .args(["fit", "--data"])
        .arg(&panel)
        .args([
            "--target",
            "sales",
            "--media",
            "tv,search",
            "--controls",
            "price",
            "--region",
            "region",
        ])
        .args([
            "--holdout-weeks",
            "10",
            "--epochs",
            "40",
            "--quiet",
            "--seed",
            "7",
            "--out",
        ])
        .arg(&out)
        .status()
        .unwrap();
    assert!(status.success());
    for f in [
        "predictions.csv",
        "contributions.csv",
        "summary.json",
        "metrics.json",
        "dag.json",
        "model.json",
        "report.html",
    ] {
        assert!(out.join(f).is_file(), "{f} missing");
    }
    // Only the contract's files: every one was renamed into place, no temporary is left.
    assert_eq!(std::fs::read_dir(&out).unwrap().count(), 7);
    // One run id in the files of the run.
    let run_id = |f: &str| -> String {
        let text = std::fs::read_to_string(out.join(f)).unwrap();
        if f.ends_with(".html") {
            let tag = "<meta name=\"dcmmm-run-id\" content=\"";
            let at = text.find(tag).unwrap() + tag.len();
            return text[at..at + text[at..].find('"').unwrap()].to_string();
        }
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        v["run_id"].as_str().unwrap().to_string()
    };
    let id = run_id("model.json");
    assert!(id.len() > 17 && &id[15..17] == "Z-", "{id}");
    for f in ["metrics.json", "summary.json", "report.html"] {
        assert_eq!(run_id(f), id, "{f}");
    }

    let (header, rows) = read_csv(&out.join("predictions.csv"));
    assert_eq!(header, ["region", "week", "actual", "predicted", "split"]);
    assert_eq!(rows.len(), 3 * 70 - 2, "one row per observed region-week");
    assert_eq!(rows.iter().filter(|r| r[4] == "holdout").count(), 3 * 10);
    assert!(rows.iter().all(|r| r[4] == "train" || r[4] == "holdout"));

    // Components sum to the prediction for every region-week.
    let (header, comps) = read_csv(&out.join("contributions.csv"));
    assert_eq!(header, ["region", "week", "component", "value"]);
    let mut sums: HashMap<(String, String), f64> = HashMap::new();
    for c in &comps {
        *sums.entry((c[0].clone(), c[1].clone())).or_default() += c[3].parse::<f64>().unwrap();
    }
    for r in &rows {
        let predicted: f64 = r[3].parse().unwrap();
        let sum = sums[&(r[0].clone(), r[1].clone())];
        assert!(
            (sum - predicted).abs() <= 1e-9 * predicted.abs().max(1.0),
            "{r:?}: components sum to {sum}"
        );
    }

    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    for ch in ["tv", "search"] {
        let c = &summary["channels"][ch];
        for key in ["contribution", "spend", "roi", "mroi", "share"] {
            assert!(
                c[key].is_number(),
                "summary.channels.{ch}.{key} missing: {c}"
            );
        }
    }
    let metrics: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("metrics.json")).unwrap()).unwrap();
    assert!(metrics["holdout"]["r2_within"].is_number());
    assert_eq!(metrics["baselines"].as_array().unwrap().len(), 3);

    // A plan for the next 4 weeks, without a target column.
    let plan = dir.join("plan.csv");
    write_panel(&plan, 4, 70, false);
    let fc = dir.join("forecast");
    let output = dcmmm()
        .args(["predict", "--model"])
        .arg(out.join("model.json"))
        .arg("--data")
        .arg(&plan)
        .arg("--out")
        .arg(&fc)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let (header, rows) = read_csv(&fc.join("forecast.csv"));
    assert_eq!(header, ["region", "week", "predicted"]);
    assert_eq!(rows.len(), 12);
    assert_eq!(
        rows[0][1], "2024-05-06",
        "the first plan week follows the history"
    );
    assert!(
        rows.iter()
            .all(|r| r[2].parse::<f64>().unwrap().is_finite())
    );

    // `dir` holds the user's panel and plan but no dcmmm output: refused unless --force.
    let into_dir = |force: bool| {
        dcmmm()
            .args(["predict", "--model"])
            .arg(out.join("model.json"))
            .arg("--data")
            .arg(&plan)
            .arg("--out")
            .arg(&dir)
            .args(force.then_some("--force"))
            .output()
            .unwrap()
    };
    let refused = into_dir(false);
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        !refused.status.success() && stderr.contains("holds no dcmmm output"),
        "{stderr}"
    );
    assert!(!dir.join("forecast.csv").exists());
    assert!(into_dir(true).status.success());
    assert!(dir.join("forecast.csv").is_file());

    // A plan that overlaps the history is refused with a clear message.
    write_panel(&plan, 4, 60, false);
    let output = dcmmm()
        .args(["predict", "--model"])
        .arg(out.join("model.json"))
        .arg("--data")
        .arg(&plan)
        .arg("--out")
        .arg(&fc)
        .output()
        .unwrap();
    assert!(!output.status.success());
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(err.contains("not after the fitted history"), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}

/// `dcmmm fit --data PANEL --target sales --media tv,search --region region --quiet EXTRA --out OUT`.
fn fit_sales(panel: &Path, extra: &[&str], out: &Path) -> std::process::Output {
    dcmmm()
        .args(["fit", "--data"])
        .arg(panel)
        .args([
            "--target",
            "sales",
            "--media",
            "tv,search",
            "--region",
            "region",
            "--quiet",
        ])
        .args(extra)
        .arg("--out")
        .arg(out)
        .output()
        .unwrap()
}

#[test]
fn fit_rejects_a_bad_config_key() {
    let dir = tmp("config");
    let panel = dir.join("panel.csv");
    write_panel(&panel, 60, 0, true);
    let cfg = dir.join("fit.toml");
    std::fs::write(&cfg, "[model]\nhiden = 8\n").unwrap();
    let output = fit_sales(
        &panel,
        &["--config", cfg.to_str().unwrap()],
        &dir.join("out"),
    );
    assert!(!output.status.success());
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(err.contains("hiden"), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn fit_warns_that_one_region_identifies_attribution_weakly() {
    let dir = tmp("national");
    let panel = dir.join("panel.csv");
    write_panel(&panel, 60, 0, true);
    let text = std::fs::read_to_string(&panel).unwrap();
    let one: String = text
        .lines()
        .enumerate()
        .filter(|(i, l)| *i == 0 || l.starts_with("a,"))
        .map(|(_, l)| format!("{l}\n"))
        .collect();
    std::fs::write(&panel, one).unwrap();
    let out = dir.join("fit");
    let output = fit_sales(&panel, &["--epochs", "20"], &out);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(err.contains("warning: one region"), "{err}");
    let report = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(
        report.contains("identifies the channels"),
        "warning missing from the report"
    );
    // The decisions built on that attribution carry the same warning.
    for args in [
        vec!["curves", "--out"],
        vec!["optimize", "--budget", "5000", "--out"],
    ] {
        let output = dcmmm()
            .args(&args[..args.len() - 1])
            .arg("--model")
            .arg(out.join("model.json"))
            .arg(args[args.len() - 1])
            .arg(dir.join(args[0]))
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let err = String::from_utf8_lossy(&output.stderr);
        assert!(err.contains("warning: one region"), "{}: {err}", args[0]);
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn converged_fit_trains_every_epoch_and_says_what_it_is_for() {
    let dir = tmp("converged");
    let panel = dir.join("panel.csv");
    write_panel(&panel, 60, 0, true);
    let read = |out: &Path| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap()
    };
    let default = dir.join("default");
    let output = fit_sales(&panel, &["--epochs", "25"], &default);
    assert!(output.status.success());
    assert_eq!(read(&default)["caveats"].as_array().unwrap().len(), 0);

    let converged = dir.join("converged");
    let output = fit_sales(&panel, &["--epochs", "25", "--converged"], &converged);
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{err}");
    assert!(err.contains("warning: trained to convergence"), "{err}");
    let caveats = read(&converged)["caveats"].clone();
    assert_eq!(caveats.as_array().unwrap().len(), 1, "{caveats}");
    let model: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(converged.join("model.json")).unwrap())
            .unwrap();
    assert_eq!(model["config"]["train"]["validation_weeks"], 0);
    assert_eq!(model["best_epochs"], 25, "every epoch runs");

    // Decisions from the early-stopped fit of this regional panel point to the converged one.
    for (fit, hinted) in [(&default, true), (&converged, false)] {
        let output = dcmmm()
            .args(["optimize", "--budget", "5000", "--model"])
            .arg(fit.join("model.json"))
            .arg("--out")
            .arg(fit.join("plan"))
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "{err}");
        assert_eq!(err.contains("dcmmm fit --converged"), hinted, "{err}");
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn restarts_write_stability_ranges_that_the_report_keeps() {
    let dir = tmp("restarts");
    let panel = dir.join("panel.csv");
    write_panel(&panel, 60, 0, true);
    let out = dir.join("fit");
    let output = fit_sales(&panel, &["--epochs", "20", "--restarts", "2"], &out);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("attribution over this fit and 2 refits from random starting splits"),
        "{stdout}"
    );
    let read = |name: &str| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(out.join(name)).unwrap()).unwrap()
    };
    let st = read("stability.json");
    assert_eq!(st["fits"].as_array().unwrap().len(), 3);
    let summary = read("summary.json");
    for (c, ch) in ["tv", "search"].iter().enumerate() {
        let s = &summary["channels"][ch];
        let range = s["share_range"].as_array().unwrap();
        let (lo, hi) = (range[0].as_f64().unwrap(), range[1].as_f64().unwrap());
        let share = s["share"].as_f64().unwrap();
        assert!(
            lo <= share && share <= hi,
            "{ch}: {share} outside [{lo}, {hi}]"
        );
        // The ranges are those of stability.json, whose first fit is the saved model.
        assert_eq!(st["channels"][c]["share"]["min"].as_f64().unwrap(), lo);
        assert_eq!(
            st["fits"][0]["channels"][c]["share"].as_f64().unwrap(),
            share
        );
        assert!(s["roi_range"].is_array() && s["mroi_range"].is_array());
    }
    let report = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(report.contains("Attribution stability"), "table missing");
    // `dcmmm report` rebuilds it from stability.json next to the model.
    std::fs::remove_file(out.join("report.html")).unwrap();
    let status = dcmmm()
        .args(["report", "--model"])
        .arg(out.join("model.json"))
        .status()
        .unwrap();
    assert!(status.success());
    let report = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(
        report.contains("Attribution stability"),
        "table missing after rebuild"
    );
    // A later fit without restarts removes the stale file.
    let output = fit_sales(&panel, &["--epochs", "20"], &out);
    assert!(output.status.success());
    assert!(!out.join("stability.json").exists());
    assert!(
        read("summary.json")["channels"]["tv"]
            .get("share_range")
            .is_none()
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn lift_tests_in_the_config_are_fitted_and_reported() {
    let dir = tmp("lift");
    let panel = dir.join("panel.csv");
    write_panel(&panel, 60, 0, true);
    let cfg = dir.join("fit.toml");
    // Weeks 10…19 (2023-03-13 … 2023-05-15) in regions a and b, and a scale-down test (half the
    // usual spend) in the other regions.
    std::fs::write(
        &cfg,
        "[[lift_test]]\nchannel = \"tv\"\nstart = \"2023-03-13\"\nend = \"2023-05-15\"\n\
         regions = [\"a\", \"b\"]\nlift = 1500.0\nse = 150.0\n\
         [[lift_test]]\nchannel = \"tv\"\nstart = \"2023-03-13\"\nend = \"2023-05-15\"\n\
         regions = [\"c\"]\nlift = -500.0\nse = 150.0\nmultiplier = 0.5\n",
    )
    .unwrap();
    let out = dir.join("fit");
    let output = fit_sales(
        &panel,
        &["--epochs", "30", "--config", cfg.to_str().unwrap()],
        &out,
    );
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("lift test tv 2023-03-13…2023-05-15: measured 1500 ± 150.0, model "),
        "{stdout}"
    );
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    let check = &summary["lift_tests"][0];
    assert_eq!(check["test"]["channel"], "tv");
    let (model, z) = (
        check["model"].as_f64().unwrap(),
        check["z"].as_f64().unwrap(),
    );
    assert!(model > 0.0 && ((model - 1500.0) / 150.0 - z).abs() < 1e-9);
    // The scale-down test: what the lower spend lost, a negative difference.
    assert!(
        stdout
            .contains("lift test tv at ×0.5 spend 2023-03-13…2023-05-15: measured -500.0 ± 150.0"),
        "{stdout}"
    );
    let check = &summary["lift_tests"][1];
    assert_eq!(check["test"]["multiplier"], 0.5);
    assert!(check["model"].as_f64().unwrap() < 0.0, "{check}");

    // A test of a column that is not a media channel is refused, naming the test.
    std::fs::write(
        &cfg,
        "[[lift_test]]\nchannel = \"price\"\nstart = \"2023-03-13\"\nend = \"2023-05-15\"\nlift = 1.0\nse = 1.0\n",
    )
    .unwrap();
    let output = fit_sales(
        &panel,
        &["--epochs", "5", "--config", cfg.to_str().unwrap()],
        &out,
    );
    assert!(!output.status.success());
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(
        err.contains("lift_test 1: `price` is not a media channel"),
        "{err}"
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_two_stage_fit_reports_how_clearly_the_data_determine_each_channel() {
    // A simulated panel with enough regions for the media screen: a flighted channel (tv) and an
    // always-on one (search, whose activity barely moves within a region).
    let dir = tmp("evidence");
    let scenario = dir.join("scenario.toml");
    std::fs::write(
        &scenario,
        "name = \"small\"\nregions = 12\nweeks = 80\nchannels = 2\ncontrols = 1\n\
         dag_edges = 0\nzero_effect_channels = 0\nimpressions = false\n",
    )
    .unwrap();
    let sim = dir.join("sim");
    let status = dcmmm()
        .args(["simulate", "--scenario"])
        .arg(&scenario)
        .arg("--out")
        .arg(&sim)
        .status()
        .unwrap();
    assert!(status.success());
    let config = sim.join("fit.toml");
    let mut text = std::fs::read_to_string(&config).unwrap();
    text.push_str("\n[train]\nepochs = 40\n");
    std::fs::write(&config, text).unwrap();
    let out = dir.join("out");
    let output = dcmmm()
        .args(["fit", "--data"])
        .arg(sim.join("panel.csv"))
        .arg("--config")
        .arg(&config)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("chosen by the media screen"), "{stdout}");
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    assert!(summary["notes"]["evidence"].is_string());
    for channel in ["tv", "search"] {
        let entry = &summary["channels"][channel];
        let e = &entry["evidence"];
        assert!(e["effect"].as_f64().unwrap() >= 0.0, "{channel}: {entry}");
        for alike in ["kernels_alike", "curves_alike"] {
            assert!(e[alike].as_u64().unwrap() >= 1, "{channel}: {entry}");
        }
        // Stdout names exactly the channels summary.json calls undetermined.
        let undetermined = entry["undetermined"].as_bool().unwrap();
        let named = stdout
            .lines()
            .any(|l| l.contains("leave the response of") && l.contains(&format!("{channel} (")));
        assert_eq!(named, undetermined, "{channel}: {stdout}");
    }
    // The flighted channel's effect is unmistakable; the always-on one's response is left open.
    let tv = &summary["channels"]["tv"]["evidence"];
    assert!(tv["effect"].as_f64().unwrap() > 100.0, "{tv}");
    assert_eq!(summary["channels"]["tv"]["undetermined"], false);
    assert_eq!(summary["channels"]["search"]["undetermined"], true);
    // The commands that turn the fit into decisions say it too, instead of the cruder note on
    // low activity variation.
    let output = dcmmm()
        .args(["optimize", "--model"])
        .arg(out.join("model.json"))
        .arg("--out")
        .arg(dir.join("opt"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(
        stderr.contains("leave the response of search ("),
        "{stderr}"
    );
    assert!(!stderr.contains("weekly activity of"), "{stderr}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn dagma_is_selectable_recorded_in_the_model_and_older_models_load_as_notears() {
    let dir = tmp("dagma");
    let panel = dir.join("panel.csv");
    write_panel(&panel, 60, 0, true);
    let cfg = dir.join("fit.toml");
    std::fs::write(&cfg, "[dag]\nacyclicity = \"dagma\"\n").unwrap();
    let out = dir.join("out");
    let output = fit_sales(
        &panel,
        &["--epochs", "5", "--config", cfg.to_str().unwrap()],
        &out,
    );
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let model_path = out.join("model.json");
    let mut model: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&model_path).unwrap()).unwrap();
    assert_eq!(model["config"]["dag"]["acyclicity"], "dagma");
    let dag: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("dag.json")).unwrap()).unwrap();
    assert!(dag["h"].as_f64().unwrap().abs() < 1e-3, "{dag}");

    // A model file written before the key existed loads (as a NOTEARS fit).
    model["config"]["dag"]
        .as_object_mut()
        .unwrap()
        .remove("acyclicity");
    let old = dir.join("old-model.json");
    std::fs::write(&old, serde_json::to_string(&model).unwrap()).unwrap();
    let output = dcmmm()
        .args(["report", "--model"])
        .arg(&old)
        .arg("--out")
        .arg(dir.join("report.html"))
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(dir.join("report.html").exists());

    // An unknown function is refused, naming the value.
    std::fs::write(&cfg, "[dag]\nacyclicity = \"cyclic\"\n").unwrap();
    let output = fit_sales(
        &panel,
        &["--config", cfg.to_str().unwrap()],
        &dir.join("bad"),
    );
    assert!(!output.status.success());
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(err.contains("cyclic"), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_region_that_starts_in_the_holdout_is_named_and_forecast_not_a_crash() {
    let dir = tmp("new-market");
    let panel = dir.join("panel.csv");
    write_panel(&panel, 60, 0, true);
    // Region c keeps only its last 5 weeks: all of them in the 8-week holdout.
    let text = std::fs::read_to_string(&panel).unwrap();
    let c_rows = text.lines().filter(|l| l.starts_with("c,")).count();
    let kept: Vec<&str> = text
        .lines()
        .filter({
            let mut c_seen = 0;
            move |l| {
                if !l.starts_with("c,") {
                    return true;
                }
                c_seen += 1;
                c_seen > c_rows - 5
            }
        })
        .collect();
    std::fs::write(&panel, kept.join("\n") + "\n").unwrap();
    // `validate` accepts the panel and names the region the fit will leave out.
    let output = dcmmm()
        .args(["validate", "--data"])
        .arg(&panel)
        .args([
            "--target",
            "sales",
            "--media",
            "tv,search",
            "--region",
            "region",
        ])
        .args(["--holdout-weeks", "8"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{err}");
    assert!(
        err.contains("left out of training") && err.ends_with(": c\n"),
        "{err}"
    );
    let out = dir.join("out");
    let output = fit_sales(&panel, &["--holdout-weeks", "8", "--epochs", "20"], &out);
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{err}");
    assert!(
        err.contains("left out of training") && err.contains(": c;"),
        "{err}"
    );
    let metrics: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("metrics.json")).unwrap()).unwrap();
    assert_eq!(metrics["left_out"], serde_json::json!(["c"]));
    assert!(metrics["holdout"]["r2_pooled"].is_f64());
    assert!(metrics["warnings"].is_array());
    let (_, rows) = read_csv(&out.join("predictions.csv"));
    let c_holdout: Vec<f64> = rows
        .iter()
        .filter(|r| r[0] == "c")
        .map(|r| r[3].parse().unwrap())
        .collect();
    assert_eq!(c_holdout.len(), 5);
    assert!(
        c_holdout.iter().all(|v| v.is_finite() && *v > 0.0),
        "{c_holdout:?}"
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn doctor_finds_what_is_wrong_with_an_output_directory() {
    let dir = tmp("doctor");
    let panel = dir.join("panel.csv");
    write_panel(&panel, 60, 0, true);
    let out = dir.join("fit");
    let fit = fit_sales(&panel, &["--epochs", "20", "--holdout-weeks", "8"], &out);
    assert!(
        fit.status.success(),
        "{}",
        String::from_utf8_lossy(&fit.stderr)
    );
    let doctor = || {
        let o = dcmmm().arg("doctor").arg(&out).output().unwrap();
        (
            o.status.code(),
            String::from_utf8_lossy(&o.stdout).into_owned(),
        )
    };
    let (code, stdout) = doctor();
    assert_eq!(code, Some(0), "{stdout}");
    assert!(stdout.contains("consistent"), "{stdout}");

    // A prediction changed in its tenth digit.
    let path = out.join("predictions.csv");
    let text = std::fs::read_to_string(&path).unwrap();
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    let mut cells: Vec<String> = lines[5].split(',').map(String::from).collect();
    let v: f64 = cells[3].parse().unwrap();
    cells[3] = (v * (1.0 + 1e-8)).to_string();
    lines[5] = cells.join(",");
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    // metrics.json from another run, dag.json gone, a write interrupted.
    let metrics = out.join("metrics.json");
    let mut m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&metrics).unwrap()).unwrap();
    m["run_id"] = "20200101T000000Z-1".into();
    std::fs::write(&metrics, m.to_string()).unwrap();
    std::fs::remove_file(out.join("dag.json")).unwrap();
    std::fs::write(out.join(".summary.json.tmp-1-0"), "{").unwrap();
    let (code, stdout) = doctor();
    assert_eq!(code, Some(1), "{stdout}");
    for expected in [
        "problem: dag.json is missing",
        "problem: .summary.json.tmp-1-0 is the temporary file of a write that did not finish",
        "problem: metrics.json has run id `20200101T000000Z-1`, model.json `",
        "problem: predictions.csv:6: ",
    ] {
        assert!(stdout.contains(expected), "`{expected}` not in:\n{stdout}");
    }
    assert_eq!(stdout.lines().count(), 4, "{stdout}");

    // A truncated model.
    let model = out.join("model.json");
    let text = std::fs::read_to_string(&model).unwrap();
    std::fs::write(&model, &text[..text.len() / 2]).unwrap();
    let (code, stdout) = doctor();
    assert_eq!(code, Some(1));
    assert!(
        stdout.contains("problem: model.json does not load: invalid model file:"),
        "{stdout}"
    );
}

#[test]
fn backtest_fits_each_origin_and_writes_the_table_beside_the_baselines() {
    let dir = tmp("backtest");
    let panel = dir.join("panel.csv");
    write_panel(&panel, 60, 0, true);
    let out = dir.join("bt");
    let output = dcmmm()
        .args(["backtest", "--data"])
        .arg(&panel)
        .args([
            "--target",
            "sales",
            "--media",
            "tv,search",
            "--region",
            "region",
            "--quiet",
            "--epochs",
            "20",
            "--origins",
            "every 4 from 40 to 44",
            "--horizon",
            "8",
            "--out",
        ])
        .arg(&out)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let (header, rows) = read_csv(&out.join("backtest.csv"));
    assert_eq!(
        header,
        [
            "origin",
            "first_forecast_week",
            "horizon",
            "model",
            "r2_pooled",
            "r2_within",
            "wmape",
            "cells"
        ]
    );
    let models: Vec<(&str, &str)> = rows
        .iter()
        .map(|r| (r[0].as_str(), r[3].as_str()))
        .collect();
    let expected: Vec<(&str, &str)> = ["40", "44"]
        .into_iter()
        .flat_map(|o| {
            [
                "dcmmm",
                "train_mean",
                "last_13_mean",
                "same_week_last_year",
                "best_naive",
            ]
            .map(|m| (o, m))
        })
        .collect();
    assert_eq!(models, expected);
    // 3 regions × 8 forecast weeks at each origin.
    assert!(rows.iter().all(|r| r[7] == "24" && r[2] == "8"));
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("backtest.json")).unwrap()).unwrap();
    assert_eq!(json["origins"].as_array().unwrap().len(), 2);
    let mean: f64 = rows
        .iter()
        .filter(|r| r[3] == "dcmmm")
        .map(|r| r[6].parse::<f64>().unwrap())
        .sum::<f64>()
        / 2.0;
    assert!((json["mean"]["dcmmm"]["wmape"].as_f64().unwrap() - mean).abs() < 1e-12);
    assert!(stdout.contains("mean"), "{stdout}");
    // The backtest's page beside it: one row per origin with the model's scores, rebuilt the same
    // by `dcmmm report --backtest`.
    let page = std::fs::read_to_string(out.join("backtest.html")).unwrap();
    assert!(
        page.contains("dcmmm backtest: 2 origins × 8 weeks"),
        "title"
    );
    let origins = &page[page.find("id=\"backtest-origins\"").unwrap()..];
    let origins = &origins[..origins.find("</table>").unwrap()];
    assert_eq!(origins.matches("<tr><td>").count(), 2);
    let wmape_40 = rows
        .iter()
        .find(|r| r[0] == "40" && r[3] == "dcmmm")
        .map(|r| format!("{:.3}", r[6].parse::<f64>().unwrap()))
        .unwrap();
    assert!(
        origins.contains(&format!("<td>{wmape_40}</td>")),
        "{origins}"
    );
    let rebuilt = dir.join("rebuilt.html");
    let output = dcmmm()
        .args(["report", "--backtest"])
        .arg(out.join("backtest.json"))
        .arg("--out")
        .arg(&rebuilt)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let again = std::fs::read_to_string(&rebuilt).unwrap();
    let data = |html: &str| html[html.find("id=\"report-data\"").unwrap()..].to_string();
    assert_eq!(data(&again), data(&page));
    let output = dcmmm().args(["report"]).output().unwrap();
    assert!(
        !output.status.success(),
        "report needs --model or --backtest"
    );
    // An origin whose window runs past the calendar is refused with the last possible one.
    let output = dcmmm()
        .args(["backtest", "--data"])
        .arg(&panel)
        .args([
            "--target",
            "sales",
            "--media",
            "tv,search",
            "--region",
            "region",
            "--quiet",
            "--origins",
            "50",
            "--horizon",
            "13",
            "--out",
        ])
        .arg(&out)
        .output()
        .unwrap();
    assert!(!output.status.success());
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(err.contains("last possible origin is 47"), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}
