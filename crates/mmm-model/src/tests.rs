//! Whole-model checks: the hand-written backward pass against central differences, the
//! decomposition against the prediction, and the Huber loss's own gradient.

use super::*;
use mmm_testkit::{assert_gradient, seeded_uniform};
use mmm_transforms::{GeometricAdstock, Hill, Saturation, WeibullAdstock};
use ndarray::{Array2, Array3, Axis};
use proptest::prelude::*;

fn small_inputs(
    seed: u64,
    r_n: usize,
    t_n: usize,
    c_n: usize,
    k_n: usize,
    harmonics: usize,
) -> ModelInputs {
    let media = Array3::from_shape_vec(
        (r_n, t_n, c_n),
        seeded_uniform(seed, r_n * t_n * c_n, 0.0, 3.0),
    )
    .unwrap();
    let controls = Array3::from_shape_vec(
        (r_n, t_n, k_n),
        seeded_uniform(seed + 1, r_n * t_n * k_n, -2.0, 2.0),
    )
    .unwrap();
    let target =
        Array2::from_shape_vec((r_n, t_n), seeded_uniform(seed + 2, r_n * t_n, 0.5, 1.5)).unwrap();
    let mut observed = Array2::from_elem((r_n, t_n), true);
    if r_n > 1 && t_n > 2 {
        observed[[1, 0]] = false; // a region that starts late
    }
    let year: Vec<f64> = (0..t_n)
        .map(|t| (t as f64 * 7.0 / 365.25).fract())
        .collect();
    ModelInputs::new(
        &media,
        &controls,
        &target,
        &observed,
        &year,
        t_n.saturating_sub(3),
        harmonics,
    )
    .unwrap()
}

/// Inputs with media only (no controls), a target of ones and every cell observed.
fn media_only_inputs(media: &Array3<f64>, year: &[f64], harmonics: usize) -> ModelInputs {
    let (r_n, t_n, _) = media.dim();
    ModelInputs::new(
        media,
        &Array3::zeros((r_n, t_n, 0)),
        &Array2::ones((r_n, t_n)),
        &Array2::from_elem((r_n, t_n), true),
        year,
        t_n - 1,
        harmonics,
    )
    .unwrap()
}

fn perturbed_params(model: &Model, inp: &ModelInputs, w: &Array2<f64>, seed: u64) -> Vec<f64> {
    let mut p = model.init_params(inp, w, seed);
    for (v, n) in p
        .iter_mut()
        .zip(seeded_uniform(seed + 9, model.n_params(), -0.4, 0.4))
    {
        *v += n;
    }
    p
}

fn check_whole_model(
    seed: u64,
    r_n: usize,
    t_n: usize,
    c_n: usize,
    k_n: usize,
    harmonics: usize,
    hidden: usize,
) {
    check_whole_model_with(
        GeometricAdstock::NAME,
        Hill::NAME,
        seed,
        r_n,
        t_n,
        c_n,
        k_n,
        harmonics,
        hidden,
    );
}

#[allow(clippy::too_many_arguments)]
fn check_whole_model_with(
    adstock: &str,
    saturation: &str,
    seed: u64,
    r_n: usize,
    t_n: usize,
    c_n: usize,
    k_n: usize,
    harmonics: usize,
    hidden: usize,
) {
    // A large Huber δ keeps every residual on the smooth quadratic branch; the branch switch is
    // checked separately below.
    let cfg = ModelConfig {
        hidden,
        fourier_harmonics: harmonics,
        adstock: adstock.into(),
        saturation: saturation.into(),
        huber_delta: 50.0,
        ..ModelConfig::default()
    };
    let model = Model::new(cfg, r_n, c_n, k_n).unwrap();
    let inp = small_inputs(seed, r_n, t_n, c_n, k_n, harmonics);
    let region_w: Vec<f64> = (0..r_n).map(|r| 0.5 + r as f64).collect();
    let w = inp
        .loss_weights(0..t_n.saturating_sub(2).max(1), &region_w)
        .unwrap();
    let p = perturbed_params(&model, &inp, &w, seed);
    let mut grad = vec![0.0; model.n_params()];
    model.loss_and_grad(&p, &inp, &w, &mut grad);
    assert_gradient(|q| model.loss(q, &inp, &w).total(), &p, &grad, 1e-6);
}

#[test]
fn whole_model_gradient_matches_finite_differences() {
    check_whole_model(11, 3, 20, 2, 2, 1, 4);
}

#[test]
fn whole_model_gradient_with_weibull_adstock() {
    check_whole_model_with(WeibullAdstock::NAME, Hill::NAME, 21, 3, 20, 2, 2, 1, 4);
    // One region, one week.
    check_whole_model_with(WeibullAdstock::NAME, Hill::NAME, 22, 1, 1, 1, 0, 0, 1);
}

/// Every built-in transform is selectable by name, and the whole model's gradient is right with
/// each (the delayed adstock and the logistic saturation have no other end-to-end check).
#[test]
fn whole_model_gradient_with_every_builtin_transform_by_name() {
    let registry = mmm_transforms::TransformRegistry::with_builtins();
    let adstocks: Vec<&str> = registry.adstock_names().collect();
    let saturations: Vec<&str> = registry.saturation_names().collect();
    for (i, adstock) in adstocks.iter().enumerate() {
        for (j, saturation) in saturations.iter().enumerate() {
            let seed = 60 + 10 * i as u64 + j as u64;
            check_whole_model_with(adstock, saturation, seed, 2, 16, 2, 1, 1, 3);
        }
    }
}

/// A name the registry does not hold is a configuration error naming the key and the known
/// names; a user-registered transform is found by its name.
#[test]
fn transforms_are_chosen_by_name_from_the_registry() {
    let cfg = |saturation: &str| ModelConfig {
        saturation: saturation.into(),
        ..ModelConfig::default()
    };
    let err = Model::new(cfg("tanh"), 2, 2, 0).unwrap_err().to_string();
    assert!(
        err.contains("`saturation`") && err.contains("tanh") && err.contains("hill, logistic"),
        "{err}"
    );
    let mut registry = mmm_transforms::TransformRegistry::with_builtins();
    registry
        .register_saturation("hill-again", || Box::new(HillAgain))
        .unwrap();
    let model = Model::with_registry(cfg("hill-again"), 2, 3, 0, &registry).unwrap();
    assert!((0..3).all(|c| model.saturation(c).name() == "hill-again"));
    assert_eq!(model.layout().saturation_of(1).len(), 2);
}

/// Hill under another name: a stand-in for a user transform.
#[derive(Debug)]
struct HillAgain;

