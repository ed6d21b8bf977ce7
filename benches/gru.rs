//! GRU forward + backward through time at the paper's panel size (190 regions × 109 weeks, 20
//! inputs), hidden sizes 32 / 64 / 128.
//!
//! Besides the criterion groups (whose throughput is reported in GEMM flops, so criterion's
//! "elem/s" reads as flop/s), `cargo bench` first prints a summary table: achieved GFLOP/s of the
//! GRU on 1 and 2 threads, the 1 → 2 thread speed-up, and a plain single-thread ndarray GEMM
//! (256 × 256 × 256) as the single-core reference peak.
//!
//! Flop count (GEMMs only): forward `2·T·R·(I+H)·3H`; backward twice that (the carry and `∂W_h`
//! products, the `∂x` and `∂W_i` products).
//!
//! Run: `cargo bench -p dcmmm-benches --bench gru` (add `-- --quick` for a fast pass).

use criterion::{BenchmarkId, Criterion, Throughput};
use mmm_gru::Gru;
use mmm_testkit::seeded_uniform;
use ndarray::{Array2, Array3};
use std::hint::black_box;
use std::time::{Duration, Instant};

const REGIONS: usize = 190;
const WEEKS: usize = 109;
const INPUTS: usize = 20;
const HIDDEN: [usize; 3] = [32, 64, 128];

/// One benchmark problem at the paper's size.
struct Case {
    gru: Gru,
    params: Vec<f64>,
    x: Array3<f64>,
    h0: Array2<f64>,
    grad_h: Array3<f64>,
}

impl Case {
    fn new(hidden: usize) -> Case {
        let gru = Gru::new(INPUTS, hidden).expect("sizes are positive");
        let params = gru.init_params(1);
        let x = Array3::from_shape_vec(
            (WEEKS, REGIONS, INPUTS),
            seeded_uniform(2, WEEKS * REGIONS * INPUTS, -1.0, 1.0),
        )
        .expect("shape");
        let h0 = Array2::zeros((REGIONS, hidden));
        let grad_h = Array3::from_shape_vec(
            (WEEKS, REGIONS, hidden),
            seeded_uniform(3, WEEKS * REGIONS * hidden, -1.0, 1.0),
        )
        .expect("shape");
        Case {
            gru,
            params,
            x,
            h0,
            grad_h,
        }
    }

    /// GEMM flops of one forward + backward pass.
    fn flops(&self) -> f64 {
        let h = self.gru.n_hidden() as f64;
        let forward = 2.0 * (WEEKS * REGIONS) as f64 * (INPUTS as f64 + h) * 3.0 * h;
        3.0 * forward
    }

    /// One forward + backward pass (gradients w.r.t. parameters, inputs and h0).
    fn run(&self) -> f64 {
        let tape = self
            .gru
            .forward(&self.params, self.x.view(), self.h0.view());
        let mut gp = vec![0.0; self.gru.n_params()];
        let mut gx = Array3::zeros(self.x.dim());
        let mut gh0 = Array2::zeros(self.h0.dim());
        self.gru.backward(
            &self.params,
            self.x.view(),
            &tape,
            self.grad_h.view(),
            &mut gp,
            Some(gx.view_mut()),
            gh0.view_mut(),
        );
        gp[0] + gx[[0, 0, 0]] + gh0[[0, 0]]
    }
}

/// Runs `f` on a rayon pool with `threads` threads.
fn on_threads<T: Send>(threads: usize, f: impl FnOnce() -> T + Send) -> T {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("rayon pool")
        .install(f)
}

/// Median seconds per call of `f` over at least 3 calls and about `budget` of wall time.
fn seconds_per_call(mut f: impl FnMut(), budget: Duration) -> f64 {
    f(); // warm-up
    let start = Instant::now();
    let mut times = Vec::new();
    while times.len() < 3 || (start.elapsed() < budget && times.len() < 50) {
        let t = Instant::now();
        f();
        times.push(t.elapsed().as_secs_f64());
    }
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

/// The single-thread GEMM reference: `[n × n]·[n × n]`, 2n³ flops.
fn gemm_inputs(n: usize) -> (Array2<f64>, Array2<f64>) {
    let a = Array2::from_shape_vec((n, n), seeded_uniform(4, n * n, -1.0, 1.0)).expect("shape");
    let b = Array2::from_shape_vec((n, n), seeded_uniform(5, n * n, -1.0, 1.0)).expect("shape");
    (a, b)
}

fn print_summary() {
    let budget = Duration::from_millis(1500);
    let (a, b) = gemm_inputs(256);
    let gemm = seconds_per_call(
        || {
            black_box(a.dot(&b));
        },
        budget,
    );
    println!("\n== GRU forward + backward, {REGIONS} regions × {WEEKS} weeks × {INPUTS} inputs ==");
    println!(
        "reference: single-thread ndarray GEMM 256×256×256: {:.2} GFLOP/s",
        2.0 * 256f64.powi(3) / gemm / 1e9
    );
    println!(
        "{:>6} {:>10} {:>12} {:>12} {:>12} {:>12} {:>9}",
        "hidden", "GFLOP", "1 thr (ms)", "1 thr GF/s", "2 thr (ms)", "2 thr GF/s", "speed-up"
    );
    for h in HIDDEN {
        let case = Case::new(h);
        let flops = case.flops();
        let t1 = on_threads(1, || {
            seconds_per_call(
                || {
                    black_box(case.run());
                },
                budget,
            )
        });
        let t2 = on_threads(2, || {
            seconds_per_call(
                || {
                    black_box(case.run());
                },
                budget,
            )
        });
        println!(
            "{h:>6} {:>10.3} {:>12.1} {:>12.2} {:>12.1} {:>12.2} {:>8.2}×",
            flops / 1e9,
            t1 * 1e3,
            flops / t1 / 1e9,
            t2 * 1e3,
            flops / t2 / 1e9,
            t1 / t2
        );
    }
    println!();
}

fn bench_gemm_reference(c: &mut Criterion) {
    let n = 256;
    let (a, b) = gemm_inputs(n);
    let mut group = c.benchmark_group("gemm_reference_1thread");
    group.throughput(Throughput::Elements(2 * (n * n * n) as u64));
    group.bench_function(BenchmarkId::from_parameter(n), |bench| {
        on_threads(1, || bench.iter(|| black_box(a.dot(&b))))
    });
    group.finish();
}

fn bench_gru(c: &mut Criterion) {
    let mut group = c.benchmark_group("gru_forward_backward");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(5));
    for h in HIDDEN {
        let case = Case::new(h);
        group.throughput(Throughput::Elements(case.flops() as u64));
        group.bench_function(BenchmarkId::new("hidden", h), |bench| {
            bench.iter(|| black_box(case.run()))
        });
    }
    group.finish();

    let mut group = c.benchmark_group("gru_threads_hidden64");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(5));
    let case = Case::new(64);
    group.throughput(Throughput::Elements(case.flops() as u64));
    for threads in [1, 2] {
        group.bench_function(BenchmarkId::new("threads", threads), |bench| {
            on_threads(threads, || bench.iter(|| black_box(case.run())))
        });
    }
    group.finish();
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` does not, and then only the
    // criterion smoke run happens.
    if std::env::args().any(|a| a == "--bench") {
        print_summary();
    }
    let mut c = Criterion::default().configure_from_args();
    bench_gemm_reference(&mut c);
    bench_gru(&mut c);
    c.final_summary();
}
