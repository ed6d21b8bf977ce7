//! The channel DAG: a structural equation model on channel *activity*, learned under an exact
//! acyclicity constraint (NOTEARS or DAGMA), and used for mediated (total) effects.
//!
//! Structural equations (scaled activity x̃, adstocked activity ã = adstock(x̃)):
//!
//! ```text
//! x̃_j[r,t] = own_j[r,t] + Σ_i W_ij · ã_i[r,t],   W ≥ 0, diag W = 0, h(W) = 0
//! ```
//!
//! "TV lifts search": part of the search activity we observe was caused by TV. W is estimated from
//! the activities themselves (not from the outcome): after removing each region's mean and the
//! calendar seasonality from both sides (so that shared seasonal flighting is not read as
//! causation), we minimise on standardised columns
//!
//! ```text
//! 1/(2N) ‖Y − A W‖²_F + λ Σ W + ρ/2 h(W)² + α h(W)
//! ```
//!
//! with projected Adam inner solves (W ≥ 0, zero diagonal) and the NOTEARS augmented-Lagrangian
//! schedule of `mmm-dag`; the result is thresholded into a DAG and mapped back to activity units.
//! `h` is chosen by [`DagConfig::acyclicity`]: NOTEARS, `h(W) = tr(exp(W∘W)) − C` (the default),
//! or DAGMA, `h(W) = −log det(I − W∘W)` (s = 1). DAGMA's `h` is only defined while
//! `ρ(W∘W) < 1`; a step that leaves this domain is halved back towards the previous iterate until
//! it is inside (as in the DAGMA paper), so a DAGMA fit never fails on a valid panel.
//!
//! **Which edges are real.** A standardised weight estimated from N region-weeks has a standard
//! error of about 1/√N_eff, where N_eff is smaller than N because weekly (and adstocked) activity
//! is autocorrelated. For an edge i → j, with lag-1 autocorrelations ρ_i of ã_i and ρ_j of the
//! child's residual x̃_j − Σ_k W_kj ã_k (within regions, after the same residualisation, on the
//! standardised scale), Bartlett's approximation gives
//!
//! ```text
//! N_eff = N (1 − φ) / (1 + φ),   φ = max(0, ρ_i ρ_j),   edge kept iff W_ij ≥ max(τ, z / √N_eff)
//! ```
//!
//! (τ = `threshold`, z = `edge_z`, default 3), with N further divided by the design effect of
//! flighting shared across regions, `1 + (R̄ − 1)·s_i·s_j` (Scott and Holt's design effect for a
//! regression coefficient on clustered data; the cluster is the week, R̄ the mean number of
//! regions per week, s the share of variation common to all regions in a week, of ã_i and of j's
//! residual): two channels flighted on national schedules are only T weeks of evidence, however
//! many regions repeat them. On one region the design effect is 1 and the autocorrelation
//! decides: one region's 143 training weeks of a bursty and an always-on channel gave a spurious
//! search → TV edge of 0.26 (3.2 in activity units) whose "mediated effect" drove
//! the optimiser to cut TV (docs/model.md, *The channel DAG*).
//!
//! An intervention on channel c (new activity x̃_c') then propagates in topological order:
//! x̃_j' = max(0, x̃_j + Σ_i W_ij (ã_i' − ã_i)). The outcome equation of the model is unchanged — a
//! channel's *direct* contribution uses its observed activity, its *total* effect adds what its
//! activity caused downstream.

use crate::{Error, Model, ModelInputs, Result};
use faer::Mat;
use faer::linalg::solvers::Solve;
use mmm_dag::{Acyclicity, AugmentedLagrangian, Dagma, Notears, threshold, topological_order};
use mmm_optim::{Adam, Optimizer};
use ndarray::{Array2, Array3, ArrayView2, ArrayViewMut2, Axis};
use serde::{Deserialize, Serialize};

/// The smooth acyclicity function `h(W)` the channel DAG is fitted under (`[dag] acyclicity`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AcyclicityKind {
    /// NOTEARS, `tr(exp(W∘W)) − C` (Zheng et al. 2018): defined for every `W`.
    #[default]
    Notears,
    /// DAGMA, `−log det(I − W∘W)` (Bello et al. 2022): defined while `ρ(W∘W) < 1`.
    Dagma,
}

