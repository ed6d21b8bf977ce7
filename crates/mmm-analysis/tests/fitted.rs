//! Consistency with the fitted model itself on a small simulated national panel: the response
//! surface reproduces the model's predictions and slopes; curves, the optimiser, scenarios and
//! the truth regret run end to end.

use mmm_analysis::plan::Setup;
use mmm_analysis::{
    Bounds, CurveConfig, Effect, OptimizeConfig, ResponseSurface, Target, TrueOptimum, Unit,
    WindowSpec, compare_scenarios, multipliers_with_effects, optimize, response_curves,
    smallest_budget,
};
use mmm_fitted::{FitConfig, FittedModel, TrainConfig};
use mmm_orchestrator::fit_panel;
use mmm_sim::{Scenario, Simulation, simulate};
use std::sync::OnceLock;

/// Simulates `sc` with `seed`, reads it back as the CLI would and fits it quickly (`epochs`).
fn fit_simulation(sc: &Scenario, seed: u64, epochs: usize) -> (Simulation, FittedModel) {
    let sim = simulate(sc, seed).unwrap();
    let dir = std::env::temp_dir().join(format!(
        "mmm-analysis-fit-{}-{}-{}",
        sc.regions,
        seed,
        std::process::id()
    ));
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
        epochs,
        validation_weeks: Some(6),
        ..TrainConfig::default()
    };
    let model = fit_panel(&panel, &spec, &cfg, &mut |_| {}).unwrap();
    (sim, model)
}

fn fitted() -> &'static (Simulation, FittedModel) {
    static F: OnceLock<(Simulation, FittedModel)> = OnceLock::new();
    F.get_or_init(|| {
        let mut sc = Scenario::named("national").unwrap();
        sc.weeks = 80;
        fit_simulation(&sc, 7, 60)
    })
}

fn rel(a: f64, b: f64) -> f64 {
    (a - b).abs() / a.abs().max(b.abs()).max(1e-300)
}

#[test]
fn surface_matches_model_predictions_and_slopes() {
    let (_, fm) = fitted();
    let setup = Setup::historical(fm, &WindowSpec::All, &[]).unwrap();
    let c_n = fm.channels.len();
    let units: Vec<Unit> = (0..c_n)
        .map(|c| Unit {
            channel: c,
            regions: vec![0],
        })
        .collect();
    let s = ResponseSurface::from_fitted(fm, &setup, units).unwrap();
    let (pred0, d) = fm.predict(&setup.panel).unwrap();
    // Base media outcome = Σ of the decomposition's channel terms over the outcome weeks.
    let base = s.evaluate(&vec![1.0; c_n], Effect::Direct, None).total;
    assert!(
        rel(base, d.channels.sum()) < 1e-9,
        "{base} vs {}",
        d.channels.sum()
    );
    let slopes = fm.contribution_slopes(&setup.panel).unwrap();
    let mut g = vec![0.0; c_n];
    s.evaluate(&vec![1.0; c_n], Effect::Direct, Some(&mut g));
    for c in 0..c_n {
        assert!(
            rel(g[c], slopes[c]) < 1e-9,
            "channel {c}: {} vs {}",
            g[c],
            slopes[c]
        );
        // Doubling channel c's activity: the model's prediction changes by the direct response.
        let mut panel = setup.panel.clone();
        for t in setup.window.clone() {
            panel.media[[0, t, c]] *= 2.0;
        }
        let (pred2, _) = fm.predict(&panel).unwrap();
        let mut m = vec![1.0; c_n];
        m[c] = 2.0;
        let want = (&pred2 - &pred0).sum();
        let got = s.evaluate(&m, Effect::Direct, None).total - base;
        assert!(
            (want - got).abs() <= 1e-9 * base.abs(),
            "channel {c}: {got} vs {want}"
        );
    }
    // Total effect of removing everything equals FittedModel::total_contributions when the
    // intervention's clamp does not bind; at least it is ≥ the direct one (W ≥ 0).
    let totals = fm.total_contributions(&setup.panel).unwrap();
    for c in 0..c_n {
        let mut m = vec![1.0; c_n];
        m[c] = 0.0;
        let direct = base - s.evaluate(&m, Effect::Direct, None).total;
        let total = base - s.evaluate(&m, Effect::Total, None).total;
        assert!(total >= direct - 1e-9 * base.abs());
        assert!(totals[c] >= direct - 1e-9 * base.abs());
    }
}

