//! Decisions under uncertainty: response-curve bands and the budget allocation that maximises
//! the posterior-expected outcome, from the posterior's parameter draws ([`ParameterDraws`];
//! docs/analysis.md, "Decisions under uncertainty").
//!
//! Every draw d gives a model (the saved one with the draw's parameters), and the existing
//! analyses run on it unchanged:
//!
//! * **bands** ([`curve_bands`]): channel c's national response at multiplier m in draw d,
//!   response_{c,d}(m) (`curves`), summarised over the draws at each m by its mean and its 5 % and
//!   95 % quantiles; likewise ROI and marginal ROI;
//! * **expected outcome** ([`optimize_expected`]): maximise Ē(b) = (1/D) Σ_d F_d(b) over the same
//!   feasible set as the point optimiser (`optimize`), with the exact gradient (1/D) Σ_d ∇F_d;
//!   Ē is a mean of the draws' objectives, so the same solver applies. Per draw the lift of the
//!   recommendation b* over the current (historical) split c is L_d = F_d(b*) − F_d(c);
//!   `probability_beats_current` = #{d: L_d > 0} / D, and the lift is summarised by its mean and
//!   90 % interval.

use crate::curves::{CurveConfig, curves_of};
use crate::draws::ParameterDraws;
use crate::optimize::{OptimizeConfig, Planner, media_value, solve};
use crate::response::ResponseSurface;
use crate::{Allocation, Result};
use mmm_fitted::FittedModel;
use mmm_posterior::Interval;
use mmm_posterior::diagnostics::quantile;
use serde::{Deserialize, Serialize};

/// Pointwise posterior summary of a curve: mean and 5 % / 95 % quantiles at each multiplier.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Band {
    /// Posterior mean at each multiplier.
    pub mean: Vec<f64>,
    /// 5 % quantile at each multiplier.
    pub p05: Vec<f64>,
    /// 95 % quantile at each multiplier.
    pub p95: Vec<f64>,
}

impl Band {
    /// The band of `curves[draw][point]` (non-empty, every curve as long).
    pub fn of(curves: &[Vec<f64>]) -> Band {
        let n = curves.first().map_or(0, Vec::len);
        let at = |i: usize| curves.iter().map(|c| c[i]).collect::<Vec<f64>>();
        Band {
            mean: (0..n)
                .map(|i| at(i).iter().sum::<f64>() / curves.len() as f64)
                .collect(),
            p05: (0..n).map(|i| quantile(&at(i), 0.05)).collect(),
            p95: (0..n).map(|i| quantile(&at(i), 0.95)).collect(),
        }
    }
}

/// The bands of one channel's national curves and ratios.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChannelBands {
    /// Channel name.
    pub channel: String,
    /// Direct response at each multiplier.
    pub direct: Band,
    /// Total (DAG-mediated) response at each multiplier.
    pub total: Band,
    /// Direct ROI (`None` without spend).
    pub roi_direct: Option<Interval>,
    /// Direct marginal ROI at current spend (`None` without spend).
    pub mroi_direct: Option<Interval>,
    /// Total ROI.
    pub roi_total: Option<Interval>,
    /// Total marginal ROI.
    pub mroi_total: Option<Interval>,
}

/// Bands of every channel's national curves over the parameter draws.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CurveBands {
    /// Draws the bands summarise.
    pub draws: usize,
    /// Per channel, in the curves' order.
    pub channels: Vec<ChannelBands>,
}

/// Bands of the national response curves of `cfg` over `draws` (module docs).
///
/// # Errors
/// As [`crate::response_curves`], for any draw's model.
pub fn curve_bands(
    fitted: &FittedModel,
    draws: &ParameterDraws,
    cfg: &CurveConfig,
) -> Result<CurveBands> {
    let per_draw = (0..draws.len())
        .map(|i| curves_of(&draws.fitted(i, fitted), cfg, false))
        .collect::<Result<Vec<_>>>()?;
    let c_n = per_draw.first().map_or(0, |c| c.channels.len());
    let channels = (0..c_n)
        .map(|c| {
            let national = |f: &dyn Fn(&crate::RegionCurve) -> Vec<f64>| {
                per_draw
                    .iter()
                    .map(|d| f(&d.channels[c].national))
                    .collect::<Vec<_>>()
            };
            let ratio = |f: &dyn Fn(&crate::RegionCurve) -> Option<f64>| {
                per_draw
                    .iter()
                    .map(|d| f(&d.channels[c].national))
                    .collect::<Option<Vec<f64>>>()
                    .map(|v| Interval::of(&v))
            };
            ChannelBands {
                channel: per_draw[0].channels[c].channel.clone(),
                direct: Band::of(&national(&|r| r.direct.clone())),
                total: Band::of(&national(&|r| r.total.clone())),
                roi_direct: ratio(&|r| r.roi_direct),
                mroi_direct: ratio(&|r| r.mroi_direct),
                roi_total: ratio(&|r| r.roi_total),
                mroi_total: ratio(&|r| r.mroi_total),
            }
        })
        .collect();
    Ok(CurveBands {
        draws: draws.len(),
        channels,
    })
}