impl Saturation for HillAgain {
    fn name(&self) -> &str {
        "hill-again"
    }
    fn n_params(&self) -> usize {
        Hill.n_params()
    }
    fn default_params(&self) -> Vec<f64> {
        Hill.default_params()
    }
    fn describe(&self, p: &[f64]) -> Vec<(&'static str, f64)> {
        Hill.describe(p)
    }
    fn eval(&self, p: &[f64], x: f64) -> f64 {
        Hill.eval(p, x)
    }
    fn derivative(&self, p: &[f64], x: f64) -> f64 {
        Hill.derivative(p, x)
    }
    fn forward(&self, p: &[f64], x: ndarray::ArrayView2<f64>, out: ndarray::ArrayViewMut2<f64>) {
        Hill.forward(p, x, out)
    }
    fn vjp(
        &self,
        p: &[f64],
        x: ndarray::ArrayView2<f64>,
        g: ndarray::ArrayView2<f64>,
        gx: Option<ndarray::ArrayViewMut2<f64>>,
        gp: &mut [f64],
    ) {
        Hill.vjp(p, x, g, gx, gp)
    }
}

#[test]
fn weibull_adstock_starts_at_its_geometric_special_case() {
    let geo = Model::new(
        ModelConfig {
            adstock: GeometricAdstock::NAME.into(),
            ..ModelConfig::default()
        },
        2,
        2,
        1,
    )
    .unwrap();
    let wb = Model::new(
        ModelConfig {
            adstock: WeibullAdstock::NAME.into(),
            ..ModelConfig::default()
        },
        2,
        2,
        1,
    )
    .unwrap();
    let inp = small_inputs(5, 2, 30, 2, 1, 2);
    let w = inp.loss_weights(0..30, &[1.0, 1.0]).unwrap();
    let (pg, pw) = (geo.init_params(&inp, &w, 1), wb.init_params(&inp, &w, 1));
    let l = wb.layout();
    // Geometric decay 0.5 vs Weibull k = 1, λ = 1/ln 2 (truncated at 13 lags): lag weights agree
    // to within the truncated tail, 0.5¹³.
    let lg = geo
        .adstock(0)
        .lag_weights(&pg[geo.layout().adstock_of(0)], 13);
    let lw = wb.adstock(0).lag_weights(&pw[l.adstock_of(0)], 13);
    for (a, b) in lg.iter().zip(&lw) {
        assert!((a - b).abs() < 2.0 * 0.5f64.powi(13), "{lg:?} vs {lw:?}");
    }
    assert_eq!(wb.adstock(0).name(), "weibull");
}

#[test]
fn a_given_adstock_start_is_where_initialisation_puts_each_channel() {
    let cfg = ModelConfig {
        adstock: WeibullAdstock::NAME.into(),
        ..ModelConfig::default()
    };
    let starts = vec![
        mmm_transforms::WeibullAdstock::params_for(2.5, 2.3),
        mmm_transforms::WeibullAdstock::params_for(0.7, 0.5),
    ];
    let model = Model::new(cfg.clone(), 2, 2, 1)
        .unwrap()
        .with_adstock_start(starts.clone())
        .unwrap();
    let inp = small_inputs(5, 2, 30, 2, 1, 2);
    let w = inp.loss_weights(0..30, &[1.0, 1.0]).unwrap();
    let p = model.init_params(&inp, &w, 1);
    for (c, s) in starts.iter().enumerate() {
        assert_eq!(&p[model.layout().adstock_of(c)], s.as_slice());
    }
    // One start per channel, each with the family's parameter count, all finite.
    for bad in [
        vec![starts[0].clone()],
        vec![starts[0].clone(), vec![0.0]],
        vec![starts[0].clone(), vec![f64::NAN, 0.0]],
    ] {
        let err = Model::new(cfg.clone(), 2, 2, 1)
            .unwrap()
            .with_adstock_start(bad)
            .unwrap_err();
        assert!(matches!(err, Error::Shape(_)), "{err}");
    }
}

#[test]
fn a_fixed_media_part_starts_where_given_and_gets_no_gradient() {
    let cfg = ModelConfig {
        adstock: WeibullAdstock::NAME.into(),
        huber_delta: 50.0,
        ..ModelConfig::default()
    };
    let kernels = vec![
        mmm_transforms::WeibullAdstock::params_for(2.5, 3.2),
        mmm_transforms::WeibullAdstock::params_for(1.0, 0.8),
    ];
    let curves = vec![
        mmm_transforms::Hill::params_for(0.5, 2.0),
        mmm_transforms::Hill::params_for(1.5, 1.0),
    ];
    let effects = vec![0.3, 0.0];
    let (r_n, t_n) = (3, 80);
    let free = Model::new(cfg.clone(), r_n, 2, 1).unwrap();
    let fixed = Model::new(cfg.clone(), r_n, 2, 1)
        .unwrap()
        .with_adstock_start(kernels.clone())
        .unwrap()
        .with_saturation_start(curves.clone())
        .unwrap()
        .with_fixed_media(effects.clone(), vec![0.25])
        .unwrap();
    assert!(fixed.media_fixed() && !free.media_fixed());
    let inp = small_inputs(6, r_n, t_n, 2, 1, 2);
    let w = inp.loss_weights(0..t_n - 2, &[1.0, 2.0, 0.5]).unwrap();
    let p = fixed.init_params(&inp, &w, 3);
    let l = fixed.layout();
    for c in 0..2 {
        assert_eq!(&p[l.adstock_of(c)], kernels[c].as_slice());
        assert_eq!(&p[l.saturation_of(c)], curves[c].as_slice());
    }
    let beta = fixed.media_coefficients(&p);
    assert!((beta[0] - 0.3).abs() < 1e-12 && beta[1] < 1e-11, "{beta:?}");
    assert_eq!(p[l.gamma.start], 0.25);
    // A target made of the fixed media, the controls, region levels and a shared trend and
    // season: the start recovers the levels, trend and season.
    let mut truth = p.clone();
    truth[l.base.clone()].copy_from_slice(&[0.9, 1.1, 1.3]);
    truth[l.trend.start] = 0.05;
    truth[l.season.clone()].copy_from_slice(&[0.1, -0.05, 0.02, 0.03]);
    let mut made = inp.clone();
    made.target = fixed.forward(&truth, &inp).prediction;
    let start = fixed.init_params(&made, &w, 3);
    for i in l
        .base
        .clone()
        .chain(l.trend.clone())
        .chain(l.season.clone())
    {
        assert!(
            (start[i] - truth[i]).abs() < 1e-7,
            "{i}: {} vs {}",
            start[i],
            truth[i]
        );
    }
    assert!(start[l.region_trend.clone()].iter().all(|v| *v == 0.0));
    // At perturbed parameters, the media blocks get no gradient and every other entry is the
    // free model's (which itself matches central differences elsewhere in these tests).
    let p = perturbed_params(&fixed, &inp, &w, 4);
    let (mut g_fixed, mut g_free) = (vec![0.0; l.len], vec![0.0; l.len]);
    let loss_fixed = fixed.loss_and_grad(&p, &inp, &w, &mut g_fixed).total();
    let loss_free = free.loss_and_grad(&p, &inp, &w, &mut g_free).total();
    assert_eq!(loss_fixed, loss_free);
    let media: Vec<usize> = [
        &l.adstock,
        &l.saturation,
        &l.beta,
        &l.eta,
        &l.effect_head,
        &l.effect_bias,
    ]
    .into_iter()
    .flat_map(|r| r.clone())
    .collect();
    for i in 0..l.len {
        if media.contains(&i) {
            assert_eq!(g_fixed[i], 0.0, "media parameter {i}");
        } else {
            assert_eq!(g_fixed[i], g_free[i], "parameter {i}");
        }
    }
    assert!(media.iter().any(|&i| g_free[i] != 0.0));
    for (bad, controls) in [
        (vec![0.3], vec![0.0]),
        (vec![0.3, -0.1], vec![0.0]),
        (vec![0.3, f64::NAN], vec![0.0]),
        (vec![0.3, 0.1], vec![]),
        (vec![0.3, 0.1], vec![f64::INFINITY]),
    ] {
        let err = Model::new(cfg.clone(), r_n, 2, 1)
            .unwrap()
            .with_fixed_media(bad, controls)
            .unwrap_err();
        assert!(matches!(err, Error::Shape(_)), "{err}");
    }
}

