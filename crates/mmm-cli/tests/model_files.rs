//! Damaged `model.json` files: each check of `FittedModel::load` names the file and the field, and
//! a proptest mutates a valid model file (drops or duplicates array entries, swaps numbers for
//! null/NaN, huge, negative or zero values, truncates the text) and runs every subcommand that
//! reads one (`predict`, `curves`, `optimize`, `scenarios`, `report`): each must exit with a
//! message or succeed with finite outputs, never panic. `DCMMM_MODEL_MUTATIONS=N` runs N cases
//! (default 32).

mod common;
use common::{noise, tmp};
use mmm_data::{ColumnSpec, Panel, Week};
use mmm_fitted::{FitConfig, FittedModel, TrainConfig};
use mmm_orchestrator::fit_panel;
use ndarray::{Array2, Array3};
use proptest::prelude::*;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

const WEEKS: usize = 40;
/// Days since 1970-01-01 of the first week (2023-01-02).
const FIRST_DAY: i64 = 19_359;

/// A small model (2 regions × 40 weeks × 3 channels, one control) with a DAG edge tv → search, as
/// JSON text, and the directory holding the plan files the subcommands read.
fn fixture() -> &'static (String, PathBuf) {
    static F: OnceLock<(String, PathBuf)> = OnceLock::new();
    F.get_or_init(|| {
        let (r_n, t_n) = (2, WEEKS);
        let media = Array3::from_shape_fn((r_n, t_n, 3), |(r, t, c)| {
            let k = (r * 1000 + t * 10 + c) as u64;
            match c {
                0 if t % 5 < 2 => 100.0 + 50.0 * noise(k),
                0 => 5.0 * noise(k),
                _ => 20.0 + 10.0 * noise(k),
            }
        });
        let controls = Array3::from_shape_fn((r_n, t_n, 1), |(r, t, _)| {
            10.0 + noise((r * 1000 + t) as u64 + 7)
        });
        let target = Array2::from_shape_fn((r_n, t_n), |(r, t)| {
            (1.0 + r as f64)
                * (200.0 + 0.4 * media[[r, t, 0]] + 1.5 * media[[r, t, 1]]
                    - 5.0 * controls[[r, t, 0]]
                    + 5.0 * noise((r * 1000 + t) as u64 + 17))
        });
        let panel = Panel {
            regions: vec!["a".into(), "b".into()],
            weeks: (0..t_n)
                .map(|t| Week::Date(FIRST_DAY + 7 * t as i64))
                .collect(),
            channels: vec!["tv".into(), "search".into(), "radio".into()],
            controls: vec!["price".into()],
            target,
            media,
            spend: None,
            controls_data: controls,
            observed: Array2::from_elem((r_n, t_n), true),
        };
        let spec = ColumnSpec {
            target: "sales".into(),
            media: panel.channels.clone(),
            controls: panel.controls.clone(),
            region: Some("region".into()),
            time: "week".into(),
            spend: Vec::new(),
        };
        let mut cfg = FitConfig {
            holdout_weeks: 4,
            ..FitConfig::default()
        };
        cfg.model.hidden = 3;
        cfg.train = TrainConfig {
            epochs: 10,
            validation_weeks: Some(4),
            ..TrainConfig::default()
        };
        let mut fitted = fit_panel(&panel, &spec, &cfg, &mut |_| {}).unwrap();
        // An edge, so that cycles and the propagation along the DAG are reachable.
        fitted.dag.weights[0][1] = 0.3;
        let dir = tmp("fixture");
        let path = dir.join("model.json");
        fitted.save(&path).unwrap();
        let mut plan = String::from("region,week,tv,search,radio,price\n");
        for region in ["a", "b"] {
            for w in WEEKS..WEEKS + 3 {
                let (y, m, d) = mmm_data::civil_from_days(FIRST_DAY + 7 * w as i64);
                plan += &format!("{region},{y:04}-{m:02}-{d:02},50,20,20,10\n");
            }
        }
        std::fs::write(dir.join("plan.csv"), plan).unwrap();
        std::fs::write(dir.join("scenario.csv"), "channel,spend\ntv,1000\n").unwrap();
        (std::fs::read_to_string(&path).unwrap(), dir)
    })
}

