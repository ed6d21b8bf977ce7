//! End-to-end test of `dcmmm fit --posterior` on a simulated national panel: summary.json's
//! per-channel figures become posterior means with `_ci` intervals around them, posterior.csv
//! holds every draw, metrics.json the diagnostics, the `[inference]` table is read, and a later
//! point fit into the same directory removes the stale draws.

mod common;
use common::{dcmmm, json, tmp};
use std::path::{Path, PathBuf};

fn simulate(dir: &Path) {
    let out = dcmmm()
        .args(["simulate", "--scenario", "national", "--seed", "3", "--out"])
        .arg(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The simulation's fit.toml with `extra` appended, written as `<name>.toml` beside it.
fn config_with(sim: &Path, name: &str, extra: &str) -> PathBuf {
    let config = sim.join(format!("{name}.toml"));
    let text = std::fs::read_to_string(sim.join("fit.toml")).unwrap() + extra;
    std::fs::write(&config, text).unwrap();
    config
}

#[test]
fn posterior_fit_writes_means_intervals_draws_and_diagnostics() {
    let sim = tmp("sim");
    simulate(&sim);
    let config = config_with(
        &sim,
        "fit",
        "\n[inference]\nchains = 2\ndraws = 60\ntune = 60\n",
    );
    let out_dir = sim.join("fit");
    let out = dcmmm()
        .args(["fit", "--config"])
        .arg(&config)
        .args([
            "--posterior",
            "--draws",
            "80",
            "--epochs",
            "60",
            "--quiet",
            "--out",
        ])
        .arg(&out_dir)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");

    let summary = json(&out_dir.join("summary.json"));
    let channels = summary["channels"].as_object().unwrap();
    assert_eq!(channels.len(), 5);
    let mut share_total = 0.0;
    for (name, c) in channels {
        for key in ["contribution", "share", "roi", "mroi"] {
            let mean = c[key].as_f64().unwrap();
            let ci = c[format!("{key}_ci")].as_array().unwrap();
            let (lo, hi) = (ci[0].as_f64().unwrap(), ci[1].as_f64().unwrap());
            assert!(
                lo <= mean && mean <= hi,
                "{name} {key}: {mean} outside [{lo}, {hi}]"
            );
            assert!(lo < hi, "{name} {key}: empty interval");
        }
        share_total += c["share"].as_f64().unwrap();
    }
    assert!((share_total - 1.0).abs() < 1e-9);

    // 2 chains (from [inference]) × 80 draws (the flag overrides the table) × 5 channels.
    let csv = std::fs::read_to_string(out_dir.join("posterior.csv")).unwrap();
    let mut lines = csv.lines();
    assert_eq!(
        lines.next().unwrap(),
        "chain,draw,channel,contribution,share,roi,mroi"
    );
    assert_eq!(lines.count(), 2 * 80 * 5);

    let metrics = json(&out_dir.join("metrics.json"));
    let p = &metrics["posterior"];
    assert_eq!(p["chains"], 2);
    assert_eq!(p["draws"], 80);
    assert_eq!(p["tune"], 60);
    for key in ["rhat_max", "ess_bulk_min", "ess_tail_min", "seconds"] {
        assert!(p[key].as_f64().unwrap() > 0.0, "{key}");
    }
    // 160 draws cannot reach 100 effective draws per chain on every coordinate: said plainly.
    assert_eq!(p["passed"], false);
    assert!(stderr.contains("posterior diagnostics failed"), "{stderr}");
    assert!(metrics["train"].is_object(), "the point fit's scores stay");
    // The report's summary card shows the intervals and that the diagnostics failed.
    let report = std::fs::read_to_string(out_dir.join("report.html")).unwrap();
    assert!(report.contains("Posterior (NUTS, 2 chains × 80 draws)"));
    assert!(report.contains("The sampler's diagnostics failed"));
    // Views 18 and 19 get the intervals and the traces (the report's data block), and
    // `dcmmm report` rebuilds the same numbers from posterior.csv and metrics.json.
    let posterior_block = |html: &str| {
        let tag = "id=\"report-data\">";
        let data = &html[html.find(tag).unwrap() + tag.len()..];
        let data = &data[..data.find("</script>").unwrap()];
        let v: serde_json::Value = serde_json::from_str(data).unwrap();
        let mut block = v["posterior"].clone();
        block["channels"] = v["channels"].clone();
        block
    };
    let block = posterior_block(&report);
    assert_eq!(block["share"].as_array().unwrap().len(), 5);
    for (c, name) in block["channels"].as_array().unwrap().iter().enumerate() {
        let name = name.as_str().unwrap();
        let entry = &channels[name];
        let row = &block["share"][c];
        assert!(
            (row[0].as_f64().unwrap() - entry["share"].as_f64().unwrap()).abs() < 1e-4,
            "{name}"
        );
        assert!(
            (row[1].as_f64().unwrap() - entry["share_ci"][0].as_f64().unwrap()).abs() < 1e-4,
            "{name}"
        );
    }
    assert_eq!(
        block["traces"].as_array().unwrap().len(),
        10,
        "share and ROI of 5 channels"
    );
    assert_eq!(
        block["traces"][0]["draws"].as_array().unwrap().len(),
        2,
        "one trace per chain"
    );
    let rebuilt = out_dir.join("rebuilt.html");
    let o = dcmmm()
        .args(["report", "--model"])
        .arg(out_dir.join("model.json"))
        .arg("--out")
        .arg(&rebuilt)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let again = posterior_block(&std::fs::read_to_string(&rebuilt).unwrap());
    assert_eq!(again["share"], block["share"]);
    assert_eq!(again["traces"][3]["rhat"], block["traces"][3]["rhat"]);
    std::fs::remove_file(&rebuilt).unwrap();

    // The parameter draws beside model.json: all 160 (under the cap of 200), from this run.
    let draws = json(&out_dir.join("posterior_draws.json"));
    assert_eq!(draws["draws"].as_array().unwrap().len(), 160);
    assert_eq!(draws["run_id"], metrics["run_id"]);
    let doctor = dcmmm().arg("doctor").arg(&out_dir).output().unwrap();
    assert!(
        doctor.status.success(),
        "{}",
        String::from_utf8_lossy(&doctor.stdout)
    );
    decisions_use_the_draws(&out_dir);

    // A point fit into the same directory removes the stale draws.
    let out = dcmmm()
        .args(["fit", "--config"])
        .arg(sim.join("fit.toml"))
        .args(["--epochs", "20", "--quiet", "--out"])
        .arg(&out_dir)
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(!out_dir.join("posterior.csv").exists());
    assert!(!out_dir.join("posterior_draws.json").exists());
    let summary = json(&out_dir.join("summary.json"));
    assert!(
        summary["channels"]
            .as_object()
            .unwrap()
            .values()
            .all(|c| c.get("share_ci").is_none())
    );
    let _ = std::fs::remove_dir_all(&sim);
}

/// `dcmmm curves` and `dcmmm optimize` on a posterior fit: bands around the national curves
/// (ordered, holding their mean; ROI intervals in roi.csv), the posterior-expected allocation with
/// its probability of beating the current split; `--point` gives the point answers without them;
/// draws from another fit are refused by curves and by doctor.
fn decisions_use_the_draws(fit: &Path) {
    let model = fit.join("model.json");
    let run = |args: &[&str], out: &Path| {
        let o = dcmmm()
            .args(args)
            .arg("--model")
            .arg(&model)
            .arg("--out")
            .arg(out)
            .output()
            .unwrap();
        (
            o.status.success(),
            String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr),
        )
    };
    let curves = fit.join("curves");
    let (ok, text) = run(&["curves"], &curves);
    assert!(ok, "{text}");
    assert!(text.contains("bands over 160 posterior draws"), "{text}");
    let csv = std::fs::read_to_string(curves.join("curves.csv")).unwrap();
    let mut lines = csv.lines();
    assert_eq!(
        lines.next().unwrap(),
        "channel,region,effect,multiplier,spend,response,unit,response_mean,response_p05,response_p95"
    );
    let mut rows = 0;
    for line in lines {
        let f: Vec<&str> = line.split(',').collect();
        let (mean, lo, hi): (f64, f64, f64) = (
            f[7].parse().unwrap(),
            f[8].parse().unwrap(),
            f[9].parse().unwrap(),
        );
        assert!(lo <= mean && mean <= hi, "{line}");
        if f[3] != "0" {
            assert!(lo < hi, "an empty band away from zero: {line}");
        }
        rows += 1;
    }
    assert_eq!(
        rows,
        5 * 2 * 31,
        "national rows of 5 channels × 2 effects × 31 multipliers"
    );
    // The bands run each draw through the analysis functions; summary.json's intervals come from
    // the sampler's channel quantities. Over every week of the history (the curves add only the
    // carryover after its end) the two ROI means agree.
    let (ok, text) = run(&["curves", "--window", "all"], &curves);
    assert!(ok, "{text}");
    let summary = json(&fit.join("summary.json"));
    let bands = json(&curves.join("curves.json"));
    for b in bands["posterior"]["channels"].as_array().unwrap() {
        let name = b["channel"].as_str().unwrap();
        let from_draws = b["roi_direct"]["mean"].as_f64().unwrap();
        let sampled = summary["channels"][name]["roi"].as_f64().unwrap();
        assert!(
            (from_draws - sampled).abs() <= 0.05 * sampled,
            "{name}: ROI {from_draws} from the parameter draws, {sampled} from the sampler"
        );
    }
    let roi = std::fs::read_to_string(curves.join("roi.csv")).unwrap();
    assert!(
        roi.lines()
            .next()
            .unwrap()
            .ends_with("roi_direct_p05,roi_direct_p95,mroi_direct_p05,mroi_direct_p95")
    );

    let plan = fit.join("plan");
    let (ok, text) = run(&["optimize"], &plan);
    assert!(ok, "{text}");
    assert!(
        text.contains("P(recommendation beats the current split)"),
        "{text}"
    );
    let alloc = json(&plan.join("allocation.json"));
    let u = &alloc["posterior"];
    assert_eq!(u["draws"], 160);
    let p = u["probability_beats_current"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&p), "{p}");
    let lift = &u["lift"];
    assert!(lift["p05"].as_f64().unwrap() <= lift["mean"].as_f64().unwrap());
    assert!(lift["mean"].as_f64().unwrap() <= lift["p95"].as_f64().unwrap());
    assert!(
        (alloc["lift"].as_f64().unwrap() - lift["mean"].as_f64().unwrap()).abs()
            < 1e-6 * alloc["outcome_current"].as_f64().unwrap().abs()
    );

    let (ok, text) = run(&["optimize", "--point"], &plan);
    assert!(ok, "{text}");
    assert!(
        json(&plan.join("allocation.json"))
            .get("posterior")
            .is_none()
    );
    let (ok, text) = run(&["curves", "--point"], &curves);
    assert!(ok, "{text}");
    assert!(
        !std::fs::read_to_string(curves.join("curves.csv"))
            .unwrap()
            .contains("response_p05")
    );

    // Draws of another fit: refused, naming the file and the run id.
    let path = fit.join("posterior_draws.json");
    let original = std::fs::read_to_string(&path).unwrap();
    let mut v: serde_json::Value = serde_json::from_str(&original).unwrap();
    v["run_id"] = "another-run".into();
    std::fs::write(&path, v.to_string()).unwrap();
    let (ok, text) = run(&["curves"], &curves);
    assert!(
        !ok && text.contains("posterior_draws.json") && text.contains("run_id"),
        "{text}"
    );
    let doctor = dcmmm().arg("doctor").arg(fit).output().unwrap();
    let report = String::from_utf8_lossy(&doctor.stdout);
    assert!(
        !doctor.status.success() && report.contains("posterior_draws.json"),
        "{report}"
    );
    std::fs::write(&path, original).unwrap();
}

