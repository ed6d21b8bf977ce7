//! End-to-end fit tests on a small synthetic panel: outputs line up, `model.json` round-trips,
//! files of another version are refused with a clear message.

use crate::stability::restart_config;
use crate::{assess_stability, fit_panel};
use mmm_data::{ColumnSpec, Panel, Week};
use mmm_fitted::{FitConfig, FittedModel, MODEL_VERSION, Spread, TrainConfig};
use mmm_testkit::seeded_uniform;
use mmm_transforms::TransformRegistry;
use ndarray::{Array2, Array3};

/// `r_n` regions × `t_n` weeks, two channels and one control, the target linear in them; region 0
/// starts a week late.
pub(crate) fn panel(r_n: usize, t_n: usize) -> Panel {
    let media = Array3::from_shape_vec((r_n, t_n, 2), seeded_uniform(1, r_n * t_n * 2, 0.0, 100.0))
        .unwrap();
    let controls =
        Array3::from_shape_vec((r_n, t_n, 1), seeded_uniform(2, r_n * t_n, 5.0, 10.0)).unwrap();
    let noise = seeded_uniform(3, r_n * t_n, -1.0, 1.0);
    let mut target = Array2::from_shape_fn((r_n, t_n), |(r, t)| {
        let size = 1.0 + r as f64;
        size * (100.0 + 0.2 * media[[r, t, 0]] + 0.1 * media[[r, t, 1]] - 2.0 * controls[[r, t, 0]]
            + noise[r * t_n + t])
    });
    let mut observed = Array2::from_elem((r_n, t_n), true);
    target[[0, 0]] = f64::NAN; // region 0 starts a week late
    observed[[0, 0]] = false;
    Panel {
        regions: (0..r_n).map(|r| format!("r{r}")).collect(),
        weeks: (0..t_n).map(|t| Week::Index(t as i64)).collect(),
        channels: vec!["tv".into(), "search".into()],
        controls: vec!["price".into()],
        target,
        media,
        spend: None,
        controls_data: controls,
        observed,
    }
}

/// A small, fast fit configuration for tests (8 holdout weeks, hidden size 4, 40 epochs).
pub(crate) fn quick_config() -> FitConfig {
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
    cfg
}

