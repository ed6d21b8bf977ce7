//! One test per malformed file in `tests/data/malformed/`: each gives its typed error (matched by
//! variant) whose message names the file, line and column; plus a proptest that random garbage and
//! truncated CSV never panic.

use mmm_data::{ColumnSpec, Error, Warning, load_panel, parse_panel};
use proptest::prelude::*;
use std::path::{Path, PathBuf};

fn corpus(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/data")
        .join(name)
}

fn spec() -> ColumnSpec {
    ColumnSpec {
        target: "sales".into(),
        media: vec!["tv".into(), "search".into()],
        controls: vec!["price".into()],
        region: Some("region".into()),
        time: "week".into(),
        spend: vec![("tv".into(), "tv_spend".into())],
    }
}

fn load_err(file: &str) -> Error {
    match load_panel(&corpus(&format!("malformed/{file}")), &spec()) {
        Ok(_) => panic!("{file} loaded without error"),
        Err(e) => e,
    }
}

/// The message names the file, the `:line` and the column.
fn assert_names(e: &Error, file: &str, line: u64, column: &str) {
    let msg = e.to_string();
    assert!(
        msg.contains(file),
        "message does not name the file {file}: {msg}"
    );
    assert!(
        msg.contains(&format!(":{line}:")),
        "message does not name line {line}: {msg}"
    );
    if !column.is_empty() {
        assert!(
            msg.contains(&format!("`{column}`")),
            "message does not name column {column}: {msg}"
        );
    }
}

#[test]
fn empty_file() {
    let e = load_err("empty.csv");
    assert!(matches!(e, Error::EmptyFile { .. }), "{e}");
    assert!(e.to_string().contains("empty.csv"));
    let e = load_err("header_only.csv");
    assert!(matches!(e, Error::EmptyFile { .. }), "{e}");
    assert!(e.to_string().contains("no data rows"), "{e}");
}

#[test]
fn wrong_delimiter() {
    let e = load_err("wrong_delimiter.csv");
    assert!(
        matches!(
            e,
            Error::WrongDelimiter {
                found: ';',
                line: 1,
                ..
            }
        ),
        "{e}"
    );
    assert_names(&e, "wrong_delimiter.csv", 1, "");
}

#[test]
fn unknown_column() {
    let e = load_err("unknown_column.csv");
    assert!(
        matches!(&e, Error::UnknownColumn { column, role, .. } if column == "search" && role == "media"),
        "{e}"
    );
    assert_names(&e, "unknown_column.csv", 1, "search");
}

#[test]
fn unknown_glob_matches_nothing() {
    let mut s = spec();
    s.controls = vec!["control_*".into()];
    let e = load_panel(&corpus("good/unbalanced.csv"), &s).unwrap_err();
    assert!(
        matches!(&e, Error::UnknownColumn { column, role, .. } if column == "control_*" && role == "control"),
        "{e}"
    );
}

#[test]
fn duplicate_column() {
    let e = load_err("duplicate_column.csv");
    assert!(
        matches!(&e, Error::DuplicateColumn { column, first: 4, second: 5, .. } if column == "tv"),
        "{e}"
    );
    assert_names(&e, "duplicate_column.csv", 1, "tv");
}

#[test]
fn non_numeric_cell() {
    let e = load_err("non_numeric.csv");
    assert!(
        matches!(&e, Error::NonNumeric { line: 5, value, .. } if value == "n/a"),
        "{e}"
    );
    assert_names(&e, "non_numeric.csv", 5, "tv");
}

#[test]
fn nan_and_inf() {
    let e = load_err("nan_value.csv");
    assert!(matches!(e, Error::NonFinite { line: 7, .. }), "{e}");
    assert_names(&e, "nan_value.csv", 7, "sales");
    let e = load_err("inf_value.csv");
    assert!(matches!(e, Error::NonFinite { line: 9, .. }), "{e}");
    assert_names(&e, "inf_value.csv", 9, "price");
}

