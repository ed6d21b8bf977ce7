//! The crate's error type: invalid configuration and invalid problem input.

/// Errors reported by `mmm-optim` for bad configuration or bad problem input.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A learning rate that is not finite and strictly positive.
    #[error("invalid learning rate {0}: must be finite and > 0")]
    InvalidLearningRate(f64),
    /// A hyper-parameter outside its valid range.
    #[error("invalid {name} = {value}: must be {expected}")]
    InvalidParameter {
        /// Name of the hyper-parameter.
        name: &'static str,
        /// The rejected value.
        value: f64,
        /// Human-readable description of the valid range.
        expected: &'static str,
    },
    /// Two buffers that must have the same length do not.
    #[error("length mismatch: {what} has length {got}, expected {expected}")]
    LengthMismatch {
        /// Which buffer has the wrong length.
        what: &'static str,
        /// The required length.
        expected: usize,
        /// The actual length.
        got: usize,
    },
    /// An empty parameter vector was given to a minimiser.
    #[error("the parameter vector is empty")]
    EmptyParameters,
    /// A lower bound exceeds its upper bound (or a bound is NaN).
    #[error("invalid bounds at index {index}: lower {lower} > upper {upper}")]
    InvalidBounds {
        /// Coordinate with the inconsistent bounds.
        index: usize,
        /// Its lower bound.
        lower: f64,
        /// Its upper bound.
        upper: f64,
    },
    /// The objective or its gradient is not finite where it must be (at the starting point).
    #[error("non-finite {what} at the starting point: {value}")]
    NonFiniteObjective {
        /// `"objective"` or `"gradient"`.
        what: &'static str,
        /// The offending value (for a gradient, the first non-finite component).
        value: f64,
    },
}

/// Result alias for this crate.
pub type Result<T> = std::result::Result<T, Error>;

/// Checks that a learning rate is finite and strictly positive.
pub(crate) fn check_lr(lr: f64) -> Result<f64> {
    if lr.is_finite() && lr > 0.0 {
        Ok(lr)
    } else {
        Err(Error::InvalidLearningRate(lr))
    }
}

/// Checks that `value` lies in `[lo, hi)` (used for the Adam betas).
pub(crate) fn check_unit_interval(name: &'static str, value: f64) -> Result<f64> {
    if (0.0..1.0).contains(&value) {
        Ok(value)
    } else {
        Err(Error::InvalidParameter {
            name,
            value,
            expected: "in [0, 1)",
        })
    }
}

/// Checks that `value` is finite and `>= 0`.
pub(crate) fn check_non_negative(name: &'static str, value: f64) -> Result<f64> {
    if value.is_finite() && value >= 0.0 {
        Ok(value)
    } else {
        Err(Error::InvalidParameter {
            name,
            value,
            expected: "finite and >= 0",
        })
    }
}

/// Checks that `value` is finite and `> 0`.
pub(crate) fn check_positive(name: &'static str, value: f64) -> Result<f64> {
    if value.is_finite() && value > 0.0 {
        Ok(value)
    } else {
        Err(Error::InvalidParameter {
            name,
            value,
            expected: "finite and > 0",
        })
    }
}
