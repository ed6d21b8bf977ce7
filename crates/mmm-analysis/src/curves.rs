//! Response curves, ROI, marginal ROI and Hill summaries, per channel, national and per region.
//!
//! For channel c and multiplier m of its activity in the window W (every region at once, other
//! channels unchanged), the *response* is what the window's activity of c adds to the predicted
//! outcome, carryover included (outcome weeks run to the end of the zero-media tail):
//!
//! ```text
//! response_c(m) = F(m·e_c) − F(0·e_c)            (F from `response`, direct or total effect)
//! ROI_c         = response_c(1) / S_c             S_c = spend of c in W
//! mROI_c        = ∂F/∂m_c(1) / S_c                (exact: adstock is linear, saturation analytic)
//! ```
//!
//! Per region the same quantities use that region's rows (media terms of different regions do
//! not interact, so one run gives every region). Where a channel's media are impressions and no
//! spend is given, S counts thousands of impressions and the unit is labelled
//! `per_1000_impressions`.
//!
//! **Hill summary.** A Hill curve `L·xˢ/(xˢ + Kˢ)` (x = spend) is fitted by least squares to each
//! model curve with `mmm_optim::minimize_lbfgs_box` (fitted on x/S and y/max y, bounds
//! `L ∈ [1e-6, 100]`, `K ∈ [1e-3, 1e3]`, `s ∈ [0.1, 10]`, a few starts) and reported as
//! half-saturation K (spend units), slope s, maximum response L (target units), the saturation
//! level at current spend `Sˢ/(Sˢ + Kˢ)` and the fit's RMSE relative to the curve's maximum. The
//! model's curve is a sum of Hill curves over weeks and regions with different adstocked levels,
//! so the summary is an approximation; the model curve is the reference.

use crate::plan::{Setup, WindowSpec};
use crate::response::{Effect, ResponseSurface, Unit};
use crate::{Error, Result};
use mmm_fitted::FittedModel;
use mmm_optim::{LbfgsConfig, minimize_lbfgs_box};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Region label of the national aggregate in curve outputs.
pub const ALL_REGIONS: &str = "all";

/// What to compute curves over.
#[derive(Debug, Clone, PartialEq)]
pub struct CurveConfig {
    /// The window of historical activity the multipliers scale.
    pub window: WindowSpec,
    /// Multipliers of the window's activity (default 0, 0.1, …, 3).
    pub multipliers: Vec<f64>,
    /// Channels whose media are impressions without a spend column.
    pub impressions: Vec<String>,
}

impl Default for CurveConfig {
    fn default() -> Self {
        CurveConfig {
            window: WindowSpec::default(),
            multipliers: (0..=30).map(|i| i as f64 / 10.0).collect(),
            impressions: Vec::new(),
        }
    }
}

/// A Hill curve fitted to a model curve.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HillSummary {
    /// Maximum response L (target units).
    pub max_response: f64,
    /// Half-saturation K (spend units).
    pub half_saturation: f64,
    /// Slope s.
    pub slope: f64,
    /// Sˢ/(Sˢ + Kˢ) at the current spend S.
    pub saturation_at_current: f64,
    /// RMSE of the fit relative to the curve's maximum response.
    pub relative_rmse: f64,
}

/// One channel's curve and ratios in one region (or all regions).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RegionCurve {
    /// Region name, or [`ALL_REGIONS`].
    pub region: String,
    /// Spend in the window (in the channel's unit).
    pub spend: f64,
    /// Activity in the window (media units).
    pub activity: f64,
    /// Spend at each multiplier.
    pub spend_grid: Vec<f64>,
    /// Direct response at each multiplier (target units).
    pub direct: Vec<f64>,
    /// Total (DAG-mediated) response at each multiplier.
    pub total: Vec<f64>,
    /// Direct contribution of the window's activity (target units).
    pub contribution_direct: f64,
    /// Total contribution of the window's activity.
    pub contribution_total: f64,
    /// Direct ROI (`None` without spend).
    pub roi_direct: Option<f64>,
    /// Total ROI.
    pub roi_total: Option<f64>,
    /// Direct marginal ROI at current spend.
    pub mroi_direct: Option<f64>,
    /// Total marginal ROI at current spend.
    pub mroi_total: Option<f64>,
    /// Hill summary of the direct curve.
    pub hill_direct: Option<HillSummary>,
    /// Hill summary of the total curve.
    pub hill_total: Option<HillSummary>,
}

