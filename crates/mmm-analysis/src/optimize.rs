//! The budget optimiser: maximise the predicted outcome for a total budget under bounds, exactly
//! feasible, with analytic gradients from the model; and the inverse questions.
//!
//! **Decision.** Spend b_u per unit u (a channel, or a channel × region with `per_region`),
//! applied as a multiplier m_u = b_u / s_u of the reference activity in the decision window
//! (s_u = the reference spend of u), so each channel keeps its week-by-week flighting shape:
//!
//! * *planning horizon* (default): `weeks` new weeks after the history whose reference plan
//!   repeats the last `weeks` historical weeks; carryover from the history into the horizon and
//!   from the horizon into the zero-media tail after it are both counted;
//! * *historical reallocation* (`window`): the reference is what was actually run in the window;
//!   the budget defaults to what was spent there, so the result shows what the same money would
//!   have returned in a better split.
//!
//! The *current* allocation is the reference scaled to the budget, c_u = s_u·B/Σs.
//!
//! **Problem.** maximise F(b) = predicted outcome (from `response`, total effects: channel DAG
//! included) subject to Σ_u b_u = B, l_u ≤ b_u ≤ h_u, where the bounds are relative to the
//! current allocation (default 0.5·c_u … 1.5·c_u) and/or absolute, and fixed channels have
//! l_u = h_u = c_u. ∂F/∂b_u = (∂F/∂m_u)/s_u is the unit's marginal ROI, exact (`response`).
//!
//! **Method.** Projected gradient ascent with Barzilai–Borwein steps and Armijo backtracking
//! along the projection arc, from the current allocation and a few deterministic spread starts
//! (the best is kept: Hill curves with slope > 1 are not concave). The Euclidean projection onto
//! {Σb = B, l ≤ b ≤ h} is exact: b_i = clip(v_i − τ, l_i, h_i) with τ solved on the piecewise
//! linear, monotone Σ_i b_i(τ) = B (bisection to locate the segment, then the linear solve on it);
//! the last rounding residual is put on a unit strictly inside its bounds, so the result sums to
//! the budget to rounding and respects the bounds exactly.
//!
//! **Optimality (KKT).** At the optimum, units strictly inside their bounds have equal marginal
//! ROI λ; units at their lower bound have mROI ≤ λ, at their upper bound ≥ λ. λ — reported as
//! `marginal_roi` — is the return of the next unit of budget: the largest mROI among units that
//! are not at their upper bound.
//!
//! **Inverse questions** ([`smallest_budget`]): the smallest budget whose optimal allocation
//! reaches a target outcome, or whose marginal ROI λ has fallen to a target (spend while the next
//! unit returns at least the target). The optimal outcome rises and λ falls with the budget, so a
//! doubling search and a bisection on B find it.

use crate::plan::{CostBasis, Setup, WindowSpec};
use crate::response::{Effect, ResponseSurface, Unit};
use crate::{Error, Result};
use mmm_fitted::FittedModel;
use ndarray::Axis;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// Bounds of one channel; relative bounds multiply the current allocation, absolute ones are in
/// the channel's spend unit (for per-region units they are split in proportion to current spend).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChannelBounds {
    /// Lower bound relative to current.
    pub lower: Option<f64>,
    /// Upper bound relative to current.
    pub upper: Option<f64>,
    /// Absolute lower bound.
    pub min: Option<f64>,
    /// Absolute upper bound.
    pub max: Option<f64>,
    /// Keep the channel at its current allocation.
    #[serde(default)]
    pub fixed: bool,
}

/// Allocation bounds (`bounds.toml`):
///
/// ```toml
/// lower = 0.5          # default relative bounds for every channel
/// upper = 1.5
/// [channels.tv]
/// fixed = true
/// [channels.search]
/// lower = 0.8          # relative to current
/// max = 50000.0        # absolute
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Bounds {
    /// Default lower bound relative to current.
    pub lower: f64,
    /// Default upper bound relative to current.
    pub upper: f64,
    /// Per-channel overrides.
    pub channels: BTreeMap<String, ChannelBounds>,
}

impl Default for Bounds {
    fn default() -> Self {
        Bounds {
            lower: 0.5,
            upper: 1.5,
            channels: BTreeMap::new(),
        }
    }
}

