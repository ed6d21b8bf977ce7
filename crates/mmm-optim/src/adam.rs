//! The [`Optimizer`] trait and the Adam family: [`Adam`] (coupled L2) and [`AdamW`] (decoupled).
//!
//! Both keep bias-corrected first and second moment estimates. With gradient `g_t` at step
//! `t = 1, 2, …`, learning rate `η`, betas `β₁, β₂` and `ε`:
//!
//! ```text
//! m_t = β₁ m_{t−1} + (1 − β₁) g_t            m̂_t = m_t / (1 − β₁ᵗ)
//! v_t = β₂ v_{t−1} + (1 − β₂) g_t²           v̂_t = v_t / (1 − β₂ᵗ)
//! θ_t = θ_{t−1} − η m̂_t / (√v̂_t + ε)
//! ```
//!
//! **Adam** with `weight_decay = λ` adds the L2 gradient to the loss gradient before the
//! moments, `g_t ← g_t + λ θ_{t−1}` (it minimises `f(θ) + λ/2 ‖θ‖²`, with the decay rescaled by
//! the adaptive denominator).
//!
//! **AdamW** decouples the decay from the moments (Loshchilov & Hutter): first
//! `θ ← θ (1 − η λ)` for every parameter whose mask entry is `true` (all, without a mask), then
//! the Adam step above on the raw gradient. A parameter with zero gradient therefore shrinks by
//! exactly `(1 − η λ)` per step. The decay uses the *current* learning rate, so schedules scale
//! it too.
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

/// Moment state shared by [`Adam`] and [`AdamW`].
#[derive(Debug, Clone)]
struct Moments {
    beta1: f64,
    beta2: f64,
    eps: f64,
    m: Vec<f64>,
    v: Vec<f64>,
    t: u64,
}

impl Moments {
    fn new() -> Self {
        Self {
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            m: Vec::new(),
            v: Vec::new(),
            t: 0,
        }
    }

    /// Advances the step counter and prepares the buffers for `n` parameters.
    /// Returns the bias corrections `(1 − β₁ᵗ, 1 − β₂ᵗ)`.
    fn begin(&mut self, n: usize, grad_len: usize) -> (f64, f64) {
        assert_eq!(
            n, grad_len,
            "Optimizer::step: params has length {n} but grad has length {grad_len}"
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
        (1.0 - self.beta1.powi(t), 1.0 - self.beta2.powi(t))
    }

    /// Updates the moments of coordinate `i` with gradient `g` and returns `m̂ / (√v̂ + ε)`.
    #[inline]
    fn direction(&mut self, i: usize, g: f64, bc1: f64, bc2: f64) -> f64 {
        let m = self.beta1 * self.m[i] + (1.0 - self.beta1) * g;
        let v = self.beta2 * self.v[i] + (1.0 - self.beta2) * g * g;
        self.m[i] = m;
        self.v[i] = v;
        (m / bc1) / ((v / bc2).sqrt() + self.eps)
    }

    fn reset(&mut self) {
        self.m.clear();
        self.v.clear();
        self.t = 0;
    }
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
    moments: Moments,
}

impl Adam {
    /// Adam with learning rate `lr`, betas `(0.9, 0.999)`, `eps = 1e-8`, no weight decay.
    ///
    /// Errors if `lr` is not finite and `> 0`.
    pub fn new(lr: f64) -> Result<Self> {
        Ok(Self {
            lr: check_lr(lr)?,
            weight_decay: 0.0,
            moments: Moments::new(),
        })
    }

    /// Sets the moment decay rates; each must lie in `[0, 1)`.
    pub fn betas(mut self, beta1: f64, beta2: f64) -> Result<Self> {
        self.moments.beta1 = check_unit_interval("beta1", beta1)?;
        self.moments.beta2 = check_unit_interval("beta2", beta2)?;
        Ok(self)
    }

    /// Sets the denominator offset `ε` (finite and `> 0`).
    pub fn eps(mut self, eps: f64) -> Result<Self> {
        self.moments.eps = check_positive("eps", eps)?;
        Ok(self)
    }

