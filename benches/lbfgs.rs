//! The workspace's L-BFGS (`mmm_optim::minimize_lbfgs_box`) against argmin 0.11's `LBFGS`
//! (More–Thuente line search, the same memory) on the problems the product solves with it:
//!
//! * `hill_fit` — the Hill curve of `mmm_analysis::curves::fit_hill` (3 parameters, box bounds,
//!   four starts) fitted to 41 points of a saturating response that is not a Hill curve;
//! * `nnls` — the non-negative least squares of `mmm_linear::bounded_least_squares` (7 free
//!   control effects, 13 channel effects ≥ 0, three of them at the bound), as the media screen and
//!   the oracle solve it. argmin has no bound constraints, so its run solves the same problem with
//!   the non-negative effects written as θ = z².
//!
//! Before the timings it prints each solver's objective value, so that speed is compared at
//! equal results (docs/experiments.md, *argmin against the own L-BFGS*).
//!
//! Run: `cargo bench -p dcmmm-benches --bench lbfgs`.

use argmin::core::{CostFunction, Executor, Gradient, State};
use argmin::solver::linesearch::MoreThuenteLineSearch;
use argmin::solver::quasinewton::LBFGS;
use criterion::Criterion;
use dcmmm_benches::uniform2;
use mmm_analysis::curves::hill_loss;
use mmm_optim::{LbfgsConfig, minimize_lbfgs_box};
use ndarray::Array2;
use std::hint::black_box;

/// A smooth objective as the workspace's solver takes it (value, gradient written in place).
trait Objective {
    fn eval(&self, x: &[f64], g: &mut [f64]) -> f64;
}

/// An [`Objective`] as argmin's traits.
struct ForArgmin<'a, O>(&'a O);

impl<O: Objective> CostFunction for ForArgmin<'_, O> {
    type Param = Vec<f64>;
    type Output = f64;
    fn cost(&self, x: &Vec<f64>) -> Result<f64, argmin::core::Error> {
        let mut g = vec![0.0; x.len()];
        Ok(self.0.eval(x, &mut g))
    }
}

impl<O: Objective> Gradient for ForArgmin<'_, O> {
    type Param = Vec<f64>;
    type Gradient = Vec<f64>;
    fn gradient(&self, x: &Vec<f64>) -> Result<Vec<f64>, argmin::core::Error> {
        let mut g = vec![0.0; x.len()];
        self.0.eval(x, &mut g);
        Ok(g)
    }
}

/// argmin's L-BFGS from `x0`: the best parameters and value.
fn argmin_lbfgs<O: Objective>(objective: &O, x0: &[f64], cfg: &LbfgsConfig) -> (Vec<f64>, f64) {
    let solver = LBFGS::new(MoreThuenteLineSearch::new(), cfg.memory)
        .with_tolerance_grad(cfg.grad_tol)
        .expect("tolerance")
        .with_tolerance_cost(cfg.f_tol)
        .expect("tolerance");
    let res = Executor::new(ForArgmin(objective), solver)
        .configure(|s| s.param(x0.to_vec()).max_iters(cfg.max_iters as u64))
        .run()
        .expect("argmin runs");
    let state = res.state();
    (
        state.get_best_param().expect("a best point").clone(),
        state.get_best_cost(),
    )
}

/// The Hill fit of `fit_hill` on scaled points.
struct HillFit {
    x: Vec<f64>,
    y: Vec<f64>,
}

impl Objective for HillFit {
    fn eval(&self, t: &[f64], g: &mut [f64]) -> f64 {
        hill_loss(t, &self.x, &self.y, g)
    }
}

/// `fit_hill`'s settings: starts, bounds and tolerances.
const HILL_STARTS: [(f64, f64); 4] = [(1.0, 1.0), (0.5, 2.0), (2.0, 0.8), (1.0, 3.0)];
const HILL_LOWER: [f64; 3] = [1e-6, 1e-3, 0.1];
const HILL_UPPER: [f64; 3] = [100.0, 1e3, 10.0];

fn hill_cfg() -> LbfgsConfig {
    LbfgsConfig {
        max_iters: 500,
        grad_tol: 1e-12,
        f_tol: 1e-15,
        ..LbfgsConfig::default()
    }
}

impl HillFit {
    /// 41 points of a saturating response `1 − exp(−1.3 m)` at spend multipliers 0…2, scaled as
    /// `fit_hill` scales them (x / current spend, y / max y).
    fn new() -> HillFit {
        let x: Vec<f64> = (0..=40).map(|i| i as f64 * 0.05).collect();
        let raw: Vec<f64> = x.iter().map(|m| 1.0 - (-1.3 * m).exp()).collect();
        let top = raw.iter().copied().fold(0.0, f64::max);
        HillFit {
            y: raw.iter().map(|v| v / top).collect(),
            x,
        }
    }

    /// The best of the four starts with the workspace's solver.
    fn ours(&self) -> (Vec<f64>, f64) {
        let mut best = (Vec::new(), f64::INFINITY);
        for (k0, s0) in HILL_STARTS {
            let r = minimize_lbfgs_box(
                |t: &[f64], g: &mut [f64]| self.eval(t, g),
                &[1.5, k0, s0],
                &HILL_LOWER,
                &HILL_UPPER,
                &hill_cfg(),
            )
            .expect("solver runs");
            if r.value < best.1 {
                best = (r.x, r.value);
            }
        }
        best
    }

    /// The best of the four starts with argmin (unconstrained: the bounds are not active here).
    fn argmin(&self) -> (Vec<f64>, f64) {
        let mut best = (Vec::new(), f64::INFINITY);
        for (k0, s0) in HILL_STARTS {
            let r = argmin_lbfgs(self, &[1.5, k0, s0], &hill_cfg());
            if r.1 < best.1 {
                best = r;
            }
        }
        best
    }
}

