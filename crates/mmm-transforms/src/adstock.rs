//! Adstock (carryover) transforms: geometric, delayed (Jin et al. 2017) and Weibull.
//!
//! Every adstock maps one channel's `(regions × weeks)` media array `x` to
//!
//! ```text
//! out[r, t] = Σ_{l=0}^{min(L−1, t)} w_l(θ) · x[r, t − l]
//! ```
//!
//! with lag weights `w_l`; weeks before the first column count as zero (a cold start).
//!
//! # Geometric
//! `α = σ(u₀) ∈ (0, 1)`.
//! * `max_lag: None` — the exact infinite recursion `a_t = c·x_t + α·a_{t−1}`, `a_{−1} = 0`, with
//!   `c = 1` (or `c = 1 − α` when `normalize`, so that the infinite weights `(1 − α)·αˡ` sum to 1).
//!   Its weights are `w_l = c·αˡ` for all `l`. O(T) per row.
//! * `max_lag: Some(L)` — the truncated convolution `w_l = αˡ`, `l < L` (divided by `Σ_{l<L} αˡ`
//!   when `normalize`).
//!
//! # Delayed (Jin et al. 2017)
//! `w_l ∝ α^{(l − θ)²}`, `l = 0..L−1`, normalised to sum 1, with `α = σ(u₀)` and peak delay
//! `θ = (L − 1)·σ(u₁) ∈ (0, L − 1)`.
//!
//! # Weibull
//! Weights proportional to the Weibull density with shape `k = softplus(u₀)` and scale
//! `λ = softplus(u₁)` (in weeks), normalised to sum 1:
//! `w_l ∝ (t_l/λ)^{k−1} · exp(−(t_l/λ)^k)` (the constant `k/λ` cancels in the normalisation).
//! The density is evaluated on the grid **`t_l = l + 1`**, `l = 0..L−1`: the PDF is singular at 0
//! for `k < 1` (`0^{k−1} = ∞`) and vanishes there for `k > 1`, so starting the grid at 1 keeps
//! every weight finite and positive. (Lag `l` thus carries the density at `l + 1` weeks.)
//!
//! # Gradients
//! The VJP of the convolution with respect to its input is the correlation
//! `∂L/∂x[r, s] = Σ_l w_l · g[r, s + l]`, and with respect to the weights
//! `∂L/∂w_l = Σ_{r,t} g[r, t] · x[r, t − l]`. The weights are written as `w = softmax(s(u))` (or
//! `w = exp(s(u))` for the unnormalised geometric kernel) with log-weights
//!
//! * geometric: `s_l = l·ln α`, `∂s_l/∂u₀ = l·(1 − α)`;
//! * delayed: `s_l = (l − θ)²·ln α`, `∂s_l/∂u₀ = (l − θ)²(1 − α)`,
//!   `∂s_l/∂u₁ = −2(l − θ)·ln α · (L − 1)σ(u₁)σ(−u₁)`;
//! * Weibull: `z_l = t_l/λ`, `s_l = (k − 1) ln z_l − z_lᵏ`, `∂s_l/∂u₀ = ln z_l (1 − z_lᵏ)·σ(u₀)`,
//!   `∂s_l/∂u₁ = (k z_lᵏ − k + 1)/λ · σ(u₁)`;
//!
//! and the softmax Jacobian `∂w_l/∂u_p = w_l (∂s_l/∂u_p − Σ_j w_j ∂s_j/∂u_p)`. Log-weights are
//! shifted by their maximum before exponentiation, and `ln α` is computed as `ln σ(u)`, so the
//! kernels stay finite for any finite `u`.
//!
//! The recursion's VJP runs the adjoint recursion backwards in time: `λ_t = g_t + α·λ_{t+1}`,
//! `∂L/∂x_t = c·λ_t`, `∂L/∂α = Σ_t λ_t (a_{t−1} + x_t·∂c/∂α)` with `∂c/∂α ∈ {0, −1}`.

use crate::param::{
    log_sigmoid, scaled_sigmoid, scaled_sigmoid_deriv, sigmoid, sigmoid_deriv, softplus,
    try_scaled_logit, try_softplus_inv,
};
use crate::{Adstock, Result};
use ndarray::{ArrayView1, ArrayView2, ArrayViewMut1, ArrayViewMut2};

