//! Convergence diagnostics of several chains of one scalar: rank-normalised split R-hat and bulk
//! and tail effective sample sizes, as in Vehtari, Gelman, Simpson, Carpenter and Bürkner (2021),
//! "Rank-normalization, folding, and localization: an improved R-hat for assessing convergence of
//! MCMC", Bayesian Analysis 16(2) — the definitions ArviZ and Stan use.
//!
//! * Split: each chain of n draws becomes two chains of ⌊n/2⌋ (the middle draw of an odd chain is
//!   dropped), so a trend within a chain shows as disagreement between chains.
//! * Rank normalisation: every draw of every chain is replaced by Φ⁻¹((rank − 3/8) / (S + 1/4)),
//!   ranks pooled over all S draws (ties get their average rank).
//! * R-hat = max(R̂ of the rank-normalised split chains, R̂ of the rank-normalised folded draws
//!   |θ − median θ|), with R̂ = √(var⁺ / W), var⁺ = (n−1)/n W + B/n.
//! * ESS = M n / τ̂, τ̂ = −1 + 2 Σ ρ̂_t from the multi-chain autocorrelations
//!   ρ̂_t = 1 − (W − mean_m acov_m(t)) / var⁺, summed over Geyer's initial positive and monotone
//!   sequence of pair sums (ρ̂_{2k} + ρ̂_{2k+1}); τ̂ is at least 1 / log₁₀(M n).
//! * Bulk ESS: ESS of the rank-normalised split chains. Tail ESS: the smaller ESS of the split
//!   indicators 1{θ ≤ q₀.₀₅} and 1{θ ≤ q₀.₉₅}.
//!
//! A series with no variation has R-hat 1 and ESS = M n (nothing is uncertain about it).
//!
//! [`Diagnostics::assess`] applies them to every sampled coordinate of a posterior and says what
//! fails.

use crate::density::PosteriorModel;
use crate::sample::{Posterior, Settings};
use serde::{Deserialize, Serialize};

/// Split R-hat of the rank-normalised draws and of the rank-normalised folded draws, the larger.
/// `chains[m]` holds chain m's draws of one scalar; every chain must have the same length ≥ 4.
pub fn rhat(chains: &[Vec<f64>]) -> f64 {
    let split = split_chains(chains);
    let bulk = plain_rhat(&rank_normalize(&split));
    let all: Vec<f64> = split.iter().flatten().copied().collect();
    let median = quantile(&all, 0.5);
    let folded: Vec<Vec<f64>> = split
        .iter()
        .map(|c| c.iter().map(|v| (v - median).abs()).collect())
        .collect();
    let tail = plain_rhat(&rank_normalize(&folded));
    bulk.max(tail)
}

/// Bulk effective sample size: ESS of the rank-normalised split chains.
pub fn ess_bulk(chains: &[Vec<f64>]) -> f64 {
    ess(&rank_normalize(&split_chains(chains)))
}

/// Tail effective sample size: the smaller ESS of the split indicators of the 5 % and 95 %
/// quantiles.
pub fn ess_tail(chains: &[Vec<f64>]) -> f64 {
    let split = split_chains(chains);
    let all: Vec<f64> = split.iter().flatten().copied().collect();
    [0.05, 0.95]
        .iter()
        .map(|&p| {
            let q = quantile(&all, p);
            let ind: Vec<Vec<f64>> = split
                .iter()
                .map(|c| c.iter().map(|&v| f64::from(u8::from(v <= q))).collect())
                .collect();
            ess(&ind)
        })
        .fold(f64::INFINITY, f64::min)
}

/// Each chain cut into its first and second half (the middle draw of an odd length dropped).
fn split_chains(chains: &[Vec<f64>]) -> Vec<Vec<f64>> {
    assert!(!chains.is_empty(), "no chains");
    let n = chains[0].len();
    assert!(
        chains.iter().all(|c| c.len() == n),
        "chains of different lengths"
    );
    assert!(n >= 4, "a chain needs at least 4 draws");
    let half = n / 2;
    chains
        .iter()
        .flat_map(|c| [c[..half].to_vec(), c[n - half..].to_vec()])
        .collect()
}

