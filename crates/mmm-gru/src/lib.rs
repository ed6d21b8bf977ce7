//! A GRU layer batched over regions, with hand-written backpropagation through time.
//!
//! # Equations
//!
//! PyTorch's convention, with σ the logistic function and ⊙ the element-wise product. For every
//! region independently (all regions share the parameters), at every step `t = 1..T`:
//!
//! ```text
//! r_t = σ(W_ir x_t + b_ir + W_hr h_{t−1} + b_hr)          reset gate
//! z_t = σ(W_iz x_t + b_iz + W_hz h_{t−1} + b_hz)          update gate
//! n_t = tanh(W_in x_t + b_in + r_t ⊙ (W_hn h_{t−1} + b_hn))   candidate
//! h_t = (1 − z_t) ⊙ n_t + z_t ⊙ h_{t−1}
//! ```
//!
//! # Flat parameter layout
//!
//! With `I = n_input`, `H = n_hidden`, the parameter buffer (length
//! [`Gru::n_params`] `= 3H·I + 3H·H + 6H`) is, in this order:
//!
//! | block | shape     | storage   | rows                           | range                 |
//! |-------|-----------|-----------|--------------------------------|-----------------------|
//! | `W_i` | `3H × I`  | row-major | `W_ir`, `W_iz`, `W_in` (H each) | [`Gru::w_i_range`]    |
//! | `W_h` | `3H × H`  | row-major | `W_hr`, `W_hz`, `W_hn`          | [`Gru::w_h_range`]    |
//! | `b_i` | `3H`      |           | `b_ir`, `b_iz`, `b_in`          | [`Gru::b_i_range`]    |
//! | `b_h` | `3H`      |           | `b_hr`, `b_hz`, `b_hn`          | [`Gru::b_h_range`]    |
//!
//! This is exactly PyTorch's `weight_ih_l0`, `weight_hh_l0`, `bias_ih_l0`, `bias_hh_l0`.
//!
//! # Backpropagation through time
//!
//! Given `g_t = ∂L/∂h_t` from the loss for every step, the backward pass runs `t = T..1` with
//! `δ_t = g_t + (carry from step t+1)` and, writing `a_·` for the gate pre-activations and
//! `ĥ_t = W_hn h_{t−1} + b_hn`:
//!
//! ```text
//! δn   = δ_t ⊙ (1 − z_t)            δa_n = δn ⊙ (1 − n_t²)
//! δz   = δ_t ⊙ (h_{t−1} − n_t)       δa_z = δz ⊙ z_t (1 − z_t)
//! δr   = δa_n ⊙ ĥ_t                  δa_r = δr ⊙ r_t (1 − r_t)
//! ∂L/∂(input projection)     = [δa_r, δa_z, δa_n]        =: D^i_t
//! ∂L/∂(recurrent projection) = [δa_r, δa_z, δa_n ⊙ r_t]  =: D^h_t
//! carry to h_{t−1} = δ_t ⊙ z_t + D^h_t W_h
//! ∂W_i += D^i_tᵀ x_t,   ∂b_i += D^i_t,   ∂x_t = D^i_t W_i
//! ∂W_h += D^h_tᵀ h_{t−1}, ∂b_h += D^h_t
//! ```
//!
//! and the carry left after step 1 is `∂L/∂h_0`. The forward pass stores `r_t, z_t, n_t, ĥ_t` and
//! `h_t` on the [`GruTape`] so the backward pass recomputes nothing.
//!
//! # Batching and parallelism
//!
//! Regions are split into chunks of [`Gru::chunk_size`] consecutive regions (default 32). Within a
//! chunk of `c` regions every matrix product is one GEMM (ndarray's `general_mat_mul`, backed by
//! `matrixmultiply`, or by the system OpenBLAS with the `blas` feature):
//!
//! * forward: the input projections of all steps at once, `[T·c × I]·[I × 3H]`, then one
//!   `[c × H]·[H × 3H]` product per step;
//! * backward: one `[c × 3H]·[3H × H]` product per step for the carry, and after the time loop one
//!   product each for `∂W_i` (`[3H × T·c]·[T·c × I]`), `∂W_h`, and `∂x` (`[T·c × 3H]·[3H × I]`).
//!
//! Chunks run in parallel with rayon. Each chunk writes its own parameter-gradient buffer; the
//! buffers are added to the caller's gradient one after another in chunk order. Chunk boundaries
//! depend only on the chunk size, the arithmetic inside a chunk is sequential, and the reduction
//! order is fixed, so results are bitwise identical for any number of threads.
//!
//! # A learned initial state
//!
//! The layer takes an explicit `h0` per region. A learned initial state shared by all regions is
//! the caller's: broadcast the vector to `h0` and sum `∂L/∂h0` over regions.
//!
//! ```
//! use mmm_gru::Gru;
//! use ndarray::{Array1, Array2, Array3};
//!
//! let (t, r, n_in, h) = (4, 3, 2, 5);
//! let gru = Gru::new(n_in, h).unwrap();
//! let params = gru.init_params(7);
//! let x = Array3::from_shape_fn((t, r, n_in), |(t, r, i)| ((t + 2 * r + 3 * i) as f64).sin());
//! let v = Array1::from_elem(h, 0.1); // the learned initial state
//! let h0 = v.broadcast((r, h)).unwrap();
//!
//! let tape = gru.forward(&params, x.view(), h0);
//! // loss = Σ h_T, so ∂L/∂h_t is 1 at the last step and 0 elsewhere
//! let mut grad_h = Array3::zeros((t, r, h));
//! grad_h.index_axis_mut(ndarray::Axis(0), t - 1).fill(1.0);
//!
//! let mut grad_params = vec![0.0; gru.n_params()];
//! let mut grad_h0 = Array2::zeros((r, h));
//! gru.backward(&params, x.view(), &tape, grad_h.view(), &mut grad_params, None, grad_h0.view_mut());
//! let grad_v = grad_h0.sum_axis(ndarray::Axis(0)); // ∂L/∂v
//! assert_eq!(grad_v.len(), h);
//! ```

