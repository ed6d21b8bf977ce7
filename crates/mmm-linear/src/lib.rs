//! Linear regressions on region × week panels with each region's own level, trend and yearly
//! seasonality partialled out (Frisch–Waugh–Lovell).
//!
//! * [`WithinRegion`]: residualises any `[region, week]` column on the region's intercept, linear
//!   trend and two yearly Fourier pairs, over a span of weeks and the observed cells only. A
//!   regression of residuals on residuals then gives the pooled coefficients of the full
//!   regression with every region's own nuisance terms, without ever forming that large problem.
//! * [`KernelScreen`]: chooses, channel by channel, the lag kernel under which the channels'
//!   adstocked activity best explains the target in such a regression — where dcmmm's adstocks
//!   start before gradient training refines them (docs/model.md §8).
//! * [`gram`], [`cross`], [`explained`]: the small dense algebra both use.
//!
//! The maths and the measurements behind the screen's grid are in `docs/model.md` §8.

mod screen;
mod within;

pub use screen::{KernelScreen, ScreenData};
pub use within::{MIN_WEEKS, TERMS, WithinRegion};

use faer::Mat;
use faer::linalg::solvers::Solve;
use ndarray::Array2;

/// Errors of this crate.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// No region has enough observed weeks to separate its own terms from the signal.
    #[error(
        "no region has more than {MIN_WEEKS} observed weeks in weeks {start}..{end}: \
         its level, trend and seasonality cannot be separated from the signal"
    )]
    TooFewWeeks {
        /// First week of the span.
        start: usize,
        /// One past the last week of the span.
        end: usize,
    },
    /// Arrays whose sizes do not fit together.
    #[error("shape mismatch: {0}")]
    Shape(String),
    /// A screen that cannot run as configured.
    #[error("kernel screen: {0}")]
    Screen(String),
}

/// Result alias of this crate.
pub type Result<T> = std::result::Result<T, Error>;

/// Dot product.
fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Gram matrix `XᵀX` of residual columns (each one value per cell).
pub fn gram(columns: &[&[f64]]) -> Array2<f64> {
    let p = columns.len();
    let mut g = Array2::zeros((p, p));
    for i in 0..p {
        for j in i..p {
            let v = dot(columns[i], columns[j]);
            g[[i, j]] = v;
            g[[j, i]] = v;
        }
    }
    g
}

/// `Xᵀy` for residual columns `X` and a residual target `y`.
pub fn cross(columns: &[&[f64]], y: &[f64]) -> Vec<f64> {
    columns.iter().map(|c| dot(c, y)).collect()
}

/// The sum of squares that the least-squares fit explains, `bᵀ G⁻¹ b` for `G = XᵀX`, `b = Xᵀy`
/// (the residual sum of squares is `yᵀy` minus this).
///
/// Columns are rescaled to unit length and a ridge of 1e-10 is added, so collinear columns
/// share their fit instead of failing; an all-zero column explains nothing.
pub fn explained(gram: &Array2<f64>, rhs: &[f64]) -> f64 {
    let active: Vec<usize> = (0..rhs.len()).filter(|&i| gram[[i, i]] > 0.0).collect();
    let p = active.len();
    if p == 0 {
        return 0.0;
    }
    let d: Vec<f64> = active.iter().map(|&i| gram[[i, i]].sqrt()).collect();
    let g = Mat::<f64>::from_fn(p, p, |a, b| {
        gram[[active[a], active[b]]] / (d[a] * d[b]) + if a == b { 1e-10 } else { 0.0 }
    });
    let b = Mat::<f64>::from_fn(p, 1, |a, _| rhs[active[a]] / d[a]);
    let theta = g.partial_piv_lu().solve(&b);
    (0..p).map(|a| theta[(a, 0)] * b[(a, 0)]).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explained_is_the_projection_and_survives_collinear_and_zero_columns() {
        // y = 2·x1 + e with e ⟂ x1: explained = ‖2·x1‖².
        let x1 = [1.0, -1.0, 0.0, 0.0];
        let e = [0.0, 0.0, 1.0, -1.0];
        let y: Vec<f64> = x1.iter().zip(&e).map(|(a, b)| 2.0 * a + b).collect();
        let cols: Vec<&[f64]> = vec![&x1];
        let ex = explained(&gram(&cols), &cross(&cols, &y));
        assert!((ex - 8.0).abs() < 1e-8, "{ex}");
        // A copy of x1 and an all-zero column change nothing.
        let zero = [0.0; 4];
        let cols: Vec<&[f64]> = vec![&x1, &x1, &zero];
        let ex2 = explained(&gram(&cols), &cross(&cols, &y));
        assert!((ex2 - 8.0).abs() < 1e-6, "{ex2}");
        // Adding e explains everything.
        let cols: Vec<&[f64]> = vec![&x1, &e];
        let all = explained(&gram(&cols), &cross(&cols, &y));
        assert!((all - dot(&y, &y)).abs() < 1e-8, "{all}");
        assert_eq!(explained(&gram(&[]), &[]), 0.0);
    }
}
