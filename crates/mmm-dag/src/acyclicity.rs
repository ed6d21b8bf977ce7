//! Smooth acyclicity functions `h(W)` and their gradients.
//!
//! Both functions are zero exactly when the weighted graph `W` (edge `i → j` iff `W_ij ≠ 0`) is
//! acyclic and positive otherwise, so the constraint `h(W) = 0` can be enforced by an augmented
//! Lagrangian ([`crate::AugmentedLagrangian`]).
//!
//! **NOTEARS** (Zheng et al. 2018): with `A = W ∘ W` (entrywise square),
//!
//! ```text
//! h(W) = tr(exp(A)) − d,        ∇h(W) = exp(A)ᵀ ∘ 2W.
//! ```
//!
//! `tr(exp(A)) = Σ_k tr(A^k)/k!` counts weighted closed walks; all terms with `k ≥ 1` vanish iff
//! there is no cycle. The derivative follows from `d tr(exp(A)) = tr(exp(A) dA)`.
//!
//! **DAGMA** (Bello et al. 2022): for `s > 0` and `W` in the domain where `M = sI − W∘W` is a
//! nonsingular M-matrix (equivalently `s > ρ(W∘W)`),
//!
//! ```text
//! h(W) = −log det(sI − W∘W) + d·log s,     ∇h(W) = 2 (sI − W∘W)⁻ᵀ ∘ W.
//! ```
//!
//! The domain test uses the characterisation "a Z-matrix is a nonsingular M-matrix iff all its
//! leading principal minors are positive": Gaussian elimination without pivoting on `M` (stable
//! for M-matrices) must produce only positive pivots, whose logs sum to `log det M`. Outside the
//! domain a typed [`Error::OutsideDomain`](crate::Error::OutsideDomain) is returned.

use crate::expm::expm;
use crate::{Error, Result};
use faer::Mat;
use faer::linalg::solvers::DenseSolveCore;
use ndarray::{Array2, ArrayView2, ArrayViewMut2, Zip};
use std::fmt::Debug;

/// A differentiable acyclicity function `h(W) ≥ 0` with `h(W) = 0` iff `W` is a DAG.
pub trait Acyclicity: Send + Sync + Debug {
    /// The value `h(W)` for a square weight matrix `W`.
    fn value(&self, w: ArrayView2<f64>) -> Result<f64>;

    /// The value `h(W)`; writes `∇h(W)` into `grad` (overwritten, same shape as `w`).
    fn value_and_grad(&self, w: ArrayView2<f64>, grad: ArrayViewMut2<f64>) -> Result<f64>;
}

fn check_square(w: &ArrayView2<f64>) -> Result<usize> {
    let (r, c) = w.dim();
    if r != c {
        return Err(Error::NotSquare { rows: r, cols: c });
    }
    Ok(r)
}

fn check_grad_shape(w: &ArrayView2<f64>, grad: &ArrayViewMut2<f64>) -> Result<()> {
    if w.dim() != grad.dim() {
        return Err(Error::ShapeMismatch {
            expected: w.dim(),
            got: grad.dim(),
        });
    }
    Ok(())
}

/// NOTEARS acyclicity `h(W) = tr(exp(W∘W)) − d` (Zheng et al. 2018).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Notears;

impl Notears {
    fn exp_sq(w: ArrayView2<f64>) -> (Array2<f64>, f64) {
        let e = expm(w.mapv(|x| x * x).view());
        // Sum the diagonal as (e_ii − 1) so a DAG gives exact cancellation per term.
        let h = e.diag().iter().map(|v| v - 1.0).sum::<f64>();
        (e, h)
    }
}

impl Acyclicity for Notears {
    fn value(&self, w: ArrayView2<f64>) -> Result<f64> {
        check_square(&w)?;
        Ok(Self::exp_sq(w).1)
    }

    fn value_and_grad(&self, w: ArrayView2<f64>, mut grad: ArrayViewMut2<f64>) -> Result<f64> {
        check_square(&w)?;
        check_grad_shape(&w, &grad)?;
        let (e, h) = Self::exp_sq(w);
        Zip::from(&mut grad)
            .and(&e.t())
            .and(&w)
            .for_each(|g, &et, &wij| *g = 2.0 * et * wij);
        Ok(h)
    }
}

/// DAGMA log-determinant acyclicity `h(W) = −log det(sI − W∘W) + d·log s` (Bello et al. 2022).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Dagma {
    /// The scale `s > 0`; the domain is `ρ(W∘W) < s`.
    pub s: f64,
}

impl Default for Dagma {
    /// `s = 1`, as in the DAGMA paper.
    fn default() -> Self {
        Self { s: 1.0 }
    }
}

impl Dagma {
    /// Builds `M = sI − W∘W`, checks the domain and returns `(M, log det M)`.
    fn m_and_logdet(&self, w: ArrayView2<f64>) -> Result<(Array2<f64>, f64)> {
        let d = check_square(&w)?;
        if !(self.s.is_finite() && self.s > 0.0) {
            return Err(Error::InvalidParameter(format!(
                "DAGMA scale s must be positive and finite, got {}",
                self.s
            )));
        }
        let mut m = w.mapv(|x| -x * x);
        for i in 0..d {
            m[[i, i]] += self.s;
        }
        // Gaussian elimination without pivoting on a copy: all pivots > 0 iff M is a
        // nonsingular M-matrix (M is a Z-matrix by construction).
        let mut lu = m.clone();
        let mut logdet = 0.0;
        for k in 0..d {
            let p = lu[[k, k]];
            if !(p.is_finite() && p > 0.0) {
                return Err(Error::OutsideDomain {
                    s: self.s,
                    pivot: k,
                    value: p,
                });
            }
            logdet += p.ln();
            for i in k + 1..d {
                let l = lu[[i, k]] / p;
                if l != 0.0 {
                    for j in k + 1..d {
                        let u = lu[[k, j]];
                        lu[[i, j]] -= l * u;
                    }
                }
            }
        }
        Ok((m, logdet))
    }
}

impl Acyclicity for Dagma {
    fn value(&self, w: ArrayView2<f64>) -> Result<f64> {
        let (_, logdet) = self.m_and_logdet(w)?;
        Ok(-logdet + w.nrows() as f64 * self.s.ln())
    }

    fn value_and_grad(&self, w: ArrayView2<f64>, mut grad: ArrayViewMut2<f64>) -> Result<f64> {
        check_square(&w)?;
        check_grad_shape(&w, &grad)?;
        let (m, logdet) = self.m_and_logdet(w)?;
        let d = w.nrows();
        let fm = Mat::<f64>::from_fn(d, d, |i, j| m[[i, j]]);
        let inv = fm.partial_piv_lu().inverse();
        for ((i, j), g) in grad.indexed_iter_mut() {
            *g = 2.0 * inv[(j, i)] * w[[i, j]];
        }
        Ok(-logdet + d as f64 * self.s.ln())
    }
}