/// Curves of one channel.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ChannelCurves {
    /// Channel name.
    pub channel: String,
    /// `spend` or `per_1000_impressions`.
    pub unit: String,
    /// All regions together.
    pub national: RegionCurve,
    /// Per region (empty for a one-region panel, where `national` is that region).
    pub regions: Vec<RegionCurve>,
    /// How much the channel's activity moved apart from each region's level, trend and season
    /// over the training weeks, relative to its level (`FittedModel::activity_variation`); below
    /// `mmm_fitted::LOW_VARIATION` its curve rests on small movements. Absent when it could
    /// not be measured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub activity_variation: Option<f64>,
}

/// Every channel's curves (what `dcmmm curves` writes).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Curves {
    /// The window as given (`last-52`, `all`, `FROM:TO`).
    pub window: String,
    /// First and last week of the window.
    pub window_weeks: (String, String),
    /// Carryover weeks counted after the last historical week.
    pub tail_weeks: usize,
    /// The multipliers.
    pub multipliers: Vec<f64>,
    /// Per channel.
    pub channels: Vec<ChannelCurves>,
    /// Bands of the national curves over the posterior's parameter draws
    /// ([`crate::uncertainty::curve_bands`]); absent without draws.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub posterior: Option<crate::uncertainty::CurveBands>,
}

fn ratio(num: f64, den: f64) -> Option<f64> {
    (den > 0.0).then(|| num / den)
}

/// Computes every channel's curves for `fitted` (see the module docs).
pub fn response_curves(fitted: &FittedModel, cfg: &CurveConfig) -> Result<Curves> {
    curves_of(fitted, cfg, true)
}

/// The curves, with the Hill summaries and the activity variation only when `summaries` (the
/// posterior's bands need neither for each draw).
pub(crate) fn curves_of(
    fitted: &FittedModel,
    cfg: &CurveConfig,
    summaries: bool,
) -> Result<Curves> {
    if cfg.multipliers.is_empty()
        || cfg
            .multipliers
            .iter()
            .any(|m| !(m.is_finite() && *m >= 0.0))
    {
        return Err(Error::Invalid("multipliers must be finite and ≥ 0".into()));
    }
    let setup = Setup::historical(fitted, &cfg.window, &cfg.impressions)?;
    let variation = if summaries {
        fitted.activity_variation()?
    } else {
        vec![None; fitted.channels.len()]
    };
    let (c_n, r_n) = (fitted.channels.len(), fitted.regions.len());
    let units: Vec<Unit> = (0..c_n)
        .flat_map(|c| {
            (0..r_n).map(move |r| Unit {
                channel: c,
                regions: vec![r],
            })
        })
        .collect();
    let surface = ResponseSurface::from_fitted(fitted, &setup, units)?;
    let spend = setup.window_spend();
    let activity = setup.window_activity();
    let n_units = c_n * r_n;
    let mut channels = Vec::with_capacity(c_n);
    for c in 0..c_n {
        let at = |mult: f64, effect: Effect, grad: Option<&mut [f64]>| {
            let mut m = vec![1.0; n_units];
            m[c * r_n..(c + 1) * r_n].fill(mult);
            surface.evaluate(&m, effect, grad)
        };
        let zero = [at(0.0, Effect::Direct, None), at(0.0, Effect::Total, None)];
        let mut curves = [
            vec![vec![0.0; cfg.multipliers.len()]; r_n],
            vec![vec![0.0; cfg.multipliers.len()]; r_n],
        ];
        for (i, &mult) in cfg.multipliers.iter().enumerate() {
            for (e, effect) in [Effect::Direct, Effect::Total].into_iter().enumerate() {
                let v = at(mult, effect, None);
                for (r, row) in curves[e].iter_mut().enumerate() {
                    row[i] = v.per_region[r] - zero[e].per_region[r];
                }
            }
        }
        let mut grads = [vec![0.0; n_units], vec![0.0; n_units]];
        let one = [
            at(1.0, Effect::Direct, Some(&mut grads[0])),
            at(1.0, Effect::Total, Some(&mut grads[1])),
        ];
        let contrib = |e: usize, r: usize| one[e].per_region[r] - zero[e].per_region[r];
        let make = |name: String,
                    s: f64,
                    act: f64,
                    direct: Vec<f64>,
                    total: Vec<f64>,
                    cd: f64,
                    ct: f64,
                    gd: f64,
                    gt: f64|
         -> Result<RegionCurve> {
            let grid: Vec<f64> = cfg.multipliers.iter().map(|m| m * s).collect();
            Ok(RegionCurve {
                region: name,
                spend: s,
                activity: act,
                hill_direct: if summaries {
                    summary(&grid, &direct, s)?
                } else {
                    None
                },
                hill_total: if summaries {
                    summary(&grid, &total, s)?
                } else {
                    None
                },
                spend_grid: grid,
                direct,
                total,
                contribution_direct: cd,
                contribution_total: ct,
                roi_direct: ratio(cd, s),
                roi_total: ratio(ct, s),
                mroi_direct: ratio(gd, s),
                mroi_total: ratio(gt, s),
            })
        };
        let sum_over = |v: &Vec<Vec<f64>>| -> Vec<f64> {
            (0..cfg.multipliers.len())
                .map(|i| v.iter().map(|row| row[i]).sum())
                .collect()
        };
        let s_all: f64 = spend.row(c).sum();
        let national = make(
            if r_n == 1 {
                fitted.regions[0].clone()
            } else {
                ALL_REGIONS.into()
            },
            s_all,
            activity.row(c).sum(),
            sum_over(&curves[0]),
            sum_over(&curves[1]),
            (0..r_n).map(|r| contrib(0, r)).sum(),
            (0..r_n).map(|r| contrib(1, r)).sum(),
            grads[0][c * r_n..(c + 1) * r_n].iter().sum(),
            grads[1][c * r_n..(c + 1) * r_n].iter().sum(),
        )?;
        let mut regions = Vec::new();
        if r_n > 1 {
            for r in 0..r_n {
                regions.push(make(
                    fitted.regions[r].clone(),
                    spend[[c, r]],
                    activity[[c, r]],
                    curves[0][r].clone(),
                    curves[1][r].clone(),
                    contrib(0, r),
                    contrib(1, r),
                    grads[0][c * r_n + r],
                    grads[1][c * r_n + r],
                )?);
            }
        }
        channels.push(ChannelCurves {
            channel: fitted.channels[c].clone(),
            unit: setup.basis[c].label().into(),
            national,
            regions,
            activity_variation: variation[c],
        });
    }
    let weeks = &setup.panel.weeks;
    Ok(Curves {
        window: cfg.window.to_string(),
        window_weeks: (
            weeks[setup.window.start].to_string(),
            weeks[setup.window.end - 1].to_string(),
        ),
        tail_weeks: setup.tail_weeks,
        multipliers: cfg.multipliers.clone(),
        channels,
        posterior: None,
    })
}

