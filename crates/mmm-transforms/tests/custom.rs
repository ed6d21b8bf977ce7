//! User-defined transforms plug in through the traits: a "no carryover" adstock and a
//! Michaelis–Menten `x/(x + K)` saturation, used only through `&dyn Adstock` / `&dyn Saturation`
//! (as the model uses them), gradient-checked with the same harness as the built-ins; plus a
//! composed adstock → saturation pipeline whose chained VJPs are checked end to end.

mod common;

use common::{TOL, check_adstock, check_saturation, edge_shape, seeded_array};
use mmm_testkit::assert_gradient;
use mmm_transforms::{Adstock, GeometricAdstock, Hill, Saturation, param};
use ndarray::{Array2, ArrayView2, ArrayViewMut2, Zip};
use proptest::prelude::*;

/// `out = x`: no carryover, no parameters.
#[derive(Debug)]
struct NoCarryover;

impl Adstock for NoCarryover {
    fn name(&self) -> &str {
        "none"
    }
    fn n_params(&self) -> usize {
        0
    }
    fn default_params(&self) -> Vec<f64> {
        vec![]
    }
    fn describe(&self, _: &[f64]) -> Vec<(&'static str, f64)> {
        vec![]
    }
    fn forward(&self, _: &[f64], x: ArrayView2<f64>, mut out: ArrayViewMut2<f64>) {
        out.assign(&x);
    }
    fn vjp(
        &self,
        _: &[f64],
        _: ArrayView2<f64>,
        g: ArrayView2<f64>,
        gx: Option<ArrayViewMut2<f64>>,
        _: &mut [f64],
    ) {
        if let Some(mut gx) = gx {
            gx += &g;
        }
    }
    fn lag_weights(&self, _: &[f64], n_lags: usize) -> Vec<f64> {
        (0..n_lags)
            .map(|l| if l == 0 { 1.0 } else { 0.0 })
            .collect()
    }
}

/// `f(x) = x/(x + K)`, `K = softplus(u)`; negative inputs treated as 0.
#[derive(Debug)]
struct MichaelisMenten;

impl Saturation for MichaelisMenten {
    fn name(&self) -> &str {
        "michaelis-menten"
    }
    fn n_params(&self) -> usize {
        1
    }
    fn default_params(&self) -> Vec<f64> {
        vec![param::softplus_inv(1.0)]
    }
    fn describe(&self, p: &[f64]) -> Vec<(&'static str, f64)> {
        vec![("half_saturation", param::softplus(p[0]))]
    }
    fn eval(&self, p: &[f64], x: f64) -> f64 {
        let x = x.max(0.0);
        x / (x + param::softplus(p[0]))
    }
    fn derivative(&self, p: &[f64], x: f64) -> f64 {
        if x < 0.0 {
            return 0.0;
        }
        let k = param::softplus(p[0]);
        k / ((x + k) * (x + k))
    }
    fn forward(&self, p: &[f64], x: ArrayView2<f64>, mut out: ArrayViewMut2<f64>) {
        Zip::from(&mut out)
            .and(&x)
            .for_each(|o, &xi| *o = self.eval(p, xi));
    }
    fn vjp(
        &self,
        p: &[f64],
        x: ArrayView2<f64>,
        g: ArrayView2<f64>,
        gx: Option<ArrayViewMut2<f64>>,
        gp: &mut [f64],
    ) {
        let k = param::softplus(p[0]);
        let dk: f64 = Zip::from(&x).and(&g).fold(0.0, |acc, &xi, &gi| {
            let xi = xi.max(0.0);
            acc - gi * xi / ((xi + k) * (xi + k))
        });
        gp[0] += dk * param::softplus_deriv(p[0]);
        if let Some(mut gx) = gx {
            Zip::from(&mut gx)
                .and(&x)
                .and(&g)
                .for_each(|gxi, &xi, &gi| *gxi += gi * self.derivative(p, xi));
        }
    }
}

