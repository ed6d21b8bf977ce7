//! Scoring the optimiser under a simulator's TRUE response (for `cargo xtask reproduce`).
//!
//! Historical reallocation over the whole calendar: the model's recommendation gives one
//! multiplier per channel, m_c = recommended_c / current_c, applied to the simulator's planned
//! spend (keeping each channel's flighting) and rescaled so that the true budget Σ planned spend
//! is unchanged. The true optimum maximises `Simulation::true_outcome` over the same set — per
//! channel multipliers of planned spend, the same relative bounds, the same budget — with the
//! optimiser of `optimize` (gradient by central differences on the few channel multipliers: the
//! truth is a black box). Regret = (f_opt − f_rec) / (f_opt − f_hist) (`mmm_eval`).

use crate::optimize::{Bounds, OptimizeConfig, Problem, optimize, solve};
use crate::plan::WindowSpec;
use crate::{Error, Result};
use mmm_orchestrator::FittedModel;
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

/// Historical, recommended and true-optimal outcomes under the TRUE response (module docs).
/// `fitted` must be a fit of `sim`'s panel (same channels, in order).
pub fn regret_on_truth(
    sim: &Simulation,
    fitted: &FittedModel,
    bounds: &Bounds,
) -> Result<TruthComparison> {
    if sim.channels() != fitted.channels.as_slice() {
        return Err(Error::Invalid(
            "the model's channels differ from the simulation's".into(),
        ));
    }
    let alloc = optimize(
        fitted,
        &OptimizeConfig {
            window: Some(WindowSpec::All),
            bounds: bounds.clone(),
            ..OptimizeConfig::default()
        },
    )?;
    let m_rec: Vec<f64> = fitted
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
        .collect();
    regret_of_multipliers(sim, m_rec, bounds)
}

/// Historical, recommended and true-optimal outcomes under the TRUE response for a recommendation
/// given as one spend multiplier per channel of `sim` (module docs), from any model. The
/// multipliers are rescaled so that the true budget is unchanged.
///
/// # Errors
/// The number of multipliers differs from the simulation's channels, or the truth fails.
pub fn regret_of_multipliers(
    sim: &Simulation,
    mut m_rec: Vec<f64>,
    bounds: &Bounds,
) -> Result<TruthComparison> {
    let channels = sim.channels();
    if m_rec.len() != channels.len() {
        return Err(Error::Invalid(format!(
            "{} multipliers for {} channels",
            m_rec.len(),
            channels.len()
        )));
    }
    let planned = sim.planned_spend();
    let c_n = channels.len();
    let totals: Vec<f64> = (0..c_n)
        .map(|c| planned.index_axis(Axis(2), c).sum())
        .collect();
    let budget: f64 = totals.iter().sum();
    let rec_budget: f64 = m_rec.iter().zip(&totals).map(|(m, s)| m * s).sum();
    if rec_budget > 0.0 {
        for m in &mut m_rec {
            *m *= budget / rec_budget;
        }
    }
    // The true optimum in spend space b_c = m_c · totals_c.
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
    let mut truth = |b: &[f64], g: &mut [f64]| -> f64 {
        let mut at = |b: &[f64]| match sim.true_outcome(&scaled(planned, &mult(b))) {
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
    let sol = solve(&problem, &mut truth);
    if let Some(e) = failure {
        return Err(e.into());
    }
    let historical = sim.true_outcome(planned)?;
    let recommended = sim.true_outcome(&scaled(planned, &m_rec))?;
    let optimal = sol.value.max(historical).max(recommended);
    let regret = mmm_eval::optimiser_regret(optimal, recommended, historical)?;
    Ok(TruthComparison {
        historical,
        recommended,
        optimal,
        recommended_multipliers: m_rec,
        optimal_multipliers: mult(&sol.b),
        regret,
    })
}
