//! Channel-level quantities of one posterior draw over the whole history (training and holdout
//! weeks, observed cells, target units — as `summary.json`'s point figures,
//! `mmm_fitted::attribution`), and their posterior means and 90 % intervals.
//!
//! For draw θ and channel c, with s_c = Hill_c(adstock_c(x̃_c)) over every week of the history:
//!
//! * contribution_c = Σ_{r,t observed} ȳ_r β_c e^{η_{r,c}} s_c[r,t];
//! * share_c = contribution_c / Σ_c' contribution_c' (0 when the media contribute nothing);
//! * roi_c = contribution_c / spend_c;
//! * mroi_c = (d/dm contribution_c(m·x_c) at m = 1) / spend_c
//!   = Σ ȳ_r β_c e^{η} Hill_c'(a[r,t]) a[r,t] / spend_c, exact because adstock is linear:
//!   the extra contribution per extra unit of spend for a small proportional increase.

use crate::density::PosteriorModel;
use crate::diagnostics::quantile;
use ndarray::{Array2, Axis};
use serde::{Deserialize, Serialize};

/// One channel's quantities in one draw.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ChannelDraw {
    /// Direct contribution, target units.
    pub contribution: f64,
    /// Share of the summed media contribution.
    pub share: f64,
    /// Contribution per unit of spend (`None` without spend).
    pub roi: Option<f64>,
    /// Marginal ROI at the historical spend (`None` without spend).
    pub mroi: Option<f64>,
}

/// Posterior mean and central 90 % interval of one quantity.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Interval {
    /// Posterior mean.
    pub mean: f64,
    /// 5 % quantile.
    pub p05: f64,
    /// 95 % quantile.
    pub p95: f64,
}

impl Interval {
    /// Mean and 5 % / 95 % quantiles of `x` (non-empty).
    pub fn of(x: &[f64]) -> Interval {
        Interval {
            mean: x.iter().sum::<f64>() / x.len() as f64,
            p05: quantile(x, 0.05),
            p95: quantile(x, 0.95),
        }
    }

    /// Whether `v` lies in [p05, p95].
    pub fn holds(&self, v: f64) -> bool {
        (self.p05..=self.p95).contains(&v)
    }
}

/// One channel's posterior summary.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ChannelInterval {
    /// Direct contribution, target units.
    pub contribution: Interval,
    /// Share of the media total.
    pub share: Interval,
    /// ROI (`None` without spend).
    pub roi: Option<Interval>,
    /// Marginal ROI (`None` without spend).
    pub mroi: Option<Interval>,
}

/// The quantities of every channel at the unconstrained point `theta` (module docs).
pub fn channel_draws(model: &PosteriorModel, theta: &[f64]) -> Vec<ChannelDraw> {
    let l = model.layout();
    let d = model.data();
    let (c_n, r_n, t_n) = d.media.dim();
    let mut a = Array2::zeros((r_n, t_n));
    let mut s = Array2::zeros((r_n, t_n));
    let mut contribution = vec![0.0; c_n];
    let mut slope = vec![0.0; c_n];
    let betas = model.betas(theta);
    for c in 0..c_n {
        let x = d.media.index_axis(Axis(0), c);
        let ad = model.model().adstock(c);
        let sat = model.model().saturation(c);
        let (ap, sp) = (&theta[l.adstock_of(c)], &theta[l.saturation_of(c)]);
        ad.forward(ap, x, a.view_mut());
        sat.forward(sp, a.view(), s.view_mut());
        let beta = betas[c];
        for r in 0..r_n {
            let k = d.region_means[r] * beta * l.eta(theta, r, c).exp();
            for t in 0..t_n {
                if d.observed[[r, t]] {
                    contribution[c] += k * s[[r, t]];
                    slope[c] += k * sat.derivative(sp, a[[r, t]]) * a[[r, t]];
                }
            }
        }
    }
    let total: f64 = contribution.iter().sum();
    (0..c_n)
        .map(|c| {
            let spend = d.spend[c];
            let ratio = |v: f64| (spend > 0.0).then(|| v / spend);
            ChannelDraw {
                contribution: contribution[c],
                share: if total > 0.0 {
                    contribution[c] / total
                } else {
                    0.0
                },
                roi: ratio(contribution[c]),
                mroi: ratio(slope[c]),
            }
        })
        .collect()
}

