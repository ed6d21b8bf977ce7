//! Tests of the log density (gradient against central differences, priors' Jacobians), the
//! sampler (reproducibility across thread counts, recovery on data drawn from the model) and the
//! channel quantities.

use crate::density::{EffectPrior, PosteriorData, PosteriorModel};
use crate::priors::{Likelihood, Priors, beta_logp, lognormal_softplus};
use crate::quantities::channel_draws;
use crate::sample::{Settings, sample};
use mmm_model::{Model, ModelConfig};
use mmm_testkit::{assert_gradient, seeded_uniform};
use mmm_transforms::{GeometricAdstock, WeibullAdstock};
use ndarray::{Array2, Array3};

/// Random scaled data: `r` regions, `t` weeks (the last `holdout` outside the likelihood),
/// `c` channels (about a fifth of the media cells zero), `k` controls, a few unobserved cells.
fn random_data(seed: u64, r: usize, t: usize, c: usize, k: usize, holdout: usize) -> PosteriorData {
    let u = |s: u64, n: usize, lo: f64, hi: f64| seeded_uniform(seed * 100 + s, n, lo, hi);
    let media_raw = u(1, c * r * t, -0.5, 2.5);
    let media =
        Array3::from_shape_vec((c, r, t), media_raw.iter().map(|v| v.max(0.0)).collect()).unwrap();
    let controls = Array3::from_shape_vec((k, r, t), u(2, k * r * t, -2.0, 2.0)).unwrap();
    let target = Array2::from_shape_vec((r, t), u(3, r * t, 0.5, 1.5)).unwrap();
    let holes = u(4, r * t, 0.0, 1.0);
    let observed = Array2::from_shape_fn((r, t), |(i, j)| holes[i * t + j] > 0.08);
    let fourier = Array2::from_shape_fn((t, 4), |(w, f)| {
        let angle = 2.0 * std::f64::consts::PI * (f / 2 + 1) as f64 * w as f64 / 52.0;
        if f % 2 == 0 { angle.sin() } else { angle.cos() }
    });
    let tau = (0..t)
        .map(|w| (w as f64 - (t - holdout - 1) as f64) / 52.0)
        .collect();
    let offset = Array2::from_shape_vec((r, t), u(5, r * t, -0.1, 0.1)).unwrap();
    PosteriorData {
        media,
        controls,
        target,
        observed,
        fourier,
        tau,
        offset,
        train_weeks: t - holdout,
        region_means: u(6, r, 10.0, 100.0),
        spend: u(7, c, 50.0, 500.0),
    }
}

fn posterior(data: PosteriorData, adstock: &str, likelihood: Likelihood) -> PosteriorModel {
    let (c, r, _) = data.media.dim();
    let k = data.controls.dim().0;
    let config = ModelConfig {
        adstock: adstock.into(),
        ..ModelConfig::default()
    };
    let model = Model::new(config, r, c, k).unwrap();
    PosteriorModel::new(model, data, Priors::default(), likelihood).unwrap()
}

fn check_gradient(model: &PosteriorModel, seed: u64) {
    let theta = seeded_uniform(seed, model.dim(), -1.0, 1.0);
    let mut ws = model.workspace();
    let mut grad = vec![0.0; model.dim()];
    let lp = model.logp_and_grad(&theta, &mut grad, &mut ws);
    assert!(lp.is_finite());
    let mut scratch = vec![0.0; model.dim()];
    let mut ws2 = model.workspace();
    assert_gradient(
        |q| model.logp_and_grad(q, &mut scratch, &mut ws2),
        &theta,
        &grad,
        1e-6,
    );
}

#[test]
fn gradient_matches_central_differences_one_region() {
    for (seed, kind) in [(1, WeibullAdstock::NAME), (2, GeometricAdstock::NAME)] {
        let model = posterior(random_data(seed, 1, 40, 3, 2, 6), kind, Likelihood::Normal);
        assert!(model.layout().log_tau.is_empty() && model.layout().eps.is_empty());
        check_gradient(&model, seed);
    }
}