mod init;

use ndarray::linalg::general_mat_mul;
use ndarray::{
    Array2, Array3, ArrayView1, ArrayView2, ArrayView3, ArrayViewMut2, ArrayViewMut3, Axis, Slice,
};
use rayon::prelude::*;
use std::ops::Range;

// The BLAS behind ndarray's products with the `blas` feature (openblas-src picks the system one).
#[cfg(feature = "blas")]
use blas_src as _;
#[cfg(feature = "blas")]
use openblas_src as _;

/// Errors of the GRU layer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A layer size was zero.
    #[error("GRU size `{what}` must be at least 1")]
    ZeroSize {
        /// Which size (`n_input` or `n_hidden`).
        what: &'static str,
    },
}

/// Result alias of this crate.
pub type Result<T> = std::result::Result<T, Error>;

/// Default number of regions per parallel chunk.
pub const DEFAULT_CHUNK_SIZE: usize = 32;

/// Number of chunks whose gradient buffers are held at once during the backward pass. A constant
/// (not the thread count) so that the reduction order never depends on the machine.
const CHUNKS_PER_WAVE: usize = 16;

/// A single-layer GRU applied to many regions (sequences) at once. See the [crate docs](crate).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gru {
    n_input: usize,
    n_hidden: usize,
    chunk: usize,
}

/// Borrowed views of the four parameter blocks.
struct Weights<'a> {
    h: usize,
    /// `[3H, I]`
    w_i: ArrayView2<'a, f64>,
    /// `[3H, H]`
    w_h: ArrayView2<'a, f64>,
    /// `[3H]`
    b_i: ArrayView1<'a, f64>,
    /// `[3H]`
    b_h: &'a [f64],
}

impl Gru {
    /// A GRU with `n_input` inputs and `n_hidden` hidden units. Errors when a size is 0.
    pub fn new(n_input: usize, n_hidden: usize) -> Result<Gru> {
        if n_input == 0 {
            return Err(Error::ZeroSize { what: "n_input" });
        }
        if n_hidden == 0 {
            return Err(Error::ZeroSize { what: "n_hidden" });
        }
        Ok(Gru {
            n_input,
            n_hidden,
            chunk: DEFAULT_CHUNK_SIZE,
        })
    }

