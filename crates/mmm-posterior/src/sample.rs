//! Sampling a [`PosteriorModel`] with the `nuts-rs` NUTS sampler (diagonal mass matrix adapted
//! from draws and gradients, step size by dual averaging — nutpie's defaults).
//!
//! Chains run in parallel on the rayon pool. Chain i is seeded from (seed, i) alone and starts at
//! the given point plus a small jitter drawn from the same seed, so the same seed gives the same
//! draws whatever the number of threads. Divergences are counted over the kept draws (tuning
//! excluded).

use crate::density::{PosteriorModel, Workspace};
use crate::{Error, Result};
use nuts_rs::rand::SeedableRng;
use nuts_rs::rand::rngs::ChaCha8Rng;
use nuts_rs::{
    Chain, CpuLogpFunc, CpuMath, CpuMathError, DiagNutsSettings, HasDims, LogpError, Settings as _,
};
use rayon::prelude::*;
use std::collections::HashMap;
use std::time::Instant;

/// Sampler settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Settings {
    /// Number of chains (≥ 1; R-hat needs ≥ 2).
    pub chains: usize,
    /// Kept draws per chain (≥ 4).
    pub draws: usize,
    /// Tuning (warm-up) draws per chain, discarded.
    pub tune: usize,
    /// Seed of every chain's random stream.
    pub seed: u64,
    /// Mean acceptance probability the step size is tuned to (in (0, 1)); higher = smaller
    /// steps, fewer divergences, more gradient evaluations per draw.
    pub target_accept: f64,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            chains: 4,
            draws: 1000,
            tune: 1000,
            seed: 42,
            target_accept: TARGET_ACCEPT,
        }
    }
}

/// Default target acceptance (docs/model.md, "Posterior").
pub const TARGET_ACCEPT: f64 = 0.9;

impl Settings {
    /// Errors on zero chains, fewer than 4 draws or a target acceptance outside (0, 1).
    pub fn validate(&self) -> Result<()> {
        if self.chains == 0 {
            return Err(Error::Settings("chains must be at least 1".into()));
        }
        if self.draws < 4 {
            return Err(Error::Settings(format!(
                "draws must be at least 4, got {}",
                self.draws
            )));
        }
        if !(self.target_accept > 0.0 && self.target_accept < 1.0) {
            return Err(Error::Settings(format!(
                "target_accept must lie in (0, 1), got {}",
                self.target_accept
            )));
        }
        Ok(())
    }
}

/// Draws of the unconstrained vector.
#[derive(Debug, Clone, PartialEq)]
pub struct Posterior {
    /// `draws[chain][draw]` = the unconstrained vector of that draw.
    pub draws: Vec<Vec<Vec<f64>>>,
    /// Divergent transitions per chain among the kept draws.
    pub divergences: Vec<usize>,
    /// Wall-clock seconds of sampling (all chains).
    pub seconds: f64,
    /// Leapfrog steps (one gradient evaluation each) over every draw of every chain, tuning
    /// included: what the sampling cost.
    pub leapfrog_steps: u64,
}

impl Posterior {
    /// Total divergent transitions.
    pub fn total_divergences(&self) -> usize {
        self.divergences.iter().sum()
    }

    /// Coordinate `i` of every draw, one vector per chain (for the diagnostics).
    pub fn coordinate(&self, i: usize) -> Vec<Vec<f64>> {
        self.draws
            .iter()
            .map(|chain| chain.iter().map(|d| d[i]).collect())
            .collect()
    }
}

/// Jitter of each coordinate of a chain's start, uniform in ±`START_JITTER`.
const START_JITTER: f64 = 0.1;

/// SplitMix64 step: independent, reproducible streams per chain from one seed.
fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A non-finite log density: the sampler treats it as a divergence.
#[derive(Debug, thiserror::Error)]
#[error("the log density is not finite")]
struct NonFinite;

impl LogpError for NonFinite {
    fn is_recoverable(&self) -> bool {
        true
    }
}

/// One chain's view of the model: the shared density and its own buffers.
struct Density<'a> {
    model: &'a PosteriorModel,
    workspace: Workspace,
}

impl HasDims for Density<'_> {
    fn dim_sizes(&self) -> HashMap<String, u64> {
        let n = self.model.dim() as u64;
        HashMap::from([
            ("unconstrained_parameter".to_string(), n),
            ("dim".to_string(), n),
        ])
    }
}

