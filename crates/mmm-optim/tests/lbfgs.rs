//! L-BFGS: Rosenbrock in 2-D and 10-D, ill-conditioned quadratics, the projected box variant,
//! termination reasons and configuration/input errors.

use mmm_optim::{Error, LbfgsConfig, Termination, minimize_lbfgs, minimize_lbfgs_box};
use mmm_testkit::{assert_gradient, seeded_uniform};
use proptest::prelude::*;

/// Extended Rosenbrock `Σ 100 (x_{i+1} − x_i²)² + (1 − x_i)²`; minimum 0 at all-ones.
fn rosenbrock(x: &[f64], g: &mut [f64]) -> f64 {
    g.iter_mut().for_each(|v| *v = 0.0);
    let mut f = 0.0;
    for i in 0..x.len() - 1 {
        let a = x[i + 1] - x[i] * x[i];
        let b = 1.0 - x[i];
        f += 100.0 * a * a + b * b;
        g[i] += -400.0 * a * x[i] - 2.0 * b;
        g[i + 1] += 200.0 * a;
    }
    f
}

fn rosenbrock_value(x: &[f64]) -> f64 {
    rosenbrock(x, &mut vec![0.0; x.len()])
}

/// `½ Σ λᵢ (xᵢ − cᵢ)²` with λ log-spaced over `10^cond_exp`.
fn quadratic(lambda: &[f64], c: &[f64]) -> impl FnMut(&[f64], &mut [f64]) -> f64 {
    let (lambda, c) = (lambda.to_vec(), c.to_vec());
    move |x, g| {
        let mut f = 0.0;
        for i in 0..x.len() {
            g[i] = lambda[i] * (x[i] - c[i]);
            f += 0.5 * lambda[i] * (x[i] - c[i]) * (x[i] - c[i]);
        }
        f
    }
}

fn log_spaced(n: usize, decades: f64) -> Vec<f64> {
    (0..n)
        .map(|i| 10f64.powf(decades * i as f64 / (n.max(2) - 1) as f64))
        .collect()
}

fn max_abs_diff(a: &[f64], b: &[f64]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
}

proptest! {
    #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::with_cases(16) })]

    #[test]
    fn rosenbrock_gradient_is_correct(seed in 0u64..1000, n in 2usize..8) {
        let x = seeded_uniform(seed, n, -2.0, 2.0);
        let mut g = vec![0.0; n];
        rosenbrock(&x, &mut g);
        assert_gradient(rosenbrock_value, &x, &g, 1e-6);
    }

    #[test]
    fn quadratic_gradient_is_correct(seed in 0u64..1000, n in 1usize..8) {
        let lambda = log_spaced(n, 4.0);
        let c = seeded_uniform(seed, n, -3.0, 3.0);
        let x = seeded_uniform(seed + 7, n, -3.0, 3.0);
        let mut f = quadratic(&lambda, &c);
        let mut g = vec![0.0; n];
        f(&x, &mut g);
        let mut f2 = quadratic(&lambda, &c);
        assert_gradient(|x| f2(x, &mut vec![0.0; x.len()]), &x, &g, 1e-6);
    }

    #[test]
    fn lbfgs_solves_random_ill_conditioned_quadratics(seed in 0u64..1000, n in 1usize..30) {
        // Condition number 1e3 (with m = 7 and 30 distinct eigenvalues: a few hundred steps).
        let lambda = log_spaced(n, 3.0);
        let c = seeded_uniform(seed, n, -3.0, 3.0);
        let x0 = seeded_uniform(seed + 1, n, -10.0, 10.0);
        let r = minimize_lbfgs(quadratic(&lambda, &c), &x0, &LbfgsConfig::default()).unwrap();
        prop_assert!(r.converged, "{:?}", r.termination);
        prop_assert!(r.grad_norm <= 1e-8);
        // ‖x − c‖∞ ≤ ‖g‖ / λ_min = ‖g‖.
        prop_assert!(max_abs_diff(&r.x, &c) <= 1e-8, "{}", max_abs_diff(&r.x, &c));
    }
}