#[test]
fn gradient_matches_central_differences_several_regions() {
    for (seed, kind, lik) in [
        (3, WeibullAdstock::NAME, Likelihood::Normal),
        (4, GeometricAdstock::NAME, Likelihood::StudentT { nu: 4.0 }),
        (5, WeibullAdstock::NAME, Likelihood::StudentT { nu: 10.0 }),
    ] {
        let model = posterior(random_data(seed, 4, 30, 3, 1, 5), kind, lik);
        assert_eq!(model.layout().eps.len(), 12);
        check_gradient(&model, seed);
    }
}

#[test]
fn gradient_matches_at_edge_sizes() {
    // One channel, no controls, one training week followed by holdout weeks.
    let model = posterior(
        random_data(6, 2, 8, 1, 0, 7),
        WeibullAdstock::NAME,
        Likelihood::Normal,
    );
    check_gradient(&model, 6);
    let model = posterior(
        random_data(7, 1, 3, 1, 0, 0),
        GeometricAdstock::NAME,
        Likelihood::Normal,
    );
    check_gradient(&model, 7);
}

/// Lift tests on `data`: a contribution test of channel 0 over weeks 2..=6 in every region, and
/// a heavy-up test (1.5×) of the last channel over weeks 4..=5 of region 0 read out to the last
/// week (holdout weeks included).
fn lift_tests(data: &PosteriorData) -> Vec<mmm_model::LiftTest> {
    let (c, r, t) = data.media.dim();
    let mut cells = Array2::zeros((r, t));
    for i in 0..r {
        for w in 2..=6.min(t - 1) {
            cells[[i, w]] = data.region_means[i];
        }
    }
    let contribution = mmm_model::LiftTest {
        channel: 0,
        cells,
        counterfactual: None,
        lift: 30.0,
        se: 10.0,
    };
    let mut cells = Array2::zeros((r, t));
    let mut factors = Array2::ones((r, t));
    for w in 4.min(t - 1)..t {
        cells[[0, w]] = data.region_means[0];
    }
    for w in 4.min(t - 1)..=5.min(t - 1) {
        factors[[0, w]] = 1.0 / 1.5;
    }
    let heavy_up = mmm_model::LiftTest {
        channel: c - 1,
        cells,
        counterfactual: Some(factors),
        lift: 5.0,
        se: 2.0,
    };
    vec![contribution, heavy_up]
}

#[test]
fn gradient_matches_with_lift_tests_and_channel_priors() {
    for (seed, regions, kind) in [
        (13, 1, WeibullAdstock::NAME),
        (14, 3, GeometricAdstock::NAME),
    ] {
        let data = random_data(seed, regions, 30, 3, 1, 5);
        let tests = lift_tests(&data);
        let mut model = posterior(data, kind, Likelihood::Normal)
            .with_lift_tests(tests)
            .unwrap();
        model
            .set_effect_prior(1, EffectPrior::from_mean_sd(0.2, 0.05).unwrap())
            .unwrap();
        check_gradient(&model, seed);
    }
}

fn pooled_posterior(
    seed: u64,
    regions: usize,
    kind: &str,
    pooling: f64,
    spend: f64,
) -> PosteriorModel {
    let data = random_data(seed, regions, 30, 4, 1, 5);
    let (c, r, _) = data.media.dim();
    let config = ModelConfig {
        adstock: kind.into(),
        ..ModelConfig::default()
    };
    let model = Model::new(config, r, c, 1).unwrap();
    let priors = Priors {
        media_pooling: pooling,
        media_spend_weight: spend,
        ..Priors::default()
    };
    PosteriorModel::new(model, data, priors, Likelihood::Normal).unwrap()
}

#[test]
fn gradient_matches_with_pooled_and_spend_weighted_effect_priors() {
    for (seed, regions, kind, pooling, spend) in [
        (31, 1, WeibullAdstock::NAME, 0.6, 0.0),
        (32, 3, GeometricAdstock::NAME, 0.3, 1.0),
        (33, 2, WeibullAdstock::NAME, 0.9, 0.5),
    ] {
        let mut model = pooled_posterior(seed, regions, kind, pooling, spend);
        check_gradient(&model, seed);
        // A user's prior takes its channel out of the pool.
        model
            .set_effect_prior(2, EffectPrior::from_mean_sd(0.1, 0.05).unwrap())
            .unwrap();
        check_gradient(&model, seed + 1);
    }
}