/// Rank normalisation (module docs), ties at their average rank.
fn rank_normalize(chains: &[Vec<f64>]) -> Vec<Vec<f64>> {
    let all: Vec<f64> = chains.iter().flatten().copied().collect();
    let s = all.len();
    let mut order: Vec<usize> = (0..s).collect();
    order.sort_by(|&a, &b| all[a].total_cmp(&all[b]));
    let mut ranks = vec![0.0; s];
    let mut i = 0;
    while i < s {
        let mut j = i;
        while j + 1 < s && all[order[j + 1]] == all[order[i]] {
            j += 1;
        }
        // Ranks are 1-based: positions i..=j share rank (i + j)/2 + 1.
        let rank = (i + j) as f64 / 2.0 + 1.0;
        for &k in &order[i..=j] {
            ranks[k] = rank;
        }
        i = j + 1;
    }
    let n = chains[0].len();
    let z: Vec<f64> = ranks
        .iter()
        .map(|r| normal_quantile((r - 0.375) / (s as f64 + 0.25)))
        .collect();
    z.chunks(n).map(<[f64]>::to_vec).collect()
}

fn mean(x: &[f64]) -> f64 {
    x.iter().sum::<f64>() / x.len() as f64
}

/// Sample variance (n − 1 in the denominator).
fn variance(x: &[f64]) -> f64 {
    let m = mean(x);
    x.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / (x.len() as f64 - 1.0)
}

/// Classic R̂ = √(var⁺ / W) of equal-length chains; 1 when the draws do not vary.
fn plain_rhat(chains: &[Vec<f64>]) -> f64 {
    let n = chains[0].len() as f64;
    let means: Vec<f64> = chains.iter().map(|c| mean(c)).collect();
    let w = mean(&chains.iter().map(|c| variance(c)).collect::<Vec<_>>());
    let b = n * variance(&means);
    if w <= 0.0 {
        return 1.0;
    }
    let var_plus = (n - 1.0) / n * w + b / n;
    (var_plus / w).sqrt()
}

/// Multi-chain ESS (module docs), autocovariances computed lag by lag as far as Geyer's
/// sequence needs them.
fn ess(chains: &[Vec<f64>]) -> f64 {
    let m = chains.len();
    let n = chains[0].len();
    let total = (m * n) as f64;
    let centred: Vec<Vec<f64>> = chains
        .iter()
        .map(|c| {
            let mu = mean(c);
            c.iter().map(|v| v - mu).collect()
        })
        .collect();
    // Mean over chains of the biased autocovariance at lag t.
    let acov = |t: usize| -> f64 {
        centred
            .iter()
            .map(|c| {
                c[..n - t]
                    .iter()
                    .zip(&c[t..])
                    .map(|(a, b)| a * b)
                    .sum::<f64>()
                    / n as f64
            })
            .sum::<f64>()
            / m as f64
    };
    let nf = n as f64;
    let mean_var = acov(0) * nf / (nf - 1.0);
    let means: Vec<f64> = chains.iter().map(|c| mean(c)).collect();
    let mut var_plus = mean_var * (nf - 1.0) / nf;
    if m > 1 {
        var_plus += variance(&means);
    }
    if var_plus <= 0.0 {
        return total;
    }
    let rho = |t: usize| 1.0 - (mean_var - acov(t)) / var_plus;
    let mut rho_hat = vec![0.0; n];
    rho_hat[0] = 1.0;
    let mut even = 1.0;
    let mut odd = rho(1);
    rho_hat[1] = odd;
    let mut t = 1;
    while t + 3 < n && even + odd > 0.0 {
        even = rho(t + 1);
        odd = rho(t + 2);
        if even + odd >= 0.0 {
            rho_hat[t + 1] = even;
            rho_hat[t + 2] = odd;
        }
        t += 2;
    }
    // As ArviZ: the last pair read sits at max_t + 1, max_t + 2; a positive last even
    // autocorrelation is kept as a one-sided tail term.
    let max_t = t as isize - 2;
    if even > 0.0 && ((max_t + 1) as usize) < n {
        rho_hat[(max_t + 1) as usize] = even;
    }
    // Initial monotone sequence: pair sums may not increase.
    let mut t = 1;
    while (t as isize) <= max_t - 2 {
        let prev = rho_hat[t - 1] + rho_hat[t];
        if rho_hat[t + 1] + rho_hat[t + 2] > prev {
            rho_hat[t + 1] = prev / 2.0;
            rho_hat[t + 2] = prev / 2.0;
        }
        t += 2;
    }
    let upto = (max_t + 1).max(0) as usize;
    let sum: f64 = rho_hat[..upto].iter().sum();
    let tail = rho_hat.get(upto).copied().unwrap_or(0.0);
    let tau = (-1.0 + 2.0 * sum + tail).max(1.0 / total.log10());
    total / tau
}

