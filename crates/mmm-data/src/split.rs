//! Calendar splits: training span, validation weeks (the last weeks of the training span, for early
//! stopping) and holdout (the last weeks of the calendar, never used for fitting or model choice).
//!
//! With `n` calendar weeks, holdout `h` and validation `v`:
//! `train = 0..n-h`, `validation = n-h-v..n-h` (inside `train`), `holdout = n-h..n`, and
//! [`TimeSplit::fit_weeks`] `= 0..n-h-v` (training minus validation). At least `min_train` fit weeks
//! are required.

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::ops::Range;
use std::path::PathBuf;

/// Default holdout length (weeks).
pub const DEFAULT_HOLDOUT_WEEKS: usize = 13;
/// Default minimum number of fit weeks before validation and holdout (half a year).
pub const DEFAULT_MIN_TRAIN_WEEKS: usize = 26;

/// Train / validation / holdout ranges over the calendar weeks.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimeSplit {
    /// The training span (includes the validation weeks at its end).
    pub train: Range<usize>,
    /// The last weeks of the training span, for early stopping.
    pub validation: Range<usize>,
    /// The last weeks of the calendar.
    pub holdout: Range<usize>,
}

impl TimeSplit {
    /// Split `n_weeks` calendar weeks; errors when `n_weeks < holdout + validation + max(min_train, 1)`.
    pub fn new(
        n_weeks: usize,
        holdout_weeks: usize,
        validation_weeks: usize,
        min_train_weeks: usize,
    ) -> Result<Self> {
        let needed = holdout_weeks
            .saturating_add(validation_weeks)
            .saturating_add(min_train_weeks.max(1));
        if n_weeks < needed {
            return Err(Error::TooFewWeeks {
                path: PathBuf::new(),
                column: String::new(),
                n_weeks,
                needed,
                holdout: holdout_weeks,
                validation: validation_weeks,
                min_train: min_train_weeks,
            });
        }
        let end = n_weeks - holdout_weeks;
        Ok(TimeSplit {
            train: 0..end,
            validation: end - validation_weeks..end,
            holdout: end..n_weeks,
        })
    }

    /// Training weeks excluding the validation weeks.
    pub fn fit_weeks(&self) -> Range<usize> {
        self.train.start..self.validation.start
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_partition_the_calendar() {
        let s = TimeSplit::new(109, 13, 8, 26).unwrap();
        assert_eq!(s.train, 0..96);
        assert_eq!(s.validation, 88..96);
        assert_eq!(s.holdout, 96..109);
        assert_eq!(s.fit_weeks(), 0..88);
        let s = TimeSplit::new(1, 0, 0, 1).unwrap();
        assert_eq!((s.train, s.validation, s.holdout), (0..1, 1..1, 1..1));
    }

    #[test]
    fn too_few_weeks_is_an_error() {
        let e = TimeSplit::new(46, 13, 8, 26).unwrap_err();
        assert!(
            matches!(
                e,
                Error::TooFewWeeks {
                    n_weeks: 46,
                    needed: 47,
                    ..
                }
            ),
            "{e}"
        );
        assert!(TimeSplit::new(47, 13, 8, 26).is_ok());
        assert!(TimeSplit::new(13, 13, 0, 0).is_err());
    }
}