#[test]
fn rosenbrock_2d_from_the_classic_start() {
    let r = minimize_lbfgs(rosenbrock, &[-1.2, 1.0], &LbfgsConfig::default()).unwrap();
    assert!(r.converged, "{r:?}");
    assert_eq!(r.termination, Termination::GradientTolerance);
    assert!(r.grad_norm <= 1e-8, "{r:?}");
    assert!(max_abs_diff(&r.x, &[1.0, 1.0]) <= 1e-6, "{:?}", r.x);
    assert!(r.value <= 1e-12);
    // Reported gradient and value belong to the reported point.
    let mut g = vec![0.0; 2];
    assert_eq!(rosenbrock(&r.x, &mut g), r.value);
    assert_eq!(g, r.grad);
    assert!(r.iterations < 100, "{} iterations", r.iterations);
}

#[test]
fn rosenbrock_10d() {
    let x0: Vec<f64> = (0..10)
        .map(|i| if i % 2 == 0 { -1.2 } else { 1.0 })
        .collect();
    let r = minimize_lbfgs(rosenbrock, &x0, &LbfgsConfig::default()).unwrap();
    assert!(r.converged, "{r:?}");
    assert!(r.grad_norm <= 1e-8);
    assert!(max_abs_diff(&r.x, &[1.0; 10]) <= 1e-6, "{:?}", r.x);
}

#[test]
fn rosenbrock_10d_from_random_starts() {
    for seed in 0..5 {
        let x0 = seeded_uniform(seed, 10, -2.0, 2.0);
        let r = minimize_lbfgs(rosenbrock, &x0, &LbfgsConfig::default()).unwrap();
        assert!(r.converged, "seed {seed}: {r:?}");
        // 10-D Rosenbrock also has a local minimum near x₀ = −1; accept either, but check it.
        assert!(r.grad_norm <= 1e-8);
        if r.value < 1e-10 {
            assert!(max_abs_diff(&r.x, &[1.0; 10]) <= 1e-6);
        } else {
            // The known local minimum (f ≈ 3.9866, x₀ ≈ −0.993).
            assert!(
                (r.value - 3.9866).abs() < 1e-3 && r.x[0] < -0.99,
                "seed {seed}: {r:?}"
            );
        }
    }
}

#[test]
fn memory_one_still_converges() {
    let cfg = LbfgsConfig {
        memory: 1,
        max_iters: 5000,
        ..LbfgsConfig::default()
    };
    let r = minimize_lbfgs(rosenbrock, &[-1.2, 1.0], &cfg).unwrap();
    assert!(r.converged, "{r:?}");
    assert!(max_abs_diff(&r.x, &[1.0, 1.0]) <= 1e-6);
}

#[test]
fn starting_at_the_optimum_takes_no_step() {
    let r = minimize_lbfgs(rosenbrock, &[1.0, 1.0], &LbfgsConfig::default()).unwrap();
    assert_eq!(r.iterations, 0);
    assert_eq!(r.evaluations, 1);
    assert!(r.converged);
}

#[test]
fn iteration_limit_is_reported_as_not_converged() {
    let cfg = LbfgsConfig {
        max_iters: 3,
        ..LbfgsConfig::default()
    };
    let r = minimize_lbfgs(rosenbrock, &[-1.2, 1.0], &cfg).unwrap();
    assert_eq!(r.termination, Termination::MaxIterations);
    assert_eq!(r.iterations, 3);
    assert!(!r.converged);
    assert!(r.value < rosenbrock_value(&[-1.2, 1.0]));
}