    /// Number of inputs per step.
    pub fn n_input(&self) -> usize {
        self.n_input
    }

    /// Number of hidden units.
    pub fn n_hidden(&self) -> usize {
        self.n_hidden
    }

    /// Regions per parallel chunk (default [`DEFAULT_CHUNK_SIZE`]; 0 is treated as 1).
    ///
    /// Results do not depend on the thread count. Different chunk sizes give results that agree
    /// to rounding (the products are grouped differently), not bitwise.
    pub fn with_chunk_size(self, regions_per_chunk: usize) -> Self {
        Gru {
            chunk: regions_per_chunk.max(1),
            ..self
        }
    }

    /// Regions per parallel chunk.
    pub fn chunk_size(&self) -> usize {
        self.chunk
    }

    /// Length of the flat parameter buffer: `3H·I + 3H·H + 6H`.
    pub fn n_params(&self) -> usize {
        let h3 = 3 * self.n_hidden;
        h3 * self.n_input + h3 * self.n_hidden + 2 * h3
    }

    /// Range of `W_i` (`3H × I`, row-major, gate rows r, z, n) in the parameter buffer.
    pub fn w_i_range(&self) -> Range<usize> {
        0..3 * self.n_hidden * self.n_input
    }

    /// Range of `W_h` (`3H × H`, row-major, gate rows r, z, n) in the parameter buffer.
    pub fn w_h_range(&self) -> Range<usize> {
        let start = self.w_i_range().end;
        start..start + 3 * self.n_hidden * self.n_hidden
    }

    /// Range of `b_i` (`3H`, gates r, z, n) in the parameter buffer.
    pub fn b_i_range(&self) -> Range<usize> {
        let start = self.w_h_range().end;
        start..start + 3 * self.n_hidden
    }

    /// Range of `b_h` (`3H`, gates r, z, n) in the parameter buffer.
    pub fn b_h_range(&self) -> Range<usize> {
        let start = self.b_i_range().end;
        start..start + 3 * self.n_hidden
    }

    /// Deterministic initialisation from a seed: Glorot-uniform input weights (per gate block),
    /// orthogonal recurrent gate blocks, zero biases. See the `init` module docs.
    pub fn init_params(&self, seed: u64) -> Vec<f64> {
        let (i, h) = (self.n_input, self.n_hidden);
        let mut p = vec![0.0; self.n_params()];
        let mut rng = init::SplitMix64::new(seed);
        let a = (6.0 / (i + h) as f64).sqrt();
        for v in &mut p[self.w_i_range()] {
            *v = a * (2.0 * rng.uniform() - 1.0);
        }
        let w_h = &mut p[self.w_h_range()];
        for gate in 0..3 {
            init::orthogonal(&mut rng, h, &mut w_h[gate * h * h..(gate + 1) * h * h]);
        }
        p
    }

