//! Benchmarks of the DAG crate: acyclicity value + gradient (NOTEARS, DAGMA) and `expm`, at d = 13 and 50.

// `criterion_group!` generates an undocumented `pub fn`.
#![allow(missing_docs)]

use criterion::{Criterion, criterion_group, criterion_main};
use mmm_dag::{Acyclicity, Dagma, Notears, expm};
use mmm_testkit::seeded_uniform;
use ndarray::Array2;
use std::hint::black_box;

/// A dense random W inside DAGMA's domain for s = 1 (|w| ≤ 0.9/√d ⇒ ρ(W∘W) < 1).
fn weights(d: usize) -> Array2<f64> {
    let b = 0.9 / (d as f64).sqrt();
    Array2::from_shape_vec((d, d), seeded_uniform(d as u64, d * d, -b, b)).unwrap()
}

fn bench(c: &mut Criterion) {
    for d in [13usize, 50] {
        let w = weights(d);
        let mut g = Array2::zeros((d, d));
        c.bench_function(&format!("notears_h_grad_d{d}"), |b| {
            b.iter(|| {
                Notears
                    .value_and_grad(black_box(w.view()), g.view_mut())
                    .unwrap()
            })
        });
        let dagma = Dagma { s: 1.0 };
        c.bench_function(&format!("dagma_h_grad_d{d}"), |b| {
            b.iter(|| {
                dagma
                    .value_and_grad(black_box(w.view()), g.view_mut())
                    .unwrap()
            })
        });
        let a = w.mapv(|x| x * x * 10.0);
        c.bench_function(&format!("expm_d{d}"), |b| {
            b.iter(|| expm(black_box(a.view())))
        });
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