impl Bounds {
    /// Parses `bounds.toml` text; `path` names the file in errors.
    pub fn from_toml(text: &str, path: &str) -> Result<Self> {
        let b: Bounds = toml::from_str(text).map_err(|e| Error::File {
            path: path.into(),
            message: e.to_string(),
        })?;
        let bad = |m: String| Error::File {
            path: path.into(),
            message: m,
        };
        if !(b.lower >= 0.0 && b.upper >= b.lower && b.upper.is_finite()) {
            return Err(bad(format!(
                "need 0 ≤ lower ≤ upper < ∞, got lower = {}, upper = {}",
                b.lower, b.upper
            )));
        }
        for (name, c) in &b.channels {
            for v in [c.lower, c.upper, c.min, c.max].into_iter().flatten() {
                if !(v.is_finite() && v >= 0.0) {
                    return Err(bad(format!(
                        "channels.{name}: bounds must be finite and ≥ 0"
                    )));
                }
            }
        }
        Ok(b)
    }

    /// Reads `bounds.toml`.
    pub fn read(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::File {
            path: path.display().to_string(),
            message: e.to_string(),
        })?;
        Self::from_toml(&text, &path.display().to_string())
    }

    fn check_channels(&self, channels: &[String]) -> Result<()> {
        for name in self.channels.keys() {
            if !channels.contains(name) {
                return Err(Error::Invalid(format!(
                    "bounds for unknown channel `{name}` (channels: {})",
                    channels.join(", ")
                )));
            }
        }
        Ok(())
    }
}

/// Settings of [`optimize`].
#[derive(Debug, Clone, PartialEq)]
pub struct OptimizeConfig {
    /// Total budget; `None` = the reference spend (what was spent in the window / the last weeks).
    pub budget: Option<f64>,
    /// Planning horizon in weeks (ignored with `window`).
    pub weeks: usize,
    /// Historical reallocation over this window instead of a forward plan.
    pub window: Option<WindowSpec>,
    /// Bounds.
    pub bounds: Bounds,
    /// Allocate per channel × region instead of per channel.
    pub per_region: bool,
    /// Channels whose media are impressions without a spend column.
    pub impressions: Vec<String>,
}

impl Default for OptimizeConfig {
    fn default() -> Self {
        OptimizeConfig {
            budget: None,
            weeks: 13,
            window: None,
            bounds: Bounds::default(),
            per_region: false,
            impressions: Vec::new(),
        }
    }
}

/// What [`smallest_budget`] aims for.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Target {
    /// A predicted outcome (target units, over the outcome weeks).
    Outcome(f64),
    /// A marginal ROI of the budget.
    MarginalRoi(f64),
}

/// One unit's allocation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UnitAllocation {
    /// Channel.
    pub channel: String,
    /// Region (`all` for a national unit).
    pub region: String,
    /// Spend unit (`spend` or `per_1000_impressions`).
    pub unit: String,
    /// Current allocation (reference scaled to the budget).
    pub current: f64,
    /// Recommended allocation.
    pub recommended: f64,
    /// Relative change in percent.
    pub change_pct: Option<f64>,
    /// Lower bound.
    pub lower: f64,
    /// Upper bound.
    pub upper: f64,
    /// Marginal ROI at the current allocation (total effect).
    pub mroi_current: Option<f64>,
    /// Marginal ROI at the recommendation.
    pub mroi_recommended: Option<f64>,
    /// `interior`, `lower`, `upper`, `fixed` or `inactive` (no reference activity).
    pub status: String,
    /// Whether the fit says the data leave this channel's response open (its curve and marginal
    /// ROI are the best guess among near-equal fits: the least certain part of the
    /// recommendation; `mmm_fitted::FittedModel::undetermined_note`); `None` when the media
    /// part was not screened, so the fit cannot tell.
    pub response_open: Option<bool>,
}

