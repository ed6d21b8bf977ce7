//! The `custom_transform` example's steps on a small panel: a user saturation is simulated,
//! fitted, saved, reloaded through the registry and analysed; its gradient is checked against
//! central differences.

#[allow(dead_code)]
#[path = "../examples/custom_transform.rs"]
mod example;

use example::{ExponentialSaturation, Settings, registry, run};
use mmm_analysis::{OptimizeConfig, optimize};
use mmm_fitted::FittedModel;
use mmm_testkit::{assert_gradient, seeded_uniform};
use mmm_transforms::Saturation;
use ndarray::Array2;

/// The VJP with respect to the input and the parameter against fourth-order central differences
/// of `Σ g ⊙ f(x)`, on seeded inputs across scales (some negative: counted as 0) and edge sizes.
#[test]
fn exponential_saturation_gradient_matches_central_differences() {
    let s = ExponentialSaturation;
    for (seed, (rows, cols)) in [(1, 1), (3, 17), (2, 40)].into_iter().enumerate() {
        let seed = seed as u64;
        let n = rows * cols;
        for u in [-2.0, 0.3, 3.0] {
            let p = vec![u];
            // Away from the kink at 0, where the derivative jumps.
            let x: Vec<f64> = seeded_uniform(10 + seed, n, -1.0, 6.0)
                .into_iter()
                .map(|v| if v.abs() < 0.05 { 0.5 } else { v })
                .collect();
            let g = seeded_uniform(20 + seed, n, -1.0, 1.0);
            let xa = Array2::from_shape_vec((rows, cols), x.clone()).unwrap();
            let ga = Array2::from_shape_vec((rows, cols), g.clone()).unwrap();
            let loss = |p: &[f64], x: &[f64]| -> f64 {
                x.iter().zip(&g).map(|(&xi, gi)| gi * s.eval(p, xi)).sum()
            };
            let mut gx = Array2::zeros((rows, cols));
            let mut gp = vec![0.0];
            s.vjp(&p, xa.view(), ga.view(), Some(gx.view_mut()), &mut gp);
            assert_gradient(|q| loss(q, &x), &p, &gp, 1e-6);
            assert_gradient(|y| loss(&p, y), &x, gx.as_slice().unwrap(), 1e-6);
            // forward agrees with eval; derivative with the VJP's input gradient.
            let mut out = Array2::zeros((rows, cols));
            s.forward(&p, xa.view(), out.view_mut());
            for ((o, &xi), (&gi, &gxi)) in out.iter().zip(&x).zip(g.iter().zip(gx.iter())) {
                assert_eq!(*o, s.eval(&p, xi));
                assert!((gi * s.derivative(&p, xi) - gxi).abs() <= 1e-15 * gxi.abs().max(1.0));
            }
        }
    }
    // Half saturation where the simulator puts it.
    let p = s.params_at_half(0.8, 1.0).unwrap();
    assert!((s.eval(&p, 0.8) - 0.5).abs() < 1e-12);
}

/// Fit, save, reload (through the registry), predict identically, read finite ROI that is
/// positive for every channel with a true effect, optimise the budget; without the registry the
/// file is refused.
#[test]
fn a_user_saturation_is_fitted_saved_reloaded_and_analysed() {
    let dir = std::env::temp_dir().join(format!("mmm-custom-transform-{}", std::process::id()));
    let out = run(&Settings {
        regions: 12,
        weeks: 70,
        channels: 3,
        epochs: 40,
        dir: dir.clone(),
    })
    .unwrap();
    assert_eq!(out.fitted.config.model.saturation, "exponential");
    assert!((0..3).all(|c| out.reloaded.model().unwrap().saturation(c).name() == "exponential"));
    // The simulator drew its true curves from the same family.
    let truth = out.simulation.truth();
    assert!(
        truth
            .params
            .channels
            .iter()
            .all(|c| c.saturation == "exponential")
    );
    // The two-stage fit cannot represent the transform: joint, with a note saying so.
    assert!(out.fitted.screened_media.is_none());
    assert!(
        out.fitted
            .warnings
            .iter()
            .any(|w| w.contains("`exponential`")),
        "{:?}",
        out.fitted.warnings
    );
    let (a, da) = out.fitted.predict(&out.panel).unwrap();
    let (b, db) = out.reloaded.predict(&out.panel).unwrap();
    assert_eq!(a, b);
    assert_eq!(da.channels, db.channels);
    assert_eq!(out.fitted.params, out.reloaded.params);
    for (c, ch) in out.curves.channels.iter().enumerate() {
        let roi = ch.national.roi_direct.unwrap();
        let mroi = ch.national.mroi_direct.unwrap();
        assert!(
            roi.is_finite() && mroi.is_finite(),
            "{}: {roi} {mroi}",
            ch.channel
        );
        assert!(roi >= 0.0 && mroi >= 0.0, "{}: {roi} {mroi}", ch.channel);
        if !truth.channel_truth[c].zero_effect {
            assert!(roi > 0.0, "{}: ROI {roi}", ch.channel);
        }
    }
    // The optimiser reallocates the current budget over the user's curves: the budget is spent,
    // the outcome does not drop, and interior channels end at equal marginal ROI.
    let plan = optimize(&out.reloaded, &OptimizeConfig::default()).unwrap();
    let spent: f64 = plan.channels.values().map(|c| c.recommended).sum();
    assert!(
        (spent - plan.budget).abs() <= 1e-8 * plan.budget,
        "{spent} vs {}",
        plan.budget
    );
    assert!(
        plan.lift >= -1e-9 * plan.outcome_current.abs(),
        "lift {}",
        plan.lift
    );
    for c in plan.channels.values().filter(|c| c.status == "interior") {
        let m = c.mroi_recommended.unwrap();
        assert!((m - plan.marginal_roi).abs() <= 1e-5 * m.abs(), "{c:?}");
    }
    // A rolling-origin backtest refits through the registry; without it the transform is unknown.
    let origins = [out.panel.n_weeks() - 6];
    let columns = out.simulation.column_spec();
    let bt = mmm_orchestrator::backtest_with(
        &out.panel,
        &columns,
        &out.fitted.config,
        &registry(),
        &origins,
        6,
        &mut |_, _| {},
    )
    .unwrap();
    assert!(bt.origins[0].model.wmape.is_finite());
    let err = mmm_orchestrator::backtest(
        &out.panel,
        &columns,
        &out.fitted.config,
        &origins,
        6,
        &mut |_, _| {},
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("unknown saturation `exponential`"), "{err}");
    // Loading without the user's registry names the missing transform.
    let err = FittedModel::load(&dir.join("model.json"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("unknown saturation `exponential`"), "{err}");
    assert!(registry().saturation("exponential").is_ok());
    let _ = std::fs::remove_dir_all(&dir);
}