/// The pooled prior is the stated multivariate normal: its gradient g = −Σ⁻¹x, so Σ(−g) = x with
/// Σ = s²((1 − ρ) I + ρ 1 1ᵀ) written out, and its value −½ xᵀΣ⁻¹x = ½ xᵀg; each channel's
/// prior mean follows the spend weight.
#[test]
fn pooled_effect_prior_is_the_stated_normal() {
    let (pooling, spend) = (0.7, 0.4);
    let model = pooled_posterior(41, 2, WeibullAdstock::NAME, pooling, spend);
    let l = model.layout().clone();
    let s = model.priors().media_contribution.1;
    let m = model.priors().media_contribution.0;
    let d = model.data();
    let spend_total: f64 = d.spend.iter().sum();
    let theta = seeded_uniform(42, model.dim(), -3.0, 1.0);
    let mut grad = vec![0.0; model.dim()];
    let lp = model.pooled_effect_prior(&theta, &mut grad);
    let c_n = l.channels;
    let x: Vec<f64> = (0..c_n)
        .map(|c| {
            let mean = m * ((1.0 - spend) / c_n as f64 + spend * d.spend[c] / spend_total);
            let mu = model.effect_priors()[c].mu;
            assert!((mu - (mean.ln() - 0.5 * s * s)).abs() < 1e-12);
            theta[l.log_effect.start + c] - mu
        })
        .collect();
    let g: Vec<f64> = (0..c_n).map(|c| grad[l.log_effect.start + c]).collect();
    for (i, xi) in x.iter().enumerate() {
        let sigma_g: f64 = g
            .iter()
            .enumerate()
            .map(|(j, gj)| {
                let cov = s * s * (if i == j { 1.0 } else { pooling });
                -cov * gj
            })
            .sum();
        assert!((sigma_g - xi).abs() < 1e-10, "row {i}: {sigma_g} vs {}", xi);
    }
    let quad: f64 = x.iter().zip(&g).map(|(a, b)| a * b).sum();
    assert!((lp - 0.5 * quad).abs() < 1e-10 * (1.0 + lp.abs()));
    // Only the effect coordinates receive gradient.
    for (i, v) in grad.iter().enumerate() {
        if !l.log_effect.contains(&i) {
            assert_eq!(*v, 0.0);
        }
    }
}

#[test]
fn effect_prior_from_mean_and_sd_matches_the_moments() {
    let p = EffectPrior::from_mean_sd(2.0, 0.5).unwrap();
    // A log-normal's mean e^{μ+σ²/2} and variance (e^{σ²} − 1) e^{2μ+σ²}.
    let mean = (p.mu + 0.5 * p.sigma * p.sigma).exp();
    let var = (p.sigma.powi(2).exp() - 1.0) * (2.0 * p.mu + p.sigma.powi(2)).exp();
    assert!((mean - 2.0).abs() < 1e-12 && (var.sqrt() - 0.5).abs() < 1e-12);
    assert!(EffectPrior::from_mean_sd(0.0, 1.0).is_err());
    assert!(EffectPrior::from_mean_sd(1.0, -1.0).is_err());
}

#[test]
fn betas_and_log_effect_for_are_inverse() {
    let model = posterior(
        random_data(15, 2, 25, 3, 1, 5),
        WeibullAdstock::NAME,
        Likelihood::Normal,
    );
    let theta = seeded_uniform(15, model.dim(), -1.0, 1.0);
    let l = model.layout();
    for (c, beta) in model.betas(&theta).into_iter().enumerate() {
        let w = model.log_effect_for(&theta, c, beta);
        assert!((w - theta[l.log_effect.start + c]).abs() < 1e-12);
    }
    // The contribution fraction over the training cells is e^{w}: the channel quantities over
    // the whole history exceed it only by the holdout weeks' part.
    let q = channel_draws(&model, &theta);
    for (c, d) in q.iter().enumerate() {
        let train_fraction = theta[l.log_effect.start + c].exp();
        assert!(d.contribution / model.target_total() >= train_fraction * (1.0 - 1e-12));
    }
}