/// The p-quantile of `x` (linear interpolation between order statistics, as NumPy's default).
pub fn quantile(x: &[f64], p: f64) -> f64 {
    assert!(!x.is_empty(), "quantile of nothing");
    let mut v = x.to_vec();
    v.sort_by(f64::total_cmp);
    let h = (v.len() - 1) as f64 * p.clamp(0.0, 1.0);
    let lo = h.floor() as usize;
    let hi = h.ceil() as usize;
    v[lo] + (h - lo as f64) * (v[hi] - v[lo])
}

/// Standard normal quantile Φ⁻¹(p) for p ∈ (0, 1): Acklam's rational approximation (relative
/// error below 1.2·10⁻⁹), ample for rank normalisation.
pub fn normal_quantile(p: f64) -> f64 {
    const A: [f64; 6] = [
        -3.969_683_028_665_376e1,
        2.209_460_984_245_205e2,
        -2.759_285_104_469_687e2,
        1.383_577_518_672_69e2,
        -3.066_479_806_614_716e1,
        2.506_628_277_459_239,
    ];
    const B: [f64; 5] = [
        -5.447_609_879_822_406e1,
        1.615_858_368_580_409e2,
        -1.556_989_798_598_866e2,
        6.680_131_188_771_972e1,
        -1.328_068_155_288_572e1,
    ];
    const C: [f64; 6] = [
        -7.784_894_002_430_293e-3,
        -3.223_964_580_411_365e-1,
        -2.400_758_277_161_838,
        -2.549_732_539_343_734,
        4.374_664_141_464_968,
        2.938_163_982_698_783,
    ];
    const D: [f64; 4] = [
        7.784_695_709_041_462e-3,
        3.224_671_290_700_398e-1,
        2.445_134_137_142_996,
        3.754_408_661_907_416,
    ];
    const P_LOW: f64 = 0.02425;
    let tail = |q: f64| {
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    };
    if p < P_LOW {
        tail((-2.0 * p.ln()).sqrt())
    } else if p > 1.0 - P_LOW {
        -tail((-2.0 * (1.0 - p).ln()).sqrt())
    } else {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    }
}

/// Largest R-hat of a converged posterior (Vehtari et al. 2021).
pub const MAX_RHAT: f64 = 1.01;
/// Smallest bulk and tail ESS per chain (Vehtari et al. 2021: 100 per chain, so that R-hat and
/// the ESS estimates themselves are reliable).
pub const MIN_ESS_PER_CHAIN: f64 = 100.0;

/// Convergence diagnostics of a sampled posterior over every sampled coordinate, and whether they
/// pass ([`MAX_RHAT`], [`MIN_ESS_PER_CHAIN`], no divergences, at least two chains).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Diagnostics {
    /// Chains run.
    pub chains: usize,
    /// Kept draws per chain.
    pub draws: usize,
    /// Tuning draws per chain.
    pub tune: usize,
    /// Largest rank-normalised split R-hat.
    pub rhat_max: f64,
    /// The coordinate with the largest R-hat.
    pub rhat_max_at: String,
    /// Smallest bulk ESS.
    pub ess_bulk_min: f64,
    /// Smallest tail ESS.
    pub ess_tail_min: f64,
    /// Divergent transitions after tuning, all chains.
    pub divergences: usize,
    /// Sampling wall-clock seconds.
    pub seconds: f64,
    /// Mean leapfrog steps (gradient evaluations) per draw, tuning included.
    pub leapfrog_steps_per_draw: f64,
    /// Whether every check passed.
    pub passed: bool,
    /// What failed, in words (empty when `passed`).
    pub problems: Vec<String>,
}

