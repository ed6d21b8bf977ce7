//! The posterior's views (`dcmmm fit --posterior`): view 18, a forest plot of each channel's
//! share and ROI (posterior mean and 90 % interval), and view 19, the sampler's diagnostics —
//! per-chain traces and rank histograms of the key parameters with their R-hat and effective
//! sample sizes (docs/report.md).
//!
//! **Rank histograms** (Vehtari et al. 2021): the draws of every chain are pooled and ranked
//! (1 … N); the ranks are cut into [`RANK_BINS`] equal bins and each chain's draws counted per bin.
//! When the chains sample the same distribution every chain's histogram is flat at
//! draws / [`RANK_BINS`]; a chain stuck in one region of the posterior piles its ranks at one end.

use crate::{Error, PosteriorSummary, Result};
use serde::Serialize;

/// Number of rank bins per chain in view 19.
pub const RANK_BINS: usize = 20;
/// Most points per chain drawn in a trace (every k-th draw beyond that).
pub const TRACE_POINTS: usize = 250;

/// One sampled parameter's draws per chain and its diagnostics (view 19).
#[derive(Debug, Clone, PartialEq)]
pub struct ParameterTrace {
    /// What the parameter is, in words (escaped when rendered).
    pub name: String,
    /// `draws[chain][draw]`, every chain as long.
    pub draws: Vec<Vec<f64>>,
    /// Rank-normalised split R-hat.
    pub rhat: f64,
    /// Bulk effective sample size.
    pub ess_bulk: f64,
    /// Tail effective sample size.
    pub ess_tail: f64,
    /// Whether its diagnostics fail the fit's checks (R-hat or ESS; highlighted in the table).
    pub flagged: bool,
}

/// What views 18 and 19 draw.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PosteriorView {
    /// Chains run.
    pub chains: usize,
    /// Kept draws per chain.
    pub draws: usize,
    /// Per channel (model order): share mean, p05, p95.
    pub share: Vec<[f64; 3]>,
    /// Per channel: ROI mean, p05, p95 (`None` without spend).
    pub roi: Vec<Option<[f64; 3]>>,
    /// Key parameters.
    pub traces: Vec<TraceView>,
}

/// One key parameter in view 19.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TraceView {
    /// Name.
    pub name: String,
    /// Every `step`-th draw of each chain (at most [`TRACE_POINTS`]).
    pub draws: Vec<Vec<f64>>,
    /// Draws between two trace points.
    pub step: usize,
    /// `ranks[chain][bin]`: the chain's draws per rank bin (module docs).
    pub ranks: Vec<Vec<usize>>,
    /// R-hat.
    pub rhat: f64,
    /// Bulk ESS.
    pub ess_bulk: f64,
    /// Tail ESS.
    pub ess_tail: f64,
    /// Whether its diagnostics fail the fit's checks.
    pub flagged: bool,
}

/// `rank_histograms(chains)[c][b]`: how many of chain c's draws have a pooled rank in bin b of
/// [`RANK_BINS`] equal bins (module docs). Ties keep their order of appearance.
pub fn rank_histograms(chains: &[Vec<f64>]) -> Vec<Vec<usize>> {
    let mut pooled: Vec<(f64, usize)> = chains
        .iter()
        .enumerate()
        .flat_map(|(c, d)| d.iter().map(move |&v| (v, c)))
        .collect();
    pooled.sort_by(|a, b| a.0.total_cmp(&b.0));
    let n = pooled.len();
    let mut out = vec![vec![0; RANK_BINS]; chains.len()];
    for (rank, &(_, c)) in pooled.iter().enumerate() {
        out[c][rank * RANK_BINS / n.max(1)] += 1;
    }
    out
}

impl PosteriorView {
    /// The views' numbers from `post`, whose channels must be `channels` in order.
    ///
    /// # Errors
    /// [`Error::Input`] when the channels differ or a trace's chains differ from the summary's.
    pub fn build(post: &PosteriorSummary, channels: &[String]) -> Result<Self> {
        if !post.channels.iter().map(|c| &c.name).eq(channels.iter()) {
            return Err(Error::Input(format!(
                "the posterior summary has channels {:?}, the model {channels:?}",
                post.channels.iter().map(|c| &c.name).collect::<Vec<_>>()
            )));
        }
        let traces = post
            .traces
            .iter()
            .map(|t| {
                let len = t.draws.first().map_or(0, Vec::len);
                if t.draws.len() != post.chains || t.draws.iter().any(|d| d.len() != len) {
                    return Err(Error::Input(format!(
                        "trace `{}`: {} chains of unequal or wrong length for {} chains",
                        t.name,
                        t.draws.len(),
                        post.chains
                    )));
                }
                let step = len.div_ceil(TRACE_POINTS).max(1);
                Ok(TraceView {
                    name: t.name.clone(),
                    draws: t
                        .draws
                        .iter()
                        .map(|d| d.iter().step_by(step).copied().collect())
                        .collect(),
                    step,
                    ranks: rank_histograms(&t.draws),
                    rhat: t.rhat,
                    ess_bulk: t.ess_bulk,
                    ess_tail: t.ess_tail,
                    flagged: t.flagged,
                })
            })
            .collect::<Result<_>>()?;
        Ok(PosteriorView {
            chains: post.chains,
            draws: post.draws,
            share: post.channels.iter().map(|c| c.share).collect(),
            roi: post.channels.iter().map(|c| c.roi).collect(),
            traces,
        })
    }
}