    fn weights<'a>(&self, params: &'a [f64]) -> Weights<'a> {
        assert_eq!(
            params.len(),
            self.n_params(),
            "GRU parameter buffer has length {}, expected n_params() = {}",
            params.len(),
            self.n_params()
        );
        let (i, h) = (self.n_input, self.n_hidden);
        let view = |r: Range<usize>, rows, cols| {
            ArrayView2::from_shape((rows, cols), &params[r]).expect("parameter block shape")
        };
        Weights {
            h,
            w_i: view(self.w_i_range(), 3 * h, i),
            w_h: view(self.w_h_range(), 3 * h, h),
            b_i: ArrayView1::from(&params[self.b_i_range()]),
            b_h: &params[self.b_h_range()],
        }
    }

    /// Runs the GRU over all regions.
    ///
    /// `x`: inputs `[T, R, n_input]`, time-major; `h0`: initial states `[R, n_hidden]`. Returns the
    /// tape holding every hidden state `h_1..h_T` and what [`Gru::backward`] needs.
    ///
    /// # Panics
    /// If `params.len() != n_params()` or the shapes of `x` and `h0` do not match the layer.
    pub fn forward(&self, params: &[f64], x: ArrayView3<f64>, h0: ArrayView2<f64>) -> GruTape {
        let mut tape = GruTape::default();
        self.forward_into(params, x, h0, &mut tape);
        tape
    }

    /// [`Gru::forward`] into an existing tape, reusing its buffers when the shapes match (a
    /// training loop then allocates — and the OS zero-fills — the large `[T, R, ·]` arrays once,
    /// not every epoch).
    ///
    /// # Panics
    /// As [`Gru::forward`].
    pub fn forward_into(
        &self,
        params: &[f64],
        x: ArrayView3<f64>,
        h0: ArrayView2<f64>,
        tape: &mut GruTape,
    ) {
        let w = self.weights(params);
        let (t_len, r_len, n_in) = x.dim();
        let h = self.n_hidden;
        assert_eq!(
            n_in, self.n_input,
            "GRU input x is [T, R, {n_in}], expected n_input = {}",
            self.n_input
        );
        assert_eq!(
            h0.dim(),
            (r_len, h),
            "GRU h0 must be [R, H] = [{r_len}, {h}], got {:?}",
            h0.dim()
        );
        // Every cell is overwritten below, so reused buffers need no clearing.
        if tape.hidden.dim() != (t_len, r_len, h) {
            tape.hidden = Array3::zeros((t_len, r_len, h));
        }
        if tape.gates.dim() != (t_len, r_len, 4 * h) {
            tape.gates = Array3::zeros((t_len, r_len, 4 * h));
        }
        if tape.h0.dim() == h0.dim() {
            tape.h0.assign(&h0);
        } else {
            tape.h0 = h0.to_owned();
        }
        if t_len > 0 && r_len > 0 {
            let cs = self.chunk;
            tape.hidden
                .axis_chunks_iter_mut(Axis(1), cs)
                .into_par_iter()
                .zip(tape.gates.axis_chunks_iter_mut(Axis(1), cs).into_par_iter())
                .enumerate()
                .for_each(|(k, (hid, gat))| {
                    let r0 = k * cs;
                    let c = hid.len_of(Axis(1));
                    forward_chunk(
                        &w,
                        x.slice_axis(Axis(1), Slice::from(r0..r0 + c)),
                        h0.slice_axis(Axis(0), Slice::from(r0..r0 + c)),
                        hid,
                        gat,
                    );
                });
        }
    }

    /// Backpropagation through time.
    ///
    /// `grad_h` is `∂L/∂h_t` for every step, `[T, R, H]` (the loss may read every hidden state).
    /// The gradients are ACCUMULATED (`+=`) into `grad_params` (length [`Gru::n_params`]),
    /// `grad_x` (`[T, R, n_input]`, skipped if `None`) and `grad_h0` (`[R, H]`).
    ///
    /// # Panics
    /// If a length or shape does not match the layer, `x` or the tape.
    #[allow(clippy::too_many_arguments)]
    pub fn backward(
        &self,
        params: &[f64],
        x: ArrayView3<f64>,
        tape: &GruTape,
        grad_h: ArrayView3<f64>,
        grad_params: &mut [f64],
        mut grad_x: Option<ArrayViewMut3<f64>>,
        mut grad_h0: ArrayViewMut2<f64>,
    ) {
        let w = self.weights(params);
        let (t_len, r_len, n_in) = x.dim();
        let h = self.n_hidden;
        assert_eq!(
            n_in, self.n_input,
            "GRU input x is [T, R, {n_in}], expected n_input = {}",
            self.n_input
        );
        assert_eq!(
            tape.hidden.dim(),
            (t_len, r_len, h),
            "GRU tape does not match x: tape is {:?}, x implies [{t_len}, {r_len}, {h}]",
            tape.hidden.dim()
        );
        assert_eq!(
            grad_h.dim(),
            (t_len, r_len, h),
            "GRU grad_h must be [T, R, H]"
        );
        assert_eq!(
            grad_params.len(),
            self.n_params(),
            "GRU grad_params must have length n_params()"
        );
        assert_eq!(grad_h0.dim(), (r_len, h), "GRU grad_h0 must be [R, H]");
        if let Some(gx) = &grad_x {
            assert_eq!(
                gx.dim(),
                (t_len, r_len, n_in),
                "GRU grad_x must be [T, R, n_input]"
            );
        }
        if t_len == 0 || r_len == 0 {
            return;
        }
        let cs = self.chunk;
        let n_chunks = r_len.div_ceil(cs);
        let want_dx = grad_x.is_some();
        let mut wave_start = 0;
        while wave_start < n_chunks {
            let wave_end = (wave_start + CHUNKS_PER_WAVE).min(n_chunks);
            let results: Vec<ChunkGrad> = (wave_start..wave_end)
                .into_par_iter()
                .map(|k| {
                    let rr = k * cs..((k + 1) * cs).min(r_len);
                    backward_chunk(
                        &w,
                        x.slice_axis(Axis(1), Slice::from(rr.clone())),
                        tape.h0.slice_axis(Axis(0), Slice::from(rr.clone())),
                        tape.hidden.slice_axis(Axis(1), Slice::from(rr.clone())),
                        tape.gates.slice_axis(Axis(1), Slice::from(rr.clone())),
                        grad_h.slice_axis(Axis(1), Slice::from(rr)),
                        want_dx,
                    )
                })
                .collect();
            // Fixed-order reduction: chunk k is added before chunk k + 1, whatever the threads.
            for (k, res) in (wave_start..wave_end).zip(results) {
                let rr = k * cs..((k + 1) * cs).min(r_len);
                let c = rr.len();
                for (g, v) in grad_params.iter_mut().zip(&res.params) {
                    *g += v;
                }
                let mut gh0 = grad_h0.slice_axis_mut(Axis(0), Slice::from(rr.clone()));
                gh0 += &res.dh0;
                if let (Some(gx), Some(dx)) = (grad_x.as_mut(), res.dx) {
                    let dx = dx
                        .into_shape_with_order((t_len, c, n_in))
                        .expect("dx shape");
                    let mut gx = gx.slice_axis_mut(Axis(1), Slice::from(rr));
                    gx += &dx;
                }
            }
            wave_start = wave_end;
        }
    }
}