impl AcyclicityKind {
    /// The function itself (DAGMA with its paper's scale `s = 1`).
    fn function(self) -> &'static dyn Acyclicity {
        const DAGMA: Dagma = Dagma { s: 1.0 };
        match self {
            AcyclicityKind::Notears => &Notears,
            AcyclicityKind::Dagma => &DAGMA,
        }
    }
}

/// Settings of the channel-DAG fit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DagConfig {
    /// Fit a DAG at all (with `false`, total effects equal direct effects).
    pub enabled: bool,
    /// L1 weight λ on the standardised edge weights.
    pub lambda: f64,
    /// Edges with a standardised weight below this are dropped.
    pub threshold: f64,
    /// An edge must also exceed this many standard errors of a standardised weight estimated from
    /// the panel's effective sample size (autocorrelation-corrected, see the module docs); 0 turns
    /// the test off.
    pub edge_z: f64,
    /// Maximum augmented-Lagrangian rounds.
    pub max_rounds: usize,
    /// Projected-Adam iterations per round.
    pub inner_iterations: usize,
    /// The acyclicity function `h(W)`; absent in model files written before the option existed,
    /// which were fitted under NOTEARS (the default).
    pub acyclicity: AcyclicityKind,
}

impl Default for DagConfig {
    fn default() -> Self {
        DagConfig {
            enabled: true,
            lambda: 0.02,
            threshold: 0.1,
            edge_z: 3.0,
            max_rounds: 12,
            inner_iterations: 1500,
            acyclicity: AcyclicityKind::Notears,
        }
    }
}

impl DagConfig {
    /// Checks every value, naming the first offending key.
    pub fn validate(&self) -> Result<()> {
        let bad = |key: &str, why: &str| Err(Error::Config(format!("`dag.{key}` {why}")));
        for (key, v) in [
            ("lambda", self.lambda),
            ("threshold", self.threshold),
            ("edge_z", self.edge_z),
        ] {
            if !(v.is_finite() && v >= 0.0) {
                return bad(key, "must be finite and ≥ 0");
            }
        }
        if self.enabled && (self.max_rounds == 0 || self.inner_iterations == 0) {
            return bad(
                "max_rounds",
                "and `dag.inner_iterations` must be at least 1",
            );
        }
        Ok(())
    }
}

/// A learned channel DAG.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChannelDag {
    /// Thresholded edge weights in scaled-activity units, `weights[i][j]` for edge i → j.
    pub weights: Vec<Vec<f64>>,
    /// The same on the standardised scale (comparable across edges; what the threshold applies to).
    pub standardized: Vec<Vec<f64>>,
    /// Standardised weights before thresholding (edge scores, e.g. for AUROC).
    pub scores: Vec<Vec<f64>>,
    /// h(W) of the unthresholded solution under the configured acyclicity function (≈ 0 when the
    /// constraint converged).
    pub h: f64,
}

impl ChannelDag {
    /// A DAG with no edges over `channels` channels.
    pub fn empty(channels: usize) -> Self {
        let zero = vec![vec![0.0; channels]; channels];
        ChannelDag {
            weights: zero.clone(),
            standardized: zero.clone(),
            scores: zero,
            h: 0.0,
        }
    }

    fn weight_matrix(&self) -> Array2<f64> {
        let c = self.weights.len();
        Array2::from_shape_fn((c, c), |(i, j)| self.weights[i][j])
    }

    /// Channels in a topological order of the thresholded graph.
    pub fn order(&self) -> Vec<usize> {
        topological_order(self.weight_matrix().view())
            .expect("a thresholded channel DAG is acyclic")
    }

    /// Scaled media after replacing channel `c`'s activity by `new_activity` (`[region, week]`) and
    /// propagating the change downstream along the DAG. `adstocked` are the adstocked actual
    /// activities `[channel, region, week]` under `params`.
    pub fn intervene(
        &self,
        model: &Model,
        params: &[f64],
        media: &Array3<f64>,
        adstocked: &Array3<f64>,
        c: usize,
        new_activity: ArrayView2<f64>,
    ) -> Array3<f64> {
        let w = self.weight_matrix();
        let mut out = media.clone();
        out.index_axis_mut(Axis(0), c).assign(&new_activity);
        let layout = model.layout();
        // Change in adstocked activity of every channel changed so far.
        let mut delta: Vec<Option<Array2<f64>>> = vec![None; media.dim().0];
        let adstock_change = |j: usize, x: ArrayView2<f64>| {
            let mut a = Array2::zeros(x.dim());
            model
                .adstock(j)
                .forward(&params[layout.adstock_of(j)], x, a.view_mut());
            a - adstocked.index_axis(Axis(0), j)
        };
        delta[c] = Some(adstock_change(c, out.index_axis(Axis(0), c)));
        for j in self.order() {
            if j == c {
                continue;
            }
            let parents: Vec<usize> = (0..w.nrows())
                .filter(|&i| w[[i, j]] != 0.0 && delta[i].is_some())
                .collect();
            if parents.is_empty() {
                continue;
            }
            {
                let mut xj = out.index_axis_mut(Axis(0), j);
                for &i in &parents {
                    xj.scaled_add(w[[i, j]], delta[i].as_ref().expect("parent changed"));
                }
                xj.mapv_inplace(|v| v.max(0.0));
            }
            delta[j] = Some(adstock_change(j, out.index_axis(Axis(0), j)));
        }
        out
    }
}

