//! Scoring for marketing-mix models, as a plain library.
//!
//! Everything the project publishes is scored here, so that the model, the simulator,
//! `cargo xtask reproduce` and the budget optimiser all use one definition of every number.
//! The exact definitions, and why they are the right ones, are in `docs/evaluation.md`; each
//! module repeats the formulas it implements.
//!
//! - [`fit`]: goodness of fit of a `[region, week]` prediction against actuals under a boolean
//!   mask of scored cells — pooled R², **within-region R²** (each region demeaned by its own
//!   mean), per-region R² and its median, MAPE, wMAPE, RMSE, MAE, and the [`FitMetrics`] bundle.
//! - [`baselines`]: naive forecasts of the holdout weeks from the training weeks (per-region
//!   training mean, per-region mean of the last 13 observed training weeks, same week last
//!   year) and [`naive_baselines`], which scores all of them.
//! - [`attribution`]: recovery of known truth on simulations — contribution-share error, ROI
//!   relative error, Spearman rank correlation, response-curve error and optimiser regret.
//!
//! DAG recovery metrics (TPR, FDR, SHD) live in `mmm-dag`, next to the graph type.
//!
//! Conventions. Arrays are indexed `[region, week]`. A cell counts only where the mask is
//! `true`; unobserved cells of an unbalanced panel never influence any number, whatever they
//! hold (NaN included). The fit metrics return `f64` and use NaN for "undefined" (no scored
//! cell, zero variance); shape mismatches between `actual`, `pred` and `mask` are programming
//! errors and panic with a clear message. Functions that take user-level inputs (week ranges,
//! contribution vectors, optimiser values) return [`Result`].
//!
//! ```
//! use ndarray::array;
//! use mmm_eval::{naive_baselines, FitMetrics};
//!
//! // Two regions, four weeks; region 1's week 2 is unobserved.
//! let actual = array![[10.0, 12.0, 11.0, 13.0], [100.0, 90.0, f64::NAN, 95.0]];
//! let observed = array![[true, true, true, true], [true, true, false, true]];
//! let pred = array![[10.5, 11.5, 11.0, 12.0], [98.0, 92.0, 0.0, 96.0]];
//! let m = FitMetrics::compute(actual.view(), pred.view(), observed.view());
//! assert_eq!(m.n, 7);
//! assert!(m.r2_within <= m.r2_pooled);
//!
//! // Baselines for the last week, built from weeks 0..3 only.
//! let scored = naive_baselines(actual.view(), observed.view(), 0..3, 3..4).unwrap();
//! assert_eq!(scored[0].0, "train_mean");
//! assert_eq!(scored[0].1.n, 2);
//! ```

pub mod attribution;
pub mod baselines;
pub mod fit;

pub use attribution::{
    Regret, RoiErrors, contribution_shares, mean_abs_share_error_pp, optimiser_regret,
    response_curve_error, response_curve_error_on_grid, roi_relative_errors, share_error, spearman,
};
pub use baselines::{
    LAST_N_WEEKS, WEEKS_PER_YEAR, baseline_last_n_mean, baseline_same_week_last_year,
    baseline_training_mean, naive_baselines,
};
pub use fit::{
    FitMetrics, MAPE_REL_EPS, PerRegionR2, mae, mape, median, r2_per_region, r2_pooled, r2_within,
    rmse, wmape,
};

/// Errors for invalid inputs to the scoring functions.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Two inputs that must have the same length do not.
    #[error("length mismatch: {what} has {got} entries, expected {expected}")]
    LengthMismatch {
        /// Which input is wrong.
        what: &'static str,
        /// Its length.
        got: usize,
        /// The length it should have.
        expected: usize,
    },
    /// Two arrays that must have the same `[region, week]` shape do not.
    #[error("shape mismatch: {what} is {got:?}, expected {expected:?}")]
    ShapeMismatch {
        /// Which input is wrong.
        what: &'static str,
        /// Its shape.
        got: (usize, usize),
        /// The shape it should have.
        expected: (usize, usize),
    },
    /// An input that must not be empty is.
    #[error("{0} is empty")]
    Empty(&'static str),
    /// A value that is used is NaN or infinite.
    #[error("{what} is not finite at {location}")]
    NonFinite {
        /// Which input holds the value.
        what: &'static str,
        /// Where (an index, or `region r, week t`).
        location: String,
    },
    /// A contribution is negative, so shares over channels are not a distribution.
    #[error(
        "{what}: channel {index} has negative contribution {value}; shares need non-negative contributions"
    )]
    NegativeContribution {
        /// Which input holds the value.
        what: &'static str,
        /// Channel index.
        index: usize,
        /// The negative value.
        value: f64,
    },
    /// The training and holdout week ranges are not usable.
    #[error("invalid week ranges: {0}")]
    InvalidRange(String),
    /// The metric is mathematically undefined for these inputs.
    #[error("{metric} is undefined: {reason}")]
    Undefined {
        /// The metric.
        metric: &'static str,
        /// Why.
        reason: String,
    },
}

/// Result type of this crate.
pub type Result<T> = std::result::Result<T, Error>;
