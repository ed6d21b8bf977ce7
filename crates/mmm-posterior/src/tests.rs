//! Tests of the log density (gradient against central differences, priors' Jacobians), the
//! sampler (reproducibility across thread counts, recovery on data drawn from the model) and the
//! channel quantities.

use crate::density::{PosteriorData, PosteriorModel};
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
        beta_scale: -1.0,
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
            // The same natural parameters: β is sampled through its effect at the reference
            // activity, which moves with the media.
            let l = p.layout();
            let mut q = theta.clone();
            for (j, beta) in model.betas(&theta).into_iter().enumerate() {
                let h = p
                    .model()
                    .saturation(j)
                    .eval(&theta[l.saturation_of(j)], p.half_saturation_centre()[j]);
                q[l.log_effect.start + j] = (beta * h).ln();
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
        let ml = model.model().layout().clone();
        let theta = seeded_uniform(seed + 1, model.dim(), -1.0, 1.0);
        let point = seeded_uniform(seed + 2, ml.len, -0.5, 0.5);
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
        for r in 0..r_n {
            let slope = theta[l.trend]
                + if regions > 1 {
                    theta[l.region_trend.start + r]
                } else {
                    0.0
                };
            for t in 0..t_n {
                let mut mu = theta[l.base.start + r] + slope * d.tau[t];
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