/// The model file with `edit` applied, loaded.
fn load_edited(name: &str, edit: impl FnOnce(&mut Value)) -> Result<FittedModel, String> {
    let mut v: Value = serde_json::from_str(&fixture().0).unwrap();
    edit(&mut v);
    let path = tmp(name).join("model.json");
    std::fs::write(&path, v.to_string()).unwrap();
    FittedModel::load(&path).map_err(|e| e.to_string())
}

fn load_err(name: &str, edit: impl FnOnce(&mut Value)) -> String {
    match load_edited(name, edit) {
        Ok(_) => panic!("{name}: the edited model loaded"),
        Err(e) => {
            assert!(
                e.contains("model.json: "),
                "{name}: the file is not named: {e}"
            );
            e
        }
    }
}

#[test]
fn the_unedited_fixture_loads() {
    load_edited("unedited", |_| {}).unwrap();
}

#[test]
fn each_check_names_the_field() {
    type Edit = Box<dyn FnOnce(&mut Value)>;
    let cases: Vec<(&str, Edit, &str)> = vec![
        (
            "dag-row",
            Box::new(|v| {
                v["dag"]["weights"][2].as_array_mut().unwrap().pop();
            }),
            "dag.weights[2]: expected 3 entries (one per channel), found 2",
        ),
        (
            "dag-rows",
            Box::new(|v| {
                v["dag"]["scores"].as_array_mut().unwrap().pop();
            }),
            "dag.scores: expected 3 entries (one per channel), found 2",
        ),
        (
            "dag-cycle",
            Box::new(|v| v["dag"]["weights"][1][0] = 0.2.into()),
            "dag.weights: cycle tv → search → tv",
        ),
        (
            "dag-negative",
            Box::new(|v| v["dag"]["weights"][2][0] = (-0.2).into()),
            "dag.weights[2][0]: expected a finite number ≥ 0, found -0.2",
        ),
        (
            "params",
            Box::new(|v| {
                v["params"].as_array_mut().unwrap().pop();
            }),
            "params: expected",
        ),
        (
            "huge-param",
            Box::new(|v| v["params"][0] = 1e308.into()),
            "", // finite, so it loads; see below
        ),
        (
            "target-scaler",
            Box::new(|v| v["target_scaler"]["means"][1] = 0.0.into()),
            "target_scaler.means[1]: expected a finite number > 0, found 0",
        ),
        (
            "media-scaler",
            Box::new(|v| {
                v["media_scaler"]["channel_means"]
                    .as_array_mut()
                    .unwrap()
                    .push(1.0.into());
            }),
            "media_scaler.channel_means: expected 3 entries (one per channel), found 4",
        ),
        (
            "control-scaler",
            Box::new(|v| v["control_scaler"]["scale"][0] = (-1.0).into()),
            "control_scaler.scale[0]: expected a finite number > 0, found -1",
        ),
        (
            "history-week",
            Box::new(|v| {
                v["history"]["media"][1].as_array_mut().unwrap().pop();
            }),
            "history.media[1]: expected 40 entries (one per week), found 39",
        ),
        (
            "history-channel",
            Box::new(|v| {
                v["history"]["media"][0][7].as_array_mut().unwrap().pop();
            }),
            "history.media[0][7]: expected 3 entries (one per channel), found 2",
        ),
        (
            "history-negative",
            Box::new(|v| v["history"]["media"][0][7][1] = (-3.0).into()),
            "history.media[0][7][1]: expected a finite number ≥ 0, found -3",
        ),
        (
            "history-target",
            Box::new(|v| {
                v["history"]["target"].as_array_mut().unwrap().pop();
            }),
            "history.target: expected 2 entries (one per region), found 1",
        ),
        (
            "weeks",
            Box::new(|v| {
                v["weeks"].as_array_mut().unwrap().remove(5);
            }),
            "weeks[5]: expected the weeks to continue the calendar",
        ),
        (
            "split",
            Box::new(|v| v["split"]["holdout"]["end"] = 99.into()),
            "split: expected train 0..n−h",
        ),
        (
            "regions",
            Box::new(|v| v["regions"][1] = "a".into()),
            "regions[1]: `a` repeats regions[0]",
        ),
        (
            "reserved",
            Box::new(|v| v["channels"][2] = "trend".into()),
            "name `trend`: the channel name is already a component",
        ),
        (
            "channel-twice",
            Box::new(|v| v["controls"][0] = "tv".into()),
            "name `tv`: the control name is already a channel",
        ),
        (
            "hidden",
            Box::new(|v| v["config"]["model"]["hidden"] = 100_000_000.into()),
            "config: invalid model configuration: `hidden` must lie in 1..=1024",
        ),
        (
            "adstock",
            Box::new(|v| v["config"]["model"]["adstock"] = "gamma".into()),
            // Transforms are names in the registry: an unknown one is refused at `config.model`,
            // naming the registered ones.
            "config.model: invalid model configuration: `adstock`: unknown adstock `gamma` \
             (registered: delayed, geometric, weibull)",
        ),
    ];
    for (name, edit, expected) in cases {
        if expected.is_empty() {
            load_edited(name, edit).unwrap();
            continue;
        }
        let e = load_err(name, edit);
        assert!(
            e.contains(expected),
            "{name}: expected `{expected}` in: {e}"
        );
    }
}