/// The point fit's curves ([`crate::response_curves`]) with the bands over `draws` when given.
///
/// # Errors
/// As [`crate::response_curves`] and [`curve_bands`].
pub fn response_curves_with_bands(
    fitted: &FittedModel,
    draws: Option<&ParameterDraws>,
    cfg: &CurveConfig,
) -> Result<crate::Curves> {
    let mut curves = crate::response_curves(fitted, cfg)?;
    curves.posterior = draws.map(|d| curve_bands(fitted, d, cfg)).transpose()?;
    Ok(curves)
}

/// One draw's media outcome as a function of spend, and its non-media outcome.
struct DrawOutcome {
    surface: ResponseSurface,
    nonmedia: f64,
}

/// What the parameter draws say about a recommended allocation (module docs).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DecisionUncertainty {
    /// Draws averaged over.
    pub draws: usize,
    /// Share of the draws in which the recommendation's outcome exceeds the current split's.
    pub probability_beats_current: f64,
    /// Outcome under the recommendation minus under the current split: mean and 90 % interval
    /// over the draws (target units).
    pub lift: Interval,
    /// Outcome under the current split over the draws.
    pub outcome_current: Interval,
    /// Outcome under the recommendation over the draws.
    pub outcome_recommended: Interval,
}

/// The allocation of `cfg.budget` (default: the reference spend) that maximises the
/// posterior-expected outcome over `draws`, with [`DecisionUncertainty`] in its `posterior`
/// field; its outcomes and marginal ROIs are posterior means (module docs). The bounds and the
/// current split come from the data, as in [`crate::optimize`].
///
/// # Errors
/// As [`crate::optimize`], for the point model or any draw's.
pub fn optimize_expected(
    fitted: &FittedModel,
    draws: &ParameterDraws,
    cfg: &OptimizeConfig,
) -> Result<Allocation> {
    let point = Planner::new(fitted, cfg)?;
    let budget = cfg.budget.unwrap_or_else(|| point.reference_total());
    let problem = point.problem(budget)?;
    // Per draw only its response surface and non-media outcome are kept: the panel, window and
    // reference spend are the data's, the same for every draw.
    let surfaces: Vec<DrawOutcome> = (0..draws.len())
        .map(|i| {
            let Planner {
                surface, nonmedia, ..
            } = Planner::new(&draws.fitted(i, fitted), cfg)?;
            Ok(DrawOutcome { surface, nonmedia })
        })
        .collect::<Result<_>>()?;
    let reference = &point.reference;
    let value = |s: &DrawOutcome, b: &[f64], g: Option<&mut [f64]>| {
        media_value(&s.surface, reference, b, g)
    };
    let n = surfaces.len() as f64;
    let units = problem.current.len();
    let expected = |b: &[f64], grad: &mut [f64]| -> f64 {
        grad.fill(0.0);
        let mut g = vec![0.0; units];
        let mut total = 0.0;
        for s in &surfaces {
            total += value(s, b, Some(&mut g));
            for (gi, v) in grad.iter_mut().zip(&g) {
                *gi += v / n;
            }
        }
        total / n
    };
    let solution = solve(&problem, &mut |b, g| expected(b, g));
    let mut g_cur = vec![0.0; units];
    let media_cur = expected(&problem.current, &mut g_cur);
    let nonmedia = surfaces.iter().map(|s| s.nonmedia).sum::<f64>() / n;
    let mut allocation = point.package_with(&problem, &solution, media_cur, &g_cur, nonmedia);
    let current: Vec<f64> = surfaces
        .iter()
        .map(|s| s.nonmedia + value(s, &problem.current, None))
        .collect();
    let recommended: Vec<f64> = surfaces
        .iter()
        .map(|s| s.nonmedia + value(s, &solution.b, None))
        .collect();
    let lift: Vec<f64> = recommended
        .iter()
        .zip(&current)
        .map(|(r, c)| r - c)
        .collect();
    allocation.posterior = Some(DecisionUncertainty {
        draws: surfaces.len(),
        probability_beats_current: lift.iter().filter(|l| **l > 0.0).count() as f64 / n,
        lift: Interval::of(&lift),
        outcome_current: Interval::of(&current),
        outcome_recommended: Interval::of(&recommended),
    });
    Ok(allocation)
}
