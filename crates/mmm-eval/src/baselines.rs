//! Naive forecasts of the holdout weeks, the yardstick every model score is shown next to.
//!
//! Inputs are the `[region, week]` actuals, the `observed` mask of the panel, a training week
//! range `T` and a holdout range `H` (`T.end ≤ H.start`). Only observed training cells are read;
//! holdout actuals are never used to build a forecast. Each baseline returns a
//! `[region, H.len()]` array of predictions for the holdout weeks (column `j` is week
//! `H.start + j`), filled for every cell, observed or not.
//!
//! With `O_r = {t ∈ T : observed[r, t]}`:
//!
//! ```text
//! training mean        ŷ[r, t] = mean_{s ∈ O_r} y[r, s]
//! last-N mean          ŷ[r, t] = mean of y[r, s] over the last N weeks of O_r (all of O_r if fewer)
//! same week last year  ŷ[r, t] = y[r, t − 52]  if t − 52 ∈ O_r,  else the training mean of r
//! ```
//!
//! A region with no observed training week gets the pooled mean of all observed training
//! cells for the two mean baselines (and thus as the fallback of the third). The last-N mean
//! counts observed weeks, not calendar weeks, so a gap in the panel does not shrink its window.
//! [`naive_baselines`] scores all three against the observed holdout cells with
//! [`FitMetrics::compute`].

use std::ops::Range;

use ndarray::{Array2, ArrayView2, Axis, Slice};

use crate::{Error, FitMetrics, Result};

/// Window of the last-N-weeks baseline used by [`naive_baselines`] (one quarter).
pub const LAST_N_WEEKS: usize = 13;

/// Lag of the same-week-last-year baseline.
pub const WEEKS_PER_YEAR: usize = 52;

/// Checks shapes, ranges and finiteness of the observed cells that are read or scored.
fn validate(
    actual: &ArrayView2<'_, f64>,
    observed: &ArrayView2<'_, bool>,
    train: &Range<usize>,
    holdout: &Range<usize>,
) -> Result<()> {
    if actual.dim() != observed.dim() {
        return Err(Error::ShapeMismatch {
            what: "observed",
            got: observed.dim(),
            expected: actual.dim(),
        });
    }
    let weeks = actual.ncols();
    if train.start >= train.end {
        return Err(Error::InvalidRange(format!(
            "training range {train:?} is empty"
        )));
    }
    if holdout.start >= holdout.end {
        return Err(Error::InvalidRange(format!(
            "holdout range {holdout:?} is empty"
        )));
    }
    if train.end > holdout.start {
        return Err(Error::InvalidRange(format!(
            "training range {train:?} must end before holdout range {holdout:?} starts"
        )));
    }
    if holdout.end > weeks {
        return Err(Error::InvalidRange(format!(
            "holdout range {holdout:?} exceeds the panel's {weeks} weeks"
        )));
    }
    let mut any_train = false;
    for ((r, t), &o) in observed.indexed_iter() {
        let used = train.contains(&t) || holdout.contains(&t);
        if o && used {
            any_train |= train.contains(&t);
            if !actual[[r, t]].is_finite() {
                return Err(Error::NonFinite {
                    what: "actual",
                    location: format!("region {r}, week {t}"),
                });
            }
        }
    }
    if !any_train {
        return Err(Error::Empty("observed training cells"));
    }
    Ok(())
}

/// Per-region training means, with the pooled training mean for regions without data.
fn training_means(
    actual: &ArrayView2<'_, f64>,
    observed: &ArrayView2<'_, bool>,
    train: &Range<usize>,
) -> Vec<f64> {
    let (mut total, mut count) = (0.0, 0usize);
    let per: Vec<Option<f64>> = (0..actual.nrows())
        .map(|r| {
            let (mut s, mut n) = (0.0, 0usize);
            for t in train.clone() {
                if observed[[r, t]] {
                    s += actual[[r, t]];
                    n += 1;
                }
            }
            total += s;
            count += n;
            (n > 0).then(|| s / n as f64)
        })
        .collect();
    let pooled = total / count as f64;
    per.into_iter().map(|m| m.unwrap_or(pooled)).collect()
}

fn fill(
    regions: usize,
    holdout: &Range<usize>,
    mut f: impl FnMut(usize, usize) -> f64,
) -> Array2<f64> {
    Array2::from_shape_fn((regions, holdout.len()), |(r, j)| f(r, holdout.start + j))
}