/// The outcome of one subcommand on a (possibly damaged) model file.
fn run(model: &Path, out: &Path, command: &str) -> std::process::Output {
    let dir = &fixture().1;
    std::fs::create_dir_all(out).unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_dcmmm"));
    cmd.arg(command).arg("--model").arg(model).arg("--out");
    match command {
        "report" => cmd.arg(out.join("report.html")),
        "predict" => cmd.arg(out).arg("--data").arg(dir.join("plan.csv")),
        "scenarios" => cmd.arg(out).arg("--plan").arg(dir.join("scenario.csv")),
        "curves" => cmd.arg(out).args(["--steps", "4"]),
        _ => cmd.arg(out),
    };
    cmd.output().unwrap()
}

const READERS: [&str; 5] = ["predict", "curves", "optimize", "scenarios", "report"];

/// Fails unless `command` either exited with an `error:` message as its last line or succeeded
/// with finite numbers in every CSV and JSON file it wrote.
fn assert_error_or_finite(command: &str, output: &std::process::Output, out: &Path, what: &str) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !stderr.contains("panicked"),
        "{command} panicked on {what}: {stderr}"
    );
    match output.status.code() {
        Some(0) => {
            for entry in std::fs::read_dir(out).unwrap() {
                let path = entry.unwrap().path();
                let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
                if !matches!(ext, "csv" | "json") {
                    continue;
                }
                let text = std::fs::read_to_string(&path).unwrap();
                let bad = text
                    .split(|c: char| c == ',' || c == '\n' || c == ':' || c.is_whitespace())
                    .find(|t| matches!(t.trim_matches('"'), "NaN" | "inf" | "-inf"));
                assert!(
                    bad.is_none(),
                    "{command} wrote {bad:?} into {} on {what}",
                    path.display()
                );
            }
        }
        // Warnings and notes may come first; the last line says what failed.
        Some(1) => assert!(
            stderr
                .lines()
                .last()
                .is_some_and(|l| l.starts_with("error: ")),
            "{command} failed without a message on {what}: {stderr}"
        ),
        code => panic!("{command} ended with {code:?} on {what}: {stderr}"),
    }
}

#[test]
fn every_reader_succeeds_on_the_valid_model() {
    let dir = tmp("valid");
    let model = dir.join("model.json");
    std::fs::write(&model, &fixture().0).unwrap();
    for command in READERS {
        let out = dir.join(command);
        let output = run(&model, &out, command);
        assert!(
            output.status.success(),
            "{command}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert_error_or_finite(command, &output, &out, "the valid model");
    }
}

/// A step of a path into a JSON document.
#[derive(Clone, Debug)]
enum Step {
    Key(String),
    Index(usize),
}

fn at<'a>(v: &'a mut Value, path: &[Step]) -> &'a mut Value {
    path.iter().fold(v, |v, s| match s {
        Step::Key(k) => &mut v[k.as_str()],
        Step::Index(i) => &mut v[*i],
    })
}

/// Paths of every array and every number under `v`.
fn collect(
    v: &Value,
    path: &mut Vec<Step>,
    arrays: &mut Vec<Vec<Step>>,
    numbers: &mut Vec<Vec<Step>>,
) {
    match v {
        Value::Array(a) => {
            arrays.push(path.clone());
            for (i, x) in a.iter().enumerate() {
                path.push(Step::Index(i));
                collect(x, path, arrays, numbers);
                path.pop();
            }
        }
        Value::Object(o) => {
            for (k, x) in o {
                path.push(Step::Key(k.clone()));
                collect(x, path, arrays, numbers);
                path.pop();
            }
        }
        Value::Number(_) => numbers.push(path.clone()),
        _ => {}
    }
}

