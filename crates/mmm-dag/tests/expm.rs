//! `expm` against nalgebra's `Matrix::exp()` and against exact identities.

use mmm_dag::{expm, norm1};
use mmm_testkit::seeded_uniform;
use nalgebra::DMatrix;
use ndarray::{Array2, array};

fn rel_frob(a: &Array2<f64>, b: &Array2<f64>) -> f64 {
    let diff = (a - b).mapv(|v| v * v).sum().sqrt();
    let nb = b.mapv(|v| v * v).sum().sqrt();
    diff / nb.max(f64::MIN_POSITIVE)
}

fn random_with_norm(seed: u64, n: usize, target_norm1: f64) -> Array2<f64> {
    let z = seeded_uniform(seed, n * n, -1.0, 1.0);
    let a = Array2::from_shape_vec((n, n), z).unwrap();
    let s = target_norm1 / norm1(a.view());
    a * s
}

#[test]
fn matches_nalgebra_on_random_matrices() {
    let mut worst = 0.0_f64;
    for (k, &n) in [1usize, 2, 5, 13, 50].iter().enumerate() {
        for (m, &nrm) in [1e-3, 1e-2, 0.2, 0.9, 2.0, 5.0, 12.0, 50.0]
            .iter()
            .enumerate()
        {
            let a = random_with_norm(1000 * k as u64 + m as u64, n, nrm);
            let ours = expm(a.view());
            let na = DMatrix::from_fn(n, n, |i, j| a[[i, j]]).exp();
            let theirs = Array2::from_shape_fn((n, n), |(i, j)| na[(i, j)]);
            let e = rel_frob(&ours, &theirs);
            worst = worst.max(e);
            assert!(
                e <= 1e-10,
                "n = {n}, ‖A‖₁ = {nrm}: relative Frobenius error {e:e}"
            );
        }
    }
    eprintln!("worst relative Frobenius error vs nalgebra: {worst:e}");
}

#[test]
fn exp_of_zero_is_identity() {
    for n in [1, 3, 7] {
        assert_eq!(
            expm(Array2::<f64>::zeros((n, n)).view()),
            Array2::<f64>::eye(n)
        );
    }
    assert_eq!(expm(Array2::<f64>::zeros((0, 0)).view()).dim(), (0, 0));
}

#[test]
fn exp_a_times_exp_minus_a_is_identity() {
    // Rounding in the product E·E⁻ is of order ε‖E‖‖E⁻‖ (cancellation when exp(A) has large
    // entries), so the tolerance scales with that product; for small ‖A‖ it is ~1e-13 absolute.
    for (seed, nrm) in [(1u64, 0.1), (2, 1.5), (3, 8.0), (4, 30.0)] {
        let a = random_with_norm(seed, 8, nrm);
        let (e, em) = (expm(a.view()), expm((-&a).view()));
        let p = e.dot(&em);
        let frob = |m: &Array2<f64>| m.mapv(|v| v * v).sum().sqrt();
        let err = frob(&(&p - &Array2::<f64>::eye(8)));
        let tol = 1e-13 * (frob(&e) * frob(&em)).max(1.0);
        assert!(err <= tol, "‖A‖₁ = {nrm}: ‖E·E⁻ − I‖_F = {err:e} > {tol:e}");
    }
}

#[test]
fn diagonal_matrices_exponentiate_entrywise() {
    let diag = [-20.0, -1.0, 0.0, 1e-4, 0.7, 3.0, 12.0];
    let a = Array2::from_diag(&ndarray::arr1(&diag));
    let e = expm(a.view());
    for i in 0..diag.len() {
        for j in 0..diag.len() {
            if i == j {
                let r = (e[[i, i]] - diag[i].exp()).abs() / diag[i].exp();
                assert!(r < 1e-13, "entry {i}: {} vs {}", e[[i, i]], diag[i].exp());
            } else {
                assert_eq!(e[[i, j]], 0.0);
            }
        }
    }
}

#[test]
fn nilpotent_matrix_gives_finite_series() {
    // N strictly upper triangular with N³ = 0: exp(N) = I + N + N²/2 exactly.
    let n = array![[0.0, 2.0, -3.0], [0.0, 0.0, 5.0], [0.0, 0.0, 0.0]];
    let want = Array2::<f64>::eye(3) + &n + n.dot(&n) / 2.0;
    let got = expm(n.view());
    assert!(rel_frob(&got, &want) < 1e-14, "{got}");
    // A large nilpotent matrix exercises the scaling-and-squaring branch.
    let big = &n * 20.0;
    let want = Array2::<f64>::eye(3) + &big + big.dot(&big) / 2.0;
    assert!(rel_frob(&expm(big.view()), &want) < 1e-12);
}

#[test]
fn rotation_generator() {
    // exp([[0, −t], [t, 0]]) = [[cos t, −sin t], [sin t, cos t]]
    for t in [0.01_f64, 1.0, 4.0, 40.0] {
        let a = array![[0.0, -t], [t, 0.0]];
        let want = array![[t.cos(), -t.sin()], [t.sin(), t.cos()]];
        assert!(rel_frob(&expm(a.view()), &want) < 1e-12, "t = {t}");
    }
}