fn summary(x: &[f64], y: &[f64], current: f64) -> Result<Option<HillSummary>> {
    if current <= 0.0 {
        return Ok(None);
    }
    fit_hill(x, y, current)
}

/// Hill curve `L·xˢ/(xˢ + Kˢ)` of θ = (L, K, s) at `x` with its gradient w.r.t. θ.
fn hill_point(theta: &[f64], x: f64) -> (f64, [f64; 3]) {
    let (l, k, s) = (theta[0], theta[1], theta[2]);
    if x <= 0.0 {
        return (0.0, [0.0; 3]);
    }
    let z = s * (x / k).ln();
    let h = 1.0 / (1.0 + (-z).exp());
    let q = h * (1.0 - h);
    (l * h, [h, -l * q * s / k, l * q * (x / k).ln()])
}

/// Least-squares loss ½·mean((Hill(θ, x) − y)²) and its gradient (exposed for the gradient test).
pub fn hill_loss(theta: &[f64], x: &[f64], y: &[f64], grad: &mut [f64]) -> f64 {
    grad.fill(0.0);
    let n = x.len() as f64;
    let mut loss = 0.0;
    for (&xi, &yi) in x.iter().zip(y) {
        let (p, dp) = hill_point(theta, xi);
        let e = p - yi;
        loss += 0.5 * e * e / n;
        for (g, d) in grad.iter_mut().zip(dp) {
            *g += e * d / n;
        }
    }
    loss
}

