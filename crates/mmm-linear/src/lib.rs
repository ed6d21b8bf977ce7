//! Linear regressions on region × week panels with each region's own level, trend and yearly
//! seasonality partialled out (Frisch–Waugh–Lovell).
//!
//! * [`WithinRegion`]: residualises any `[region, week]` column on the region's intercept, linear
//!   trend and two yearly Fourier pairs, over a span of weeks and the observed cells only. A
//!   regression of residuals on residuals then gives the pooled coefficients of the full
//!   regression with every region's own nuisance terms, without ever forming that large problem.
//! * [`KernelScreen`]: chooses, channel by channel, the lag kernel under which the channels'
//!   adstocked activity best explains the target in such a regression — where dcmmm's adstocks
//!   start before gradient training refines them (docs/model.md, *Defaults and how they were chosen*).
//! * [`MediaScreen`]: chooses each channel's lag kernel and saturation curve together and
//!   estimates its non-negative effect — the media part of dcmmm when it is fitted in two
//!   stages (`[model] media_fit = "screen"`, docs/model.md, *Outcome equation*).
//! * [`gram`], [`cross`], [`explained`], [`bounded_least_squares`]: the small dense algebra they
//!   use.
//!
//! The maths and the measurements behind the screen's grid are in docs/model.md, *Defaults and how they were chosen*.

mod media;
mod screen;
#[cfg(test)]
mod testdata;
mod within;

pub use media::{Evidence, Experiment, MediaScreen, ScreenedMedia};
pub use screen::{KernelScreen, ScreenData};
pub use within::{MIN_WEEKS, TERMS, WithinRegion};

use faer::Mat;
use faer::linalg::solvers::Solve;
use ndarray::{Array2, ArrayView1};

// The BLAS behind ndarray's products with the `blas` feature (openblas-src picks the system one).
#[cfg(feature = "blas")]
use blas_src as _;
#[cfg(feature = "blas")]
use openblas_src as _;

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
    #[error("screen: {0}")]
    Screen(String),
    /// The bounded least-squares solver failed or did not converge.
    #[error("bounded least squares: {0}")]
    Solver(String),
}

/// Result alias of this crate.
pub type Result<T> = std::result::Result<T, Error>;

/// Dot product.
fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Residual columns (`n` values each, one per cell) as the rows of one `[p, n]`
/// matrix, so that the products of [`gram`], [`cross`] and the screens are ndarray matrix
/// products: `matrixmultiply` by default, the system OpenBLAS with the `blas` feature.
///
/// # Panics
/// If a column's length is not `n`.
pub(crate) fn stack(columns: &[&[f64]], n: usize) -> Array2<f64> {
    let mut x = Array2::zeros((columns.len(), n));
    for (mut row, c) in x.rows_mut().into_iter().zip(columns) {
        row.assign(&ArrayView1::from(*c));
    }
    x
}

/// Gram matrix `XXᵀ` of stacked columns ([`stack`]), exactly symmetric.
pub(crate) fn gram_of(x: &Array2<f64>) -> Array2<f64> {
    let mut g = x.dot(&x.t());
    // The product's two triangles may round differently (BLAS); keep the upper one.
    let p = g.nrows();
    for i in 0..p {
        for j in 0..i {
            g[[i, j]] = g[[j, i]];
        }
    }
    g
}

/// Gram matrix `XᵀX` of residual columns (each one value per cell).
///
/// # Panics
/// If the columns differ in length.
pub fn gram(columns: &[&[f64]]) -> Array2<f64> {
    gram_of(&stack(columns, columns.first().map_or(0, |c| c.len())))
}