#[test]
fn whole_model_gradient_at_edge_sizes() {
    check_whole_model(12, 1, 4, 1, 0, 0, 1); // one region, no controls, no seasonality
    check_whole_model(13, 2, 1, 3, 1, 2, 2); // one week
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(6))]
    #[test]
    fn whole_model_gradient_on_random_panels(seed in 0u64..1000, r_n in 1usize..4, t_n in 2usize..25, c_n in 1usize..4) {
        check_whole_model(seed, r_n, t_n, c_n, 1, 1, 3);
    }
}

#[test]
fn initial_media_share_is_split_equally_across_channels() {
    for share in [0.05, 0.2, 0.6] {
        let cfg = ModelConfig {
            initial_media_share: share,
            ..ModelConfig::default()
        };
        let model = Model::new(cfg, 3, 4, 1).unwrap();
        let inp = small_inputs(8, 3, 40, 4, 1, 2);
        let w = inp.loss_weights(0..32, &[1.0, 2.0, 0.5]).unwrap();
        let d = model.decompose(&model.init_params(&inp, &w, 3), &inp);
        for c in 0..4 {
            let ch = d.channels.index_axis(ndarray::Axis(0), c);
            let weighted: f64 = ch.iter().zip(w.iter()).map(|(v, w)| v * w).sum::<f64>() / w.sum();
            assert!(
                (weighted - share / 4.0).abs() < 1e-12,
                "channel {c}: {weighted} vs {}",
                share / 4.0
            );
        }
    }
    let bad = ModelConfig {
        initial_media_share: 1.0,
        ..ModelConfig::default()
    };
    let err = Model::new(bad, 1, 1, 0).unwrap_err().to_string();
    assert!(err.contains("initial_media_share"), "{err}");
}

#[test]
fn a_channel_launched_after_the_weighted_weeks_starts_at_most_at_the_media_share() {
    // Channel 1 is off in the weighted weeks 0..32 but for one faint week, then active at the
    // usual level in weeks 32..40: share / (its weighted mean Hill) would give it a start many
    // times the target there. Its coefficient is held where it alone would explain
    // `initial_media_share` at activity 1; the other channels keep their exact share.
    let share = 0.2;
    let cfg = ModelConfig {
        initial_media_share: share,
        ..ModelConfig::default()
    };
    let model = Model::new(cfg, 3, 4, 1).unwrap();
    let mut inp = small_inputs(8, 3, 40, 4, 1, 2);
    for r in 0..3 {
        for t in 0..32 {
            inp.media[[1, r, t]] = if t == 20 { 1e-3 } else { 0.0 };
        }
    }
    let w = inp.loss_weights(0..32, &[1.0, 2.0, 0.5]).unwrap();
    let p = model.init_params(&inp, &w, 3);
    let d = model.decompose(&p, &inp);
    let weighted = |c: usize| {
        let ch = d.channels.index_axis(ndarray::Axis(0), c);
        ch.iter().zip(w.iter()).map(|(v, w)| v * w).sum::<f64>() / w.sum()
    };
    for c in [0, 2, 3] {
        assert!((weighted(c) - share / 4.0).abs() < 1e-12, "channel {c}");
    }
    // The cap binds: channel 1 explains less than its share of the weighted weeks (without the
    // cap exactly share / 4), and where it is active its coefficient is share / Hill(1), where
    // Hill starts at half saturation for activity 1.
    assert!(weighted(1) < 1e-3 * share, "{}", weighted(1));
    let beta = mmm_transforms::param::softplus(p[model.layout().beta.start + 1]);
    assert!((beta - share / 0.5).abs() < 1e-12, "{beta}");
    let launched = d.channels.slice(ndarray::s![1, .., 32..40]);
    let largest = launched.iter().fold(0.0_f64, |m, &v| m.max(v));
    assert!(largest > 0.1 * share && largest < beta, "{largest}");
}

#[test]
fn initial_media_split_weights_the_starting_shares() {
    let weights = [3.0, 1.0, 0.5, 0.5];
    let cfg = ModelConfig {
        initial_media_share: 0.3,
        initial_media_split: Some(weights.to_vec()),
        ..ModelConfig::default()
    };
    let model = Model::new(cfg, 3, 4, 1).unwrap();
    let inp = small_inputs(9, 3, 40, 4, 1, 2);
    let w = inp.loss_weights(0..32, &[1.0, 2.0, 0.5]).unwrap();
    let d = model.decompose(&model.init_params(&inp, &w, 3), &inp);
    for (c, wc) in weights.iter().enumerate() {
        let ch = d.channels.index_axis(ndarray::Axis(0), c);
        let weighted: f64 = ch.iter().zip(w.iter()).map(|(v, w)| v * w).sum::<f64>() / w.sum();
        let expected = 0.3 * wc / 5.0;
        assert!(
            (weighted - expected).abs() < 1e-12,
            "channel {c}: {weighted} vs {expected}"
        );
    }
    for (split, key) in [
        (vec![1.0, 2.0], "2 weights for 4 channels"),
        (vec![1.0, 0.0, 1.0, 1.0], "initial_media_split"),
        (vec![1.0, f64::NAN, 1.0, 1.0], "initial_media_split"),
    ] {
        let cfg = ModelConfig {
            initial_media_split: Some(split),
            ..ModelConfig::default()
        };
        let err = Model::new(cfg, 1, 4, 0).unwrap_err().to_string();
        assert!(err.contains(key), "{err}");
    }
}