/// The non-negative least squares of the media screen: `½θᵀGθ − bᵀθ` on unit-length columns,
/// θ_i ≥ 0 for i ≥ `free`.
struct Nnls {
    g: Array2<f64>,
    b: Vec<f64>,
    free: usize,
}

impl Nnls {
    /// 7 control columns and 13 channel columns over 18 240 cells (190 regions × 96 weeks),
    /// correlated through a shared factor; three channels truly harmful, so their bound is active.
    fn new() -> Nnls {
        let (n, controls, channels) = (190 * 96, 7, 13);
        let p = controls + channels;
        let raw = uniform2(11, (p, n), -1.0, 1.0);
        let shared = uniform2(12, (1, n), -1.0, 1.0);
        let noise = uniform2(13, (1, n), -0.5, 0.5);
        let cols = Array2::from_shape_fn((p, n), |(i, c)| raw[[i, c]] + 0.6 * shared[[0, c]]);
        let effect: Vec<f64> = (0..p)
            .map(|i| match i {
                i if i < controls => 0.3 - 0.1 * i as f64,
                i if i >= p - 3 => -0.2,
                i => 0.05 * (i - controls + 1) as f64,
            })
            .collect();
        let y: Vec<f64> = (0..n)
            .map(|c| (0..p).map(|i| effect[i] * cols[[i, c]]).sum::<f64>() + noise[[0, c]])
            .collect();
        let columns: Vec<&[f64]> = cols
            .rows()
            .into_iter()
            .map(|r| r.to_slice().expect("contiguous"))
            .collect();
        let gram = mmm_linear::gram(&columns);
        let rhs = mmm_linear::cross(&columns, &y);
        // Unit-length columns, as `bounded_least_squares` solves it.
        let d: Vec<f64> = (0..p).map(|i| gram[[i, i]].sqrt()).collect();
        Nnls {
            g: Array2::from_shape_fn((p, p), |(i, j)| gram[[i, j]] / (d[i] * d[j])),
            b: (0..p).map(|i| rhs[i] / d[i]).collect(),
            free: controls,
        }
    }

    fn value(&self, theta: &[f64], grad: &mut [f64]) -> f64 {
        let p = self.b.len();
        let mut f = 0.0;
        for i in 0..p {
            let gx: f64 = (0..p).map(|j| self.g[[i, j]] * theta[j]).sum();
            grad[i] = gx - self.b[i];
            f += 0.5 * theta[i] * gx - self.b[i] * theta[i];
        }
        f
    }

    fn cfg() -> LbfgsConfig {
        LbfgsConfig {
            max_iters: 10_000,
            grad_tol: 1e-10,
            ..LbfgsConfig::default()
        }
    }

    /// The workspace's bounded solver, as `bounded_least_squares` calls it.
    fn ours(&self) -> (Vec<f64>, f64) {
        let p = self.b.len();
        let mut lower = vec![f64::NEG_INFINITY; p];
        lower[self.free..].fill(0.0);
        let r = minimize_lbfgs_box(
            |x: &[f64], g: &mut [f64]| self.value(x, g),
            &vec![0.0; p],
            &lower,
            &vec![f64::INFINITY; p],
            &Self::cfg(),
        )
        .expect("solver runs");
        (r.x, r.value)
    }

    /// argmin on θ_i = z_i² for the non-negative effects (from z = 0.1: z = 0 is a stationary
    /// point of the squared coordinates).
    fn argmin(&self) -> (Vec<f64>, f64) {
        let p = self.b.len();
        let mut z0 = vec![0.0; p];
        z0[self.free..].fill(0.1);
        let (z, value) = argmin_lbfgs(&Squared(self), &z0, &Self::cfg());
        (Squared(self).theta(&z), value)
    }
}

/// [`Nnls`] with its non-negative effects written as squares.
struct Squared<'a>(&'a Nnls);

impl Squared<'_> {
    fn theta(&self, z: &[f64]) -> Vec<f64> {
        z.iter()
            .enumerate()
            .map(|(i, v)| if i < self.0.free { *v } else { v * v })
            .collect()
    }
}

impl Objective for Squared<'_> {
    fn eval(&self, z: &[f64], g: &mut [f64]) -> f64 {
        let f = self.0.value(&self.theta(z), g);
        for (i, gi) in g.iter_mut().enumerate().skip(self.0.free) {
            *gi *= 2.0 * z[i];
        }
        f
    }
}

fn main() {
    let hill = HillFit::new();
    let nnls = Nnls::new();
    let (ours, argmin) = (hill.ours(), hill.argmin());
    eprintln!(
        "hill_fit: ours loss {:.6e} at {:.6?}; argmin loss {:.6e} at {:.6?}",
        ours.1, ours.0, argmin.1, argmin.0
    );
    let (ours, argmin) = (nnls.ours(), nnls.argmin());
    let gap = ours
        .0
        .iter()
        .zip(&argmin.0)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max);
    eprintln!(
        "nnls: ours objective {:.12e}; argmin (θ = z²) objective {:.12e}; max |Δθ| {gap:.2e}",
        ours.1, argmin.1
    );

    let mut c = Criterion::default().configure_from_args();
    let mut group = c.benchmark_group("lbfgs");
    group.bench_function("hill_fit/ours", |b| b.iter(|| black_box(hill.ours())));
    group.bench_function("hill_fit/argmin", |b| b.iter(|| black_box(hill.argmin())));
    group.bench_function("nnls/ours", |b| b.iter(|| black_box(nnls.ours())));
    group.bench_function("nnls/argmin", |b| b.iter(|| black_box(nnls.argmin())));
    group.finish();
    c.final_summary();
}