#[test]
fn function_tolerance_stops_early() {
    let cfg = LbfgsConfig {
        f_tol: 1e-3,
        grad_tol: 0.0,
        ..LbfgsConfig::default()
    };
    let r = minimize_lbfgs(rosenbrock, &[-1.2, 1.0], &cfg).unwrap();
    assert_eq!(r.termination, Termination::FunctionTolerance);
    assert!(r.converged);
}

#[test]
fn steps_into_a_non_finite_region_are_shortened() {
    // f = x − ln(x) is NaN/∞ for x ≤ 0, minimum at x = 1. A unit step from x = 0.05
    // (g = −19) lands far away; a large initial overshoot towards x ≤ 0 must be survived.
    let f = |x: &[f64], g: &mut [f64]| {
        g[0] = 1.0 - 1.0 / x[0];
        x[0] - x[0].ln()
    };
    let r = minimize_lbfgs(f, &[8.0], &LbfgsConfig::default()).unwrap();
    assert!(r.converged, "{r:?}");
    assert!((r.x[0] - 1.0).abs() <= 1e-7);
    let r = minimize_lbfgs(f, &[0.05], &LbfgsConfig::default()).unwrap();
    assert!(r.converged, "{r:?}");
    assert!((r.x[0] - 1.0).abs() <= 1e-7);
}

#[test]
fn unbounded_below_stops_at_the_evaluation_budget() {
    let cfg = LbfgsConfig {
        max_evals: 200,
        ..LbfgsConfig::default()
    };
    let r = minimize_lbfgs(
        |x: &[f64], g: &mut [f64]| {
            g[0] = 1.0;
            x[0]
        },
        &[0.0],
        &cfg,
    )
    .unwrap();
    assert!(!r.converged);
    assert!(matches!(
        r.termination,
        Termination::MaxEvaluations | Termination::MaxIterations
    ));
    assert!(r.evaluations <= 200 + 1);
}

#[test]
fn errors_for_bad_input() {
    let cfg = LbfgsConfig::default();
    assert!(matches!(
        minimize_lbfgs(rosenbrock, &[], &cfg),
        Err(Error::EmptyParameters)
    ));
    let nan = |_: &[f64], g: &mut [f64]| {
        g[0] = 0.0;
        f64::NAN
    };
    assert!(matches!(
        minimize_lbfgs(nan, &[1.0], &cfg),
        Err(Error::NonFiniteObjective {
            what: "objective",
            ..
        })
    ));
    let bad_grad = |_: &[f64], g: &mut [f64]| {
        g[0] = f64::INFINITY;
        1.0
    };
    assert!(matches!(
        minimize_lbfgs(bad_grad, &[1.0], &cfg),
        Err(Error::NonFiniteObjective {
            what: "gradient",
            ..
        })
    ));
    let bad = LbfgsConfig {
        memory: 0,
        ..LbfgsConfig::default()
    };
    assert!(matches!(
        minimize_lbfgs(rosenbrock, &[0.0, 0.0], &bad),
        Err(Error::InvalidParameter { name: "memory", .. })
    ));
    let bad = LbfgsConfig {
        c1: 0.95,
        ..LbfgsConfig::default()
    };
    assert!(matches!(
        minimize_lbfgs(rosenbrock, &[0.0, 0.0], &bad),
        Err(Error::InvalidParameter { name: "c1", .. })
    ));
    let bad = LbfgsConfig {
        grad_tol: -1.0,
        ..LbfgsConfig::default()
    };
    assert!(minimize_lbfgs(rosenbrock, &[0.0, 0.0], &bad).is_err());
    // Box variant: lengths and bounds.
    assert!(matches!(
        minimize_lbfgs_box(rosenbrock, &[0.0, 0.0], &[0.0], &[1.0, 1.0], &cfg),
        Err(Error::LengthMismatch {
            what: "lower",
            expected: 2,
            got: 1
        })
    ));
    assert!(matches!(
        minimize_lbfgs_box(rosenbrock, &[0.0, 0.0], &[0.0, 0.0], &[1.0], &cfg),
        Err(Error::LengthMismatch { what: "upper", .. })
    ));
    assert!(matches!(
        minimize_lbfgs_box(rosenbrock, &[0.0, 0.0], &[0.0, 2.0], &[1.0, 1.0], &cfg),
        Err(Error::InvalidBounds { index: 1, .. })
    ));
    assert!(matches!(
        minimize_lbfgs_box(rosenbrock, &[0.0, 0.0], &[f64::NAN, 0.0], &[1.0, 1.0], &cfg),
        Err(Error::InvalidBounds { index: 0, .. })
    ));
}