impl Diagnostics {
    /// The diagnostics of `posterior`, sampled from `model` with `settings`.
    pub fn assess(model: &PosteriorModel, posterior: &Posterior, settings: &Settings) -> Self {
        let names = model.coordinate_names();
        let (mut rhat_max, mut rhat_max_at) = (1.0f64, String::new());
        let (mut bulk_min, mut tail_min) = (f64::INFINITY, f64::INFINITY);
        for (i, name) in names.iter().enumerate() {
            let chains = posterior.coordinate(i);
            let r = rhat(&chains);
            if r > rhat_max || rhat_max_at.is_empty() {
                rhat_max = r;
                rhat_max_at = name.clone();
            }
            bulk_min = bulk_min.min(ess_bulk(&chains));
            tail_min = tail_min.min(ess_tail(&chains));
        }
        let divergences = posterior.total_divergences();
        let min_ess = MIN_ESS_PER_CHAIN * settings.chains as f64;
        let mut problems = Vec::new();
        if settings.chains < 2 {
            problems.push("one chain: R-hat cannot compare chains; run at least 2".to_string());
        }
        if rhat_max > MAX_RHAT {
            problems.push(format!(
                "R-hat {rhat_max:.3} > {MAX_RHAT} (at {rhat_max_at}): the chains disagree"
            ));
        }
        if bulk_min < min_ess || tail_min < min_ess {
            problems.push(format!(
                "effective sample size bulk {bulk_min:.0} / tail {tail_min:.0} < {min_ess:.0} \
                 ({MIN_ESS_PER_CHAIN} per chain): run more draws"
            ));
        }
        if divergences > 0 {
            problems.push(format!(
                "{divergences} divergent transitions: the intervals may be biased"
            ));
        }
        let total = (settings.chains * (settings.tune + settings.draws)).max(1);
        Diagnostics {
            chains: settings.chains,
            draws: settings.draws,
            tune: settings.tune,
            rhat_max,
            rhat_max_at,
            ess_bulk_min: bulk_min,
            ess_tail_min: tail_min,
            divergences,
            seconds: posterior.seconds,
            leapfrog_steps_per_draw: posterior.leapfrog_steps as f64 / total as f64,
            passed: problems.is_empty(),
            problems,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;
    use rand_distr::{Distribution, StandardNormal};

    fn normal_chains(seed: u64, m: usize, n: usize, rho: f64, shift: f64) -> Vec<Vec<f64>> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        (0..m)
            .map(|c| {
                let mut x: f64 = StandardNormal.sample(&mut rng);
                (0..n)
                    .map(|_| {
                        let e: f64 = StandardNormal.sample(&mut rng);
                        x = rho * x + (1.0 - rho * rho).sqrt() * e;
                        x + shift * c as f64
                    })
                    .collect()
            })
            .collect()
    }

    #[test]
    fn normal_quantile_inverts_known_values() {
        assert!(normal_quantile(0.5).abs() < 1e-9);
        assert!((normal_quantile(0.975) - 1.959_963_984_540_054).abs() < 1e-8);
        assert!((normal_quantile(0.01) + 2.326_347_874_040_841).abs() < 1e-8);
        assert!((normal_quantile(1e-6) + 4.753_424_308_822_899).abs() < 1e-7);
    }

    #[test]
    fn iid_chains_have_rhat_near_one_and_ess_near_the_draw_count() {
        for seed in 1..=5 {
            let chains = normal_chains(seed, 4, 1000, 0.0, 0.0);
            let r = rhat(&chains);
            assert!(r < 1.01, "seed {seed}: R-hat {r}");
            let (bulk, tail) = (ess_bulk(&chains), ess_tail(&chains));
            assert!((3200.0..4800.0).contains(&bulk), "seed {seed}: bulk {bulk}");
            assert!((2800.0..5200.0).contains(&tail), "seed {seed}: tail {tail}");
        }
    }

    #[test]
    fn ar1_chains_have_the_theoretical_ess() {
        for &rho in &[0.5, 0.8] {
            let chains = normal_chains(7, 4, 4000, rho, 0.0);
            let expected = 16000.0 * (1.0 - rho) / (1.0 + rho);
            let bulk = ess_bulk(&chains);
            assert!(
                (bulk / expected - 1.0).abs() < 0.15,
                "rho {rho}: ESS {bulk}, expected {expected}"
            );
            assert!(rhat(&chains) < 1.01);
        }
    }

    #[test]
    fn chains_with_shifted_means_have_large_rhat() {
        let chains = normal_chains(3, 4, 1000, 0.0, 1.0);
        let r = rhat(&chains);
        assert!(r > 1.2, "R-hat {r}");
    }

    #[test]
    fn a_trend_within_each_chain_shows_in_split_rhat() {
        // Identical chains that drift: the chains agree, only splitting reveals the drift.
        let chain: Vec<f64> = (0..1000).map(|i| i as f64 / 100.0).collect();
        let r = rhat(&[chain.clone(), chain]);
        assert!(r > 1.5, "R-hat {r}");
    }

    #[test]
    fn constant_draws_are_converged() {
        let chains = vec![vec![2.0; 100]; 3];
        assert_eq!(rhat(&chains), 1.0);
        assert_eq!(ess_bulk(&chains), 300.0);
        assert_eq!(ess_tail(&chains), 300.0);
    }

    #[test]
    fn quantile_interpolates() {
        assert_eq!(quantile(&[3.0, 1.0, 2.0, 4.0], 0.5), 2.5);
        assert_eq!(quantile(&[5.0], 0.9), 5.0);
    }
}
