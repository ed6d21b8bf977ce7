//! Early stopping on a metric (lower is better) with a copy of the best parameters.
//!
//! Observation `k` (0-based, one per epoch) *improves* when `metric < best − min_delta`
//! (`min_delta` is absolute; the first finite metric always improves; NaN never does). An
//! improving observation stores the metric, its index and a copy of the parameters, and resets
//! the wait counter; a non-improving one increments it, and [`StopDecision::Stop`] is returned
//! once `patience` consecutive observations failed to improve (and for every observation after
//! that). [`EarlyStopping::restore`] copies the best parameters back into the caller's buffer.

use crate::error::{Result, check_non_negative};

/// What the training loop should do after an observation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopDecision {
    /// Keep training.
    Continue,
    /// Patience exhausted: stop and (usually) restore the best parameters.
    Stop,
}

impl StopDecision {
    /// `true` for [`StopDecision::Stop`].
    pub fn is_stop(self) -> bool {
        self == StopDecision::Stop
    }
}

/// Patience-based early stopping that keeps the best parameters (module docs).
#[derive(Debug, Clone)]
pub struct EarlyStopping {
    patience: usize,
    min_delta: f64,
    best_metric: f64,
    best_epoch: Option<usize>,
    best_params: Vec<f64>,
    wait: usize,
    epoch: usize,
}

impl EarlyStopping {
    /// Stops after `patience` consecutive observations that do not improve by more than
    /// `min_delta` (finite and `>= 0`).
    pub fn new(patience: usize, min_delta: f64) -> Result<Self> {
        Ok(Self {
            patience,
            min_delta: check_non_negative("min_delta", min_delta)?,
            best_metric: f64::INFINITY,
            best_epoch: None,
            best_params: Vec::new(),
            wait: 0,
            epoch: 0,
        })
    }

    /// Records the metric of the current epoch and the parameters that produced it.
    pub fn observe(&mut self, metric: f64, params: &[f64]) -> StopDecision {
        let epoch = self.epoch;
        self.epoch += 1;
        let improved = match self.best_epoch {
            None => metric.is_finite(),
            Some(_) => !metric.is_nan() && metric < self.best_metric - self.min_delta,
        };
        if improved {
            self.best_metric = metric;
            self.best_epoch = Some(epoch);
            self.best_params.clear();
            self.best_params.extend_from_slice(params);
            self.wait = 0;
            return StopDecision::Continue;
        }
        self.wait += 1;
        if self.wait >= self.patience {
            StopDecision::Stop
        } else {
            StopDecision::Continue
        }
    }

    /// Best metric so far, if any finite metric was observed.
    pub fn best_metric(&self) -> Option<f64> {
        self.best_epoch.map(|_| self.best_metric)
    }

    /// 0-based index of the observation with the best metric.
    pub fn best_epoch(&self) -> Option<usize> {
        self.best_epoch
    }

    /// Copy of the parameters at the best observation.
    pub fn best_params(&self) -> Option<&[f64]> {
        self.best_epoch.map(|_| self.best_params.as_slice())
    }

    /// Number of observations so far.
    pub fn epochs_observed(&self) -> usize {
        self.epoch
    }

    /// Consecutive non-improving observations.
    pub fn wait(&self) -> usize {
        self.wait
    }

    /// Copies the best parameters into `params`; returns `false` (and leaves `params` alone)
    /// when nothing has been recorded. Panics if the lengths differ.
    pub fn restore(&self, params: &mut [f64]) -> bool {
        match self.best_params() {
            Some(best) => {
                assert_eq!(
                    best.len(),
                    params.len(),
                    "EarlyStopping::restore: stored {} parameters, buffer has {}",
                    best.len(),
                    params.len()
                );
                params.copy_from_slice(best);
                true
            }
            None => false,
        }
    }
}
