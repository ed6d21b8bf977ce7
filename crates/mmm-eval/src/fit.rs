//! Goodness of fit of a `[region, week]` prediction under a mask of scored cells.
//!
//! Let `S` be the set of scored cells (`mask[r, t] == true`), `S_r` those of region `r`,
//! `n = |S|`, `e = y − ŷ`. Unscored cells are never read for anything (they may hold NaN).
//!
//! ```text
//! SSE          = Σ_S (y − ŷ)²
//! ȳ            = (1/n) Σ_S y                      (pooled mean of the scored cells)
//! ȳ_r          = (1/|S_r|) Σ_{S_r} y              (region r's mean of ITS scored cells)
//! R²_pooled    = 1 − SSE / Σ_S (y − ȳ)²
//! R²_within    = 1 − SSE / Σ_r Σ_{S_r} (y − ȳ_r)²
//! R²_r         = 1 − Σ_{S_r}(y − ŷ)² / Σ_{S_r}(y − ȳ_r)²      (one per region)
//! MAPE         = mean over {c ∈ S : |y_c| > ε} of |y − ŷ| / |y|   (a fraction, 0.05 = 5 %)
//! wMAPE        = Σ_S |y − ŷ| / Σ_S |y|
//! RMSE         = sqrt(SSE / n),   MAE = Σ_S |y − ŷ| / n
//! ```
//!
//! Within-region R² keeps the prediction *undemeaned*: the numerator is the plain squared error.
//! A model that knows every region's level over the scored period and nothing else (ŷ = ȳ_r)
//! scores exactly 0, a perfect model 1. Demeaning the prediction by its own region mean would
//! instead forgive level errors, and demeaning neither (pooled R²) credits the model for the
//! between-region spread of levels, which any per-region mean already captures: on the
//! reference's 190-region panel the per-region training mean scores 0.977 pooled R².
//!
//! Undefined values are NaN: no scored cell, or a zero denominator. A denominator counts as zero
//! when it is at most `1e-12 · Σ y²` over the same cells, so a constant series whose mean is not
//! exactly representable does not produce a huge negative R². Non-finite values in *scored*
//! cells propagate to NaN.

use ndarray::{ArrayView2, Axis, Zip};
use serde::{Deserialize, Serialize};

/// MAPE's default threshold, relative to the mean `|y|` of the scored cells: cells with
/// `|y| ≤ MAPE_REL_EPS · mean|y|` are skipped by [`FitMetrics::compute`].
pub const MAPE_REL_EPS: f64 = 1e-6;

/// Relative threshold below which a sum of squares counts as zero (see the module docs).
const ZERO_SS_REL: f64 = 1e-12;

fn check_shapes(
    actual: &ArrayView2<'_, f64>,
    pred: &ArrayView2<'_, f64>,
    mask: &ArrayView2<'_, bool>,
) {
    assert_eq!(
        actual.dim(),
        pred.dim(),
        "mmm-eval: actual {:?} and pred {:?} must have the same [region, week] shape",
        actual.dim(),
        pred.dim()
    );
    assert_eq!(
        actual.dim(),
        mask.dim(),
        "mmm-eval: actual {:?} and mask {:?} must have the same [region, week] shape",
        actual.dim(),
        mask.dim()
    );
}

/// `1 − sse / sst`, NaN when `sst` is zero relative to `sum_sq` (see module docs).
fn r2_from(sse: f64, sst: f64, sum_sq: f64) -> f64 {
    if sst.is_nan() || sse.is_nan() || sst <= ZERO_SS_REL * sum_sq {
        f64::NAN
    } else {
        1.0 - sse / sst
    }
}

