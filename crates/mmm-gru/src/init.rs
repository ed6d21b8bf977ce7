//! Deterministic parameter initialisation for [`crate::Gru`].
//!
//! A seed fully determines the parameters: a SplitMix64 generator (a few lines, no random-number
//! crate needed) drives
//!
//! * input weights `W_i`: Glorot/Xavier-uniform per gate block, `U(−a, a)` with
//!   `a = √(6 / (n_input + n_hidden))` (fan-in `n_input`, fan-out `n_hidden` of one gate);
//! * recurrent weights `W_h`: each `H × H` gate block is an orthogonal matrix, obtained by
//!   Gram–Schmidt orthonormalisation (applied twice, for numerical stability) of a standard
//!   Gaussian matrix drawn with the Box–Muller transform;
//! * biases `b_i`, `b_h`: zero.

/// SplitMix64: a tiny, statistically sound 64-bit generator.
#[derive(Debug, Clone)]
pub(crate) struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    /// A generator seeded with `seed`.
    pub(crate) fn new(seed: u64) -> Self {
        Self { state: seed }
    }

    /// The next 64 random bits.
    pub(crate) fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A uniform draw from `[0, 1)` with 53 random bits.
    pub(crate) fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// A standard normal draw (Box–Muller, one of the pair).
    pub(crate) fn normal(&mut self) -> f64 {
        // 1 − u lies in (0, 1], so the logarithm is finite.
        let u1 = 1.0 - self.uniform();
        let u2 = self.uniform();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }
}

/// Fills `out` (row-major `n × n`) with a random orthogonal matrix (orthonormal rows).
pub(crate) fn orthogonal(rng: &mut SplitMix64, n: usize, out: &mut [f64]) {
    assert_eq!(
        out.len(),
        n * n,
        "orthogonal: output must hold n × n values"
    );
    loop {
        for v in out.iter_mut() {
            *v = rng.normal();
        }
        if gram_schmidt_rows(n, out) {
            return;
        }
        // A numerically rank-deficient Gaussian draw has probability ~0; draw again.
    }
}

/// Orthonormalises the rows of a row-major `n × n` matrix in place (modified Gram–Schmidt,
/// two passes). Returns `false` if a row collapses (rank deficiency).
fn gram_schmidt_rows(n: usize, a: &mut [f64]) -> bool {
    for i in 0..n {
        for _pass in 0..2 {
            for k in 0..i {
                let (done, rest) = a.split_at_mut(i * n);
                let qk = &done[k * n..(k + 1) * n];
                let ri = &mut rest[..n];
                let proj: f64 = qk.iter().zip(ri.iter()).map(|(q, r)| q * r).sum();
                for (r, q) in ri.iter_mut().zip(qk) {
                    *r -= proj * q;
                }
            }
        }
        let row = &mut a[i * n..(i + 1) * n];
        let norm = row.iter().map(|v| v * v).sum::<f64>().sqrt();
        if norm.is_nan() || norm <= 1e-10 {
            return false;
        }
        for v in row.iter_mut() {
            *v /= norm;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orthogonal_rows_are_orthonormal() {
        let mut rng = SplitMix64::new(3);
        for n in [1, 2, 5, 17] {
            let mut q = vec![0.0; n * n];
            orthogonal(&mut rng, n, &mut q);
            for i in 0..n {
                for j in 0..n {
                    let dot: f64 = (0..n).map(|k| q[i * n + k] * q[j * n + k]).sum();
                    let want = if i == j { 1.0 } else { 0.0 };
                    assert!((dot - want).abs() < 1e-12, "n={n} ({i},{j}): {dot}");
                }
            }
        }
    }

    #[test]
    fn normal_draws_have_unit_moments() {
        let mut rng = SplitMix64::new(11);
        let xs: Vec<f64> = (0..20_000).map(|_| rng.normal()).collect();
        let mean = xs.iter().sum::<f64>() / xs.len() as f64;
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / xs.len() as f64;
        assert!(mean.abs() < 0.03, "mean {mean}");
        assert!((var - 1.0).abs() < 0.05, "variance {var}");
    }
}
