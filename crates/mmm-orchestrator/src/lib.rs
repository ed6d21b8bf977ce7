//! Multi-region training of the DeepCausalMMM model.
//!
//! [`train`] runs the deterministic full-batch training loop with validation-driven learning-rate
//! reduction and early stopping (the holdout never enters). Regions are processed in parallel
//! inside the model's forward and backward passes (rayon over region chunks in the GRU, over
//! channels in the transforms), always with fixed-order reductions.
//!
//! [`fit_panel`] fits a loaded panel end to end and returns a [`FittedModel`] (`model.json`, checked
//! field by field when loaded: [`validate`]); [`backtest`] fits it at several rolling origins and
//! scores each forecast beside the naive baselines;
//! [`FittedModel::channel_summaries`] gives each channel's contribution, ROI, marginal ROI and
//! share; [`assess_stability`] refits (from random starts, or on bootstrap resamples of the regions) to
//! show how much of that the data decide;
//! lift tests in the configuration ([`LiftTestSpec`]) calibrate the fit to experiments;
//! [`FittedModel::activity_variation`] says how much each channel's activity moves apart from its
//! regions' baselines, the variation its effect is identified from.

pub mod attribution;
pub mod backtest;
pub mod calibration;
pub mod fit;
pub mod metrics;
pub mod stability;
pub mod train;
pub mod validate;
pub mod variation;

pub use attribution::ChannelSummary;
pub use backtest::{Backtest, OriginScore, Origins, Scores, backtest};
pub use calibration::{Label, LiftTestCheck, LiftTestSpec};
pub use fit::{
    FitConfig, FittedModel, History, MAX_SCREENED_MEDIA_SHARE, MIN_REGION_FIT_WEEKS, MODEL_FORMAT,
    MODEL_VERSION, PathChoice, PathScore, SCREEN_MIN_REGIONS, ScreenedMedia, ValidationScore,
    fit_panel, fit_panel_with,
};
pub use metrics::{BaselineScore, Scorecard, WeekCounts};
/// How clearly the data determine a channel of the media screen (kept in [`ScreenedMedia`]).
pub use mmm_linear::Evidence;
pub use stability::{ChannelStability, Spread, Stability, StabilityFit, Start, assess_stability};
pub use train::{EpochRecord, Progress, TrainConfig, TrainOutcome, VALIDATION_REGION_WEEKS, train};
pub use variation::LOW_VARIATION;

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
    /// Reading or writing a file failed.
    #[error("{0}: {1}")]
    Io(String, #[source] std::io::Error),
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
    /// `model.json` is malformed.
    #[error("invalid model file: {0}")]
    ModelFile(String),
    /// A field of `model.json` disagrees with the others or is out of range.
    #[error("{path}: {field}: {problem}")]
    InvalidModel {
        /// The file.
        path: String,
        /// The field, as a path into the JSON (`dag.weights[3]`).
        field: String,
        /// What was expected and found.
        problem: String,
    },
    /// The model's prediction overflowed: its parameters, or the data it was given, are out of
    /// range.
    #[error(
        "the prediction for region `{region}`, week {week} is not finite: the model's parameters or the data are out of range"
    )]
    NonFinitePrediction {
        /// The region.
        region: String,
        /// The week.
        week: String,
    },
    /// `model.json` was written by another version of dcmmm.
    #[error(
        "{path}: model file version {found}, this dcmmm reads version {expected}; refit the model with this version"
    )]
    ModelVersion {
        /// The file.
        path: String,
        /// Version found in the file.
        found: u64,
        /// Version this build reads.
        expected: u32,
    },
    /// No region has enough observed training weeks to be trained.
    #[error(
        "no region has {needed} observed weeks before the validation slice; shorten the holdout \
         or the validation slice (`--holdout-weeks`, `[train] validation_weeks`)"
    )]
    NoTrainableRegion {
        /// Observed weeks a region needs ([`MIN_REGION_FIT_WEEKS`]).
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