/// `Xᵀy` for residual columns `X` and a residual target `y`.
///
/// # Panics
/// If a column's length differs from `y`'s.
pub fn cross(columns: &[&[f64]], y: &[f64]) -> Vec<f64> {
    stack(columns, y.len()).dot(&ArrayView1::from(y)).to_vec()
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

/// The least-squares coefficients `θ = argmin ½ θᵀGθ − bᵀθ` for `G = XᵀX`, `b = Xᵀy`, with
/// `θ_i ≥ 0` for every `i ≥ nonnegative_from` (the others free).
///
/// A convex quadratic with box constraints, solved to convergence by the bounded L-BFGS of
/// `mmm-optim` on unit-length columns (for conditioning; an all-zero column gets θ = 0). With no
/// active bound this is ordinary least squares.
///
/// # Errors
/// [`Error::Shape`] when `gram` is not `p × p` for `p = rhs.len()`; [`Error::Solver`] when the
/// solver fails or does not converge.
pub fn bounded_least_squares(
    gram: &Array2<f64>,
    rhs: &[f64],
    nonnegative_from: usize,
) -> Result<Vec<f64>> {
    let p = rhs.len();
    if gram.dim() != (p, p) {
        return Err(Error::Shape(format!(
            "a {:?} Gram matrix for {p} right-hand sides",
            gram.dim()
        )));
    }
    if p == 0 {
        return Ok(Vec::new());
    }
    let scale: Vec<f64> = (0..p)
        .map(|i| {
            let d = gram[[i, i]].sqrt();
            if d > 0.0 { d } else { 1.0 }
        })
        .collect();
    let objective = |x: &[f64], g: &mut [f64]| {
        let mut f = 0.0;
        for i in 0..p {
            let gx: f64 = (0..p)
                .map(|j| gram[[i, j]] / (scale[i] * scale[j]) * x[j])
                .sum();
            g[i] = gx - rhs[i] / scale[i];
            f += 0.5 * x[i] * gx - rhs[i] / scale[i] * x[i];
        }
        f
    };
    let mut lower = vec![f64::NEG_INFINITY; p];
    lower[nonnegative_from.min(p)..].fill(0.0);
    let upper = vec![f64::INFINITY; p];
    let cfg = mmm_optim::LbfgsConfig {
        max_iters: 10_000,
        grad_tol: 1e-10,
        ..Default::default()
    };
    let res = mmm_optim::minimize_lbfgs_box(objective, &vec![0.0; p], &lower, &upper, &cfg)
        .map_err(|e| Error::Solver(e.to_string()))?;
    if !res.converged {
        return Err(Error::Solver(format!(
            "no convergence ({:?})",
            res.termination
        )));
    }
    Ok(res
        .x
        .iter()
        .zip(&scale)
        .enumerate()
        .map(|(i, (x, d))| if gram[[i, i]] > 0.0 { x / d } else { 0.0 })
        .collect())
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

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(24))]
        /// At the solution the KKT conditions hold: zero gradient on free and positive
        /// coefficients, a non-negative one on coefficients at their bound; without bounds it is
        /// the ordinary least-squares fit.
        #[test]
        fn bounded_least_squares_meets_the_kkt_conditions(
            seed in 0u64..1000, p in 1usize..7, n_extra in 0usize..30, free in 0usize..7,
        ) {
            let n = p + n_extra + 1;
            let x = mmm_testkit::seeded_uniform(seed, n * p, -1.0, 1.0);
            let y = mmm_testkit::seeded_uniform(seed + 1, n, -1.0, 1.0);
            let columns: Vec<&[f64]> = x.chunks(n).collect();
            let (g, b) = (gram(&columns), cross(&columns, &y));
            let theta = bounded_least_squares(&g, &b, free).unwrap();
            let scale = g.diag().iter().cloned().fold(0.0, f64::max);
            for i in 0..p {
                let grad: f64 = (0..p).map(|j| g[[i, j]] * theta[j]).sum::<f64>() - b[i];
                if i < free || theta[i] > 0.0 {
                    proptest::prop_assert!(grad.abs() < 1e-6 * scale, "{i}: {grad} {theta:?}");
                } else {
                    proptest::prop_assert!(theta[i] == 0.0 && grad > -1e-6 * scale, "{i}: {grad}");
                }
            }
            // Unbounded: the explained sum of squares is the projection's.
            let ols = bounded_least_squares(&g, &b, p).unwrap();
            let fit: f64 = ols.iter().zip(&b).map(|(t, b)| t * b).sum();
            let ex = explained(&g, &b);
            proptest::prop_assert!((fit - ex).abs() < 1e-6 * ex.max(1e-3), "{fit} vs {ex}");
        }
    }

    #[test]
    fn bounded_least_squares_checks_shapes() {
        let g = Array2::zeros((2, 3));
        assert!(matches!(
            bounded_least_squares(&g, &[1.0, 2.0], 0),
            Err(Error::Shape(_))
        ));
        assert_eq!(
            bounded_least_squares(&Array2::zeros((0, 0)), &[], 0).unwrap(),
            Vec::<f64>::new()
        );
    }
}
