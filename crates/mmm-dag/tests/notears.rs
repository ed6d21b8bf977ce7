//! Linear NOTEARS recovers a random 10-node, 15-edge DAG from 1000 Gaussian samples.

use mmm_dag::metrics::{auroc, fdr, shd, tpr};
use mmm_dag::{Acyclicity, Notears, NotearsConfig, is_dag, notears_linear, threshold};
use ndarray::Array2;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;

/// Random DAG: `edges` distinct pairs consistent with a random node order, weights ±U[0.5, 2].
fn random_dag(rng: &mut ChaCha8Rng, d: usize, edges: usize) -> Array2<f64> {
    let mut order: Vec<usize> = (0..d).collect();
    order.shuffle(rng);
    let mut pairs: Vec<(usize, usize)> = (0..d)
        .flat_map(|a| (a + 1..d).map(move |b| (a, b)))
        .collect();
    pairs.shuffle(rng);
    let mut w = Array2::zeros((d, d));
    for &(a, b) in pairs.iter().take(edges) {
        let mag: f64 = rng.random_range(0.5..2.0);
        let sign = if rng.random_bool(0.5) { 1.0 } else { -1.0 };
        w[[order[a], order[b]]] = sign * mag;
    }
    w
}

/// `n` samples of the linear SEM `x_j = Σ_i x_i W_ij + ε_j`, ε ~ N(0, 1).
fn simulate(rng: &mut ChaCha8Rng, w: &Array2<f64>, n: usize) -> Array2<f64> {
    let d = w.nrows();
    let order = mmm_dag::topological_order(w.view()).expect("a DAG");
    let mut x = Array2::zeros((n, d));
    for r in 0..n {
        for &j in &order {
            let parent: f64 = (0..d).map(|i| x[[r, i]] * w[[i, j]]).sum();
            let eps: f64 = rng.sample(StandardNormal);
            x[[r, j]] = parent + eps;
        }
    }
    x
}

#[test]
fn recovers_a_10_node_15_edge_dag() {
    let mut rng = ChaCha8Rng::seed_from_u64(20240611);
    let w_true = random_dag(&mut rng, 10, 15);
    assert!(is_dag(w_true.view()));
    assert_eq!(w_true.iter().filter(|v| **v != 0.0).count(), 15);
    let x = simulate(&mut rng, &w_true, 1000);

    let start = std::time::Instant::now();
    let w = notears_linear(x.view(), &NotearsConfig::default()).unwrap();
    let elapsed = start.elapsed();
    let h = Notears.value(w.view()).unwrap();
    let est = threshold(w.view(), 0.3);
    let shd_v = shd(est.view(), w_true.view());
    eprintln!(
        "NOTEARS linear d=10, 15 edges, n=1000: SHD = {shd_v}, TPR = {:.3}, FDR = {:.3}, AUROC = {:.4}, h(W) = {h:e}, {elapsed:?}",
        tpr(est.view(), w_true.view()),
        fdr(est.view(), w_true.view()),
        auroc(w.view(), w_true.view()),
    );
    assert!(is_dag(est.view()));
    assert!(h <= 1e-6, "constraint not met: h = {h:e}");
    assert!(
        shd_v <= 2,
        "SHD {shd_v} > 2\nestimate:\n{est:.2}\ntruth:\n{w_true:.2}"
    );
    // Weights of recovered edges are close to the truth.
    for ((i, j), &t) in w_true.indexed_iter() {
        if t != 0.0 && est[[i, j]] != 0.0 {
            assert!(
                (est[[i, j]] - t).abs() < 0.3,
                "edge {i}→{j}: {} vs {t}",
                est[[i, j]]
            );
        }
    }
}

#[test]
fn deterministic_and_validates_input() {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let w_true = random_dag(&mut rng, 4, 3);
    let x = simulate(&mut rng, &w_true, 200);
    let cfg = NotearsConfig::default();
    let a = notears_linear(x.view(), &cfg).unwrap();
    let b = notears_linear(x.view(), &cfg).unwrap();
    assert_eq!(a, b);
    assert!(notears_linear(x.slice(ndarray::s![..1, ..]), &cfg).is_err());
    let mut bad = x.clone();
    bad[[3, 1]] = f64::NAN;
    assert!(notears_linear(bad.view(), &cfg).is_err());
    assert!(
        notears_linear(
            x.view(),
            &NotearsConfig {
                lambda1: -1.0,
                ..cfg
            }
        )
        .is_err()
    );
}

#[test]
fn single_variable_gives_zero() {
    let x = Array2::from_shape_fn((50, 1), |(i, _)| (i as f64).sin());
    let w = notears_linear(x.view(), &NotearsConfig::default()).unwrap();
    assert_eq!(w, Array2::zeros((1, 1)));
}