// ---------------------------------------------------------------------------------------------
// Shared machinery: shape checks, contiguous row access, convolution kernels.
// ---------------------------------------------------------------------------------------------

fn check_params(name: &str, expected: usize, params: &[f64]) {
    assert_eq!(
        params.len(),
        expected,
        "{name} adstock expects {expected} parameter(s), got {}",
        params.len()
    );
}

fn check_forward_shapes(name: &str, x: &ArrayView2<f64>, out: &ArrayViewMut2<f64>) {
    assert_eq!(
        x.dim(),
        out.dim(),
        "{name} adstock: output shape {:?} differs from input shape {:?}",
        out.dim(),
        x.dim()
    );
}

fn check_vjp_shapes(
    name: &str,
    x: &ArrayView2<f64>,
    grad_out: &ArrayView2<f64>,
    grad_x: &Option<ArrayViewMut2<f64>>,
    n_params: usize,
    grad_params: &[f64],
) {
    assert_eq!(
        x.dim(),
        grad_out.dim(),
        "{name} adstock: grad_out shape {:?} differs from input shape {:?}",
        grad_out.dim(),
        x.dim()
    );
    if let Some(gx) = grad_x {
        assert_eq!(
            x.dim(),
            gx.dim(),
            "{name} adstock: grad_x shape {:?} differs from input shape {:?}",
            gx.dim(),
            x.dim()
        );
    }
    assert_eq!(
        grad_params.len(),
        n_params,
        "{name} adstock: grad_params has length {}, expected {n_params}",
        grad_params.len()
    );
}

/// Borrows a row as a slice, copying into `buf` only when the row is not contiguous.
fn read_row<'a>(row: ArrayView1<'a, f64>, buf: &'a mut Vec<f64>) -> &'a [f64] {
    match row.to_slice() {
        Some(s) => s,
        None => {
            buf.clear();
            buf.extend(row.iter());
            buf
        }
    }
}

/// Runs `f` on a mutable slice of the row (current values preserved), copying through `buf`
/// when the row is not contiguous.
fn with_row_mut(mut row: ArrayViewMut1<f64>, buf: &mut Vec<f64>, f: impl FnOnce(&mut [f64])) {
    if let Some(s) = row.as_slice_mut() {
        f(s);
    } else {
        buf.clear();
        buf.extend(row.iter());
        f(buf);
        row.assign(&ArrayView1::from(&buf[..]));
    }
}

/// Outputs of the convolution computed together, their partial sums held in registers.
const BLOCK: usize = 8;

/// Lags whose weight gradients are computed together (in registers; one pass over the row for
/// kernels of up to 16 lags).
const LAG_BLOCK: usize = 16;

/// `out[t] = Σ_{l ≤ min(L−1, t)} w_l x[t−l]` for one row, each output summed in increasing `l`,
/// [`BLOCK`] outputs at a time. `x_pad` is scratch: the row behind `L − 1` zeros (a zero term
/// leaves a sum unchanged).
fn conv_row(w: &[f64], x: &[f64], out: &mut [f64], x_pad: &mut Vec<f64>) {
    let lags = w.len();
    if lags == 0 {
        out.fill(0.0);
        return;
    }
    x_pad.clear();
    x_pad.resize(lags - 1, 0.0);
    x_pad.extend_from_slice(x);
    x_pad.resize(lags - 1 + x.len() + BLOCK, 0.0);
    // out[t + j] = Σ_l w_l x_pad[L − 1 + t + j − l].
    for (block, o) in out.chunks_mut(BLOCK).enumerate() {
        let t = block * BLOCK;
        let mut acc = [0.0; BLOCK];
        for (l, &wl) in w.iter().enumerate() {
            let xs = &x_pad[lags - 1 + t - l..lags - 1 + t - l + BLOCK];
            for (a, &xv) in acc.iter_mut().zip(xs) {
                *a += wl * xv;
            }
        }
        for (oi, a) in o.iter_mut().zip(acc) {
            *oi = a;
        }
    }
}

