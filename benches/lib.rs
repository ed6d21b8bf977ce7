//! Shared helpers for the criterion benchmarks: deterministic inputs at the paper's sizes.

/// The paper-scale panel shape: 190 regions × 109 weeks × 13 channels × 7 controls.
pub const PAPER_SHAPE: (usize, usize, usize, usize) = (190, 109, 13, 7);