/// Everything the forward pass records for the backward pass ([`Default`]: an empty tape for
/// [`Gru::forward_into`] to fill).
#[derive(Debug, Clone, Default)]
pub struct GruTape {
    /// Initial states `[R, H]`.
    h0: Array2<f64>,
    /// `h_1..h_T`, `[T, R, H]`.
    hidden: Array3<f64>,
    /// Per step and region: `r`, `z`, `n`, `W_hn h_{t−1} + b_hn`, `[T, R, 4H]`.
    gates: Array3<f64>,
}

impl GruTape {
    /// Hidden states `[T, R, H]`; index `t` holds `h_{t+1}`, the state after step `t + 1`.
    pub fn hidden(&self) -> ArrayView3<'_, f64> {
        self.hidden.view()
    }

    /// The initial states `[R, H]` the forward pass started from.
    pub fn h0(&self) -> ArrayView2<'_, f64> {
        self.h0.view()
    }

    /// The last hidden state `h_T`, `[R, H]` (`h0` when `T = 0`), e.g. to continue a sequence.
    pub fn last_hidden(&self) -> ArrayView2<'_, f64> {
        let t = self.hidden.len_of(Axis(0));
        if t == 0 {
            self.h0.view()
        } else {
            self.hidden.index_axis(Axis(0), t - 1)
        }
    }

    /// Consumes the tape and returns the hidden states `[T, R, H]`.
    pub fn into_hidden(self) -> Array3<f64> {
        self.hidden
    }
}

#[inline]
fn sigmoid(a: f64) -> f64 {
    1.0 / (1.0 + (-a).exp())
}

/// Copies a `[T, c, I]` view into a contiguous `[T·c, I]` matrix (row `t·c + i`).
fn stack_time(x: ArrayView3<f64>) -> Array2<f64> {
    let (t, c, n) = x.dim();
    let mut out = Array3::zeros((t, c, n));
    out.assign(&x);
    out.into_shape_with_order((t * c, n))
        .expect("contiguous reshape")
}

