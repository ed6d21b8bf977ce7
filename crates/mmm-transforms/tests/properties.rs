//! Behavioural properties of the built-in transforms: lag weights, recursion versus
//! convolution, Hill and logistic shape, scalar/array agreement, edge cases, parameter maps and
//! strided (non-contiguous) views.

mod common;

use common::seeded_array;
use mmm_transforms::{
    Adstock, DelayedAdstock, Error, GeometricAdstock, Hill, Logistic, Saturation, WeibullAdstock,
};
use ndarray::{Array2, Array3, Axis};
use proptest::prelude::*;

fn forward_adstock(a: &dyn Adstock, p: &[f64], x: &Array2<f64>) -> Array2<f64> {
    let mut out = Array2::from_elem(x.dim(), f64::NAN);
    a.forward(p, x.view(), out.view_mut());
    out
}

fn max_abs_diff(a: &Array2<f64>, b: &Array2<f64>) -> f64 {
    assert_eq!(a.dim(), b.dim());
    a.iter().zip(b).fold(0.0, |m, (x, y)| m.max((x - y).abs()))
}

/// A spread of built-in adstocks at non-default parameters.
fn adstock_cases() -> Vec<(Box<dyn Adstock>, Vec<f64>)> {
    let delayed = DelayedAdstock { max_lag: 9 };
    let delayed_p = delayed.params_for(0.4, 2.5);
    vec![
        (
            Box::new(GeometricAdstock {
                max_lag: None,
                normalize: false,
            }),
            GeometricAdstock::params_for(0.7),
        ),
        (
            Box::new(GeometricAdstock {
                max_lag: None,
                normalize: true,
            }),
            GeometricAdstock::params_for(0.55),
        ),
        (
            Box::new(GeometricAdstock {
                max_lag: Some(6),
                normalize: false,
            }),
            GeometricAdstock::params_for(0.8),
        ),
        (
            Box::new(GeometricAdstock {
                max_lag: Some(6),
                normalize: true,
            }),
            GeometricAdstock::params_for(0.3),
        ),
        (Box::new(delayed), delayed_p),
        (
            Box::new(WeibullAdstock { max_lag: 10 }),
            WeibullAdstock::params_for(0.7, 3.0),
        ),
        (
            Box::new(WeibullAdstock { max_lag: 10 }),
            WeibullAdstock::params_for(2.5, 4.0),
        ),
    ]
}

