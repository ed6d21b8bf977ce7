//! Posterior inference with NUTS over the interpretable part of a fitted dcmmm model
//! (docs/model.md, "Posterior").
//!
//! * [`PosteriorModel`]: the log density and its hand-written gradient over one unconstrained
//!   vector — per-channel effects (as contribution fractions of the training target), adstock and
//!   saturation parameters (through `mmm-transforms`), hierarchical region multipliers, controls,
//!   region levels, trend, Fourier seasonality and the noise scale — on the scaled training weeks
//!   of a panel, with lift tests as likelihood terms and users' per-channel priors.
//! * [`from_fitted`]: builds one from a point fit ([`mmm_fitted::FittedModel`]), with its
//!   `[[lift_test]]` experiments and the users' [`ChannelPrior`]s, and starts the chains at the
//!   point fit.
//! * [`sample`]: chains of the `nuts-rs` sampler in parallel with rayon, seeded per chain, so the
//!   same seed gives the same draws whatever the thread count.
//! * [`diagnostics`]: rank-normalised split R-hat and bulk / tail effective sample sizes
//!   (Vehtari et al. 2021).
//! * [`quantities`]: per-draw channel contribution, share, ROI and marginal ROI, with posterior
//!   means and 90 % intervals.

pub mod density;
pub mod diagnostics;
pub mod fitted;
pub mod priors;
pub mod quantities;
pub mod sample;

pub use density::{EffectPrior, ParamLayout, PosteriorData, PosteriorModel, Workspace};
pub use fitted::{BuildOptions, from_fitted};
pub use priors::{ChannelPrior, Likelihood, MeanSd, Priors};
pub use quantities::{
    AgainstTruth, ChannelDraw, ChannelInterval, Interval, TruthScores, channel_draws,
    score_against_truth, summarize,
};
pub use sample::{Posterior, Settings, sample};

/// Errors of this crate.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The data or model cannot be sampled (shapes, non-finite values, unsupported transforms).
    #[error("posterior input: {0}")]
    Input(String),
    /// A prior or likelihood setting is invalid; the message names it.
    #[error("invalid prior: {0}")]
    Prior(String),
    /// The sampler settings are invalid; the message names the setting.
    #[error("invalid sampler setting: {0}")]
    Settings(String),
    /// The sampler failed (an unrecoverable log-density error or an invalid start).
    #[error("sampler: {0}")]
    Sampler(String),
    /// The point fit could not be evaluated.
    #[error(transparent)]
    Fit(#[from] mmm_fitted::Error),
}

/// Result alias of this crate.
pub type Result<T> = std::result::Result<T, Error>;

#[cfg(test)]
mod tests;