/// Pooled R²: `1 − SSE / Σ_S (y − ȳ)²`, ȳ the mean of all scored cells.
///
/// NaN if no cell is scored or the scored actuals are constant.
pub fn r2_pooled(
    actual: ArrayView2<'_, f64>,
    pred: ArrayView2<'_, f64>,
    mask: ArrayView2<'_, bool>,
) -> f64 {
    check_shapes(&actual, &pred, &mask);
    let (mut n, mut sum, mut sum_sq, mut sse) = (0usize, 0.0, 0.0, 0.0);
    Zip::from(&actual)
        .and(&pred)
        .and(&mask)
        .for_each(|&y, &p, &m| {
            if m {
                n += 1;
                sum += y;
                sum_sq += y * y;
                sse += (y - p) * (y - p);
            }
        });
    if n == 0 {
        return f64::NAN;
    }
    let mean = sum / n as f64;
    let mut sst = 0.0;
    Zip::from(&actual).and(&mask).for_each(|&y, &m| {
        if m {
            sst += (y - mean) * (y - mean);
        }
    });
    r2_from(sse, sst, sum_sq)
}

/// Per-region sums over scored cells: (count, SSE, SST around the region's own mean, Σy²).
fn region_sums(
    actual: &ArrayView2<'_, f64>,
    pred: &ArrayView2<'_, f64>,
    mask: &ArrayView2<'_, bool>,
) -> Vec<(usize, f64, f64, f64)> {
    actual
        .axis_iter(Axis(0))
        .zip(pred.axis_iter(Axis(0)))
        .zip(mask.axis_iter(Axis(0)))
        .map(|((y, p), m)| {
            let (mut n, mut sum, mut sum_sq, mut sse) = (0usize, 0.0, 0.0, 0.0);
            for ((&y, &p), &m) in y.iter().zip(p.iter()).zip(m.iter()) {
                if m {
                    n += 1;
                    sum += y;
                    sum_sq += y * y;
                    sse += (y - p) * (y - p);
                }
            }
            let mut sst = 0.0;
            if n > 0 {
                let mean = sum / n as f64;
                for (&y, &m) in y.iter().zip(m.iter()) {
                    if m {
                        sst += (y - mean) * (y - mean);
                    }
                }
            }
            (n, sse, sst, sum_sq)
        })
        .collect()
}

/// Within-region R²: `1 − SSE / Σ_r Σ_{S_r} (y − ȳ_r)²`, ȳ_r region r's actual mean over its
/// scored cells; the prediction is not demeaned.
///
/// Predicting ȳ_r for every cell of region r scores exactly 0. A region with a single scored
/// cell adds its squared error to SSE and nothing to the denominator. NaN if no cell is scored
/// or every region's scored actuals are constant.
pub fn r2_within(
    actual: ArrayView2<'_, f64>,
    pred: ArrayView2<'_, f64>,
    mask: ArrayView2<'_, bool>,
) -> f64 {
    check_shapes(&actual, &pred, &mask);
    let sums = region_sums(&actual, &pred, &mask);
    if sums.iter().all(|s| s.0 == 0) {
        return f64::NAN;
    }
    let (sse, sst, sum_sq) = sums.iter().fold((0.0, 0.0, 0.0), |acc, s| {
        (acc.0 + s.1, acc.1 + s.2, acc.2 + s.3)
    });
    r2_from(sse, sst, sum_sq)
}

/// One R² per region and their median, from [`r2_per_region`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PerRegionR2 {
    /// `R²_r = 1 − Σ_{S_r}(y − ŷ)² / Σ_{S_r}(y − ȳ_r)²`; `None` when region r has no scored
    /// cell or constant scored actuals.
    pub r2: Vec<Option<f64>>,
    /// Median of the defined `r2` values (mean of the two middle ones for an even count);
    /// `None` when no region has a defined R².
    pub median: Option<f64>,
}