#[test]
fn prior_helpers_integrate_to_the_stated_distributions() {
    // Numerically integrate exp(log density) over u: a proper density of u (with the Jacobian)
    // integrates to the normalising constant of the natural-scale prior: √(2π)·sd for the
    // log-normal kernel, B(a, b) for the beta kernel.
    let integrate = |f: &dyn Fn(f64) -> f64| {
        let h = 1e-3;
        (-40_000..40_000).map(|i| f(i as f64 * h) * h).sum::<f64>()
    };
    let sd = 0.7;
    let ln = integrate(&|u| lognormal_softplus(u, 0.3, sd).0.exp());
    assert!(
        (ln / ((2.0 * std::f64::consts::PI).sqrt() * sd) - 1.0).abs() < 1e-4,
        "{ln}"
    );
    // B(1, 3) = 1/3.
    let b = integrate(&|u| beta_logp(u, 1.0, 3.0).0.exp());
    assert!((b * 3.0 - 1.0).abs() < 1e-4, "{b}");
}

#[test]
fn holdout_cells_never_enter_the_density() {
    let data = random_data(8, 2, 30, 2, 1, 6);
    let mut changed = data.clone();
    for r in 0..2 {
        for t in 24..30 {
            changed.target[[r, t]] = 1e6;
            changed.controls[[0, r, t]] = -50.0;
            changed.media[[1, r, t]] = 1e3;
        }
    }
    let a = posterior(data, WeibullAdstock::NAME, Likelihood::Normal);
    let b = posterior(changed, WeibullAdstock::NAME, Likelihood::Normal);
    let theta = seeded_uniform(8, a.dim(), -1.0, 1.0);
    let (mut ga, mut gb) = (vec![0.0; a.dim()], vec![0.0; a.dim()]);
    let la = a.logp_and_grad(&theta, &mut ga, &mut a.workspace());
    let lb = b.logp_and_grad(&theta, &mut gb, &mut b.workspace());
    assert_eq!(la, lb);
    assert_eq!(ga, gb);
}

#[test]
fn invalid_inputs_are_errors() {
    let mut data = random_data(9, 1, 20, 2, 1, 4);
    data.media[[0, 0, 3]] = -1.0;
    let model = Model::new(ModelConfig::default(), 1, 2, 1).unwrap();
    assert!(PosteriorModel::new(model, data, Priors::default(), Likelihood::Normal).is_err());
    let mut data = random_data(9, 1, 20, 2, 1, 4);
    data.observed.fill(false);
    let model = Model::new(ModelConfig::default(), 1, 2, 1).unwrap();
    assert!(PosteriorModel::new(model, data, Priors::default(), Likelihood::Normal).is_err());
    let data = random_data(9, 1, 20, 2, 1, 4);
    let model = Model::new(ModelConfig::default(), 1, 2, 1).unwrap();
    let priors = Priors {
        media_contribution: (-1.0, 1.0),
        ..Priors::default()
    };
    assert!(PosteriorModel::new(model, data, priors, Likelihood::Normal).is_err());
}

#[test]
fn shares_sum_to_one_and_roi_is_contribution_over_spend() {
    let model = posterior(
        random_data(10, 3, 25, 3, 1, 5),
        WeibullAdstock::NAME,
        Likelihood::Normal,
    );
    let theta = seeded_uniform(10, model.dim(), -1.0, 1.0);
    let q = channel_draws(&model, &theta);
    let total: f64 = q.iter().map(|d| d.share).sum();
    assert!((total - 1.0).abs() < 1e-12);
    for (c, d) in q.iter().enumerate() {
        let roi = d.roi.unwrap();
        assert!((roi * model.data().spend[c] - d.contribution).abs() < 1e-9 * d.contribution);
    }
}

