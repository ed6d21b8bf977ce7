//! The matrix products behind the opt-in `blas` feature, at the paper's panel size (190 regions ×
//! 109 weeks × 13 channels × 7 controls): the same benchmarks built once with ndarray's pure-Rust
//! GEMM (`matrixmultiply`, the default) and once on the system OpenBLAS (`--features blas`), so
//! that criterion compares the two runs (docs/benchmarks.md, *BLAS*).
//!
//! * `gru_forward_backward/hidden/{16,64}` — the GRU over 20 inputs (the default model's hidden
//!   size is 16; 64 shows larger products);
//! * `fit_epoch` — one training step of the default model (forward, Huber loss, backward,
//!   penalties): what every epoch of `dcmmm fit` costs;
//! * `screens/{kernel_screen,media_screen}` — the within-region regressions of `mmm-linear`
//!   (96 training weeks), whose Gram matrices and cross products are ndarray products;
//! * `gemm_256` — a 256 × 256 × 256 product, the reference.
//!
//! Run both builds back to back (the second prints the change against the first):
//!
//! ```text
//! cargo bench -p dcmmm-benches --bench linear_algebra -- --save-baseline pure
//! OPENBLAS_NUM_THREADS=1 cargo bench -p dcmmm-benches --features blas --bench linear_algebra -- --baseline pure
//! ```

use criterion::{BenchmarkId, Criterion};
use dcmmm_benches::{PAPER_SHAPE, uniform2, uniform3};
use mmm_gru::Gru;
use mmm_linear::{KernelScreen, MediaScreen, ScreenData, WithinRegion};
use mmm_model::{Model, ModelConfig, ModelInputs};
use mmm_transforms::WeibullAdstock;
use ndarray::{Array2, Array3};
use std::hint::black_box;
use std::time::Duration;

/// Inputs of the benchmarked GRU (the model's: channels + controls).
const GRU_INPUTS: usize = 20;

/// One GRU forward + backward pass over the panel (gradients w.r.t. parameters, inputs and h0).
fn gru_step(gru: &Gru, params: &[f64], x: &Array3<f64>, grad_h: &Array3<f64>) -> f64 {
    let h0 = Array2::zeros((x.dim().1, gru.n_hidden()));
    let tape = gru.forward(params, x.view(), h0.view());
    let mut gp = vec![0.0; gru.n_params()];
    let mut gx = Array3::zeros(x.dim());
    let mut gh0 = Array2::zeros(h0.dim());
    gru.backward(
        params,
        x.view(),
        &tape,
        grad_h.view(),
        &mut gp,
        Some(gx.view_mut()),
        gh0.view_mut(),
    );
    gp[0] + gx[[0, 0, 0]] + gh0[[0, 0]]
}

fn bench_gru(c: &mut Criterion) {
    let (regions, weeks, _, _) = PAPER_SHAPE;
    let mut group = c.benchmark_group("gru_forward_backward");
    group.sample_size(20);
    for hidden in [16, 64] {
        let gru = Gru::new(GRU_INPUTS, hidden).expect("sizes are positive");
        let params = gru.init_params(1);
        let x = uniform3(2, (weeks, regions, GRU_INPUTS), -1.0, 1.0);
        let grad_h = uniform3(3, (weeks, regions, hidden), -1.0, 1.0);
        group.bench_function(BenchmarkId::new("hidden", hidden), |b| {
            b.iter(|| black_box(gru_step(&gru, &params, &x, &grad_h)))
        });
    }
    group.finish();
}

fn bench_fit_epoch(c: &mut Criterion) {
    let (regions, weeks, channels, controls) = PAPER_SHAPE;
    let media = uniform3(1, (regions, weeks, channels), 0.0, 2.0);
    let ctrl = uniform3(2, (regions, weeks, controls), -2.0, 2.0);
    let target = uniform2(3, (regions, weeks), 0.8, 1.2);
    let observed = Array2::from_elem((regions, weeks), true);
    let year: Vec<f64> = (0..weeks).map(|t| (t as f64 / 52.0).fract()).collect();
    let cfg = ModelConfig::default();
    let inputs = ModelInputs::new(
        &media,
        &ctrl,
        &target,
        &observed,
        &year,
        weeks - 14,
        cfg.fourier_harmonics,
    )
    .expect("inputs");
    let weights = inputs
        .loss_weights(0..weeks - 13, &vec![1.0; regions])
        .expect("weights");
    let model = Model::new(cfg, regions, channels, controls).expect("model");
    let params = model.init_params(&inputs, &weights, 42);
    let mut grad = vec![0.0; model.n_params()];
    let mut group = c.benchmark_group("fit_epoch");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(10));
    group.bench_function("loss_and_grad", |b| {
        b.iter(|| black_box(model.loss_and_grad(&params, &inputs, &weights, &mut grad)))
    });
    group.finish();
}

fn bench_screens(c: &mut Criterion) {
    let (regions, weeks, channels, controls) = PAPER_SHAPE;
    let year: Vec<f64> = (0..weeks).map(|t| (t as f64 / 52.1775).fract()).collect();
    let observed = Array2::from_elem((regions, weeks), true);
    // Bursty activity, as in benches/kernel_screen.rs.
    let media = uniform3(1, (channels, regions, weeks), 0.0, 1.0)
        .mapv(|u| if u < 0.5 { 0.0 } else { 4.0 * (u - 0.5) });
    let control_values = uniform3(2, (controls, regions, weeks), -1.0, 1.0);
    let target = uniform2(3, (regions, weeks), 0.8, 1.2);
    let data = ScreenData {
        target: target.view(),
        media: media.view(),
        controls: control_values.view(),
    };
    let within = WithinRegion::new(&year, observed.view(), 0..96).expect("panel");
    let kernel_screen = KernelScreen::weibull();
    let adstock = WeibullAdstock::default();
    let media_screen = MediaScreen::new();
    let mut group = c.benchmark_group("screens");
    group.sample_size(10);
    group.bench_function("kernel_screen", |b| {
        b.iter(|| {
            black_box(
                kernel_screen
                    .choose(&adstock, &within, &data)
                    .expect("screen"),
            )
        })
    });
    group.bench_function("media_screen", |b| {
        b.iter(|| black_box(media_screen.fit(&within, &data).expect("media screen")))
    });
    group.finish();
}

fn bench_gemm(c: &mut Criterion) {
    let a = uniform2(4, (256, 256), -1.0, 1.0);
    let b = uniform2(5, (256, 256), -1.0, 1.0);
    c.bench_function("gemm_256", |bench| bench.iter(|| black_box(a.dot(&b))));
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    bench_gru(&mut c);
    bench_fit_epoch(&mut c);
    bench_screens(&mut c);
    bench_gemm(&mut c);
    c.final_summary();
}
