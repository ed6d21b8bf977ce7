//! Parameter maps between the unconstrained (optimiser) scale and the natural scale.
//!
//! Every transform stores its parameters as an unconstrained vector `u ∈ ℝᵖ` so that
//! gradient-based optimisers (Adam, L-BFGS) never step outside the valid region. The natural
//! parameter is recovered with one of two maps:
//!
//! | natural range | map | inverse | derivative |
//! |---|---|---|---|
//! | `(0, 1)` — adstock decay `α` | `σ(u) = 1 / (1 + e^{−u})` | `logit(p) = ln p − ln(1 − p)` | `σ(u)·σ(−u)` |
//! | `(lo, hi)` — delay `θ ∈ (0, L−1)` | `lo + (hi − lo)·σ(u)` | `logit((v − lo)/(hi − lo))` | `(hi − lo)·σ(u)·σ(−u)` |
//! | `(0, ∞)` — Hill `K`, `s`; Weibull `k`, `λ`; logistic `λ` | `softplus(u) = ln(1 + eᵘ)` | `softplus⁻¹(y) = y + ln(1 − e^{−y})` | `σ(u)` |
//!
//! Why these maps: the sigmoid is the natural bijection onto a bounded interval and its
//! derivative never vanishes for finite `u`; softplus is preferred over `exp` for positive
//! scale parameters because it grows linearly rather than exponentially for large `u`, so one
//! large optimiser step cannot blow a half-saturation point up by orders of magnitude, while for
//! `u → −∞` it behaves like `eᵘ` and still reaches small values.
//!
//! All functions are written to be stable for large `|u|`:
//! * `σ(u)` branches on the sign so that `e^{…}` is only ever evaluated at a non-positive
//!   argument (no overflow, no `∞/∞`);
//! * `1 − σ(u)` should be computed as `σ(−u)` (no cancellation), and `ln σ(u)` as
//!   [`log_sigmoid`]`(u) = −softplus(−u)`, which stays finite even when `σ(u)` underflows to 0;
//! * `softplus(u) = max(u, 0) + ln1p(e^{−|u|})`;
//! * `softplus⁻¹(y) = y + ln(−expm1(−y))`, exact for small `y` (≈ `ln y`) and large `y` (≈ `y`).

use crate::{Error, Result};

/// Largest magnitude of an unconstrained value produced by the inverse maps of this module when
/// the natural value sits exactly on a bound of its interval (`σ(±40)` is within `4·10⁻¹⁸` of
/// the bound).
pub const UNCONSTRAINED_BOUND: f64 = 40.0;

/// Logistic sigmoid `σ(u) = 1 / (1 + e^{−u})`, stable for any finite `u`.
#[inline]
pub fn sigmoid(u: f64) -> f64 {
    if u >= 0.0 {
        1.0 / (1.0 + (-u).exp())
    } else {
        let e = u.exp();
        e / (1.0 + e)
    }
}

/// Derivative of the sigmoid, `σ'(u) = σ(u)·σ(−u) = e^{−|u|}/(1 + e^{−|u|})²` (one `exp`, no
/// cancellation, no overflow).
#[inline]
pub fn sigmoid_deriv(u: f64) -> f64 {
    let e = (-u.abs()).exp();
    let d = 1.0 + e;
    e / (d * d)
}

/// `ln σ(u) = −softplus(−u)`; finite even where `σ(u)` underflows to zero.
#[inline]
pub fn log_sigmoid(u: f64) -> f64 {
    -softplus(-u)
}

/// Inverse of the sigmoid, `logit(p) = ln p − ln(1 − p)`. Returns `±∞` at `p ∈ {0, 1}` and
/// NaN outside `[0, 1]`.
#[inline]
pub fn logit(p: f64) -> f64 {
    p.ln() - (-p).ln_1p()
}

/// Softplus `ln(1 + eᵘ) = max(u, 0) + ln1p(e^{−|u|})`, stable for any finite `u`.
#[inline]
pub fn softplus(u: f64) -> f64 {
    u.max(0.0) + (-u.abs()).exp().ln_1p()
}

/// Derivative of softplus, which is the sigmoid `σ(u)`.
#[inline]
pub fn softplus_deriv(u: f64) -> f64 {
    sigmoid(u)
}

/// Inverse of softplus, `softplus⁻¹(y) = ln(eʸ − 1) = y + ln(−expm1(−y))` for `y > 0`.
///
/// Returns `−∞` at `y = 0` and NaN for `y < 0`.
#[inline]
pub fn softplus_inv(y: f64) -> f64 {
    y + (-(-y).exp_m1()).ln()
}

/// Scaled sigmoid `lo + (hi − lo)·σ(u)` onto the open interval `(lo, hi)`.
#[inline]
pub fn scaled_sigmoid(u: f64, lo: f64, hi: f64) -> f64 {
    lo + (hi - lo) * sigmoid(u)
}

