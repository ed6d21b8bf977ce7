//! Acyclicity functions: zero on DAGs, positive on cycles, gradients by finite differences.

use mmm_dag::{Acyclicity, Dagma, Error, Notears};
use mmm_testkit::{assert_gradient, seeded_uniform};
use ndarray::{Array2, ArrayView2, array};
use proptest::prelude::*;

/// A random DAG with weights in ±[0.3, 0.9]·scale on a random (seeded) node order.
fn random_dag(seed: u64, d: usize, scale: f64) -> Array2<f64> {
    let z = seeded_uniform(seed, 2 * d * d + d, 0.0, 1.0);
    // permutation from sorting random keys
    let mut perm: Vec<usize> = (0..d).collect();
    perm.sort_by(|&a, &b| z[2 * d * d + a].total_cmp(&z[2 * d * d + b]));
    let mut w = Array2::zeros((d, d));
    for a in 0..d {
        for b in a + 1..d {
            if z[a * d + b] < 0.6 {
                let mag = 0.3 + 0.6 * z[d * d + a * d + b];
                let sign = if z[d * d + b * d + a] < 0.5 {
                    -1.0
                } else {
                    1.0
                };
                w[[perm[a], perm[b]]] = sign * mag * scale;
            }
        }
    }
    w
}

fn both() -> Vec<Box<dyn Acyclicity>> {
    vec![Box::new(Notears), Box::new(Dagma { s: 1.0 })]
}

#[test]
fn zero_on_dags() {
    for h in both() {
        for seed in 0..20 {
            for d in [1, 2, 5, 10] {
                // DAGMA's domain includes every DAG (ρ(W∘W) = 0 < s).
                let w = random_dag(seed, d, 1.5);
                let v = h.value(w.view()).unwrap();
                assert!(v.abs() <= 1e-12, "{h:?} d = {d} seed {seed}: h = {v:e}");
                let mut g = Array2::zeros((d, d));
                let v2 = h.value_and_grad(w.view(), g.view_mut()).unwrap();
                assert_eq!(v, v2);
            }
        }
    }
}

#[test]
fn positive_on_cycles() {
    let two_cycle = array![[0.0, 0.5], [0.4, 0.0]];
    let self_loop = array![[0.3, 0.0], [0.0, 0.0]];
    // 0→1→2→3→0 with weights 0.3 plus an acyclic tail 3→4→5.
    let mut long = Array2::zeros((6, 6));
    for (i, j) in [(0, 1), (1, 2), (2, 3), (3, 0), (3, 4), (4, 5)] {
        long[[i, j]] = 0.3;
    }
    assert!(!mmm_dag::is_dag(long.view()));
    for h in both() {
        for w in [&two_cycle, &self_loop] {
            let v = h.value(w.view()).unwrap();
            assert!(v > 1e-3, "{h:?}: h = {v} on a cycle");
        }
        // longer cycle 0→1→2→3→0 with weights 0.3: h ≈ c·0.3⁸ is small but clearly positive
        let v = h.value(long.view()).unwrap();
        assert!(v > 1e-6, "{h:?}: h = {v:e} on a 4-cycle");
    }
    // NOTEARS closed form for a 2-cycle with a = w01², b = w10²: tr exp([[0,a],[b,0]]) = 2 cosh(√(ab)).
    let (a, b): (f64, f64) = (0.25, 0.16);
    let want = 2.0 * (a * b).sqrt().cosh() - 2.0;
    assert!((Notears.value(two_cycle.view()).unwrap() - want).abs() < 1e-14);
    // DAGMA closed form: −log det([[1, −a], [−b, 1]]) = −log(1 − ab).
    assert!((Dagma { s: 1.0 }.value(two_cycle.view()).unwrap() + (1.0 - a * b).ln()).abs() < 1e-14);
}

