//! Adstock (carryover) and saturation (diminishing-returns) transforms for marketing-mix models,
//! each with a forward pass and a hand-written vector-Jacobian product (VJP) with respect to both
//! its input and its parameters.
//!
//! * [`Adstock`]: a per-channel linear filter over time on a `(regions × weeks)` array —
//!   [`GeometricAdstock`] (exact O(T) recursion or truncated kernel), [`DelayedAdstock`]
//!   (Jin et al. 2017) and [`WeibullAdstock`].
//! * [`Saturation`]: an elementwise concave response — [`Hill`] and [`Logistic`].
//! * [`TransformRegistry`]: the transforms a model configuration may name — the built-ins plus
//!   user implementations of the traits.
//! * [`param`]: the maps between unconstrained optimiser parameters and natural parameters.
//!
//! Parameters are always passed on the **unconstrained** scale (a `&[f64]` of length
//! `n_params()`), so optimisers can move freely; `params_for` constructors convert natural values
//! (e.g. a decay of 0.6) and `describe` converts back for reports. The formulas and gradient
//! derivations are in the module docs of [`adstock`] and [`saturation`] and in
//! `docs/numeric-core/transforms.md`.
//!
//! `vjp` **accumulates** (`+=`) into `grad_x` and `grad_params`, so the model can sum the
//! contributions of several uses of one transform without temporary buffers. Shape mismatches
//! and wrong parameter counts are programming errors and panic with a clear message.
//!
//! # Plugging in a custom transform
//!
//! Implement the trait and use it anywhere a `&dyn Adstock` / `&dyn Saturation` is expected; to
//! fit, save and reload models that name it, register it in a [`TransformRegistry`]
//! (`cargo run --release --example custom_transform` goes through every step).
//! Below: an adstock with no carryover (`out = x`) and a Michaelis–Menten saturation
//! `x/(x + K)` with `K = softplus(u)`.
//!
//! ```
//! use mmm_transforms::{param, Adstock, Saturation};
//! use ndarray::{array, Array2, ArrayView2, ArrayViewMut2, Zip};
//!
//! #[derive(Debug)]
//! struct NoCarryover;
//!
//! impl Adstock for NoCarryover {
//!     fn name(&self) -> &str { "none" }
//!     fn n_params(&self) -> usize { 0 }
//!     fn default_params(&self) -> Vec<f64> { vec![] }
//!     fn describe(&self, _: &[f64]) -> Vec<(&'static str, f64)> { vec![] }
//!     fn forward(&self, _: &[f64], x: ArrayView2<f64>, mut out: ArrayViewMut2<f64>) {
//!         out.assign(&x);
//!     }
//!     fn vjp(&self, _: &[f64], _x: ArrayView2<f64>, grad_out: ArrayView2<f64>,
//!            grad_x: Option<ArrayViewMut2<f64>>, _grad_params: &mut [f64]) {
//!         if let Some(mut gx) = grad_x { gx += &grad_out; }
//!     }
//!     fn lag_weights(&self, _: &[f64], n_lags: usize) -> Vec<f64> {
//!         (0..n_lags).map(|l| if l == 0 { 1.0 } else { 0.0 }).collect()
//!     }
//! }
//!
//! #[derive(Debug)]
//! struct MichaelisMenten;
//!
//! impl Saturation for MichaelisMenten {
//!     fn name(&self) -> &str { "michaelis-menten" }
//!     fn n_params(&self) -> usize { 1 }
//!     fn default_params(&self) -> Vec<f64> { vec![param::softplus_inv(1.0)] }
//!     fn describe(&self, p: &[f64]) -> Vec<(&'static str, f64)> {
//!         vec![("half_saturation", param::softplus(p[0]))]
//!     }
//!     fn eval(&self, p: &[f64], x: f64) -> f64 {
//!         let x = x.max(0.0);
//!         x / (x + param::softplus(p[0]))
//!     }
//!     fn derivative(&self, p: &[f64], x: f64) -> f64 {
//!         if x < 0.0 { return 0.0; }
//!         let k = param::softplus(p[0]);
//!         k / ((x + k) * (x + k))
//!     }
//!     fn forward(&self, p: &[f64], x: ArrayView2<f64>, mut out: ArrayViewMut2<f64>) {
//!         Zip::from(&mut out).and(&x).for_each(|o, &xi| *o = self.eval(p, xi));
//!     }
//!     fn vjp(&self, p: &[f64], x: ArrayView2<f64>, grad_out: ArrayView2<f64>,
//!            grad_x: Option<ArrayViewMut2<f64>>, grad_params: &mut [f64]) {
//!         let k = param::softplus(p[0]);
//!         // ∂/∂K [x/(x+K)] = −x/(x+K)²; chain through K = softplus(u): dK/du = σ(u).
//!         let dk: f64 = Zip::from(&x).and(&grad_out).fold(0.0, |acc, &xi, &g| {
//!             let xi = xi.max(0.0);
//!             acc - g * xi / ((xi + k) * (xi + k))
//!         });
//!         grad_params[0] += dk * param::softplus_deriv(p[0]);
//!         if let Some(mut gx) = grad_x {
//!             Zip::from(&mut gx).and(&x).and(&grad_out)
//!                 .for_each(|gxi, &xi, &g| *gxi += g * self.derivative(p, xi));
//!         }
//!     }
//! }
//!
//! // Use them through trait objects, exactly as the model does.
//! let adstock: &dyn Adstock = &NoCarryover;
//! let saturation: &dyn Saturation = &MichaelisMenten;
//! let x = array![[0.0, 1.0, 3.0]];
//! let mut a = Array2::zeros(x.dim());
//! let mut y = Array2::zeros(x.dim());
//! adstock.forward(&adstock.default_params(), x.view(), a.view_mut());
//! saturation.forward(&saturation.default_params(), a.view(), y.view_mut());
//! assert_eq!(y, array![[0.0, 0.5, 0.75]]);
//! ```

