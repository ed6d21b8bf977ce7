//! Adam: bias correction, coupled decay, convergence on an ill-conditioned convex quadratic, and
//! configuration errors.

use mmm_optim::{Adam, Error, Optimizer};
use mmm_testkit::{assert_gradient, seeded_uniform};
use proptest::prelude::*;

/// `f(x) = ½ Σ λᵢ (xᵢ − cᵢ)²` with curvatures spread over three orders of magnitude.
struct Quadratic {
    lambda: Vec<f64>,
    center: Vec<f64>,
}

impl Quadratic {
    fn new(n: usize, center: Vec<f64>) -> Self {
        // Condition number 1e3: λ from 1 to 1000, log-spaced.
        let lambda = (0..n)
            .map(|i| 10f64.powf(3.0 * i as f64 / (n.max(2) - 1) as f64))
            .collect();
        Self { lambda, center }
    }
    fn value(&self, x: &[f64]) -> f64 {
        x.iter()
            .zip(&self.lambda)
            .zip(&self.center)
            .map(|((x, l), c)| 0.5 * l * (x - c) * (x - c))
            .sum()
    }
    fn grad(&self, x: &[f64], g: &mut [f64]) {
        for (((gi, x), l), c) in g.iter_mut().zip(x).zip(&self.lambda).zip(&self.center) {
            *gi = l * (x - c);
        }
    }
}

/// Runs `steps` optimiser steps with the learning rate annealed from `base` to `min` along a half
/// cosine, `min + (base − min)(1 + cos(π s/(steps − 1)))/2`, and returns the final point.
fn run(
    opt: &mut dyn Optimizer,
    q: &Quadratic,
    x0: &[f64],
    steps: usize,
    base: f64,
    min: f64,
) -> Vec<f64> {
    let mut x = x0.to_vec();
    let mut g = vec![0.0; x.len()];
    for s in 0..steps {
        let progress = s as f64 / (steps - 1) as f64;
        opt.set_learning_rate(
            min + (base - min) * 0.5 * (1.0 + (std::f64::consts::PI * progress).cos()),
        );
        q.grad(&x, &mut g);
        opt.step(&mut x, &g);
    }
    x
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
    fn quadratic_gradient_is_correct(seed in 0u64..1000, n in 1usize..6) {
        let q = Quadratic::new(n, seeded_uniform(seed, n, -2.0, 2.0));
        let x = seeded_uniform(seed ^ 0xABCD, n, -3.0, 3.0);
        let mut g = vec![0.0; n];
        q.grad(&x, &mut g);
        assert_gradient(|x| q.value(x), &x, &g, 1e-6);
    }

    #[test]
    fn adam_first_step_is_lr_times_sign(seed in 0u64..1000, n in 1usize..8, lr in 1e-4f64..0.5) {
        let mut p = seeded_uniform(seed, n, -5.0, 5.0);
        let g = seeded_uniform(seed + 1, n, -3.0, 3.0);
        let p0 = p.clone();
        let mut adam = Adam::new(lr).unwrap();
        adam.step(&mut p, &g);
        for i in 0..n {
            // Exactly η g / (|g| + ε) by the bias correction, i.e. η·sign(g) up to ε/|g|.
            let expected = p0[i] - lr * g[i] / (g[i].abs() + 1e-8);
            prop_assert!((p[i] - expected).abs() <= 1e-15 * p0[i].abs().max(1.0), "{} vs {}", p[i], expected);
            let step = p0[i] - p[i];
            prop_assert!((step - lr * g[i].signum()).abs() <= lr * 1e-8 / g[i].abs() + 1e-15 * p0[i].abs().max(1.0));
        }
    }
}

#[test]
fn adam_first_step_is_independent_of_gradient_scale() {
    // Without bias correction the first step would be ≈ η (1−β₁)/√(1−β₂) ≈ 3.16 η.
    for scale in [1e-3, 1.0, 1e3] {
        let mut p = vec![0.0, 0.0];
        let mut adam = Adam::new(0.1)
            .unwrap()
            .betas(0.9, 0.999)
            .unwrap()
            .eps(1e-12)
            .unwrap();
        adam.step(&mut p, &[scale, -2.0 * scale]);
        assert!((p[0] + 0.1).abs() < 1e-9, "{p:?}");
        assert!((p[1] - 0.1).abs() < 1e-9, "{p:?}");
    }
}

