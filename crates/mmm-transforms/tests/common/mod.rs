//! Shared helpers for the integration tests: finite-difference checks of any `Adstock` /
//! `Saturation` VJP through trait objects, and the edge-size shape strategy.

#![allow(dead_code)]

use mmm_testkit::{check_gradient, relative_error, seeded_uniform};
use mmm_transforms::{Adstock, Saturation};
use ndarray::{Array2, ArrayView2, ArrayViewMut2};
use proptest::prelude::*;

/// Relative-error tolerance of every gradient check (project standard for f64).
pub const TOL: f64 = 1e-6;

/// Edge sizes: 1×1, 1×T, R×1 and 3×40.
pub fn edge_shape() -> impl Strategy<Value = (usize, usize)> {
    prop_oneof![
        Just((1, 1)),
        (2usize..60).prop_map(|t| (1, t)),
        (2usize..7).prop_map(|r| (r, 1)),
        Just((3, 40)),
    ]
}

/// A seeded `(r × t)` array with entries in `[lo, hi)`.
pub fn seeded_array(seed: u64, r: usize, t: usize, lo: f64, hi: f64) -> Array2<f64> {
    Array2::from_shape_vec((r, t), seeded_uniform(seed, r * t, lo, hi)).unwrap()
}

/// Saturation inputs: mostly in `[0.2, 3.2)`, about 15 % negative (≤ −0.2) to exercise the
/// "negative treated as 0" branch; all at least 0.2 away from the kink at 0 so that the
/// finite-difference stencil never straddles it.
pub fn saturation_inputs(seed: u64, r: usize, t: usize) -> Array2<f64> {
    seeded_array(seed, r, t, 0.0, 1.0).mapv(|u| if u < 0.15 { -(0.2 + u) } else { 0.2 + 3.0 * u })
}

type Forward<'a> = dyn Fn(&[f64], ArrayView2<f64>, ArrayViewMut2<f64>) + 'a;
type Vjp<'a> =
    dyn Fn(&[f64], ArrayView2<f64>, ArrayView2<f64>, Option<ArrayViewMut2<f64>>, &mut [f64]) + 'a;

/// Checks a VJP against central differences of `L(x, u) = Σ g ∘ (forward(u, x) − out₀)` with
/// respect to both `x` and `u`, and that the VJP accumulates into pre-filled buffers and gives
/// the same parameter gradient without `grad_x`.
///
/// Subtracting the constant `out₀ = forward(u₀, x₀)` leaves the gradient unchanged but makes the
/// sum's rounding scale with the CHANGE of the output instead of its size (entries a perturbation
/// does not reach contribute exactly 0). `x_step` is the stencil step for the `x`-gradient: an
/// adstock is linear in `x`, so the stencil is exact for any step and a large one minimises
/// round-off; saturations use the default `1e-3`.
fn check_vjp(
    forward: &Forward,
    vjp: &Vjp,
    params: &[f64],
    x: &Array2<f64>,
    seed: u64,
    x_step: f64,
) {
    let (r, t) = x.dim();
    let g = seeded_array(seed ^ 0xA5A5, r, t, -1.0, 1.0);
    let mut out0 = Array2::from_elem((r, t), f64::NAN);
    forward(params, x.view(), out0.view_mut());
    let loss = |u: &[f64], x: ArrayView2<f64>| {
        let mut out = Array2::from_elem((r, t), f64::NAN);
        forward(u, x, out.view_mut());
        ((&out - &out0) * &g).sum()
    };

    let mut gx = Array2::zeros((r, t));
    let mut gp = vec![0.0; params.len()];
    vjp(params, x.view(), g.view(), Some(gx.view_mut()), &mut gp);
    assert!(
        gx.iter().chain(&gp).all(|v| v.is_finite()),
        "non-finite gradient"
    );

    // Pre-filled buffers: the VJP must add to them, not overwrite them.
    let gx0 = seeded_array(seed ^ 0x5A5A, r, t, -1.0, 1.0);
    let gp0 = seeded_uniform(seed ^ 0x3C3C, params.len(), -1.0, 1.0);
    let (mut gx_acc, mut gp_acc) = (gx0.clone(), gp0.clone());
    vjp(
        params,
        x.view(),
        g.view(),
        Some(gx_acc.view_mut()),
        &mut gp_acc,
    );
    let expected = gx0
        .iter()
        .zip(&gx)
        .chain(gp0.iter().zip(&gp))
        .map(|(a, b)| a + b);
    for (got, want) in gx_acc.iter().chain(&gp_acc).zip(expected) {
        assert!(
            (got - want).abs() <= 1e-14 * want.abs().max(1.0),
            "VJP does not accumulate: {got} vs {want}"
        );
    }

    let loss_scale = (&out0 * &g).sum().abs().max(1.0);
    let x_flat: Vec<f64> = x.iter().copied().collect();
    let gx_analytic: Vec<f64> = gx.iter().copied().collect();
    assert_gradient_exact_zeros(
        |xv| loss(params, ArrayView2::from_shape((r, t), xv).unwrap()),
        &x_flat,
        &gx_analytic,
        loss_scale,
        x_step,
    );
    let gp_analytic = gp;
    if !params.is_empty() {
        assert_gradient_exact_zeros(
            |u| loss(u, x.view()),
            params,
            &gp_analytic,
            loss_scale,
            1e-3,
        );
    }

    // Without grad_x the parameter gradient is unchanged.
    let mut gp_only = vec![0.0; params.len()];
    vjp(params, x.view(), g.view(), None, &mut gp_only);
    for (a, b) in gp_only.iter().zip(&gp_analytic) {
        assert!(
            (a - b).abs() <= 1e-12 * a.abs().max(1.0),
            "grad_params differ without grad_x: {a} vs {b}"
        );
    }
}

