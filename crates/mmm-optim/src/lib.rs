//! Optimisers over flat `f64` parameter buffers.
//!
//! Every model in the workspace keeps its parameters in one contiguous `&mut [f64]` and its
//! gradient in a `&[f64]` of the same length, so the optimisers here need to know nothing about
//! the model:
//!
//! * [`Optimizer`] — one in-place update from a gradient; implemented by [`Adam`] (coupled L2
//!   decay, bias-corrected moments).
//! * [`global_norm`] / [`clip_global_norm`] — gradient clipping by the global Euclidean norm.
//! * [`ReduceOnPlateau`] lowers the learning rate when a caller-chosen metric stalls.
//! * [`EarlyStopping`] — patience on a metric, keeping a copy of the best parameters.
//! * [`minimize_lbfgs`] / [`minimize_lbfgs_box`] — L-BFGS with a strong-Wolfe line search for
//!   small smooth problems, and a projected variant for box constraints.
//!
//! The update equations and the exact semantics (what counts as an improvement, when the
//! patience counters fire) are written out in each module and in `docs/numeric-core/optim.md`.
//!
//! ```
//! use mmm_optim::{Adam, EarlyStopping, LbfgsConfig, Optimizer, ReduceOnPlateau, clip_global_norm, minimize_lbfgs};
//!
//! // A training loop on f(θ) = ½‖θ − 3‖² (the "validation metric" is f itself here).
//! let mut theta = vec![0.0; 4];
//! let mut grad = vec![0.0; 4];
//! let mut adam = Adam::new(0.1)?;
//! let mut plateau = ReduceOnPlateau::new(0.5, 5)?.min_lr(1e-4)?;
//! let mut stopper = EarlyStopping::new(20, 0.0)?;
//! for _epoch in 0..2000 {
//!     grad.iter_mut().zip(&theta).for_each(|(g, t)| *g = t - 3.0);
//!     clip_global_norm(&mut grad, 1.0);
//!     adam.step(&mut theta, &grad);
//!     let metric: f64 = theta.iter().map(|t| 0.5 * (t - 3.0) * (t - 3.0)).sum();
//!     let lr = plateau.observe(metric, adam.learning_rate());
//!     adam.set_learning_rate(lr);
//!     if stopper.observe(metric, &theta).is_stop() {
//!         break;
//!     }
//! }
//! // Back to the parameters of the best epoch.
//! stopper.restore(&mut theta);
//! let restored: f64 = theta.iter().map(|t| 0.5 * (t - 3.0) * (t - 3.0)).sum();
//! assert_eq!(Some(restored), stopper.best_metric());
//! assert!(restored < 1e-2);
//!
//! // L-BFGS: the closure returns the value and writes the gradient.
//! let r = minimize_lbfgs(
//!     |x: &[f64], g: &mut [f64]| {
//!         g[0] = 2.0 * (x[0] - 1.0);
//!         g[1] = 20.0 * (x[1] + 2.0);
//!         (x[0] - 1.0).powi(2) + 10.0 * (x[1] + 2.0).powi(2)
//!     },
//!     &[0.0, 0.0],
//!     &LbfgsConfig::default(),
//! )?;
//! assert!(r.converged && (r.x[0] - 1.0).abs() < 1e-8 && (r.x[1] + 2.0).abs() < 1e-8);
//! # Ok::<(), mmm_optim::Error>(())
//! ```

mod adam;
mod clip;
mod early_stopping;
mod error;
mod lbfgs;
mod schedule;

pub use adam::{Adam, Optimizer};
pub use clip::{clip_global_norm, global_norm};
pub use early_stopping::{EarlyStopping, StopDecision};
pub use error::{Error, Result};
pub use lbfgs::{LbfgsConfig, LbfgsResult, Termination, minimize_lbfgs, minimize_lbfgs_box};
pub use schedule::ReduceOnPlateau;
