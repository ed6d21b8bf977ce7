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