#[test]
fn a_bad_inference_key_is_an_error() {
    let sim = tmp("badkey");
    simulate(&sim);
    let config = config_with(&sim, "fit", "\n[inference]\nchain = 2\n");
    let out = dcmmm()
        .args(["fit", "--config"])
        .arg(&config)
        .args(["--quiet", "--out"])
        .arg(sim.join("fit"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("chain"), "{stderr}");
    let _ = std::fs::remove_dir_all(&sim);
}

/// Posterior mean of `key` of channel `channel` after `dcmmm fit --posterior` with `extra`
/// appended to the simulation's fit.toml.
fn posterior_mean(sim: &Path, name: &str, extra: &str, channel: &str, key: &str) -> f64 {
    let config = config_with(
        sim,
        name,
        &format!("\n[inference]\nposterior = true\nchains = 2\ndraws = 150\ntune = 150\n{extra}"),
    );
    let out_dir = sim.join(name);
    let out = dcmmm()
        .args(["fit", "--config"])
        .arg(&config)
        .args(["--quiet", "--out"])
        .arg(&out_dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    json(&out_dir.join("summary.json"))["channels"][channel][key]
        .as_f64()
        .unwrap()
}

#[test]
fn a_channel_prior_and_a_lift_test_move_the_posterior_their_way() {
    let sim = tmp("priors");
    simulate(&sim);
    let truth = json(&sim.join("truth.json"));
    let tv = truth["channel_truth"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "tv")
        .unwrap();
    let true_roi = tv["roi"].as_f64().unwrap();
    let base = posterior_mean(&sim, "base", "", "tv", "roi");

    // A confident ROI prior at three times the truth pulls the posterior up.
    let prior = format!(
        "\n[[inference.channel_prior]]\nchannel = \"tv\"\nroi = {{ mean = {}, sd = {} }}\n",
        3.0 * true_roi,
        0.1 * true_roi
    );
    let with_prior = posterior_mean(&sim, "prior", &prior, "tv", "roi");
    assert!(
        with_prior > base * 1.5,
        "ROI {base} → {with_prior} (truth {true_roi})"
    );

    // A lift test measuring a tenth of the channel's true contribution over the whole panel
    // pulls it down.
    let weeks = std::fs::read_to_string(sim.join("panel.csv")).unwrap();
    let dates: Vec<&str> = weeks
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap())
        .collect();
    let contribution = tv["contribution"].as_f64().unwrap();
    let lift = format!(
        "\n[[lift_test]]\nchannel = \"tv\"\nstart = \"{}\"\nend = \"{}\"\nlift = {}\nse = {}\n",
        dates[0],
        dates[dates.len() - 1],
        0.1 * contribution,
        0.02 * contribution
    );
    let with_lift = posterior_mean(&sim, "lift", &lift, "tv", "contribution");
    let base_contribution =
        json(&sim.join("base").join("summary.json"))["channels"]["tv"]["contribution"]
            .as_f64()
            .unwrap();
    assert!(
        with_lift < 0.5 * base_contribution,
        "contribution {base_contribution} → {with_lift} (truth {contribution})"
    );
    let _ = std::fs::remove_dir_all(&sim);
}