/// Per-region training-mean forecast for the holdout weeks, shape `[region, holdout.len()]`.
///
/// # Errors
/// Shape mismatch, empty or overlapping ranges, a holdout past the last week, no observed
/// training cell, or a non-finite observed actual in the ranges.
pub fn baseline_training_mean(
    actual: ArrayView2<'_, f64>,
    observed: ArrayView2<'_, bool>,
    train: Range<usize>,
    holdout: Range<usize>,
) -> Result<Array2<f64>> {
    validate(&actual, &observed, &train, &holdout)?;
    let means = training_means(&actual, &observed, &train);
    Ok(fill(actual.nrows(), &holdout, |r, _| means[r]))
}

/// Per-region mean of the last `n` observed training weeks, shape `[region, holdout.len()]`.
///
/// # Errors
/// As [`baseline_training_mean`], and [`Error::Empty`] if `n == 0`.
pub fn baseline_last_n_mean(
    actual: ArrayView2<'_, f64>,
    observed: ArrayView2<'_, bool>,
    train: Range<usize>,
    holdout: Range<usize>,
    n: usize,
) -> Result<Array2<f64>> {
    validate(&actual, &observed, &train, &holdout)?;
    if n == 0 {
        return Err(Error::Empty("last-N window"));
    }
    let fallback = training_means(&actual, &observed, &train);
    let means: Vec<f64> = (0..actual.nrows())
        .map(|r| {
            let last: Vec<f64> = train
                .clone()
                .rev()
                .filter(|&t| observed[[r, t]])
                .take(n)
                .map(|t| actual[[r, t]])
                .collect();
            if last.is_empty() {
                fallback[r]
            } else {
                last.iter().sum::<f64>() / last.len() as f64
            }
        })
        .collect();
    Ok(fill(actual.nrows(), &holdout, |r, _| means[r]))
}

/// Same-week-last-year forecast `y[r, t − 52]`, falling back to the region's training mean when
/// week `t − 52` is not an observed training week. Shape `[region, holdout.len()]`.
///
/// # Errors
/// As [`baseline_training_mean`].
pub fn baseline_same_week_last_year(
    actual: ArrayView2<'_, f64>,
    observed: ArrayView2<'_, bool>,
    train: Range<usize>,
    holdout: Range<usize>,
) -> Result<Array2<f64>> {
    validate(&actual, &observed, &train, &holdout)?;
    let means = training_means(&actual, &observed, &train);
    Ok(fill(actual.nrows(), &holdout, |r, t| {
        match t.checked_sub(WEEKS_PER_YEAR) {
            Some(s) if train.contains(&s) && observed[[r, s]] => actual[[r, s]],
            _ => means[r],
        }
    }))
}

