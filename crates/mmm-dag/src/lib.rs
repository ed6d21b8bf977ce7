//! Learning and scoring directed acyclic graphs (DAGs) over channels.
//!
//! - [`expm`]: the matrix exponential (own Padé-13 scaling and squaring, Higham 2005).
//! - [`Acyclicity`] with [`Notears`] (`tr(exp(W∘W)) − d`) and [`Dagma`]
//!   (`−log det(sI − W∘W) + d log s`): smooth functions that vanish exactly on DAGs, with
//!   gradients.
//! - [`AugmentedLagrangian`]: the NOTEARS penalty/multiplier schedule for `h(W) = 0`, usable by
//!   any loss that adds `h(W)`.
//! - [`threshold`], [`is_dag`], [`topological_order`]: turning a continuous `W` into a DAG.
//! - [`metrics`]: SHD, TPR, FDR, AUROC against a known graph.
//!
//! Convention everywhere: `W[i, j]` is the weight of the edge `i → j`. The maths is written out
//! in each module and in `docs/numeric-core/dag.md`.

mod acyclicity;
mod expm;
mod graph;
mod lagrangian;
pub mod metrics;

pub use acyclicity::{Acyclicity, Dagma, Notears};
pub use expm::{expm, norm1};
pub use graph::{is_dag, threshold, topological_order};
pub use lagrangian::AugmentedLagrangian;

/// Errors of the DAG crate.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A weight matrix that must be square is not.
    #[error("weight matrix must be square, got {rows}x{cols}")]
    NotSquare {
        /// Rows of the given matrix.
        rows: usize,
        /// Columns of the given matrix.
        cols: usize,
    },
    /// An output buffer has the wrong shape.
    #[error("buffer shape {got:?} does not match the expected {expected:?}")]
    ShapeMismatch {
        /// Expected shape.
        expected: (usize, usize),
        /// Given shape.
        got: (usize, usize),
    },
    /// `W` lies outside the DAGMA domain: `sI − W∘W` is not a nonsingular M-matrix.
    #[error(
        "W is outside the DAGMA domain for s = {s}: sI − W∘W is not an M-matrix (pivot {pivot} = {value})"
    )]
    OutsideDomain {
        /// The DAGMA scale `s`.
        s: f64,
        /// Index of the first non-positive elimination pivot.
        pivot: usize,
        /// Its value.
        value: f64,
    },
    /// A parameter (e.g. DAGMA's `s`) is out of range.
    #[error("invalid parameter: {0}")]
    InvalidParameter(String),
}

/// Result type of the DAG crate.
pub type Result<T> = std::result::Result<T, Error>;