#[test]
fn mroi_is_the_derivative_of_contribution_under_proportional_spend() {
    let data = random_data(11, 2, 25, 2, 1, 5);
    let model = posterior(data.clone(), WeibullAdstock::NAME, Likelihood::Normal);
    let theta = seeded_uniform(11, model.dim(), -1.0, 1.0);
    let base = channel_draws(&model, &theta);
    let h = 1e-5;
    for (c, draw) in base.iter().enumerate() {
        let contribution_at = |m: f64| {
            let mut d = data.clone();
            d.media
                .index_axis_mut(ndarray::Axis(0), c)
                .mapv_inplace(|v| v * m);
            let p = posterior(d, WeibullAdstock::NAME, Likelihood::Normal);
            // The same natural parameters: β is sampled through its contribution fraction,
            // activity, which moves with the media.
            let l = p.layout();
            let mut q = theta.clone();
            for (j, beta) in model.betas(&theta).into_iter().enumerate() {
                q[l.log_effect.start + j] = p.log_effect_for(&theta, j, beta);
            }
            let (b1, b0) = (p.betas(&q)[c], model.betas(&theta)[c]);
            assert!((b1 / b0 - 1.0).abs() < 1e-14, "{b1} vs {b0}");
            channel_draws(&p, &q)[c].contribution
        };
        let slope = (contribution_at(1.0 + h) - contribution_at(1.0 - h)) / (2.0 * h);
        let mroi = draw.mroi.unwrap() * data.spend[c];
        assert!(
            (slope - mroi).abs() < 1e-6 * mroi.abs().max(1.0),
            "{slope} vs {mroi}"
        );
    }
}

#[test]
fn same_seed_gives_the_same_draws_with_one_or_two_threads() {
    let model = posterior(
        random_data(12, 2, 30, 2, 1, 5),
        WeibullAdstock::NAME,
        Likelihood::Normal,
    );
    let init = vec![0.0; model.dim()];
    let settings = Settings {
        chains: 3,
        draws: 30,
        tune: 30,
        seed: 5,
        ..Settings::default()
    };
    let run = |threads: usize| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| sample(&model, &init, &settings, &|_, _| {}).unwrap())
    };
    let (one, two) = (run(1), run(2));
    assert_eq!(one.draws, two.draws);
    assert_eq!(one.divergences, two.divergences);
    assert_eq!(one.draws.len(), 3);
    assert!(one.draws.iter().all(|c| c.len() == 30));
    // Different chains explore differently.
    assert_ne!(one.draws[0], one.draws[1]);
    let other = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .unwrap()
        .install(|| {
            sample(
                &model,
                &init,
                &Settings {
                    seed: 6,
                    ..settings
                },
                &|_, _| {},
            )
            .unwrap()
        });
    assert_ne!(one.draws, other.draws);
}

/// Data drawn from the model: one region, 80 weeks (10 held out), two channels with flighted
/// activity, known effects, noise sd 0.02; returns the data and channel 0's true contribution
/// fraction over the training weeks.
fn data_from_the_model(seed: u64) -> (PosteriorData, PosteriorModel, Vec<f64>) {
    let mut data = random_data(seed, 1, 80, 2, 0, 10);
    data.observed.fill(true);
    data.offset.fill(0.0);
    data.region_means = vec![100.0];
    let model = posterior(data.clone(), GeometricAdstock::NAME, Likelihood::Normal);
    let l = model.layout().clone();
    let mut truth = vec![0.0; model.dim()];
    for c in 0..2 {
        truth[l.adstock_of(c)][0] = -1.0; // decay σ(−1) ≈ 0.27
        truth[l.saturation_of(c)].copy_from_slice(&[0.5, 1.0]);
        truth[l.log_effect.start + c] = 0.1f64.ln();
    }
    truth[l.log_sigma] = 0.02f64.ln();
    // Intercept 0.8: the level coordinate is b̃ = b plus the other terms' means.
    truth[l.base.start] = 0.8 - model.intercepts(&truth)[0];
    let betas = model.betas(&truth);
    let noise = seeded_uniform(seed + 7, 80, -1.0, 1.0);
    let a = Array2::zeros((1, 80));
    let mut target = Array2::from_elem((1, 80), 0.8);
    for (c, beta) in betas.iter().enumerate() {
        let x = data.media.index_axis(ndarray::Axis(0), c);
        let (mut ad, mut s) = (a.clone(), a.clone());
        let m = model.model();
        m.adstock(c)
            .forward(&truth[l.adstock_of(c)], x, ad.view_mut());
        m.saturation(c)
            .forward(&truth[l.saturation_of(c)], ad.view(), s.view_mut());
        target = target + s * *beta;
    }
    // Uniform noise with sd 0.02 (√3 · 0.02 half-width).
    for (t, e) in noise.iter().enumerate() {
        target[[0, t]] += e * 0.02 * 3f64.sqrt();
    }
    data.target = target;
    let model = posterior(data.clone(), GeometricAdstock::NAME, Likelihood::Normal);
    (data, model, truth)
}

