//! The fitted dcmmm model: the artefact a fit produces, and everything computed from it.
//!
//! A [`FittedModel`] holds the configuration of the fit ([`FitConfig`]), the scalers, the
//! parameters, the channel DAG, the training record and the data history. It is built once, at
//! the end of a fit (`mmm_orchestrator::fit_panel`, the training crate), and saved as one
//! versioned file, `model.json` ([`FittedModel::save`]); [`FittedModel::load`] reads it back and
//! checks every field against the others ([`validate`]) so that nothing after it indexes out of
//! range.
//!
//! From a fitted model: prediction and the additive decomposition ([`FittedModel::predict`]),
//! the media response every channel's curve and marginal ROI come from ([`MediaResponse`]),
//! each channel's contribution, ROI, marginal ROI and share ([`FittedModel::channel_summaries`]),
//! the scorecard of `metrics.json` ([`Scorecard`]), the attribution summary of `summary.json`
//! ([`Summary`]), the answers to the configured lift tests
//! ([`FittedModel::lift_test_checks`]), how much each channel's activity moves
//! ([`FittedModel::activity_variation`]) and what a reader should know before using the fit
//! ([`FittedModel::caveats`] and the notes beside it); [`FitResults`] computes the prediction, the
//! decomposition, the summary and the history curves once, for the files of a fit and its
//! report. The results of the stability assessment
//! ([`Stability`]) are kept here too, beside the attribution they spread.

pub mod attribution;
pub mod calibration;
pub mod config;
pub mod metrics;
pub mod model;
mod notes;
pub mod predict;
pub mod response;
pub mod results;
pub mod stability;
pub mod summary;
pub mod validate;
pub mod variation;

pub use attribution::ChannelSummary;
pub use calibration::{Label, LiftTestCheck, LiftTestSpec};
pub use config::{EpochRecord, FitConfig, TrainConfig, VALIDATION_REGION_WEEKS};
pub use metrics::{BaselineScore, PathChoice, PathScore, Scorecard, ValidationScore, WeekCounts};
/// How clearly the data determine a channel of the media screen (kept in [`ScreenedMedia`]).
pub use mmm_linear::Evidence;
pub use model::{
    FittedModel, History, MIN_REGION_FIT_WEEKS, MODEL_FORMAT, MODEL_VERSION, ScreenedMedia,
};
pub use response::MediaResponse;
pub use results::{FitResults, HistoryCurve, history_multipliers};
pub use stability::{ChannelStability, Spread, Stability, StabilityFit, Start};
pub use summary::Summary;
pub use variation::LOW_VARIATION;

/// Errors of the fitted-model crate.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A setting of the fit's configuration is out of range, or a lift test does not match the
    /// panel; the message names the key.
    #[error("invalid training configuration: {0}")]
    Config(String),
    /// The model rejected its inputs or configuration.
    #[error(transparent)]
    Model(#[from] mmm_model::Error),
    /// The panel was rejected. Boxed: data errors carry file, row and column, and would make
    /// every `Result` of this crate large.
    #[error(transparent)]
    Data(Box<mmm_data::Error>),
    /// Scoring failed.
    #[error(transparent)]
    Eval(#[from] mmm_eval::Error),
    /// A within-region regression (the activity variation) failed.
    #[error("within-region regression: {0}")]
    Screen(#[from] mmm_linear::Error),
    /// Reading or writing a file failed.
    #[error("{0}: {1}")]
    Io(String, #[source] std::io::Error),
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
}

impl From<mmm_data::Error> for Error {
    fn from(e: mmm_data::Error) -> Self {
        Error::Data(Box::new(e))
    }
}

/// Result alias of the fitted-model crate.
pub type Result<T> = std::result::Result<T, Error>;
