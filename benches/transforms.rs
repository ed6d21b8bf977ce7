//! Adstock + saturation transforms at the paper's panel size: 190 regions × 109 weeks × 13
//! channels, looping over channels as the model does (one `(regions × weeks)` array each).
//!
//! Groups (throughput in elements = regions·weeks·channels):
//! * `geometric_forward` — geometric adstock, exact recursion (`max_lag: None`, normalised);
//! * `hill_forward` — Hill saturation;
//! * `adstock_hill_forward` — both, chained;
//! * `adstock_hill_forward_vjp` — both forward, then both VJPs (w.r.t. inputs and parameters).
//!
//! Run: `cargo bench -p dcmmm-benches --bench transforms` (add `-- --quick` for a fast pass).

use criterion::{Criterion, Throughput};
use dcmmm_benches::PAPER_SHAPE;
use mmm_testkit::seeded_uniform;
use mmm_transforms::{Adstock, GeometricAdstock, Hill, Saturation};
use ndarray::Array2;
use std::hint::black_box;

/// Per-channel inputs, parameters and buffers.
struct Panel {
    x: Vec<Array2<f64>>,
    grad_y: Vec<Array2<f64>>,
    adstock_params: Vec<Vec<f64>>,
    hill_params: Vec<Vec<f64>>,
    ad: Array2<f64>,
    y: Array2<f64>,
    g_ad: Array2<f64>,
    g_x: Array2<f64>,
    g_params: Vec<f64>,
}

impl Panel {
    fn new() -> Panel {
        let (regions, weeks, channels, _) = PAPER_SHAPE;
        let array = |seed: u64, lo: f64, hi: f64| {
            Array2::from_shape_vec(
                (regions, weeks),
                seeded_uniform(seed, regions * weeks, lo, hi),
            )
            .expect("shape")
        };
        let decays = seeded_uniform(100, channels, 0.1, 0.8);
        let halves = seeded_uniform(101, channels, 0.5, 1.5);
        let slopes = seeded_uniform(102, channels, 0.8, 2.5);
        Panel {
            x: (0..channels as u64).map(|c| array(c, 0.0, 2.0)).collect(),
            grad_y: (0..channels as u64)
                .map(|c| array(1000 + c, -1.0, 1.0))
                .collect(),
            adstock_params: decays
                .iter()
                .map(|&d| GeometricAdstock::params_for(d))
                .collect(),
            hill_params: halves
                .iter()
                .zip(&slopes)
                .map(|(&k, &s)| Hill::params_for(k, s))
                .collect(),
            ad: Array2::zeros((regions, weeks)),
            y: Array2::zeros((regions, weeks)),
            g_ad: Array2::zeros((regions, weeks)),
            g_x: Array2::zeros((regions, weeks)),
            g_params: vec![0.0; 3],
        }
    }
}

fn main() {
    let (regions, weeks, channels, _) = PAPER_SHAPE;
    let adstock = GeometricAdstock {
        max_lag: None,
        normalize: true,
    };
    let hill = Hill;
    let mut p = Panel::new();
    let mut c = Criterion::default().configure_from_args();
    let mut group = c.benchmark_group("transforms");
    group.throughput(Throughput::Elements((regions * weeks * channels) as u64));

    group.bench_function("geometric_forward", |b| {
        b.iter(|| {
            for ch in 0..channels {
                adstock.forward(&p.adstock_params[ch], p.x[ch].view(), p.ad.view_mut());
                black_box(&p.ad);
            }
        })
    });
    group.bench_function("hill_forward", |b| {
        b.iter(|| {
            for ch in 0..channels {
                hill.forward(&p.hill_params[ch], p.x[ch].view(), p.y.view_mut());
                black_box(&p.y);
            }
        })
    });
    group.bench_function("adstock_hill_forward", |b| {
        b.iter(|| {
            for ch in 0..channels {
                adstock.forward(&p.adstock_params[ch], p.x[ch].view(), p.ad.view_mut());
                hill.forward(&p.hill_params[ch], p.ad.view(), p.y.view_mut());
                black_box(&p.y);
            }
        })
    });
    group.bench_function("adstock_hill_forward_vjp", |b| {
        b.iter(|| {
            for ch in 0..channels {
                let (pa, ph) = (&p.adstock_params[ch], &p.hill_params[ch]);
                adstock.forward(pa, p.x[ch].view(), p.ad.view_mut());
                hill.forward(ph, p.ad.view(), p.y.view_mut());
                p.g_ad.fill(0.0);
                p.g_x.fill(0.0);
                p.g_params.fill(0.0);
                let (ga, gh) = p.g_params.split_at_mut(1);
                hill.vjp(
                    ph,
                    p.ad.view(),
                    p.grad_y[ch].view(),
                    Some(p.g_ad.view_mut()),
                    gh,
                );
                adstock.vjp(
                    pa,
                    p.x[ch].view(),
                    p.g_ad.view(),
                    Some(p.g_x.view_mut()),
                    ga,
                );
                black_box((&p.y, &p.g_x, &p.g_params));
            }
        })
    });
    group.finish();
    c.final_summary();
}
