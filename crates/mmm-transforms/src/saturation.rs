//! Saturation (diminishing-returns) transforms: Hill and logistic.
//!
//! Both act elementwise on a channel's adstocked media. Inputs are expected to be `≥ 0` (scaled
//! media); **negative inputs are treated as 0**: the value is `f(0) = 0` and every gradient
//! (with respect to `x` and to the parameters) is 0, as for `f(max(x, 0))` on the open half-line
//! `x < 0`. NaN inputs propagate as NaN.
//!
//! # Hill
//! `h(x) = xˢ / (xˢ + Kˢ)` with half-saturation `K = softplus(u₀)` and slope `s = softplus(u₁)`.
//! It is evaluated as `h = σ(z)` with `z = s·ln(x/K)`, i.e. through the ratio `r = (x/K)ˢ = eᶻ`,
//! which never overflows (`σ` is stable) and gives `h(K) = ½` exactly. With `q = h(1 − h)`
//! (computed as `σ(z)σ(−z)`, free of cancellation when `h ≈ 1`):
//!
//! ```text
//! ∂h/∂x = q·s/x,   ∂h/∂K = −q·s/K,   ∂h/∂s = q·ln(x/K)
//! ```
//!
//! **Convention at `x = 0`**: `h(0) = 0`, `∂h/∂K = ∂h/∂s = 0` (their limits as `x → 0⁺`). The
//! right derivative `∂h/∂x` is `s xˢ⁻¹/Kˢ → 0` for `s > 1`, `1/K` for `s = 1` and `+∞` for
//! `s < 1`; to keep it finite, `∂h/∂x` is evaluated at `max(x, ε·K)` with
//! [`HILL_X_FLOOR`]` = ε = 10⁻¹²`. This is exact for `x ≥ εK`, gives the right limit (to
//! `O(εˢ⁻¹)`) for `s ≥ 1`, and a large but finite slope for `s < 1`.
//!
//! # Logistic (PyMC-Marketing)
//! `f(x) = (1 − e^{−λx}) / (1 + e^{−λx}) = tanh(λx/2)` with `λ = softplus(u₀)`; with
//! `sech²(y) = 1/cosh²(y)` (which underflows gracefully to 0 rather than cancelling):
//!
//! ```text
//! ∂f/∂x = (λ/2)·sech²(λx/2),   ∂f/∂λ = (x/2)·sech²(λx/2)
//! ```
//!
//! At `x = 0`: `f = 0`, `∂f/∂x = λ/2` (the right derivative), `∂f/∂λ = 0`.
//!
//! Parameter gradients are chained through the softplus maps: `∂K/∂u₀ = σ(u₀)` etc.

use crate::param::{sigmoid, sigmoid_deriv, softplus, softplus_deriv, try_softplus_inv};
use crate::{Result, Saturation};
use ndarray::{ArrayView1, ArrayView2, ArrayViewMut2, ArrayViewMut3, Axis, Zip};

/// Relative floor `ε` under which [`Hill`]'s `∂h/∂x` is evaluated at `ε·K` (see module docs).
pub const HILL_X_FLOOR: f64 = 1e-12;

fn check_params(name: &str, expected: usize, params: &[f64]) {
    assert_eq!(
        params.len(),
        expected,
        "{name} saturation expects {expected} parameter(s), got {}",
        params.len()
    );
}

fn check_partials_shapes(
    name: &str,
    n_params: usize,
    x: &ArrayView2<f64>,
    out: &ArrayViewMut2<f64>,
    d_x: &ArrayViewMut2<f64>,
    d_params: &ArrayViewMut3<f64>,
) {
    let (rows, cols) = x.dim();
    assert!(
        out.dim() == (rows, cols)
            && d_x.dim() == (rows, cols)
            && d_params.dim() == (n_params, rows, cols),
        "{name} saturation: out {:?}, d_x {:?} and d_params {:?} do not fit input {:?}",
        out.dim(),
        d_x.dim(),
        d_params.dim(),
        x.dim()
    );
}

