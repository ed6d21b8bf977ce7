//! Decisions under uncertainty on a small simulated national panel: the parameter-draws file
//! (round trip, refusal of another fit's or a damaged file), curve bands and the
//! posterior-expected allocation — on constructed draws whose answers are known, and on draws of
//! a real NUTS posterior.

use mmm_analysis::{
    Bounds, CurveConfig, OptimizeConfig, ParameterDraws, WindowSpec, curve_bands, optimize,
    optimize_expected, response_curves,
};
use mmm_fitted::{FitConfig, FittedModel, TrainConfig};
use mmm_orchestrator::fit_panel;
use mmm_sim::{Scenario, simulate};
use std::sync::OnceLock;

fn fitted() -> &'static FittedModel {
    static F: OnceLock<FittedModel> = OnceLock::new();
    F.get_or_init(|| {
        let mut sc = Scenario::named("national").unwrap();
        sc.weeks = 80;
        let sim = simulate(&sc, 11).unwrap();
        let dir = std::env::temp_dir().join(format!("mmm-analysis-draws-{}", std::process::id()));
        sim.write(&dir).unwrap();
        let spec = sim.column_spec();
        let panel = mmm_data::load_panel(&dir.join("panel.csv"), &spec)
            .unwrap()
            .panel;
        let mut cfg = FitConfig {
            holdout_weeks: 8,
            ..FitConfig::default()
        };
        cfg.model.hidden = 4;
        cfg.train = TrainConfig {
            epochs: 60,
            validation_weeks: Some(6),
            ..TrainConfig::default()
        };
        let mut f = fit_panel(&panel, &spec, &cfg, &mut |_| {}).unwrap();
        f.run_id = "test-run".into();
        f
    })
}

/// Draws that multiply every channel's coefficient β_c by `factors[d]` (nothing else changes).
fn scaled_draws(fitted: &FittedModel, factors: &[f64]) -> ParameterDraws {
    let model = fitted.model().unwrap();
    let vectors: Vec<(usize, usize, Vec<f64>)> = factors
        .iter()
        .enumerate()
        .map(|(d, f)| {
            let mut p = fitted.params.clone();
            let mut s = model.structural(&p);
            s.beta.iter_mut().for_each(|b| *b *= f);
            model.set_structural(&mut p, &s);
            (0, d, p)
        })
        .collect();
    ParameterDraws::from_vectors(&fitted.run_id, &fitted.params, &vectors).unwrap()
}

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol * a.abs().max(b.abs()).max(1e-12)
}

const FACTORS: [f64; 5] = [0.5, 0.75, 1.0, 1.25, 1.5];

fn curve_config() -> CurveConfig {
    CurveConfig {
        window: WindowSpec::All,
        ..CurveConfig::default()
    }
}

/// The direct response is linear in β: with β scaled by factors of mean 1 the band's mean is the
/// point curve, and its quantiles are the factors' quantiles times the point curve.
#[test]
fn bands_of_scaled_coefficients_are_the_scaled_point_curve() {
    let fitted = fitted();
    let draws = scaled_draws(fitted, &FACTORS);
    assert_eq!(draws.len(), FACTORS.len());
    let cfg = curve_config();
    let point = response_curves(fitted, &cfg).unwrap();
    let bands = curve_bands(fitted, &draws, &cfg).unwrap();
    assert_eq!(bands.channels.len(), point.channels.len());
    // Quantiles of FACTORS (linear interpolation): 5 % → 0.55, 95 % → 1.45.
    for (b, p) in bands.channels.iter().zip(&point.channels) {
        assert_eq!(b.channel, p.channel);
        for (i, &y) in p.national.direct.iter().enumerate() {
            assert!(
                close(b.direct.mean[i], y, 1e-9),
                "{}: mean {} vs point {y}",
                b.channel,
                b.direct.mean[i]
            );
            assert!(close(b.direct.p05[i], 0.55 * y, 1e-9), "{}: p05", b.channel);
            assert!(close(b.direct.p95[i], 1.45 * y, 1e-9), "{}: p95", b.channel);
        }
        let roi = b.roi_direct.unwrap();
        let point_roi = p.national.roi_direct.unwrap();
        assert!(close(roi.mean, point_roi, 1e-9) && roi.holds(point_roi));
    }
}