#[test]
fn adam_second_step_matches_hand_computation() {
    let (lr, b1, b2, eps) = (0.01, 0.8, 0.9, 1e-6);
    let mut adam = Adam::new(lr)
        .unwrap()
        .betas(b1, b2)
        .unwrap()
        .eps(eps)
        .unwrap();
    let mut p = vec![1.0];
    adam.step(&mut p, &[2.0]);
    adam.step(&mut p, &[-1.0]);
    let m1 = (1.0 - b1) * 2.0;
    let v1 = (1.0 - b2) * 4.0;
    let p1 = 1.0 - lr * (m1 / (1.0 - b1)) / ((v1 / (1.0 - b2)).sqrt() + eps);
    let m2 = b1 * m1 - (1.0 - b1);
    let v2 = b2 * v1 + (1.0 - b2);
    let p2 = p1 - lr * (m2 / (1.0 - b1 * b1)) / ((v2 / (1.0 - b2 * b2)).sqrt() + eps);
    assert!((p[0] - p2).abs() < 1e-15, "{} vs {p2}", p[0]);
    assert_eq!(adam.steps(), 2);
}

#[test]
fn adam_reaches_the_optimum_of_an_ill_conditioned_quadratic() {
    let n = 6;
    let q = Quadratic::new(n, seeded_uniform(11, n, -2.0, 2.0));
    let x0 = seeded_uniform(12, n, -3.0, 3.0);
    let mut adam = Adam::new(0.05).unwrap();
    let x = run(&mut adam, &q, &x0, 4000, 0.05, 1e-9);
    let err = max_abs_diff(&x, &q.center);
    assert!(err <= 1e-6, "max |x − x*| = {err:e}");
}

#[test]
fn adam_coupled_decay_reaches_the_regularised_optimum() {
    // f(x) + wd/2 ‖x‖²  ⇒  x* = λ c / (λ + wd).
    let n = 5;
    let wd = 0.5;
    let q = Quadratic::new(n, seeded_uniform(21, n, -2.0, 2.0));
    let target: Vec<f64> = q
        .lambda
        .iter()
        .zip(&q.center)
        .map(|(l, c)| l * c / (l + wd))
        .collect();
    let mut adam = Adam::new(0.05).unwrap().weight_decay(wd).unwrap();
    let x = run(
        &mut adam,
        &q,
        &seeded_uniform(22, n, -3.0, 3.0),
        4000,
        0.05,
        1e-9,
    );
    let err = max_abs_diff(&x, &target);
    assert!(err <= 1e-6, "max |x − x*| = {err:e}");
}

#[test]
fn adam_decay_is_coupled_not_decoupled() {
    // With zero loss gradient, coupled decay feeds λθ through the moments: the first step is
    // η·sign(θ), not η·λ·θ.
    let mut adam = Adam::new(0.01).unwrap().weight_decay(0.3).unwrap();
    let mut p = vec![2.0];
    adam.step(&mut p, &[0.0]);
    assert!((p[0] - (2.0 - 0.01)).abs() < 1e-9, "{}", p[0]);
}

#[test]
fn reset_clears_the_moments() {
    let mut a = Adam::new(0.1).unwrap();
    let mut p = vec![0.0];
    a.step(&mut p, &[1.0]);
    a.step(&mut p, &[1.0]);
    a.reset();
    assert_eq!(a.steps(), 0);
    let mut q = vec![0.0];
    a.step(&mut q, &[-3.0]);
    assert!((q[0] - 0.1).abs() < 1e-9);
}

#[test]
fn bad_configuration_is_a_typed_error() {
    for lr in [0.0, -1.0, f64::NAN, f64::INFINITY] {
        assert!(matches!(Adam::new(lr), Err(Error::InvalidLearningRate(_))));
    }
    for (b1, b2) in [(1.0, 0.999), (0.9, 1.0), (-0.1, 0.9), (0.9, f64::NAN)] {
        assert!(
            matches!(
                Adam::new(0.1).unwrap().betas(b1, b2),
                Err(Error::InvalidParameter { .. })
            ),
            "{b1} {b2}"
        );
    }
    assert!(Adam::new(0.1).unwrap().betas(0.0, 0.0).is_ok());
    assert!(matches!(
        Adam::new(0.1).unwrap().eps(0.0),
        Err(Error::InvalidParameter { name: "eps", .. })
    ));
    assert!(matches!(
        Adam::new(0.1).unwrap().weight_decay(-1.0),
        Err(Error::InvalidParameter { .. })
    ));
    assert!(matches!(
        Adam::new(0.1).unwrap().weight_decay(f64::NAN),
        Err(Error::InvalidParameter { .. })
    ));
}

#[test]
#[should_panic(expected = "grad has length")]
fn mismatched_lengths_panic_with_a_clear_message() {
    let mut a = Adam::new(0.1).unwrap();
    a.step(&mut [0.0, 1.0], &[1.0]);
}

#[test]
fn adam_is_usable_as_a_trait_object() {
    let mut o: Box<dyn Optimizer> = Box::new(Adam::new(0.1).unwrap());
    o.set_learning_rate(0.05);
    assert_eq!(o.learning_rate(), 0.05);
    // The first step moves by the new rate: η·sign(g).
    let mut p = vec![1.0];
    o.step(&mut p, &[4.0]);
    assert!((p[0] - 0.95).abs() < 1e-9, "{}", p[0]);
}