/// Elementwise VJP driver: `parts(x) = (∂f/∂x, [∂f/∂θ_p])` on the NATURAL parameters; the
/// caller chains the returned natural-parameter gradient through the parameter maps.
fn elementwise_vjp<const P: usize>(
    name: &str,
    x: ArrayView2<f64>,
    grad_out: ArrayView2<f64>,
    grad_x: Option<ArrayViewMut2<f64>>,
    parts: impl Fn(f64) -> (f64, [f64; P]),
) -> [f64; P] {
    assert_eq!(
        x.dim(),
        grad_out.dim(),
        "{name} saturation: grad_out shape {:?} differs from input shape {:?}",
        grad_out.dim(),
        x.dim()
    );
    let mut acc = [0.0; P];
    let mut add = |g: f64, dp: [f64; P]| {
        if g != 0.0 {
            for (a, d) in acc.iter_mut().zip(dp) {
                *a += g * d;
            }
        }
    };
    match grad_x {
        Some(mut gx) => {
            assert_eq!(
                x.dim(),
                gx.dim(),
                "{name} saturation: grad_x shape {:?} differs from input shape {:?}",
                gx.dim(),
                x.dim()
            );
            Zip::from(&mut gx)
                .and(&x)
                .and(&grad_out)
                .for_each(|gxi, &xi, &gi| {
                    let (dx, dp) = parts(xi);
                    *gxi += gi * dx;
                    add(gi, dp);
                });
        }
        None => Zip::from(&x)
            .and(&grad_out)
            .for_each(|&xi, &gi| add(gi, parts(xi).1)),
    }
    acc
}

// ---------------------------------------------------------------------------------------------
// Hill
// ---------------------------------------------------------------------------------------------

/// Hill saturation `h(x) = xˢ / (xˢ + Kˢ)`, `K = softplus(u₀)`, `s = softplus(u₁)`; see the
/// [module docs](self) for the stable evaluation and the convention at `x = 0`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Hill;

impl Hill {
    /// The name it is registered and stored under ([`crate::TransformRegistry`]).
    pub const NAME: &str = "hill";

    /// Creates the Hill transform.
    pub fn new() -> Self {
        Hill
    }

    /// Unconstrained parameters for a half-saturation point `K > 0` and a slope `s > 0`.
    ///
    /// # Panics
    /// If either value is not finite and positive; use [`Hill::try_params_for`] for an error.
    pub fn params_for(half_saturation: f64, slope: f64) -> Vec<f64> {
        Self::try_params_for(half_saturation, slope)
            .unwrap_or_else(|e| panic!("Hill::params_for: {e}"))
    }

    /// Unconstrained parameters for a half-saturation point `K > 0` and a slope `s > 0`.
    ///
    /// # Errors
    /// [`crate::Error::ParameterOutOfRange`] if either value is not finite and positive.
    pub fn try_params_for(half_saturation: f64, slope: f64) -> Result<Vec<f64>> {
        Ok(vec![
            try_softplus_inv("half_saturation", half_saturation)?,
            try_softplus_inv("slope", slope)?,
        ])
    }

    /// `h(x)` on natural parameters.
    #[inline]
    fn value(k: f64, s: f64, x: f64) -> f64 {
        if x > 0.0 {
            sigmoid(s * (x / k).ln())
        } else if x.is_nan() {
            f64::NAN
        } else {
            0.0
        }
    }

    /// `(∂h/∂x, [∂h/∂K, ∂h/∂s])` on natural parameters, with the conventions of the module docs.
    #[inline]
    fn parts(k: f64, s: f64, x: f64) -> (f64, [f64; 2]) {
        if x.is_nan() {
            return (f64::NAN, [f64::NAN; 2]);
        }
        if x < 0.0 {
            return (0.0, [0.0; 2]);
        }
        let x_floor = HILL_X_FLOOR * k;
        let dx = if x >= x_floor {
            None
        } else {
            // ∂h/∂x evaluated at the floor εK (see the module docs).
            Some(sigmoid_deriv(s * HILL_X_FLOOR.ln()) * s / x_floor)
        };
        if x == 0.0 {
            return (dx.unwrap_or(0.0), [0.0; 2]);
        }
        let ln_r = (x / k).ln();
        // q = h(1 − h) = σ(z)σ(−z).
        let q = sigmoid_deriv(s * ln_r);
        let dx = dx.unwrap_or(q * s / x);
        if q == 0.0 {
            // Deep in either tail (or x = ∞): avoid 0·∞ in q·ln(x/K).
            return (dx, [0.0; 2]);
        }
        (dx, [-q * s / k, q * ln_r])
    }
}

