//! Shared test helpers for the dcmmm workspace.
//!
//! The one thing every numeric crate needs in its tests is a trustworthy finite-difference
//! gradient checker. It lives here once so that every hand-written gradient (adstock, Hill,
//! GRU backprop through time, h(W), losses, the whole model) is checked the same way.
//!
//! The derivative is estimated with the fourth-order central stencil
//!
//! ```text
//! f'(x) ≈ (−f(x+2h) + 8 f(x+h) − 8 f(x−h) + f(x−2h)) / (12 h)
//! ```
//!
//! whose truncation error is O(h⁴). With the default step `h = 1e-3 · max(1, |x|)` both the
//! truncation and the rounding error stay far below the 1e-6 relative tolerance the project
//! asks of f64 gradients, for functions of moderate curvature.
//!
//! Except on coordinates whose derivative is tiny next to `f / h`: there the stencil cannot
//! resolve more than its rounding error,
//!
//! ```text
//! noise_i = ε_f · (|f(x+2h)| + 8|f(x+h)| + 8|f(x−h)| + |f(x−2h)|) / (12 h),   ε_f = 16 ε_mach
//! ```
//!
//! (each value of `f` taken as accurate to 16 units in the last place, which covers the
//! accumulated rounding of a log-determinant or a matrix exponential). The checker does not count
//! that much of `|analytic − numeric|` as error. It only matters where the tolerance asks for
//! less than the rounding: a DAGMA gradient entry of 1.6e-7 beside entries of 0.39, the function
//! itself at 0.29, differed from the stencil by 4e-13 with step 1e-3 and by 1e-14 with step 1e-2 —
//! rounding, not a wrong derivative. On every other coordinate `noise_i` is orders of magnitude
//! below `tol · |g_i|`, so a wrong gradient is still caught (tests).

/// Result of comparing an analytic gradient with a finite-difference estimate.
#[derive(Debug, Clone)]
pub struct GradCheck {
    /// Finite-difference estimate of the gradient.
    pub numeric: Vec<f64>,
    /// The stencil's rounding error per coordinate (`noise_i` in the module docs).
    pub noise: Vec<f64>,
    /// Largest relative error over all coordinates: [`relative_error`] of the analytic value and
    /// the numeric one moved toward it by at most `noise_i`.
    pub max_rel_error: f64,
    /// Coordinate at which the largest relative error occurs.
    pub worst_index: usize,
}

/// Relative error between an analytic value `a` and a numeric value `n`.
///
/// `|a − n| / max(|a|, |n|, floor)`. The `floor` keeps coordinates whose true derivative is
/// zero from producing 0/0; callers pass a floor tied to the gradient's overall scale.
pub fn relative_error(a: f64, n: f64, floor: f64) -> f64 {
    let denom = a.abs().max(n.abs()).max(floor);
    if denom == 0.0 {
        0.0
    } else {
        (a - n).abs() / denom
    }
}

/// Relative accuracy assumed of each value of the function being differentiated.
const F_ACCURACY: f64 = 16.0 * f64::EPSILON;

/// Fourth-order central-difference gradient of a scalar function at `x`.
///
/// The step for coordinate `i` is `h · max(1, |x_i|)`.
pub fn numeric_gradient(f: impl FnMut(&[f64]) -> f64, x: &[f64], h: f64) -> Vec<f64> {
    stencil(f, x, h).into_iter().map(|(g, _)| g).collect()
}

/// [`numeric_gradient`] with each coordinate's rounding error (`noise_i`, module docs).
fn stencil(mut f: impl FnMut(&[f64]) -> f64, x: &[f64], h: f64) -> Vec<(f64, f64)> {
    let mut xp = x.to_vec();
    (0..x.len())
        .map(|i| {
            let step = h * x[i].abs().max(1.0);
            let mut at = |delta: f64| {
                xp[i] = x[i] + delta;
                let v = f(&xp);
                xp[i] = x[i];
                v
            };
            let f2p = at(2.0 * step);
            let f1p = at(step);
            let f1m = at(-step);
            let f2m = at(-2.0 * step);
            let magnitude = f2p.abs() + 8.0 * f1p.abs() + 8.0 * f1m.abs() + f2m.abs();
            (
                (-f2p + 8.0 * f1p - 8.0 * f1m + f2m) / (12.0 * step),
                F_ACCURACY * magnitude / (12.0 * step),
            )
        })
        .collect()
}