/// Forward pass of one chunk of `c` regions, writing `h_t` into `hid` (`[T, c, H]`) and the
/// gates into `gat` (`[T, c, 4H]`).
fn forward_chunk(
    w: &Weights,
    x: ArrayView3<f64>,
    h0: ArrayView2<f64>,
    mut hid: ArrayViewMut3<f64>,
    mut gat: ArrayViewMut3<f64>,
) {
    let (t_len, c, _) = x.dim();
    let h = w.h;
    let xc = stack_time(x);
    // Input projections of every step at once: [T·c × I]·[I × 3H] + b_i.
    let mut gi = Array2::zeros((t_len * c, 3 * h));
    general_mat_mul(1.0, &xc, &w.w_i.t(), 0.0, &mut gi);
    gi += &w.b_i;
    let mut h_prev = Array2::zeros((c, h));
    h_prev.assign(&h0);
    let mut gh = Array2::zeros((c, 3 * h));
    let (b_hr, rest) = w.b_h.split_at(h);
    let (b_hz, b_hn) = rest.split_at(h);
    for t in 0..t_len {
        // Recurrent projections: [c × H]·[H × 3H].
        general_mat_mul(1.0, &h_prev, &w.w_h.t(), 0.0, &mut gh);
        let gi_t = gi.slice_axis(Axis(0), Slice::from(t * c..(t + 1) * c));
        let mut hid_t = hid.index_axis_mut(Axis(0), t);
        let mut gat_t = gat.index_axis_mut(Axis(0), t);
        for i in 0..c {
            let gi_row = gi_t.row(i);
            let gi_row = gi_row.as_slice().expect("contiguous row");
            let gh_row = gh.row(i);
            let gh_row = gh_row.as_slice().expect("contiguous row");
            let mut hp_row = h_prev.row_mut(i);
            let hp = hp_row.as_slice_mut().expect("contiguous row");
            let mut ho_row = hid_t.row_mut(i);
            let ho = ho_row.as_slice_mut().expect("contiguous row");
            let mut g_row = gat_t.row_mut(i);
            let g = g_row.as_slice_mut().expect("contiguous row");
            let (g_r, rest) = g.split_at_mut(h);
            let (g_z, rest) = rest.split_at_mut(h);
            let (g_n, g_hn) = rest.split_at_mut(h);
            for j in 0..h {
                let hn = gh_row[2 * h + j] + b_hn[j];
                let r = sigmoid(gi_row[j] + gh_row[j] + b_hr[j]);
                let z = sigmoid(gi_row[h + j] + gh_row[h + j] + b_hz[j]);
                let n = (gi_row[2 * h + j] + r * hn).tanh();
                let h_new = (1.0 - z) * n + z * hp[j];
                g_r[j] = r;
                g_z[j] = z;
                g_n[j] = n;
                g_hn[j] = hn;
                ho[j] = h_new;
                hp[j] = h_new;
            }
        }
    }
}

/// Gradients of one chunk.
struct ChunkGrad {
    /// Parameter gradient of this chunk alone (length `n_params`).
    params: Vec<f64>,
    /// `∂L/∂x`, `[T·c, I]` (row `t·c + i`), if requested.
    dx: Option<Array2<f64>>,
    /// `∂L/∂h0`, `[c, H]`.
    dh0: Array2<f64>,
}