/// R² of each region on its own scored cells, and the median over regions.
///
/// The median is robust to the few small regions whose R² is dominated by noise, which the
/// single within-region R² (a variance-weighted aggregate) is not.
pub fn r2_per_region(
    actual: ArrayView2<'_, f64>,
    pred: ArrayView2<'_, f64>,
    mask: ArrayView2<'_, bool>,
) -> PerRegionR2 {
    check_shapes(&actual, &pred, &mask);
    let r2: Vec<Option<f64>> = region_sums(&actual, &pred, &mask)
        .into_iter()
        .map(|(n, sse, sst, sum_sq)| {
            if n == 0 {
                return None;
            }
            let v = r2_from(sse, sst, sum_sq);
            (!v.is_nan()).then_some(v)
        })
        .collect();
    let defined: Vec<f64> = r2.iter().flatten().copied().collect();
    PerRegionR2 {
        median: median(&defined),
        r2,
    }
}

/// Median of a slice (mean of the two middle values for an even length); `None` if empty.
///
/// NaN values are ordered last by `f64::total_cmp`; callers should pass finite values.
pub fn median(values: &[f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let k = v.len() / 2;
    Some(if v.len() % 2 == 1 {
        v[k]
    } else {
        0.5 * (v[k - 1] + v[k])
    })
}

/// MAPE as a fraction: mean of `|y − ŷ| / |y|` over scored cells with `|y| > eps`.
///
/// Cells with `|y| ≤ eps` are skipped, since the ratio explodes there (zero or padded weeks).
/// `eps` is in target units; [`FitMetrics::compute`] uses `MAPE_REL_EPS · mean|y|`.
/// NaN when no scored cell passes the threshold.
pub fn mape(
    actual: ArrayView2<'_, f64>,
    pred: ArrayView2<'_, f64>,
    mask: ArrayView2<'_, bool>,
    eps: f64,
) -> f64 {
    check_shapes(&actual, &pred, &mask);
    let (mut n, mut sum) = (0usize, 0.0);
    Zip::from(&actual)
        .and(&pred)
        .and(&mask)
        .for_each(|&y, &p, &m| {
            // NaN actuals are kept (not skipped) so that they surface as a NaN result.
            if m && (y.is_nan() || y.abs() > eps) {
                n += 1;
                sum += (y - p).abs() / y.abs();
            }
        });
    if n == 0 { f64::NAN } else { sum / n as f64 }
}

/// Weighted MAPE: `Σ_S |y − ŷ| / Σ_S |y|`. NaN when no cell is scored or all scored `y` are 0.
pub fn wmape(
    actual: ArrayView2<'_, f64>,
    pred: ArrayView2<'_, f64>,
    mask: ArrayView2<'_, bool>,
) -> f64 {
    check_shapes(&actual, &pred, &mask);
    let (mut num, mut den) = (0.0, 0.0);
    Zip::from(&actual)
        .and(&pred)
        .and(&mask)
        .for_each(|&y, &p, &m| {
            if m {
                num += (y - p).abs();
                den += y.abs();
            }
        });
    if den.is_nan() || den <= 0.0 {
        f64::NAN
    } else {
        num / den
    }
}

fn mean_over_mask(
    actual: &ArrayView2<'_, f64>,
    pred: &ArrayView2<'_, f64>,
    mask: &ArrayView2<'_, bool>,
    f: impl Fn(f64) -> f64,
) -> f64 {
    let (mut n, mut sum) = (0usize, 0.0);
    Zip::from(actual)
        .and(pred)
        .and(mask)
        .for_each(|&y, &p, &m| {
            if m {
                n += 1;
                sum += f(y - p);
            }
        });
    if n == 0 { f64::NAN } else { sum / n as f64 }
}

/// Root mean squared error over scored cells: `sqrt(SSE / n)`. NaN when no cell is scored.
pub fn rmse(
    actual: ArrayView2<'_, f64>,
    pred: ArrayView2<'_, f64>,
    mask: ArrayView2<'_, bool>,
) -> f64 {
    check_shapes(&actual, &pred, &mask);
    mean_over_mask(&actual, &pred, &mask, |e| e * e).sqrt()
}

/// Mean absolute error over scored cells: `Σ_S |y − ŷ| / n`. NaN when no cell is scored.
pub fn mae(
    actual: ArrayView2<'_, f64>,
    pred: ArrayView2<'_, f64>,
    mask: ArrayView2<'_, bool>,
) -> f64 {
    check_shapes(&actual, &pred, &mask);
    mean_over_mask(&actual, &pred, &mask, f64::abs)
}

/// All fit metrics of one prediction, as published in `metrics.json`.
///
/// Undefined values are NaN, which `serde_json` writes as `null`; `null` is read back as NaN.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct FitMetrics {
    /// [`r2_pooled`].
    #[serde(deserialize_with = "nan_from_null")]
    pub r2_pooled: f64,
    /// [`r2_within`].
    #[serde(deserialize_with = "nan_from_null")]
    pub r2_within: f64,
    /// [`mape`] with `eps = MAPE_REL_EPS · mean|y|` over scored cells, as a fraction.
    #[serde(deserialize_with = "nan_from_null")]
    pub mape: f64,
    /// [`wmape`], as a fraction.
    #[serde(deserialize_with = "nan_from_null")]
    pub wmape: f64,
    /// [`rmse`].
    #[serde(deserialize_with = "nan_from_null")]
    pub rmse: f64,
    /// [`mae`].
    #[serde(deserialize_with = "nan_from_null")]
    pub mae: f64,
    /// Number of scored cells.
    pub n: usize,
}

