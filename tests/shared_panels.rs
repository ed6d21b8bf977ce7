//! Loads every panel under `../shared/data` that has a region × week or national weekly shape, with
//! the right column flags (from each directory's SOURCE.md), and checks its shape. Skips, with a
//! message, when the shared directory is absent. `meridian_simulated/hypothetical_geo_all_channels.csv`
//! is left out: it is a future flighting plan without a KPI column.

use dcmmm_tests::shared_data_dir;
use mmm_data::{ColumnSpec, DataSummary, load_panel};

struct Case {
    file: &'static str,
    spec: ColumnSpec,
    /// (regions, calendar weeks, channels, controls)
    shape: (usize, usize, usize, usize),
    /// Region-weeks absent from the file.
    missing: usize,
}

fn s(v: &[&str]) -> Vec<String> {
    v.iter().map(|x| x.to_string()).collect()
}

fn spec(
    target: &str,
    media: &[&str],
    controls: &[&str],
    region: Option<&str>,
    time: &str,
) -> ColumnSpec {
    ColumnSpec {
        target: target.into(),
        media: s(media),
        controls: s(controls),
        region: region.map(Into::into),
        time: time.into(),
        spend: vec![],
    }
}

fn meridian_spend(n: usize) -> Vec<(String, String)> {
    (0..n)
        .map(|c| {
            (
                format!("Channel{c}_impression"),
                format!("Channel{c}_spend"),
            )
        })
        .collect()
}

fn cases() -> Vec<Case> {
    let imp = ["Channel?_impression"];
    let ctl = ["*_control"];
    let mut v = vec![
        Case {
            file: "deepcausalmmm_real/mmm_data.csv",
            spec: spec(
                "target_visits",
                &["impressions_*"],
                &["control_*"],
                Some("dmacode"),
                "weekid",
            ),
            shape: (190, 109, 13, 7),
            missing: 190 * 109 - 20370,
        },
        Case {
            file: "meridian_simulated/geo_all_channels.csv",
            spec: ColumnSpec {
                spend: meridian_spend(5),
                ..spec(
                    "conversions",
                    &imp,
                    &["*_control", "Promo"],
                    Some("geo"),
                    "time",
                )
            },
            shape: (40, 156, 5, 3),
            missing: 0,
        },
        Case {
            file: "meridian_simulated/geo_media.csv",
            spec: ColumnSpec {
                spend: meridian_spend(4),
                ..spec("conversions", &imp, &ctl, Some("geo"), "time")
            },
            shape: (20, 156, 4, 2),
            missing: 0,
        },
        Case {
            file: "meridian_simulated/geo_media_rf.csv",
            spec: ColumnSpec {
                spend: meridian_spend(4),
                ..spec("conversions", &imp, &ctl, Some("geo"), "time")
            },
            shape: (20, 156, 4, 2),
            missing: 0,
        },
        Case {
            file: "meridian_simulated/geo_full_funnel_data.csv",
            spec: spec("conversions", &["*_impression"], &ctl, Some("geo"), "time"),
            shape: (20, 156, 3, 2),
            missing: 0,
        },
        Case {
            file: "meridian_simulated/national_all_channels.csv",
            spec: ColumnSpec {
                spend: meridian_spend(5),
                ..spec("conversions", &imp, &["*_control", "Promo"], None, "")
            },
            shape: (1, 156, 5, 3),
            missing: 0,
        },
        Case {
            file: "pymc_marketing_example/mmm_example.csv",
            spec: spec("y", &["x1", "x2"], &["event_*"], None, "date_week"),
            shape: (1, 179, 2, 2),
            missing: 0,
        },
        Case {
            file: "pymc_marketing_multidim/mmm_multidimensional_example.csv",
            spec: spec("y", &["x1", "x2"], &["event_*"], Some("geo"), ""),
            shape: (2, 159, 2, 2),
            missing: 0,
        },
        Case {
            file: "pymc_marketing_roas_confounded/mmm_roas_data.csv",
            spec: spec("y", &["x1", "x2"], &[], None, "date"),
            shape: (1, 131, 2, 0),
            missing: 0,
        },
        Case {
            file: "pymc_marketing_tvp/media_tvp_data.csv",
            spec: spec(
                "y",
                &["x1", "x2"],
                &["event_1", "event_2"],
                None,
                "date_week",
            ),
            shape: (1, 179, 2, 2),
            missing: 0,
        },
        Case {
            file: "robyn_simulated_weekly/dt_simulated_weekly.csv",
            spec: spec(
                "revenue",
                &["tv_S", "ooh_S", "print_S", "facebook_S", "search_S"],
                &["competitor_sales_B", "newsletter"],
                None,
                "DATE",
            ),
            shape: (1, 208, 5, 2),
            missing: 0,
        },
        Case {
            file: "sibylhe_mmm_stan_real/case_study_data.csv",
            spec: ColumnSpec {
                spend: [
                    "dm", "inst", "nsp", "auddig", "audtr", "vidtr", "viddig", "so", "on", "sem",
                ]
                .iter()
                .map(|c| (format!("mdip_{c}"), format!("mdsp_{c}")))
                .collect(),
                ..spec(
                    "sales",
                    &["mdip_*"],
                    &["me_*", "st_ct", "mrkdn_*", "hldy_*"],
                    None,
                    "wk_strt_dt",
                )
            },
            shape: (1, 209, 13, 0), // controls counted below
            missing: 0,
        },
    ];
    // national_media*.csv: 4 channels with spend, 2 controls.
    for f in [
        "meridian_simulated/national_media.csv",
        "meridian_simulated/national_media_rf.csv",
    ] {
        v.push(Case {
            file: f,
            spec: ColumnSpec {
                spend: meridian_spend(4),
                ..spec("conversions", &imp, &ctl, None, "time")
            },
            shape: (1, 156, 4, 2),
            missing: 0,
        });
    }
    v
}