/// Fits the channel DAG from the activities of the observed weeks in `weeks`, using the model's
/// adstock parameters in `params`.
pub fn fit_channel_dag(
    model: &Model,
    params: &[f64],
    inp: &ModelInputs,
    weeks: std::ops::Range<usize>,
    cfg: &DagConfig,
) -> Result<ChannelDag> {
    cfg.validate()?;
    let c_n = inp.n_channels();
    if !cfg.enabled || c_n < 2 {
        return Ok(ChannelDag::empty(c_n));
    }
    let adstocked = adstock_all(model, params, inp);
    let (y, a, cells) = residual_design(inp, &adstocked, weeks);
    let n = y.nrows() as f64;
    if n < 3.0 {
        return Ok(ChannelDag::empty(c_n));
    }
    let std = |m: &Array2<f64>| -> Vec<f64> {
        m.columns()
            .into_iter()
            .map(|col| (col.dot(&col) / n).sqrt())
            .collect()
    };
    let (sy, sa) = (std(&y), std(&a));
    let ys = Array2::from_shape_fn(
        y.dim(),
        |(k, j)| if sy[j] > 0.0 { y[[k, j]] / sy[j] } else { 0.0 },
    );
    let as_ = Array2::from_shape_fn(
        a.dim(),
        |(k, i)| if sa[i] > 0.0 { a[[k, i]] / sa[i] } else { 0.0 },
    );
    let gram = as_.t().dot(&as_) / n; // G = AᵀA/N
    let cross = as_.t().dot(&ys) / n; // B = AᵀY/N

    let acyclicity = cfg.acyclicity.function();
    let mut w = Array2::<f64>::zeros((c_n, c_n));
    let mut grad_h = Array2::<f64>::zeros((c_n, c_n));
    let mut al = AugmentedLagrangian::default();
    let mut h = 0.0;
    for _ in 0..cfg.max_rounds {
        let mut adam = Adam::new(0.01).map_err(|e| Error::Input(e.to_string()))?;
        let mut flat = w.iter().copied().collect::<Vec<f64>>();
        let mut inside = flat.clone();
        let mut g = vec![0.0; flat.len()];
        for _ in 0..cfg.inner_iterations {
            let hv = value_and_grad_in_domain(acyclicity, &mut flat, &inside, grad_h.view_mut())?;
            inside.copy_from_slice(&flat);
            let wm = ArrayView2::from_shape((c_n, c_n), &flat).expect("square");
            let scale = al.penalty_grad_scale(hv);
            let g_fit = gram.dot(&wm) - &cross;
            for (k, gk) in g.iter_mut().enumerate() {
                let (i, j) = (k / c_n, k % c_n);
                *gk = g_fit[[i, j]] + cfg.lambda + scale * grad_h[[i, j]];
            }
            adam.step(&mut flat, &g);
            for (k, v) in flat.iter_mut().enumerate() {
                if k / c_n == k % c_n || *v < 0.0 {
                    *v = 0.0;
                }
            }
        }
        h = value_and_grad_in_domain(acyclicity, &mut flat, &inside, grad_h.view_mut())?;
        w = Array2::from_shape_vec((c_n, c_n), flat).expect("square");
        al.update(h);
        if al.converged(h) {
            break;
        }
    }
    // Edges within sampling noise of zero go before the DAG threshold (module docs). The
    // dependence that matters on the child's side is that of its residual (Y − A·W on the
    // standardised scale): an edge's own contribution to the child is not noise.
    let resid = &ys - &as_.dot(&w);
    let (rho_a, rho_u) = (
        lag1_autocorrelation(&a, &cells),
        lag1_autocorrelation(&resid, &cells),
    );
    let (share_a, share_u) = (week_share(&a, &cells), week_share(&resid, &cells));
    let weeks_n = {
        let mut w: Vec<usize> = cells.iter().map(|&(_, t)| t).collect();
        w.sort_unstable();
        w.dedup();
        w.len().max(1) as f64
    };
    let regions_per_week = n / weeks_n;
    let significant = Array2::from_shape_fn((c_n, c_n), |(i, j)| {
        let phi = (rho_a[i] * rho_u[j]).max(0.0);
        let design = 1.0 + (regions_per_week - 1.0) * share_a[i] * share_u[j];
        let n_eff = n / design * (1.0 - phi) / (1.0 + phi);
        if w[[i, j]] >= cfg.edge_z / n_eff.sqrt() {
            w[[i, j]]
        } else {
            0.0
        }
    });
    let kept = threshold(significant.view(), cfg.threshold);
    let to_vec = |m: &Array2<f64>| m.rows().into_iter().map(|r| r.to_vec()).collect::<Vec<_>>();
    let natural = Array2::from_shape_fn((c_n, c_n), |(i, j)| {
        if kept[[i, j]] == 0.0 || sa[i] == 0.0 {
            0.0
        } else {
            kept[[i, j]] * sy[j] / sa[i]
        }
    });
    Ok(ChannelDag {
        weights: to_vec(&natural),
        standardized: to_vec(&kept),
        scores: to_vec(&w),
        h,
    })
}

