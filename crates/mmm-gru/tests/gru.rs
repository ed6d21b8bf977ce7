//! Behavioural tests of the batched GRU: gradients against finite differences, forward against a
//! naive per-region reference, chunk-size invariance, thread-count determinism, accumulation.

use mmm_gru::{Error, Gru};
use mmm_testkit::{assert_gradient, seeded_uniform};
use ndarray::{Array1, Array2, Array3, Axis};
use proptest::prelude::*;

/// A test problem: layer, parameters, inputs, initial state and loss weights `G`.
struct Problem {
    gru: Gru,
    params: Vec<f64>,
    x: Array3<f64>,
    h0: Array2<f64>,
    g: Array3<f64>,
}

impl Problem {
    fn new(seed: u64, t: usize, r: usize, n_in: usize, h: usize, chunk: usize) -> Problem {
        let gru = Gru::new(n_in, h).unwrap().with_chunk_size(chunk);
        // Random biases too (init_params zeroes them), so every block is exercised.
        let params = seeded_uniform(seed, gru.n_params(), -0.7, 0.7);
        let x = Array3::from_shape_vec(
            (t, r, n_in),
            seeded_uniform(seed ^ 1, t * r * n_in, -1.0, 1.0),
        )
        .unwrap();
        let h0 =
            Array2::from_shape_vec((r, h), seeded_uniform(seed ^ 2, r * h, -0.8, 0.8)).unwrap();
        let g = Array3::from_shape_vec((t, r, h), seeded_uniform(seed ^ 3, t * r * h, -1.0, 1.0))
            .unwrap();
        Problem {
            gru,
            params,
            x,
            h0,
            g,
        }
    }

    /// L = Σ_t ⟨G_t, h_t⟩.
    fn loss(&self, params: &[f64], x: &Array3<f64>, h0: &Array2<f64>) -> f64 {
        let tape = self.gru.forward(params, x.view(), h0.view());
        (&tape.hidden() * &self.g).sum()
    }

    /// Analytic gradients (params, x, h0) from one backward pass into zeroed buffers.
    fn grads(&self) -> (Vec<f64>, Array3<f64>, Array2<f64>) {
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
            self.g.view(),
            &mut gp,
            Some(gx.view_mut()),
            gh0.view_mut(),
        );
        (gp, gx, gh0)
    }

    /// Checks the gradient w.r.t. every parameter, every input and every initial-state entry.
    fn check_all_gradients(&self) {
        let (gp, gx, gh0) = self.grads();
        let np = self.params.len();
        let nx = self.x.len();
        let mut z = self.params.clone();
        z.extend(self.x.iter());
        z.extend(self.h0.iter());
        let mut analytic = gp;
        analytic.extend(gx.iter());
        analytic.extend(gh0.iter());
        let f = |z: &[f64]| {
            let x = Array3::from_shape_vec(self.x.dim(), z[np..np + nx].to_vec()).unwrap();
            let h0 = Array2::from_shape_vec(self.h0.dim(), z[np + nx..].to_vec()).unwrap();
            self.loss(&z[..np], &x, &h0)
        };
        assert_gradient(f, &z, &analytic, 1e-6);
    }
}