#[test]
fn fit_predict_decompose_and_round_trip() {
    let p = panel(3, 60);
    let spec = ColumnSpec {
        target: "sales".into(),
        ..ColumnSpec::default()
    };
    let fitted = fit_panel(&p, &spec, &quick_config(), &mut |_| {}).unwrap();
    assert_eq!(fitted.split.holdout, 52..60);
    let (pred, d) = fitted.predict(&p).unwrap();
    let total = d.baseline.clone()
        + &d.trend
        + &d.seasonality
        + d.controls.sum_axis(ndarray::Axis(0))
        + d.channels.sum_axis(ndarray::Axis(0));
    let gap = (&total - &pred)
        .mapv(f64::abs)
        .fold(0.0f64, |m, v| m.max(*v));
    assert!(
        gap < 1e-9 * pred.mapv(f64::abs).sum(),
        "decomposition gap {gap}"
    );

    let direct: Vec<f64> = (0..2)
        .map(|c| d.channels.index_axis(ndarray::Axis(0), c).sum())
        .collect();
    let total_eff = fitted.total_contributions(&p).unwrap();
    for c in 0..2 {
        // Without DAG edges into other channels, the total effect is the direct contribution.
        let has_children = fitted.dag.weights[c].iter().any(|&w| w != 0.0);
        if !has_children {
            assert!(
                (total_eff[c] - direct[c]).abs() <= 1e-9 * direct[c].abs().max(1.0),
                "{} vs {}",
                total_eff[c],
                direct[c]
            );
        }
    }

    let dir = std::env::temp_dir().join(format!("dcmmm-fit-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("model.json");
    fitted.save(&path).unwrap();
    let back = FittedModel::load(&path).unwrap();
    assert_eq!(back.params, fitted.params);
    let (pred2, _) = back.predict(&back.history_panel().unwrap()).unwrap();
    assert_eq!(pred2, pred);

    // Another version is refused, naming both versions.
    let text = std::fs::read_to_string(&path).unwrap().replacen(
        &format!("\"version\":{MODEL_VERSION}"),
        "\"version\":999",
        1,
    );
    std::fs::write(&path, text).unwrap();
    let err = FittedModel::load(&path).unwrap_err().to_string();
    assert!(
        err.contains("999") && err.contains(&MODEL_VERSION.to_string()),
        "{err}"
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn contribution_slopes_match_a_finite_difference() {
    let p = panel(2, 50);
    let spec = ColumnSpec::default();
    let fitted = fit_panel(&p, &spec, &quick_config(), &mut |_| {}).unwrap();
    let slopes = fitted.contribution_slopes(&p).unwrap();
    assert_eq!(slopes.len(), 2);
    for (c, &slope) in slopes.iter().enumerate() {
        let at = |m: f64| {
            let mut q = p.clone();
            q.media
                .index_axis_mut(ndarray::Axis(2), c)
                .mapv_inplace(|v| v * m);
            fitted
                .predict(&q)
                .unwrap()
                .1
                .channels
                .index_axis(ndarray::Axis(0), c)
                .sum()
        };
        let h = 1e-4;
        let fd = (at(1.0 + h) - at(1.0 - h)) / (2.0 * h);
        assert!(
            (fd - slope).abs() <= 1e-5 * fd.abs().max(1e-9),
            "channel {c}: {slope} vs {fd}"
        );
    }
}

#[test]
fn automatic_validation_slice_grows_for_few_regions_and_is_recorded() {
    let auto = TrainConfig::default();
    assert_eq!(auto.validation_weeks, None);
    // ≥ 100 region-weeks where the panel allows, within 8..=13 weeks.
    for (regions, weeks) in [
        (1, 13),
        (7, 13),
        (8, 13),
        (9, 12),
        (10, 10),
        (13, 8),
        (190, 8),
    ] {
        assert_eq!(
            auto.validation_weeks_for(regions),
            weeks,
            "{regions} regions"
        );
    }
    let fixed = TrainConfig {
        validation_weeks: Some(0),
        ..TrainConfig::default()
    };
    assert_eq!(fixed.validation_weeks_for(1), 0);

    let mut cfg = quick_config();
    cfg.train.validation_weeks = None;
    let spec = ColumnSpec {
        target: "sales".into(),
        ..ColumnSpec::default()
    };
    let fitted = fit_panel(&panel(2, 60), &spec, &cfg, &mut |_| {}).unwrap();
    assert_eq!(fitted.config.train.validation_weeks, Some(13));
    assert_eq!(fitted.split.validation, 39..52);
}

#[test]
fn caveats_follow_the_regions_and_the_training() {
    let spec = ColumnSpec {
        target: "sales".into(),
        ..ColumnSpec::default()
    };
    let mut cfg = quick_config();
    cfg.train.epochs = 5;
    // (number of caveats, whether decisions get the hint to fit to convergence)
    let caveats = |regions: usize, cfg: &FitConfig| {
        let fitted = fit_panel(&panel(regions, 40), &spec, cfg, &mut |_| {}).unwrap();
        (fitted.caveats().len(), fitted.decision_hint().is_some())
    };
    assert_eq!(caveats(2, &cfg), (0, true));
    assert_eq!(caveats(1, &cfg), (1, false), "one region");
    // A two-stage fit's media part does not depend on training: no hint.
    let mut two_stage = cfg.clone();
    two_stage.model.media_fit = mmm_model::MediaFit::Screen;
    let fitted = fit_panel(
        &panel(crate::SCREEN_MIN_REGIONS, 40),
        &spec,
        &two_stage,
        &mut |_| {},
    )
    .unwrap();
    assert!(fitted.screened_media.as_ref().is_some_and(|m| m.used));
    assert_eq!((fitted.caveats().len(), fitted.decision_hint()), (0, None));
    cfg.train = cfg.train.converged();
    assert_eq!(caveats(2, &cfg), (1, false), "converged");
    assert_eq!(caveats(1, &cfg), (3, false), "one region, converged");
}

#[test]
fn channel_summaries_add_up() {
    let mut p = panel(2, 40);
    // Spend differs from the media column: ROI is per unit of spend.
    p.spend = Some(p.media.mapv(|x| 2.0 * x + 1.0));
    let fitted = fit_panel(&p, &ColumnSpec::default(), &quick_config(), &mut |_| {}).unwrap();
    let (_, d) = fitted.predict(&p).unwrap();
    let s = fitted.channel_summaries(&p, &d).unwrap();
    assert_eq!(s.len(), 2);
    assert!((s.iter().map(|c| c.share).sum::<f64>() - 1.0).abs() < 1e-12);
    let effects = fitted.total_effects(&p).unwrap();
    for (c, cs) in s.iter().enumerate() {
        // Every sum runs over the observed region-weeks (region 0's first week is not).
        let total: f64 = effects
            .index_axis(ndarray::Axis(0), c)
            .indexed_iter()
            .filter(|(i, _)| p.observed[*i])
            .map(|(_, v)| v)
            .sum();
        let direct: f64 = d
            .channels
            .index_axis(ndarray::Axis(0), c)
            .indexed_iter()
            .filter(|(i, _)| p.observed[*i])
            .map(|(_, v)| v)
            .sum();
        let spend: f64 = p
            .spend
            .as_ref()
            .unwrap()
            .index_axis(ndarray::Axis(2), c)
            .indexed_iter()
            .filter(|((r, t), _)| p.observed[[*r, *t]])
            .map(|(_, v)| v)
            .sum();
        assert!((cs.contribution - direct).abs() <= 1e-9 * direct.abs());
        assert!((cs.spend - spend).abs() <= 1e-9 * spend);
        assert!((cs.roi.unwrap() - direct / spend).abs() <= 1e-12);
        assert!((cs.total_contribution - total).abs() <= 1e-9 * total.abs());
        assert!(cs.mroi.unwrap() > 0.0 && cs.mroi.unwrap() < cs.roi.unwrap() * 1.0001);
    }
}

#[test]
fn restart_configs_are_deterministic_random_starts() {
    let base = quick_config();
    let a = restart_config(&base, 5, 1);
    assert_eq!(a, restart_config(&base, 5, 1));
    let b = restart_config(&base, 5, 2);
    assert_ne!(a.model.initial_media_split, b.model.initial_media_split);
    for (k, cfg) in [(1, &a), (2, &b)] {
        assert_eq!(cfg.train.seed, base.train.seed + k);
        let split = cfg.model.initial_media_split.as_ref().unwrap();
        assert_eq!(split.len(), 5);
        assert!(split.iter().all(|w| *w > 0.0));
        let share = cfg.model.initial_media_share;
        assert!((0.1..=0.4).contains(&share), "{share}");
        cfg.model.validate().unwrap();
        // Everything else is the base configuration.
        let mut same = cfg.clone();
        same.train.seed = base.train.seed;
        same.model.initial_media_share = base.model.initial_media_share;
        same.model.initial_media_split = None;
        assert_eq!(same, base);
    }
}

#[test]
fn stability_reports_every_fit_and_its_spread() {
    let p = panel(2, 40);
    let spec = ColumnSpec::default();
    let cfg = quick_config();
    let fitted = fit_panel(&p, &spec, &cfg, &mut |_| {}).unwrap();
    let mut seen = Vec::new();
    let st = assess_stability(&p, &spec, &cfg, &fitted, 2, &mut |k, _| {
        if seen.last() != Some(&k) {
            seen.push(k);
        }
    })
    .unwrap();
    assert_eq!(seen, vec![1, 2]);
    assert_eq!(st.fits.len(), 3);
    // The first entry is the configured fit itself.
    let (_, d) = fitted.predict(&p).unwrap();
    assert_eq!(
        st.fits[0].channels,
        fitted.channel_summaries(&p, &d).unwrap()
    );
    assert_eq!(st.fits[0].start.media_split, vec![0.5, 0.5]);
    for (k, fit) in st.fits.iter().enumerate().skip(1) {
        let cfg_k = restart_config(&cfg, 2, k);
        assert_eq!(fit.start.seed, cfg_k.train.seed);
        assert_eq!(fit.start.media_share, cfg_k.model.initial_media_share);
        assert!((fit.start.media_split.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        assert!(fit.best_validation_loss.unwrap().is_finite());
    }
    // Different starts end at different splits (the panel cannot pin them down in 40 epochs).
    assert_ne!(st.fits[0].channels[0].share, st.fits[1].channels[0].share);
    for (c, ch) in st.channels.iter().enumerate() {
        let shares: Vec<f64> = st.fits.iter().map(|f| f.channels[c].share).collect();
        assert!(shares.iter().all(|s| ch.share.contains(*s)));
        assert!(shares.contains(&ch.share.min) && shares.contains(&ch.share.max));
        assert!(shares.contains(&ch.share.median));
        assert!(ch.roi.is_some() && ch.mroi.is_some());
    }
    // Same inputs, same answer.
    let again = assess_stability(&p, &spec, &cfg, &fitted, 2, &mut |_, _| {}).unwrap();
    assert_eq!(again, st);
    // A fit of another panel is refused.
    let other = panel(3, 40);
    assert!(assess_stability(&other, &spec, &cfg, &fitted, 1, &mut |_, _| {}).is_err());
}

#[test]
fn a_two_stage_fit_restarts_on_bootstrap_resamples_of_the_regions() {
    let n = crate::SCREEN_MIN_REGIONS;
    let p = panel(n, 40);
    let spec = ColumnSpec::default();
    let mut cfg = quick_config();
    cfg.train.epochs = 5;
    cfg.model.media_fit = mmm_model::MediaFit::Screen;
    let fitted = fit_panel(&p, &spec, &cfg, &mut |_| {}).unwrap();
    let media = |f: &FittedModel| f.screened_media.clone().unwrap();
    assert!(media(&fitted).used);
    // The sample "every region once" is the plain fit; a resample moves the media part.
    let screened = |sample: &[usize]| {
        crate::fit::fit_panel_screening(
            &p,
            &spec,
            &cfg,
            &TransformRegistry::with_builtins(),
            Some(sample),
            &mut |_| {},
        )
        .map(|f| media(&f))
    };
    let all: Vec<usize> = (0..n).collect();
    assert_eq!(screened(&all).unwrap(), media(&fitted));
    let resample = crate::stability::bootstrap_regions(n, 7);
    assert_eq!(resample, crate::stability::bootstrap_regions(n, 7));
    assert!(resample.iter().all(|&r| r < n));
    assert!(
        (1..n).any(|i| resample[i..].contains(&resample[i - 1])),
        "no repeat"
    );
    assert_ne!(screened(&resample).unwrap().effects, media(&fitted).effects);
    assert!(screened(&[0, n]).is_err(), "a region outside the panel");

    let st = assess_stability(&p, &spec, &cfg, &fitted, 2, &mut |_, _| {}).unwrap();
    assert_eq!(st.fits[0].screen_regions, None);
    for (k, fit) in st.fits.iter().enumerate().skip(1) {
        let sample = crate::stability::bootstrap_regions(n, restart_config(&cfg, 2, k).train.seed);
        let names: Vec<String> = sample.iter().map(|&r| p.regions[r].clone()).collect();
        assert_eq!(fit.screen_regions.as_ref(), Some(&names));
        assert_ne!(fit.channels[0].share, st.fits[0].channels[0].share);
    }
    assert!(st.refits_described().contains("bootstrap"));
    let joint = assess_stability(
        &panel(2, 40),
        &spec,
        &cfg,
        &fit_panel(&panel(2, 40), &spec, &cfg, &mut |_| {}).unwrap(),
        1,
        &mut |_, _| {},
    )
    .unwrap();
    assert!(joint.fits.iter().all(|f| f.screen_regions.is_none()));
    assert!(joint.refits_described().contains("random starting splits"));
}

#[test]
fn spread_is_min_median_max() {
    let s = Spread::of([Some(3.0), Some(1.0), Some(2.0)]).unwrap();
    assert_eq!((s.min, s.median, s.max), (1.0, 2.0, 3.0));
    let s = Spread::of([Some(4.0), Some(1.0), Some(2.0), Some(10.0)]).unwrap();
    assert_eq!((s.min, s.median, s.max), (1.0, 3.0, 10.0));
    assert!(s.contains(1.0) && s.contains(10.0) && !s.contains(10.5));
    assert!(Spread::of([Some(1.0), None]).is_none());
    assert!(Spread::of([Some(1.0), Some(f64::NAN)]).is_none());
    assert!(Spread::of(std::iter::empty()).is_none());
}

fn lift(channel: &str, start: i64, end: i64, lift: f64, se: f64) -> mmm_fitted::LiftTestSpec {
    mmm_fitted::LiftTestSpec {
        channel: channel.into(),
        start: mmm_fitted::Label::Index(start),
        end: mmm_fitted::Label::Index(end),
        regions: Vec::new(),
        lift,
        se,
        multiplier: None,
        measured_until: None,
    }
}

/// A test of search over weeks 10..=29 of every region; with a multiplier, a heavy-up or
/// scale-down test.
fn search_test(lift_: f64, se: f64, multiplier: Option<f64>) -> mmm_fitted::LiftTestSpec {
    mmm_fitted::LiftTestSpec {
        multiplier,
        ..lift("search", 10, 29, lift_, se)
    }
}

/// An uncalibrated fit's answer (> 0) to [`search_test`].
fn search_answer(fitted: &FittedModel, p: &Panel, multiplier: Option<f64>) -> f64 {
    let mut probe = fitted.clone();
    probe.config.lift_tests = vec![search_test(0.0, 1.0, multiplier)];
    let answer = probe.lift_test_checks(p).unwrap()[0].model;
    assert!(answer > 0.0);
    answer
}

#[test]
fn a_heavy_up_test_asks_the_model_for_the_difference_the_extra_spend_made() {
    let p = panel(3, 60);
    let spec = ColumnSpec::default();
    let mut cfg = quick_config();
    cfg.train.epochs = 5;
    let fitted = fit_panel(&p, &spec, &cfg, &mut |_| {}).unwrap();
    let search = |p: &Panel| {
        fitted
            .predict(p)
            .unwrap()
            .1
            .channels
            .index_axis(ndarray::Axis(0), 1)
            .to_owned()
    };
    for m in [1.5, 0.5] {
        // The data ran m times the usual spend in weeks 10..=29; the usual is the data ÷ m.
        let mut usual = p.clone();
        usual
            .media
            .slice_mut(ndarray::s![.., 10..=29, 1])
            .mapv_inplace(|x| x / m);
        let difference = search(&p) - search(&usual);
        // Measured from the first tested week to the last week of the data (carryover counts).
        let expected = difference.slice(ndarray::s![.., 10..]).sum();
        assert!(difference.slice(ndarray::s![.., 30..]).sum().abs() > 0.0);
        let mut probe = fitted.clone();
        probe.config.lift_tests = vec![search_test(0.0, 1.0, Some(m))];
        let answer = probe.lift_test_checks(&p).unwrap()[0].model;
        assert_eq!(answer > 0.0, m > 1.0, "×{m}: {answer}");
        assert!(
            (answer - expected).abs() <= 1e-9 * expected.abs(),
            "×{m}: {answer} vs {expected}"
        );
    }
    // A read-out that ends earlier (`measured_until`) counts the difference up to that week.
    let mut usual = p.clone();
    usual
        .media
        .slice_mut(ndarray::s![.., 10..=29, 1])
        .mapv_inplace(|x| x / 0.5);
    let difference = search(&p) - search(&usual);
    let expected = difference.slice(ndarray::s![.., 10..=35]).sum();
    assert!(
        (expected - difference.slice(ndarray::s![.., 10..]).sum()).abs() > 1e-6 * expected.abs()
    );
    let mut probe = fitted.clone();
    probe.config.lift_tests = vec![mmm_fitted::LiftTestSpec {
        measured_until: Some(mmm_fitted::Label::Index(35)),
        ..search_test(0.0, 1.0, Some(0.5))
    }];
    let answer = probe.lift_test_checks(&p).unwrap()[0].model;
    assert!(
        (answer - expected).abs() <= 1e-9 * expected.abs(),
        "read to week 35: {answer} vs {expected}"
    );
    // It cannot end before the test, and a test of the contribution is read over its own weeks.
    for (multiplier, until, says) in [
        (Some(0.5), 20, "before end week"),
        (None, 35, "is for a test at another spend level"),
    ] {
        let mut cfg = cfg.clone();
        cfg.lift_tests = vec![mmm_fitted::LiftTestSpec {
            measured_until: Some(mmm_fitted::Label::Index(until)),
            ..search_test(10.0, 1.0, multiplier)
        }];
        let err = fit_panel(&p, &spec, &cfg, &mut |_| {})
            .unwrap_err()
            .to_string();
        assert!(err.contains("lift_test 1") && err.contains(says), "{err}");
    }
    // A lift on the side the model cannot reach is flagged as a likely sign error.
    for (lift_, multiplier, flagged) in [
        (5.0, Some(0.5), true),
        (1.5, Some(0.5), false),
        (-5.0, Some(0.5), false),
        (-5.0, Some(1.5), true),
        (-5.0, None, true),
        (-1.5, None, false),
        (5.0, None, false),
    ] {
        let warning = search_test(lift_, 1.0, multiplier).sign_warning();
        assert_eq!(
            warning.is_some(),
            flagged,
            "{lift_} ×{multiplier:?}: {warning:?}"
        );
        if let Some(w) = warning {
            assert!(
                w.contains("`search`") && w.contains("5.0 standard errors"),
                "{w}"
            );
        }
    }
    // A multiplier must say how the spend differed from the usual.
    for bad in [1.0, 0.0, -2.0, f64::NAN] {
        let mut cfg = cfg.clone();
        cfg.lift_tests = vec![search_test(10.0, 1.0, Some(bad))];
        let err = fit_panel(&p, &spec, &cfg, &mut |_| {})
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("lift_test 1") && err.contains("`multiplier`"),
            "{err}"
        );
    }
}

#[test]
fn a_lift_test_pulls_the_channel_contribution_to_the_experiment() {
    let p = panel(3, 60);
    let spec = ColumnSpec::default();
    let mut cfg = quick_config();
    cfg.train.epochs = 150;
    let plain = fit_panel(&p, &spec, &cfg, &mut |_| {}).unwrap();
    // Tell the model the truth was twice its answer, measured with a 2 % standard error: a
    // contribution test, and a heavy-up test that ran 1.5 times the usual spend.
    let mut calibrated = None;
    for multiplier in [Some(1.5), None] {
        let before = search_answer(&plain, &p, multiplier);
        let target = 2.0 * before;
        cfg.lift_tests = vec![search_test(target, 0.02 * target, multiplier)];
        let fitted = fit_panel(&p, &spec, &cfg, &mut |_| {}).unwrap();
        let check = &fitted.lift_test_checks(&p).unwrap()[0];
        assert!(
            (check.model - target).abs() < 0.2 * (target - before),
            "×{multiplier:?}: before {before}, lift {target}, calibrated {}",
            check.model
        );
        assert!((check.z - (check.model - target) / (0.02 * target)).abs() < 1e-12);
        calibrated = Some(fitted);
    }
    let calibrated = calibrated.unwrap();
    // The fit itself stays about as good.
    let r2 = |f: &FittedModel| {
        let (pred, _) = f.predict(&p).unwrap();
        mmm_fitted::Scorecard::compute(f, &p, &pred)
            .unwrap()
            .train
            .r2_pooled
    };
    assert!(r2(&calibrated) > r2(&plain) - 0.05);
    // The tests are stored with the model and survive a round trip.
    let dir = std::env::temp_dir().join(format!("dcmmm-lift-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    calibrated.save(&dir.join("model.json")).unwrap();
    let back = FittedModel::load(&dir.join("model.json")).unwrap();
    assert_eq!(back.config.lift_tests, cfg.lift_tests);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_two_stage_fit_takes_lift_tests_into_its_media_screen() {
    let p = panel(crate::SCREEN_MIN_REGIONS, 60);
    let spec = ColumnSpec::default();
    let mut cfg = quick_config();
    cfg.train.epochs = 5;
    let plain = fit_panel(&p, &spec, &cfg, &mut |_| {}).unwrap();
    // A contribution test and a heavy-up test that ran 1.5 times the usual spend, each saying
    // the answer is twice the plain fit's.
    for multiplier in [None, Some(1.5)] {
        let before = search_answer(&plain, &p, multiplier);
        let target = 2.0 * before;
        let calibrated_with = |se: f64| {
            let mut cfg = cfg.clone();
            cfg.lift_tests = vec![search_test(target, se * target, multiplier)];
            let fitted = fit_panel(&p, &spec, &cfg, &mut |_| {}).unwrap();
            assert!(fitted.screened_media.as_ref().is_some_and(|m| m.used));
            fitted.lift_test_checks(&p).unwrap()[0].model
        };
        // A precise experiment is matched; a vague one moves the answer less, but toward it.
        let (precise, vague) = (calibrated_with(0.001), calibrated_with(1.0));
        assert!(
            (precise - target).abs() < 0.02 * target,
            "×{multiplier:?}: {before} → {precise}, lift {target}"
        );
        assert!(
            before < vague && vague < precise,
            "×{multiplier:?}: {before} → {vague} / {precise}"
        );
    }
}

#[test]
fn lift_tests_that_do_not_match_the_panel_are_named() {
    let spec = ColumnSpec::default();
    let mut with_region = lift("tv", 1, 5, 10.0, 1.0);
    with_region.regions = vec![
        mmm_fitted::Label::Text("r1".into()),
        mmm_fitted::Label::Index(9),
    ];
    let mut silent = panel(2, 40);
    for r in 0..2 {
        for t in 20..=25 {
            silent.media[[r, t, 1]] = 0.0;
        }
    }
    for (test, msg) in [
        (
            lift("radio", 1, 5, 10.0, 1.0),
            "`radio` is not a media channel",
        ),
        (lift("tv", 1, 99, 10.0, 1.0), "end week `99` is not a week"),
        (lift("tv", 5, 1, 10.0, 1.0), "is before start week"),
        (lift("tv", 1, 5, 10.0, 0.0), "`se` finite and > 0"),
        (with_region, "region `9` is not in the panel"),
        (
            lift("search", 20, 25, 10.0, 1.0),
            "`search` has no activity",
        ),
    ] {
        let mut cfg = quick_config();
        cfg.lift_tests = vec![lift("tv", 1, 5, 10.0, 1.0), test];
        let err = fit_panel(&silent, &spec, &cfg, &mut |_| {})
            .unwrap_err()
            .to_string();
        assert!(err.contains("lift_test 2") && err.contains(msg), "{err}");
    }
}

#[test]
fn noise_variance_recovers_white_noise() {
    // A smooth seasonal signal plus Gaussian white noise of σ = 0.05 in 20 regions × 100 weeks
    // (Box–Muller from seeded uniforms).
    let (r_n, t_n) = (20, 100);
    let u1 = seeded_uniform(17, r_n * t_n, 1e-12, 1.0);
    let u2 = seeded_uniform(18, r_n * t_n, 0.0, 1.0);
    let target = Array2::from_shape_fn((r_n, t_n), |(r, t)| {
        let i = r * t_n + t;
        let z = (-2.0 * u1[i].ln()).sqrt() * (2.0 * std::f64::consts::PI * u2[i]).cos();
        1.0 + 0.2 * (t as f64 * 2.0 * std::f64::consts::PI / 52.0).sin() + 0.05 * z
    });
    let inputs = mmm_model::ModelInputs::new(
        &Array3::zeros((r_n, t_n, 1)),
        &Array3::zeros((r_n, t_n, 0)),
        &target,
        &Array2::from_elem((r_n, t_n), true),
        &vec![0.0; t_n],
        t_n - 1,
        1,
    )
    .unwrap();
    let w = inputs.loss_weights(0..t_n, &vec![1.0; r_n]).unwrap();
    let s2 = crate::calibration::noise_variance(&inputs, &w).unwrap();
    let sigma = s2.sqrt();
    // 1 960 second differences: the MAD estimate's standard error is ≈ 3 %.
    assert!((sigma / 0.05 - 1.0).abs() < 0.1, "σ̂ = {sigma}");
    // Too few consecutive weeks (one region, 3 weeks: one triple): no estimate.
    let one_region: Vec<f64> = (0..r_n).map(|r| if r == 0 { 1.0 } else { 0.0 }).collect();
    let w3 = inputs.loss_weights(0..3, &one_region).unwrap();
    assert!(crate::calibration::noise_variance(&inputs, &w3).is_none());
}

/// `SCREEN_MIN_REGIONS` regions × 90 weeks whose target is linear in each channel's
/// Weibull-adstocked activity (tv: k 3, λ 2.3; search: k 1, λ 0.5), and that target per unit of
/// region size.
fn flighted_panel() -> (Panel, Array2<f64>) {
    use mmm_transforms::{Adstock, WeibullAdstock};
    // Activity on/off in bursts, proportional to region size; the target is linear in each
    // channel's Weibull-adstocked activity: a delayed peak for tv, a short decay for search.
    let (r_n, t_n) = (crate::SCREEN_MIN_REGIONS, 90);
    let on = seeded_uniform(4, r_n * t_n * 2, 0.0, 1.0);
    let level = seeded_uniform(5, r_n * t_n * 2, 0.0, 2.0);
    let unit = Array3::from_shape_fn((r_n, t_n, 2), |(r, t, c)| {
        let i = (r * t_n + t) * 2 + c;
        if on[i] < 0.5 { 0.0 } else { level[i] }
    });
    let mut p = panel(r_n, t_n);
    let truth = FLIGHTED_KERNELS;
    let mut target = Array2::from_shape_fn((r_n, t_n), |(r, t)| {
        100.0 - 2.0 * p.controls_data[[r, t, 0]]
    });
    for (c, &(k, l)) in truth.iter().enumerate() {
        let x = unit.index_axis(ndarray::Axis(2), c).to_owned();
        let mut a = Array2::zeros((r_n, t_n));
        WeibullAdstock::default().forward(
            &WeibullAdstock::params_for(k, l),
            x.view(),
            a.view_mut(),
        );
        target.scaled_add(20.0, &a);
    }
    for r in 0..r_n {
        let size = 1.0 + r as f64;
        p.target.row_mut(r).assign(&(&target.row(r) * size));
        for c in 0..2 {
            for t in 0..t_n {
                p.media[[r, t, c]] = size * unit[[r, t, c]];
            }
        }
    }
    p.target[[0, 0]] = f64::NAN;
    (p, target)
}

/// The kernels `[k, λ]` of [`flighted_panel`].
const FLIGHTED_KERNELS: [(f64, f64); 2] = [(3.0, 2.3), (1.0, 0.5)];

#[test]
fn a_two_stage_fit_takes_its_media_part_from_the_screen_and_a_joint_fit_starts_its_kernels_there() {
    use mmm_model::{KernelStart, MediaFit};
    use mmm_transforms::WeibullAdstock;
    let (p, target) = flighted_panel();
    let (r_n, truth) = (crate::SCREEN_MIN_REGIONS, FLIGHTED_KERNELS);
    let spec = ColumnSpec::default();
    let expected: Vec<[f64; 2]> = truth.iter().map(|&(k, l)| [k, l]).collect();
    // Two stages: training leaves the media part as the media screen chose it (what the screen
    // chooses is tested in mmm-linear; this target is linear in the adstocked activity, so a
    // Hill curve and a different kernel can fit search's short decay equally well).
    let mut two_stage = quick_config();
    two_stage.model.media_fit = MediaFit::Screen;
    let fitted = fit_panel(&p, &spec, &two_stage, &mut |_| {}).unwrap();
    assert!(fitted.path.is_none(), "one path trained");
    let media = fitted.screened_media.clone().expect("screened");
    assert!(media.used && media.media_share < crate::MAX_SCREENED_MEDIA_SHARE);
    assert_eq!(fitted.kernel_start, None);
    let model = fitted.model().unwrap();
    let beta = model.media_coefficients(&fitted.params);
    assert_eq!(beta.len(), 2);
    for (c, b) in beta.into_iter().enumerate() {
        let [k, lam] = media.kernels[c];
        assert_eq!(
            model.adstock_params(&fitted.params, c),
            &WeibullAdstock::params_for(k, lam)[..]
        );
        let [half, slope] = media.curves[c];
        assert_eq!(
            model.saturation_params(&fitted.params, c),
            &mmm_transforms::Hill::params_for(half, slope)[..]
        );
        assert!((b - media.effects[c]).abs() < 1e-9 * media.effects[c].max(1e-3));
    }
    assert!(
        model
            .structural(&fitted.params)
            .eta
            .iter()
            .all(|v| *v == 0.0)
    );
    // Both channels are flighted and strong: the data show their effects clearly.
    assert_eq!(media.evidence.len(), 2);
    assert!(
        media.evidence.iter().all(|e| e.effect > 100.0),
        "{:?}",
        media.evidence
    );
    let json = serde_json::to_string(&fitted).unwrap();
    let back: FittedModel = serde_json::from_str(&json).unwrap();
    assert_eq!(back.screened_media, fitted.screened_media);
    // A model saved before the evidence was recorded still loads, with none.
    let mut old: serde_json::Value = serde_json::from_str(&json).unwrap();
    old["screened_media"]
        .as_object_mut()
        .unwrap()
        .remove("evidence");
    let back: FittedModel = serde_json::from_value(old).unwrap();
    assert!(back.screened_media.unwrap().evidence.is_empty());
    // A media part that would explain most of the target is not believed: the fit runs jointly.
    let mut heavy = p.clone();
    for r in 0..r_n {
        let size = 1.0 + r as f64;
        heavy
            .target
            .row_mut(r)
            .assign(&((&target.row(r) - 95.0) * size));
    }
    heavy.target[[0, 0]] = f64::NAN;
    let fitted = fit_panel(&heavy, &spec, &quick_config(), &mut |_| {}).unwrap();
    let media = fitted.screened_media.clone().expect("screened");
    assert!(
        !media.used && media.media_share >= crate::MAX_SCREENED_MEDIA_SHARE,
        "{media:?}"
    );
    assert!(fitted.kernel_start.is_some());
    // Fitted jointly, every kernel starts where the kernel screen finds it.
    let mut joint = quick_config();
    joint.model.media_fit = MediaFit::Joint;
    let fitted = fit_panel(&p, &spec, &joint, &mut |_| {}).unwrap();
    assert_eq!(fitted.screened_media, None);
    assert_eq!(fitted.kernel_start.as_deref(), Some(expected.as_slice()));
    // Recorded in model.json.
    let json = serde_json::to_string(&fitted).unwrap();
    let back: FittedModel = serde_json::from_str(&json).unwrap();
    assert_eq!(back.kernel_start, fitted.kernel_start);
    // Asked to start at the geometric special case, it does not screen; nor with one region
    // fewer than the screen needs.
    let mut cfg = joint.clone();
    cfg.model.kernel_start = KernelStart::Geometric;
    let plain = fit_panel(&p, &spec, &cfg, &mut |_| {}).unwrap();
    assert_eq!(plain.kernel_start, None);
    let mut fewer = p.clone();
    fewer.regions.pop();
    fewer.target = p.target.slice(ndarray::s![..r_n - 1, ..]).to_owned();
    fewer.observed = p.observed.slice(ndarray::s![..r_n - 1, ..]).to_owned();
    fewer.media = p.media.slice(ndarray::s![..r_n - 1, .., ..]).to_owned();
    fewer.controls_data = p
        .controls_data
        .slice(ndarray::s![..r_n - 1, .., ..])
        .to_owned();
    for cfg in [quick_config(), joint] {
        let few = fit_panel(&fewer, &spec, &cfg, &mut |_| {}).unwrap();
        assert_eq!((few.kernel_start, few.screened_media), (None, None));
    }
    let value = serde_json::to_value(&plain).unwrap();
    assert!(value.get("kernel_start").is_none());
    assert_eq!(value["config"]["model"]["kernel_start"], "geometric");
}

#[test]
fn a_channel_is_undetermined_when_its_effect_is_unclear_or_many_shapes_fit_alike() {
    let clear = mmm_linear::Evidence {
        effect: 500.0,
        kernel: 40.0,
        curve: 12.0,
        kernels_alike: 1,
        curves_alike: 2,
    };
    let grid = mmm_linear::MediaScreen::new();
    let (kernels, curves) = (grid.kernels.len(), grid.curves.len());
    let evidence = vec![
        clear,
        mmm_linear::Evidence {
            effect: 8.9,
            ..clear
        },
        mmm_linear::Evidence {
            kernels_alike: kernels.div_ceil(4),
            ..clear
        },
        mmm_linear::Evidence {
            curves_alike: curves.div_ceil(4),
            ..clear
        },
        mmm_linear::Evidence {
            effect: 9.0,
            kernels_alike: kernels.div_ceil(4) - 1,
            curves_alike: curves.div_ceil(4) - 1,
            ..clear
        },
    ];
    let media = mmm_fitted::ScreenedMedia {
        kernels: vec![[1.0, 1.2]; 5],
        curves: vec![[1.0, 1.0]; 5],
        effects: vec![0.1; 5],
        media_share: 0.2,
        used: true,
        evidence,
    };
    assert_eq!(media.undetermined(), vec![1, 2, 3]);
    // No evidence recorded (an older model.json): nothing is flagged.
    let older = mmm_fitted::ScreenedMedia {
        evidence: Vec::new(),
        ..media
    };
    assert!(older.undetermined().is_empty());
}

/// `p` with region `r` first observed in week `start` (a new market).
pub(crate) fn starting_late(mut p: Panel, r: usize, start: usize) -> Panel {
    for t in 0..start {
        p.observed[[r, t]] = false;
        p.target[[r, t]] = f64::NAN;
    }
    p
}

#[test]
fn a_region_that_starts_in_the_holdout_is_left_out_and_forecast_at_the_pooled_level() {
    // Region 2 starts in week 55, inside the holdout (52..60): no training week.
    let p = starting_late(panel(3, 60), 2, 55);
    let fitted = fit_panel(&p, &ColumnSpec::default(), &quick_config(), &mut |_| {}).unwrap();
    assert_eq!(fitted.left_out, vec!["r2".to_string()]);
    let note = fitted.left_out_note().unwrap();
    assert!(note.contains("r2") && note.contains("pooled"), "{note}");
    // Its level is the pooled training mean of the trained regions (the baselines' fallback).
    let pooled = {
        let cells: Vec<f64> = (0..2)
            .flat_map(|r| (0..52).map(move |t| (r, t)))
            .filter(|&(r, t)| p.observed[[r, t]])
            .map(|(r, t)| p.target[[r, t]])
            .collect();
        cells.iter().sum::<f64>() / cells.len() as f64
    };
    assert!((fitted.target_scaler.means[2] - pooled).abs() < 1e-9 * pooled);
    let (pred, _) = fitted.predict(&p).unwrap();
    assert!(pred.iter().all(|v| v.is_finite()), "every cell is forecast");
    // The holdout forecast of the new region sits near the pooled level, not at zero.
    let mean: f64 = (55..60).map(|t| pred[[2, t]]).sum::<f64>() / 5.0;
    assert!((mean / pooled - 1.0).abs() < 0.5, "{mean} against {pooled}");
    let card = mmm_fitted::Scorecard::compute(&fitted, &p, &pred).unwrap();
    assert!(card.holdout.unwrap().r2_pooled.is_finite());
}

#[test]
fn a_region_with_too_few_training_weeks_is_left_out_at_its_own_level() {
    // Region 1 starts in week 40: 6 observed weeks before the validation slice (46..52).
    let p = starting_late(panel(3, 60), 1, 40);
    let fitted = fit_panel(&p, &ColumnSpec::default(), &quick_config(), &mut |_| {}).unwrap();
    assert_eq!(fitted.left_out, vec!["r1".to_string()]);
    let own = (40..52).map(|t| p.target[[1, t]]).sum::<f64>() / 12.0;
    assert!((fitted.target_scaler.means[1] - own).abs() < 1e-9 * own);
    // Left out of training: no loss cell reaches its level, which stays where it starts (1 on
    // the scaled target, i.e. its own training mean).
    let base = fitted.model().unwrap().structural(&fitted.params).base;
    assert_eq!(base[1], 1.0);
    assert_ne!(base[0], 1.0);
    // With every region trained nothing is left out.
    let full = fit_panel(
        &panel(3, 60),
        &ColumnSpec::default(),
        &quick_config(),
        &mut |_| {},
    );
    assert!(full.unwrap().left_out.is_empty());
}

#[test]
fn a_panel_without_any_trainable_region_is_an_error_not_a_panic() {
    let p = starting_late(starting_late(panel(2, 60), 0, 50), 1, 50);
    let e = fit_panel(&p, &ColumnSpec::default(), &quick_config(), &mut |_| {}).unwrap_err();
    assert!(
        matches!(e, crate::Error::NoTrainableRegion { needed: 13 }),
        "{e}"
    );
}

#[test]
fn the_default_trains_both_media_paths_and_keeps_the_one_that_forecasts_validation_better() {
    use mmm_model::MediaFit;
    let (p, _) = flighted_panel();
    let spec = ColumnSpec::default();
    let fitted = fit_panel(&p, &spec, &quick_config(), &mut |_| {}).unwrap();
    let choice = fitted.path.clone().expect("both paths trained");
    let paths: Vec<&str> = choice.scores.iter().map(|s| s.path.as_str()).collect();
    assert_eq!(paths, ["two-stage", "joint"]);
    let loss = |i: usize| choice.scores[i].validation_loss.unwrap();
    let kept = if loss(0) <= loss(1) {
        "two-stage"
    } else {
        "joint"
    };
    assert_eq!(choice.chosen, kept);
    assert!(choice.margin().unwrap() >= 0.0);
    assert!(choice.describe().contains(kept), "{}", choice.describe());
    // The kept fit is exactly the fit of that path alone.
    let mut forced = quick_config();
    forced.model.media_fit = if kept == "joint" {
        MediaFit::Joint
    } else {
        MediaFit::Screen
    };
    let alone = fit_panel(&p, &spec, &forced, &mut |_| {}).unwrap();
    assert_eq!(alone.params, fitted.params);
    assert_eq!(
        fitted.screened_media.as_ref().is_some_and(|m| m.used),
        kept == "two-stage"
    );
    // The validation score is the kept path's, beside the three naive baselines.
    let v = fitted.validation.clone().expect("validated");
    assert_eq!(v.baselines.len(), 3);
    let i = paths.iter().position(|&q| q == kept).unwrap();
    assert_eq!(
        choice.scores[i].validation.as_ref().unwrap().model.wmape,
        v.model.wmape
    );
    // 6 validation weeks × 10 regions, every cell observed.
    assert_eq!(v.model.n, 60);
    let card = {
        let (pred, _) = fitted.predict(&p).unwrap();
        mmm_fitted::Scorecard::compute(&fitted, &p, &pred).unwrap()
    };
    let json = serde_json::to_value(&card).unwrap();
    assert_eq!(json["path"]["chosen"], kept);
    assert!(json["warnings"].is_array());
}

#[test]
fn the_self_check_warns_of_a_first_epoch_stop_and_of_a_validation_forecast_behind_the_baseline() {
    let fitted = fit_panel(
        &panel(3, 60),
        &ColumnSpec::default(),
        &quick_config(),
        &mut |_| {},
    )
    .unwrap();
    let mut f = fitted.clone();
    f.best_epochs = 1;
    let v = f.validation.as_mut().unwrap();
    let best_within = v
        .baselines
        .iter()
        .map(|b| b.holdout.r2_within)
        .fold(f64::NEG_INFINITY, f64::max);
    let best_wmape = v
        .baselines
        .iter()
        .map(|b| b.holdout.wmape)
        .fold(f64::INFINITY, f64::min);
    // Better than every baseline on both: only the first-epoch stop is reported.
    v.model.r2_within = best_within + 0.1;
    v.model.wmape = 0.5 * best_wmape;
    let w = f.self_check();
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(w[0].contains("stopped at epoch 1"), "{w:?}");
    // Behind the best baseline on within-region R² only: a second warning naming both numbers.
    f.best_epochs = 20;
    let v = f.validation.as_mut().unwrap();
    v.model.r2_within = best_within - 0.5;
    let w = f.self_check();
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(
        w[0].contains("worse than a naive per-region baseline"),
        "{w:?}"
    );
    assert!(w[0].contains(&format!("{:.3}", best_within - 0.5)), "{w:?}");
    // Behind on wMAPE only.
    let v = f.validation.as_mut().unwrap();
    v.model.r2_within = best_within + 0.1;
    v.model.wmape = 2.0 * best_wmape;
    assert_eq!(f.self_check().len(), 1);
    // A fit trained to convergence (no validation) is not said to stop at its first epoch.
    let mut converged = quick_config();
    converged.train = converged.train.converged();
    converged.train.epochs = 1;
    let c = fit_panel(
        &panel(3, 60),
        &ColumnSpec::default(),
        &converged,
        &mut |_| {},
    )
    .unwrap();
    assert!(c.validation.is_none() && c.self_check().is_empty());
    // What the fit found is what it recorded.
    assert_eq!(fitted.warnings, fitted.self_check());
}

/// A model.json written before the saturation was named (no `config.model.saturation`) loads
/// with Hill, the transform it was fitted with, and predicts as before; a name the registry lacks
/// is refused at `config.model`.
#[test]
fn model_files_without_a_saturation_name_load_with_hill() {
    let p = panel(3, 60);
    let fitted = fit_panel(&p, &ColumnSpec::default(), &quick_config(), &mut |_| {}).unwrap();
    let dir = std::env::temp_dir().join(format!("dcmmm-old-model-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("model.json");
    fitted.save(&path).unwrap();
    let mut json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let model = json["config"]["model"].as_object_mut().unwrap();
    assert_eq!(model.remove("saturation"), Some("hill".into()));
    std::fs::write(&path, json.to_string()).unwrap();
    let old = FittedModel::load(&path).unwrap();
    assert_eq!(old.config.model.saturation, "hill");
    let history = p.clone();
    assert_eq!(
        old.predict(&history).unwrap().0,
        fitted.predict(&history).unwrap().0
    );

    json["config"]["model"]["saturation"] = "tanh".into();
    std::fs::write(&path, json.to_string()).unwrap();
    let err = FittedModel::load(&path).unwrap_err().to_string();
    assert!(
        err.contains("config.model") && err.contains("unknown saturation `tanh`"),
        "{err}"
    );
    std::fs::remove_dir_all(&dir).ok();
}

/// The two-stage fit exists for Weibull with Hill only: asked for explicitly with other
/// transforms it is an error; under `auto` the fit runs jointly and says why.
#[test]
fn transforms_without_a_screen_fit_jointly_with_a_note_or_refuse_the_screen() {
    let p = panel(12, 60);
    let mut cfg = quick_config();
    cfg.model.adstock = mmm_transforms::GeometricAdstock::NAME.into();
    cfg.model.media_fit = mmm_model::MediaFit::Screen;
    let err = fit_panel(&p, &ColumnSpec::default(), &cfg, &mut |_| {}).unwrap_err();
    assert!(
        matches!(&err, crate::Error::TwoStageTransforms { adstock, saturation }
            if adstock == "geometric" && saturation == "hill"),
        "{err}"
    );
    cfg.model.adstock = mmm_transforms::WeibullAdstock::NAME.into();
    cfg.model.saturation = mmm_transforms::Logistic::NAME.into();
    cfg.model.media_fit = mmm_model::MediaFit::Auto;
    let fitted = fit_panel(&p, &ColumnSpec::default(), &cfg, &mut |_| {}).unwrap();
    assert!(fitted.screened_media.is_none() && fitted.path.is_none());
    assert!(
        fitted
            .warnings
            .iter()
            .any(|w| w.contains("`weibull` and `logistic`")),
        "{:?}",
        fitted.warnings
    );
    assert_eq!(fitted.model().unwrap().saturation(0).name(), "logistic");
    // The default transforms get no such note.
    let plain = fit_panel(&p, &ColumnSpec::default(), &quick_config(), &mut |_| {}).unwrap();
    assert!(!plain.warnings.iter().any(|w| w.contains("closed forms")));
}
