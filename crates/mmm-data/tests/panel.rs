//! Loading valid panels (unbalanced regional, national with integer weeks): masking, filling,
//! the report, the summary, and the scalers' formulas and round trips.

use approx::assert_relative_eq;
use mmm_data::{
    ColumnSpec, ControlScaler, DataSummary, Error, MediaScaler, TargetScaler, TimeSplit, Warning,
    Week, days_from_civil, load_panel,
};
use ndarray::Array3;
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

#[test]
fn unbalanced_panel_is_masked_not_zero_filled() {
    let loaded = load_panel(&corpus("good/unbalanced.csv"), &spec()).unwrap();
    let p = &loaded.panel;
    assert_eq!(p.regions, ["north", "south", "east"]);
    assert_eq!(
        (p.n_regions(), p.n_weeks(), p.n_channels(), p.n_controls()),
        (3, 45, 2, 1)
    );
    assert_eq!(p.weeks[0], Week::Date(days_from_civil(2021, 1, 4)));
    assert_eq!(p.weeks[44].to_string(), "2021-11-08");
    // east starts at week 5; south misses weeks 10 and 11.
    let east = 2;
    assert!((0..5).all(|t| !p.observed[[east, t]]) && (5..45).all(|t| p.observed[[east, t]]));
    assert!(!p.observed[[1, 10]] && !p.observed[[1, 11]] && p.observed[[1, 12]]);
    assert_eq!(p.n_observed(), 135 - 7);
    assert_eq!(loaded.report.missing_region_weeks, 7);
    assert_eq!(loaded.report.late_start_regions, ["east"]);
    // Target NaN, media and spend 0 where unobserved; controls filled within the region.
    assert!(p.target[[east, 0]].is_nan() && p.target[[1, 10]].is_nan());
    assert_eq!(p.media[[1, 10, 1]], 0.0);
    assert_eq!(p.spend.as_ref().unwrap()[[1, 10, 0]], 0.0);
    assert_eq!(p.controls_data[[1, 10, 0]], p.controls_data[[1, 9, 0]]); // forward fill
    assert_eq!(p.controls_data[[1, 11, 0]], p.controls_data[[1, 9, 0]]);
    assert_eq!(p.controls_data[[east, 0, 0]], p.controls_data[[east, 5, 0]]); // back fill
    assert!(p.controls_data.iter().all(|v| v.is_finite()));
    // Spend: tv from tv_spend (= tv / 100), search falls back to its media column.
    let sp = p.spend.as_ref().unwrap();
    assert_relative_eq!(
        sp[[0, 1, 0]],
        p.media[[0, 1, 0]] * 0.01,
        max_relative = 1e-3
    );
    assert_eq!(sp[[0, 1, 1]], p.media[[0, 1, 1]]);
    // The negative target cell on line 5 is kept, with a warning.
    assert_eq!(p.target[[0, 3]], -12.5);
    assert!(loaded.report.warnings.contains(&Warning::NegativeTarget {
        count: 1,
        first_line: 5
    }));
    assert!(
        loaded
            .report
            .actions
            .iter()
            .any(|a| a.contains("7 region-week(s)"))
    );
}

#[test]
fn national_panel_with_integer_weeks_and_auto_time() {
    let spec = ColumnSpec {
        target: "sales".into(),
        media: vec!["tv".into(), "s*".into()],
        controls: vec![],
        region: None,
        time: String::new(),
        spend: vec![],
    };
    let loaded = load_panel(&corpus("good/national.csv"), &spec).unwrap();
    let p = &loaded.panel;
    assert_eq!(p.regions, ["national"]);
    assert_eq!(p.channels, ["tv", "search"]);
    assert_eq!(p.n_weeks(), 60);
    assert_eq!(loaded.report.time_column, "week");
    assert!(p.spend.is_none());
    assert_eq!(p.weeks[59], Week::Index(59));
    assert_relative_eq!(p.year_fraction(26), 26.0 / 52.1775, epsilon = 1e-12);
    assert_eq!(loaded.report.missing_region_weeks, 0);
    // `s*` also matches the target `sales`, which the glob skips; an explicit name conflicts.
    let mut conflicting = spec.clone();
    conflicting.media = vec!["tv".into(), "sales".into()];
    let e = load_panel(&corpus("good/national.csv"), &conflicting).unwrap_err();
    assert!(
        matches!(&e, Error::RoleConflict { column, .. } if column == "sales"),
        "{e}"
    );
}

