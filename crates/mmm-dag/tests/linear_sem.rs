//! End to end: the crate's acyclicity functions and augmented-Lagrangian schedule, with the
//! workspace's L-BFGS as inner solver, recover a random 10-node, 15-edge linear-SEM DAG from 1000
//! Gaussian samples (the linear NOTEARS setting of Zheng et al. 2018), with either NOTEARS or
//! DAGMA as `h`.
//!
//! The score, on the covariance `S = XᵀX/n` of the centred data and with `W = W⁺ − W⁻`
//! (`W⁺, W⁻ ≥ 0`, zero diagonals, so the ℓ₁ term is linear):
//!
//! ```text
//! F(W) = ½ tr((I − W)ᵀ S (I − W)) + λ Σ (W⁺ + W⁻) + ρ/2·h(W)² + α·h(W),   ∇_W = −S(I − W) + (ρh + α)∇h
//! ```

use mmm_dag::metrics::{auroc, fdr, shd, tpr};
use mmm_dag::{Acyclicity, AugmentedLagrangian, Dagma, Notears, is_dag, threshold};
use mmm_optim::{LbfgsConfig, minimize_lbfgs_box};
use ndarray::{Array2, ArrayView2, Axis};
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

/// The penalised score in the split variables `z = [vec(W⁺), vec(W⁻)]` (module docs).
struct Score<'a, H: Acyclicity + ?Sized> {
    cov: &'a Array2<f64>,
    h: &'a H,
    lambda: f64,
    rho: f64,
    alpha: f64,
}

impl<H: Acyclicity + ?Sized> Score<'_, H> {
    fn weights(&self, z: &[f64]) -> Array2<f64> {
        let d = self.cov.nrows();
        Array2::from_shape_fn((d, d), |(i, j)| z[i * d + j] - z[d * d + i * d + j])
    }

    /// Value at `z`, gradient into `g`; `+∞` outside the domain of `h` (DAGMA), which the line
    /// search of the L-BFGS treats as a failed trial step and backtracks from.
    fn eval(&self, z: &[f64], g: &mut [f64]) -> f64 {
        let d = self.cov.nrows();
        let w = self.weights(z);
        let r = Array2::eye(d) - &w;
        let sr = self.cov.dot(&r);
        let mut gh = Array2::zeros((d, d));
        let Ok(h) = self.h.value_and_grad(w.view(), gh.view_mut()) else {
            g.fill(0.0);
            return f64::INFINITY;
        };
        let scale = self.rho * h + self.alpha;
        for i in 0..d {
            for j in 0..d {
                let gw = -sr[[i, j]] + scale * gh[[i, j]];
                g[i * d + j] = gw + self.lambda;
                g[d * d + i * d + j] = -gw + self.lambda;
            }
        }
        0.5 * (&r * &sr).sum()
            + self.lambda * z.iter().sum::<f64>()
            + 0.5 * self.rho * h * h
            + self.alpha * h
    }
}

/// Linear NOTEARS with acyclicity `h`: L-BFGS-B inner solves, the crate's NOTEARS schedule
/// outside (re-solve with ρ × 10 until `h` shrinks by 4, then `α ← α + ρh`).
fn fit_linear_sem(x: ArrayView2<f64>, h: &impl Acyclicity) -> Array2<f64> {
    let (n, d) = x.dim();
    let xc = &x - &x.mean_axis(Axis(0)).unwrap();
    let cov = xc.t().dot(&xc) / n as f64;
    let diagonal = |k: usize| (k % (d * d)) / d == k % d;
    let lower = vec![0.0; 2 * d * d];
    let upper: Vec<f64> = (0..2 * d * d)
        .map(|k| if diagonal(k) { 0.0 } else { f64::INFINITY })
        .collect();
    let cfg = LbfgsConfig {
        grad_tol: 1e-7,
        max_evals: 100_000,
        ..LbfgsConfig::default()
    };
    let mut al = AugmentedLagrangian::default();
    let mut z = vec![0.0; 2 * d * d];
    for _ in 0..100 {
        let (z_new, h_new) = loop {
            let score = Score {
                cov: &cov,
                h,
                lambda: 0.1,
                rho: al.rho,
                alpha: al.alpha,
            };
            let r = minimize_lbfgs_box(|p, g| score.eval(p, g), &z, &lower, &upper, &cfg).unwrap();
            let h_new = h.value(score.weights(&r.x).view()).unwrap();
            if al.needs_more_penalty(h_new) && al.rho < al.rho_max {
                al.rho = (al.rho * al.rho_factor).min(al.rho_max);
            } else {
                break (r.x, h_new);
            }
        };
        z = z_new;
        al.alpha += al.rho * h_new;
        al.h_prev = h_new;
        if al.converged(h_new) {
            break;
        }
    }
    Score {
        cov: &cov,
        h,
        lambda: 0.0,
        rho: 0.0,
        alpha: 0.0,
    }
    .weights(&z)
}

fn recovers_a_10_node_15_edge_dag(h: &impl Acyclicity) {
    let mut rng = ChaCha8Rng::seed_from_u64(20240611);
    let w_true = random_dag(&mut rng, 10, 15);
    assert!(is_dag(w_true.view()));
    assert_eq!(w_true.iter().filter(|v| **v != 0.0).count(), 15);
    let x = simulate(&mut rng, &w_true, 1000);

    let w = fit_linear_sem(x.view(), h);
    let h_w = h.value(w.view()).unwrap();
    let est = threshold(w.view(), 0.3);
    let shd_v = shd(est.view(), w_true.view());
    eprintln!(
        "{h:?} linear d=10, 15 edges, n=1000: SHD = {shd_v}, TPR = {:.3}, FDR = {:.3}, AUROC = {:.4}, h(W) = {h_w:e}",
        tpr(est.view(), w_true.view()),
        fdr(est.view(), w_true.view()),
        auroc(w.view(), w_true.view()),
    );
    assert!(is_dag(est.view()));
    assert!(h_w <= 1e-6, "constraint not met: h = {h_w:e}");
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
fn notears_recovers_a_10_node_15_edge_dag() {
    recovers_a_10_node_15_edge_dag(&Notears);
}

#[test]
fn dagma_recovers_a_10_node_15_edge_dag() {
    recovers_a_10_node_15_edge_dag(&Dagma::default());
}

#[test]
fn score_gradient_matches_central_differences() {
    let d = 4;
    let z0 = mmm_testkit::seeded_uniform(3, 3 * d * d, -1.0, 1.0);
    let a = Array2::from_shape_fn((d, d), |(i, j)| z0[i * d + j]);
    let cov = a.t().dot(&a) + Array2::<f64>::eye(d) * 0.5;
    // Small weights: inside DAGMA's domain (ρ(W∘W) < 1).
    let z: Vec<f64> = z0[d * d..].iter().map(|v| 0.05 + 0.2 * v.abs()).collect();
    for h in [&Notears as &dyn Acyclicity, &Dagma::default()] {
        let score = Score {
            cov: &cov,
            h,
            lambda: 0.1,
            rho: 3.0,
            alpha: 0.7,
        };
        let mut g = vec![0.0; z.len()];
        score.eval(&z, &mut g);
        let mut scratch = vec![0.0; z.len()];
        mmm_testkit::assert_gradient(|p| score.eval(p, &mut scratch), &z, &g, 1e-6);
    }
}
