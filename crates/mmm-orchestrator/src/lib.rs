//! Multi-region training of the DeepCausalMMM model.
//!
//! [`train`] runs the deterministic full-batch training loop with validation-driven learning-rate
//! reduction and early stopping (the holdout never enters). Regions are processed in parallel
//! inside the model's forward and backward passes (rayon over region chunks in the GRU, over
//! channels in the transforms), always with fixed-order reductions.
//!
//! [`fit_panel`] fits a loaded panel end to end and builds the fitted model
//! ([`mmm_fitted::FittedModel`], saved as `model.json`) once, at the end; [`backtest`] fits it at
//! several rolling origins and scores each forecast beside the naive baselines;
//! [`assess_stability`] refits (from random starts, or on bootstrap resamples of the regions) to
//! show how much of the attribution the data decide; lift tests in the configuration
//! ([`mmm_fitted::LiftTestSpec`]) calibrate the fit to experiments ([`calibration`]).

pub mod backtest;
pub mod calibration;
pub mod config;
pub mod fit;
pub mod stability;
pub mod train;

pub use backtest::{Backtest, OriginScore, Origins, Scores, backtest, backtest_with};
pub use config::FitFile;
pub use fit::{MAX_SCREENED_MEDIA_SHARE, SCREEN_MIN_REGIONS, fit_panel, fit_panel_with};
pub use stability::assess_stability;
pub use train::{Progress, TrainOutcome, train};

/// Errors of the orchestrator crate.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A training setting is out of range; the message names the key.
    #[error("invalid training configuration: {0}")]
    Config(String),
    /// The model rejected its inputs or configuration.
    #[error(transparent)]
    Model(#[from] mmm_model::Error),
    /// The panel was rejected (too few weeks, a region with a non-positive mean, ...). Boxed:
    /// data errors carry file, row and column, and would make every `Result` of this crate large.
    #[error(transparent)]
    Data(Box<mmm_data::Error>),
    /// Scoring failed.
    #[error(transparent)]
    Eval(#[from] mmm_eval::Error),
    /// A within-region regression (the lag-kernel screen, the activity variation) failed.
    #[error("within-region regression: {0}")]
    Screen(#[from] mmm_linear::Error),
    /// A `fit.toml` cannot be read or is not valid (the message names the key and its line).
    #[error("{path}: {message}")]
    ConfigFile {
        /// The file.
        path: String,
        /// What is wrong (from the TOML parser when the file is not valid).
        message: String,
    },
    /// `media_fit = "screen"` asks for the two-stage fit with transforms the media screen has no
    /// closed form for (it needs the Weibull adstock and the Hill saturation).
    #[error(
        "`media_fit = \"screen\"` needs the `weibull` adstock and the `hill` saturation (the media \
         screen's closed forms), not `{adstock}` with `{saturation}`; use `media_fit = \"joint\"` \
         or `\"auto\"`"
    )]
    TwoStageTransforms {
        /// The configured adstock.
        adstock: String,
        /// The configured saturation.
        saturation: String,
    },
    /// The fitted model rejected its inputs, or its configuration is out of range.
    #[error(transparent)]
    Fitted(#[from] mmm_fitted::Error),
    /// No region has enough observed training weeks to be trained.
    #[error(
        "no region has {needed} observed weeks before the validation slice; shorten the holdout \
         or the validation slice (`--holdout-weeks`, `[train] validation_weeks`)"
    )]
    NoTrainableRegion {
        /// Observed weeks a region needs ([`mmm_fitted::MIN_REGION_FIT_WEEKS`]).
        needed: usize,
    },
    /// The loss became NaN or infinite.
    #[error(
        "training diverged (non-finite loss) at epoch {epoch} of stage {stage}; try a lower learning_rate"
    )]
    Diverged {
        /// Epoch at which the loss was non-finite.
        epoch: usize,
        /// Training stage.
        stage: u8,
    },
}

impl From<mmm_data::Error> for Error {
    fn from(e: mmm_data::Error) -> Self {
        Error::Data(Box::new(e))
    }
}

/// Result alias of the orchestrator crate.
pub type Result<T> = std::result::Result<T, Error>;

#[cfg(test)]
mod fit_tests;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod variation_tests;
