//! Scoring the optimiser under a simulator's TRUE response (for `cargo xtask reproduce`).
//!
//! Historical reallocation over the whole calendar: a model's recommendation gives one
//! multiplier per channel, m_c = recommended_c / current_c ([`TrueOptimum::score_fitted`]), applied
//! to the simulator's planned spend (keeping each channel's flighting) and rescaled so that the
//! true budget Σ planned spend is unchanged. The true optimum ([`TrueOptimum::solve`]) maximises
//! `Simulation::true_outcome` over the same set — per channel multipliers of planned spend, the
//! same relative bounds, the same budget — with the optimiser of `optimize` (gradient by central
//! differences on the few channel multipliers: the truth is a black box). It is solved once per
//! simulation and scores any number of recommendations ([`TrueOptimum::score`]):
//! regret = (f_opt − f_rec) / (f_opt − f_hist) (`mmm_eval`). [`multipliers_with_effects`] gives
//! the recommendation of a model that knows the true structure but not the effect sizes.

use crate::optimize::{Bounds, OptimizeConfig, Problem, optimize, solve};
use crate::plan::WindowSpec;
use crate::{Error, Result};
use mmm_fitted::FittedModel;
use mmm_sim::Simulation;
use ndarray::{Array3, Axis};

/// True outcomes of the historical, recommended and truly optimal allocations.
#[derive(Debug, Clone)]
pub struct TruthComparison {
    /// True outcome of the historical (planned) spend.
    pub historical: f64,
    /// True outcome of the model's recommendation.
    pub recommended: f64,
    /// True outcome of the true optimum under the same constraints.
    pub optimal: f64,
    /// Per-channel multipliers of the recommendation.
    pub recommended_multipliers: Vec<f64>,
    /// Per-channel multipliers of the true optimum.
    pub optimal_multipliers: Vec<f64>,
    /// Regret.
    pub regret: mmm_eval::Regret,
}

fn scaled(planned: &Array3<f64>, m: &[f64]) -> Array3<f64> {
    let mut out = planned.clone();
    for (c, mut lane) in out.axis_iter_mut(Axis(2)).enumerate() {
        lane.mapv_inplace(|v| v * m[c]);
    }
    out
}

/// The per-channel multipliers of `fitted`'s recommendation for historical reallocation over its
/// whole calendar (`optimize` with `--window all` and `bounds`): recommended / current spend, 1 for
/// a channel without spend, in `fitted.channels` order.
fn recommended_multipliers(fitted: &FittedModel, bounds: &Bounds) -> Result<Vec<f64>> {
    let alloc = optimize(
        fitted,
        &OptimizeConfig {
            window: Some(WindowSpec::All),
            bounds: bounds.clone(),
            ..OptimizeConfig::default()
        },
    )?;
    Ok(fitted
        .channels
        .iter()
        .map(|ch| {
            let a = &alloc.channels[ch];
            if a.current > 0.0 {
                a.recommended / a.current
            } else {
                1.0
            }
        })
        .collect())
}

/// The best reallocation of a simulation's historical budget under a response (module docs):
/// solved once, it scores any number of recommendations ([`TrueOptimum::score`]).
#[derive(Debug, Clone)]
pub struct TrueOptimum {
    channels: Vec<String>,
    /// True outcome of the historical (planned) spend.
    pub historical: f64,
    /// True outcome at the optimum.
    pub optimal: f64,
    /// Per-channel multipliers of planned spend at the optimum.
    pub multipliers: Vec<f64>,
}

impl TrueOptimum {
    /// The optimum under the simulation's TRUE response ([`Simulation::true_outcome`]).
    ///
    /// # Errors
    /// The truth fails (it cannot for the simulation's own planned spend).
    pub fn solve(sim: &Simulation, bounds: &Bounds) -> Result<Self> {
        let outcome = |spend: &Array3<f64>| sim.true_outcome(spend);
        let (optimal, multipliers) = best_multipliers(sim, bounds, outcome)?;
        let historical = sim.true_outcome(sim.planned_spend())?;
        Ok(TrueOptimum {
            channels: sim.channels().to_vec(),
            historical,
            optimal: optimal.max(historical),
            multipliers,
        })
    }

    /// [`TrueOptimum::score`] of dcmmm's own recommendation: `fitted` (a fit of `sim`'s panel)
    /// re-splits its whole history's budget with `optimize` (`--window all`, `bounds` — those
    /// this optimum was solved with).
    ///
    /// # Errors
    /// The model's channels differ from the simulation's (names and order), the optimiser or the
    /// truth fails.
    pub fn score_fitted(
        &self,
        sim: &Simulation,
        fitted: &FittedModel,
        bounds: &Bounds,
    ) -> Result<TruthComparison> {
        if fitted.channels != self.channels {
            return Err(Error::Invalid(
                "the model's channels differ from the simulation's".into(),
            ));
        }
        self.score(sim, recommended_multipliers(fitted, bounds)?)
    }