#[test]
fn box_with_inactive_bounds_matches_the_unconstrained_optimum() {
    let inf = f64::INFINITY;
    let r = minimize_lbfgs_box(
        rosenbrock,
        &[-1.2, 1.0],
        &[-inf, -5.0],
        &[inf, 5.0],
        &LbfgsConfig::default(),
    )
    .unwrap();
    assert!(r.converged, "{r:?}");
    assert!(max_abs_diff(&r.x, &[1.0, 1.0]) <= 1e-6, "{:?}", r.x);
}

#[test]
fn box_rosenbrock_with_an_active_bound() {
    // min Rosenbrock s.t. x₀ ≤ 0.5: optimum x₀ = 0.5, x₁ = 0.25 (x₁ = x₀² kills the first term).
    let r = minimize_lbfgs_box(
        rosenbrock,
        &[-1.2, 1.0],
        &[-2.0, -2.0],
        &[0.5, 2.0],
        &LbfgsConfig::default(),
    )
    .unwrap();
    assert!(r.converged, "{r:?}");
    assert!(max_abs_diff(&r.x, &[0.5, 0.25]) <= 1e-6, "{:?}", r.x);
    assert!(r.grad[0] < 0.0, "the bound must be active: {:?}", r.grad);
}

proptest! {
    #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::with_cases(16) })]

    #[test]
    fn box_quadratic_optimum_is_the_clamped_centre(seed in 0u64..1000, n in 1usize..20) {
        // Separable quadratic: the box optimum is c clamped to [l, u].
        let lambda = log_spaced(n, 3.0);
        let c = seeded_uniform(seed, n, -3.0, 3.0);
        let lower = seeded_uniform(seed + 1, n, -2.0, 0.0);
        let upper: Vec<f64> = seeded_uniform(seed + 2, n, 0.0, 2.0);
        let x0 = seeded_uniform(seed + 3, n, -5.0, 5.0);
        let r = minimize_lbfgs_box(quadratic(&lambda, &c), &x0, &lower, &upper, &LbfgsConfig::default()).unwrap();
        let target: Vec<f64> = c.iter().zip(&lower).zip(&upper).map(|((c, l), u)| c.clamp(*l, *u)).collect();
        prop_assert!(r.converged, "{:?}", r.termination);
        prop_assert!(r.x.iter().zip(&lower).zip(&upper).all(|((x, l), u)| x >= l && x <= u));
        prop_assert!(max_abs_diff(&r.x, &target) <= 1e-6, "{}", max_abs_diff(&r.x, &target));
    }
}

#[test]
fn box_fixed_variable_and_start_outside_the_box() {
    // lower == upper fixes a coordinate; x0 outside the box is projected.
    let lambda = [1.0, 10.0, 100.0];
    let c = [1.0, 2.0, 3.0];
    let r = minimize_lbfgs_box(
        quadratic(&lambda, &c),
        &[9.0, -9.0, 9.0],
        &[0.0, -1.0, 0.5],
        &[2.0, 1.0, 0.5],
        &LbfgsConfig::default(),
    )
    .unwrap();
    assert!(r.converged, "{r:?}");
    assert!(max_abs_diff(&r.x, &[1.0, 1.0, 0.5]) <= 1e-8, "{:?}", r.x);
}
