//! The screens of a regional fit — the media screen of the default two-stage fit
//! (`mmm_linear::MediaScreen`) and the lag-kernel screen that starts a joint fit's Weibull kernels
//! (`mmm_linear::KernelScreen`) — at the paper's panel size: 190 regions × 109 weeks × 13 channels ×
//! 7 controls, 96 training weeks.
//!
//! Groups:
//! * `within_region` — building the within-region residual maker (one orthonormal basis per region);
//! * `weibull_grid` — the default screen: 35 Weibull kernels, up to 3 rounds of coordinate descent
//!   over the channels (a target unrelated to the media: the choices settle on whatever fits noise);
//! * `media_screen` — the default media screen: 56 kernels × 18 Hill curves, up to 2 rounds of
//!   alternating coordinate descent, then the non-negative effects (same target).
//!
//! Run: `cargo bench -p dcmmm-benches --bench kernel_screen` (add `-- --quick` for a fast pass).

use criterion::Criterion;
use dcmmm_benches::{PAPER_SHAPE, uniform2, uniform3};
use mmm_linear::{KernelScreen, MediaScreen, ScreenData, WithinRegion};
use mmm_transforms::WeibullAdstock;
use ndarray::Array2;
use std::hint::black_box;

fn main() {
    let (regions, weeks, channels, controls) = PAPER_SHAPE;
    let train = 0..96;
    let year: Vec<f64> = (0..weeks).map(|t| (t as f64 / 52.1775).fract()).collect();
    let observed = Array2::from_elem((regions, weeks), true);
    // Bursty activity: off in about half the weeks.
    let media = uniform3(1, (channels, regions, weeks), 0.0, 1.0)
        .mapv(|u| if u < 0.5 { 0.0 } else { 4.0 * (u - 0.5) });
    let control_values = uniform3(2, (controls, regions, weeks), -1.0, 1.0);
    let target = uniform2(3, (regions, weeks), 0.8, 1.2);
    let data = ScreenData {
        target: target.view(),
        media: media.view(),
        controls: control_values.view(),
    };
    let within = WithinRegion::new(&year, observed.view(), train.clone()).expect("panel");
    let screen = KernelScreen::weibull();
    let adstock = WeibullAdstock::default();

    let mut c = Criterion::default().sample_size(10).configure_from_args();
    let mut group = c.benchmark_group("kernel_screen");
    group.bench_function("within_region", |b| {
        b.iter(|| black_box(WithinRegion::new(&year, observed.view(), train.clone())))
    });
    group.bench_function("weibull_grid", |b| {
        b.iter(|| black_box(screen.choose(&adstock, &within, &data).expect("screen")))
    });
    let media_screen = MediaScreen::new();
    group.bench_function("media_screen", |b| {
        b.iter(|| black_box(media_screen.fit(&within, &data).expect("media screen")))
    });
    group.finish();
    c.final_summary();
}