/// `y = sat(adstock(x))`, forward and chained VJP, through trait objects only.
fn pipeline(
    a: &dyn Adstock,
    s: &dyn Saturation,
    pa: &[f64],
    ps: &[f64],
    x: ArrayView2<f64>,
) -> Array2<f64> {
    let mut ad = Array2::zeros(x.dim());
    a.forward(pa, x, ad.view_mut());
    let mut y = Array2::zeros(x.dim());
    s.forward(ps, ad.view(), y.view_mut());
    y
}

/// Returns `(∂L/∂x, ∂L/∂θ_adstock ++ ∂L/∂θ_saturation)` for `L = Σ g ∘ y`.
fn pipeline_vjp(
    a: &dyn Adstock,
    s: &dyn Saturation,
    pa: &[f64],
    ps: &[f64],
    x: ArrayView2<f64>,
    g: ArrayView2<f64>,
) -> (Array2<f64>, Vec<f64>) {
    let mut ad = Array2::zeros(x.dim());
    a.forward(pa, x, ad.view_mut());
    let mut g_ad = Array2::zeros(x.dim());
    let mut gps = vec![0.0; ps.len()];
    s.vjp(ps, ad.view(), g, Some(g_ad.view_mut()), &mut gps);
    let mut gx = Array2::zeros(x.dim());
    let mut gpa = vec![0.0; pa.len()];
    a.vjp(pa, x, g_ad.view(), Some(gx.view_mut()), &mut gpa);
    gpa.extend(gps);
    (gx, gpa)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]

    #[test]
    fn custom_transforms_have_correct_vjps(seed in any::<u64>(), (r, t) in edge_shape(), k in 0.2f64..3.0) {
        check_adstock(&NoCarryover, &[], r, t, seed);
        check_saturation(&MichaelisMenten, &[param::softplus_inv(k)], r, t, seed);
    }

    #[test]
    fn chained_pipeline_vjp_matches_finite_differences(
        seed in any::<u64>(), (r, t) in edge_shape(), decay in 0.05f64..0.9, k in 0.3f64..2.0, slope in 0.7f64..3.0, custom in any::<bool>(),
    ) {
        let geo = GeometricAdstock::default();
        let (a, s): (&dyn Adstock, &dyn Saturation) = if custom { (&NoCarryover, &MichaelisMenten) } else { (&geo, &Hill) };
        let pa = if custom { vec![] } else { GeometricAdstock::params_for(decay) };
        let ps = if custom { vec![param::softplus_inv(k)] } else { Hill::params_for(k, slope) };
        // Strictly positive media keep every adstocked value away from Hill's kink at 0.
        let x = seeded_array(seed, r, t, 0.2, 2.0);
        let g = seeded_array(seed ^ 1, r, t, -1.0, 1.0);
        let (gx, gp) = pipeline_vjp(a, s, &pa, &ps, x.view(), g.view());
        let loss = |pa: &[f64], ps: &[f64], x: ArrayView2<f64>| (pipeline(a, s, pa, ps, x) * &g).sum();
        let xf: Vec<f64> = x.iter().copied().collect();
        let gxf: Vec<f64> = gx.iter().copied().collect();
        assert_gradient(|xv| loss(&pa, &ps, ArrayView2::from_shape((r, t), xv).unwrap()), &xf, &gxf, TOL);
        let theta: Vec<f64> = pa.iter().chain(&ps).copied().collect();
        let na = pa.len();
        assert_gradient(|th| loss(&th[..na], &th[na..], x.view()), &theta, &gp, TOL);
    }
}

#[test]
fn custom_transforms_work_through_trait_objects() {
    let transforms: (Box<dyn Adstock>, Box<dyn Saturation>) =
        (Box::new(NoCarryover), Box::new(MichaelisMenten));
    let (a, s) = (transforms.0.as_ref(), transforms.1.as_ref());
    let x = ndarray::array![[0.0, 1.0, 3.0], [-1.0, 0.5, 1.0]];
    let y = pipeline(a, s, &a.default_params(), &s.default_params(), x.view());
    assert_eq!(y, ndarray::array![[0.0, 0.5, 0.75], [0.0, 0.5 / 1.5, 0.5]]);
    assert_eq!(a.lag_weights(&[], 3), vec![1.0, 0.0, 0.0]);
    assert_eq!(
        s.describe(&s.default_params()),
        vec![("half_saturation", 1.0)]
    );
}