/// With every β scaled by the same positive factor per draw, every draw ranks allocations as the
/// point fit does: the expected optimum is the point optimum, it beats the current split in every
/// draw (probability 1), and the mean lift is the point lift (factors of mean 1). With every
/// channel fixed the recommendation is the current split: it beats it in no draw (probability 0).
#[test]
fn probability_of_beating_the_current_split_in_constructed_cases() {
    let fitted = fitted();
    let cfg = OptimizeConfig {
        window: Some(WindowSpec::All),
        ..OptimizeConfig::default()
    };
    let point = optimize(fitted, &cfg).unwrap();
    assert!(point.lift > 0.0, "the point optimiser found no lift");
    let expected = optimize_expected(fitted, &scaled_draws(fitted, &FACTORS), &cfg).unwrap();
    let u = expected.posterior.as_ref().unwrap();
    assert_eq!(u.draws, FACTORS.len());
    assert_eq!(u.probability_beats_current, 1.0);
    assert!(
        close(u.lift.mean, point.lift, 1e-4),
        "lift {} vs {}",
        u.lift.mean,
        point.lift
    );
    assert!(u.lift.p05 > 0.0 && u.lift.p05 < u.lift.mean && u.lift.mean < u.lift.p95);
    for (name, c) in &expected.channels {
        let p = &point.channels[name];
        assert!(
            (c.recommended - p.recommended).abs() <= 1e-4 * expected.budget,
            "{name}: {} vs {}",
            c.recommended,
            p.recommended
        );
    }
    // The means reported beside the point fields are the posterior means.
    assert!(close(
        expected.outcome_recommended,
        u.outcome_recommended.mean,
        1e-9
    ));
    assert!(close(expected.lift, u.lift.mean, 1e-6));

    let fixed = OptimizeConfig {
        bounds: Bounds {
            lower: 1.0,
            upper: 1.0,
            ..Bounds::default()
        },
        ..cfg
    };
    let held = optimize_expected(fitted, &scaled_draws(fitted, &FACTORS), &fixed).unwrap();
    let u = held.posterior.unwrap();
    assert_eq!(u.probability_beats_current, 0.0);
    assert!(u.lift.mean.abs() <= 1e-9 * held.outcome_current.abs());
}

/// Draws equal to the point fit change nothing: the same curves and the same allocation.
#[test]
fn draws_equal_to_the_point_fit_reproduce_the_point_answers() {
    let fitted = fitted();
    let same = vec![(0, 0, fitted.params.clone()), (1, 0, fitted.params.clone())];
    let draws = ParameterDraws::from_vectors(&fitted.run_id, &fitted.params, &same).unwrap();
    assert!(draws.indices.is_empty());
    let cfg = OptimizeConfig::default();
    let point = optimize(fitted, &cfg).unwrap();
    let expected = optimize_expected(fitted, &draws, &cfg).unwrap();
    assert!(close(
        expected.outcome_recommended,
        point.outcome_recommended,
        1e-12
    ));
    assert!(close(expected.marginal_roi, point.marginal_roi, 1e-9));
}