/// Direct transcription of the GRU equations, one region and one matrix-vector product at a time.
fn naive_forward(gru: &Gru, p: &[f64], x: &Array3<f64>, h0: &Array2<f64>) -> Array3<f64> {
    let (t_len, r_len, n_in) = x.dim();
    let h = gru.n_hidden();
    let w_i = &p[gru.w_i_range()];
    let w_h = &p[gru.w_h_range()];
    let b_i = &p[gru.b_i_range()];
    let b_h = &p[gru.b_h_range()];
    let sig = |a: f64| 1.0 / (1.0 + (-a).exp());
    let mut out = Array3::zeros((t_len, r_len, h));
    for r in 0..r_len {
        let mut hs: Vec<f64> = h0.row(r).to_vec();
        for t in 0..t_len {
            // gi[k] = Σ_j W_i[k, j] x[j] + b_i[k], gh[k] = Σ_j W_h[k, j] h[j] + b_h[k]
            let gi: Vec<f64> = (0..3 * h)
                .map(|k| {
                    (0..n_in)
                        .map(|j| w_i[k * n_in + j] * x[[t, r, j]])
                        .sum::<f64>()
                        + b_i[k]
                })
                .collect();
            let gh: Vec<f64> = (0..3 * h)
                .map(|k| (0..h).map(|j| w_h[k * h + j] * hs[j]).sum::<f64>() + b_h[k])
                .collect();
            let mut next = vec![0.0; h];
            for j in 0..h {
                let rg = sig(gi[j] + gh[j]);
                let zg = sig(gi[h + j] + gh[h + j]);
                let ng = (gi[2 * h + j] + rg * gh[2 * h + j]).tanh();
                next[j] = (1.0 - zg) * ng + zg * hs[j];
            }
            hs = next;
            for j in 0..h {
                out[[t, r, j]] = hs[j];
            }
        }
    }
    out
}

fn max_rel_diff(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len());
    let scale = a.iter().chain(b).fold(1e-300_f64, |m, v| m.max(v.abs()));
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
        / scale
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(6))]

    /// ≥ 20 steps, ≥ 3 regions, several chunks: every parameter, input and initial state.
    #[test]
    fn gradients_match_finite_differences(
        seed in any::<u64>(),
        t in 20usize..=24,
        r in 3usize..=5,
        n_in in 1usize..=3,
        h in 1usize..=4,
        chunk in 1usize..=3,
    ) {
        Problem::new(seed, t, r, n_in, h, chunk).check_all_gradients();
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]

    /// Edge sizes: a single step, a single region, one hidden unit, one input.
    #[test]
    fn gradients_match_finite_differences_at_edge_sizes(
        seed in any::<u64>(),
        t in 1usize..=2,
        r in 1usize..=2,
        n_in in 1usize..=2,
        h in 1usize..=2,
    ) {
        Problem::new(seed, t, r, n_in, h, 32).check_all_gradients();
    }

    /// The batched forward agrees with the per-region matrix-vector reference.
    #[test]
    fn forward_matches_naive_reference(
        seed in any::<u64>(),
        t in 1usize..=12,
        r in 1usize..=9,
        n_in in 1usize..=5,
        h in 1usize..=7,
        chunk in 1usize..=4,
    ) {
        let p = Problem::new(seed, t, r, n_in, h, chunk);
        let fast = p.gru.forward(&p.params, p.x.view(), p.h0.view());
        let slow = naive_forward(&p.gru, &p.params, &p.x, &p.h0);
        let diff = (&fast.hidden() - &slow).iter().fold(0.0_f64, |m, v| m.max(v.abs()));
        prop_assert!(diff < 1e-13, "max |batched − naive| = {diff:e}");
        // The tape's last state is h_T.
        prop_assert_eq!(fast.last_hidden(), fast.hidden().index_axis_move(Axis(0), t - 1));
    }
}

#[test]
fn single_region_single_step_one_unit() {
    Problem::new(5, 1, 1, 1, 1, 32).check_all_gradients();
}

#[test]
fn chunk_size_does_not_change_results() {
    let base = Problem::new(21, 9, 37, 4, 6, 1);
    let (gp1, gx1, gh1) = base.grads();
    let h1 = base
        .gru
        .forward(&base.params, base.x.view(), base.h0.view())
        .into_hidden();
    for chunk in [2, 5, 32, 37, 100] {
        let p = Problem {
            gru: base.gru.with_chunk_size(chunk),
            ..Problem::new(21, 9, 37, 4, 6, 1)
        };
        let (gp, gx, gh) = p.grads();
        let hc = p
            .gru
            .forward(&p.params, p.x.view(), p.h0.view())
            .into_hidden();
        assert!(
            max_rel_diff(h1.as_slice().unwrap(), hc.as_slice().unwrap()) < 1e-14,
            "hidden, chunk {chunk}"
        );
        assert!(max_rel_diff(&gp1, &gp) < 1e-13, "params, chunk {chunk}");
        assert!(
            max_rel_diff(gx1.as_slice().unwrap(), gx.as_slice().unwrap()) < 1e-13,
            "x, chunk {chunk}"
        );
        assert!(
            max_rel_diff(gh1.as_slice().unwrap(), gh.as_slice().unwrap()) < 1e-13,
            "h0, chunk {chunk}"
        );
    }
}