/// Most halvings of a step that left the domain of `h` before [`value_and_grad_in_domain`] falls
/// back to the point inside.
const MAX_DOMAIN_HALVINGS: usize = 60;

/// `h(W)` at the square matrix stored row-major in `w`, with `∇h(W)` written into `grad`. Where
/// `W` lies outside the domain of `h` (DAGMA's `ρ(W∘W) ≥ s`), `w` is first pulled back along the
/// segment towards `inside` (a point inside the domain, e.g. the previous iterate) by halving the
/// step until it is inside, and is left at `inside` itself after [`MAX_DOMAIN_HALVINGS`]. The
/// pulled-back points keep the iterate's constraints when both ends do (W ≥ 0, zero diagonal: the
/// set is convex). NOTEARS has no domain boundary, so there `w` is never moved.
pub(crate) fn value_and_grad_in_domain(
    h: &dyn Acyclicity,
    w: &mut [f64],
    inside: &[f64],
    mut grad: ArrayViewMut2<f64>,
) -> Result<f64> {
    let dim = grad.dim();
    for _ in 0..MAX_DOMAIN_HALVINGS {
        let wm = ArrayView2::from_shape(dim, w).map_err(|e| Error::Shape(e.to_string()))?;
        match h.value_and_grad(wm, grad.view_mut()) {
            Ok(v) => return Ok(v),
            Err(mmm_dag::Error::OutsideDomain { .. }) => {
                for (x, &p) in w.iter_mut().zip(inside) {
                    *x = 0.5 * (*x + p);
                }
            }
            Err(e) => return Err(Error::Input(e.to_string())),
        }
    }
    w.copy_from_slice(inside);
    let wm = ArrayView2::from_shape(dim, w).map_err(|e| Error::Shape(e.to_string()))?;
    h.value_and_grad(wm, grad)
        .map_err(|e| Error::Input(e.to_string()))
}

/// Adstocked scaled activity of every channel, `[channel, region, week]`.
pub fn adstock_all(model: &Model, params: &[f64], inp: &ModelInputs) -> Array3<f64> {
    let mut out = Array3::zeros(inp.media.dim());
    for c in 0..inp.n_channels() {
        model.adstock(c).forward(
            &params[model.layout().adstock_of(c)],
            inp.media.index_axis(Axis(0), c),
            out.index_axis_mut(Axis(0), c),
        );
    }
    out
}

/// Lag-1 autocorrelation of every column of `m` (rows = `cells`, (region, week) in increasing
/// order, columns with zero mean per region): Σ m[r,t]·m[r,t+1] / Σ m[r,t]² over the pairs of
/// consecutive observed weeks of a region, clamped to [−1, 1]; 0 for a column without pairs or
/// variance.
pub(crate) fn lag1_autocorrelation(m: &Array2<f64>, cells: &[(usize, usize)]) -> Vec<f64> {
    (0..m.ncols())
        .map(|c| {
            let (mut cross, mut sq) = (0.0, 0.0);
            for k in 0..cells.len().saturating_sub(1) {
                let ((r0, t0), (r1, t1)) = (cells[k], cells[k + 1]);
                if r0 == r1 && t1 == t0 + 1 {
                    cross += m[[k, c]] * m[[k + 1, c]];
                    sq += m[[k, c]] * m[[k, c]];
                }
            }
            if sq > 0.0 {
                (cross / sq).clamp(-1.0, 1.0)
            } else {
                0.0
            }
        })
        .collect()
}