/// Posterior summary per channel from `draws[i][c]` (every draw of every chain; non-empty).
pub fn summarize(draws: &[Vec<ChannelDraw>]) -> Vec<ChannelInterval> {
    let c_n = draws.first().map_or(0, Vec::len);
    (0..c_n)
        .map(|c| {
            let of = |f: &dyn Fn(&ChannelDraw) -> f64| {
                Interval::of(&draws.iter().map(|d| f(&d[c])).collect::<Vec<_>>())
            };
            let opt = |f: &dyn Fn(&ChannelDraw) -> Option<f64>| {
                let v: Option<Vec<f64>> = draws.iter().map(|d| f(&d[c])).collect();
                v.map(|v| Interval::of(&v))
            };
            ChannelInterval {
                contribution: of(&|d| d.contribution),
                share: of(&|d| d.share),
                roi: opt(&|d| d.roi),
                mroi: opt(&|d| d.mroi),
            }
        })
        .collect()
}

/// One channel's posterior mean and 90 % interval of share and ROI beside their true values
/// (simulations and benchmark panels), for [`score_against_truth`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AgainstTruth {
    /// Share of the media total.
    pub share: Interval,
    /// ROI (`None` without spend).
    pub roi: Option<Interval>,
    /// The true share.
    pub true_share: f64,
    /// The true ROI.
    pub true_roi: f64,
}

/// How a posterior's means and 90 % intervals compare with the truth over a panel's channels.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TruthScores {
    /// Share MAE (pp) of the posterior-mean shares.
    pub share_mae_pp: f64,
    /// Spearman correlation of the posterior-mean ROI with the true ROI (channels with spend).
    pub roi_spearman: Option<f64>,
    /// Channels whose 90 % share interval holds the true share.
    pub share_covered: usize,
    /// Channels whose 90 % ROI interval holds the true ROI.
    pub roi_covered: usize,
    /// Channels scored.
    pub channels: usize,
    /// Mean width of the 90 % share intervals, pp.
    pub share_width_pp: f64,
    /// Mean width of the 90 % ROI intervals relative to the true ROI, over the channels with an
    /// effect (a true ROI of 0 has no relative width); `None` without such channels.
    pub roi_relative_width: Option<f64>,
}

/// Scores `channels` against their truth (the figures of docs/results.md, "Posterior").
pub fn score_against_truth(channels: &[AgainstTruth]) -> TruthScores {
    let n = channels.len().max(1) as f64;
    let (mut mae, mut share_width, mut roi_width, mut with_effect) = (0.0, 0.0, 0.0, 0usize);
    let (mut share_covered, mut roi_covered) = (0, 0);
    let (mut est_roi, mut true_roi) = (Vec::new(), Vec::new());
    for c in channels {
        mae += (c.share.mean - c.true_share).abs();
        share_covered += usize::from((c.share.p05..=c.share.p95).contains(&c.true_share));
        share_width += c.share.p95 - c.share.p05;
        if let Some(roi) = c.roi {
            roi_covered += usize::from((roi.p05..=roi.p95).contains(&c.true_roi));
            if c.true_roi != 0.0 {
                roi_width += (roi.p95 - roi.p05) / c.true_roi.abs();
                with_effect += 1;
            }
            est_roi.push(roi.mean);
            true_roi.push(c.true_roi);
        }
    }
    TruthScores {
        share_mae_pp: 100.0 * mae / n,
        roi_spearman: mmm_eval::spearman(&est_roi, &true_roi).ok(),
        share_covered,
        roi_covered,
        channels: channels.len(),
        share_width_pp: 100.0 * share_width / n,
        roi_relative_width: (with_effect > 0).then(|| roi_width / with_effect as f64),
    }
}