pub mod adstock;
pub mod param;
pub mod registry;
pub mod saturation;

pub use adstock::{DelayedAdstock, GeometricAdstock, WeibullAdstock};
pub use registry::{AdstockFactory, SaturationFactory, TransformRegistry};
pub use saturation::{HILL_X_FLOOR, Hill, Logistic};

use ndarray::{ArrayView2, ArrayViewMut2, ArrayViewMut3};

/// Errors of this crate: invalid natural parameter values given by a user.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A natural parameter is outside its admissible domain.
    #[error("parameter `{name}` = {value} is outside its domain {domain}")]
    ParameterOutOfRange {
        /// Parameter name (as in `describe`).
        name: &'static str,
        /// The offending value.
        value: f64,
        /// The admissible domain, e.g. `[0, 1]` or `(0, ∞)`.
        domain: String,
    },
    /// No transform of this kind is registered under the name.
    #[error("unknown {kind} `{name}` (registered: {known})")]
    UnknownTransform {
        /// `"adstock"` or `"saturation"`.
        kind: &'static str,
        /// The name asked for.
        name: String,
        /// The registered names of that kind, comma-separated.
        known: String,
    },
    /// A transform of this kind is already registered under the name.
    #[error("{kind} `{name}` is already registered")]
    DuplicateTransform {
        /// `"adstock"` or `"saturation"`.
        kind: &'static str,
        /// The name.
        name: String,
    },
    /// A transform was registered under another name than the one it reports (`name()`), which
    /// is what a saved model stores.
    #[error("{kind} registered as `{name}` reports the name `{reported}`")]
    TransformName {
        /// `"adstock"` or `"saturation"`.
        kind: &'static str,
        /// The name it was registered under.
        name: String,
        /// The name the transform reports.
        reported: String,
    },
}

/// Result alias of this crate.
pub type Result<T> = std::result::Result<T, Error>;