/// Like `mmm_testkit::assert_gradient` (same stencil and relative test, step `h`), except that a
/// coordinate whose analytic derivative is EXACTLY zero — a structural zero: the delay of a
/// one-lag kernel, a saturation input below 0 — is accepted when the finite difference is at
/// round-off level, `≤ 1e-9 · max(1, |L|)`. The stencil's own rounding is `~ε·|L|/h ≈ 1e-13·|L|`,
/// which the relative test (floored at `1e-6·max|g|`) cannot tell from a real error when the
/// other coordinates are small.
fn assert_gradient_exact_zeros(
    f: impl FnMut(&[f64]) -> f64,
    x: &[f64],
    analytic: &[f64],
    loss_scale: f64,
    h: f64,
) {
    let check = check_gradient(f, x, analytic, h);
    let scale = analytic
        .iter()
        .chain(&check.numeric)
        .fold(0.0_f64, |m, v| m.max(v.abs()));
    let floor = (1e-6 * scale).max(1e-12);
    for (i, (&a, &n)) in analytic.iter().zip(&check.numeric).enumerate() {
        if a == 0.0 && n.abs() <= 1e-9 * loss_scale {
            continue;
        }
        let e = relative_error(a, n, floor);
        assert!(
            e <= TOL,
            "gradient mismatch at coordinate {i}: analytic {a:.12e}, numeric {n:.12e}, relative error {e:.3e}"
        );
    }
}

/// Finite-difference check of an adstock's VJP on a seeded `(r × t)` input.
pub fn check_adstock(a: &dyn Adstock, params: &[f64], r: usize, t: usize, seed: u64) {
    assert_eq!(params.len(), a.n_params());
    let x = seeded_array(seed, r, t, 0.0, 2.0);
    check_vjp(
        &|u, x, out| a.forward(u, x, out),
        &|u, x, g, gx, gp| a.vjp(u, x, g, gx, gp),
        params,
        &x,
        seed,
        0.25,
    );
}

/// Finite-difference check of a saturation's VJP on seeded `(r × t)` inputs
/// (see [`saturation_inputs`]).
pub fn check_saturation(s: &dyn Saturation, params: &[f64], r: usize, t: usize, seed: u64) {
    assert_eq!(params.len(), s.n_params());
    let x = saturation_inputs(seed, r, t);
    check_vjp(
        &|u, x, out| s.forward(u, x, out),
        &|u, x, g, gx, gp| s.vjp(u, x, g, gx, gp),
        params,
        &x,
        seed,
        1e-3,
    );
}