#[test]
fn dagma_rejects_points_outside_its_domain() {
    let w = array![[0.0, 2.0], [1.0, 0.0]]; // ρ(W∘W) = 2 > 1
    let mut g = Array2::zeros((2, 2));
    assert!(matches!(
        Dagma { s: 1.0 }.value(w.view()),
        Err(Error::OutsideDomain { .. })
    ));
    assert!(matches!(
        Dagma { s: 1.0 }.value_and_grad(w.view(), g.view_mut()),
        Err(Error::OutsideDomain { .. })
    ));
    // det(sI − W∘W) = 1 − 16 < 0 here too, but also a case with det > 0 outside the domain:
    // block-diag of two 2-cycles each with ρ = 2: det = (1 − 4)² = 9 > 0, still rejected.
    let mut w4 = Array2::zeros((4, 4));
    for (i, j) in [(0, 1), (1, 0), (2, 3), (3, 2)] {
        w4[[i, j]] = 2f64.sqrt();
    }
    assert!(matches!(
        Dagma { s: 1.0 }.value(w4.view()),
        Err(Error::OutsideDomain { .. })
    ));
    assert!(Dagma { s: 5.0 }.value(w4.view()).unwrap() > 0.0); // larger s widens the domain
    assert!(matches!(
        Dagma { s: 0.0 }.value(w.view()),
        Err(Error::InvalidParameter(_))
    ));
    let selfloop = array![[1.5]];
    assert!(Dagma { s: 1.0 }.value(selfloop.view()).is_err());
}

#[test]
fn shape_errors_are_typed() {
    let w = Array2::<f64>::zeros((2, 3));
    for h in both() {
        assert!(matches!(
            h.value(w.view()),
            Err(Error::NotSquare { rows: 2, cols: 3 })
        ));
        let sq = Array2::<f64>::zeros((2, 2));
        let mut g = Array2::zeros((3, 3));
        assert!(matches!(
            h.value_and_grad(sq.view(), g.view_mut()),
            Err(Error::ShapeMismatch { .. })
        ));
    }
}

/// Checks `h`'s gradient at `w` against central differences.
///
/// h(W) is a small difference of terms of size `cancelled` (NOTEARS: tr e^{W∘W} − d, with the
/// trace ≈ d; DAGMA: −log det(sI − W∘W) + d log s), so each value carries the rounding of those
/// terms, not of h. The checker estimates the stencil's rounding from |f|, so it is given h plus
/// that constant: the gradient is the same, and the rounding estimate is that of the terms
/// actually computed (without it, coordinates whose derivative is ~1e-8 failed at 1e-6 on
/// rounding alone, e.g. 2.066075e-8 against 2.066034e-8).
fn check_grad(h: &dyn Acyclicity, w: ArrayView2<f64>, cancelled: f64) {
    let d = w.nrows();
    let mut g = Array2::from_elem((d, d), f64::NAN); // must be overwritten
    h.value_and_grad(w, g.view_mut()).unwrap();
    let x: Vec<f64> = w.iter().copied().collect();
    let analytic: Vec<f64> = g.iter().copied().collect();
    assert_gradient(
        |p| h.value(ArrayView2::from_shape((d, d), p).unwrap()).unwrap() + cancelled,
        &x,
        &analytic,
        1e-6,
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]

    #[test]
    fn notears_gradient(d in 1usize..8, seed in any::<u64>(), scale in 0.1f64..1.5) {
        let z = seeded_uniform(seed, d * d, -scale, scale);
        let w = Array2::from_shape_vec((d, d), z).unwrap();
        check_grad(&Notears, w.view(), d as f64);
    }

    #[test]
    fn dagma_gradient(d in 1usize..8, seed in any::<u64>(), s in 0.5f64..3.0) {
        // |w_ij| ≤ 0.9·√(s/d) ⇒ row sums of W∘W ≤ 0.81 s ⇒ ρ(W∘W) < s (inside the domain,
        // and far enough from its edge for the finite-difference stencil).
        let b = 0.9 * (s / d as f64).sqrt();
        let z = seeded_uniform(seed, d * d, -b, b);
        let w = Array2::from_shape_vec((d, d), z).unwrap();
        check_grad(&Dagma { s }, w.view(), d as f64 * (1.0 + s.ln().abs()));
    }

    #[test]
    fn dagma_is_nonnegative_in_domain_and_notears_too(d in 1usize..8, seed in any::<u64>()) {
        let b = 0.9 / (d as f64).sqrt();
        let w = Array2::from_shape_vec((d, d), seeded_uniform(seed, d * d, -b, b)).unwrap();
        let dagma = Dagma { s: 1.0 }.value(w.view()).unwrap();
        let notears = Notears.value(w.view()).unwrap();
        prop_assert!(dagma >= -1e-14, "dagma h = {}", dagma);
        prop_assert!(notears >= -1e-14, "notears h = {}", notears);
    }
}