#[test]
fn summary_reports_totals_zero_shares_and_collinearity() {
    let loaded = load_panel(&corpus("good/unbalanced.csv"), &spec()).unwrap();
    let s = DataSummary::new(&loaded);
    let p = &loaded.panel;
    assert_eq!((s.regions, s.weeks, s.missing_region_weeks), (3, 45, 7));
    let tv_total: f64 = p.media.index_axis(ndarray::Axis(2), 0).sum();
    assert_relative_eq!(s.channels[0].activity_total, tv_total, max_relative = 1e-12);
    assert_relative_eq!(
        s.channels[0].spend_total,
        tv_total * 0.01,
        max_relative = 1e-3
    );
    // tv is 0 every 4th week (t % 4 == 0).
    let zero = (0..3)
        .flat_map(|r| (0..45).map(move |t| (r, t)))
        .filter(|&(r, t)| p.observed[[r, t]] && t % 4 == 0)
        .count();
    assert_relative_eq!(
        s.channels[0].zero_week_share,
        zero as f64 / 128.0,
        epsilon = 1e-12
    );
    // tv_spend is not a channel; tv and search are independent draws: no collinear pair.
    assert!(s.collinear.is_empty(), "{:?}", s.collinear);
    assert!(s.controls[0].min > 9.0 && s.controls[0].max < 11.0);
    assert!(s.to_text().contains("missing region-weeks: 7"));

    // Same file with tv_spend as a second channel: perfectly collinear with tv.
    let mut sp = spec();
    sp.media.push("tv_spend".into());
    sp.spend.clear();
    let s = DataSummary::new(&load_panel(&corpus("good/unbalanced.csv"), &sp).unwrap());
    assert_eq!(s.collinear.len(), 1);
    assert!(s.collinear[0].corr > 0.999);
    assert!(s.warnings.iter().any(|w| w.contains("collinear")));
}

#[test]
fn scalers_follow_their_formulas_and_round_trip() {
    let p = load_panel(&corpus("good/unbalanced.csv"), &spec())
        .unwrap()
        .panel;
    let split = TimeSplit::new(p.n_weeks(), 5, 3, 10).unwrap();
    let ts = TargetScaler::fit(&p, split.train.clone()).unwrap();
    for r in 0..3 {
        let obs: Vec<f64> = split
            .train
            .clone()
            .filter(|&t| p.observed[[r, t]])
            .map(|t| p.target[[r, t]])
            .collect();
        assert_relative_eq!(
            ts.means[r],
            obs.iter().sum::<f64>() / obs.len() as f64,
            max_relative = 1e-12
        );
    }
    let y = ts.transform(&p.target);
    assert!(y[[2, 0]].is_nan());
    let back = ts.inverse(&y);
    assert_relative_eq!(back[[0, 7]], p.target[[0, 7]], max_relative = 1e-12);

    let ms = MediaScaler::fit(&p, split.train.clone()).unwrap();
    let avg = ts.means.iter().sum::<f64>() / 3.0;
    for r in 0..3 {
        assert_relative_eq!(ms.size[r], ts.means[r] / avg, max_relative = 1e-12);
    }
    let x = ms.transform(&p.media);
    // Mean over observed training region-weeks of x / size_r / m_c is 1 per channel.
    for c in 0..2 {
        let (mut s, mut n) = (0.0, 0);
        for r in 0..3 {
            for t in split.train.clone() {
                if p.observed[[r, t]] {
                    s += x[[r, t, c]];
                    n += 1;
                }
            }
        }
        assert_relative_eq!(s / n as f64, 1.0, max_relative = 1e-12);
    }
    assert_relative_eq!(
        ms.inverse(&x)[[1, 3, 1]],
        p.media[[1, 3, 1]],
        max_relative = 1e-12
    );
    assert!(ms.degenerate.is_empty());

    let cs = ControlScaler::fit(&p, split.train.clone());
    let z = cs.transform(&p.controls_data);
    let mut v: Vec<f64> = (0..3)
        .flat_map(|r| split.train.clone().map(move |t| (r, t)))
        .filter(|&(r, t)| p.observed[[r, t]])
        .map(|(r, t)| z[[r, t, 0]])
        .collect();
    v.sort_by(f64::total_cmp);
    let q = |q: f64| {
        let pos = q * (v.len() - 1) as f64;
        let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
        v[lo] + (v[hi] - v[lo]) * (pos - lo as f64)
    };
    assert_relative_eq!(q(0.5), 0.0, epsilon = 1e-9);
    assert_relative_eq!(q(0.75) - q(0.25), 1.349, max_relative = 1e-9);
    assert_relative_eq!(
        cs.inverse(&z)[[2, 4, 0]],
        p.controls_data[[2, 4, 0]],
        max_relative = 1e-12
    );
    // Serialisable round trips (the model stores the scalers).
    // (serde_json without `float_roundtrip` may differ in the last bit.)
    let back: ControlScaler = serde_json::from_str(&serde_json::to_string(&cs).unwrap()).unwrap();
    assert_relative_eq!(back.scale[0], cs.scale[0], max_relative = 1e-15);
    assert_relative_eq!(back.center[0], cs.center[0], max_relative = 1e-15);
    let back: MediaScaler = serde_json::from_str(&serde_json::to_string(&ms).unwrap()).unwrap();
    assert_relative_eq!(
        back.channel_means[1],
        ms.channel_means[1],
        max_relative = 1e-15
    );
    assert_relative_eq!(back.size[2], ms.size[2], max_relative = 1e-15);
    let back: TargetScaler = serde_json::from_str(&serde_json::to_string(&ts).unwrap()).unwrap();
    assert_relative_eq!(back.means[1], ts.means[1], max_relative = 1e-15);
}

