//! One evaluation of the posterior's log density and gradient (`mmm-posterior`), what every
//! leapfrog step of NUTS costs, at two sizes:
//!
//! * `national` — 1 region × 156 weeks × 5 channels × 3 controls (the `national` simulation's
//!   shape, 143 training weeks), Weibull adstock;
//! * `medium` — 8 regions × 156 weeks × 8 channels × 4 controls (PyMC Labs' `medium_business`
//!   panel's shape);
//! * `paper` — 190 regions × 109 weeks × 13 channels × 7 controls (96 training weeks).
//!
//! Run: `cargo bench -p dcmmm-benches --bench posterior -- --quick`.

use criterion::{Criterion, Throughput};
use dcmmm_benches::{PAPER_SHAPE, uniform2, uniform3};
use mmm_model::{Model, ModelConfig};
use mmm_posterior::{Likelihood, PosteriorData, PosteriorModel, Priors};
use mmm_testkit::seeded_uniform;
use ndarray::{Array2, Axis};
use std::hint::black_box;
use std::time::Duration;

fn posterior(regions: usize, weeks: usize, channels: usize, controls: usize) -> PosteriorModel {
    let media = uniform3(1, (channels, regions, weeks), 0.0, 2.0);
    let fourier = Array2::from_shape_fn((weeks, 4), |(t, f)| {
        let a = 2.0 * std::f64::consts::PI * (f / 2 + 1) as f64 * t as f64 / 52.0;
        if f % 2 == 0 { a.sin() } else { a.cos() }
    });
    let data = PosteriorData {
        spend: media.sum_axis(Axis(2)).sum_axis(Axis(1)).to_vec(),
        media,
        controls: uniform3(2, (controls, regions, weeks), -2.0, 2.0),
        target: uniform2(3, (regions, weeks), 0.8, 1.2),
        observed: Array2::from_elem((regions, weeks), true),
        fourier,
        tau: (0..weeks)
            .map(|t| (t as f64 - (weeks - 14) as f64) / 52.0)
            .collect(),
        offset: Array2::zeros((regions, weeks)),
        train_weeks: weeks - 13,
        region_means: vec![1.0; regions],
    };
    let model = Model::new(ModelConfig::default(), regions, channels, controls).expect("model");
    PosteriorModel::new(model, data, Priors::default(), Likelihood::Normal).expect("posterior")
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    let mut group = c.benchmark_group("posterior_logp_grad");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(5));
    let (pr, pw, pc, pk) = PAPER_SHAPE;
    for (name, (r, w, ch, k)) in [
        ("national", (1, 156, 5, 3)),
        ("medium", (8, 156, 8, 4)),
        ("paper", (pr, pw, pc, pk)),
    ] {
        let model = posterior(r, w, ch, k);
        let theta = seeded_uniform(4, model.dim(), -0.5, 0.5);
        let mut grad = vec![0.0; model.dim()];
        let mut ws = model.workspace();
        group.throughput(Throughput::Elements((r * w) as u64));
        group.bench_function(name, |bench| {
            bench.iter(|| black_box(model.logp_and_grad(&theta, &mut grad, &mut ws)))
        });
    }
    group.finish();
}