#[test]
fn curves_are_consistent() {
    let (_, fm) = fitted();
    let curves = response_curves(fm, &CurveConfig::default()).unwrap();
    assert_eq!(curves.channels.len(), fm.channels.len());
    for ch in &curves.channels {
        let n = &ch.national;
        assert_eq!(n.direct[0], 0.0);
        let i1 = curves.multipliers.iter().position(|&m| m == 1.0).unwrap();
        assert!(rel(n.direct[i1], n.contribution_direct) < 1e-12);
        // Monotone non-decreasing curves (β ≥ 0, Hill increasing).
        assert!(n.direct.windows(2).all(|w| w[1] >= w[0] - 1e-9));
        if let (Some(roi), Some(mroi)) = (n.roi_direct, n.mroi_direct) {
            assert!(roi >= 0.0 && mroi >= 0.0);
            // mROI is the curve's slope at 1: compare with the curve's central difference.
            let fd = (n.direct[i1 + 1] - n.direct[i1 - 1]) / (0.2 * n.spend);
            assert!(rel(mroi, fd) < 0.05, "{mroi} vs {fd}");
        }
    }
    let dir = std::env::temp_dir().join(format!("mmm-analysis-curves-{}", std::process::id()));
    curves.write(&dir).unwrap();
    for f in ["curves.csv", "roi.csv", "curves.json"] {
        assert!(dir.join(f).exists());
    }
}

#[test]
fn optimizer_on_the_model_is_exact_and_optimal() {
    let (_, fm) = fitted();
    let cfg = OptimizeConfig {
        budget: Some(50_000.0),
        ..OptimizeConfig::default()
    };
    let a = optimize(fm, &cfg).unwrap();
    let sum: f64 = a.channels.values().map(|c| c.recommended).sum();
    assert!((sum - 50_000.0).abs() < 1e-8 * 50_000.0, "{sum}");
    for c in a.channels.values() {
        assert!(
            c.recommended >= c.lower && c.recommended <= c.upper,
            "{c:?}"
        );
    }
    assert!(a.lift >= -1e-9 * a.outcome_current.abs(), "lift {}", a.lift);
    for c in a.channels.values().filter(|c| c.status == "interior") {
        assert!(
            rel(c.mroi_recommended.unwrap(), a.marginal_roi) < 1e-5,
            "{c:?} vs {}",
            a.marginal_roi
        );
    }
    // Fixed channel stays put; historical reallocation keeps the money actually spent.
    let mut bounds = Bounds::default();
    let first = fm.channels[0].clone();
    bounds.channels.insert(
        first.clone(),
        mmm_analysis::ChannelBounds {
            fixed: true,
            ..Default::default()
        },
    );
    let h = optimize(
        fm,
        &OptimizeConfig {
            window: Some(WindowSpec::All),
            bounds,
            ..OptimizeConfig::default()
        },
    )
    .unwrap();
    let ch = &h.channels[&first];
    assert_eq!(ch.recommended, ch.current);
    let spent: f64 = h.channels.values().map(|c| c.current).sum();
    assert!(rel(h.budget, spent) < 1e-12);
    // Inverse question: the budget found reaches the target and a smaller one does not.
    let target = a.outcome_recommended;
    let inv = smallest_budget(fm, &cfg, Target::Outcome(target)).unwrap();
    assert!(inv.outcome_recommended >= target);
    assert!(rel(inv.budget, 50_000.0) < 1e-3, "budget {}", inv.budget);
    let dir = std::env::temp_dir().join(format!("mmm-analysis-opt-{}", std::process::id()));
    a.write(&dir).unwrap();
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("allocation.json")).unwrap())
            .unwrap();
    assert!(json["channels"][&first]["recommended"].is_number());
    assert!(json["budget"].is_number());
    // A joint fit (one region) cannot say which responses the data leave open.
    assert!(a.channels.values().all(|c| c.response_open.is_none()));
    assert!(json["channels"][&first]["response_open"].is_null());
}