/// Fits a Hill curve to the points `(x, y)` (x = spend, y = response) and summarises it at the
/// current spend `current`. `None` when the curve has no positive response.
pub fn fit_hill(x: &[f64], y: &[f64], current: f64) -> Result<Option<HillSummary>> {
    if x.len() != y.len() || x.is_empty() {
        return Err(Error::Invalid(
            "Hill fit: x and y must have the same, non-zero length".into(),
        ));
    }
    let y_max = y.iter().copied().fold(0.0, f64::max);
    if y_max.is_nan() || y_max <= 0.0 || current.is_nan() || current <= 0.0 {
        return Ok(None);
    }
    let xs: Vec<f64> = x.iter().map(|v| v / current).collect();
    let ys: Vec<f64> = y.iter().map(|v| v / y_max).collect();
    let lower = [1e-6, 1e-3, 0.1];
    let upper = [100.0, 1e3, 10.0];
    let cfg = LbfgsConfig {
        max_iters: 500,
        grad_tol: 1e-12,
        f_tol: 1e-15,
        ..LbfgsConfig::default()
    };
    let mut best: Option<(f64, Vec<f64>)> = None;
    for &(k0, s0) in &[(1.0, 1.0), (0.5, 2.0), (2.0, 0.8), (1.0, 3.0)] {
        let x0 = [1.5, k0, s0];
        let res = minimize_lbfgs_box(
            |t: &[f64], g: &mut [f64]| hill_loss(t, &xs, &ys, g),
            &x0,
            &lower,
            &upper,
            &cfg,
        )?;
        if best.as_ref().is_none_or(|(v, _)| res.value < *v) {
            best = Some((res.value, res.x));
        }
    }
    let (loss, t) = best.expect("at least one start");
    let (k, s) = (t[1], t[2]);
    Ok(Some(HillSummary {
        max_response: t[0] * y_max,
        half_saturation: k * current,
        slope: s,
        saturation_at_current: 1.0 / (1.0 + k.powf(s)),
        relative_rmse: (2.0 * loss).sqrt(),
    }))
}