/// Posterior mean of channel 0's contribution fraction over the training weeks (e^{w_0}).
fn mean_fraction(model: &PosteriorModel, init: &[f64]) -> f64 {
    let settings = Settings {
        chains: 2,
        draws: 150,
        tune: 150,
        seed: 9,
        ..Settings::default()
    };
    let post = sample(model, init, &settings, &|_, _| {}).unwrap();
    let i = model.layout().log_effect.start;
    let w = post.coordinate(i);
    let all: Vec<f64> = w.iter().flatten().map(|v| v.exp()).collect();
    all.iter().sum::<f64>() / all.len() as f64
}

#[test]
fn a_lift_test_and_a_channel_prior_move_the_posterior_their_way() {
    let (data, model, truth) = data_from_the_model(21);
    let base = mean_fraction(&model, &truth);
    // The data pin channel 0 near its true fraction 0.1.
    assert!((base - 0.1).abs() < 0.04, "{base}");

    // A lift test saying channel 0 contributed twice as much over the training weeks.
    let mut cells = Array2::zeros((1, 80));
    cells.slice_mut(ndarray::s![.., ..70]).fill(100.0);
    let y_train: f64 = data.target.slice(ndarray::s![0, ..70]).sum() * 100.0;
    let test = mmm_model::LiftTest {
        channel: 0,
        cells,
        counterfactual: None,
        lift: 0.2 * y_train,
        se: 0.01 * y_train,
    };
    let lifted = posterior(data.clone(), GeometricAdstock::NAME, Likelihood::Normal)
        .with_lift_tests(vec![test])
        .unwrap();
    let with_lift = mean_fraction(&lifted, &truth);
    assert!(with_lift > base + 0.03, "{base} → {with_lift}");

    // A tight prior saying channel 0 explains a twentieth of that.
    let mut low = posterior(data, GeometricAdstock::NAME, Likelihood::Normal);
    low.set_effect_prior(0, EffectPrior::from_mean_sd(0.01, 0.002).unwrap())
        .unwrap();
    let with_prior = mean_fraction(&low, &truth);
    assert!(with_prior < base - 0.03, "{base} → {with_prior}");
}

#[test]
fn the_level_coordinate_is_the_intercept_plus_the_other_terms_means() {
    let model = posterior(
        random_data(16, 2, 25, 2, 2, 5),
        WeibullAdstock::NAME,
        Likelihood::Normal,
    );
    let theta = seeded_uniform(16, model.dim(), -1.0, 1.0);
    let l = model.layout();
    // Moving the level moves the intercept one for one; moving a seasonal coefficient moves it
    // by minus that feature's mean over the region's likelihood cells.
    let b = model.intercepts(&theta);
    let mut q = theta.clone();
    q[l.base.start + 1] += 0.3;
    let b1 = model.intercepts(&q);
    assert!((b1[1] - b[1] - 0.3).abs() < 1e-12 && (b1[0] - b[0]).abs() < 1e-12);
    let d = model.data();
    let n: Vec<usize> = (0..2)
        .map(|r| (0..20).filter(|&t| d.observed[[r, t]]).count())
        .collect();
    let mut q = theta.clone();
    q[l.season.start] += 0.5;
    let b2 = model.intercepts(&q);
    for r in 0..2 {
        let mean = (0..20)
            .filter(|&t| d.observed[[r, t]])
            .map(|t| d.fourier[[t, 0]])
            .sum::<f64>()
            / n[r] as f64;
        assert!((b2[r] - b[r] + 0.5 * mean).abs() < 1e-12, "{r}");
    }
}