    /// Sets the coupled L2 weight decay `λ` (finite and `>= 0`), added to the gradient as `λ θ`.
    pub fn weight_decay(mut self, weight_decay: f64) -> Result<Self> {
        self.weight_decay = check_non_negative("weight_decay", weight_decay)?;
        Ok(self)
    }

    /// Number of steps taken since creation or the last [`Adam::reset`].
    pub fn steps(&self) -> u64 {
        self.moments.t
    }

    /// Clears the moment estimates and the step counter (hyper-parameters are kept).
    pub fn reset(&mut self) {
        self.moments.reset();
    }
}

impl Optimizer for Adam {
    fn step(&mut self, params: &mut [f64], grad: &[f64]) {
        let (bc1, bc2) = self.moments.begin(params.len(), grad.len());
        let (lr, wd) = (self.lr, self.weight_decay);
        for (i, (p, &g)) in params.iter_mut().zip(grad).enumerate() {
            let g = if wd > 0.0 { g + wd * *p } else { g };
            *p -= lr * self.moments.direction(i, g, bc1, bc2);
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

/// Adam with decoupled weight decay and an optional per-parameter decay mask (module docs).
#[derive(Debug, Clone)]
pub struct AdamW {
    lr: f64,
    weight_decay: f64,
    decay_mask: Option<Vec<bool>>,
    moments: Moments,
}

impl AdamW {
    /// AdamW with learning rate `lr`, betas `(0.9, 0.999)`, `eps = 1e-8`, `weight_decay = 0.01`
    /// (the common default) applied to every parameter.
    ///
    /// Errors if `lr` is not finite and `> 0`.
    pub fn new(lr: f64) -> Result<Self> {
        Ok(Self {
            lr: check_lr(lr)?,
            weight_decay: 0.01,
            decay_mask: None,
            moments: Moments::new(),
        })
    }

    /// Sets the moment decay rates; each must lie in `[0, 1)`.
    pub fn betas(mut self, beta1: f64, beta2: f64) -> Result<Self> {
        self.moments.beta1 = check_unit_interval("beta1", beta1)?;
        self.moments.beta2 = check_unit_interval("beta2", beta2)?;
        Ok(self)
    }

    /// Sets the denominator offset `ε` (finite and `> 0`).
    pub fn eps(mut self, eps: f64) -> Result<Self> {
        self.moments.eps = check_positive("eps", eps)?;
        Ok(self)
    }

    /// Sets the decoupled weight decay `λ` (finite and `>= 0`): `θ ← θ (1 − η λ)` each step.
    pub fn weight_decay(mut self, weight_decay: f64) -> Result<Self> {
        self.weight_decay = check_non_negative("weight_decay", weight_decay)?;
        Ok(self)
    }

    /// Restricts the decay to parameters whose mask entry is `true` (e.g. `false` for biases
    /// and scales). The mask length must equal the parameter length at every step (asserted).
    pub fn with_decay_mask(mut self, mask: Vec<bool>) -> Self {
        self.decay_mask = Some(mask);
        self
    }

    /// The decay mask, if any.
    pub fn decay_mask(&self) -> Option<&[bool]> {
        self.decay_mask.as_deref()
    }

    /// Number of steps taken since creation or the last [`AdamW::reset`].
    pub fn steps(&self) -> u64 {
        self.moments.t
    }

    /// Clears the moment estimates and the step counter (hyper-parameters and mask are kept).
    pub fn reset(&mut self) {
        self.moments.reset();
    }
}

impl Optimizer for AdamW {
    fn step(&mut self, params: &mut [f64], grad: &[f64]) {
        if let Some(mask) = &self.decay_mask {
            assert_eq!(
                mask.len(),
                params.len(),
                "AdamW::step: decay mask has length {} but params has length {}",
                mask.len(),
                params.len()
            );
        }
        let (bc1, bc2) = self.moments.begin(params.len(), grad.len());
        let lr = self.lr;
        let shrink = 1.0 - lr * self.weight_decay;
        for (i, (p, &g)) in params.iter_mut().zip(grad).enumerate() {
            let decay = self.decay_mask.as_ref().is_none_or(|m| m[i]);
            if decay {
                *p *= shrink;
            }
            *p -= lr * self.moments.direction(i, g, bc1, bc2);
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