/// The optimiser's answer (`allocation.json`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Allocation {
    /// `horizon` or `historical`.
    pub mode: String,
    /// First and last decision week.
    pub window_weeks: (String, String),
    /// Number of decision weeks.
    pub weeks: usize,
    /// Carryover weeks counted after the decision weeks (and the history).
    pub tail_weeks: usize,
    /// The budget (sum of `recommended`).
    pub budget: f64,
    /// Per channel (summed over regions for a per-region allocation).
    pub channels: BTreeMap<String, UnitAllocation>,
    /// Per channel × region (only with `per_region`).
    pub regions: Vec<UnitAllocation>,
    /// Predicted outcome under the current allocation: the non-media prediction over the decision
    /// weeks plus every channel's media contribution over the decision and tail weeks.
    pub outcome_current: f64,
    /// The same under the recommendation.
    pub outcome_recommended: f64,
    /// `outcome_recommended − outcome_current`.
    pub lift: f64,
    /// Lift in percent of `outcome_current`.
    pub lift_pct: f64,
    /// Media part of `outcome_current`.
    pub media_outcome_current: f64,
    /// Media part of `outcome_recommended`.
    pub media_outcome_recommended: f64,
    /// Marginal ROI λ of the budget at the recommendation (module docs).
    pub marginal_roi: f64,
    /// Largest KKT violation of the recommendation, relative to max |mROI|.
    pub kkt_residual: f64,
    /// Whether the solver met its tolerance.
    pub converged: bool,
    /// With parameter draws ([`optimize_expected`]): what the draws say about the
    /// recommendation; the outcomes and marginal ROIs above are then posterior means.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub posterior: Option<crate::uncertainty::DecisionUncertainty>,
}

/// Everything an allocation is computed from, built once per setup.
pub(crate) struct Planner {
    pub setup: Setup,
    pub surface: ResponseSurface,
    /// Reference spend per unit.
    pub reference: Vec<f64>,
    /// Non-media prediction over the decision weeks.
    pub nonmedia: f64,
    names: Vec<(String, String, String)>,
    /// Per unit: [`UnitAllocation::response_open`].
    open: Vec<Option<bool>>,
    bounds: Bounds,
}

impl Planner {
    pub fn new(fitted: &FittedModel, cfg: &OptimizeConfig) -> Result<Planner> {
        cfg.bounds.check_channels(&fitted.channels)?;
        let setup = match &cfg.window {
            Some(w) => Setup::historical(fitted, w, &cfg.impressions)?,
            None => Setup::horizon(fitted, cfg.weeks, &cfg.impressions)?,
        };
        let (c_n, r_n) = (fitted.channels.len(), fitted.regions.len());
        let units: Vec<Unit> = if cfg.per_region {
            (0..c_n)
                .flat_map(|c| {
                    (0..r_n).map(move |r| Unit {
                        channel: c,
                        regions: vec![r],
                    })
                })
                .collect()
        } else {
            (0..c_n)
                .map(|c| Unit {
                    channel: c,
                    regions: (0..r_n).collect(),
                })
                .collect()
        };
        let spend = setup.window_spend();
        let reference: Vec<f64> = units
            .iter()
            .map(|u| u.regions.iter().map(|&r| spend[[u.channel, r]]).sum())
            .collect();
        let names = units
            .iter()
            .map(|u| {
                let region = if cfg.per_region {
                    fitted.regions[u.regions[0]].clone()
                } else {
                    crate::curves::ALL_REGIONS.to_string()
                };
                let unit = match setup.basis[u.channel] {
                    CostBasis::Spend => "spend",
                    CostBasis::PerThousandImpressions => "per_1000_impressions",
                };
                (fitted.channels[u.channel].clone(), region, unit.to_string())
            })
            .collect();
        let undetermined = fitted
            .screened_media
            .as_ref()
            .filter(|m| m.used)
            .map(|m| m.undetermined());
        let open = units
            .iter()
            .map(|u| undetermined.as_ref().map(|list| list.contains(&u.channel)))
            .collect();
        let surface = ResponseSurface::from_fitted(fitted, &setup, units)?;
        let (pred, d) = fitted.predict(&setup.panel)?;
        let w = setup.window.clone();
        let nonmedia = w
            .clone()
            .map(|t| pred.index_axis(Axis(1), t).sum() - d.channels.index_axis(Axis(2), t).sum())
            .sum();
        Ok(Planner {
            setup,
            surface,
            reference,
            nonmedia,
            names,
            open,
            bounds: cfg.bounds.clone(),
        })
    }

    pub fn reference_total(&self) -> f64 {
        self.reference.iter().sum()
    }