/// Carryover transform for one channel over a `(regions × weeks)` array; weeks run forward in
/// time (column `t` is week `t`, earlier weeks to the left).
pub trait Adstock: Send + Sync + std::fmt::Debug {
    /// Short identifier, e.g. `"geometric"`.
    fn name(&self) -> &str;
    /// Number of unconstrained parameters.
    fn n_params(&self) -> usize;
    /// Unconstrained parameters of a sensible default.
    fn default_params(&self) -> Vec<f64>;
    /// Natural (constrained) parameter names and values for reports, e.g. `[("decay", 0.6)]`.
    fn describe(&self, params: &[f64]) -> Vec<(&'static str, f64)>;
    /// `out[r,t] = Σ_l w_l(θ) x[r,t−l]` (`out` is overwritten).
    fn forward(&self, params: &[f64], x: ArrayView2<f64>, out: ArrayViewMut2<f64>);
    /// Vector-Jacobian product: given `g = ∂L/∂out`, ACCUMULATE (`+=`) `∂L/∂x` into `grad_x`
    /// (if `Some`) and `∂L/∂θ` (unconstrained) into `grad_params`.
    fn vjp(
        &self,
        params: &[f64],
        x: ArrayView2<f64>,
        grad_out: ArrayView2<f64>,
        grad_x: Option<ArrayViewMut2<f64>>,
        grad_params: &mut [f64],
    );
    /// Lag weights `w_0..w_{n−1}` (reports, and the simulator's ground truth); zero beyond the
    /// transform's own maximum lag.
    fn lag_weights(&self, params: &[f64], n_lags: usize) -> Vec<f64>;
}

/// Elementwise diminishing-returns transform for one channel.
pub trait Saturation: Send + Sync + std::fmt::Debug {
    /// Short identifier, e.g. `"hill"`.
    fn name(&self) -> &str;
    /// Number of unconstrained parameters.
    fn n_params(&self) -> usize;
    /// Unconstrained parameters of a sensible default.
    fn default_params(&self) -> Vec<f64>;
    /// Natural (constrained) parameter names and values for reports.
    fn describe(&self, params: &[f64]) -> Vec<(&'static str, f64)>;
    /// Scalar value `f(x)`.
    fn eval(&self, params: &[f64], x: f64) -> f64;
    /// Scalar derivative `df/dx` (marginal ROI, response curves).
    fn derivative(&self, params: &[f64], x: f64) -> f64;
    /// Unconstrained parameters of the curve that reaches half of its maximum at `half` (> 0),
    /// with steepness `slope` (> 0) where the family has a shape parameter (Hill's `s`;
    /// one-parameter families ignore it). The simulator draws true curves through it
    /// (`mmm_sim`); `None` (the default) when the family has no such parametrisation, e.g. an
    /// unbounded curve, or the values are out of its range.
    fn params_at_half(&self, half: f64, slope: f64) -> Option<Vec<f64>> {
        let _ = (half, slope);
        None
    }
    /// Elementwise `out = f(x)` (`out` is overwritten).
    fn forward(&self, params: &[f64], x: ArrayView2<f64>, out: ArrayViewMut2<f64>);
    /// Vector-Jacobian product: given `g = ∂L/∂out`, ACCUMULATE (`+=`) `∂L/∂x` into `grad_x`
    /// (if `Some`) and `∂L/∂θ` (unconstrained) into `grad_params`.
    fn vjp(
        &self,
        params: &[f64],
        x: ArrayView2<f64>,
        grad_out: ArrayView2<f64>,
        grad_x: Option<ArrayViewMut2<f64>>,
        grad_params: &mut [f64],
    );
    /// Elementwise `out = f(x)` together with the local derivatives at every element:
    /// `d_x = ∂f/∂x` and `d_params[p] = ∂f/∂u_p` (unconstrained parameters), `d_params` of shape
    /// `(n_params, rows, cols)`. The VJP of any cotangent `g` at these parameters is then
    /// `g ⊙ d_x` and `Σ g ⊙ d_params[p]`, without evaluating the curve again (the posterior's
    /// gradient, docs/model.md "Posterior"). The default runs [`Saturation::forward`] and then
    /// [`Saturation::vjp`] once per element with a unit cotangent; Hill and logistic override it
    /// with one pass.
    fn forward_partials(
        &self,
        params: &[f64],
        x: ArrayView2<f64>,
        mut out: ArrayViewMut2<f64>,
        mut d_x: ArrayViewMut2<f64>,
        mut d_params: ArrayViewMut3<f64>,
    ) {
        let (rows, cols) = x.dim();
        assert_eq!(d_x.dim(), (rows, cols), "d_x must have the shape of x");
        assert_eq!(
            d_params.dim(),
            (params.len(), rows, cols),
            "d_params must be (n_params, rows, cols)"
        );
        self.forward(params, x, out.view_mut());
        let one = ndarray::Array2::from_elem((1, 1), 1.0);
        let mut gx = ndarray::Array2::zeros((1, 1));
        let mut gp = vec![0.0; params.len()];
        for r in 0..rows {
            for t in 0..cols {
                gx.fill(0.0);
                gp.iter_mut().for_each(|g| *g = 0.0);
                let xi = x.slice(ndarray::s![r..=r, t..=t]);
                self.vjp(params, xi, one.view(), Some(gx.view_mut()), &mut gp);
                d_x[[r, t]] = gx[[0, 0]];
                for (p, g) in gp.iter().enumerate() {
                    d_params[[p, r, t]] = *g;
                }
            }
        }
    }
}
