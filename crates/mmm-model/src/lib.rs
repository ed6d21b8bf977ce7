//! The DeepCausalMMM model in Rust.
//!
//! * [`ModelInputs`] holds a panel's scaled arrays and the derived calendar features;
//! * [`Model`] holds the structure (transforms per channel, the GRU, the parameter [`Layout`]) and
//!   computes the forward pass, the hand-written backward pass, the Huber loss with its penalties
//!   and the additive [`Decomposition`];
//! * [`Calibration`] adds lift tests (experiments) to the loss as a likelihood term;
//! * parameters are one flat `Vec<f64>` so that one optimiser updates them all.
//!
//! The equations, the scaling and the reasons behind the defaults are in `docs/model.md`.

pub mod calibration;
pub mod causal;
pub mod config;
pub mod inputs;
pub mod layout;
pub mod model;
pub mod structural;

pub use calibration::{Calibration, LiftTest};
pub use causal::{AcyclicityKind, ChannelDag, DagConfig, fit_channel_dag};
pub use config::{
    KernelStart, MAX_FOURIER_HARMONICS, MAX_HIDDEN, MediaFit, ModelConfig, Penalties,
    RegionWeighting,
};
pub use inputs::ModelInputs;
pub use layout::Layout;
pub use model::{ChannelSeeds, Decomposition, Loss, Model, Tape};
pub use structural::Structural;

/// Errors of the model crate.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A hyper-parameter is out of range; the message names the key.
    #[error("invalid model configuration: {0}")]
    Config(String),
    /// Arrays do not fit together.
    #[error("shape mismatch: {0}")]
    Shape(String),
    /// Input values the model cannot use (non-finite, negative media, nothing to fit).
    #[error("invalid model input: {0}")]
    Input(String),
}

/// Result alias of the model crate.
pub type Result<T> = std::result::Result<T, Error>;

#[cfg(test)]
mod tests;