    /// Current allocation and bounds at budget `b`.
    pub fn problem(&self, budget: f64) -> Result<Problem> {
        if !(budget.is_finite() && budget >= 0.0) {
            return Err(Error::Invalid(format!(
                "budget must be finite and ≥ 0, got {budget}"
            )));
        }
        let total = self.reference_total();
        if total.is_nan() || total <= 0.0 {
            return Err(Error::Invalid(
                "no reference spend in the decision weeks: nothing to allocate".into(),
            ));
        }
        let n = self.reference.len();
        let current: Vec<f64> = self.reference.iter().map(|s| s * budget / total).collect();
        let mut lower = vec![0.0; n];
        let mut upper = vec![0.0; n];
        let mut fixed = vec![false; n];
        for u in 0..n {
            let ch = &self.names[u].0;
            let cb = self.bounds.channels.get(ch).cloned().unwrap_or_default();
            if self.reference[u] <= 0.0 {
                continue; // inactive: no flighting to scale
            }
            // Share of the channel's current spend held by this unit (absolute bounds split).
            let ch_total: f64 = (0..n)
                .filter(|&v| self.names[v].0 == *ch)
                .map(|v| current[v])
                .sum();
            let share = if ch_total > 0.0 {
                current[u] / ch_total
            } else {
                0.0
            };
            if cb.fixed {
                lower[u] = current[u];
                upper[u] = current[u];
                fixed[u] = true;
                continue;
            }
            let mut l = cb.lower.unwrap_or(self.bounds.lower) * current[u];
            let mut h = cb.upper.unwrap_or(self.bounds.upper) * current[u];
            if let Some(v) = cb.min {
                l = if cb.lower.is_some() {
                    l.max(v * share)
                } else {
                    v * share
                };
            }
            if let Some(v) = cb.max {
                h = if cb.upper.is_some() {
                    h.min(v * share)
                } else {
                    v * share
                };
            }
            if l > h {
                return Err(Error::Invalid(format!(
                    "channel `{ch}`: lower bound {l} exceeds upper bound {h} at budget {budget}"
                )));
            }
            lower[u] = l;
            upper[u] = h;
        }
        let (min, max) = (lower.iter().sum::<f64>(), upper.iter().sum::<f64>());
        let tol = 1e-12 * budget.max(1.0);
        if budget < min - tol || budget > max + tol {
            return Err(Error::InfeasibleBudget { budget, min, max });
        }
        Ok(Problem {
            budget,
            current,
            lower,
            upper,
            fixed,
        })
    }

    /// Media outcome F and its gradient w.r.t. spend (marginal ROI per unit).
    pub fn value(&self, b: &[f64], grad: Option<&mut [f64]>) -> f64 {
        media_value(&self.surface, &self.reference, b, grad)
    }

    /// Solves at `budget` and packages the answer.
    pub fn allocate(&self, budget: f64) -> Result<Allocation> {
        let p = self.problem(budget)?;
        let sol = solve(&p, &mut |b, g| self.value(b, Some(g)));
        Ok(self.package(&p, &sol))
    }

    fn package(&self, p: &Problem, sol: &Solution) -> Allocation {
        let mut g_cur = vec![0.0; p.current.len()];
        let media_cur = self.value(&p.current, Some(&mut g_cur));
        self.package_with(p, sol, media_cur, &g_cur, self.nonmedia)
    }