#[test]
fn the_allocation_says_which_responses_the_data_leave_open() {
    // A regional panel gets a screened media part, which measures it per channel.
    let mut sc = Scenario::named("geo").unwrap();
    (sc.regions, sc.weeks) = (mmm_orchestrator::SCREEN_MIN_REGIONS, 60);
    let (_, fm) = fit_simulation(&sc, 3, 20);
    let open = fm
        .screened_media
        .as_ref()
        .filter(|m| m.used)
        .expect("a screened media part")
        .undetermined();
    assert!(
        !open.is_empty() && open.len() < fm.channels.len(),
        "{open:?}"
    );
    for per_region in [false, true] {
        let a = optimize(
            &fm,
            &OptimizeConfig {
                window: Some(WindowSpec::All),
                per_region,
                ..OptimizeConfig::default()
            },
        )
        .unwrap();
        let units = a.channels.values().chain(&a.regions);
        for u in units {
            let c = fm.channels.iter().position(|c| *c == u.channel).unwrap();
            assert_eq!(u.response_open, Some(open.contains(&c)), "{u:?}");
        }
    }
}

#[test]
fn scenarios_and_truth_regret() {
    let (sim, fm) = fitted();
    let rows = compare_scenarios(fm, 13, &[], &[]).unwrap();
    assert_eq!(rows[0].scenario, "baseline");
    assert_eq!(rows[0].difference, 0.0);
    let bounds = Bounds::default();
    let optimum = TrueOptimum::solve(sim, &bounds).unwrap();
    let t = optimum.score_fitted(sim, fm, &bounds).unwrap();
    assert!(t.optimal >= t.historical && t.optimal >= t.recommended);
    assert!(t.regret.absolute >= 0.0);
    // The budget is kept: the scored multipliers spend exactly the historical total.
    let planned = sim.planned_spend();
    let spend_of = |m: &[f64]| -> f64 {
        m.iter()
            .enumerate()
            .map(|(c, m)| m * planned.index_axis(ndarray::Axis(2), c).sum())
            .sum()
    };
    assert!(rel(spend_of(&t.recommended_multipliers), planned.sum()) < 1e-9);
    assert!(rel(spend_of(&optimum.multipliers), planned.sum()) < 1e-6);

    // Any model's multipliers score the same way: the model's own reproduce its comparison,
    // keeping the historical split is a regret of exactly 1, the true optimum one of 0.
    let again = optimum
        .score(sim, t.recommended_multipliers.clone())
        .unwrap();
    assert!(rel(again.recommended, t.recommended) < 1e-12);
    let n = sim.channels().len();
    let keep = optimum.score(sim, vec![1.0; n]).unwrap();
    assert!(rel(keep.recommended, keep.historical) < 1e-12);
    if keep.optimal > keep.historical {
        assert!((keep.regret.relative.unwrap() - 1.0).abs() < 1e-9);
    }
    let best = optimum.score(sim, optimum.multipliers.clone()).unwrap();
    assert!(best.regret.relative.unwrap_or(0.0) < 1e-6);
    assert!(optimum.score(sim, vec![1.0; n + 1]).is_err());

    // A model that knows the true structure AND the true effect sizes recommends the optimum;
    // with every effect halved except one, it moves budget toward that channel.
    let (beta, _) = sim.unit_contributions();
    let same = multipliers_with_effects(sim, &beta, &bounds).unwrap();
    for (a, b) in same.iter().zip(&optimum.multipliers) {
        assert!(
            (a - b).abs() < 1e-9,
            "{same:?} vs {:?}",
            optimum.multipliers
        );
    }
    let favoured = beta.iter().position(|b| *b > 0.0).unwrap();
    let skewed: Vec<f64> = beta
        .iter()
        .enumerate()
        .map(|(c, b)| if c == favoured { *b } else { 0.5 * b })
        .collect();
    let moved = multipliers_with_effects(sim, &skewed, &bounds).unwrap();
    assert!(
        moved[favoured] > optimum.multipliers[favoured] || moved[favoured] >= bounds.upper - 1e-9,
        "{moved:?} vs {:?}",
        optimum.multipliers
    );
    assert!(multipliers_with_effects(sim, &beta[1..], &bounds).is_err());
    // A model of another panel is refused, not scored channel by channel position.
    let mut sc = Scenario::named("national").unwrap();
    sc.weeks = 60;
    sc.channels = 3;
    let other = simulate(&sc, 7).unwrap();
    let other_optimum = TrueOptimum::solve(&other, &bounds).unwrap();
    assert!(other_optimum.score_fitted(&other, fm, &bounds).is_err());
    assert!(multipliers_with_effects(sim, &vec![-1.0; n], &bounds).is_err());
}
