//! The metric-driven learning-rate schedule [`ReduceOnPlateau`].
//!
//! [`ReduceOnPlateau`] watches a metric where lower is better. An observation *improves* when
//! `metric < best − threshold · |best|` (relative threshold; the first finite metric always
//! improves; NaN never does). After `patience` consecutive non-improving observations the rate
//! becomes `max(η · factor, min_lr)`, the counter resets and the next `cooldown` observations
//! are not counted as bad (the best value is still tracked during the cool-down). The caller
//! chooses the metric — the model passes a validation metric, never the holdout.

use crate::error::{Error, Result, check_non_negative};

/// Lowers the learning rate when a metric (lower is better) stops improving; see the module docs.
#[derive(Debug, Clone)]
pub struct ReduceOnPlateau {
    factor: f64,
    patience: usize,
    min_lr: f64,
    threshold: f64,
    cooldown: usize,
    best: f64,
    num_bad: usize,
    cooldown_left: usize,
    reductions: usize,
}

impl ReduceOnPlateau {
    /// Multiplies the rate by `factor` (in `(0, 1)`) after `patience` non-improving observations.
    /// Defaults: `min_lr = 0`, `threshold = 1e-4` (relative), `cooldown = 0`.
    pub fn new(factor: f64, patience: usize) -> Result<Self> {
        if !(factor > 0.0 && factor < 1.0) {
            return Err(Error::InvalidParameter {
                name: "factor",
                value: factor,
                expected: "in (0, 1)",
            });
        }
        Ok(Self {
            factor,
            patience,
            min_lr: 0.0,
            threshold: 1e-4,
            cooldown: 0,
            best: f64::INFINITY,
            num_bad: 0,
            cooldown_left: 0,
            reductions: 0,
        })
    }

    /// Floor for the learning rate (finite and `>= 0`).
    pub fn min_lr(mut self, min_lr: f64) -> Result<Self> {
        self.min_lr = check_non_negative("min_lr", min_lr)?;
        Ok(self)
    }

    /// Relative improvement threshold (finite and `>= 0`).
    pub fn threshold(mut self, threshold: f64) -> Result<Self> {
        self.threshold = check_non_negative("threshold", threshold)?;
        Ok(self)
    }

    /// Number of observations after a reduction that are not counted as bad.
    pub fn cooldown(mut self, cooldown: usize) -> Self {
        self.cooldown = cooldown;
        self
    }

    /// Records `metric` and returns the learning rate to use from now on (`current_lr` or a
    /// reduced one, never below `min_lr` unless `current_lr` already was).
    pub fn observe(&mut self, metric: f64, current_lr: f64) -> f64 {
        let improved = if self.best == f64::INFINITY {
            metric.is_finite()
        } else {
            metric < self.best - self.threshold * self.best.abs()
        };
        if improved {
            self.best = metric;
            self.num_bad = 0;
        }
        if self.cooldown_left > 0 {
            self.cooldown_left -= 1;
            self.num_bad = 0;
            return current_lr;
        }
        if improved {
            return current_lr;
        }
        self.num_bad += 1;
        if self.num_bad < self.patience {
            return current_lr;
        }
        self.num_bad = 0;
        let new_lr = (current_lr * self.factor).max(self.min_lr);
        if new_lr < current_lr {
            self.cooldown_left = self.cooldown;
            self.reductions += 1;
            new_lr
        } else {
            current_lr
        }
    }

    /// Best metric seen so far (`+∞` before the first finite observation).
    pub fn best(&self) -> f64 {
        self.best
    }

    /// Consecutive non-improving observations counted towards the patience.
    pub fn num_bad_observations(&self) -> usize {
        self.num_bad
    }

    /// How many times the rate has been reduced.
    pub fn reductions(&self) -> usize {
        self.reductions
    }
}
