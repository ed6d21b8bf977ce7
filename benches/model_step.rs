//! One training step of the whole model — forward pass, Huber loss, backward pass, penalties —
//! at the paper's panel size (190 regions × 109 weeks × 13 channels × 7 controls, hidden 16,
//! the defaults). This is what every epoch of `dcmmm fit` costs; the model reuses the previous
//! step's tape, as in training, so repeated iterations measure the steady state.
//!
//! * `loss_and_grad` — the default model (Weibull lag kernels, 13-week convolutions);
//! * `loss_and_grad_geometric` — the same with `adstock = "geometric"` (an O(T) recursion), for the
//!   ratio between the two adstock families in one run.
//!
//! Run: `cargo bench -p dcmmm-benches --bench model_step` (add `-- --quick` for a fast pass).

use criterion::{Criterion, Throughput};
use dcmmm_benches::{PAPER_SHAPE, uniform2, uniform3};
use mmm_model::{Model, ModelConfig, ModelInputs};
use mmm_transforms::GeometricAdstock;
use ndarray::Array2;
use std::hint::black_box;
use std::time::Duration;

fn main() {
    let (regions, weeks, channels, controls) = PAPER_SHAPE;
    let media = uniform3(1, (regions, weeks, channels), 0.0, 2.0);
    let ctrl = uniform3(2, (regions, weeks, controls), -2.0, 2.0);
    let target = uniform2(3, (regions, weeks), 0.8, 1.2);
    let observed = Array2::from_elem((regions, weeks), true);
    let year: Vec<f64> = (0..weeks).map(|t| (t as f64 / 52.0).fract()).collect();
    let harmonics = ModelConfig::default().fourier_harmonics;
    let inputs = ModelInputs::new(
        &media,
        &ctrl,
        &target,
        &observed,
        &year,
        weeks - 14,
        harmonics,
    )
    .expect("inputs");
    let weights = inputs
        .loss_weights(0..weeks - 13, &vec![1.0; regions])
        .expect("weights");

    let mut c = Criterion::default().configure_from_args();
    let mut group = c.benchmark_group("model_step_paper");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(10));
    group.throughput(Throughput::Elements((regions * weeks) as u64));
    for (name, adstock) in [
        ("loss_and_grad", ModelConfig::default().adstock),
        (
            "loss_and_grad_geometric",
            GeometricAdstock::NAME.to_string(),
        ),
    ] {
        let cfg = ModelConfig {
            adstock,
            ..ModelConfig::default()
        };
        let model = Model::new(cfg, regions, channels, controls).expect("model");
        let params = model.init_params(&inputs, &weights, 42);
        let mut grad = vec![0.0; model.n_params()];
        group.bench_function(name, |bench| {
            bench.iter(|| black_box(model.loss_and_grad(&params, &inputs, &weights, &mut grad)))
        });
    }
    group.finish();
    c.final_summary();
}
