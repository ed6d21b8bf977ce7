//! The [`Optimizer`] trait and [`Adam`] with optional coupled L2 weight decay.
//!
//! Adam keeps bias-corrected first and second moment estimates. With gradient `g_t` at step
//! `t = 1, 2, …`, learning rate `η`, betas `β₁, β₂` and `ε`:
//!
//! ```text
//! m_t = β₁ m_{t−1} + (1 − β₁) g_t            m̂_t = m_t / (1 − β₁ᵗ)
//! v_t = β₂ v_{t−1} + (1 − β₂) g_t²           v̂_t = v_t / (1 − β₂ᵗ)
//! θ_t = θ_{t−1} − η m̂_t / (√v̂_t + ε)
//! ```
//!
//! With `weight_decay = λ` the L2 gradient is added to the loss gradient before the moments,
//! `g_t ← g_t + λ θ_{t−1}` (it minimises `f(θ) + λ/2 ‖θ‖²`, with the decay rescaled by the
//! adaptive denominator).
//!
//! At `t = 1` the bias correction gives `m̂ = g`, `v̂ = g²`, so the first step is
//! `η g / (|g| + ε) ≈ η · sign(g)` for every coordinate.
//!
//! The moment buffers are allocated on the first [`Optimizer::step`] from the parameter length;
//! later steps must use the same length (an internal dimension error, checked with `assert!`).

use crate::error::{Result, check_lr, check_non_negative, check_positive, check_unit_interval};

/// An optimiser that updates a flat parameter buffer in place from its gradient.
pub trait Optimizer: Send {
    /// One update of `params` in place from `grad` (same length).
    fn step(&mut self, params: &mut [f64], grad: &[f64]);
    /// The learning rate used by the next step.
    fn learning_rate(&self) -> f64;
    /// Sets the learning rate used by subsequent steps (e.g. from a schedule).
    ///
    /// Panics if `lr` is negative or not finite; `0` is allowed (a schedule may end there).
    fn set_learning_rate(&mut self, lr: f64);
}

fn check_settable_lr(lr: f64) {
    assert!(
        lr.is_finite() && lr >= 0.0,
        "set_learning_rate: learning rate must be finite and >= 0, got {lr}"
    );
}

/// Adam with bias-corrected moments and optional coupled L2 weight decay (see the module docs).
#[derive(Debug, Clone)]
pub struct Adam {
    lr: f64,
    weight_decay: f64,
    beta1: f64,
    beta2: f64,
    eps: f64,
    /// First moments (empty before the first step).
    m: Vec<f64>,
    /// Second moments (empty before the first step).
    v: Vec<f64>,
    /// Steps taken.
    t: u64,
}

impl Adam {
    /// Adam with learning rate `lr`, betas `(0.9, 0.999)`, `eps = 1e-8`, no weight decay.
    ///
    /// Errors if `lr` is not finite and `> 0`.
    pub fn new(lr: f64) -> Result<Self> {
        Ok(Self {
            lr: check_lr(lr)?,
            weight_decay: 0.0,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            m: Vec::new(),
            v: Vec::new(),
            t: 0,
        })
    }

    /// Sets the moment decay rates; each must lie in `[0, 1)`.
    pub fn betas(mut self, beta1: f64, beta2: f64) -> Result<Self> {
        self.beta1 = check_unit_interval("beta1", beta1)?;
        self.beta2 = check_unit_interval("beta2", beta2)?;
        Ok(self)
    }

    /// Sets the denominator offset `ε` (finite and `> 0`).
    pub fn eps(mut self, eps: f64) -> Result<Self> {
        self.eps = check_positive("eps", eps)?;
        Ok(self)
    }

    /// Sets the coupled L2 weight decay `λ` (finite and `>= 0`), added to the gradient as `λ θ`.
    pub fn weight_decay(mut self, weight_decay: f64) -> Result<Self> {
        self.weight_decay = check_non_negative("weight_decay", weight_decay)?;
        Ok(self)
    }

    /// Number of steps taken since creation or the last [`Adam::reset`].
    pub fn steps(&self) -> u64 {
        self.t
    }

    /// Clears the moment estimates and the step counter (hyper-parameters are kept).
    pub fn reset(&mut self) {
        self.m.clear();
        self.v.clear();
        self.t = 0;
    }
}

impl Optimizer for Adam {
    fn step(&mut self, params: &mut [f64], grad: &[f64]) {
        let n = params.len();
        assert_eq!(
            n,
            grad.len(),
            "Optimizer::step: params has length {n} but grad has length {}",
            grad.len()
        );
        if self.t == 0 && self.m.is_empty() {
            self.m = vec![0.0; n];
            self.v = vec![0.0; n];
        }
        assert_eq!(
            self.m.len(),
            n,
            "Optimizer::step: parameter length changed from {} to {n} between steps",
            self.m.len()
        );
        self.t += 1;
        let t = i32::try_from(self.t).unwrap_or(i32::MAX);
        let (bc1, bc2) = (1.0 - self.beta1.powi(t), 1.0 - self.beta2.powi(t));
        let (b1, b2, wd) = (self.beta1, self.beta2, self.weight_decay);
        for (((p, &g), m), v) in params
            .iter_mut()
            .zip(grad)
            .zip(&mut self.m)
            .zip(&mut self.v)
        {
            let g = if wd > 0.0 { g + wd * *p } else { g };
            *m = b1 * *m + (1.0 - b1) * g;
            *v = b2 * *v + (1.0 - b2) * g * g;
            *p -= self.lr * (*m / bc1) / ((*v / bc2).sqrt() + self.eps);
        }
    }

    fn learning_rate(&self) -> f64 {
        self.lr
    }

    fn set_learning_rate(&mut self, lr: f64) {
        check_settable_lr(lr);
        self.lr = lr;
    }
}
