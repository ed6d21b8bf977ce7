//! Gradient clipping by the global Euclidean norm.
//!
//! `‖g‖ = √(Σ gᵢ²)` over the whole flat gradient. [`clip_global_norm`] rescales
//! `g ← g · (c / ‖g‖)` when `‖g‖ > c`, which preserves the direction and makes the norm `c`
//! (up to rounding); a gradient with `‖g‖ ≤ c` is left bit-for-bit untouched. A non-finite norm
//! (a NaN or infinite component) is returned as is and the gradient is left untouched, so the
//! caller can detect and skip the step.

/// Euclidean norm of the whole gradient buffer, computed without overflow or underflow for
/// components of extreme magnitude.
pub fn global_norm(grad: &[f64]) -> f64 {
    let sum_sq: f64 = grad.iter().map(|g| g * g).sum();
    if sum_sq.is_finite() && sum_sq > f64::MIN_POSITIVE * 1e10 {
        return sum_sq.sqrt();
    }
    // Rescale by the largest magnitude: handles overflow of g² and underflow of tiny gradients.
    let scale = grad.iter().fold(0.0_f64, |m, g| m.max(g.abs()));
    if scale == 0.0 || !scale.is_finite() {
        return if grad.iter().any(|g| g.is_nan()) {
            f64::NAN
        } else {
            scale
        };
    }
    let scaled: f64 = grad.iter().map(|g| (g / scale) * (g / scale)).sum();
    scale * scaled.sqrt()
}

/// Scales `grad` in place so that its global norm is at most `max_norm`; returns the norm
/// *before* clipping.
///
/// Panics if `max_norm` is not finite and `> 0` (validate it when reading the configuration).
pub fn clip_global_norm(grad: &mut [f64], max_norm: f64) -> f64 {
    assert!(
        max_norm.is_finite() && max_norm > 0.0,
        "clip_global_norm: max_norm must be finite and > 0, got {max_norm}"
    );
    let norm = global_norm(grad);
    if norm.is_finite() && norm > max_norm {
        let factor = max_norm / norm;
        grad.iter_mut().for_each(|g| *g *= factor);
    }
    norm
}