#[test]
fn negative_spend_and_media() {
    let e = load_err("negative_spend.csv");
    assert!(
        matches!(&e, Error::NegativeValue { line: 11, role, value, .. } if role == "spend" && *value == -5.0),
        "{e}"
    );
    assert_names(&e, "negative_spend.csv", 11, "tv_spend");
    let e = load_err("negative_media.csv");
    assert!(
        matches!(&e, Error::NegativeValue { line: 12, role, .. } if role == "media"),
        "{e}"
    );
    assert_names(&e, "negative_media.csv", 12, "search");
}

#[test]
fn duplicate_region_week() {
    let e = load_err("duplicate_row.csv");
    assert!(
        matches!(&e, Error::DuplicateRow { line: 20, first_line: 18, region, .. } if region == "north"),
        "{e}"
    );
    assert_names(&e, "duplicate_row.csv", 20, "week");
}

#[test]
fn uneven_weeks() {
    let e = load_err("uneven_weeks.csv");
    assert!(
        matches!(&e, Error::UnevenWeeks { line: 14, step: 7, gap: 1, week, .. } if week == "2021-03-09"),
        "{e}"
    );
    assert_names(&e, "uneven_weeks.csv", 14, "week");
}

#[test]
fn too_few_weeks() {
    let loaded = load_panel(&corpus("malformed/too_few_weeks.csv"), &spec()).unwrap();
    assert_eq!(loaded.panel.n_weeks(), 20);
    let e = loaded.check_weeks(13, 0, 26).unwrap_err();
    assert!(
        matches!(
            e,
            Error::TooFewWeeks {
                n_weeks: 20,
                needed: 39,
                ..
            }
        ),
        "{e}"
    );
    let msg = e.to_string();
    assert!(
        msg.contains("too_few_weeks.csv") && msg.contains("`week`"),
        "{msg}"
    );
    assert!(loaded.check_weeks(13, 0, 7).is_ok());
}

#[test]
fn constant_target() {
    let e = load_err("constant_target.csv");
    assert!(
        matches!(&e, Error::ConstantTarget { column, value, last_line: 91, .. } if column == "sales" && *value == 100.0),
        "{e}"
    );
    let msg = e.to_string();
    assert!(
        msg.contains("constant_target.csv") && msg.contains("`sales`"),
        "{msg}"
    );
}

#[test]
fn all_zero_channel_is_a_warning() {
    let loaded = load_panel(&corpus("malformed/all_zero_channel.csv"), &spec()).unwrap();
    assert!(
        loaded.report.warnings.contains(&Warning::AllZeroChannel {
            channel: "search".into()
        }),
        "{:?}",
        loaded.report.warnings
    );
    assert!(!loaded.report.warnings.contains(&Warning::AllZeroChannel {
        channel: "tv".into()
    }));
}

#[test]
fn ragged_row() {
    let e = load_err("ragged_row.csv");
    assert!(
        matches!(
            e,
            Error::RaggedRow {
                line: 6,
                expected: 7,
                found: 6,
                ..
            }
        ),
        "{e}"
    );
    assert_names(&e, "ragged_row.csv", 6, "");
}

#[test]
fn bad_week() {
    let e = load_err("bad_week.csv");
    assert!(
        matches!(&e, Error::BadWeek { line: 8, value, .. } if value == "week 8"),
        "{e}"
    );
    assert_names(&e, "bad_week.csv", 8, "week");
}

#[test]
fn empty_region() {
    let e = load_err("empty_region.csv");
    assert!(matches!(e, Error::EmptyRegion { line: 10, .. }), "{e}");
    assert_names(&e, "empty_region.csv", 10, "region");
}