/// Convolution forward over all rows.
fn conv_forward(w: &[f64], x: ArrayView2<f64>, mut out: ArrayViewMut2<f64>) {
    let (mut xb, mut ob, mut pad) = (Vec::new(), Vec::new(), Vec::new());
    for (xr, or) in x.outer_iter().zip(out.outer_iter_mut()) {
        let xs = read_row(xr, &mut xb);
        with_row_mut(or, &mut ob, |o| conv_row(w, xs, o, &mut pad));
    }
}

/// Convolution VJP over all rows: accumulates `∂L/∂x` into `grad_x` and returns `∂L/∂w`.
fn conv_vjp(
    w: &[f64],
    x: ArrayView2<f64>,
    grad_out: ArrayView2<f64>,
    mut grad_x: Option<ArrayViewMut2<f64>>,
) -> Vec<f64> {
    let mut gw = vec![0.0; w.len()];
    let (mut xb, mut gb, mut gxb) = (Vec::new(), Vec::new(), Vec::new());
    let t_len = x.ncols();
    let lags = w.len().min(t_len);
    // Per row, ∂L/∂w_l = Σ_{t ≥ l} g[t] x[t−l], summed in increasing t, for [`LAG_BLOCK`] lags at
    // a time over the row reversed and zero-padded: x_rev[T − 1 − t + l] = x[t − l] (0 for
    // t < l, a term that leaves the sum unchanged).
    let mut x_rev = vec![0.0; t_len + LAG_BLOCK];
    for r in 0..x.nrows() {
        let xs = read_row(x.row(r), &mut xb);
        let gs = read_row(grad_out.row(r), &mut gb);
        x_rev[..t_len]
            .iter_mut()
            .zip(xs.iter().rev())
            .for_each(|(a, b)| *a = *b);
        for l0 in (0..lags).step_by(LAG_BLOCK) {
            let mut acc = [0.0; LAG_BLOCK];
            for (t, &g) in gs.iter().enumerate().skip(l0) {
                let xs = &x_rev[t_len - 1 - t + l0..t_len - 1 - t + l0 + LAG_BLOCK];
                for (a, &xv) in acc.iter_mut().zip(xs) {
                    *a += g * xv;
                }
            }
            for (gwl, a) in gw[l0..lags].iter_mut().zip(acc) {
                *gwl += a;
            }
        }
        if let Some(gx) = grad_x.as_mut() {
            with_row_mut(gx.row_mut(r), &mut gxb, |gx| {
                for (s, gxs) in gx.iter_mut().enumerate() {
                    let lmax = w.len().min(t_len - s);
                    *gxs += (0..lmax).map(|l| w[l] * gs[s + l]).sum::<f64>();
                }
            });
        }
    }
    gw
}

/// Lag weights and their Jacobian with respect to the unconstrained parameters.
struct Kernel {
    /// `w_l`, `l = 0..L−1`.
    w: Vec<f64>,
    /// `∂w_l/∂u_p`, stored row-major as `dw[p·L + l]`.
    dw: Vec<f64>,
}

impl Kernel {
    /// `w = softmax(s)` (when `normalize`) or `w = exp(s)`, from log-weights `s` and their
    /// Jacobian `ds[p·L + l] = ∂s_l/∂u_p`.
    fn from_log_weights(s: &[f64], ds: &[f64], normalize: bool) -> Self {
        let n = s.len();
        let n_params = ds.len().checked_div(n).unwrap_or(0);
        if normalize {
            let m = s.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let mut w: Vec<f64> = s.iter().map(|&sl| (sl - m).exp()).collect();
            let z: f64 = w.iter().sum();
            w.iter_mut().for_each(|wl| *wl /= z);
            let mut dw = vec![0.0; ds.len()];
            for p in 0..n_params {
                let dsp = &ds[p * n..(p + 1) * n];
                let mean: f64 = w.iter().zip(dsp).map(|(a, b)| a * b).sum();
                for l in 0..n {
                    dw[p * n + l] = w[l] * (dsp[l] - mean);
                }
            }
            Kernel { w, dw }
        } else {
            let w: Vec<f64> = s.iter().map(|sl| sl.exp()).collect();
            let dw = (0..ds.len()).map(|i| w[i % n] * ds[i]).collect();
            Kernel { w, dw }
        }
    }

