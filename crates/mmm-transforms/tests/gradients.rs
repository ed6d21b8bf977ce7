//! Central-difference checks (relative error ≤ 1e-6) of every built-in transform's VJP with
//! respect to its input and its unconstrained parameters, on seeded random inputs at edge sizes.

mod common;

use common::{check_adstock, check_saturation, edge_shape};
use mmm_transforms::{DelayedAdstock, GeometricAdstock, Hill, Logistic, WeibullAdstock};
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]

    #[test]
    fn geometric_recursion_vjp(seed in any::<u64>(), (r, t) in edge_shape(), decay in 0.02f64..0.98, normalize in any::<bool>()) {
        let a = GeometricAdstock { max_lag: None, normalize };
        check_adstock(&a, &GeometricAdstock::params_for(decay), r, t, seed);
    }

    #[test]
    fn geometric_truncated_vjp(
        seed in any::<u64>(), (r, t) in edge_shape(), decay in 0.02f64..0.98, normalize in any::<bool>(), max_lag in 1usize..20,
    ) {
        let a = GeometricAdstock { max_lag: Some(max_lag), normalize };
        check_adstock(&a, &GeometricAdstock::params_for(decay), r, t, seed);
    }

    #[test]
    fn delayed_vjp(seed in any::<u64>(), (r, t) in edge_shape(), decay in 0.05f64..0.95, frac in 0.02f64..0.98, max_lag in 1usize..16) {
        let a = DelayedAdstock { max_lag };
        let delay = frac * (max_lag - 1) as f64;
        check_adstock(&a, &a.params_for(decay, delay), r, t, seed);
    }

    #[test]
    fn weibull_vjp(seed in any::<u64>(), (r, t) in edge_shape(), shape in 0.3f64..3.0, scale in 1.0f64..6.0, max_lag in 1usize..16) {
        let a = WeibullAdstock { max_lag };
        check_adstock(&a, &WeibullAdstock::params_for(shape, scale), r, t, seed);
    }

    #[test]
    fn hill_vjp(seed in any::<u64>(), (r, t) in edge_shape(), k in 0.3f64..2.0, s in 0.5f64..3.0) {
        check_saturation(&Hill, &Hill::params_for(k, s), r, t, seed);
    }

    #[test]
    fn logistic_vjp(seed in any::<u64>(), (r, t) in edge_shape(), lambda in 0.2f64..5.0) {
        check_saturation(&Logistic, &Logistic::params_for(lambda), r, t, seed);
    }
}

/// The defaults are where an optimiser starts, so check them explicitly too.
#[test]
fn default_parameters_have_correct_gradients() {
    use mmm_transforms::{Adstock, Saturation};
    let adstocks: [&dyn Adstock; 4] = [
        &GeometricAdstock::default(),
        &GeometricAdstock {
            max_lag: Some(8),
            normalize: false,
        },
        &DelayedAdstock::default(),
        &WeibullAdstock::default(),
    ];
    for (i, a) in adstocks.into_iter().enumerate() {
        check_adstock(a, &a.default_params(), 3, 40, i as u64);
    }
    let saturations: [&dyn Saturation; 2] = [&Hill, &Logistic];
    for (i, s) in saturations.into_iter().enumerate() {
        check_saturation(s, &s.default_params(), 3, 40, 100 + i as u64);
    }
}

/// Every transform the registry builds, as the model gets it (a new built-in is checked here
/// without being listed).
#[test]
fn every_registered_transform_has_correct_gradients_at_its_default() {
    let registry = mmm_transforms::TransformRegistry::with_builtins();
    for (i, name) in registry.adstock_names().enumerate() {
        let a = registry.adstock(name).unwrap();
        check_adstock(a.as_ref(), &a.default_params(), 3, 40, 200 + i as u64);
    }
    for (i, name) in registry.saturation_names().enumerate() {
        let s = registry.saturation(name).unwrap();
        check_saturation(s.as_ref(), &s.default_params(), 3, 40, 300 + i as u64);
    }
}