#[test]
fn forward_is_the_convolution_with_lag_weights() {
    for (i, (a, p)) in adstock_cases().into_iter().enumerate() {
        let (r, t) = (4, 30);
        let x = seeded_array(i as u64, r, t, 0.0, 3.0);
        let w = a.lag_weights(&p, t);
        assert_eq!(w.len(), t);
        let naive = Array2::from_shape_fn((r, t), |(ri, ti)| {
            (0..=ti).map(|l| w[l] * x[[ri, ti - l]]).sum()
        });
        let out = forward_adstock(a.as_ref(), &p, &x);
        assert!(
            max_abs_diff(&out, &naive) < 1e-12,
            "{} differs from its lag-weight convolution",
            a.name()
        );
        // A unit impulse in week 0 returns the lag weights themselves.
        let mut impulse = Array2::zeros((1, t));
        impulse[[0, 0]] = 1.0;
        let response = forward_adstock(a.as_ref(), &p, &impulse);
        for (l, (&got, &want)) in response.iter().zip(&w).enumerate() {
            assert!(
                (got - want).abs() < 1e-15,
                "{} impulse response at lag {l}: {got} vs {want}",
                a.name()
            );
        }
        assert!(
            w.iter().all(|&v| v >= 0.0),
            "{}: negative lag weight",
            a.name()
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]

    #[test]
    fn normalised_lag_weights_sum_to_one(decay in 0.01f64..0.95, frac in 0.0f64..1.0, shape in 0.2f64..5.0, scale in 0.3f64..10.0, max_lag in 1usize..40) {
        let delayed = DelayedAdstock { max_lag };
        let cases: Vec<(Box<dyn Adstock>, Vec<f64>, usize)> = vec![
            (Box::new(delayed), delayed.params_for(decay, frac * (max_lag - 1) as f64), max_lag),
            (Box::new(WeibullAdstock { max_lag }), WeibullAdstock::params_for(shape, scale), max_lag),
            (Box::new(GeometricAdstock { max_lag: Some(max_lag), normalize: true }), GeometricAdstock::params_for(decay), max_lag),
            // The recursion's weights (1 − α)αˡ sum to 1 over infinitely many lags; 2000 suffice.
            (Box::new(GeometricAdstock { max_lag: None, normalize: true }), GeometricAdstock::params_for(decay), 2000),
        ];
        for (a, p, n) in cases {
            let w = a.lag_weights(&p, n + 3);
            let sum: f64 = w.iter().sum();
            prop_assert!((sum - 1.0).abs() < 1e-12, "{}: lag weights sum to {sum}", a.name());
            if a.name() != "geometric" || n == max_lag {
                prop_assert!(w[n..].iter().all(|&v| v == 0.0), "{}: non-zero weight beyond max_lag", a.name());
            }
        }
    }

    #[test]
    fn geometric_recursion_equals_long_truncated_convolution(seed in any::<u64>(), decay in 0.0f64..0.9, r in 1usize..4, t in 1usize..80) {
        let x = seeded_array(seed, r, t, 0.0, 2.0);
        let p = GeometricAdstock::params_for(decay);
        for normalize in [false, true] {
            let rec = forward_adstock(&GeometricAdstock { max_lag: None, normalize }, &p, &x);
            // Unnormalised: identical weights αˡ as soon as L ≥ T.
            // Normalised: 1/Σ_{l<L} αˡ = (1 − α)/(1 − α^L) → (1 − α) for L = 1000 (α ≤ 0.9).
            let conv = forward_adstock(&GeometricAdstock { max_lag: Some(t.max(1000)), normalize }, &p, &x);
            let scale = rec.iter().fold(1.0_f64, |m, v| m.max(v.abs()));
            prop_assert!(max_abs_diff(&rec, &conv) <= 1e-12 * scale, "normalize = {normalize}");
        }
    }

    #[test]
    fn hill_is_half_at_k_monotone_and_bounded(k in 0.05f64..20.0, slope in 0.2f64..5.0) {
        let p = Hill::params_for(k, slope);
        prop_assert!((Hill.eval(&p, k) - 0.5).abs() < 1e-14);
        let mut prev = Hill.eval(&p, 0.0);
        prop_assert_eq!(prev, 0.0);
        // Up to 10 K: (x/K)ˢ ≤ 10⁵ keeps h representably below 1.
        for i in 1..=400 {
            let x = k * 10.0 * i as f64 / 400.0;
            let h = Hill.eval(&p, x);
            prop_assert!((0.0..1.0).contains(&h), "h({x}) = {h}");
            prop_assert!(h > prev, "not increasing at {x}");
            prop_assert!(Hill.derivative(&p, x) > 0.0);
            prev = h;
        }
        // Reference formula where it is safe to evaluate directly.
        for x in [0.1 * k, 0.7 * k, 3.0 * k] {
            let direct = x.powf(slope) / (x.powf(slope) + k.powf(slope));
            prop_assert!((Hill.eval(&p, x) - direct).abs() < 1e-13);
        }
    }

    #[test]
    fn logistic_matches_its_formula_and_is_monotone_and_bounded(lambda in 0.05f64..10.0) {
        let p = Logistic::params_for(lambda);
        prop_assert_eq!(Logistic.eval(&p, 0.0), 0.0);
        let mut prev = 0.0;
        for i in 1..=200 {
            let x = 5.0 / lambda * i as f64 / 200.0;
            let f = Logistic.eval(&p, x);
            let e = (-lambda * x).exp();
            prop_assert!((f - (1.0 - e) / (1.0 + e)).abs() < 1e-14);
            prop_assert!((0.0..1.0).contains(&f) && f > prev);
            prev = f;
        }
    }
}

#[test]
fn scalar_eval_and_derivative_agree_with_forward_and_vjp() {
    let cases: [(&dyn Saturation, Vec<f64>); 4] = [
        (&Hill, Hill::params_for(0.8, 2.2)),
        (&Hill, Hill::params_for(1.5, 0.6)),
        (&Logistic, Logistic::params_for(0.7)),
        (&Logistic, Logistic::params_for(4.0)),
    ];
    // Include 0 and negative inputs: the conventions must be the same on both paths.
    let mut x = seeded_array(11, 3, 17, -0.5, 4.0);
    x[[0, 0]] = 0.0;
    for (sat, p) in cases {
        let mut out = Array2::zeros(x.dim());
        sat.forward(&p, x.view(), out.view_mut());
        let ones = Array2::ones(x.dim());
        let mut gx = Array2::zeros(x.dim());
        let mut gp = vec![0.0; p.len()];
        sat.vjp(&p, x.view(), ones.view(), Some(gx.view_mut()), &mut gp);
        for ((&xi, &o), &d) in x.iter().zip(&out).zip(&gx) {
            assert_eq!(o, sat.eval(&p, xi), "{} eval at {xi}", sat.name());
            assert!(
                (d - sat.derivative(&p, xi)).abs() <= 1e-15 * d.abs().max(1.0),
                "{} derivative at {xi}",
                sat.name()
            );
        }
    }
}

#[test]
fn saturations_are_finite_at_zero_and_zero_for_negative_inputs() {
    for slope in [0.1, 0.5, 1.0, 2.5] {
        let k = 0.7;
        let p = Hill::params_for(k, slope);
        let x = ndarray::array![[0.0, -1.0, -1e-300, 1e-300, 5e-324, 1e300]];
        let mut out = Array2::zeros(x.dim());
        Hill.forward(&p, x.view(), out.view_mut());
        let mut gx = Array2::zeros(x.dim());
        let mut gp = vec![0.0; 2];
        Hill.vjp(
            &p,
            x.view(),
            Array2::ones(x.dim()).view(),
            Some(gx.view_mut()),
            &mut gp,
        );
        assert!(
            out.iter().chain(&gx).chain(&gp).all(|v| v.is_finite()),
            "slope {slope}: {out} {gx} {gp:?}"
        );
        assert_eq!(out[[0, 0]], 0.0);
        assert_eq!(
            (out[[0, 1]], gx[[0, 1]], out[[0, 2]], gx[[0, 2]]),
            (0.0, 0.0, 0.0, 0.0)
        );
        // Convention at 0: the right derivative where it is finite.
        let d0 = Hill.derivative(&p, 0.0);
        if slope == 1.0 {
            assert!((d0 - 1.0 / k).abs() < 1e-9);
        } else if slope > 1.0 {
            assert!(d0 < 1e-12);
        } else {
            assert!(d0 > 1.0 && d0.is_finite());
        }
        // At x = 0 the parameter gradients vanish (their limits as x → 0⁺).
        let mut gp0 = vec![0.0; 2];
        Hill.vjp(
            &p,
            ndarray::array![[0.0]].view(),
            ndarray::array![[1.0]].view(),
            None,
            &mut gp0,
        );
        assert_eq!(gp0, vec![0.0, 0.0]);
    }
    let p = Logistic::params_for(2.0);
    assert_eq!(Logistic.eval(&p, -3.0), 0.0);
    assert_eq!(Logistic.derivative(&p, -3.0), 0.0);
    assert!(
        (Logistic.derivative(&p, 0.0) - 1.0).abs() < 1e-15,
        "right derivative λ/2 at 0"
    );
    assert!(Logistic.derivative(&p, 1e6).is_finite());
}

#[test]
fn strided_views_give_the_same_results_as_contiguous_arrays() {
    // The model slices one channel out of a (regions × weeks × channels) array.
    let (r, t, c) = (3, 25, 4);
    let cube = Array3::from_shape_vec(
        (r, t, c),
        mmm_testkit::seeded_uniform(5, r * t * c, 0.0, 2.0),
    )
    .unwrap();
    let x_strided = cube.index_axis(Axis(2), 2);
    let x = x_strided.to_owned();
    let g = seeded_array(6, r, t, -1.0, 1.0);
    let mut g_cube = Array3::zeros((r, t, c));
    g_cube.index_axis_mut(Axis(2), 1).assign(&g);
    for (a, p) in adstock_cases() {
        let expected = forward_adstock(a.as_ref(), &p, &x);
        let mut out_cube = Array3::from_elem((r, t, c), f64::NAN);
        a.forward(&p, x_strided, out_cube.index_axis_mut(Axis(2), 3));
        assert!(
            max_abs_diff(&out_cube.index_axis(Axis(2), 3).to_owned(), &expected) < 1e-15,
            "{}",
            a.name()
        );

        let mut gx = Array2::zeros((r, t));
        let mut gp = vec![0.0; p.len()];
        a.vjp(&p, x.view(), g.view(), Some(gx.view_mut()), &mut gp);
        let mut gx_cube = Array3::zeros((r, t, c));
        let mut gp_s = vec![0.0; p.len()];
        a.vjp(
            &p,
            x_strided,
            g_cube.index_axis(Axis(2), 1),
            Some(gx_cube.index_axis_mut(Axis(2), 0)),
            &mut gp_s,
        );
        assert!(
            max_abs_diff(&gx_cube.index_axis(Axis(2), 0).to_owned(), &gx) < 1e-15,
            "{}",
            a.name()
        );
        assert_eq!(gp, gp_s, "{}", a.name());
    }
}

#[test]
fn degenerate_lags_give_finite_outputs() {
    let x = seeded_array(3, 2, 5, 0.0, 1.0);
    let zero_lag: [(Box<dyn Adstock>, Vec<f64>); 3] = [
        (
            Box::new(GeometricAdstock {
                max_lag: Some(0),
                normalize: true,
            }),
            vec![0.3],
        ),
        (Box::new(DelayedAdstock { max_lag: 0 }), vec![0.3, -0.2]),
        (Box::new(WeibullAdstock { max_lag: 0 }), vec![0.3, -0.2]),
    ];
    for (a, p) in zero_lag {
        assert_eq!(
            forward_adstock(a.as_ref(), &p, &x),
            Array2::zeros(x.dim()),
            "{}",
            a.name()
        );
    }
    // One lag, normalised: the identity, whatever the parameters.
    let one_lag: [(Box<dyn Adstock>, Vec<f64>); 3] = [
        (
            Box::new(GeometricAdstock {
                max_lag: Some(1),
                normalize: true,
            }),
            vec![0.3],
        ),
        (Box::new(DelayedAdstock { max_lag: 1 }), vec![0.3, -0.2]),
        (Box::new(WeibullAdstock { max_lag: 1 }), vec![0.3, -0.2]),
    ];
    for (a, p) in one_lag {
        assert!(
            max_abs_diff(&forward_adstock(a.as_ref(), &p, &x), &x) < 1e-15,
            "{}",
            a.name()
        );
    }
    // Extreme unconstrained values stay finite.
    for u in [-60.0, 60.0] {
        for (a, p) in [
            (
                Box::new(GeometricAdstock::default()) as Box<dyn Adstock>,
                vec![u],
            ),
            (
                Box::new(GeometricAdstock {
                    max_lag: Some(8),
                    normalize: true,
                }),
                vec![u],
            ),
            (Box::new(DelayedAdstock::default()), vec![u, -u]),
        ] {
            let out = forward_adstock(a.as_ref(), &p, &x);
            let mut gp = vec![0.0; p.len()];
            let mut gx = Array2::zeros(x.dim());
            a.vjp(&p, x.view(), x.view(), Some(gx.view_mut()), &mut gp);
            assert!(
                out.iter().chain(&gx).chain(&gp).all(|v| v.is_finite()),
                "{} at u = {u}",
                a.name()
            );
        }
    }
}

#[test]
fn params_for_and_describe_round_trip() {
    let close = |a: f64, b: f64| (a - b).abs() < 1e-12 * b.abs().max(1.0);
    let g = GeometricAdstock::default();
    assert!(close(
        g.describe(&GeometricAdstock::params_for(0.63))[0].1,
        0.63
    ));
    assert_eq!(g.describe(&g.default_params()), vec![("decay", 0.5)]);
    let d = DelayedAdstock { max_lag: 8 };
    let dd = d.describe(&d.params_for(0.45, 3.2));
    assert_eq!((dd[0].0, dd[1].0), ("decay", "delay"));
    assert!(close(dd[0].1, 0.45) && close(dd[1].1, 3.2));
    let w = WeibullAdstock::default().describe(&WeibullAdstock::params_for(1.7, 4.5));
    assert_eq!((w[0].0, w[1].0), ("shape", "scale"));
    assert!(close(w[0].1, 1.7) && close(w[1].1, 4.5));
    let h = Hill.describe(&Hill::params_for(0.35, 2.4));
    assert_eq!((h[0].0, h[1].0), ("half_saturation", "slope"));
    assert!(close(h[0].1, 0.35) && close(h[1].1, 2.4));
    assert!(close(
        Logistic.describe(&Logistic::params_for(3.3))[0].1,
        3.3
    ));
    // Defaults have the advertised lengths.
    let adstocks: [&dyn Adstock; 3] = [&g, &d, &WeibullAdstock::default()];
    for a in adstocks {
        assert_eq!(a.default_params().len(), a.n_params());
        assert_eq!(a.describe(&a.default_params()).len(), a.n_params());
    }
    let saturations: [&dyn Saturation; 2] = [&Hill, &Logistic];
    for s in saturations {
        assert_eq!(s.default_params().len(), s.n_params());
        assert_eq!(s.describe(&s.default_params()).len(), s.n_params());
    }
}

/// `params_at_half(K, s)` puts the curve at half its maximum (the limit at large x) at `K`, for
/// every built-in saturation (all have the parametrisation: the simulator draws through it), over seeded half points across scales; out-of-range values give
/// `None`.
#[test]
fn params_at_half_reaches_half_the_maximum_there() {
    let registry = mmm_transforms::TransformRegistry::with_builtins();
    let mut rng = 0x5eed_u64;
    for name in registry.saturation_names() {
        let s = registry.saturation(name).unwrap();
        for i in 0..40 {
            rng = rng
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let u = (rng >> 11) as f64 / (1u64 << 53) as f64;
            let half = 10f64.powf(-4.0 + 8.0 * u);
            let slope = 0.5 + 3.0 * (i as f64 / 40.0);
            let p = s.params_at_half(half, slope).expect("positive half point");
            let top = s.eval(&p, half * 1e30);
            let at = s.eval(&p, half);
            assert!((at / top - 0.5).abs() < 1e-9, "{}: {at} / {top}", s.name());
        }
        assert!(s.params_at_half(-1.0, 1.0).is_none(), "{}", s.name());
        assert!(s.params_at_half(0.0, 1.0).is_none(), "{}", s.name());
    }
    assert_eq!(
        Hill.params_at_half(0.7, 1.8),
        Some(Hill::params_for(0.7, 1.8))
    );
}

#[test]
fn out_of_range_natural_parameters_are_errors() {
    assert!(matches!(
        GeometricAdstock::try_params_for(1.2),
        Err(Error::ParameterOutOfRange { name: "decay", .. })
    ));
    assert!(GeometricAdstock::try_params_for(f64::NAN).is_err());
    assert!(
        GeometricAdstock::try_params_for(0.0).is_ok(),
        "no carryover is a valid truth"
    );
    let d = DelayedAdstock { max_lag: 5 };
    assert!(matches!(
        d.try_params_for(0.5, 4.5),
        Err(Error::ParameterOutOfRange { name: "delay", .. })
    ));
    assert!(d.try_params_for(0.5, 0.0).is_ok());
    assert!(WeibullAdstock::try_params_for(0.0, 1.0).is_err());
    assert!(WeibullAdstock::try_params_for(1.0, -1.0).is_err());
    assert!(Hill::try_params_for(-0.1, 1.0).is_err());
    assert!(Hill::try_params_for(1.0, f64::INFINITY).is_err());
    assert!(Logistic::try_params_for(0.0).is_err());
    let msg = Hill::try_params_for(1.0, 0.0).unwrap_err().to_string();
    assert!(msg.contains("slope") && msg.contains("(0, ∞)"), "{msg}");
}

/// A saturation that forwards everything but `forward_partials` to `inner`: the trait's default
/// (forward, then one VJP per element).
#[derive(Debug)]
struct DefaultPartials<S>(S);

impl<S: Saturation> Saturation for DefaultPartials<S> {
    fn name(&self) -> &str {
        self.0.name()
    }
    fn n_params(&self) -> usize {
        self.0.n_params()
    }
    fn default_params(&self) -> Vec<f64> {
        self.0.default_params()
    }
    fn describe(&self, p: &[f64]) -> Vec<(&'static str, f64)> {
        self.0.describe(p)
    }
    fn eval(&self, p: &[f64], x: f64) -> f64 {
        self.0.eval(p, x)
    }
    fn derivative(&self, p: &[f64], x: f64) -> f64 {
        self.0.derivative(p, x)
    }
    fn forward(&self, p: &[f64], x: ndarray::ArrayView2<f64>, out: ndarray::ArrayViewMut2<f64>) {
        self.0.forward(p, x, out)
    }
    fn vjp(
        &self,
        p: &[f64],
        x: ndarray::ArrayView2<f64>,
        g: ndarray::ArrayView2<f64>,
        gx: Option<ndarray::ArrayViewMut2<f64>>,
        gp: &mut [f64],
    ) {
        self.0.vjp(p, x, g, gx, gp)
    }
}

/// `(out, d_x, d_params)` of `forward_partials` (NaN-filled first, so every element must be written).
fn partials(
    s: &dyn Saturation,
    p: &[f64],
    x: &Array2<f64>,
) -> (Array2<f64>, Array2<f64>, Array3<f64>) {
    let (r, t) = x.dim();
    let mut out = Array2::from_elem((r, t), f64::NAN);
    let mut dx = Array2::from_elem((r, t), f64::NAN);
    let mut dp = Array3::from_elem((p.len(), r, t), f64::NAN);
    s.forward_partials(p, x.view(), out.view_mut(), dx.view_mut(), dp.view_mut());
    (out, dx, dp)
}

#[test]
fn one_pass_partials_equal_forward_and_per_element_vjps() {
    // Random inputs plus the edge cases of the module docs: 0, negative, below Hill's floor εK,
    // denormal, huge, and a strided (transposed) view.
    let mut x = seeded_array(7, 4, 30, -0.5, 4.0);
    let edges = [0.0, -1.0, 1e-300, 5e-324, 1e-14, 1e300, 0.7];
    for (i, v) in edges.iter().enumerate() {
        x[[i % 4, i]] = *v;
    }
    // (one-pass implementation, the trait's default around it, parameters)
    type Case = (Box<dyn Saturation>, Box<dyn Saturation>, Vec<Vec<f64>>);
    let cases: Vec<Case> = vec![
        (
            Box::new(Hill),
            Box::new(DefaultPartials(Hill)),
            vec![
                Hill::params_for(0.7, 0.4),
                Hill::params_for(0.7, 1.0),
                Hill::params_for(2.0, 3.0),
            ],
        ),
        (
            Box::new(Logistic),
            Box::new(DefaultPartials(Logistic)),
            vec![Logistic::params_for(0.3), Logistic::params_for(4.0)],
        ),
    ];
    for (fast, reference, params) in &cases {
        for p in params {
            for input in [x.clone(), x.t().as_standard_layout().into_owned()] {
                let (o1, dx1, dp1) = partials(fast.as_ref(), p, &input);
                let (o2, dx2, dp2) = partials(reference.as_ref(), p, &input);
                let mut forward = Array2::zeros(input.dim());
                fast.forward(p, input.view(), forward.view_mut());
                assert_eq!(o2, forward, "{}: the default runs forward", fast.name());
                // The one-pass values differ from forward and vjp at most by rounding.
                let close = |a: &f64, b: &f64| {
                    (a.is_nan() && b.is_nan()) || (a - b).abs() <= 1e-14 * a.abs().max(b.abs())
                };
                for (what, one, other) in [
                    ("f", o1.as_slice().unwrap(), o2.as_slice().unwrap()),
                    ("∂f/∂x", dx1.as_slice().unwrap(), dx2.as_slice().unwrap()),
                    ("∂f/∂u", dp1.as_slice().unwrap(), dp2.as_slice().unwrap()),
                ] {
                    for (a, b) in one.iter().zip(other) {
                        assert!(close(a, b), "{} {what}: {a} vs {b}", fast.name());
                    }
                }
            }
        }
    }
}