    /// Chains `∂L/∂w` into `∂L/∂u`, accumulating into `grad_params`.
    fn accumulate_param_grad(&self, gw: &[f64], grad_params: &mut [f64]) {
        let n = self.w.len();
        for (p, gp) in grad_params.iter_mut().enumerate() {
            *gp += gw
                .iter()
                .zip(&self.dw[p * n..(p + 1) * n])
                .map(|(a, b)| a * b)
                .sum::<f64>();
        }
    }

    /// The first `n_lags` weights, zero-padded.
    fn padded(&self, n_lags: usize) -> Vec<f64> {
        (0..n_lags)
            .map(|l| self.w.get(l).copied().unwrap_or(0.0))
            .collect()
    }
}

/// Forward + VJP of an adstock given by a [`Kernel`].
fn kernel_vjp(
    k: &Kernel,
    x: ArrayView2<f64>,
    grad_out: ArrayView2<f64>,
    grad_x: Option<ArrayViewMut2<f64>>,
    grad_params: &mut [f64],
) {
    let gw = conv_vjp(&k.w, x, grad_out, grad_x);
    k.accumulate_param_grad(&gw, grad_params);
}

// ---------------------------------------------------------------------------------------------
// Geometric
// ---------------------------------------------------------------------------------------------

/// Geometric adstock with decay `α = σ(u₀)`: exact recursion (`max_lag: None`) or truncated
/// convolution (`max_lag: Some(L)`); see the [module docs](self).
///
/// [`Default`] is the recursion with `normalize: true`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GeometricAdstock {
    /// `None`: exact O(T) recursion over the whole history; `Some(L)`: weights `αˡ`, `l < L`.
    pub max_lag: Option<usize>,
    /// Scale the weights to sum to 1 (`(1 − α)` factor for the recursion, `1/Σ_{l<L} αˡ` for the
    /// truncated kernel), so the adstocked series keeps the scale of the input.
    pub normalize: bool,
}

impl Default for GeometricAdstock {
    fn default() -> Self {
        GeometricAdstock {
            max_lag: None,
            normalize: true,
        }
    }
}

impl GeometricAdstock {
    /// The name it is registered and stored under ([`crate::TransformRegistry`]).
    pub const NAME: &str = "geometric";

    /// Creates a geometric adstock.
    pub fn new(max_lag: Option<usize>, normalize: bool) -> Self {
        GeometricAdstock { max_lag, normalize }
    }

    /// Unconstrained parameters for a natural decay `α ∈ [0, 1]` (the bounds map to `∓40`).
    ///
    /// # Panics
    /// If `decay` is outside `[0, 1]`; use [`GeometricAdstock::try_params_for`] for an error.
    pub fn params_for(decay: f64) -> Vec<f64> {
        Self::try_params_for(decay).unwrap_or_else(|e| panic!("GeometricAdstock::params_for: {e}"))
    }

    /// Unconstrained parameters for a natural decay `α ∈ [0, 1]`.
    ///
    /// # Errors
    /// [`crate::Error::ParameterOutOfRange`] if `decay` is not in `[0, 1]`.
    pub fn try_params_for(decay: f64) -> Result<Vec<f64>> {
        Ok(vec![try_scaled_logit("decay", decay, 0.0, 1.0)?])
    }

    /// Natural decay `α` from unconstrained parameters.
    pub fn decay(params: &[f64]) -> f64 {
        sigmoid(params[0])
    }

    fn kernel(&self, l_max: usize, u: f64) -> Kernel {
        let (ln_a, one_minus_a) = (log_sigmoid(u), sigmoid(-u));
        let s: Vec<f64> = (0..l_max).map(|l| l as f64 * ln_a).collect();
        let ds: Vec<f64> = (0..l_max).map(|l| l as f64 * one_minus_a).collect();
        Kernel::from_log_weights(&s, &ds, self.normalize)
    }
}

impl Adstock for GeometricAdstock {
    fn name(&self) -> &str {
        Self::NAME
    }

    fn n_params(&self) -> usize {
        1
    }

    /// `α = 0.5`.
    fn default_params(&self) -> Vec<f64> {
        vec![0.0]
    }

    fn describe(&self, params: &[f64]) -> Vec<(&'static str, f64)> {
        check_params("geometric", 1, params);
        vec![("decay", sigmoid(params[0]))]
    }