/// Share of each column's sum of squares explained by week effects common to all regions (rows =
/// `cells`): Σ_t n_t m_t² / Σ_k x_k² with m_t the mean over the n_t regions observed in week t; 0
/// for a column without variance. A flighting schedule shared by all regions gives ≈ 1,
/// independent regional variation ≈ 1/R.
pub(crate) fn week_share(m: &Array2<f64>, cells: &[(usize, usize)]) -> Vec<f64> {
    let weeks = cells.iter().map(|&(_, t)| t + 1).max().unwrap_or(0);
    (0..m.ncols())
        .map(|c| {
            let mut sums = vec![0.0; weeks];
            let mut counts = vec![0.0; weeks];
            let mut total = 0.0;
            for (k, &(_, t)) in cells.iter().enumerate() {
                sums[t] += m[[k, c]];
                counts[t] += 1.0;
                total += m[[k, c]] * m[[k, c]];
            }
            let between: f64 = sums
                .iter()
                .zip(&counts)
                .filter(|(_, n)| **n > 0.0)
                .map(|(s, n)| s * s / n)
                .sum();
            if total > 0.0 {
                (between / total).clamp(0.0, 1.0)
            } else {
                0.0
            }
        })
        .collect()
}

/// Rows = observed region-weeks in `weeks`, in (region, week) order (returned as the third
/// element); columns = channels. Returns (Y = activity, A = adstocked activity), each with region
/// means and the calendar seasonality removed.
fn residual_design(
    inp: &ModelInputs,
    adstocked: &Array3<f64>,
    weeks: std::ops::Range<usize>,
) -> (Array2<f64>, Array2<f64>, Vec<(usize, usize)>) {
    let c_n = inp.n_channels();
    let cells: Vec<(usize, usize)> = inp
        .observed
        .indexed_iter()
        .filter(|((_, t), o)| **o && weeks.contains(t))
        .map(|(idx, _)| idx)
        .collect();
    let mut y = Array2::zeros((cells.len(), c_n));
    let mut a = Array2::zeros((cells.len(), c_n));
    for (k, &(r, t)) in cells.iter().enumerate() {
        for c in 0..c_n {
            y[[k, c]] = inp.media[[c, r, t]];
            a[[k, c]] = adstocked[[c, r, t]];
        }
    }
    // Region means.
    for m in [&mut y, &mut a] {
        let mut sums = vec![vec![0.0; c_n]; inp.n_regions()];
        let mut counts = vec![0.0; inp.n_regions()];
        for (k, &(r, _)) in cells.iter().enumerate() {
            counts[r] += 1.0;
            for c in 0..c_n {
                sums[r][c] += m[[k, c]];
            }
        }
        for (k, &(r, _)) in cells.iter().enumerate() {
            for c in 0..c_n {
                m[[k, c]] -= sums[r][c] / counts[r];
            }
        }
    }
    // Calendar seasonality: least-squares projection on the Fourier features, pooled.
    let f_n = inp.n_fourier();
    if f_n > 0 && cells.len() > 2 * f_n {
        let f = Array2::from_shape_fn((cells.len(), f_n), |(k, j)| inp.fourier[[cells[k].1, j]]);
        let mut ftf = f.t().dot(&f);
        for j in 0..f_n {
            ftf[[j, j]] += 1e-9 * cells.len() as f64;
        }
        // Solve (FᵀF) B = FᵀM with faer's partially pivoted LU.
        let lu = Mat::<f64>::from_fn(f_n, f_n, |i, j| ftf[[i, j]]).partial_piv_lu();
        for m in [&mut y, &mut a] {
            let ftm = f.t().dot(&*m);
            let rhs = Mat::<f64>::from_fn(f_n, c_n, |i, j| ftm[[i, j]]);
            let sol = lu.solve(&rhs);
            let coef = Array2::from_shape_fn((f_n, c_n), |(i, j)| sol[(i, j)]);
            *m -= &f.dot(&coef);
        }
    }
    (y, a, cells)
}
