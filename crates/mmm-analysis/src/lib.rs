//! Decisions from a fitted dcmmm model: response curves, ROI and marginal ROI, Hill summaries,
//! the budget optimiser (forward planning and historical reallocation, with the inverse
//! questions), scenario comparison, and regret under a simulator's true response.
//!
//! Everything is computed from the fitted model itself, not from a curve fitted to a scatter:
//!
//! * [`plan`] builds the panel the model is run on — the history, optionally planned weeks, and a
//!   tail of zero-media weeks after the end so that carryover that lands later is counted — and
//!   the decision window;
//! * [`response`] precomputes, for that panel, everything the media part of the prediction
//!   depends on, so that the predicted outcome under any per-channel (or per channel × region)
//!   multiplier of the window's activity, and its exact gradient, cost one pass over
//!   `channels × regions × weeks` (no re-run of the GRU);
//! * [`curves`] gives response curves, ROI, marginal ROI and Hill summaries;
//! * [`optimize`] maximises the predicted outcome for a budget under bounds, exactly feasible;
//! * [`scenarios`] compares planned-spend scenarios; [`truth`] scores a recommendation under a
//!   simulator's true response;
//! * [`draws`] reads and writes the posterior's parameter draws beside `model.json`, and
//!   [`uncertainty`] runs the curves and the optimiser once per draw: bands, and the allocation
//!   that maximises the posterior-expected outcome with the probability that it beats the
//!   current split.
//!
//! The maths is in `docs/analysis.md`.

pub mod curves;
pub mod draws;
pub mod optimize;
pub mod plan;
pub mod response;
pub mod scenarios;
pub mod truth;
pub mod uncertainty;

pub use curves::{
    ChannelCurves, CurveConfig, Curves, HillSummary, RegionCurve, fit_hill, response_curves,
};
pub use draws::{DRAWS_FILE, MAX_DRAWS, ParameterDraw, ParameterDraws};
pub use optimize::{
    Allocation, Bounds, ChannelBounds, OptimizeConfig, Target, UnitAllocation, optimize,
    smallest_budget,
};
pub use plan::{CostBasis, Setup, WindowSpec};
pub use response::{Effect, ResponseSurface, Unit};
pub use scenarios::{ScenarioResult, compare_scenarios, read_scenario};
pub use truth::{TrueOptimum, TruthComparison, multipliers_with_effects};
pub use uncertainty::{
    Band, ChannelBands, CurveBands, DecisionUncertainty, curve_bands, optimize_expected,
    response_curves_with_bands,
};

/// Errors of the analysis crate.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The fitted model could not be run or loaded (boxed: the fitted model's error is large).
    #[error(transparent)]
    Model(Box<mmm_fitted::Error>),
    /// A user setting (window, budget, bounds, target) is unusable; the message says which.
    #[error("{0}")]
    Invalid(String),
    /// A bounds or scenario file is malformed; names the file.
    #[error("{path}: {message}")]
    File {
        /// The file.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// The budget is outside what the bounds allow.
    #[error("budget {budget} is infeasible: the bounds allow totals in [{min}, {max}]")]
    InfeasibleBudget {
        /// Requested budget.
        budget: f64,
        /// Sum of the lower bounds.
        min: f64,
        /// Sum of the upper bounds.
        max: f64,
    },
    /// A target (outcome or marginal ROI) cannot be reached within the budgets searched.
    #[error("target not reachable: {0}")]
    Unreachable(String),
    /// The simulator rejected an input.
    #[error(transparent)]
    Sim(#[from] mmm_sim::Error),
    /// Scoring failed.
    #[error(transparent)]
    Eval(#[from] mmm_eval::Error),
    /// The Hill-summary fit failed.
    #[error(transparent)]
    Optim(#[from] mmm_optim::Error),
}

impl From<mmm_fitted::Error> for Error {
    fn from(e: mmm_fitted::Error) -> Self {
        Error::Model(Box::new(e))
    }
}

/// Result alias of the analysis crate.
pub type Result<T> = std::result::Result<T, Error>;