#[test]
fn reused_buffers_give_the_same_results_as_fresh_ones() {
    // One model alternates between two panels of different length (the recycled tape must be
    // resized) and the same panel twice (it must be fully overwritten).
    let model = Model::new(ModelConfig::default(), 2, 2, 1).unwrap();
    let long = small_inputs(31, 2, 30, 2, 1, 2);
    let short = small_inputs(32, 2, 12, 2, 1, 2);
    let w_long = long.loss_weights(0..30, &[1.0, 1.0]).unwrap();
    let w_short = short.loss_weights(0..12, &[1.0, 1.0]).unwrap();
    let p = perturbed_params(&model, &long, &w_long, 4);
    let fresh = |inp: &ModelInputs, w: &Array2<f64>| {
        let m = Model::new(ModelConfig::default(), 2, 2, 1).unwrap();
        let mut g = vec![0.0; m.n_params()];
        let (loss, pred) = m.loss_grad_and_prediction(&p, inp, w, &mut g);
        (loss, pred, g)
    };
    for (inp, w) in [
        (&long, &w_long),
        (&short, &w_short),
        (&long, &w_long),
        (&long, &w_long),
    ] {
        let mut g = vec![0.0; model.n_params()];
        let got = model.loss_grad_and_prediction(&p, inp, w, &mut g);
        let want = fresh(inp, w);
        assert_eq!(got.0, want.0);
        assert_eq!(got.1, want.1);
        assert_eq!(g, want.2);
    }
}

#[test]
fn decomposition_sums_to_the_prediction() {
    let model = Model::new(ModelConfig::default(), 4, 3, 2).unwrap();
    let inp = small_inputs(3, 4, 30, 3, 2, 2);
    let w = inp.loss_weights(0..25, &[1.0; 4]).unwrap();
    let p = perturbed_params(&model, &inp, &w, 5);
    let tape = model.forward(&p, &inp);
    let d = model.decompose_tape(&p, &inp, &tape);
    let diff = (&d.total() - &tape.prediction)
        .mapv(f64::abs)
        .fold(0.0f64, |m, v| m.max(*v));
    assert!(
        diff < 1e-12,
        "decomposition misses the prediction by {diff}"
    );
    // Every channel's direct contribution is non-negative (β ≥ 0, multipliers > 0, saturation ≥ 0).
    assert!(d.channels.iter().all(|&v| v >= 0.0));
}

#[test]
fn the_media_factor_times_the_saturated_adstock_is_each_channels_term() {
    // The factor and the transforms' parameters, read through the model's accessors, rebuild
    // the decomposition's channel terms cell by cell; the factor ignores the media (the GRU reads
    // none), so doubling every channel's activity leaves it unchanged.
    for (seed, r_n, t_n, c_n) in [(11, 4, 30, 3), (12, 1, 9, 1), (13, 3, 17, 5)] {
        let model = Model::new(ModelConfig::default(), r_n, c_n, 2).unwrap();
        let inp = small_inputs(seed, r_n, t_n, c_n, 2, 2);
        let w = inp.loss_weights(0..t_n - 2, &vec![1.0; r_n]).unwrap();
        let p = perturbed_params(&model, &inp, &w, seed);
        let tape = model.forward(&p, &inp);
        let d = model.decompose_tape(&p, &inp, &tape);
        let k = model.media_factor(&p, &tape);
        assert_eq!(k.dim(), (c_n, r_n, t_n));
        assert!(k.iter().all(|&v| v > 0.0 && v.is_finite()));
        for c in 0..c_n {
            let x = inp.media.index_axis(Axis(0), c);
            let mut a = Array2::zeros(x.dim());
            model
                .adstock(c)
                .forward(model.adstock_params(&p, c), x, a.view_mut());
            for ((r, t), &av) in a.indexed_iter() {
                let s = model.saturation(c).eval(model.saturation_params(&p, c), av);
                let want = d.channels[[c, r, t]];
                assert!(
                    (k[[c, r, t]] * s - want).abs() <= 1e-12 * want.abs().max(1e-12),
                    "seed {seed}, channel {c}, cell ({r}, {t})"
                );
            }
        }
        let doubled = inp.with_media(inp.media.mapv(|v| 2.0 * v));
        assert_eq!(model.media_factor(&p, &model.forward(&p, &doubled)), k);
    }
}

#[test]
fn huber_loss_gradient_on_both_branches() {
    let model = Model::new(
        ModelConfig {
            huber_delta: 0.1,
            ..ModelConfig::default()
        },
        2,
        1,
        0,
    )
    .unwrap();
    let inp = small_inputs(21, 2, 15, 1, 0, 1);
    let w = inp.loss_weights(0..15, &[1.0, 2.0]).unwrap();
    // Predictions placed away from the kinks |e| = δ so that the derivative is defined.
    let raw = seeded_uniform(22, 30, -0.5, 0.5);
    let pred0: Vec<f64> = raw
        .iter()
        .enumerate()
        .map(|(i, &e)| {
            let e = if (e.abs() - 0.1).abs() < 0.02 {
                e * 1.5
            } else {
                e
            };
            inp.target.as_slice().unwrap()[i] + e
        })
        .collect();
    let (_, g) = model.data_loss(
        &Array2::from_shape_vec((2, 15), pred0.clone()).unwrap(),
        &inp,
        &w,
    );
    let loss = |q: &[f64]| {
        model
            .data_loss(
                &Array2::from_shape_vec((2, 15), q.to_vec()).unwrap(),
                &inp,
                &w,
            )
            .0
    };
    assert_gradient(loss, &pred0, g.as_slice().unwrap(), 1e-6);
    assert!(
        raw.iter().any(|e| e.abs() > 0.12) && raw.iter().any(|e| e.abs() < 0.08),
        "both branches exercised"
    );
}

#[test]
fn inputs_reject_negative_media_and_bad_shapes() {
    let media = Array3::from_elem((1, 3, 1), -1.0);
    let controls = Array3::zeros((1, 3, 0));
    let target = Array2::ones((1, 3));
    let observed = Array2::from_elem((1, 3), true);
    let err = ModelInputs::new(&media, &controls, &target, &observed, &[0.0; 3], 2, 1).unwrap_err();
    assert!(matches!(err, Error::Input(_)), "{err}");
    let err = ModelInputs::new(
        &media.mapv(|_| 1.0),
        &controls,
        &target,
        &observed,
        &[0.0; 2],
        2,
        1,
    )
    .unwrap_err();
    assert!(matches!(err, Error::Shape(_)), "{err}");
}