/// The model's own forward pass with the parameters of a draw (`PosteriorModel::model_params`)
/// predicts the posterior's mean, b_r + (δ + Δδ_r)τ_t + Σφ_f F_f(t) + Σ_c β_c e^η s_c + Σγ_k z_k,
/// in every cell (holdout weeks included), and its channel terms times ȳ_r sum to the draw's
/// channel contributions; the GRU and its heads, left at random values in the point vector, do
/// not reach the prediction.
#[test]
fn model_params_of_a_draw_predict_the_posterior_mean() {
    for (seed, regions) in [(11, 1), (12, 3)] {
        let mut data = random_data(seed, regions, 30, 3, 2, 5);
        data.offset.fill(0.0);
        let model = posterior(data, WeibullAdstock::NAME, Likelihood::Normal);
        let d = model.data();
        let l = model.layout();
        let theta = seeded_uniform(seed + 1, model.dim(), -1.0, 1.0);
        let point = seeded_uniform(seed + 2, model.model().n_params(), -0.5, 0.5);
        let p = model.model_params(&theta, &point).unwrap();
        let (c_n, r_n, t_n) = d.media.dim();
        let n_in = d.controls.dim().0 + d.fourier.ncols() + 1;
        let inputs = mmm_model::ModelInputs {
            media: d.media.clone(),
            controls: d.controls.clone(),
            target: d.target.clone(),
            observed: d.observed.clone(),
            fourier: d.fourier.clone(),
            tau: d.tau.clone(),
            gru_input: Array3::from_shape_fn((t_n, r_n, n_in), |(t, r, i)| {
                ((t * 7 + r * 3 + i) % 5) as f64 * 0.2 - 0.4
            }),
            calibration: None,
        };
        let decomposition = model.model().decompose(&p, &inputs);
        let prediction = decomposition.total();
        let betas = model.betas(&theta);
        let mut a = Array2::zeros((r_n, t_n));
        let mut s = Array3::zeros((c_n, r_n, t_n));
        for c in 0..c_n {
            let x = d.media.index_axis(ndarray::Axis(0), c);
            model
                .model()
                .adstock(c)
                .forward(&theta[l.adstock_of(c)], x, a.view_mut());
            model.model().saturation(c).forward(
                &theta[l.saturation_of(c)],
                a.view(),
                s.index_axis_mut(ndarray::Axis(0), c),
            );
        }
        let intercepts = model.intercepts(&theta);
        for r in 0..r_n {
            let slope = theta[l.trend]
                + if regions > 1 {
                    theta[l.region_trend.start + r]
                } else {
                    0.0
                };
            for t in 0..t_n {
                let mut mu = intercepts[r] + slope * d.tau[t];
                for (f, i) in l.season.clone().enumerate() {
                    mu += theta[i] * d.fourier[[t, f]];
                }
                for c in 0..c_n {
                    mu += betas[c] * l.eta(&theta, r, c).exp() * s[[c, r, t]];
                }
                for (k, i) in l.gamma.clone().enumerate() {
                    mu += theta[i] * d.controls[[k, r, t]];
                }
                let got = prediction[[r, t]];
                assert!(
                    (got - mu).abs() <= 1e-9 * (1.0 + mu.abs()),
                    "regions {regions}, cell ({r}, {t}): model {got}, posterior mean {mu}"
                );
            }
        }
        let draws = channel_draws(&model, &theta);
        for (c, q) in draws.iter().enumerate() {
            let from_model: f64 = (0..r_n)
                .flat_map(|r| (0..t_n).map(move |t| (r, t)))
                .filter(|&(r, t)| d.observed[[r, t]])
                .map(|(r, t)| d.region_means[r] * decomposition.channels[[c, r, t]])
                .sum();
            assert!(
                (from_model - q.contribution).abs() <= 1e-9 * (1.0 + q.contribution.abs()),
                "channel {c}: model {from_model}, draw {}",
                q.contribution
            );
        }
        // A draw or point vector of the wrong length is an error, not a panic.
        assert!(model.model_params(&theta[1..], &point).is_err());
        assert!(model.model_params(&theta, &point[1..]).is_err());
    }
}