#[test]
fn role_conflict_and_bad_spend_mapping() {
    let mut s = spec();
    s.controls = vec!["price".into(), "t*".into()];
    let e = load_panel(&corpus("good/unbalanced.csv"), &s).unwrap_err();
    assert!(
        matches!(&e, Error::RoleConflict { column, .. } if column == "tv"),
        "{e}"
    );
    let mut s = spec();
    s.spend = vec![("radio".into(), "tv_spend".into())];
    let e = load_panel(&corpus("good/unbalanced.csv"), &s).unwrap_err();
    assert!(matches!(e, Error::InvalidSpec(_)), "{e}");
    assert!(ColumnSpec::parse_spend_pairs(&["tv".into()]).is_err());
    assert_eq!(
        ColumnSpec::parse_spend_pairs(&["tv = tv_spend".into()]).unwrap(),
        vec![("tv".to_string(), "tv_spend".to_string())]
    );
}

#[test]
fn names_that_would_collide_in_contributions_are_refused() {
    let panel = |header: &str| {
        format!("region,week,sales,{header}\nr,2024-01-01,10,1,2\nr,2024-01-08,11,2,3\n")
    };
    let spec = |media: &[&str], controls: &[&str]| ColumnSpec {
        target: "sales".into(),
        media: media.iter().map(|s| s.to_string()).collect(),
        controls: controls.iter().map(|s| s.to_string()).collect(),
        region: Some("region".into()),
        time: "week".into(),
        spend: Vec::new(),
    };
    let path = Path::new("names.csv");
    for (header, media, controls, name) in [
        ("tv,baseline", &["tv", "baseline"][..], &[][..], "baseline"),
        ("tv,trend", &["tv"][..], &["trend"][..], "trend"),
        ("seasonality,tv", &["*"][..], &[][..], "seasonality"),
    ] {
        let e = parse_panel(path, panel(header).as_bytes(), &spec(media, controls)).unwrap_err();
        assert!(
            matches!(&e, Error::ComponentName { name: n, .. } if n == name),
            "{header}: {e}"
        );
        assert!(e.to_string().starts_with("names.csv: name `"), "{e}");
    }
    // An empty header picked up by a glob.
    let e = parse_panel(path, panel("tv,").as_bytes(), &spec(&["*"], &[])).unwrap_err();
    assert!(e.to_string().contains("a channel name is empty"), "{e}");
    // Any other Unicode is a name like any other.
    let loaded = parse_panel(path, panel("télé,検索 <b>").as_bytes(), &spec(&["*"], &[])).unwrap();
    assert_eq!(loaded.panel.channels, ["télé", "検索 <b>"]);
}

#[test]
fn missing_file_is_an_io_error() {
    let e = load_panel(Path::new("/nonexistent/panel.csv"), &spec()).unwrap_err();
    assert!(matches!(e, Error::Io { .. }), "{e}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let _ = parse_panel(Path::new("garbage.csv"), &bytes, &spec());
    }

    #[test]
    fn csv_like_garbage_never_panics(
        cells in proptest::collection::vec(
            prop_oneof![
                Just("north".to_string()), Just("2021-01-04".to_string()), Just("2021-01-11".to_string()),
                Just("3".to_string()), Just("-1".to_string()), Just("NaN".to_string()), Just("".to_string()),
                Just("\"".to_string()), Just("999999999999".to_string()), Just("1e308".to_string()),
                "[a-z0-9.-]{0,6}".prop_map(|s| s),
            ],
            0..80,
        ),
        width in 1usize..9,
    ) {
        let mut text = String::from("region,week,sales,tv,search,tv_spend,price\n");
        for (i, c) in cells.iter().enumerate() {
            text.push_str(c);
            text.push(if (i + 1) % width == 0 { '\n' } else { ',' });
        }
        let _ = parse_panel(Path::new("garbage.csv"), text.as_bytes(), &spec());
    }

    #[test]
    fn truncated_valid_file_never_panics(cut in 0usize..4000) {
        let bytes = std::fs::read(corpus("good/unbalanced.csv")).unwrap();
        let cut = cut.min(bytes.len());
        let _ = parse_panel(Path::new("truncated.csv"), &bytes[..cut], &spec());
    }
}