impl Curves {
    /// Writes `curves.csv` (`channel,region,effect,multiplier,spend,response`), `roi.csv` (one
    /// row per channel and region: spend, contributions, ROI, mROI, Hill summary) and
    /// `curves.json` (everything) into `dir`, created if missing. With bands
    /// ([`Curves::posterior`]) `curves.csv` gains `response_mean,response_p05,response_p95` and
    /// `roi.csv` the 5 % and 95 % quantiles of the direct ROI and marginal ROI, filled on the
    /// national rows (empty on the per-region rows).
    pub fn write(&self, dir: &Path) -> Result<()> {
        let ferr = |p: &Path, e: &dyn std::fmt::Display| Error::File {
            path: p.display().to_string(),
            message: e.to_string(),
        };
        let opt = |v: Option<f64>| v.map(|x| x.to_string()).unwrap_or_default();
        let bands = self.posterior.as_ref();
        std::fs::create_dir_all(dir).map_err(|e| ferr(dir, &e))?;
        let path = dir.join("curves.csv");
        mmm_data::write_csv_atomic(&path, |w| {
            let mut header = vec![
                "channel",
                "region",
                "effect",
                "multiplier",
                "spend",
                "response",
                "unit",
            ];
            if bands.is_some() {
                header.extend(["response_mean", "response_p05", "response_p95"]);
            }
            w.write_record(&header)?;
            for (c, ch) in self.channels.iter().enumerate() {
                let band = bands.map(|b| &b.channels[c]);
                for (r, rc) in std::iter::once(&ch.national).chain(&ch.regions).enumerate() {
                    for (effect, vals) in [("direct", &rc.direct), ("total", &rc.total)] {
                        let band = band.filter(|_| r == 0).map(|b| {
                            if effect == "direct" {
                                &b.direct
                            } else {
                                &b.total
                            }
                        });
                        for (i, m) in self.multipliers.iter().enumerate() {
                            let mut record = vec![
                                ch.channel.clone(),
                                rc.region.clone(),
                                effect.to_string(),
                                m.to_string(),
                                rc.spend_grid[i].to_string(),
                                vals[i].to_string(),
                                ch.unit.clone(),
                            ];
                            if bands.is_some() {
                                record.extend([
                                    opt(band.map(|b| b.mean[i])),
                                    opt(band.map(|b| b.p05[i])),
                                    opt(band.map(|b| b.p95[i])),
                                ]);
                            }
                            w.write_record(&record)?;
                        }
                    }
                }
            }
            Ok(())
        })
        .map_err(|e| ferr(&path, &e))?;

        let path = dir.join("roi.csv");
        mmm_data::write_csv_atomic(&path, |w| {
            let mut header = vec![
                "channel",
                "region",
                "unit",
                "spend",
                "activity",
                "contribution_direct",
                "contribution_total",
                "roi_direct",
                "roi_total",
                "mroi_direct",
                "mroi_total",
                "hill_half_saturation",
                "hill_slope",
                "hill_max_response",
                "hill_saturation_at_current",
                "hill_relative_rmse",
            ];
            if bands.is_some() {
                header.extend([
                    "roi_direct_p05",
                    "roi_direct_p95",
                    "mroi_direct_p05",
                    "mroi_direct_p95",
                ]);
            }
            w.write_record(&header)?;
            for (c, ch) in self.channels.iter().enumerate() {
                for (r, rc) in std::iter::once(&ch.national).chain(&ch.regions).enumerate() {
                    let h = rc.hill_direct.as_ref();
                    let mut record = vec![
                        ch.channel.clone(),
                        rc.region.clone(),
                        ch.unit.clone(),
                        rc.spend.to_string(),
                        rc.activity.to_string(),
                        rc.contribution_direct.to_string(),
                        rc.contribution_total.to_string(),
                        opt(rc.roi_direct),
                        opt(rc.roi_total),
                        opt(rc.mroi_direct),
                        opt(rc.mroi_total),
                        opt(h.map(|h| h.half_saturation)),
                        opt(h.map(|h| h.slope)),
                        opt(h.map(|h| h.max_response)),
                        opt(h.map(|h| h.saturation_at_current)),
                        opt(h.map(|h| h.relative_rmse)),
                    ];
                    if let Some(b) = bands {
                        let b = Some(&b.channels[c]).filter(|_| r == 0);
                        let roi = b.and_then(|b| b.roi_direct);
                        let mroi = b.and_then(|b| b.mroi_direct);
                        record.extend([
                            opt(roi.map(|i| i.p05)),
                            opt(roi.map(|i| i.p95)),
                            opt(mroi.map(|i| i.p05)),
                            opt(mroi.map(|i| i.p95)),
                        ]);
                    }
                    w.write_record(&record)?;
                }
            }
            Ok(())
        })
        .map_err(|e| ferr(&path, &e))?;

        let path = dir.join("curves.json");
        let json = serde_json::to_string_pretty(self).map_err(|e| ferr(&path, &e))?;
        mmm_data::write_atomic(&path, |w| w.write_all(json.as_bytes()))
            .map_err(|e| ferr(&path, &e))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mmm_testkit::{assert_gradient, seeded_uniform};
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(16))]
        #[test]
        fn hill_loss_gradient(seed in 0u64..1000, n in 1usize..6) {
            let t = seeded_uniform(seed, 3, 0.3, 3.0);
            let x = seeded_uniform(seed + 1, n, 0.05, 3.0);
            let y = seeded_uniform(seed + 2, n, 0.0, 1.0);
            let mut g = vec![0.0; 3];
            hill_loss(&t, &x, &y, &mut g);
            assert_gradient(|t| hill_loss(t, &x, &y, &mut [0.0; 3]), &t, &g, 1e-6);
        }
    }

    #[test]
    fn hill_fit_recovers_an_exact_hill_curve() {
        let (l, k, s): (f64, f64, f64) = (40.0, 150.0, 1.7);
        let x: Vec<f64> = (0..=30).map(|i| i as f64 * 10.0).collect();
        let y: Vec<f64> = x
            .iter()
            .map(|&x| l * x.powf(s) / (x.powf(s) + k.powf(s)))
            .collect();
        let h = fit_hill(&x, &y, 100.0).unwrap().unwrap();
        assert!((h.half_saturation / k - 1.0).abs() < 1e-4, "{h:?}");
        assert!((h.slope / s - 1.0).abs() < 1e-4, "{h:?}");
        assert!((h.max_response / l - 1.0).abs() < 1e-4, "{h:?}");
        let sat = 100f64.powf(s) / (100f64.powf(s) + k.powf(s));
        assert!((h.saturation_at_current - sat).abs() < 1e-5);
        assert!(h.relative_rmse < 1e-6);
    }

    #[test]
    fn flat_curve_has_no_hill_summary() {
        assert!(fit_hill(&[0.0, 1.0], &[0.0, 0.0], 1.0).unwrap().is_none());
    }
}
