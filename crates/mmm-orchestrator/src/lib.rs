//! Multi-region training of the DeepCausalMMM model.
//!
//! [`train`] runs the deterministic full-batch training loop with validation-driven learning-rate
//! reduction and early stopping (the holdout never enters). Regions are processed in parallel
//! inside the model's forward and backward passes (rayon over region chunks in the GRU, over
//! channels in the transforms), always with fixed-order reductions.

pub mod train;

pub use train::{EpochRecord, Progress, TrainConfig, TrainOutcome, train};

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

/// Result alias of the orchestrator crate.
pub type Result<T> = std::result::Result<T, Error>;

#[cfg(test)]
mod tests;
