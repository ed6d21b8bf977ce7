//! Optimisers over flat `f64` parameter buffers.
//!
//! Every model in the workspace keeps its parameters in one contiguous `&mut [f64]` and its
//! gradient in a `&[f64]` of the same length, so the optimisers here need to know nothing about
//! the model:
//!
//! * [`Optimizer`] — one in-place update from a gradient; implemented by [`Adam`] (coupled L2
//!   decay, bias-corrected moments) and [`AdamW`] (decoupled decay with an optional per-parameter
//!   mask).
//! * [`global_norm`] / [`clip_global_norm`] — gradient clipping by the global Euclidean norm.
//! * [`LrSchedule`] with [`CosineSchedule`] (linear warm-up, cosine decay) and [`ConstantLr`];
//!   [`ReduceOnPlateau`] lowers the learning rate when a caller-chosen metric stalls.
//! * [`EarlyStopping`] — patience on a metric, keeping a copy of the best parameters.
//! * [`minimize_lbfgs`] / [`minimize_lbfgs_box`] — L-BFGS with a strong-Wolfe line search for
//!   small smooth problems, and a projected variant for box constraints.
//!
//! The update equations and the exact semantics (what counts as an improvement, when the
//! patience counters fire) are written out in each module and in `docs/numeric-core/optim.md`.

mod adam;
mod clip;
mod early_stopping;
mod error;
mod lbfgs;
mod schedule;

pub use adam::{Adam, AdamW, Optimizer};
pub use clip::{clip_global_norm, global_norm};
pub use early_stopping::{EarlyStopping, StopDecision};
pub use error::{Error, Result};
pub use lbfgs::{LbfgsConfig, LbfgsResult, Termination, minimize_lbfgs, minimize_lbfgs_box};
pub use schedule::{ConstantLr, CosineSchedule, LrSchedule, ReduceOnPlateau};