#[test]
fn channel_dag_finds_a_planted_edge_and_interventions_propagate() {
    use crate::causal::adstock_all;
    let (r_n, t_n) = (6, 80);
    // Channel 0 drives channel 1 through its adstock; channel 2 is independent.
    let own = seeded_uniform(31, r_n * t_n * 3, 0.0, 2.0);
    let mut media = Array3::from_shape_vec((r_n, t_n, 3), own).unwrap();
    let model = Model::new(
        ModelConfig {
            fourier_harmonics: 0,
            ..ModelConfig::default()
        },
        r_n,
        3,
        0,
    )
    .unwrap();
    let probe = media_only_inputs(&media, &vec![0.0; t_n], 0);
    let w = probe.loss_weights(0..t_n, &vec![1.0; r_n]).unwrap();
    let p = model.init_params(&probe, &w, 1);
    let ad0 = adstock_all(&model, &p, &probe);
    for r in 0..r_n {
        for t in 0..t_n {
            media[[r, t, 1]] = 0.3 * media[[r, t, 1]] + 1.5 * ad0[[0, r, t]];
        }
    }
    let inp = media_only_inputs(&media, &vec![0.0; t_n], 0);
    let dag = fit_channel_dag(&model, &p, &inp, 0..t_n, &DagConfig::default()).unwrap();
    let edges: Vec<(usize, usize)> = (0..3)
        .flat_map(|i| (0..3).map(move |j| (i, j)))
        .filter(|&(i, j)| dag.weights[i][j] != 0.0)
        .collect();
    assert_eq!(edges, vec![(0, 1)], "weights {:?}", dag.standardized);
    assert!(
        (dag.weights[0][1] - 1.5).abs() < 0.15,
        "edge weight {} should be near 1.5",
        dag.weights[0][1]
    );

    // Switching channel 0 off lowers channel 1 by W·ã₀ (clipped at 0) and leaves channel 2 alone.
    let ad = adstock_all(&model, &p, &inp);
    let off = dag.intervene(
        &model,
        &p,
        &inp.media,
        &ad,
        0,
        Array2::zeros((r_n, t_n)).view(),
    );
    for r in 0..r_n {
        for t in 0..t_n {
            let expect = (inp.media[[1, r, t]] - dag.weights[0][1] * ad[[0, r, t]]).max(0.0);
            assert!((off[[1, r, t]] - expect).abs() < 1e-12);
            assert_eq!(off[[2, r, t]], inp.media[[2, r, t]]);
            assert_eq!(off[[0, r, t]], 0.0);
        }
    }
}

/// A model without calendar terms or controls for `media` (`[region, week, channel]`), its
/// starting parameters and its media-only inputs: what the channel-DAG tests fit.
fn media_only_model(media: &Array3<f64>) -> (Model, Vec<f64>, ModelInputs) {
    let (r_n, t_n, c_n) = media.dim();
    let model = Model::new(
        ModelConfig {
            fourier_harmonics: 0,
            ..ModelConfig::default()
        },
        r_n,
        c_n,
        0,
    )
    .unwrap();
    let inp = media_only_inputs(media, &vec![0.0; t_n], 0);
    let w = inp.loss_weights(0..t_n, &vec![1.0; r_n]).unwrap();
    let p = model.init_params(&inp, &w, 1);
    (model, p, inp)
}

/// Media `[region, week, channel]` of 4 channels where 0 → 1 → 2 act through the adstocked
/// activity of the parent (weights 1.5 and 1.2 in scaled-activity units) and 3 is independent,
/// with the model and parameters the DAG is fitted with.
fn planted_chain() -> (Model, Vec<f64>, ModelInputs) {
    use crate::causal::adstock_all;
    let (r_n, t_n, c_n) = (6, 80, 4);
    let own = seeded_uniform(37, r_n * t_n * c_n, 0.0, 2.0);
    let mut media = Array3::from_shape_vec((r_n, t_n, c_n), own).unwrap();
    let (model, p, _) = media_only_model(&media);
    for (parent, child, weight) in [(0, 1, 1.5), (1, 2, 1.2)] {
        let ad = adstock_all(&model, &p, &media_only_inputs(&media, &vec![0.0; t_n], 0));
        for r in 0..r_n {
            for t in 0..t_n {
                media[[r, t, child]] = 0.3 * media[[r, t, child]] + weight * ad[[parent, r, t]];
            }
        }
    }
    let inp = media_only_inputs(&media, &vec![0.0; t_n], 0);
    (model, p, inp)
}

#[test]
fn channel_dag_recovers_a_planted_chain_under_notears_and_dagma() {
    let (model, p, inp) = planted_chain();
    let t_n = inp.n_weeks();
    for acyclicity in [AcyclicityKind::Notears, AcyclicityKind::Dagma] {
        let cfg = DagConfig {
            acyclicity,
            ..DagConfig::default()
        };
        let dag = fit_channel_dag(&model, &p, &inp, 0..t_n, &cfg).unwrap();
        let edges: Vec<(usize, usize)> = (0..4)
            .flat_map(|i| (0..4).map(move |j| (i, j)))
            .filter(|&(i, j)| dag.weights[i][j] != 0.0)
            .collect();
        assert_eq!(
            edges,
            vec![(0, 1), (1, 2)],
            "{acyclicity:?}: weights {:?}",
            dag.standardized
        );
        for (i, j, planted) in [(0, 1, 1.5), (1, 2, 1.2)] {
            assert!(
                (dag.weights[i][j] - planted).abs() < 0.15 * planted,
                "{acyclicity:?}: edge {i}→{j} weight {} should be near {planted}",
                dag.weights[i][j]
            );
        }
        // The default 12 rounds leave h ≈ 1e-6 here under either function; the reverse scores
        // then stay 50 times below the 0.1 threshold, so no cycle needed breaking.
        assert!(dag.h < 1e-5, "{acyclicity:?}: h = {:e}", dag.h);
        for (i, j) in [(1, 0), (2, 1), (2, 0)] {
            assert!(
                dag.scores[i][j] < 0.01,
                "{acyclicity:?}: reverse score {i}→{j} = {}",
                dag.scores[i][j]
            );
        }
        let order = dag.order();
        let pos = |c: usize| order.iter().position(|&o| o == c).unwrap();
        assert!(
            pos(0) < pos(1) && pos(1) < pos(2),
            "{acyclicity:?}: {order:?}"
        );
    }
}