#[test]
fn results_are_bitwise_identical_for_one_and_two_threads() {
    // 70 regions in chunks of 4 → 18 chunks, more than one reduction wave.
    let p = Problem::new(99, 15, 70, 5, 16, 4);
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| {
            let h = p
                .gru
                .forward(&p.params, p.x.view(), p.h0.view())
                .into_hidden();
            let (gp, gx, gh) = p.grads();
            (h, gp, gx, gh)
        })
    };
    let one = run(1);
    let two = run(2);
    let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    assert_eq!(
        bits(one.0.as_slice().unwrap()),
        bits(two.0.as_slice().unwrap())
    );
    assert_eq!(bits(&one.1), bits(&two.1));
    assert_eq!(
        bits(one.2.as_slice().unwrap()),
        bits(two.2.as_slice().unwrap())
    );
    assert_eq!(
        bits(one.3.as_slice().unwrap()),
        bits(two.3.as_slice().unwrap())
    );
    assert!(one.1.iter().any(|&g| g != 0.0));
}

#[test]
fn backward_accumulates_and_grad_x_is_optional() {
    let p = Problem::new(3, 6, 5, 3, 4, 2);
    let (gp, gx, gh0) = p.grads();
    let tape = p.gru.forward(&p.params, p.x.view(), p.h0.view());
    // Start from non-zero buffers: backward must add, not overwrite.
    let mut acc_p = gp.clone();
    let mut acc_x = gx.clone();
    let mut acc_h0 = gh0.clone();
    p.gru.backward(
        &p.params,
        p.x.view(),
        &tape,
        p.g.view(),
        &mut acc_p,
        Some(acc_x.view_mut()),
        acc_h0.view_mut(),
    );
    // Parameters: (g + c₀) + c₁ + c₂ groups the chunk sums differently from g = (c₀ + c₁) + c₂.
    let twice: Vec<f64> = gp.iter().map(|v| 2.0 * v).collect();
    assert!(
        max_rel_diff(&acc_p, &twice) < 1e-14,
        "{acc_p:?} vs {twice:?}"
    );
    // x and h0: every entry is written by exactly one chunk, so g + g is exact.
    assert_eq!(acc_x, &gx * 2.0);
    assert_eq!(acc_h0, &gh0 * 2.0);
    // Without grad_x the other gradients are unchanged.
    let mut np = vec![0.0; p.gru.n_params()];
    let mut nh0 = Array2::zeros(p.h0.dim());
    p.gru.backward(
        &p.params,
        p.x.view(),
        &tape,
        p.g.view(),
        &mut np,
        None,
        nh0.view_mut(),
    );
    assert_eq!(np, gp);
    assert_eq!(nh0, gh0);
}

#[test]
fn learned_initial_state_gradient_is_the_region_sum() {
    // h0 = broadcast of a learned vector v; ∂L/∂v = Σ_regions ∂L/∂h0.
    let p = Problem::new(17, 8, 4, 2, 3, 3);
    let v = Array1::from(seeded_uniform(41, 3, -0.5, 0.5));
    let h0_of = |v: &[f64]| {
        Array1::from(v.to_vec())
            .broadcast((4, 3))
            .unwrap()
            .to_owned()
    };
    let tape = p
        .gru
        .forward(&p.params, p.x.view(), h0_of(v.as_slice().unwrap()).view());
    let mut gp = vec![0.0; p.gru.n_params()];
    let mut gh0 = Array2::zeros((4, 3));
    p.gru.backward(
        &p.params,
        p.x.view(),
        &tape,
        p.g.view(),
        &mut gp,
        None,
        gh0.view_mut(),
    );
    let grad_v = gh0.sum_axis(Axis(0));
    assert_gradient(
        |v| p.loss(&p.params, &p.x, &h0_of(v)),
        v.as_slice().unwrap(),
        grad_v.as_slice().unwrap(),
        1e-6,
    );
}