#[test]
fn degenerate_scaling_cases() {
    let mut p = load_panel(&corpus("malformed/all_zero_channel.csv"), &spec())
        .unwrap()
        .panel;
    let ms = MediaScaler::fit(&p, 0..20).unwrap();
    assert_eq!(ms.degenerate, [1]);
    assert_eq!(ms.channel_means[1], 1.0);
    // Constant control: IQR and std are 0, scale falls back to 1.
    p.controls_data.fill(3.0);
    let cs = ControlScaler::fit(&p, 0..20);
    assert_eq!((cs.center[0], cs.scale[0]), (3.0, 1.0));
    // A region with a non-positive mean target is named.
    p.target.row_mut(1).mapv_inplace(|v| -v);
    let e = TargetScaler::fit(&p, 0..20).unwrap_err();
    assert!(
        matches!(&e, Error::NonPositiveRegionMean { region, .. } if region == "south"),
        "{e}"
    );
    assert!(e.to_string().contains("south"));
    // Not trained, the same region gets the pooled training mean of the trained ones instead; a
    // region with a positive mean keeps its own.
    let trained: Vec<bool> = (0..p.n_regions()).map(|r| r != 1).collect();
    let ts = TargetScaler::fit_trained(&p, 0..20, &trained).unwrap();
    let cells: Vec<f64> = (0..p.n_regions())
        .filter(|&r| r != 1)
        .flat_map(|r| (0..20).map(move |t| (r, t)))
        .filter(|&(r, t)| p.observed[[r, t]])
        .map(|(r, t)| p.target[[r, t]])
        .collect();
    assert_relative_eq!(
        ts.means[1],
        cells.iter().sum::<f64>() / cells.len() as f64,
        max_relative = 1e-12
    );
    let all = TargetScaler::fit_trained(&p, 0..20, &vec![false; p.n_regions()]).unwrap_err();
    assert!(
        all.to_string().contains("all trained regions pooled"),
        "{all}"
    );
    // With a positive mean, an untrained region keeps its own.
    p.target.row_mut(1).mapv_inplace(|v| -v);
    let own = TargetScaler::fit(&p, 0..20).unwrap();
    let ts = TargetScaler::fit_trained(&p, 0..20, &trained).unwrap();
    assert_eq!(ts.means, own.means);
    let _: Array3<f64> = ms.transform(&p.media);
}