/// One damage to a model file.
#[derive(Clone, Debug)]
enum Mutation {
    /// Remove an entry of an array (`field`, `which` array of it, `entry`).
    Drop(usize, usize, usize),
    /// Repeat an entry of an array.
    Duplicate(usize, usize, usize),
    /// Replace a number by one of [`REPLACEMENTS`] (`field`, `which` number, `replacement`).
    Number(usize, usize, usize),
    /// Replace a model parameter (the numbers every computation runs through) by a replacement.
    Param(usize, usize),
    /// Cut the text at this fraction of its length.
    Truncate(f64),
}

/// Numbers swapped in: null (how serde_json writes NaN), huge, negative, zero.
const REPLACEMENTS: [f64; 6] = [f64::NAN, 1e300, -1e300, -1.0, 0.0, 1e9];

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), any::<usize>(), any::<usize>())
            .prop_map(|(f, w, e)| Mutation::Drop(f, w, e)),
        (any::<usize>(), any::<usize>(), any::<usize>())
            .prop_map(|(f, w, e)| Mutation::Duplicate(f, w, e)),
        (any::<usize>(), any::<usize>(), 0..REPLACEMENTS.len() + 1)
            .prop_map(|(f, w, r)| Mutation::Number(f, w, r)),
        (any::<usize>(), 0..REPLACEMENTS.len()).prop_map(|(i, r)| Mutation::Param(i, r)),
        (0.0..1.0f64).prop_map(Mutation::Truncate),
    ]
}

/// The fixture's text damaged by `m`, and what was done (for the failure message).
fn damaged(m: &Mutation) -> (String, String) {
    let text = &fixture().0;
    if let Mutation::Truncate(f) = m {
        let mut cut = (text.len() as f64 * f) as usize;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        return (text[..cut].to_string(), format!("truncated at byte {cut}"));
    }
    let mut v: Value = serde_json::from_str(text).unwrap();
    // A top-level field first, so that small fields are hit as often as the large history.
    let fields: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
    let pick = |f: usize, want_arrays: bool| -> Option<Vec<Step>> {
        let (mut arrays, mut numbers) = (Vec::new(), Vec::new());
        let key = &fields[f % fields.len()];
        let mut path = vec![Step::Key(key.clone())];
        collect(&v[key.as_str()], &mut path, &mut arrays, &mut numbers);
        let paths = if want_arrays { arrays } else { numbers };
        (!paths.is_empty()).then(|| paths[f / fields.len() % paths.len()].clone())
    };
    let what = match *m {
        Mutation::Drop(f, w, e) | Mutation::Duplicate(f, w, e) => {
            let Some(path) = pick(f.wrapping_add(w), true) else {
                return (text.clone(), "nothing".into());
            };
            let a = at(&mut v, &path).as_array_mut().unwrap();
            if a.is_empty() {
                return (text.clone(), "nothing".into());
            }
            let i = e % a.len();
            if matches!(m, Mutation::Drop(..)) {
                a.remove(i);
                format!("dropped entry {i} of {path:?}")
            } else {
                let x = a[i].clone();
                a.insert(i, x);
                format!("duplicated entry {i} of {path:?}")
            }
        }
        Mutation::Number(f, w, r) => {
            let Some(path) = pick(f.wrapping_add(w), false) else {
                return (text.clone(), "nothing".into());
            };
            let x = at(&mut v, &path);
            let new = match REPLACEMENTS.get(r) {
                Some(&y) => serde_json::Number::from_f64(y).map_or(Value::Null, Value::Number),
                None => Value::from(-x.as_f64().unwrap_or(1.0)),
            };
            *x = new.clone();
            format!("set {path:?} to {new}")
        }
        Mutation::Param(i, r) => {
            let params = v["params"].as_array_mut().unwrap();
            let i = i % params.len();
            let new =
                serde_json::Number::from_f64(REPLACEMENTS[r]).map_or(Value::Null, Value::Number);
            params[i] = new.clone();
            format!("set params[{i}] to {new}")
        }
        Mutation::Truncate(_) => unreachable!("handled above"),
    };
    (v.to_string(), what)
}