    /// Packages a solution whose objective is not this planner's own (the posterior-expected
    /// outcome): the media outcome and marginal ROI of the current allocation and the non-media
    /// outcome are given.
    pub(crate) fn package_with(
        &self,
        p: &Problem,
        sol: &Solution,
        media_cur: f64,
        g_cur: &[f64],
        nonmedia: f64,
    ) -> Allocation {
        let n = p.current.len();
        let media_rec = sol.value;
        let status = |u: usize| -> String {
            if self.reference[u] <= 0.0 {
                "inactive"
            } else if p.fixed[u] {
                "fixed"
            } else if p.lower[u] == p.upper[u] || sol.b[u] <= p.lower[u] {
                "lower"
            } else if sol.b[u] >= p.upper[u] {
                "upper"
            } else {
                "interior"
            }
            .to_string()
        };
        let active = |u: usize| self.reference[u] > 0.0;
        let pct = |rec: f64, cur: f64| (cur > 0.0).then(|| 100.0 * (rec / cur - 1.0));
        let rows: Vec<UnitAllocation> = (0..n)
            .map(|u| UnitAllocation {
                channel: self.names[u].0.clone(),
                region: self.names[u].1.clone(),
                unit: self.names[u].2.clone(),
                current: p.current[u],
                recommended: sol.b[u],
                change_pct: pct(sol.b[u], p.current[u]),
                lower: p.lower[u],
                upper: p.upper[u],
                mroi_current: active(u).then_some(g_cur[u]),
                mroi_recommended: active(u).then_some(sol.grad[u]),
                status: status(u),
                response_open: self.open[u],
            })
            .collect();
        let mut channels: BTreeMap<String, UnitAllocation> = BTreeMap::new();
        let per_region = rows.iter().any(|r| r.region != crate::curves::ALL_REGIONS);
        for (u, row) in rows.iter().enumerate() {
            let e = channels
                .entry(row.channel.clone())
                .or_insert_with(|| UnitAllocation {
                    region: crate::curves::ALL_REGIONS.into(),
                    current: 0.0,
                    recommended: 0.0,
                    lower: 0.0,
                    upper: 0.0,
                    mroi_current: None,
                    mroi_recommended: None,
                    change_pct: None,
                    status: String::new(),
                    ..row.clone()
                });
            e.current += row.current;
            e.recommended += row.recommended;
            e.lower += row.lower;
            e.upper += row.upper;
            if per_region {
                // Spend-weighted mean of the regions' marginal ROI.
                let wc = p.current[u];
                let wr = sol.b[u];
                if active(u) {
                    *e.mroi_current.get_or_insert(0.0) += g_cur[u] * wc;
                    *e.mroi_recommended.get_or_insert(0.0) += sol.grad[u] * wr;
                }
                e.status = "regions".into();
            } else {
                e.mroi_current = row.mroi_current;
                e.mroi_recommended = row.mroi_recommended;
                e.status = row.status.clone();
            }
        }
        for e in channels.values_mut() {
            e.change_pct = pct(e.recommended, e.current);
            if per_region {
                e.mroi_current = e
                    .mroi_current
                    .map(|v| if e.current > 0.0 { v / e.current } else { 0.0 });
                e.mroi_recommended = e.mroi_recommended.map(|v| {
                    if e.recommended > 0.0 {
                        v / e.recommended
                    } else {
                        0.0
                    }
                });
            }
        }
        let weeks = &self.setup.panel.weeks;
        let w = &self.setup.window;
        let outcome_current = nonmedia + media_cur;
        let outcome_recommended = nonmedia + media_rec;
        Allocation {
            mode: if w.start < self.setup.history_weeks {
                "historical"
            } else {
                "horizon"
            }
            .into(),
            window_weeks: (weeks[w.start].to_string(), weeks[w.end - 1].to_string()),
            weeks: w.len(),
            tail_weeks: self.setup.tail_weeks,
            budget: p.budget,
            channels,
            regions: if per_region { rows } else { Vec::new() },
            outcome_current,
            outcome_recommended,
            lift: outcome_recommended - outcome_current,
            lift_pct: if outcome_current != 0.0 {
                100.0 * (outcome_recommended - outcome_current) / outcome_current.abs()
            } else {
                0.0
            },
            media_outcome_current: media_cur,
            media_outcome_recommended: media_rec,
            marginal_roi: sol.lambda,
            kkt_residual: sol.kkt,
            converged: sol.converged,
            posterior: None,
        }
    }
}

/// Media outcome F of `surface` at spend `b` per unit (reference spend `reference`) and its
/// gradient w.r.t. spend (marginal ROI per unit).
pub(crate) fn media_value(
    surface: &ResponseSurface,
    reference: &[f64],
    b: &[f64],
    grad: Option<&mut [f64]>,
) -> f64 {
    let m: Vec<f64> = b
        .iter()
        .zip(reference)
        .map(|(b, s)| if *s > 0.0 { b / s } else { 1.0 })
        .collect();
    match grad {
        None => surface.evaluate(&m, Effect::Total, None).total,
        Some(g) => {
            let v = surface.evaluate(&m, Effect::Total, Some(g)).total;
            for (gu, s) in g.iter_mut().zip(reference) {
                *gu = if *s > 0.0 { *gu / s } else { 0.0 };
            }
            v
        }
    }
}