    /// Historical, recommended and optimal outcomes under the TRUE response of `sim` (the
    /// simulation this optimum was solved for) for a recommendation given as one spend
    /// multiplier per channel, from any model. The multipliers are rescaled so that the true
    /// budget is unchanged.
    ///
    /// # Errors
    /// `sim` has other channels than the optimum's, the number of multipliers differs, or the
    /// truth fails.
    pub fn score(&self, sim: &Simulation, mut m_rec: Vec<f64>) -> Result<TruthComparison> {
        if sim.channels() != self.channels.as_slice() {
            return Err(Error::Invalid(
                "the simulation's channels differ from the optimum's".into(),
            ));
        }
        if m_rec.len() != self.channels.len() {
            return Err(Error::Invalid(format!(
                "{} multipliers for {} channels",
                m_rec.len(),
                self.channels.len()
            )));
        }
        let planned = sim.planned_spend();
        let totals = channel_totals(planned);
        let budget: f64 = totals.iter().sum();
        let rec_budget: f64 = m_rec.iter().zip(&totals).map(|(m, s)| m * s).sum();
        if rec_budget > 0.0 {
            for m in &mut m_rec {
                *m *= budget / rec_budget;
            }
        }
        let recommended = sim.true_outcome(&scaled(planned, &m_rec))?;
        let optimal = self.optimal.max(recommended);
        let regret = mmm_eval::optimiser_regret(optimal, recommended, self.historical)?;
        Ok(TruthComparison {
            historical: self.historical,
            recommended,
            optimal,
            recommended_multipliers: m_rec,
            optimal_multipliers: self.multipliers.clone(),
            regret,
        })
    }
}

/// Σ of each channel's planned spend.
fn channel_totals(planned: &Array3<f64>) -> Vec<f64> {
    planned.axis_iter(Axis(2)).map(|lane| lane.sum()).collect()
}

/// The per-channel multipliers that a model knowing the true activity, DAG, adstock, saturation
/// and region multipliers but with estimated effect sizes `effects` recommends: the optimum under
/// [`Simulation::true_outcome_with_effects`] (same budget and bounds as [`TrueOptimum::solve`]).
/// Score them with [`TrueOptimum::score`].
///
/// # Errors
/// Wrong number of effects, or a negative or non-finite one.
pub fn multipliers_with_effects(
    sim: &Simulation,
    effects: &[f64],
    bounds: &Bounds,
) -> Result<Vec<f64>> {
    let outcome = |spend: &Array3<f64>| sim.true_outcome_with_effects(spend, effects);
    // Bad effects fail here rather than as NaN inside the solver.
    outcome(sim.planned_spend())?;
    Ok(best_multipliers(sim, bounds, outcome)?.1)
}

/// Maximises `outcome` over per-channel multipliers of the simulation's planned spend with the
/// historical budget and `bounds`: the optimal value and multipliers.
fn best_multipliers(
    sim: &Simulation,
    bounds: &Bounds,
    outcome: impl Fn(&Array3<f64>) -> mmm_sim::Result<f64>,
) -> Result<(f64, Vec<f64>)> {
    let channels = sim.channels();
    let planned = sim.planned_spend();
    let c_n = channels.len();
    let totals = channel_totals(planned);
    let budget: f64 = totals.iter().sum();
    // The optimum in spend space b_c = m_c · totals_c.
    let problem = {
        let mut lower = vec![0.0; c_n];
        let mut upper = vec![0.0; c_n];
        let mut fixed = vec![false; c_n];
        for c in 0..c_n {
            let cb = bounds
                .channels
                .get(&channels[c])
                .cloned()
                .unwrap_or_default();
            if totals[c] <= 0.0 {
                continue;
            }
            if cb.fixed {
                (lower[c], upper[c], fixed[c]) = (totals[c], totals[c], true);
            } else {
                lower[c] = cb.lower.unwrap_or(bounds.lower) * totals[c];
                upper[c] = cb.upper.unwrap_or(bounds.upper) * totals[c];
            }
        }
        Problem {
            budget,
            current: totals.clone(),
            lower,
            upper,
            fixed,
        }
    };
    let mult = |b: &[f64]| -> Vec<f64> {
        b.iter()
            .zip(&totals)
            .map(|(b, s)| if *s > 0.0 { b / s } else { 0.0 })
            .collect()
    };
    let mut failure: Option<mmm_sim::Error> = None;
    let mut response = |b: &[f64], g: &mut [f64]| -> f64 {
        let mut at = |b: &[f64]| match outcome(&scaled(planned, &mult(b))) {
            Ok(v) => v,
            Err(e) => {
                failure = Some(e);
                f64::NAN
            }
        };
        let f0 = at(b);
        for c in 0..b.len() {
            let h = 1e-4 * totals[c].max(1e-12);
            let mut bp = b.to_vec();
            let mut bm = b.to_vec();
            bp[c] += h;
            bm[c] = (bm[c] - h).max(0.0);
            g[c] = (at(&bp) - at(&bm)) / (bp[c] - bm[c]);
        }
        f0
    };
    let sol = solve(&problem, &mut response);
    if let Some(e) = failure {
        return Err(e.into());
    }
    Ok((sol.value, mult(&sol.b)))
}