    fn forward(&self, params: &[f64], x: ArrayView2<f64>, mut out: ArrayViewMut2<f64>) {
        check_params("geometric", 1, params);
        check_forward_shapes("geometric", &x, &out);
        let u = params[0];
        match self.max_lag {
            Some(l) => conv_forward(&self.kernel(l, u).w, x, out),
            None => {
                let alpha = sigmoid(u);
                let c = if self.normalize { sigmoid(-u) } else { 1.0 };
                let (mut xb, mut ob) = (Vec::new(), Vec::new());
                for (xr, or) in x.outer_iter().zip(out.outer_iter_mut()) {
                    let xs = read_row(xr, &mut xb);
                    with_row_mut(or, &mut ob, |o| {
                        let mut prev = 0.0;
                        for (ot, &xt) in o.iter_mut().zip(xs) {
                            prev = c * xt + alpha * prev;
                            *ot = prev;
                        }
                    });
                }
            }
        }
    }

    fn vjp(
        &self,
        params: &[f64],
        x: ArrayView2<f64>,
        grad_out: ArrayView2<f64>,
        mut grad_x: Option<ArrayViewMut2<f64>>,
        grad_params: &mut [f64],
    ) {
        check_params("geometric", 1, params);
        check_vjp_shapes("geometric", &x, &grad_out, &grad_x, 1, grad_params);
        let u = params[0];
        if let Some(l) = self.max_lag {
            return kernel_vjp(&self.kernel(l, u), x, grad_out, grad_x, grad_params);
        }
        let alpha = sigmoid(u);
        let (c, dc) = if self.normalize {
            (sigmoid(-u), -1.0)
        } else {
            (1.0, 0.0)
        };
        let t_len = x.ncols();
        let (mut xb, mut gb, mut gxb) = (Vec::new(), Vec::new(), Vec::new());
        let mut a = vec![0.0; t_len];
        let mut g_alpha = 0.0;
        for r in 0..x.nrows() {
            let xs = read_row(x.row(r), &mut xb);
            let gs = read_row(grad_out.row(r), &mut gb);
            let mut prev = 0.0;
            for (at, &xt) in a.iter_mut().zip(xs) {
                prev = c * xt + alpha * prev;
                *at = prev;
            }
            // Adjoint recursion λ_t = g_t + α λ_{t+1}, run backwards.
            let mut lam = 0.0;
            let mut lams_into = |gx: Option<&mut [f64]>| {
                let mut gx = gx;
                for t in (0..t_len).rev() {
                    lam = gs[t] + alpha * lam;
                    if let Some(gx) = gx.as_deref_mut() {
                        gx[t] += c * lam;
                    }
                    let a_prev = if t > 0 { a[t - 1] } else { 0.0 };
                    g_alpha += lam * (a_prev + dc * xs[t]);
                }
            };
            match grad_x.as_mut() {
                Some(gx) => with_row_mut(gx.row_mut(r), &mut gxb, |s| lams_into(Some(s))),
                None => lams_into(None),
            }
        }
        grad_params[0] += g_alpha * sigmoid_deriv(u);
    }