/// Backward pass of one chunk of `c` regions (all views are `[T, c, ·]` or `[c, ·]`).
fn backward_chunk(
    w: &Weights,
    x: ArrayView3<f64>,
    h0: ArrayView2<f64>,
    hid: ArrayView3<f64>,
    gat: ArrayView3<f64>,
    grad_h: ArrayView3<f64>,
    want_dx: bool,
) -> ChunkGrad {
    let (t_len, c, n_in) = x.dim();
    let h = w.h;
    let h3 = 3 * h;
    // h_{t−1} for every step, stacked like the inputs: [T·c × H].
    let mut hprev = Array2::zeros((t_len * c, h));
    hprev.slice_axis_mut(Axis(0), Slice::from(0..c)).assign(&h0);
    for t in 1..t_len {
        hprev
            .slice_axis_mut(Axis(0), Slice::from(t * c..(t + 1) * c))
            .assign(&hid.index_axis(Axis(0), t - 1));
    }
    let mut dgi = Array2::<f64>::zeros((t_len * c, h3));
    let mut dgh = Array2::<f64>::zeros((t_len * c, h3));
    // δ: the gradient reaching h_t (after the step's own grad_h is added).
    let mut dh = Array2::<f64>::zeros((c, h));
    for t in (0..t_len).rev() {
        dh += &grad_h.index_axis(Axis(0), t);
        let gat_t = gat.index_axis(Axis(0), t);
        let rows = t * c..(t + 1) * c;
        {
            let hp_t = hprev.slice_axis(Axis(0), Slice::from(rows.clone()));
            let mut dgi_t = dgi.slice_axis_mut(Axis(0), Slice::from(rows.clone()));
            let mut dgh_t = dgh.slice_axis_mut(Axis(0), Slice::from(rows.clone()));
            for i in 0..c {
                let g_row = gat_t.row(i);
                let g = g_row.as_slice().expect("contiguous row");
                let (g_r, rest) = g.split_at(h);
                let (g_z, rest) = rest.split_at(h);
                let (g_n, g_hn) = rest.split_at(h);
                let hp_row = hp_t.row(i);
                let hp = hp_row.as_slice().expect("contiguous row");
                let mut dh_row = dh.row_mut(i);
                let d = dh_row.as_slice_mut().expect("contiguous row");
                let mut dgi_row = dgi_t.row_mut(i);
                let di = dgi_row.as_slice_mut().expect("contiguous row");
                let mut dgh_row = dgh_t.row_mut(i);
                let dr_h = dgh_row.as_slice_mut().expect("contiguous row");
                for j in 0..h {
                    let (r, z, n, hn) = (g_r[j], g_z[j], g_n[j], g_hn[j]);
                    let delta = d[j];
                    let da_n = delta * (1.0 - z) * (1.0 - n * n);
                    let da_z = delta * (hp[j] - n) * z * (1.0 - z);
                    let da_r = da_n * hn * r * (1.0 - r);
                    di[j] = da_r;
                    di[h + j] = da_z;
                    di[2 * h + j] = da_n;
                    dr_h[j] = da_r;
                    dr_h[h + j] = da_z;
                    dr_h[2 * h + j] = da_n * r;
                    d[j] = delta * z;
                }
            }
        }
        // Carry through the recurrent projection: δ_{t−1} += D^h_t · W_h ([c × 3H]·[3H × H]).
        general_mat_mul(
            1.0,
            &dgh.slice_axis(Axis(0), Slice::from(rows)),
            &w.w_h,
            1.0,
            &mut dh,
        );
    }
    let n_wi = h3 * n_in;
    let n_wh = h3 * h;
    let mut params = vec![0.0; n_wi + n_wh + 2 * h3];
    {
        let (g_wi, rest) = params.split_at_mut(n_wi);
        let (g_wh, rest) = rest.split_at_mut(n_wh);
        let (g_bi, g_bh) = rest.split_at_mut(h3);
        let mut g_wi = ArrayViewMut2::from_shape((h3, n_in), g_wi).expect("W_i block");
        let mut g_wh = ArrayViewMut2::from_shape((h3, h), g_wh).expect("W_h block");
        let xc = stack_time(x);
        general_mat_mul(1.0, &dgi.t(), &xc, 0.0, &mut g_wi);
        general_mat_mul(1.0, &dgh.t(), &hprev, 0.0, &mut g_wh);
        for (row_i, row_h) in dgi.rows().into_iter().zip(dgh.rows()) {
            for ((b, v), (bh, vh)) in g_bi.iter_mut().zip(row_i).zip(g_bh.iter_mut().zip(row_h)) {
                *b += v;
                *bh += vh;
            }
        }
    }
    let dx = want_dx.then(|| dgi.dot(&w.w_i));
    ChunkGrad {
        params,
        dx,
        dh0: dh,
    }
}
