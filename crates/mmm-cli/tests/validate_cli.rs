//! Runs the built `dcmmm` binary: `validate` on the malformed corpus (`tests/data/malformed/`, one
//! file per error case) exits non-zero with the typed error naming file, line and column and never
//! panics; on valid panels it prints the summary (text and `--json`) and exits 0.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn corpus(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/data")
        .join(name)
}

const COLUMNS: &[&str] = &[
    "--target",
    "sales",
    "--media",
    "tv,search",
    "--controls",
    "price",
    "--region",
    "region",
    "--time",
    "week",
    "--spend",
    "tv=tv_spend",
];

fn validate(file: &Path, extra: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_dcmmm"))
        .arg("validate")
        .arg("--data")
        .arg(file)
        .args(COLUMNS)
        .args(extra)
        .output()
        .expect("run dcmmm")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Exits with failure (code 1, not a panic's 101) and the message names file, line and column.
fn assert_fails(file: &str, extra: &[&str], needles: &[&str]) {
    let out = validate(&corpus(&format!("malformed/{file}")), extra);
    let err = stderr(&out);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{file}: expected exit 1, stderr: {err}"
    );
    assert!(!err.contains("panicked"), "{file} panicked: {err}");
    assert!(err.starts_with("error: "), "{file}: {err}");
    assert!(
        err.contains(file),
        "{file}: message does not name the file: {err}"
    );
    for n in needles {
        assert!(err.contains(n), "{file}: message lacks `{n}`: {err}");
    }
}

#[test]
fn every_malformed_file_gives_its_error() {
    let cases: &[(&str, &[&str])] = &[
        ("empty.csv", &["empty file"]),
        ("header_only.csv", &["no data rows"]),
        ("wrong_delimiter.csv", &[":1:", "wrong delimiter", "';'"]),
        (
            "unknown_column.csv",
            &[":1:", "unknown media column `search`"],
        ),
        ("duplicate_column.csv", &[":1:", "duplicate column `tv`"]),
        (
            "non_numeric.csv",
            &[":5:", "`tv`", "expected a number", "`n/a`"],
        ),
        ("nan_value.csv", &[":7:", "`sales`", "finite"]),
        ("inf_value.csv", &[":9:", "`price`", "finite"]),
        ("negative_spend.csv", &[":11:", "`tv_spend`", ">= 0"]),
        ("negative_media.csv", &[":12:", "`search`", ">= 0"]),
        (
            "duplicate_row.csv",
            &[":20:", "duplicate (region, week)", "line 18"],
        ),
        ("uneven_weeks.csv", &[":14:", "`week`", "not evenly spaced"]),
        ("too_few_weeks.csv", &["`week`", "too few"]),
        ("constant_target.csv", &["`sales`", "constant"]),
        ("ragged_row.csv", &[":6:", "expected 7 fields"]),
        ("bad_week.csv", &[":8:", "`week`", "ISO date"]),
        ("empty_region.csv", &[":10:", "`region`"]),
    ];
    for (file, needles) in cases {
        assert_fails(file, &[], needles);
    }
    // Every file in the corpus is covered (all_zero_channel.csv is valid, with a warning).
    let n = std::fs::read_dir(corpus("malformed"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "csv")
        })
        .count();
    assert_eq!(n, cases.len() + 1);
}

#[test]
fn all_zero_channel_warns_but_succeeds() {
    let out = validate(&corpus("malformed/all_zero_channel.csv"), &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("warning: channel `search` is zero in every observed region-week"),
        "{text}"
    );
}

#[test]
fn too_few_weeks_depends_on_the_holdout() {
    let out = validate(
        &corpus("malformed/too_few_weeks.csv"),
        &["--holdout-weeks", "13"],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("need at least 39"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn valid_panel_prints_text_and_json_summaries() {
    let file = corpus("good/unbalanced.csv");
    let out = validate(&file, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    for needle in [
        "regions:  3",
        "weeks:    45 (2021-01-04 .. 2021-11-08",
        "missing region-weeks: 7",
        "tv:",
        "price:",
        "ok:",
    ] {
        assert!(text.contains(needle), "missing `{needle}` in\n{text}");
    }
    let out = validate(&file, &["--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("valid JSON");
    assert_eq!(v["regions"], 3);
    assert_eq!(v["weeks"], 45);
    assert_eq!(v["missing_region_weeks"], 7);
    assert_eq!(v["late_start_regions"][0], "east");
    assert_eq!(v["channels"][0]["name"], "tv");
    assert_eq!(v["channels"][0]["spend_column"], "tv_spend");
    assert_eq!(v["holdout_weeks"], 13);
    assert_eq!(v["controls"][0]["name"], "price");
}

#[test]
fn config_file_supplies_the_columns() {
    let dir = std::env::temp_dir().join(format!("dcmmm-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cfg = dir.join("fit.toml");
    let data = corpus("good/national.csv");
    std::fs::write(
        &cfg,
        format!("[data]\npath = {:?}\ntarget = \"sales\"\nmedia = [\"tv\", \"search\"]\nholdout_weeks = 10\n", data),
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_dcmmm"))
        .args(["validate", "--json", "--config"])
        .arg(&cfg)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["regions"], 1);
    assert_eq!(v["weeks"], 60);
    assert_eq!(v["holdout_weeks"], 10);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn help_has_examples() {
    for args in [&["--help"][..], &["validate", "--help"][..]] {
        let out = Command::new(env!("CARGO_BIN_EXE_dcmmm"))
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success());
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains("Examples:") && text.contains("dcmmm validate --data"),
            "{text}"
        );
    }
}

#[test]
fn usage_errors_exit_non_zero() {
    let out = Command::new(env!("CARGO_BIN_EXE_dcmmm"))
        .args(["validate", "--target", "y"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(stderr(&out).contains("--data"), "{}", stderr(&out));
}