#[test]
fn every_shared_panel_loads() {
    let Some(dir) = shared_data_dir() else { return };
    let mut loaded_any = 0;
    for case in cases() {
        let path = dir.join(case.file);
        if !path.exists() {
            eprintln!("skipping {}: not present", path.display());
            continue;
        }
        let loaded = load_panel(&path, &case.spec).unwrap_or_else(|e| panic!("{}: {e}", case.file));
        let p = &loaded.panel;
        let (r, w, c, x) = case.shape;
        assert_eq!(
            (p.n_regions(), p.n_weeks(), p.n_channels()),
            (r, w, c),
            "{}",
            case.file
        );
        if case.file.starts_with("sibylhe") {
            assert!(
                p.n_controls() > 20,
                "{}: {} controls",
                case.file,
                p.n_controls()
            );
            assert_eq!(p.spend.as_ref().map(|s| s.dim()), Some((1, 209, 13)));
        } else {
            assert_eq!(p.n_controls(), x, "{}", case.file);
        }
        assert_eq!(
            loaded.report.missing_region_weeks, case.missing,
            "{}",
            case.file
        );
        assert_eq!(p.n_observed(), r * w - case.missing, "{}", case.file);
        assert!(p.media.iter().all(|v| v.is_finite() && *v >= 0.0));
        assert!(p.controls_data.iter().all(|v| v.is_finite()));
        let summary = DataSummary::new(&loaded);
        assert_eq!(summary.weeks, w);
        loaded_any += 1;
    }
    assert!(
        loaded_any > 0,
        "no shared panel found under {}",
        dir.display()
    );
}

#[test]
fn reference_panel_is_unbalanced_and_masked() {
    let Some(dir) = shared_data_dir() else { return };
    let path = dir.join("deepcausalmmm_real/mmm_data.csv");
    if !path.exists() {
        eprintln!("skipping: {} not present", path.display());
        return;
    }
    let case = cases().remove(0);
    let loaded = load_panel(&path, &case.spec).unwrap();
    let p = &loaded.panel;
    // 184 DMAs observe all 109 weeks (SOURCE.md); of the other 6, three start late (744 at week
    // 37, 518 at 28, 801 at 80) and three end early (766 after 65, 509 after 13, 734 after 51).
    let full = (0..190)
        .filter(|&r| (0..109).all(|t| p.observed[[r, t]]))
        .count();
    assert_eq!(full, 184);
    let mut late = loaded.report.late_start_regions.clone();
    late.sort();
    assert_eq!(late, ["518", "744", "801"]);
    let r509 = p.regions.iter().position(|r| r == "509").unwrap();
    assert!((0..14).all(|t| p.observed[[r509, t]]) && (14..109).all(|t| !p.observed[[r509, t]]));
    assert_eq!(p.media[[r509, 50, 0]], 0.0);
    assert_eq!(
        p.controls_data[[r509, 50, 0]],
        p.controls_data[[r509, 13, 0]]
    );
    for r in 0..190 {
        for t in 0..109 {
            assert_eq!(p.target[[r, t]].is_nan(), !p.observed[[r, t]]);
        }
    }
    assert_eq!(p.weeks[0].to_string(), "0");
    assert_eq!(p.weeks[108].to_string(), "108");
}