impl CpuLogpFunc for Density<'_> {
    type LogpError = NonFinite;
    type FlowParameters = ();
    type ExpandedVector = Vec<f64>;

    fn dim(&self) -> usize {
        self.model.dim()
    }

    fn logp(
        &mut self,
        position: &[f64],
        gradient: &mut [f64],
    ) -> std::result::Result<f64, NonFinite> {
        let lp = self
            .model
            .logp_and_grad(position, gradient, &mut self.workspace);
        if lp.is_finite() && gradient.iter().all(|g| g.is_finite()) {
            Ok(lp)
        } else {
            Err(NonFinite)
        }
    }

    fn expand_vector<R: nuts_rs::rand::Rng + ?Sized>(
        &mut self,
        _rng: &mut R,
        array: &[f64],
    ) -> std::result::Result<Vec<f64>, CpuMathError> {
        Ok(array.to_vec())
    }
}

/// Samples `model` from `init` (the unconstrained start, e.g. the point fit). `progress(chain,
/// done)` is called after every draw (tuning included; `done` counts from 1 to tune + draws).
///
/// # Errors
/// [`Error::Settings`] for invalid settings or a start of the wrong length,
/// [`Error::Sampler`] when no chain can start (non-finite density at the start) or the sampler
/// fails.
pub fn sample(
    model: &PosteriorModel,
    init: &[f64],
    settings: &Settings,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Result<Posterior> {
    settings.validate()?;
    if init.len() != model.dim() {
        return Err(Error::Settings(format!(
            "the start has {} coordinates, the posterior {}",
            init.len(),
            model.dim()
        )));
    }
    let start = Instant::now();
    let chains: Vec<ChainRun> = (0..settings.chains)
        .into_par_iter()
        .map(|chain| run_chain(model, init, settings, chain, progress))
        .collect::<Result<_>>()?;
    Ok(Posterior {
        leapfrog_steps: chains.iter().map(|c| c.leapfrog_steps).sum(),
        divergences: chains.iter().map(|c| c.divergences).collect(),
        draws: chains.into_iter().map(|c| c.draws).collect(),
        seconds: start.elapsed().as_secs_f64(),
    })
}

/// One chain's kept draws, divergences among them, and leapfrog steps in all.
struct ChainRun {
    draws: Vec<Vec<f64>>,
    divergences: usize,
    leapfrog_steps: u64,
}

fn run_chain(
    model: &PosteriorModel,
    init: &[f64],
    settings: &Settings,
    chain: usize,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Result<ChainRun> {
    let mut state = settings.seed ^ 0xD1B5_4A32_D192_ED03u64.wrapping_mul(chain as u64 + 1);
    let chain_seed = splitmix(&mut state);
    let jittered: Vec<f64> = init
        .iter()
        .map(|v| {
            let u = (splitmix(&mut state) >> 11) as f64 / (1u64 << 53) as f64;
            v + START_JITTER * (2.0 * u - 1.0)
        })
        .collect();
    let mut nuts = DiagNutsSettings {
        num_tune: settings.tune as u64,
        num_draws: settings.draws as u64,
        num_chains: settings.chains,
        seed: settings.seed,
        ..DiagNutsSettings::default()
    };
    nuts.store_divergences = false;
    nuts.adapt_options.step_size_settings.target_accept = settings.target_accept;
    let mut rng = ChaCha8Rng::seed_from_u64(chain_seed);
    let density = Density {
        model,
        workspace: model.workspace(),
    };
    let mut sampler = nuts
        .new_chain(chain as u64, CpuMath::new(density), &mut rng)
        .map_err(|e| Error::Sampler(e.to_string()))?;
    // A jittered start can leave the density's support where the point fit sits at its edge:
    // fall back to the start itself.
    if sampler.set_position(&jittered).is_err() {
        sampler
            .set_position(init)
            .map_err(|e| Error::Sampler(format!("chain {chain} cannot start: {e}")))?;
    }
    let total = settings.tune + settings.draws;
    let mut draws = Vec::with_capacity(settings.draws);
    let mut divergences = 0;
    let mut leapfrog_steps = 0;
    for i in 0..total {
        let (draw, info) = sampler
            .draw()
            .map_err(|e| Error::Sampler(format!("chain {chain}: {e}")))?;
        leapfrog_steps += info.num_steps;
        if i >= settings.tune {
            draws.push(draw.to_vec());
            divergences += usize::from(info.diverging);
        }
        progress(chain, i + 1);
    }
    Ok(ChainRun {
        draws,
        divergences,
        leapfrog_steps,
    })
}