/// A budget-allocation problem in spend space.
#[derive(Debug, Clone)]
pub struct Problem {
    /// Budget B.
    pub budget: f64,
    /// Current allocation.
    pub current: Vec<f64>,
    /// Lower bounds.
    pub lower: Vec<f64>,
    /// Upper bounds.
    pub upper: Vec<f64>,
    /// Fixed units.
    pub fixed: Vec<bool>,
}

/// A solution of a [`Problem`].
#[derive(Debug, Clone)]
pub struct Solution {
    /// Allocation (sums to the budget, within bounds).
    pub b: Vec<f64>,
    /// Objective value.
    pub value: f64,
    /// Gradient (marginal ROI per unit).
    pub grad: Vec<f64>,
    /// Marginal ROI of the budget (module docs).
    pub lambda: f64,
    /// Largest KKT violation relative to max |grad|.
    pub kkt: f64,
    /// Whether the step tolerance was met.
    pub converged: bool,
}

/// Exact Euclidean projection of `v` onto {Σ b = budget, lower ≤ b ≤ upper} (module docs).
/// The set must be non-empty.
pub fn project(v: &[f64], lower: &[f64], upper: &[f64], budget: f64) -> Vec<f64> {
    let n = v.len();
    let at = |tau: f64| -> Vec<f64> {
        (0..n)
            .map(|i| (v[i] - tau).clamp(lower[i], upper[i]))
            .collect()
    };
    let sum = |b: &[f64]| b.iter().sum::<f64>();
    // Bracket τ: Σ b(τ) is non-increasing in τ.
    let mut lo = (0..n)
        .map(|i| v[i] - upper[i])
        .fold(f64::INFINITY, f64::min);
    let mut hi = (0..n)
        .map(|i| v[i] - lower[i])
        .fold(f64::NEG_INFINITY, f64::max);
    if !lo.is_finite() || !hi.is_finite() {
        return at(0.0);
    }
    lo -= 1.0;
    hi += 1.0;
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if sum(&at(mid)) > budget {
            lo = mid;
        } else {
            hi = mid;
        }
        if hi - lo <= 1e-15 * (1.0 + lo.abs().max(hi.abs())) {
            break;
        }
    }
    // Exact solve on the segment: free coordinates satisfy lower < v − τ < upper.
    let tau0 = 0.5 * (lo + hi);
    let b0 = at(tau0);
    let free: Vec<usize> = (0..n)
        .filter(|&i| b0[i] > lower[i] && b0[i] < upper[i])
        .collect();
    let mut b = b0;
    if !free.is_empty() {
        let fixed_sum: f64 = (0..n).filter(|i| !free.contains(i)).map(|i| b[i]).sum();
        let vf: f64 = free.iter().map(|&i| v[i]).sum();
        let tau = (vf + fixed_sum - budget) / free.len() as f64;
        for &i in &free {
            b[i] = (v[i] - tau).clamp(lower[i], upper[i]);
        }
    }
    // Put the rounding residual on the unit with the most room in the needed direction.
    let resid = budget - sum(&b);
    if resid != 0.0 {
        let room = |i: usize| {
            if resid > 0.0 {
                upper[i] - b[i]
            } else {
                b[i] - lower[i]
            }
        };
        // Prefer a unit strictly inside its bounds, so units on a bound stay exactly on it.
        let inside = |i: &usize| b[*i] > lower[*i] && b[*i] < upper[*i];
        let pick = (0..n)
            .filter(inside)
            .max_by(|&i, &j| room(i).total_cmp(&room(j)))
            .or_else(|| (0..n).max_by(|&i, &j| room(i).total_cmp(&room(j))));
        if let Some(i) = pick
            && room(i) >= resid.abs()
        {
            b[i] += resid;
        }
    }
    b
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// KKT multiplier λ and the largest violation relative to max |g|.
fn kkt(p: &Problem, b: &[f64], g: &[f64]) -> (f64, f64) {
    let n = b.len();
    let movable: Vec<usize> = (0..n).filter(|&u| p.lower[u] < p.upper[u]).collect();
    let not_upper: Vec<usize> = movable
        .iter()
        .copied()
        .filter(|&u| b[u] < p.upper[u])
        .collect();
    let lambda = not_upper
        .iter()
        .map(|&u| g[u])
        .fold(f64::NEG_INFINITY, f64::max);
    let lambda = if lambda.is_finite() {
        lambda
    } else {
        movable.iter().map(|&u| g[u]).fold(f64::INFINITY, f64::min)
    };
    let lambda = if lambda.is_finite() { lambda } else { 0.0 };
    let scale = g.iter().fold(0.0f64, |m, v| m.max(v.abs())).max(1e-300);
    let mut worst = 0.0f64;
    for &u in &movable {
        let v = if b[u] <= p.lower[u] {
            (g[u] - lambda).max(0.0)
        } else if b[u] >= p.upper[u] {
            (lambda - g[u]).max(0.0)
        } else {
            (g[u] - lambda).abs()
        };
        worst = worst.max(v);
    }
    (lambda, worst / scale)
}