impl Saturation for Hill {
    fn name(&self) -> &str {
        Self::NAME
    }

    fn n_params(&self) -> usize {
        2
    }

    /// `K = 1`, `s = 1`.
    fn default_params(&self) -> Vec<f64> {
        Hill::params_for(1.0, 1.0)
    }

    fn describe(&self, params: &[f64]) -> Vec<(&'static str, f64)> {
        check_params("hill", 2, params);
        vec![
            ("half_saturation", softplus(params[0])),
            ("slope", softplus(params[1])),
        ]
    }

    fn eval(&self, params: &[f64], x: f64) -> f64 {
        check_params("hill", 2, params);
        Hill::value(softplus(params[0]), softplus(params[1]), x)
    }

    fn derivative(&self, params: &[f64], x: f64) -> f64 {
        check_params("hill", 2, params);
        Hill::parts(softplus(params[0]), softplus(params[1]), x).0
    }

    /// `K = half`, `s = slope`.
    fn params_at_half(&self, half: f64, slope: f64) -> Option<Vec<f64>> {
        Hill::try_params_for(half, slope).ok()
    }

    fn forward(&self, params: &[f64], x: ArrayView2<f64>, mut out: ArrayViewMut2<f64>) {
        check_params("hill", 2, params);
        assert_eq!(
            x.dim(),
            out.dim(),
            "hill saturation: output shape {:?} differs from input shape {:?}",
            out.dim(),
            x.dim()
        );
        let (k, s) = (softplus(params[0]), softplus(params[1]));
        Zip::from(&mut out)
            .and(&x)
            .for_each(|o, &xi| *o = Hill::value(k, s, xi));
    }

    fn vjp(
        &self,
        params: &[f64],
        x: ArrayView2<f64>,
        grad_out: ArrayView2<f64>,
        grad_x: Option<ArrayViewMut2<f64>>,
        grad_params: &mut [f64],
    ) {
        check_params("hill", 2, params);
        check_params("hill (grad_params)", 2, grad_params);
        let (k, s) = (softplus(params[0]), softplus(params[1]));
        let [gk, gs] = elementwise_vjp("hill", x, grad_out, grad_x, |xi| Hill::parts(k, s, xi));
        grad_params[0] += gk * softplus_deriv(params[0]);
        grad_params[1] += gs * softplus_deriv(params[1]);
    }