fn cases() -> u32 {
    std::env::var("DCMMM_MODEL_MUTATIONS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(32)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases()))]

    #[test]
    fn damaged_model_files_never_panic(m in mutation()) {
        let (text, what) = damaged(&m);
        let dir = tmp("damaged");
        let model = dir.join("model.json");
        std::fs::write(&model, text).unwrap();
        for command in READERS {
            let out = dir.join(command);
            let output = run(&model, &out, command);
            assert_error_or_finite(command, &output, &out, &what);
        }
    }
}

/// `dcmmm predict` on `model` with a plan of `weeks` (each for regions a and b) and `flags`.
fn predict(model: &Path, weeks: &[String], flags: &[&str], name: &str) -> std::process::Output {
    let dir = tmp(name);
    let mut plan = String::from("region,week,tv,search,radio,price\n");
    for region in ["a", "b"] {
        for w in weeks {
            plan += &format!("{region},{w},50,20,20,10\n");
        }
    }
    std::fs::write(dir.join("plan.csv"), plan).unwrap();
    Command::new(env!("CARGO_BIN_EXE_dcmmm"))
        .args(["predict", "--model"])
        .arg(model)
        .arg("--data")
        .arg(dir.join("plan.csv"))
        .arg("--out")
        .arg(dir.join("out"))
        .args(flags)
        .output()
        .unwrap()
}

fn date(week: usize) -> String {
    let (y, m, d) = mmm_data::civil_from_days(FIRST_DAY + 7 * week as i64);
    format!("{y:04}-{m:02}-{d:02}")
}

#[test]
fn plans_far_after_the_history_are_refused() {
    let dir = tmp("gap");
    let model = dir.join("model.json");
    std::fs::write(&model, &fixture().0).unwrap();
    let stderr = |o: &std::process::Output| String::from_utf8_lossy(&o.stderr).into_owned();
    // The history ends in week 39: week 40 + 104 is the last start allowed by default.
    let ok = predict(&model, &[date(WEEKS + 104)], &[], "gap-ok");
    assert!(ok.status.success(), "{}", stderr(&ok));
    let far = predict(&model, &[date(WEEKS + 105)], &[], "gap-far");
    assert_eq!(far.status.code(), Some(1));
    assert!(
        stderr(&far).contains("105 weeks after the fitted history's last week")
            && stderr(&far).contains("--max-gap-weeks"),
        "{}",
        stderr(&far)
    );
    let raised = predict(
        &model,
        &[date(WEEKS + 105)],
        &["--max-gap-weeks", "105"],
        "gap-raised",
    );
    assert!(raised.status.success(), "{}", stderr(&raised));
    let year_9999 = predict(&model, &["9999-12-27".into()], &[], "gap-9999");
    assert!(
        stderr(&year_9999).contains("416179 weeks after")
            && stderr(&year_9999).contains("are refused"),
        "{}",
        stderr(&year_9999)
    );

    // Integer weeks at the ends of their range: the history ends at week -1e12 + 39, the plan at
    // the largest week number a file may hold; weeks beyond the range are refused on load.
    let mut v: Value = serde_json::from_str(&fixture().0).unwrap();
    let index_weeks = |v: &mut Value, first: i64| {
        v["weeks"] = (0..WEEKS as i64)
            .map(|t| serde_json::json!({ "Index": first.saturating_add(t) }))
            .collect();
    };
    let model = dir.join("index.json");
    index_weeks(&mut v, -1_000_000_000_000);
    std::fs::write(&model, v.to_string()).unwrap();
    let max = predict(&model, &["1000000000000".into()], &[], "index-max");
    assert!(
        stderr(&max).contains("1999999999960 weeks after") && stderr(&max).contains("are refused"),
        "{}",
        stderr(&max)
    );
    index_weeks(&mut v, i64::MIN);
    std::fs::write(&model, v.to_string()).unwrap();
    let e = FittedModel::load(&model).unwrap_err().to_string();
    assert!(
        e.contains("weeks[0]: expected a date in the years 1 to 9999"),
        "{e}"
    );
}

#[test]
fn planning_horizons_longer_than_a_calendar_are_refused() {
    let dir = tmp("horizon");
    let model = dir.join("model.json");
    std::fs::write(&model, &fixture().0).unwrap();
    for command in ["scenarios", "optimize"] {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_dcmmm"));
        cmd.args([command, "--weeks", "10001", "--model"])
            .arg(&model)
            .arg("--out")
            .arg(dir.join(command));
        if command == "scenarios" {
            cmd.arg("--plan").arg(fixture().1.join("scenario.csv"));
        }
        let out = cmd.output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("error: a planning horizon of 10001 weeks is longer than the 10000"),
            "{command}: {stderr}"
        );
    }
}
