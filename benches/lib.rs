//! Shared helpers for the criterion benchmarks: deterministic inputs at the paper's sizes.

/// The paper-scale panel shape: 190 regions × 109 weeks × 13 channels × 7 controls.
pub const PAPER_SHAPE: (usize, usize, usize, usize) = (190, 109, 13, 7);

use mmm_testkit::seeded_uniform;
use ndarray::{Array2, Array3};

/// A `(rows, columns)` array of seeded uniform values in `[lo, hi)`.
pub fn uniform2(seed: u64, shape: (usize, usize), lo: f64, hi: f64) -> Array2<f64> {
    Array2::from_shape_vec(shape, seeded_uniform(seed, shape.0 * shape.1, lo, hi)).expect("shape")
}

/// A three-axis array of seeded uniform values in `[lo, hi)`.
pub fn uniform3(seed: u64, shape: (usize, usize, usize), lo: f64, hi: f64) -> Array3<f64> {
    let n = shape.0 * shape.1 * shape.2;
    Array3::from_shape_vec(shape, seeded_uniform(seed, n, lo, hi)).expect("shape")
}
