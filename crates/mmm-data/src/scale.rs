//! Scalers fitted on observed training region-weeks and applied to any data (serialisable, because
//! a fitted model stores them and applies them to new data).
//!
//! * [`TargetScaler`]: per region `ȳ_r` = mean of the observed training target; `ỹ = y / ȳ_r`.
//!   Error when `ȳ_r ≤ 0` (or the region has no observed training week), naming the region;
//!   [`TargetScaler::fit_trained`] instead gives the regions a model is not trained on a fallback
//!   level (their own training mean if positive, else the pooled one).
//! * [`MediaScaler`]: `x̃[r,t,c] = x[r,t,c] / (size_r · m_c)` with the region size factor
//!   `size_r = ȳ_r / mean_r(ȳ_r)` (keeps the absolute activity level, unlike share-of-voice) and
//!   `m_c` = mean over observed training region-weeks of `x[r,t,c] / size_r` (1 when that is 0, with
//!   the channel listed in [`MediaScaler::degenerate`]).
//! * [`ControlScaler`]: robust `(x − median_k) / s_k` with `s_k = IQR_k / 1.349`, pooled over observed
//!   training region-weeks; falls back to the standard deviation, then 1, for degenerate columns.
//!   Quantiles use linear interpolation between order statistics.

use crate::error::{Error, Result};
use crate::panel::Panel;
use ndarray::{Array2, Array3};
use serde::{Deserialize, Serialize};
use std::ops::Range;

fn check_range(panel: &Panel, weeks: &Range<usize>) {
    assert!(
        weeks.start <= weeks.end && weeks.end <= panel.n_weeks(),
        "training weeks {weeks:?} outside the calendar of {} weeks",
        panel.n_weeks()
    );
}

/// Per-region target scale `ȳ_r`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TargetScaler {
    /// `ȳ_r` per region.
    pub means: Vec<f64>,
}

impl TargetScaler {
    /// Fit on the observed cells of `train_weeks`.
    pub fn fit(panel: &Panel, train_weeks: Range<usize>) -> Result<Self> {
        Self::fit_trained(panel, train_weeks, &vec![true; panel.n_regions()])
    }

    /// Fit on the observed cells of `train_weeks`, with an error only for the regions that are
    /// `trained`. Every other region (one the model is not trained on: it has no or too few
    /// training weeks) gets its own mean over its observed training weeks when that is positive,
    /// else the mean of all observed training cells of the trained regions — the level the naive
    /// baselines fall back to (`mmm_eval::baselines`), so such a region is never NaN.
    ///
    /// # Errors
    /// A trained region's mean is not positive (or it has no observed training week), or no
    /// trained region has an observed training cell.
    pub fn fit_trained(panel: &Panel, train_weeks: Range<usize>, trained: &[bool]) -> Result<Self> {
        check_range(panel, &train_weeks);
        assert_eq!(trained.len(), panel.n_regions(), "one flag per region");
        let sums: Vec<(f64, usize)> = (0..panel.n_regions())
            .map(|r| {
                train_weeks
                    .clone()
                    .filter(|&t| panel.observed[[r, t]])
                    .fold((0.0, 0), |(s, n), t| (s + panel.target[[r, t]], n + 1))
            })
            .collect();
        let (pooled_sum, pooled_n) = sums
            .iter()
            .zip(trained)
            .filter(|(_, k)| **k)
            .fold((0.0, 0), |(s, n), ((rs, rn), _)| (s + rs, n + rn));
        let pooled = pooled_sum / pooled_n as f64;
        let mut means = Vec::with_capacity(panel.n_regions());
        for (r, &(sum, n)) in sums.iter().enumerate() {
            let mean = if n == 0 { f64::NAN } else { sum / n as f64 };
            let usable = !mean.is_nan() && mean > 0.0;
            let level = match (usable, trained[r]) {
                (true, _) => mean,
                (false, false) if !pooled.is_nan() && pooled > 0.0 => pooled,
                (false, false) => {
                    return Err(Error::NonPositiveRegionMean {
                        region: "(all trained regions pooled)".into(),
                        mean: pooled,
                    });
                }
                (false, true) => {
                    return Err(Error::NonPositiveRegionMean {
                        region: panel.regions[r].clone(),
                        mean,
                    });
                }
            };
            means.push(level);
        }
        Ok(TargetScaler { means })
    }

    /// `y[r, t] / ȳ_r`.
    pub fn transform(&self, y: &Array2<f64>) -> Array2<f64> {
        assert_eq!(
            y.nrows(),
            self.means.len(),
            "target has {} regions, scaler {}",
            y.nrows(),
            self.means.len()
        );
        let mut out = y.clone();
        for (mut row, &m) in out.rows_mut().into_iter().zip(&self.means) {
            row /= m;
        }
        out
    }

    /// `ỹ[r, t] · ȳ_r`.
    pub fn inverse(&self, y: &Array2<f64>) -> Array2<f64> {
        assert_eq!(
            y.nrows(),
            self.means.len(),
            "target has {} regions, scaler {}",
            y.nrows(),
            self.means.len()
        );
        let mut out = y.clone();
        for (mut row, &m) in out.rows_mut().into_iter().zip(&self.means) {
            row *= m;
        }
        out
    }

    /// Region size factors `size_r = ȳ_r / mean_r(ȳ_r)`.
    pub fn size_factors(&self) -> Vec<f64> {
        let avg = self.means.iter().sum::<f64>() / self.means.len().max(1) as f64;
        self.means.iter().map(|m| m / avg).collect()
    }
}