#[test]
fn the_draws_file_round_trips_and_refuses_another_fit_or_damage() {
    let fitted = fitted();
    let draws = scaled_draws(fitted, &FACTORS);
    let dir = std::env::temp_dir().join(format!("mmm-analysis-drawsfile-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let model_path = dir.join("model.json");
    assert!(
        ParameterDraws::load_beside(&model_path, fitted)
            .unwrap()
            .is_none()
    );
    let path = ParameterDraws::path_beside(&model_path);
    draws.write(&path).unwrap();
    let back = ParameterDraws::load_beside(&model_path, fitted)
        .unwrap()
        .unwrap();
    assert_eq!(back, draws);
    // A draw's model has the draw's coefficients and the point fit's everything else.
    let model = fitted.model().unwrap();
    let m = draws.fitted(0, fitted);
    let (drawn, point) = (
        model.structural(&m.params),
        model.structural(&fitted.params),
    );
    for (b, b0) in drawn.beta.iter().zip(&point.beta) {
        assert!(close(*b, 0.5 * b0, 1e-12));
    }
    let mut rest = m.params.clone();
    model.set_structural(
        &mut rest,
        &mmm_model::Structural {
            beta: point.beta.clone(),
            ..drawn
        },
    );
    for (i, (v, v0)) in rest.iter().zip(&fitted.params).enumerate() {
        assert!(close(*v, *v0, 1e-12), "parameter {i}: {v} against {v0}");
    }

    let mut other = fitted.clone();
    other.run_id = "another-run".into();
    let e = ParameterDraws::load(&path, &other).unwrap_err().to_string();
    assert!(
        e.contains("posterior_draws.json") && e.contains("run_id"),
        "{e}"
    );

    let damage = |f: &dyn Fn(&mut serde_json::Value), want: &str| {
        let mut v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        f(&mut v);
        let bad = dir.join("bad.json");
        std::fs::write(&bad, v.to_string()).unwrap();
        let e = ParameterDraws::load(&bad, fitted).unwrap_err().to_string();
        assert!(e.contains(want), "expected `{want}` in: {e}");
    };
    damage(
        &|v| v["format"] = "x".into(),
        "not a dcmmm parameter-draws file",
    );
    damage(&|v| v["version"] = 99.into(), "version 99");
    damage(&|v| v["n_params"] = 3.into(), "n_params");
    damage(&|v| v["indices"][1] = 0.into(), "indices[1]: not ascending");
    damage(&|v| v["indices"][0] = 1_000_000.into(), "indices");
    damage(
        &|v| v["draws"][2]["values"] = serde_json::json!([1.0]),
        "draws[2].values",
    );
    damage(
        &|v| v["draws"][0]["values"][0] = serde_json::Value::Null,
        "draws",
    );
    damage(&|v| v["draws"] = serde_json::json!([]), "draws: empty");
    assert!(
        ParameterDraws::from_vectors("r", &[1.0, 2.0], &[(0, 0, vec![f64::NAN, 2.0])]).is_err()
    );
    assert!(ParameterDraws::from_vectors("r", &[1.0, 2.0], &[]).is_err());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn thinning_keeps_at_most_the_maximum_evenly_spaced_in_every_chain() {
    use mmm_analysis::draws::thinned;
    let kept = thinned(4, 1000, 200);
    assert_eq!(kept.len(), 200);
    assert_eq!(kept.iter().filter(|(c, _)| *c == 3).count(), 50);
    assert_eq!(&kept[..3], &[(0, 0), (0, 20), (0, 40)]);
    assert_eq!(thinned(2, 30, 200).len(), 60);
    assert_eq!(thinned(3, 7, 4).len(), 3 * 2);
}

/// A real posterior (NUTS, short chains): every curve band is ordered and holds its mean, and for
/// every channel the data determine (relative band width below 1 at the historical activity) the
/// band is relatively narrowest where the data are: wider at three times the historical activity
/// (beyond anything observed) and at a tenth of it than at the historical activity. (On this
/// panel two channels qualify, with widths 0.2 and 0.5 at ×1, 0.3 and 0.6 at ×3, 1.3 and 1.2 at
/// ×0.1; the other three have widths above 2 everywhere.) The expected allocation's probability
/// lies in [0, 1], its lift interval holds its mean, and its mean lift is not negative (the
/// current split is feasible).
#[test]
fn a_real_posterior_gives_ordered_bands_widest_beyond_the_data() {
    let fitted = fitted();
    let (model, init) =
        mmm_posterior::from_fitted(fitted, &mmm_posterior::BuildOptions::default()).unwrap();
    let settings = mmm_posterior::Settings {
        chains: 2,
        draws: 100,
        tune: 150,
        seed: 3,
        ..mmm_posterior::Settings::default()
    };
    let posterior = mmm_posterior::sample(&model, &init, &settings, &|_, _| {}).unwrap();
    let vectors: Vec<(usize, usize, Vec<f64>)> = mmm_analysis::draws::thinned(2, 100, 50)
        .into_iter()
        .map(|(c, d)| {
            let p = model
                .model_params(&posterior.draws[c][d], &fitted.params)
                .unwrap();
            (c, d, p)
        })
        .collect();
    let draws = ParameterDraws::from_vectors(&fitted.run_id, &fitted.params, &vectors).unwrap();
    assert_eq!(draws.len(), 50);
    let cfg = curve_config();
    let bands = curve_bands(fitted, &draws, &cfg).unwrap();
    let one = cfg.multipliers.iter().position(|&m| m == 1.0).unwrap();
    let last = cfg.multipliers.len() - 1;
    let mut determined = 0;
    for b in &bands.channels {
        for (i, _) in cfg.multipliers.iter().enumerate() {
            let d = &b.direct;
            assert!(
                d.p05[i] <= d.mean[i] && d.mean[i] <= d.p95[i],
                "{}: band at {i}",
                b.channel
            );
        }
        let width = |i: usize| (b.direct.p95[i] - b.direct.p05[i]) / b.direct.mean[i];
        if width(one) < 1.0 {
            determined += 1;
            assert!(
                width(last) > width(one) && width(1) > width(one),
                "{}: relative width {} at ×0.1, {} at ×1, {} at ×3",
                b.channel,
                width(1),
                width(one),
                width(last)
            );
        }
    }
    assert!(determined > 0, "no channel is determined by the data");
    let alloc = optimize_expected(fitted, &draws, &OptimizeConfig::default()).unwrap();
    let u = alloc.posterior.unwrap();
    assert!((0.0..=1.0).contains(&u.probability_beats_current));
    assert!(u.lift.p05 <= u.lift.mean && u.lift.mean <= u.lift.p95);
    assert!(u.lift.mean >= -1e-9 * alloc.outcome_current.abs());
}