/// Compares `analytic` with the finite-difference gradient of `f` at `x`.
///
/// Coordinates are compared with [`relative_error`] using a floor of `1e-6 · max_i |g_i|`
/// (and at least `1e-12`), so that coordinates with a vanishing derivative are judged on the
/// gradient's own scale rather than on 0/0; up to the stencil's rounding error `noise_i` of a
/// difference is not counted (module docs).
pub fn check_gradient(
    f: impl FnMut(&[f64]) -> f64,
    x: &[f64],
    analytic: &[f64],
    h: f64,
) -> GradCheck {
    assert_eq!(
        x.len(),
        analytic.len(),
        "gradient length must match the parameter length"
    );
    let (numeric, noise): (Vec<f64>, Vec<f64>) = stencil(f, x, h).into_iter().unzip();
    let scale = analytic
        .iter()
        .chain(&numeric)
        .fold(0.0_f64, |m, v| m.max(v.abs()));
    let floor = (1e-6 * scale).max(1e-12);
    let (worst_index, max_rel_error) = analytic
        .iter()
        .zip(&numeric)
        .zip(&noise)
        .map(|((&a, &n), &e)| {
            // The numeric value moved toward the analytic one by at most its rounding error.
            let n_near = n + (a - n).clamp(-e, e);
            relative_error(a, n_near, floor)
        })
        .enumerate()
        .fold(
            (0, 0.0),
            |best, (i, e)| if e > best.1 { (i, e) } else { best },
        );
    GradCheck {
        numeric,
        noise,
        max_rel_error,
        worst_index,
    }
}

/// Asserts that `analytic` matches the finite-difference gradient of `f` to `tol` relative error.
///
/// Uses the default step `1e-3`. Panics with the worst coordinate, both values and the error.
#[track_caller]
pub fn assert_gradient(f: impl FnMut(&[f64]) -> f64, x: &[f64], analytic: &[f64], tol: f64) {
    let check = check_gradient(f, x, analytic, 1e-3);
    let i = check.worst_index;
    assert!(
        check.max_rel_error <= tol,
        "gradient mismatch at coordinate {i}: analytic {:.12e}, numeric {:.12e}, relative error {:.3e} > {tol:.1e}",
        analytic[i],
        check.numeric[i],
        check.max_rel_error
    );
}

/// A deterministic pseudo-random vector in `[lo, hi)` from a 64-bit seed (SplitMix64).
///
/// Test inputs need to be reproducible without pulling a random-number crate into every
/// test; SplitMix64 is a few lines and statistically good enough for that.
pub fn seeded_uniform(seed: u64, n: usize, lo: f64, hi: f64) -> Vec<f64> {
    let mut state = seed;
    (0..n)
        .map(|_| {
            state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^= z >> 31;
            let u = (z >> 11) as f64 / (1u64 << 53) as f64;
            lo + (hi - lo) * u
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_a_correct_gradient() {
        let f = |x: &[f64]| x[0].sin() * x[1].exp() + x[2].powi(3);
        let x: [f64; 3] = [0.3, -0.7, 1.9];
        let g = [
            x[0].cos() * x[1].exp(),
            x[0].sin() * x[1].exp(),
            3.0 * x[2] * x[2],
        ];
        let check = check_gradient(f, &x, &g, 1e-3);
        assert!(check.max_rel_error < 1e-9, "{check:?}");
    }

    #[test]
    fn rejects_a_wrong_gradient() {
        let f = |x: &[f64]| x[0] * x[0] + x[1];
        let x = [2.0, 1.0];
        let wrong = [4.0 * 1.0001, 1.0];
        let check = check_gradient(f, &x, &wrong, 1e-3);
        assert_eq!(check.worst_index, 0);
        assert!(check.max_rel_error > 5e-5);
    }

    /// A derivative far below `f / h`: the stencil is limited by rounding there, and the check
    /// must neither fail a correct gradient nor pass a wrong one on the other coordinates.
    #[test]
    fn rounding_limited_coordinates_are_judged_on_what_the_stencil_resolves() {
        // f ≈ 1e4, so with step 1e-3 each coordinate's stencil carries ~5e-8 of rounding; the
        // first derivative is 2e-7, below the floor (1e-6 of the largest, 2.0).
        let f = |x: &[f64]| 1e4 + x[0] * x[0] + x[1] * x[1];
        let x = [1e-7, 1.0];
        let g = [2e-7, 2.0];
        let check = check_gradient(f, &x, &g, 1e-3);
        assert!(check.noise[0] > 1e-10 && check.noise[0] < 1e-7, "{check:?}");
        assert!(check.max_rel_error < 1e-6, "{check:?}");
        // A 1e-5 relative mistake on the resolvable coordinate is still caught.
        let wrong = [2e-7, 2.0 * (1.0 + 1e-5)];
        let check = check_gradient(f, &x, &wrong, 1e-3);
        assert_eq!(check.worst_index, 1);
        assert!(check.max_rel_error > 5e-6, "{check:?}");
        // Without the offset the same coordinate is resolved and a wrong tiny value fails.
        let f = |x: &[f64]| x[0] * x[0] + x[1] * x[1];
        let check = check_gradient(f, &x, &[2e-7 + 1e-9, 2.0], 1e-3);
        assert!(check.max_rel_error > 1e-4, "{check:?}");
    }

    #[test]
    fn seeded_uniform_is_reproducible_and_in_range() {
        let a = seeded_uniform(7, 1000, -2.0, 3.0);
        assert_eq!(a, seeded_uniform(7, 1000, -2.0, 3.0));
        assert_ne!(a, seeded_uniform(8, 1000, -2.0, 3.0));
        assert!(a.iter().all(|v| (-2.0..3.0).contains(v)));
        let mean = a.iter().sum::<f64>() / a.len() as f64;
        assert!((mean - 0.5).abs() < 0.15, "mean {mean}");
    }
}