/// Maximises `f` (value, writes the gradient) over the problem's feasible set (module docs).
pub fn solve(p: &Problem, f: &mut dyn FnMut(&[f64], &mut [f64]) -> f64) -> Solution {
    let n = p.current.len();
    let mut starts = vec![p.current.clone()];
    if n <= 50 {
        for k in 0..3 {
            let v: Vec<f64> = (0..n)
                .map(|u| {
                    let frac = ((u * 7 + k * 3 + 1) % 5) as f64 / 4.0;
                    p.lower[u] + frac * (p.upper[u] - p.lower[u])
                })
                .collect();
            starts.push(v);
        }
    }
    let mut best: Option<Solution> = None;
    for s in starts {
        let sol = ascend(p, project(&s, &p.lower, &p.upper, p.budget), f);
        if best.as_ref().is_none_or(|b| sol.value > b.value) {
            best = Some(sol);
        }
    }
    best.expect("at least one start")
}

fn ascend(p: &Problem, mut b: Vec<f64>, f: &mut dyn FnMut(&[f64], &mut [f64]) -> f64) -> Solution {
    let n = b.len();
    let mut g = vec![0.0; n];
    let mut fx = f(&b, &mut g);
    let gmax = g.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    let mut alpha = if gmax > 0.0 {
        0.1 * p.budget.max(1e-12) / gmax / (n as f64)
    } else {
        1.0
    };
    let mut converged = false;
    let mut gn = vec![0.0; n];
    let tol = 1e-12 * p.budget.max(1e-300);
    for _ in 0..3000 {
        let mut accepted = false;
        let mut tries = 0;
        let (bn, fnew, step) = loop {
            let trial: Vec<f64> = (0..n).map(|i| b[i] + alpha * g[i]).collect();
            let bn = project(&trial, &p.lower, &p.upper, p.budget);
            let d: Vec<f64> = (0..n).map(|i| bn[i] - b[i]).collect();
            let step = d.iter().fold(0.0f64, |m, v| m.max(v.abs()));
            if step <= tol {
                break (bn, fx, step);
            }
            let fnew = f(&bn, &mut gn);
            if fnew.is_finite() && fnew >= fx + 1e-4 * dot(&g, &d) {
                accepted = true;
                break (bn, fnew, step);
            }
            alpha *= 0.5;
            tries += 1;
            if tries > 60 {
                break (b.clone(), fx, 0.0);
            }
        };
        if !accepted {
            converged = step <= tol || tries > 60;
            break;
        }
        let s: Vec<f64> = (0..n).map(|i| bn[i] - b[i]).collect();
        let y: Vec<f64> = (0..n).map(|i| gn[i] - g[i]).collect();
        let sy = dot(&s, &y);
        alpha = if sy < 0.0 {
            dot(&s, &s) / (-sy)
        } else {
            alpha * 4.0
        };
        let rel = (fnew - fx).abs() <= 1e-15 * fx.abs().max(1e-300);
        b = bn;
        fx = fnew;
        std::mem::swap(&mut g, &mut gn);
        if rel && step <= 1e-9 * p.budget {
            converged = true;
            break;
        }
    }
    let mut g_fin = vec![0.0; n];
    let value = f(&b, &mut g_fin);
    let (lambda, kkt_res) = kkt(p, &b, &g_fin);
    Solution {
        b,
        value,
        grad: g_fin,
        lambda,
        kkt: kkt_res,
        converged,
    }
}