    /// One pass: `h = σ(z)` and `q = σ(z)σ(−z)` from one `exp` and one `ln` (module docs'
    /// conventions; the same values as [`Saturation::forward`] and [`Saturation::vjp`] up to
    /// rounding, with two divisions per element instead of five).
    fn forward_partials(
        &self,
        params: &[f64],
        x: ArrayView2<f64>,
        mut out: ArrayViewMut2<f64>,
        mut d_x: ArrayViewMut2<f64>,
        mut d_params: ArrayViewMut3<f64>,
    ) {
        check_params("hill", 2, params);
        check_partials_shapes("hill", 2, &x, &out, &d_x, &d_params);
        let (k, s) = (softplus(params[0]), softplus(params[1]));
        let (dk_du, ds_du) = (softplus_deriv(params[0]), softplus_deriv(params[1]));
        let x_floor = HILL_X_FLOOR * k;
        let dx_floor = sigmoid_deriv(s * HILL_X_FLOOR.ln()) * s / x_floor;
        let inv_k = 1.0 / k;
        // ∂h/∂u₀ = −q·s/K · σ(u₀).
        let c_k = -s / k * dk_du;
        // Row by row through contiguous scratch, in three passes so that the `ln`, the `exp`
        // and the divisions of neighbouring elements overlap: ln(x/K), then e = e^{−|z|},
        // then the arithmetic (`dk` and `ds` hold ln(x/K) and e until the last pass).
        let t_len = x.ncols();
        let mut xb = Vec::new();
        let mut buf = vec![0.0; 4 * t_len];
        for r in 0..x.nrows() {
            let xr = x.row(r);
            let xs = match xr.to_slice() {
                Some(xs) => xs,
                None => {
                    xb.clear();
                    xb.extend(xr.iter());
                    &xb[..]
                }
            };
            let (o, rest) = buf.split_at_mut(t_len);
            let (dx, rest) = rest.split_at_mut(t_len);
            let (dk, ds) = rest.split_at_mut(t_len);
            for (ln_r, &xi) in dk.iter_mut().zip(xs) {
                *ln_r = if xi > 0.0 { (xi * inv_k).ln() } else { 0.0 };
            }
            for (e, ln_r) in ds.iter_mut().zip(dk.iter()) {
                *e = (-(s * ln_r).abs()).exp();
            }
            for ((((o, dx), dk), ds), &xi) in o
                .iter_mut()
                .zip(dx.iter_mut())
                .zip(dk.iter_mut())
                .zip(ds.iter_mut())
                .zip(xs)
            {
                if xi.is_nan() || xi <= 0.0 {
                    // 0 and negative inputs (module docs), NaN propagates.
                    let (v, d) = if xi.is_nan() {
                        (f64::NAN, f64::NAN)
                    } else if xi < 0.0 {
                        (0.0, 0.0)
                    } else {
                        (0.0, dx_floor)
                    };
                    (*o, *dx, *dk, *ds) = (v, d, v, v);
                    continue;
                }
                let (ln_r, e) = (*dk, *ds);
                let z = s * ln_r;
                // σ(|z|) = 1/(1 + e), σ(−|z|) = e/(1 + e); no branch.
                let big = 1.0 / (1.0 + e);
                let small = e * big;
                *o = if z >= 0.0 { big } else { small };
                let q = big * small;
                *dx = if xi >= x_floor { q * s / xi } else { dx_floor };
                // Deep in either tail (or x = ∞) q = 0: avoid 0·∞ in q·ln(x/K).
                (*dk, *ds) = if q == 0.0 {
                    (0.0, 0.0)
                } else {
                    (q * c_k, q * ln_r * ds_du)
                };
            }
            out.row_mut(r).assign(&ArrayView1::from(&*o));
            d_x.row_mut(r).assign(&ArrayView1::from(&*dx));
            d_params
                .slice_mut(ndarray::s![0, r, ..])
                .assign(&ArrayView1::from(&*dk));
            d_params
                .slice_mut(ndarray::s![1, r, ..])
                .assign(&ArrayView1::from(&*ds));
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Logistic
// ---------------------------------------------------------------------------------------------

/// Logistic saturation (PyMC-Marketing) `f(x) = (1 − e^{−λx})/(1 + e^{−λx}) = tanh(λx/2)`,
/// `λ = softplus(u₀)`; bounded in `[0, 1)` for `x ≥ 0`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Logistic;

impl Logistic {
    /// The name it is registered and stored under ([`crate::TransformRegistry`]).
    pub const NAME: &str = "logistic";

    /// Creates the logistic transform.
    pub fn new() -> Self {
        Logistic
    }

    /// Unconstrained parameters for a steepness `λ > 0`.
    ///
    /// # Panics
    /// If `lambda` is not finite and positive; use [`Logistic::try_params_for`] for an error.
    pub fn params_for(lambda: f64) -> Vec<f64> {
        Self::try_params_for(lambda).unwrap_or_else(|e| panic!("Logistic::params_for: {e}"))
    }

    /// Unconstrained parameters for a steepness `λ > 0`.
    ///
    /// # Errors
    /// [`crate::Error::ParameterOutOfRange`] if `lambda` is not finite and positive.
    pub fn try_params_for(lambda: f64) -> Result<Vec<f64>> {
        Ok(vec![try_softplus_inv("lambda", lambda)?])
    }

    #[inline]
    fn value(lam: f64, x: f64) -> f64 {
        if x > 0.0 {
            (0.5 * lam * x).tanh()
        } else if x.is_nan() {
            f64::NAN
        } else {
            0.0
        }
    }

    /// `(∂f/∂x, [∂f/∂λ])` on the natural parameter.
    #[inline]
    fn parts(lam: f64, x: f64) -> (f64, [f64; 1]) {
        if x.is_nan() {
            return (f64::NAN, [f64::NAN]);
        }
        if x < 0.0 {
            return (0.0, [0.0]);
        }
        let c = (0.5 * lam * x).cosh();
        let sech2 = 1.0 / (c * c);
        (0.5 * lam * sech2, [0.5 * x * sech2])
    }
}

impl Saturation for Logistic {
    fn name(&self) -> &str {
        Self::NAME
    }

    fn n_params(&self) -> usize {
        1
    }

    /// `λ = 1`.
    fn default_params(&self) -> Vec<f64> {
        Logistic::params_for(1.0)
    }

    fn describe(&self, params: &[f64]) -> Vec<(&'static str, f64)> {
        check_params("logistic", 1, params);
        vec![("lambda", softplus(params[0]))]
    }

    fn eval(&self, params: &[f64], x: f64) -> f64 {
        check_params("logistic", 1, params);
        Logistic::value(softplus(params[0]), x)
    }

    fn derivative(&self, params: &[f64], x: f64) -> f64 {
        check_params("logistic", 1, params);
        Logistic::parts(softplus(params[0]), x).0
    }

    /// `tanh(λ·half/2) = ½`: `λ = 2·atanh(½)/half` (one parameter: `slope` is not used).
    fn params_at_half(&self, half: f64, _slope: f64) -> Option<Vec<f64>> {
        Logistic::try_params_for(2.0 * 0.5f64.atanh() / half).ok()
    }

    fn forward(&self, params: &[f64], x: ArrayView2<f64>, mut out: ArrayViewMut2<f64>) {
        check_params("logistic", 1, params);
        assert_eq!(
            x.dim(),
            out.dim(),
            "logistic saturation: output shape {:?} differs from input shape {:?}",
            out.dim(),
            x.dim()
        );
        let lam = softplus(params[0]);
        Zip::from(&mut out)
            .and(&x)
            .for_each(|o, &xi| *o = Logistic::value(lam, xi));
    }

    fn vjp(
        &self,
        params: &[f64],
        x: ArrayView2<f64>,
        grad_out: ArrayView2<f64>,
        grad_x: Option<ArrayViewMut2<f64>>,
        grad_params: &mut [f64],
    ) {
        check_params("logistic", 1, params);
        check_params("logistic (grad_params)", 1, grad_params);
        let lam = softplus(params[0]);
        let [gl] = elementwise_vjp("logistic", x, grad_out, grad_x, |xi| {
            Logistic::parts(lam, xi)
        });
        grad_params[0] += gl * softplus_deriv(params[0]);
    }

    fn forward_partials(
        &self,
        params: &[f64],
        x: ArrayView2<f64>,
        out: ArrayViewMut2<f64>,
        d_x: ArrayViewMut2<f64>,
        mut d_params: ArrayViewMut3<f64>,
    ) {
        check_params("logistic", 1, params);
        check_partials_shapes("logistic", 1, &x, &out, &d_x, &d_params);
        let lam = softplus(params[0]);
        let dl_du = softplus_deriv(params[0]);
        Zip::from(out)
            .and(d_x)
            .and(d_params.index_axis_mut(Axis(0), 0))
            .and(&x)
            .for_each(|o, dx, dl, &xi| {
                *o = Logistic::value(lam, xi);
                let (d, [p]) = Logistic::parts(lam, xi);
                *dx = d;
                *dl = p * dl_du;
            });
    }
}