    fn lag_weights(&self, params: &[f64], n_lags: usize) -> Vec<f64> {
        check_params("geometric", 1, params);
        let u = params[0];
        match self.max_lag {
            Some(l) => self.kernel(l, u).padded(n_lags),
            None => {
                let (ln_a, c) = (
                    log_sigmoid(u),
                    if self.normalize { sigmoid(-u) } else { 1.0 },
                );
                (0..n_lags).map(|l| c * (l as f64 * ln_a).exp()).collect()
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Delayed
// ---------------------------------------------------------------------------------------------

/// Delayed adstock (Jin et al. 2017): `w_l ∝ α^{(l − θ)²}`, `l < max_lag`, normalised to sum 1;
/// `α = σ(u₀)`, `θ = (max_lag − 1)·σ(u₁)`. With `max_lag ≤ 1` the delay is fixed at 0 (its
/// gradient is 0); with `max_lag = 0` the output is identically 0.
///
/// [`Default`] uses `max_lag = 13` (one quarter).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DelayedAdstock {
    /// Number of lags `L` (weeks 0..L−1 carry weight).
    pub max_lag: usize,
}

impl Default for DelayedAdstock {
    fn default() -> Self {
        DelayedAdstock { max_lag: 13 }
    }
}

impl DelayedAdstock {
    /// The name it is registered and stored under ([`crate::TransformRegistry`]).
    pub const NAME: &str = "delayed";

    /// Creates a delayed adstock with `max_lag` lags.
    pub fn new(max_lag: usize) -> Self {
        DelayedAdstock { max_lag }
    }

    fn theta_max(&self) -> f64 {
        self.max_lag.saturating_sub(1) as f64
    }

    /// Unconstrained parameters for a decay `α ∈ [0, 1]` and a peak delay `θ ∈ [0, max_lag − 1]`
    /// (bounds map to `∓40` on the unconstrained scale).
    ///
    /// # Panics
    /// If either value is out of range; use [`DelayedAdstock::try_params_for`] for an error.
    pub fn params_for(&self, decay: f64, delay: f64) -> Vec<f64> {
        self.try_params_for(decay, delay)
            .unwrap_or_else(|e| panic!("DelayedAdstock::params_for: {e}"))
    }

    /// Unconstrained parameters for a decay `α ∈ [0, 1]` and a peak delay `θ ∈ [0, max_lag − 1]`.
    ///
    /// # Errors
    /// [`crate::Error::ParameterOutOfRange`] if either value is out of range.
    pub fn try_params_for(&self, decay: f64, delay: f64) -> Result<Vec<f64>> {
        Ok(vec![
            try_scaled_logit("decay", decay, 0.0, 1.0)?,
            try_scaled_logit("delay", delay, 0.0, self.theta_max())?,
        ])
    }

    fn kernel(&self, params: &[f64]) -> Kernel {
        check_params("delayed", 2, params);
        let (u0, u1) = (params[0], params[1]);
        let l_max = self.max_lag;
        let (ln_a, one_minus_a) = (log_sigmoid(u0), sigmoid(-u0));
        let theta = scaled_sigmoid(u1, 0.0, self.theta_max());
        let dtheta = scaled_sigmoid_deriv(u1, 0.0, self.theta_max());
        let mut s = vec![0.0; l_max];
        let mut ds = vec![0.0; 2 * l_max];
        for l in 0..l_max {
            let d = l as f64 - theta;
            s[l] = d * d * ln_a;
            ds[l] = d * d * one_minus_a;
            ds[l_max + l] = -2.0 * d * ln_a * dtheta;
        }
        Kernel::from_log_weights(&s, &ds, true)
    }
}

impl Adstock for DelayedAdstock {
    fn name(&self) -> &str {
        Self::NAME
    }

    fn n_params(&self) -> usize {
        2
    }

    /// `α = 0.5`, `θ = min(1, (max_lag − 1)/2)`.
    fn default_params(&self) -> Vec<f64> {
        let theta = (self.theta_max() / 2.0).min(1.0);
        self.params_for(0.5, theta)
    }

    fn describe(&self, params: &[f64]) -> Vec<(&'static str, f64)> {
        check_params("delayed", 2, params);
        vec![
            ("decay", sigmoid(params[0])),
            ("delay", scaled_sigmoid(params[1], 0.0, self.theta_max())),
        ]
    }

    fn forward(&self, params: &[f64], x: ArrayView2<f64>, out: ArrayViewMut2<f64>) {
        check_forward_shapes("delayed", &x, &out);
        conv_forward(&self.kernel(params).w, x, out);
    }

    fn vjp(
        &self,
        params: &[f64],
        x: ArrayView2<f64>,
        grad_out: ArrayView2<f64>,
        grad_x: Option<ArrayViewMut2<f64>>,
        grad_params: &mut [f64],
    ) {
        check_vjp_shapes("delayed", &x, &grad_out, &grad_x, 2, grad_params);
        kernel_vjp(&self.kernel(params), x, grad_out, grad_x, grad_params);
    }

    fn lag_weights(&self, params: &[f64], n_lags: usize) -> Vec<f64> {
        self.kernel(params).padded(n_lags)
    }
}

// ---------------------------------------------------------------------------------------------
// Weibull
// ---------------------------------------------------------------------------------------------

/// Weibull-PDF adstock: `w_l ∝ pdf(l + 1; k, λ)`, `l < max_lag`, normalised to sum 1, with
/// shape `k = softplus(u₀)` and scale `λ = softplus(u₁)` in weeks. With `max_lag = 0` the output
/// is identically 0.
///
/// [`Default`] uses `max_lag = 13` (one quarter).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WeibullAdstock {
    /// Number of lags `L` (weeks 0..L−1 carry weight).
    pub max_lag: usize,
}

impl Default for WeibullAdstock {
    fn default() -> Self {
        WeibullAdstock { max_lag: 13 }
    }
}

impl WeibullAdstock {
    /// The name it is registered and stored under ([`crate::TransformRegistry`]).
    pub const NAME: &str = "weibull";

    /// Creates a Weibull adstock with `max_lag` lags.
    pub fn new(max_lag: usize) -> Self {
        WeibullAdstock { max_lag }
    }

    /// Unconstrained parameters for a shape `k > 0` and a scale `λ > 0` (weeks).
    ///
    /// # Panics
    /// If either value is not finite and positive; use [`WeibullAdstock::try_params_for`].
    pub fn params_for(shape: f64, scale: f64) -> Vec<f64> {
        Self::try_params_for(shape, scale)
            .unwrap_or_else(|e| panic!("WeibullAdstock::params_for: {e}"))
    }

    /// Unconstrained parameters for a shape `k > 0` and a scale `λ > 0` (weeks).
    ///
    /// # Errors
    /// [`crate::Error::ParameterOutOfRange`] if either value is not finite and positive.
    pub fn try_params_for(shape: f64, scale: f64) -> Result<Vec<f64>> {
        Ok(vec![
            try_softplus_inv("shape", shape)?,
            try_softplus_inv("scale", scale)?,
        ])
    }

    fn kernel(&self, params: &[f64]) -> Kernel {
        check_params("weibull", 2, params);
        let (u0, u1) = (params[0], params[1]);
        let (k, lam) = (softplus(u0), softplus(u1));
        let (dk, dlam) = (sigmoid(u0), sigmoid(u1));
        let l_max = self.max_lag;
        let mut s = vec![0.0; l_max];
        let mut ds = vec![0.0; 2 * l_max];
        for l in 0..l_max {
            let z = (l as f64 + 1.0) / lam;
            let ln_z = z.ln();
            let zk = (k * ln_z).exp();
            s[l] = (k - 1.0) * ln_z - zk;
            ds[l] = ln_z * (1.0 - zk) * dk;
            ds[l_max + l] = (k * zk - k + 1.0) / lam * dlam;
        }
        Kernel::from_log_weights(&s, &ds, true)
    }
}

impl Adstock for WeibullAdstock {
    fn name(&self) -> &str {
        Self::NAME
    }

    fn n_params(&self) -> usize {
        2
    }

    /// The geometric special case `k = 1`, `e^{−1/λ} = 0.5` (λ = 1/ln 2): a fit started here
    /// learns a delayed peak only when the data ask for it.
    fn default_params(&self) -> Vec<f64> {
        WeibullAdstock::params_for(1.0, 1.0 / std::f64::consts::LN_2)
    }

    fn describe(&self, params: &[f64]) -> Vec<(&'static str, f64)> {
        check_params("weibull", 2, params);
        vec![
            ("shape", softplus(params[0])),
            ("scale", softplus(params[1])),
        ]
    }

    fn forward(&self, params: &[f64], x: ArrayView2<f64>, out: ArrayViewMut2<f64>) {
        check_forward_shapes("weibull", &x, &out);
        conv_forward(&self.kernel(params).w, x, out);
    }

    fn vjp(
        &self,
        params: &[f64],
        x: ArrayView2<f64>,
        grad_out: ArrayView2<f64>,
        grad_x: Option<ArrayViewMut2<f64>>,
        grad_params: &mut [f64],
    ) {
        check_vjp_shapes("weibull", &x, &grad_out, &grad_x, 2, grad_params);
        kernel_vjp(&self.kernel(params), x, grad_out, grad_x, grad_params);
    }

    fn lag_weights(&self, params: &[f64], n_lags: usize) -> Vec<f64> {
        self.kernel(params).padded(n_lags)
    }
}