/// The allocation of `cfg.budget` (default: the reference spend) that maximises the predicted
/// outcome (module docs).
pub fn optimize(fitted: &FittedModel, cfg: &OptimizeConfig) -> Result<Allocation> {
    let planner = Planner::new(fitted, cfg)?;
    let budget = cfg.budget.unwrap_or_else(|| planner.reference_total());
    planner.allocate(budget)
}

/// The smallest budget whose optimal allocation reaches `target` (module docs); `cfg.budget` is
/// ignored. Errors with [`Error::Unreachable`] when even 2²⁰ times the reference spend does not.
pub fn smallest_budget(
    fitted: &FittedModel,
    cfg: &OptimizeConfig,
    target: Target,
) -> Result<Allocation> {
    let planner = Planner::new(fitted, cfg)?;
    let reached = |a: &Allocation| match target {
        Target::Outcome(y) => a.outcome_recommended >= y,
        Target::MarginalRoi(r) => a.marginal_roi <= r,
    };
    let zero = planner.allocate(0.0)?;
    if reached(&zero) {
        return Ok(zero);
    }
    let mut hi = planner.reference_total();
    let mut lo = 0.0;
    let mut best = planner.allocate(hi)?;
    let mut k = 0;
    while !reached(&best) {
        lo = hi;
        hi *= 2.0;
        k += 1;
        if k > 20 {
            // Plain numbers where they read well, scientific notation for the extremes.
            let number = |x: f64| {
                if (1e-3..1e9).contains(&x.abs()) {
                    format!("{}", (x * 1e4).round() / 1e4)
                } else {
                    format!("{x:.4e}")
                }
            };
            let (wanted, got) = match target {
                Target::Outcome(y) => (
                    format!("an outcome of {}", number(y)),
                    format!("the outcome is {}", number(best.outcome_recommended)),
                ),
                Target::MarginalRoi(r) => (
                    format!("a marginal ROI of {}", number(r)),
                    format!("the marginal ROI is still {}", number(best.marginal_roi)),
                ),
            };
            return Err(Error::Unreachable(format!(
                "{wanted} is not reached with any budget up to {} (2^20 times the reference \
                 spend), where {got}",
                number(lo)
            )));
        }
        best = planner.allocate(hi)?;
    }
    for _ in 0..60 {
        if hi - lo <= 1e-9 * hi {
            break;
        }
        let mid = 0.5 * (lo + hi);
        let a = planner.allocate(mid)?;
        if reached(&a) {
            hi = mid;
            best = a;
        } else {
            lo = mid;
        }
    }
    Ok(best)
}

impl Allocation {
    /// Writes `allocation.json` and `allocation.csv` (one row per unit) into `dir`.
    pub fn write(&self, dir: &Path) -> Result<()> {
        let ferr = |p: &Path, e: &dyn std::fmt::Display| Error::File {
            path: p.display().to_string(),
            message: e.to_string(),
        };
        std::fs::create_dir_all(dir).map_err(|e| ferr(dir, &e))?;
        let path = dir.join("allocation.json");
        let json = serde_json::to_string_pretty(self).map_err(|e| ferr(&path, &e))?;
        mmm_data::write_atomic(&path, |w| w.write_all(json.as_bytes()))
            .map_err(|e| ferr(&path, &e))?;
        let path = dir.join("allocation.csv");
        mmm_data::write_csv_atomic(&path, |w| {
            w.write_record([
                "channel",
                "region",
                "unit",
                "current",
                "recommended",
                "change_pct",
                "lower",
                "upper",
                "mroi_current",
                "mroi_recommended",
                "status",
                "response_open",
            ])?;
            let opt = |v: Option<f64>| v.map(|x| x.to_string()).unwrap_or_default();
            let rows: Vec<&UnitAllocation> = if self.regions.is_empty() {
                self.channels.values().collect()
            } else {
                self.regions.iter().collect()
            };
            for r in rows {
                w.write_record([
                    r.channel.clone(),
                    r.region.clone(),
                    r.unit.clone(),
                    r.current.to_string(),
                    r.recommended.to_string(),
                    opt(r.change_pct),
                    r.lower.to_string(),
                    r.upper.to_string(),
                    opt(r.mroi_current),
                    opt(r.mroi_recommended),
                    r.status.clone(),
                    r.response_open.map(|b| b.to_string()).unwrap_or_default(),
                ])?;
            }
            Ok(())
        })
        .map_err(|e| ferr(&path, &e))?;
        Ok(())
    }
}