/// Reads `null` (how `serde_json` writes NaN) back as NaN.
fn nan_from_null<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<f64, D::Error> {
    Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::NAN))
}

impl FitMetrics {
    /// Computes every metric of `pred` against `actual` on the cells where `mask` is true.
    ///
    /// # Panics
    /// If the three arrays do not share one `[region, week]` shape.
    pub fn compute(
        actual: ArrayView2<'_, f64>,
        pred: ArrayView2<'_, f64>,
        mask: ArrayView2<'_, bool>,
    ) -> FitMetrics {
        check_shapes(&actual, &pred, &mask);
        let n = mask.iter().filter(|&&m| m).count();
        let mean_abs = if n == 0 {
            0.0
        } else {
            Zip::from(&actual)
                .and(&mask)
                .fold(0.0, |acc, &y, &m| if m { acc + y.abs() } else { acc })
                / n as f64
        };
        FitMetrics {
            r2_pooled: r2_pooled(actual, pred, mask),
            r2_within: r2_within(actual, pred, mask),
            mape: mape(actual, pred, mask, MAPE_REL_EPS * mean_abs),
            wmape: wmape(actual, pred, mask),
            rmse: rmse(actual, pred, mask),
            mae: mae(actual, pred, mask),
            n,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_relative_eq;
    use mmm_testkit::seeded_uniform;
    use ndarray::{Array2, array};
    use proptest::prelude::*;

    /// 2 regions × 3 weeks, every cell scored.
    /// errors e = y − ŷ: [0, −1, 1], [−1, 0, 1] → SSE = 4, Σ|e| = 4, Σ|y| = 42.
    /// pooled mean 42/6 = 7 → SST = 36+25+16+9+25+49 = 160 → R²_pooled = 1 − 4/160 = 0.975.
    /// region means 2, 12 → SST_within = (1+0+1) + (4+0+4) = 10 → R²_within = 1 − 4/10 = 0.6.
    /// per region: 1 − 2/2 = 0 and 1 − 2/8 = 0.75 → median 0.375.
    fn hand() -> (Array2<f64>, Array2<f64>, Array2<bool>) {
        let y = array![[1.0, 2.0, 3.0], [10.0, 12.0, 14.0]];
        let p = array![[1.0, 3.0, 2.0], [11.0, 12.0, 13.0]];
        (y, p, Array2::from_elem((2, 3), true))
    }

    #[test]
    fn hand_computed_case() {
        let (y, p, m) = hand();
        let (y, p, m) = (y.view(), p.view(), m.view());
        assert_relative_eq!(r2_pooled(y, p, m), 0.975, epsilon = 1e-12);
        assert_relative_eq!(r2_within(y, p, m), 0.6, epsilon = 1e-12);
        let per = r2_per_region(y, p, m);
        assert_relative_eq!(per.r2[0].unwrap(), 0.0, epsilon = 1e-12);
        assert_relative_eq!(per.r2[1].unwrap(), 0.75, epsilon = 1e-12);
        assert_relative_eq!(per.median.unwrap(), 0.375, epsilon = 1e-12);
        assert_relative_eq!(rmse(y, p, m), (4.0f64 / 6.0).sqrt(), epsilon = 1e-12);
        assert_relative_eq!(mae(y, p, m), 4.0 / 6.0, epsilon = 1e-12);
        assert_relative_eq!(wmape(y, p, m), 4.0 / 42.0, epsilon = 1e-12);
        // |e|/|y| = 0, 1/2, 1/3, 1/10, 0, 1/14.
        let want = (0.5 + 1.0 / 3.0 + 0.1 + 1.0 / 14.0) / 6.0;
        assert_relative_eq!(mape(y, p, m, 1e-9), want, epsilon = 1e-12);
        let fm = FitMetrics::compute(y, p, m);
        assert_eq!(fm.n, 6);
        assert_relative_eq!(fm.mape, want, epsilon = 1e-12);
        assert_relative_eq!(fm.r2_within, 0.6, epsilon = 1e-12);
    }

    #[test]
    fn masked_cells_are_ignored_even_if_nan() {
        let (y, p, m) = hand();
        // Add a fourth week, unscored, holding garbage.
        let y2 = array![[1.0, 2.0, 3.0, f64::NAN], [10.0, 12.0, 14.0, 1e9]];
        let p2 = array![[1.0, 3.0, 2.0, 5.0], [11.0, 12.0, 13.0, f64::INFINITY]];
        let m2 = array![[true, true, true, false], [true, true, true, false]];
        assert_eq!(
            FitMetrics::compute(y.view(), p.view(), m.view()),
            FitMetrics::compute(y2.view(), p2.view(), m2.view())
        );
        assert_eq!(
            r2_per_region(y.view(), p.view(), m.view()),
            r2_per_region(y2.view(), p2.view(), m2.view())
        );
    }

    #[test]
    fn mape_skips_small_actuals() {
        // Cells: y = 0 (skipped), y = 2 with ŷ = 1 → 0.5, y = 4 with ŷ = 5 → 0.25 → MAPE 0.375.
        let y = array![[0.0, 2.0, 4.0]];
        let p = array![[3.0, 1.0, 5.0]];
        let m = array![[true, true, true]];
        assert_relative_eq!(
            mape(y.view(), p.view(), m.view(), 1e-9),
            0.375,
            epsilon = 1e-12
        );
        // With eps = 2 the y = 2 cell is skipped as well (|y| ≤ eps).
        assert_relative_eq!(
            mape(y.view(), p.view(), m.view(), 2.0),
            0.25,
            epsilon = 1e-12
        );
        assert!(mape(y.view(), p.view(), m.view(), 10.0).is_nan());
        // FitMetrics uses a relative threshold, so the zero cell is skipped there too.
        assert_relative_eq!(
            FitMetrics::compute(y.view(), p.view(), m.view()).mape,
            0.375,
            epsilon = 1e-12
        );
    }

    #[test]
    fn undefined_cases_are_nan_or_none() {
        let y = array![[5.0]];
        let p = array![[4.0]];
        let m = array![[true]];
        assert!(r2_pooled(y.view(), p.view(), m.view()).is_nan());
        assert!(r2_within(y.view(), p.view(), m.view()).is_nan());
        assert_eq!(rmse(y.view(), p.view(), m.view()), 1.0);
        let none = array![[false]];
        let fm = FitMetrics::compute(y.view(), p.view(), none.view());
        assert_eq!(fm.n, 0);
        assert!(
            fm.r2_pooled.is_nan() && fm.r2_within.is_nan() && fm.rmse.is_nan() && fm.mae.is_nan()
        );
        assert!(fm.mape.is_nan() && fm.wmape.is_nan());
        // A constant region whose mean is not exact in binary must not give a huge negative R².
        let y = array![[0.1, 0.1, 0.1]];
        let p = array![[0.2, 0.1, 0.1]];
        let m = array![[true, true, true]];
        assert!(r2_within(y.view(), p.view(), m.view()).is_nan());
        let per = r2_per_region(y.view(), p.view(), m.view());
        assert_eq!(
            per,
            PerRegionR2 {
                r2: vec![None],
                median: None
            }
        );
    }

    #[test]
    fn region_with_no_scored_cell_is_none_and_single_cell_adds_only_error() {
        // Region 0 scored on weeks 0..2: y = [1, 3], ŷ = [1, 3] (perfect), SST = 2.
        // Region 1 scored on week 0 only: y = 7, ŷ = 6 → adds SSE 1, SST 0.
        // Region 2: nothing scored.
        let y = array![[1.0, 3.0], [7.0, 100.0], [f64::NAN, f64::NAN]];
        let p = array![[1.0, 3.0], [6.0, 0.0], [0.0, 0.0]];
        let m = array![[true, true], [true, false], [false, false]];
        assert_relative_eq!(
            r2_within(y.view(), p.view(), m.view()),
            1.0 - 1.0 / 2.0,
            epsilon = 1e-12
        );
        let per = r2_per_region(y.view(), p.view(), m.view());
        assert_eq!(per.r2, vec![Some(1.0), None, None]);
        assert_eq!(per.median, Some(1.0));
    }

    #[test]
    fn median_even_and_odd() {
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), Some(2.5));
    }