#[test]
fn steps_outside_the_dagma_domain_are_halved_back_inside() {
    use crate::causal::value_and_grad_in_domain;
    // A 2-cycle of weight 1.5: ρ(W∘W) = 2.25 ≥ s = 1. One halving towards 0 gives 0.75,
    // ρ = 0.5625 < 1: inside.
    let dagma = mmm_dag::Dagma { s: 1.0 };
    let mut w = vec![0.0, 1.5, 1.5, 0.0];
    let mut grad = Array2::zeros((2, 2));
    let h = value_and_grad_in_domain(&dagma, &mut w, &[0.0; 4], grad.view_mut()).unwrap();
    assert_eq!(w, vec![0.0, 0.75, 0.75, 0.0]);
    let inside = Array2::from_shape_vec((2, 2), w.clone()).unwrap();
    let mut expected_grad = Array2::zeros((2, 2));
    let expected =
        mmm_dag::Acyclicity::value_and_grad(&dagma, inside.view(), expected_grad.view_mut())
            .unwrap();
    assert_eq!(h, expected);
    assert_eq!(grad, expected_grad);
    // A point far outside is pulled back onto the segment, just inside: from (0, 1e9, 1e9, 0)
    // towards (0, 0.5, 0.5, 0), the 31st halving is the first below 1.
    let mut far = vec![0.0, 1e9, 1e9, 0.0];
    value_and_grad_in_domain(&dagma, &mut far, &[0.0, 0.5, 0.5, 0.0], grad.view_mut()).unwrap();
    assert_eq!(far[1], far[2]);
    assert!(far[1] > 0.5 && far[1] < 1.0, "{far:?}");
    assert_eq!(far[1], 0.5 + (1e9 - 0.5) / 2f64.powi(31), "{far:?}");
    // A caller whose "inside" point is not inside gets a typed error after the bounded number of
    // halvings, not a loop.
    let mut w = vec![0.0, 3.0, 3.0, 0.0];
    let err = value_and_grad_in_domain(&dagma, &mut w, &[0.0, 2.0, 2.0, 0.0], grad.view_mut())
        .unwrap_err();
    assert!(matches!(err, Error::Input(_)), "{err}");
    assert_eq!(w, vec![0.0, 2.0, 2.0, 0.0]);
    // NOTEARS is defined everywhere: the point is not moved.
    let mut w = vec![0.0, 1.5, 1.5, 0.0];
    value_and_grad_in_domain(&mmm_dag::Notears, &mut w, &[0.0; 4], grad.view_mut()).unwrap();
    assert_eq!(w, vec![0.0, 1.5, 1.5, 0.0]);
}

#[test]
fn shared_seasonal_flighting_is_not_read_as_a_channel_edge() {
    // Two channels follow the same yearly pattern (plus independent noise) but do not cause each
    // other: after the calendar seasonality is removed, no edge may remain.
    let (r_n, t_n) = (4, 156);
    let noise = seeded_uniform(41, r_n * t_n * 2, -0.2, 0.2);
    let year: Vec<f64> = (0..t_n)
        .map(|t| (t as f64 * 7.0 / 365.25).fract())
        .collect();
    let media = Array3::from_shape_fn((r_n, t_n, 2), |(r, t, c)| {
        1.0 + 0.8 * (2.0 * std::f64::consts::PI * year[t]).sin() + noise[(r * t_n + t) * 2 + c]
    });
    let model = Model::new(
        ModelConfig {
            fourier_harmonics: 2,
            ..ModelConfig::default()
        },
        r_n,
        2,
        0,
    )
    .unwrap();
    let inp = media_only_inputs(&media, &year, 2);
    let w = inp.loss_weights(0..t_n, &vec![1.0; r_n]).unwrap();
    let p = model.init_params(&inp, &w, 3);
    let dag = fit_channel_dag(&model, &p, &inp, 0..t_n, &DagConfig::default()).unwrap();
    assert!(
        dag.weights.iter().flatten().all(|&v| v == 0.0),
        "spurious edges: {:?}",
        dag.standardized
    );
}

/// `regions` independent AR(1) series per channel (coefficient `phi`, uniform innovations), shifted
/// to stay positive, `[region, week, channel]`.
fn ar1_media(seed: u64, regions: usize, weeks: usize, channels: usize, phi: f64) -> Array3<f64> {
    let u = seeded_uniform(seed, regions * weeks * channels, -1.0, 1.0);
    let mut m = Array3::zeros((regions, weeks, channels));
    for r in 0..regions {
        for c in 0..channels {
            let mut x = 0.0;
            for t in 0..weeks {
                x = phi * x + u[(r * weeks + t) * channels + c];
                m[[r, t, c]] = 5.0 + x;
            }
        }
    }
    m
}

#[test]
fn lag1_autocorrelation_recovers_ar1_and_ignores_region_boundaries() {
    use crate::causal::lag1_autocorrelation;
    for (seed, phi) in [(61, 0.0), (62, 0.5), (63, 0.9)] {
        let m = ar1_media(seed, 20, 200, 1, phi);
        let cells: Vec<(usize, usize)> = (0..20)
            .flat_map(|r| (0..200).map(move |t| (r, t)))
            .collect();
        let mut col =
            Array2::from_shape_fn((cells.len(), 1), |(k, _)| m[[cells[k].0, cells[k].1, 0]]);
        for r in 0..20 {
            let mean = col
                .slice(ndarray::s![r * 200..(r + 1) * 200, 0])
                .mean()
                .unwrap();
            col.slice_mut(ndarray::s![r * 200..(r + 1) * 200, 0])
                .mapv_inplace(|v| v - mean);
        }
        let rho = lag1_autocorrelation(&col, &cells)[0];
        assert!((rho - phi).abs() < 0.05, "phi {phi}: estimated {rho}");
    }
    // Alternating blocks: +1 in even regions, −1 in odd ones, constant within a region. Across a
    // region boundary the sign flips; within regions consecutive weeks agree, so ρ = 1 only if
    // boundaries are skipped.
    let cells: Vec<(usize, usize)> = (0..4).flat_map(|r| (0..3).map(move |t| (r, t))).collect();
    let col = Array2::from_shape_fn((12, 1), |(k, _)| {
        if cells[k].0.is_multiple_of(2) {
            1.0
        } else {
            -1.0
        }
    });
    assert_eq!(lag1_autocorrelation(&col, &cells), vec![1.0]);
}

#[test]
fn dag_config_rejects_negative_or_non_finite_values_by_name() {
    assert!(DagConfig::default().validate().is_ok());
    for (cfg, key) in [
        (
            DagConfig {
                edge_z: -1.0,
                ..DagConfig::default()
            },
            "dag.edge_z",
        ),
        (
            DagConfig {
                threshold: f64::NAN,
                ..DagConfig::default()
            },
            "dag.threshold",
        ),
        (
            DagConfig {
                lambda: -0.1,
                ..DagConfig::default()
            },
            "dag.lambda",
        ),
        (
            DagConfig {
                max_rounds: 0,
                ..DagConfig::default()
            },
            "dag.max_rounds",
        ),
    ] {
        let err = cfg.validate().unwrap_err().to_string();
        assert!(err.contains(key), "{err}");
    }
    // A disabled DAG needs no rounds.
    assert!(
        DagConfig {
            enabled: false,
            max_rounds: 0,
            ..DagConfig::default()
        }
        .validate()
        .is_ok()
    );
}

