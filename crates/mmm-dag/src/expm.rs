//! The matrix exponential by Padé scaling and squaring (Higham 2005).
//!
//! For a square matrix `A`, `exp(A) ≈ r_m(A/2^s)^{2^s}` with the diagonal Padé approximant
//!
//! ```text
//! r_m(X) = q_m(X)⁻¹ p_m(X),   p_m(X) = Σ_{k=0}^{m} b_k X^k,   q_m(X) = p_m(−X).
//! ```
//!
//! Splitting `p_m` into odd and even parts, `U = Σ_{k odd} b_k X^k`, `V = Σ_{k even} b_k X^k`,
//! gives `p_m = V + U`, `q_m = V − U`, so one LU solve `(V − U) R = (V + U)` yields `r_m`.
//!
//! Degree and scaling follow Higham (2005), "The scaling and squaring method for the matrix
//! exponential revisited", Algorithm 2.3: with `‖A‖₁ ≤ θ_m` for `m ∈ {3, 5, 7, 9}` the smallest
//! such `m` is used without scaling (backward error ≤ 2⁻⁵³ in exact arithmetic); otherwise
//! `m = 13` and `s = max(0, ⌈log₂(‖A‖₁ / θ₁₃)⌉)`. The degree-13 evaluation uses Higham's
//! 6-product scheme (`A², A⁴, A⁶`). The linear solve is faer's LU with partial pivoting; the
//! products are ndarray's `dot`.

use faer::Mat;
use faer::linalg::solvers::Solve;
use ndarray::{Array2, ArrayView2};

/// θ_m thresholds for the 1-norm (Higham 2005, Table 2.3), for m = 3, 5, 7, 9, 13.
const THETA_3: f64 = 1.495_585_217_958_292e-2;
const THETA_5: f64 = 2.539_398_330_063_23e-1;
const THETA_7: f64 = 9.504_178_996_162_932e-1;
const THETA_9: f64 = 2.097_847_961_257_068;
const THETA_13: f64 = 5.371_920_351_148_152;

const B3: [f64; 4] = [120.0, 60.0, 12.0, 1.0];
const B5: [f64; 6] = [30240.0, 15120.0, 3360.0, 420.0, 30.0, 1.0];
const B7: [f64; 8] = [
    17_297_280.0,
    8_648_640.0,
    1_995_840.0,
    277_200.0,
    25_200.0,
    1512.0,
    56.0,
    1.0,
];
const B9: [f64; 10] = [
    17_643_225_600.0,
    8_821_612_800.0,
    2_075_673_600.0,
    302_702_400.0,
    30_270_240.0,
    2_162_160.0,
    110_880.0,
    3960.0,
    90.0,
    1.0,
];
const B13: [f64; 14] = [
    64_764_752_532_480_000.0,
    32_382_376_266_240_000.0,
    7_771_770_303_897_600.0,
    1_187_353_796_428_800.0,
    129_060_195_264_000.0,
    10_559_470_521_600.0,
    670_442_572_800.0,
    33_522_128_640.0,
    1_323_241_920.0,
    40_840_800.0,
    960_960.0,
    16_380.0,
    182.0,
    1.0,
];

/// Matrix 1-norm: the largest absolute column sum.
pub fn norm1(a: ArrayView2<f64>) -> f64 {
    a.columns()
        .into_iter()
        .map(|c| c.iter().map(|v| v.abs()).sum::<f64>())
        .fold(0.0, f64::max)
}

/// The matrix exponential `exp(A)` of a square matrix (Padé 3/5/7/9/13 with scaling and squaring).
///
/// Non-finite entries propagate into the result (no panic). An empty `0 × 0` matrix gives an
/// empty matrix.
///
/// # Panics
/// If `a` is not square.
pub fn expm(a: ArrayView2<f64>) -> Array2<f64> {
    let n = a.nrows();
    assert_eq!(
        n,
        a.ncols(),
        "expm needs a square matrix, got {}x{}",
        n,
        a.ncols()
    );
    if n == 0 {
        return Array2::zeros((0, 0));
    }
    let eye = Array2::<f64>::eye(n);
    let norm = norm1(a);
    if !norm.is_finite() {
        return Array2::from_elem((n, n), f64::NAN);
    }

    // Low degrees: odd/even split with the powers A², A⁴, … computed once.
    let low: Option<&[f64]> = if norm <= THETA_3 {
        Some(&B3)
    } else if norm <= THETA_5 {
        Some(&B5)
    } else if norm <= THETA_7 {
        Some(&B7)
    } else if norm <= THETA_9 {
        Some(&B9)
    } else {
        None
    };
    if let Some(b) = low {
        let a2 = a.dot(&a);
        let mut u_inner = &eye * b[1];
        let mut v = &eye * b[0];
        let mut pow = a2.clone(); // A^{2k}
        let m = b.len() - 1;
        let mut k = 2;
        while k <= m {
            v.scaled_add(b[k], &pow);
            if k < m {
                u_inner.scaled_add(b[k + 1], &pow);
            }
            k += 2;
            if k <= m {
                pow = pow.dot(&a2);
            }
        }
        let u = a.dot(&u_inner);
        return pade_solve(&u, &v);
    }

    // Degree 13 with scaling.
    let s = (norm / THETA_13).log2().ceil().max(0.0) as i32;
    let scale = 2f64.powi(-s);
    let a = a.mapv(|x| x * scale);
    let b = &B13;
    let a2 = a.dot(&a);
    let a4 = a2.dot(&a2);
    let a6 = a4.dot(&a2);

    let mut inner = &a6 * b[13];
    inner.scaled_add(b[11], &a4);
    inner.scaled_add(b[9], &a2);
    let mut u_inner = a6.dot(&inner);
    u_inner.scaled_add(b[7], &a6);
    u_inner.scaled_add(b[5], &a4);
    u_inner.scaled_add(b[3], &a2);
    u_inner.scaled_add(b[1], &eye);
    let u = a.dot(&u_inner);

    let mut inner = &a6 * b[12];
    inner.scaled_add(b[10], &a4);
    inner.scaled_add(b[8], &a2);
    let mut v = a6.dot(&inner);
    v.scaled_add(b[6], &a6);
    v.scaled_add(b[4], &a4);
    v.scaled_add(b[2], &a2);
    v.scaled_add(b[0], &eye);

    let mut r = pade_solve(&u, &v);
    for _ in 0..s {
        r = r.dot(&r);
    }
    r
}

/// Solves `(V − U) R = (V + U)` with faer's partially pivoted LU.
fn pade_solve(u: &Array2<f64>, v: &Array2<f64>) -> Array2<f64> {
    let n = u.nrows();
    let q = Mat::<f64>::from_fn(n, n, |i, j| v[[i, j]] - u[[i, j]]);
    let p = Mat::<f64>::from_fn(n, n, |i, j| v[[i, j]] + u[[i, j]]);
    let r = q.partial_piv_lu().solve(&p);
    Array2::from_shape_fn((n, n), |(i, j)| r[(i, j)])
}