#[test]
fn zero_sizes_are_errors() {
    assert_eq!(Gru::new(0, 3), Err(Error::ZeroSize { what: "n_input" }));
    assert_eq!(Gru::new(3, 0), Err(Error::ZeroSize { what: "n_hidden" }));
    let gru = Gru::new(2, 3).unwrap();
    assert_eq!(
        (gru.n_input(), gru.n_hidden(), gru.chunk_size()),
        (2, 3, 32)
    );
    assert_eq!(gru.with_chunk_size(0).chunk_size(), 1);
}

#[test]
fn parameter_layout_is_contiguous_and_complete() {
    let gru = Gru::new(5, 7).unwrap();
    assert_eq!(gru.n_params(), 3 * 7 * 5 + 3 * 7 * 7 + 6 * 7);
    assert_eq!(gru.w_i_range(), 0..105);
    assert_eq!(gru.w_h_range(), 105..252);
    assert_eq!(gru.b_i_range(), 252..273);
    assert_eq!(gru.b_h_range(), 273..294);
}

#[test]
fn init_params_is_deterministic_glorot_orthogonal_zero_bias() {
    let gru = Gru::new(6, 9).unwrap();
    let p = gru.init_params(42);
    assert_eq!(p, gru.init_params(42));
    assert_ne!(p, gru.init_params(43));
    let a = (6.0_f64 / 15.0).sqrt();
    let w_i = &p[gru.w_i_range()];
    assert!(w_i.iter().all(|v| v.abs() <= a));
    assert!(w_i.iter().fold(0.0_f64, |m, v| m.max(v.abs())) > 0.5 * a);
    assert!(
        p[gru.b_i_range()]
            .iter()
            .chain(&p[gru.b_h_range()])
            .all(|&b| b == 0.0)
    );
    let w_h = &p[gru.w_h_range()];
    for gate in 0..3 {
        let q = Array2::from_shape_vec((9, 9), w_h[gate * 81..(gate + 1) * 81].to_vec()).unwrap();
        let qqt = q.dot(&q.t());
        let err = (&qqt - &Array2::<f64>::eye(9))
            .iter()
            .fold(0.0_f64, |m, v| m.max(v.abs()));
        assert!(err < 1e-12, "gate {gate}: ‖QQᵀ − I‖∞ = {err:e}");
    }
}

#[test]
fn empty_sequences_and_regions_are_no_ops() {
    let gru = Gru::new(2, 3).unwrap();
    let p = gru.init_params(1);
    let h0 = Array2::from_elem((4, 3), 0.25);
    let tape = gru.forward(&p, Array3::zeros((0, 4, 2)).view(), h0.view());
    assert_eq!(tape.hidden().dim(), (0, 4, 3));
    assert_eq!(tape.last_hidden(), h0);
    let mut gp = vec![0.0; gru.n_params()];
    let mut gh0 = Array2::zeros((4, 3));
    gru.backward(
        &p,
        Array3::zeros((0, 4, 2)).view(),
        &tape,
        Array3::zeros((0, 4, 3)).view(),
        &mut gp,
        None,
        gh0.view_mut(),
    );
    assert!(gp.iter().all(|&g| g == 0.0) && gh0.iter().all(|&g| g == 0.0));
    let tape = gru.forward(
        &p,
        Array3::zeros((5, 0, 2)).view(),
        Array2::zeros((0, 3)).view(),
    );
    assert_eq!(tape.hidden().dim(), (5, 0, 3));
}

#[test]
#[should_panic(expected = "n_params")]
fn wrong_parameter_length_panics_with_a_clear_message() {
    let gru = Gru::new(2, 3).unwrap();
    gru.forward(
        &[0.0; 3],
        Array3::zeros((1, 1, 2)).view(),
        Array2::zeros((1, 3)).view(),
    );
}