/// Media scale: region size factors and per-channel means.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MediaScaler {
    /// `size_r` per region.
    pub size: Vec<f64>,
    /// `m_c` per channel.
    pub channel_means: Vec<f64>,
    /// Channels whose training mean was 0 (scale 1 used; the caller should warn).
    pub degenerate: Vec<usize>,
}

impl MediaScaler {
    /// Fit on the observed training region-weeks of `panel.media` (size factors from the target).
    pub fn fit(panel: &Panel, train_weeks: Range<usize>) -> Result<Self> {
        let size = TargetScaler::fit(panel, train_weeks.clone())?.size_factors();
        Ok(Self::fit_media(panel, &panel.media, &size, train_weeks))
    }

    /// Fit on an arbitrary `[region, week, channel]` array (e.g. spend) with given size factors.
    pub fn fit_media(
        panel: &Panel,
        x: &Array3<f64>,
        size: &[f64],
        train_weeks: Range<usize>,
    ) -> Self {
        check_range(panel, &train_weeks);
        let (n_r, _, n_c) = x.dim();
        assert_eq!(
            size.len(),
            n_r,
            "size factors for {} regions, data has {n_r}",
            size.len()
        );
        let mut channel_means = vec![0.0; n_c];
        let mut n = 0usize;
        for r in 0..n_r {
            for t in train_weeks.clone() {
                if panel.observed[[r, t]] {
                    n += 1;
                    for c in 0..n_c {
                        channel_means[c] += x[[r, t, c]] / size[r];
                    }
                }
            }
        }
        let mut degenerate = Vec::new();
        for (c, m) in channel_means.iter_mut().enumerate() {
            *m /= n.max(1) as f64;
            if m.is_nan() || *m <= 0.0 {
                *m = 1.0;
                degenerate.push(c);
            }
        }
        MediaScaler {
            size: size.to_vec(),
            channel_means,
            degenerate,
        }
    }

    /// `x[r, t, c] / (size_r · m_c)`.
    pub fn transform(&self, x: &Array3<f64>) -> Array3<f64> {
        let mut out = x.clone();
        self.apply(&mut out, false);
        out
    }

    /// `x̃[r, t, c] · size_r · m_c`.
    pub fn inverse(&self, x: &Array3<f64>) -> Array3<f64> {
        let mut out = x.clone();
        self.apply(&mut out, true);
        out
    }

    fn apply(&self, x: &mut Array3<f64>, inverse: bool) {
        let (n_r, n_t, n_c) = x.dim();
        assert_eq!(
            (n_r, n_c),
            (self.size.len(), self.channel_means.len()),
            "media shape does not match the scaler"
        );
        for r in 0..n_r {
            for t in 0..n_t {
                for c in 0..n_c {
                    let s = self.size[r] * self.channel_means[c];
                    if inverse {
                        x[[r, t, c]] *= s;
                    } else {
                        x[[r, t, c]] /= s;
                    }
                }
            }
        }
    }
}

/// Robust per-control centring and scaling.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ControlScaler {
    /// Median per control.
    pub center: Vec<f64>,
    /// `IQR / 1.349` per control (or the fallback).
    pub scale: Vec<f64>,
}

/// Quantile `q` of sorted `v` with linear interpolation.
fn quantile(v: &[f64], q: f64) -> f64 {
    let pos = q * (v.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = pos.ceil() as usize;
    v[lo] + (v[hi] - v[lo]) * (pos - lo as f64)
}

impl ControlScaler {
    /// Fit on the observed training region-weeks of `panel.controls_data`.
    pub fn fit(panel: &Panel, train_weeks: Range<usize>) -> Self {
        check_range(panel, &train_weeks);
        let n_x = panel.n_controls();
        let (mut center, mut scale) = (Vec::with_capacity(n_x), Vec::with_capacity(n_x));
        for k in 0..n_x {
            let mut v: Vec<f64> = Vec::new();
            for r in 0..panel.n_regions() {
                for t in train_weeks.clone() {
                    if panel.observed[[r, t]] {
                        v.push(panel.controls_data[[r, t, k]]);
                    }
                }
            }
            if v.is_empty() {
                center.push(0.0);
                scale.push(1.0);
                continue;
            }
            v.sort_by(f64::total_cmp);
            let med = quantile(&v, 0.5);
            let iqr = quantile(&v, 0.75) - quantile(&v, 0.25);
            let mut s = iqr / 1.349;
            if s.is_nan() || s <= 0.0 {
                let mean = v.iter().sum::<f64>() / v.len() as f64;
                s = (v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / v.len() as f64).sqrt();
            }
            if s.is_nan() || s <= 0.0 || !s.is_finite() {
                s = 1.0;
            }
            center.push(med);
            scale.push(s);
        }
        ControlScaler { center, scale }
    }

    /// `(x − median) / s` per control.
    pub fn transform(&self, x: &Array3<f64>) -> Array3<f64> {
        assert_eq!(
            x.dim().2,
            self.center.len(),
            "controls do not match the scaler"
        );
        let mut out = x.clone();
        for mut lane in out.lanes_mut(ndarray::Axis(2)) {
            for (k, v) in lane.iter_mut().enumerate() {
                *v = (*v - self.center[k]) / self.scale[k];
            }
        }
        out
    }

    /// `x̃ · s + median` per control.
    pub fn inverse(&self, x: &Array3<f64>) -> Array3<f64> {
        assert_eq!(
            x.dim().2,
            self.center.len(),
            "controls do not match the scaler"
        );
        let mut out = x.clone();
        for mut lane in out.lanes_mut(ndarray::Axis(2)) {
            for (k, v) in lane.iter_mut().enumerate() {
                *v = *v * self.scale[k] + self.center[k];
            }
        }
        out
    }
}