/// The assessment passes well-mixed chains and names what fails: chains that disagree (R-hat),
/// divergences, a single chain; the cost per draw counts tuning draws too.
#[test]
fn diagnostics_pass_mixed_chains_and_name_what_fails() {
    use crate::diagnostics::{Diagnostics, MAX_RHAT};
    use crate::sample::Posterior;
    let model = posterior(
        random_data(31, 1, 20, 2, 0, 4),
        WeibullAdstock::NAME,
        Likelihood::Normal,
    );
    let dim = model.dim();
    let settings = Settings {
        chains: 4,
        draws: 400,
        tune: 100,
        ..Settings::default()
    };
    let chain = |c: u64| {
        let u = seeded_uniform(500 + c, settings.draws * dim, -1.0, 1.0);
        u.chunks(dim).map(<[f64]>::to_vec).collect::<Vec<_>>()
    };
    let mixed = Posterior {
        draws: (0..4).map(chain).collect(),
        divergences: vec![0; 4],
        seconds: 1.0,
        leapfrog_steps: 20_000,
    };
    let d = Diagnostics::assess(&model, &mixed, &settings);
    assert!(d.passed, "{:?}", d.problems);
    assert!(d.rhat_max <= MAX_RHAT && d.ess_bulk_min > 400.0);
    assert_eq!(d.leapfrog_steps_per_draw, 20_000.0 / 2000.0);

    let mut shifted = mixed.clone();
    for draw in &mut shifted.draws[0] {
        draw[0] += 3.0;
    }
    shifted.divergences[2] = 3;
    let d = Diagnostics::assess(&model, &shifted, &settings);
    assert!(!d.passed);
    assert_eq!(d.rhat_max_at, model.coordinate_names()[0]);
    assert!(
        d.problems.iter().any(|p| p.contains("R-hat")),
        "{:?}",
        d.problems
    );
    assert!(
        d.problems.iter().any(|p| p.contains("3 divergent")),
        "{:?}",
        d.problems
    );

    let one = Settings {
        chains: 1,
        ..settings
    };
    let single = Posterior {
        draws: vec![chain(0)],
        divergences: vec![0],
        ..mixed
    };
    let d = Diagnostics::assess(&model, &single, &one);
    assert!(
        d.problems.iter().any(|p| p.contains("one chain")),
        "{:?}",
        d.problems
    );
}

/// Scores against the truth: MAE, coverage, widths (the ROI width relative to the true ROI, over
/// the channels with an effect), rank correlation.
#[test]
fn scores_against_the_truth_count_coverage_and_widths() {
    use crate::quantities::{AgainstTruth, Interval, score_against_truth};
    let iv = |mean: f64, p05: f64, p95: f64| Interval { mean, p05, p95 };
    let channels = [
        AgainstTruth {
            share: iv(0.5, 0.4, 0.6),
            roi: Some(iv(2.0, 1.0, 3.0)),
            true_share: 0.45,
            true_roi: 2.0,
        },
        AgainstTruth {
            share: iv(0.3, 0.25, 0.35),
            roi: Some(iv(1.0, 0.5, 1.5)),
            true_share: 0.45,
            true_roi: 0.0,
        },
        AgainstTruth {
            share: iv(0.2, 0.1, 0.3),
            roi: None,
            true_share: 0.1,
            true_roi: 1.0,
        },
    ];
    let s = score_against_truth(&channels);
    assert!((s.share_mae_pp - 100.0 * (0.05 + 0.15 + 0.1) / 3.0).abs() < 1e-12);
    assert_eq!((s.share_covered, s.roi_covered, s.channels), (2, 1, 3));
    assert!((s.share_width_pp - 100.0 * (0.2 + 0.1 + 0.2) / 3.0).abs() < 1e-12);
    // Only the first channel has spend and an effect: width 2 / 2.
    assert_eq!(s.roi_relative_width, Some(1.0));
    assert_eq!(s.roi_spearman, Some(1.0));
}