    #[test]
    fn serde_round_trip() {
        let (y, p, m) = hand();
        let fm = FitMetrics::compute(y.view(), p.view(), m.view());
        let json = serde_json::to_string(&fm).unwrap();
        let back: FitMetrics = serde_json::from_str(&json).unwrap();
        assert_eq!(back.n, fm.n);
        assert_relative_eq!(back.wmape, fm.wmape, max_relative = 1e-15);
        assert_relative_eq!(back.r2_within, fm.r2_within, max_relative = 1e-15);
        assert!(json.contains("\"r2_within\":0.6"));
        // Undefined metrics are written as null and read back as NaN.
        let none = Array2::from_elem((2, 3), false);
        let empty = FitMetrics::compute(y.view(), p.view(), none.view());
        let json = serde_json::to_string(&empty).unwrap();
        assert!(json.contains("\"r2_pooled\":null"), "{json}");
        let back: FitMetrics = serde_json::from_str(&json).unwrap();
        assert!(back.r2_pooled.is_nan() && back.mape.is_nan() && back.rmse.is_nan());
        assert_eq!(back.n, 0);
    }

    /// Random panel with a random mask (about 70 % scored) from a seed.
    fn panel(seed: u64, regions: usize, weeks: usize) -> (Array2<f64>, Array2<f64>, Array2<bool>) {
        let n = regions * weeks;
        let levels = seeded_uniform(seed, regions, 10.0, 100.0);
        let noise = seeded_uniform(seed ^ 1, n, -5.0, 5.0);
        let y = Array2::from_shape_fn((regions, weeks), |(r, t)| levels[r] + noise[r * weeks + t]);
        let pn = seeded_uniform(seed ^ 2, n, -3.0, 3.0);
        let p = Array2::from_shape_fn((regions, weeks), |(r, t)| y[[r, t]] + pn[r * weeks + t]);
        let u = seeded_uniform(seed ^ 3, n, 0.0, 1.0);
        let m = Array2::from_shape_fn((regions, weeks), |(r, t)| u[r * weeks + t] < 0.7);
        (y, p, m)
    }