/// Scores the three naive baselines on the observed holdout cells.
///
/// Returns, in this order, `("train_mean", ..)`, `("last_13_mean", ..)` (window
/// [`LAST_N_WEEKS`]) and `("same_week_last_year", ..)`.
///
/// # Errors
/// As [`baseline_training_mean`].
pub fn naive_baselines(
    actual: ArrayView2<'_, f64>,
    observed: ArrayView2<'_, bool>,
    train: Range<usize>,
    holdout: Range<usize>,
) -> Result<Vec<(String, FitMetrics)>> {
    let preds = [
        (
            "train_mean".to_string(),
            baseline_training_mean(actual, observed, train.clone(), holdout.clone())?,
        ),
        (
            format!("last_{LAST_N_WEEKS}_mean"),
            baseline_last_n_mean(
                actual,
                observed,
                train.clone(),
                holdout.clone(),
                LAST_N_WEEKS,
            )?,
        ),
        (
            "same_week_last_year".to_string(),
            baseline_same_week_last_year(actual, observed, train, holdout.clone())?,
        ),
    ];
    let y = actual.slice_axis(Axis(1), Slice::from(holdout.clone()));
    let m = observed.slice_axis(Axis(1), Slice::from(holdout));
    Ok(preds
        .into_iter()
        .map(|(name, p)| (name, FitMetrics::compute(y, p.view(), m)))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_relative_eq;
    use mmm_testkit::seeded_uniform;
    use ndarray::array;
    use proptest::prelude::*;

    /// 2 regions × 56 weeks, train 0..53, holdout 53..56.
    /// Region 0: y = t, all observed.  Region 1: y = 2t, weeks 1 and 52 unobserved (hold NaN),
    /// week 55 unobserved in the holdout (NaN).
    fn hand() -> (Array2<f64>, Array2<bool>) {
        let mut y = Array2::from_shape_fn((2, 56), |(r, t)| (r as f64 + 1.0) * t as f64);
        let mut o = Array2::from_elem((2, 56), true);
        for t in [1, 52, 55] {
            y[[1, t]] = f64::NAN;
            o[[1, t]] = false;
        }
        (y, o)
    }

    #[test]
    fn hand_computed_baselines() {
        let (y, o) = hand();
        let (yv, ov) = (y.view(), o.view());
        // Region 0: mean of 0..=52 = 26. Region 1: 2·(Σ_{0..=51} t − 1)/51 = 2·1325/51.
        let r1_mean = 2.0 * 1325.0 / 51.0;
        let m = baseline_training_mean(yv, ov, 0..53, 53..56).unwrap();
        assert_eq!(m.dim(), (2, 3));
        for j in 0..3 {
            assert_relative_eq!(m[[0, j]], 26.0, epsilon = 1e-12);
            assert_relative_eq!(m[[1, j]], r1_mean, epsilon = 1e-12);
        }
        // Last 13 observed weeks: region 0 weeks 40..=52 → mean 46; region 1 skips week 52,
        // so weeks 39..=51 → 2·45 = 90.
        let l = baseline_last_n_mean(yv, ov, 0..53, 53..56, 13).unwrap();
        assert_relative_eq!(l[[0, 0]], 46.0, epsilon = 1e-12);
        assert_relative_eq!(l[[1, 2]], 90.0, epsilon = 1e-12);
        // A window longer than the data uses every observed week (= training mean).
        let all = baseline_last_n_mean(yv, ov, 0..53, 53..56, 1000).unwrap();
        assert_relative_eq!(all[[1, 0]], r1_mean, epsilon = 1e-12);
        // Same week last year: weeks 53, 54, 55 → weeks 1, 2, 3. Region 1's week 1 is
        // unobserved → its training mean.
        let s = baseline_same_week_last_year(yv, ov, 0..53, 53..56).unwrap();
        assert_eq!(s.row(0).to_vec(), vec![1.0, 2.0, 3.0]);
        assert_relative_eq!(s[[1, 0]], r1_mean, epsilon = 1e-12);
        assert_eq!((s[[1, 1]], s[[1, 2]]), (4.0, 6.0));
    }

    #[test]
    fn same_week_last_year_never_reads_the_holdout() {
        // Train 0..3, holdout 3..60: week 55 − 52 = 3 lies in the holdout → fallback.
        let y = Array2::from_shape_fn((1, 60), |(_, t)| t as f64);
        let o = Array2::from_elem((1, 60), true);
        let s = baseline_same_week_last_year(y.view(), o.view(), 0..3, 3..60).unwrap();
        // Week 54 → week 2 (train), week 55 → week 3 (holdout) → training mean 1.
        assert_eq!(s[[0, 54 - 3]], 2.0);
        assert_eq!(s[[0, 55 - 3]], 1.0);
        assert_eq!(s[[0, 0]], 1.0);
    }

    #[test]
    fn region_without_training_data_gets_pooled_mean() {
        // Region 0 training: 2, 4 ; region 1 training unobserved → pooled mean 3.
        let y = array![[2.0, 4.0, 5.0], [f64::NAN, f64::NAN, 8.0]];
        let o = array![[true, true, true], [false, false, true]];
        let m = baseline_training_mean(y.view(), o.view(), 0..2, 2..3).unwrap();
        assert_eq!(m, array![[3.0], [3.0]]);
        let l = baseline_last_n_mean(y.view(), o.view(), 0..2, 2..3, 1).unwrap();
        assert_eq!(l, array![[4.0], [3.0]]);
    }

    #[test]
    fn naive_baselines_scores_observed_holdout_cells() {
        let (y, o) = hand();
        let scored = naive_baselines(y.view(), o.view(), 0..53, 53..56).unwrap();
        let names: Vec<&str> = scored.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["train_mean", "last_13_mean", "same_week_last_year"]);
        // 6 holdout cells, one unobserved.
        assert!(scored.iter().all(|(_, m)| m.n == 5));
        // Train-mean baseline, by hand: region 0 predicts 26 for y = 53, 54, 55 → errors
        // 27, 28, 29; region 1 predicts 2650/51 for y = 106, 108 → errors 106 − 2650/51, 108 − 2650/51.
        let c = 2650.0 / 51.0;
        let mae = (27.0 + 28.0 + 29.0 + (106.0 - c) + (108.0 - c)) / 5.0;
        assert_relative_eq!(scored[0].1.mae, mae, epsilon = 1e-9);
        let p = baseline_training_mean(y.view(), o.view(), 0..53, 53..56).unwrap();
        let yh = y.slice_axis(Axis(1), Slice::from(53..56));
        let oh = o.slice_axis(Axis(1), Slice::from(53..56));
        assert_eq!(scored[0].1, FitMetrics::compute(yh, p.view(), oh));
    }

    #[test]
    fn invalid_inputs_are_errors() {
        let (y, o) = hand();
        let (yv, ov) = (y.view(), o.view());
        assert!(matches!(
            naive_baselines(yv, ov, 0..54, 53..56),
            Err(Error::InvalidRange(_))
        ));
        assert!(matches!(
            naive_baselines(yv, ov, 0..53, 53..57),
            Err(Error::InvalidRange(_))
        ));
        assert!(matches!(
            naive_baselines(yv, ov, 3..3, 53..56),
            Err(Error::InvalidRange(_))
        ));
        assert!(matches!(
            naive_baselines(yv, ov, 0..53, 56..56),
            Err(Error::InvalidRange(_))
        ));
        let small = Array2::from_elem((2, 55), true);
        assert!(matches!(
            naive_baselines(yv, small.view(), 0..53, 53..55),
            Err(Error::ShapeMismatch { .. })
        ));
        let none = Array2::from_elem((2, 56), false);
        assert!(matches!(
            naive_baselines(yv, none.view(), 0..53, 53..56),
            Err(Error::Empty(_))
        ));
        let mut bad = y.clone();
        bad[[0, 54]] = f64::INFINITY;
        assert!(matches!(
            naive_baselines(bad.view(), ov, 0..53, 53..56),
            Err(Error::NonFinite { .. })
        ));
        assert!(matches!(
            baseline_last_n_mean(yv, ov, 0..53, 53..56, 0),
            Err(Error::Empty(_))
        ));
    }

    /// The pooled-R² problem: with region levels spread from 10 to 1000 and pure noise inside
    /// regions, the training mean scores near-perfect pooled R² and nothing within regions.
    #[test]
    fn training_mean_looks_great_pooled_and_useless_within() {
        let (regions, weeks) = (20, 60);
        let noise = seeded_uniform(42, regions * weeks, -5.0, 5.0);
        let y = Array2::from_shape_fn((regions, weeks), |(r, t)| {
            10.0 + 52.0 * r as f64 + noise[r * weeks + t]
        });
        let o = Array2::from_elem((regions, weeks), true);
        let scored = naive_baselines(y.view(), o.view(), 0..47, 47..60).unwrap();
        let m = &scored[0].1;
        assert!(m.r2_pooled > 0.99, "pooled {}", m.r2_pooled);
        assert!(m.r2_within < 0.0, "within {}", m.r2_within);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]

        /// Holdout actuals never change a forecast; a per-region constant forecast has
        /// within-region R² ≤ 0; unobserved cells are ignored whatever they hold.
        #[test]
        fn no_leakage_and_constant_forecasts(seed in any::<u64>(), regions in 1usize..5, train in 1usize..70, holdout in 1usize..15) {
            let weeks = train + holdout;
            let v = seeded_uniform(seed, regions * weeks, 0.0, 50.0);
            let u = seeded_uniform(seed ^ 5, regions * weeks, 0.0, 1.0);
            let y = Array2::from_shape_vec((regions, weeks), v).unwrap();
            let o = Array2::from_shape_fn((regions, weeks), |(r, t)| t == 0 || u[r * weeks + t] < 0.8);
            let res = naive_baselines(y.view(), o.view(), 0..train, train..weeks).unwrap();
            let mut y2 = y.clone();
            for r in 0..regions {
                for t in 0..weeks {
                    if !o[[r, t]] {
                        y2[[r, t]] = f64::NAN;
                    }
                }
            }
            let preds = |y: &Array2<f64>| {
                [
                    baseline_training_mean(y.view(), o.view(), 0..train, train..weeks).unwrap(),
                    baseline_last_n_mean(y.view(), o.view(), 0..train, train..weeks, LAST_N_WEEKS).unwrap(),
                    baseline_same_week_last_year(y.view(), o.view(), 0..train, train..weeks).unwrap(),
                ]
            };
            let base = preds(&y);
            prop_assert_eq!(&base, &preds(&y2));
            let res2 = naive_baselines(y2.view(), o.view(), 0..train, train..weeks).unwrap();
            prop_assert_eq!(format!("{res:?}"), format!("{res2:?}"));
            let mut y3 = y.clone();
            for r in 0..regions {
                for t in train..weeks {
                    y3[[r, t]] += 1000.0;
                }
            }
            prop_assert_eq!(&base, &preds(&y3));
            for (name, m) in &res[..2] {
                prop_assert!(m.r2_within.is_nan() || m.r2_within <= 1e-12, "{} within R² {}", name, m.r2_within);
            }
        }
    }
}