/// Derivative of [`scaled_sigmoid`] with respect to `u`: `(hi − lo)·σ(u)·σ(−u)`.
#[inline]
pub fn scaled_sigmoid_deriv(u: f64, lo: f64, hi: f64) -> f64 {
    (hi - lo) * sigmoid_deriv(u)
}

/// Validated inverse of [`scaled_sigmoid`] for a natural value in the CLOSED interval
/// `[lo, hi]`; values on a bound map to `∓`[`UNCONSTRAINED_BOUND`]. If `lo == hi` the only
/// admissible value is `lo`, which maps to 0.
///
/// # Errors
/// [`Error::ParameterOutOfRange`] if `value` is not finite or lies outside `[lo, hi]`.
pub fn try_scaled_logit(name: &'static str, value: f64, lo: f64, hi: f64) -> Result<f64> {
    if !value.is_finite() || value < lo || value > hi {
        return Err(Error::ParameterOutOfRange {
            name,
            value,
            domain: format!("[{lo}, {hi}]"),
        });
    }
    if hi <= lo {
        return Ok(0.0);
    }
    let p = (value - lo) / (hi - lo);
    Ok(logit(p).clamp(-UNCONSTRAINED_BOUND, UNCONSTRAINED_BOUND))
}

/// Validated [`softplus_inv`] for a natural value that must be finite and strictly positive.
///
/// # Errors
/// [`Error::ParameterOutOfRange`] if `value` is not finite or not `> 0`.
pub fn try_softplus_inv(name: &'static str, value: f64) -> Result<f64> {
    if !value.is_finite() || value <= 0.0 {
        return Err(Error::ParameterOutOfRange {
            name,
            value,
            domain: "(0, ∞)".to_string(),
        });
    }
    Ok(softplus_inv(value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sigmoid_is_stable_and_inverts() {
        for u in [-800.0, -40.0, -3.0, 0.0, 2.5, 40.0, 800.0] {
            let s = sigmoid(u);
            assert!((0.0..=1.0).contains(&s), "σ({u}) = {s}");
            assert!(log_sigmoid(u).is_finite());
            assert!((sigmoid(u) + sigmoid(-u) - 1.0).abs() < 1e-15);
        }
        for u in [-30.0, -3.0, 0.0, 0.7, 15.0] {
            assert!(
                (logit(sigmoid(u)) - u).abs() < 1e-9 * u.abs().max(1.0),
                "u = {u}"
            );
            assert!((log_sigmoid(u) - sigmoid(u).ln()).abs() < 1e-12);
        }
        assert_eq!(log_sigmoid(-800.0), -800.0);
    }

    #[test]
    fn softplus_is_stable_and_inverts() {
        assert_eq!(softplus(1000.0), 1000.0);
        assert!(softplus(-1000.0) >= 0.0);
        for u in [-30.0, -5.0, -0.3, 0.0, 0.4, 6.0, 50.0] {
            let y = softplus(u);
            assert!(
                (softplus_inv(y) - u).abs() < 1e-9 * u.abs().max(1.0),
                "u = {u}"
            );
        }
        assert!((softplus_inv(1e-300) - 1e-300f64.ln()).abs() < 1e-9);
        assert_eq!(softplus_inv(1e6), 1e6);
    }

    #[test]
    fn derivatives_match_finite_differences() {
        let f = |x: &[f64]| sigmoid(x[0]) + softplus(x[1]) + scaled_sigmoid(x[2], -1.0, 3.0);
        for seed in 0..8 {
            let x = mmm_testkit::seeded_uniform(seed, 3, -6.0, 6.0);
            let g = [
                sigmoid_deriv(x[0]),
                softplus_deriv(x[1]),
                scaled_sigmoid_deriv(x[2], -1.0, 3.0),
            ];
            mmm_testkit::assert_gradient(f, &x, &g, 1e-6);
        }
    }

    #[test]
    fn validated_inverses_reject_out_of_range() {
        assert!(try_softplus_inv("k", 0.0).is_err());
        assert!(try_softplus_inv("k", f64::NAN).is_err());
        assert!(try_scaled_logit("d", 1.5, 0.0, 1.0).is_err());
        assert_eq!(
            try_scaled_logit("d", 0.0, 0.0, 1.0).unwrap(),
            -UNCONSTRAINED_BOUND
        );
        assert_eq!(
            try_scaled_logit("d", 1.0, 0.0, 1.0).unwrap(),
            UNCONSTRAINED_BOUND
        );
        assert_eq!(try_scaled_logit("d", 0.0, 0.0, 0.0).unwrap(), 0.0);
        let u = try_scaled_logit("d", 2.0, 0.0, 5.0).unwrap();
        assert!((scaled_sigmoid(u, 0.0, 5.0) - 2.0).abs() < 1e-12);
    }
}