#[test]
fn dag_config_reads_the_acyclicity_function_and_defaults_to_notears() {
    // Model files written before the key existed carry a `dag` table without it.
    let old: DagConfig = serde_json::from_str(r#"{"enabled": true, "lambda": 0.02}"#).unwrap();
    assert_eq!(old.acyclicity, AcyclicityKind::Notears);
    let dagma: DagConfig = serde_json::from_str(r#"{"acyclicity": "dagma"}"#).unwrap();
    assert_eq!(dagma.acyclicity, AcyclicityKind::Dagma);
    assert_eq!(serde_json::to_value(&dagma).unwrap()["acyclicity"], "dagma");
    let err = serde_json::from_str::<DagConfig>(r#"{"acyclicity": "cyclic"}"#).unwrap_err();
    assert!(err.to_string().contains("cyclic"), "{err}");
}

#[test]
fn week_share_is_one_for_a_shared_schedule_and_about_one_over_r_for_regional_noise() {
    use crate::causal::week_share;
    let (r_n, t_n) = (20, 100);
    let cells: Vec<(usize, usize)> = (0..r_n)
        .flat_map(|r| (0..t_n).map(move |t| (r, t)))
        .collect();
    let common = seeded_uniform(81, t_n, -1.0, 1.0);
    let noise = seeded_uniform(82, r_n * t_n, -1.0, 1.0);
    let m = Array2::from_shape_fn((r_n * t_n, 2), |(k, c)| {
        let (_, t) = cells[k];
        if c == 0 { common[t] } else { noise[k] }
    });
    let s = week_share(&m, &cells);
    assert!((s[0] - 1.0).abs() < 1e-12, "shared schedule: {}", s[0]);
    let expected = 1.0 / r_n as f64;
    assert!(
        s[1] > 0.5 * expected && s[1] < 2.0 * expected,
        "regional noise: {}",
        s[1]
    );
}

/// Number of edges of the channel DAG fitted to `media` (`[region, week, channel]`, no calendar
/// terms) with the default settings, and with the effective-sample test off (`edge_z = 0`).
fn dag_edges_with_and_without_test(media: &Array3<f64>) -> (usize, usize) {
    let t_n = media.dim().1;
    let (model, p, inp) = media_only_model(media);
    let count = |cfg: &DagConfig| {
        let dag = fit_channel_dag(&model, &p, &inp, 0..t_n, cfg).unwrap();
        dag.weights.iter().flatten().filter(|&&v| v != 0.0).count()
    };
    let without = DagConfig {
        edge_z: 0.0,
        ..DagConfig::default()
    };
    (count(&DagConfig::default()), count(&without))
}

#[test]
fn national_schedules_repeated_in_many_regions_get_no_spurious_edge() {
    // 30 regions repeat three independent national AR(1) schedules (plus a little regional
    // noise): 100 weeks of evidence, not 3 000. The design effect must drop the chance edges
    // that the same data give without the test (edge_z = 0).
    let (r_n, t_n) = (30, 100);
    let (mut with_test, mut without_test) = (0, 0);
    for seed in 0..10 {
        let national = ar1_media(900 + seed, 1, t_n, 3, 0.9);
        let noise = seeded_uniform(950 + seed, r_n * t_n * 3, -0.1, 0.1);
        let media = Array3::from_shape_fn((r_n, t_n, 3), |(r, t, c)| {
            national[[0, t, c]] + noise[(r * t_n + t) * 3 + c]
        });
        let (with, without) = dag_edges_with_and_without_test(&media);
        with_test += with;
        without_test += without;
    }
    assert!(
        without_test >= 4,
        "the data should tempt the fit: {without_test} edges"
    );
    assert!(with_test <= 1, "{with_test} spurious edges over 10 panels");
}

#[test]
fn autocorrelated_channels_of_one_region_get_no_spurious_edge() {
    // One region, 143 weeks, three channels that are independent but strongly autocorrelated
    // (AR(1), 0.9): their sample cross-regressions are far from zero by chance. The effective
    // sample-size test must drop those edges; without it (edge_z = 0) the same data give edges.
    let (mut with_test, mut without_test) = (0, 0);
    for seed in 0..10 {
        let (with, without) =
            dag_edges_with_and_without_test(&ar1_media(700 + seed, 1, 143, 3, 0.9));
        with_test += with;
        without_test += without;
    }
    assert!(
        without_test >= 5,
        "the data should tempt the fit: {without_test} edges"
    );
    assert!(with_test <= 1, "{with_test} spurious edges over 10 panels");
}

/// Two lift tests on random cells of a small panel: a contribution test of channel 0, and one of
/// the last channel that compared the data's activity with the activity times random factors in
/// [0, 2] (a heavy-up or scale-down test).
fn with_lift_tests(inp: ModelInputs, seed: u64, scale: f64) -> ModelInputs {
    let (r_n, t_n, c_n) = (inp.n_regions(), inp.n_weeks(), inp.n_channels());
    let tests = [0, c_n - 1]
        .iter()
        .enumerate()
        .map(|(i, &channel)| {
            let u = seeded_uniform(seed + 20 + i as u64, r_n * t_n, -1.0, 2.0);
            // About a third of the cells are outside the test (weight 0).
            let cells =
                Array2::from_shape_vec((r_n, t_n), u.iter().map(|v| v.max(0.0)).collect()).unwrap();
            let cells = if cells.sum() == 0.0 {
                Array2::ones((r_n, t_n))
            } else {
                cells
            };
            let factors = seeded_uniform(seed + 30, r_n * t_n, 0.0, 2.0);
            LiftTest {
                channel,
                cells,
                counterfactual: (i == 1)
                    .then(|| Array2::from_shape_vec((r_n, t_n), factors).unwrap()),
                lift: 0.3 + i as f64,
                se: 0.2 + 0.1 * i as f64,
            }
        })
        .collect();
    inp.with_calibration(Calibration { tests, scale }).unwrap()
}

/// The whole-model gradient check with two lift tests whose measured lifts sit near the model's
/// answers (|z| = 0.5 and 1), as in a calibrated fit. Far-off lifts make the loss large relative
/// to its smallest gradient coordinates, and the finite differences' round-off (∝ |loss| / step)
/// then exceeds 1e-6 of them although the analytic gradient is right (seed 682, 2 × 2 × 3: z ≈ 3
/// gave 1.2e-6 at step 1e-3, growing as the step shrinks).
fn check_gradient_with_lift_tests(seed: u64, r_n: usize, t_n: usize, c_n: usize) {
    let cfg = ModelConfig {
        hidden: 3,
        fourier_harmonics: 1,
        huber_delta: 50.0,
        ..ModelConfig::default()
    };
    let model = Model::new(cfg, r_n, c_n, 1).unwrap();
    let mut inp = with_lift_tests(small_inputs(seed, r_n, t_n, c_n, 1, 1), seed, 0.7);
    let w = inp.loss_weights(0..t_n, &vec![1.0; r_n]).unwrap();
    let p = perturbed_params(&model, &inp, &w, seed);
    let answers = model.lift_answers(&p, &inp, &model.forward(&p, &inp));
    let cal = inp.calibration.as_mut().unwrap();
    for ((test, answer), z) in cal.tests.iter_mut().zip(&answers).zip([0.5, -1.0]) {
        test.se = 0.1 * answer.abs() + 0.05;
        test.lift = answer - z * test.se;
    }
    let mut grad = vec![0.0; model.n_params()];
    let loss = model.loss_and_grad(&p, &inp, &w, &mut grad);
    assert!(loss.calibration > 0.0);
    assert_gradient(|q| model.loss(q, &inp, &w).total(), &p, &grad, 1e-6);
}

#[test]
fn whole_model_gradient_with_lift_tests_at_the_case_that_exposed_round_off() {
    check_gradient_with_lift_tests(682, 2, 2, 3);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]
    #[test]
    fn whole_model_gradient_with_lift_tests(seed in 0u64..1000, r_n in 1usize..4, t_n in 2usize..20, c_n in 1usize..4) {
        check_gradient_with_lift_tests(seed, r_n, t_n, c_n);
    }
}

#[test]
fn lift_answers_are_the_channel_contribution_over_the_tested_cells() {
    let model = Model::new(ModelConfig::default(), 3, 2, 1).unwrap();
    let inp = with_lift_tests(small_inputs(5, 3, 30, 2, 1, 2), 5, 1.0);
    let w = inp.loss_weights(0..25, &[1.0, 1.0, 1.0]).unwrap();
    let p = perturbed_params(&model, &inp, &w, 5);
    let tape = model.forward(&p, &inp);
    let d = model.decompose_tape(&p, &inp, &tape);
    let answers = model.lift_answers(&p, &inp, &tape);
    let cal = inp.calibration.as_ref().unwrap();
    assert!(cal.tests.iter().any(|t| t.counterfactual.is_some()));
    for (test, answer) in cal.tests.iter().zip(&answers) {
        let channel = |d: &Decomposition| {
            &d.channels.index_axis(ndarray::Axis(0), test.channel) * &test.cells
        };
        // A counterfactual test: the difference to the model run on the counterfactual media.
        let compared = test.counterfactual.as_ref().map_or(0.0, |f| {
            let mut media = inp.media.clone();
            let mut x = media.index_axis_mut(ndarray::Axis(0), test.channel);
            x *= f;
            let other = inp.with_media(media);
            channel(&model.decompose_tape(&p, &other, &model.forward(&p, &other))).sum()
        });
        let expected: f64 = channel(&d).sum() - compared;
        assert!(
            (answer - expected).abs() <= 1e-12 * expected.abs().max(1.0),
            "{answer} vs {expected}"
        );
    }
    // The loss term is κ Σ (C − L)² / (2 se²).
    let expected: f64 = cal
        .tests
        .iter()
        .zip(&answers)
        .map(|(t, c)| 0.5 * ((c - t.lift) / t.se).powi(2))
        .sum();
    let loss = model.loss(&p, &inp, &w);
    assert!((loss.calibration - expected).abs() <= 1e-12 * expected);
    // Without tests the term is zero and nothing else changes.
    let mut plain = inp.clone();
    plain.calibration = None;
    let base = model.loss(&p, &plain, &w);
    assert_eq!(base.calibration, 0.0);
    assert_eq!((base.data, base.penalty), (loss.data, loss.penalty));
}

#[test]
fn lift_tests_that_do_not_fit_the_inputs_are_refused() {
    let inp = small_inputs(1, 2, 10, 2, 1, 1);
    let good = LiftTest {
        channel: 1,
        cells: Array2::ones((2, 10)),
        counterfactual: Some(Array2::from_elem((2, 10), 0.5)),
        lift: 1.0,
        se: 0.5,
    };
    for (bad, msg) in [
        (
            LiftTest {
                channel: 2,
                ..good.clone()
            },
            "channel index 2",
        ),
        (
            LiftTest {
                cells: Array2::ones((2, 9)),
                ..good.clone()
            },
            "cells are",
        ),
        (
            LiftTest {
                cells: Array2::zeros((2, 10)),
                ..good.clone()
            },
            "not all zero",
        ),
        (
            LiftTest {
                se: 0.0,
                ..good.clone()
            },
            "se finite and > 0",
        ),
        (
            LiftTest {
                counterfactual: Some(Array2::ones((1, 10))),
                ..good.clone()
            },
            "counterfactual factors are",
        ),
        (
            LiftTest {
                counterfactual: Some(Array2::from_elem((2, 10), f64::INFINITY)),
                ..good.clone()
            },
            "factors must be finite",
        ),
        (
            LiftTest {
                lift: f64::NAN,
                ..good.clone()
            },
            "lift must be finite",
        ),
    ] {
        let err = inp
            .clone()
            .with_calibration(Calibration {
                tests: vec![bad],
                scale: 1.0,
            })
            .unwrap_err()
            .to_string();
        assert!(err.contains(msg), "{err}");
    }
    assert!(
        inp.with_calibration(Calibration {
            tests: vec![good],
            scale: 1.0
        })
        .is_ok()
    );
}

/// Reading the structural terms and writing them back into a vector of other values
/// reproduces the original vector on those blocks (β through its softplus pre-image, to
/// rounding) and leaves the GRU and its heads of the target vector untouched.
#[test]
fn structural_terms_round_trip_and_leave_the_network_alone() {
    for (regions, channels, controls) in [(1, 1, 0), (3, 4, 2)] {
        let model = Model::new(ModelConfig::default(), regions, channels, controls).unwrap();
        let n = model.n_params();
        let p = seeded_uniform(10 + regions as u64, n, -2.0, 2.0);
        let q = seeded_uniform(20 + regions as u64, n, -2.0, 2.0);
        let s = model.structural(&p);
        let mut written = q.clone();
        model.set_structural(&mut written, &s);
        let l = model.layout();
        let network = [
            l.gru.clone(),
            l.h0.clone(),
            l.effect_head.clone(),
            l.effect_bias.clone(),
            l.base_head.clone(),
            l.base_bias.clone(),
        ];
        for i in 0..n {
            if network.iter().any(|b| b.contains(&i)) {
                assert_eq!(written[i], q[i], "network parameter {i} changed");
            } else {
                assert!(
                    (written[i] - p[i]).abs() <= 1e-12 * (1.0 + p[i].abs()),
                    "parameter {i}: {} written, {} read",
                    written[i],
                    p[i]
                );
            }
        }
        assert_eq!(model.structural(&written).eta, s.eta);
        assert_eq!(s.beta, model.media_coefficients(&p));
    }
}

/// With both heads neutral the prediction is the structural terms alone: it does not move
/// when the GRU weights change; keeping the baseline head lets them reach it again.
#[test]
fn neutral_modulation_takes_the_network_out_of_the_prediction() {
    let inp = small_inputs(40, 2, 24, 3, 1, 2);
    let model = Model::new(ModelConfig::default(), 2, 3, 1).unwrap();
    let n = model.n_params();
    let l = model.layout().clone();
    let p = seeded_uniform(5, n, -0.5, 0.5);
    let mut other_gru = p.clone();
    other_gru[l.gru.clone()].copy_from_slice(&seeded_uniform(6, l.gru.len(), -0.5, 0.5));
    let predict = |v: &[f64], keep| {
        let mut v = v.to_vec();
        model.neutral_modulation(&mut v, keep);
        model.forward(&v, &inp).prediction
    };
    assert_eq!(predict(&p, false), predict(&other_gru, false));
    assert_ne!(predict(&p, true), predict(&other_gru, true));
}