    fn masked_means(y: &Array2<f64>, m: &Array2<bool>) -> (f64, Vec<f64>) {
        let cells: Vec<f64> = y
            .iter()
            .zip(m)
            .filter(|(_, k)| **k)
            .map(|(v, _)| *v)
            .collect();
        let pooled = cells.iter().sum::<f64>() / cells.len() as f64;
        let per = (0..y.nrows())
            .map(|r| {
                let c: Vec<f64> = (0..y.ncols())
                    .filter(|&t| m[[r, t]])
                    .map(|t| y[[r, t]])
                    .collect();
                if c.is_empty() {
                    f64::NAN
                } else {
                    c.iter().sum::<f64>() / c.len() as f64
                }
            })
            .collect();
        (pooled, per)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(32))]

        #[test]
        fn invariants(seed in any::<u64>(), regions in 1usize..6, weeks in 1usize..9) {
            let (y, p, m) = panel(seed, regions, weeks);
            prop_assume!(m.iter().filter(|&&k| k).count() >= 2);
            let (yv, pv, mv) = (y.view(), p.view(), m.view());

            // Perfect prediction.
            let perfect = FitMetrics::compute(yv, yv, mv);
            prop_assert!(perfect.r2_pooled.is_nan() || perfect.r2_pooled == 1.0);
            prop_assert!(perfect.r2_within.is_nan() || perfect.r2_within == 1.0);
            prop_assert_eq!(perfect.rmse, 0.0);
            prop_assert_eq!(perfect.mae, 0.0);
            prop_assert_eq!(perfect.wmape, 0.0);
            prop_assert_eq!(perfect.mape, 0.0);

            // Predicting the pooled mean scores 0 pooled; per-region means score 0 within and
            // 0 in every region with a defined R².
            let (pooled, per) = masked_means(&y, &m);
            let pm = Array2::from_elem(y.dim(), pooled);
            let r2p = r2_pooled(yv, pm.view(), mv);
            prop_assert!(r2p.is_nan() || r2p.abs() < 1e-9, "pooled R² of the mean = {}", r2p);
            let rm = Array2::from_shape_fn(y.dim(), |(r, _)| per[r]);
            let r2w = r2_within(yv, rm.view(), mv);
            prop_assert!(r2w.is_nan() || r2w.abs() < 1e-9, "within R² of region means = {}", r2w);
            for v in r2_per_region(yv, rm.view(), mv).r2.into_iter().flatten() {
                prop_assert!(v.abs() < 1e-9);
            }

            // Within-region SST ≤ pooled SST with the same SSE, so within R² ≤ pooled R².
            let fm = FitMetrics::compute(yv, pv, mv);
            if !fm.r2_within.is_nan() {
                prop_assert!(fm.r2_within <= fm.r2_pooled + 1e-12);
            }
            prop_assert!(fm.rmse >= fm.mae - 1e-12 && fm.mae >= 0.0 && fm.wmape >= 0.0);
            prop_assert_eq!(fm.n, m.iter().filter(|&&k| k).count());

            // Unscored cells are really ignored: overwrite them with garbage.
            let junk = seeded_uniform(seed ^ 9, y.len(), -1e6, 1e6);
            let y2 = Array2::from_shape_fn(y.dim(), |(r, t)| if m[[r, t]] { y[[r, t]] } else { junk[r * weeks + t] });
            let p2 = Array2::from_shape_fn(y.dim(), |(r, t)| if m[[r, t]] { p[[r, t]] } else { f64::NAN });
            prop_assert_eq!(format!("{fm:?}"), format!("{:?}", FitMetrics::compute(y2.view(), p2.view(), mv)));
            prop_assert_eq!(r2_per_region(yv, pv, mv), r2_per_region(y2.view(), p2.view(), mv));
        }
    }
}
