//! The posterior's log density and its gradient over one unconstrained vector (docs/model.md,
//! "Posterior").
//!
//! ```text
//! ỹ[r,t] = b_r + o[r,t] + (δ + Δδ_r) τ_t + Σ_f φ_f F_f(t)
//!        + Σ_c β_c e^{η_{r,c}} Hill_c(adstock_c(x̃_c))[r,t] + Σ_k γ_k z_k[r,t] + ε[r,t]
//! ```
//!
//! `o` is a fixed offset (the point fit's GRU baseline modulation, or zero), η_{r,c} = τ_c ε_{r,c}
//! (non-centred; only with more than one region), ε ~ Normal(0, σ) or Student-t(ν, 0, σ). Only
//! the training weeks enter the likelihood. Positive quantities are sampled on the log scale
//! (β, τ, σ) or on their transform's own unconstrained scale (adstock and saturation parameters,
//! through `mmm-transforms`' `forward` and `vjp`); every prior is stated on the natural scale
//! and the log-Jacobian of the map is added, so the density is that of the unconstrained vector.

use crate::priors::{Likelihood, Priors, beta_logp, lognormal_softplus, normal_logp};
use crate::{Error, Result};
use mmm_model::Model;
use ndarray::{Array2, Array3, Axis, s};
use std::ops::Range;

/// The scaled data the posterior conditions on (docs/model.md §1), every array over the weeks
/// of the history (training and holdout): the likelihood reads only `fit` cells, the channel
/// quantities read every `observed` cell.
#[derive(Debug, Clone)]
pub struct PosteriorData {
    /// Scaled media x̃, `[channel, region, week]`, ≥ 0.
    pub media: Array3<f64>,
    /// Scaled controls z, `[control, region, week]`.
    pub controls: Array3<f64>,
    /// Scaled target ỹ = y/ȳ_r, `[region, week]` (any value where not observed).
    pub target: Array2<f64>,
    /// Observed region-weeks, `[region, week]`.
    pub observed: Array2<bool>,
    /// Fourier features F_f(t), `[week, feature]`.
    pub fourier: Array2<f64>,
    /// Trend clock τ_t in years.
    pub tau: Vec<f64>,
    /// Fixed offset o[r,t] added to the mean (the point fit's GRU baseline modulation, or zeros).
    pub offset: Array2<f64>,
    /// Number of leading weeks whose observed cells enter the likelihood (the training weeks).
    pub train_weeks: usize,
    /// ȳ_r per region: scaled contributions times ȳ_r are target units.
    pub region_means: Vec<f64>,
    /// Spend per channel summed over observed cells (the media when no spend is given).
    pub spend: Vec<f64>,
}

/// Where each block of the unconstrained vector lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamLayout {
    /// Number of regions.
    pub regions: usize,
    /// Number of channels.
    pub channels: usize,
    /// Adstock parameters per channel (the transform's own unconstrained scale).
    pub adstock_per_channel: usize,
    /// Saturation parameters per channel (the transform's own unconstrained scale).
    pub saturation_per_channel: usize,
    /// Adstock parameters, channel-major.
    pub adstock: Range<usize>,
    /// Saturation parameters, channel-major.
    pub saturation: Range<usize>,
    /// log(β_c · Hill_c(x_ref,c)): the channel's weekly effect at its reference activity x_ref,c
    /// (the mean positive scaled activity of its training weeks); β_c follows from it and the
    /// Hill parameters ([`PosteriorModel::betas`]).
    pub log_effect: Range<usize>,
    /// log τ_c, the scale of channel c's region multipliers (empty with one region).
    pub log_tau: Range<usize>,
    /// ε_{r,c}, region-major (empty with one region).
    pub eps: Range<usize>,
    /// Region intercepts b_r.
    pub base: Range<usize>,
    /// Shared trend slope δ.
    pub trend: usize,
    /// Region trend deviations Δδ_r (empty with one region).
    pub region_trend: Range<usize>,
    /// Fourier coefficients φ_f.
    pub season: Range<usize>,
    /// Control coefficients γ_k.
    pub gamma: Range<usize>,
    /// log σ.
    pub log_sigma: usize,
    /// Length of the vector.
    pub len: usize,
}

impl ParamLayout {
    fn new(regions: usize, channels: usize, na: usize, ns: usize, f: usize, k: usize) -> Self {
        let mut at = 0;
        let mut take = |n: usize| {
            let r = at..at + n;
            at += n;
            r
        };
        let multi = regions > 1;
        let adstock = take(channels * na);
        let saturation = take(channels * ns);
        let log_effect = take(channels);
        let log_tau = take(if multi { channels } else { 0 });
        let eps = take(if multi { regions * channels } else { 0 });
        let base = take(regions);
        let trend = take(1).start;
        let region_trend = take(if multi { regions } else { 0 });
        let season = take(f);
        let gamma = take(k);
        let log_sigma = take(1).start;
        ParamLayout {
            regions,
            channels,
            adstock_per_channel: na,
            saturation_per_channel: ns,
            adstock,
            saturation,
            log_effect,
            log_tau,
            eps,
            base,
            trend,
            region_trend,
            season,
            gamma,
            log_sigma,
            len: at,
        }
    }

    /// Channel c's adstock parameters.
    pub fn adstock_of(&self, c: usize) -> Range<usize> {
        let n = self.adstock_per_channel;
        self.adstock.start + c * n..self.adstock.start + (c + 1) * n
    }

    /// Channel c's saturation parameters.
    pub fn saturation_of(&self, c: usize) -> Range<usize> {
        let n = self.saturation_per_channel;
        self.saturation.start + c * n..self.saturation.start + (c + 1) * n
    }

    /// Index of ε_{r,c}.
    pub fn eps_at(&self, r: usize, c: usize) -> usize {
        self.eps.start + r * self.channels + c
    }

    /// The region multiplier exponent η_{r,c} = τ_c ε_{r,c} (0 with one region).
    pub fn eta(&self, theta: &[f64], r: usize, c: usize) -> f64 {
        if self.log_tau.is_empty() {
            0.0
        } else {
            theta[self.log_tau.start + c].exp() * theta[self.eps_at(r, c)]
        }
    }
}

/// Reusable buffers of one log-density evaluation (one per chain).
#[derive(Debug, Clone)]
pub struct Workspace {
    adstocked: Array3<f64>,
    saturated: Array3<f64>,
    grad_mu: Array2<f64>,
    grad_s: Array2<f64>,
    grad_a: Array2<f64>,
}

/// Log posterior density over the model's interpretable part (module docs).
#[derive(Debug)]
pub struct PosteriorModel {
    /// The model structure whose transforms (one adstock and one saturation per channel) are used.
    model: Model,
    data: PosteriorData,
    /// Media of the likelihood weeks, `[channel, region, train week]` (contiguous per channel).
    media_fit: Array3<f64>,
    /// Likelihood cells: observed and among the training weeks, `[region, train week]`.
    fit: Array2<bool>,
    priors: Priors,
    /// Per-channel prior median of the half-saturation point K_c (scaled activity).
    half_saturation_centre: Vec<f64>,
    likelihood: Likelihood,
    layout: ParamLayout,
}

impl PosteriorModel {
    /// A posterior over `data` with `model`'s transforms.
    ///
    /// # Errors
    /// [`Error::Input`] when the shapes disagree, values are not finite, no cell enters the
    /// likelihood or a transform has no stated prior (only geometric and Weibull adstocks and
    /// Hill saturation have one); [`Error::Prior`] for invalid prior settings.
    pub fn new(
        model: Model,
        data: PosteriorData,
        priors: Priors,
        likelihood: Likelihood,
    ) -> Result<Self> {
        priors.validate()?;
        likelihood.validate()?;
        let (c_n, r_n, t_n) = data.media.dim();
        let k_n = data.controls.dim().0;
        let f_n = data.fourier.ncols();
        let ml = model.layout();
        if ml.channels != c_n || ml.regions != r_n || ml.controls != k_n {
            return Err(Error::Input(format!(
                "the model has {} regions, {} channels and {} controls; the data {r_n}, {c_n} and {k_n}",
                ml.regions, ml.channels, ml.controls
            )));
        }
        let shapes_ok = data.controls.dim() == (k_n, r_n, t_n)
            && data.target.dim() == (r_n, t_n)
            && data.observed.dim() == (r_n, t_n)
            && data.offset.dim() == (r_n, t_n)
            && data.fourier.nrows() == t_n
            && data.tau.len() == t_n
            && data.region_means.len() == r_n
            && data.spend.len() == c_n
            && (1..=t_n).contains(&data.train_weeks);
        if !shapes_ok {
            return Err(Error::Input(
                "posterior data arrays do not share regions, weeks, channels and controls".into(),
            ));
        }
        if !data.media.iter().all(|v| v.is_finite() && *v >= 0.0)
            || !data.controls.iter().all(|v| v.is_finite())
            || !data.offset.iter().all(|v| v.is_finite())
            || !data.fourier.iter().all(|v| v.is_finite())
            || !data.tau.iter().all(|v| v.is_finite())
        {
            return Err(Error::Input(
                "media must be finite and ≥ 0; controls, offset and calendar finite".into(),
            ));
        }
        for c in 0..c_n {
            let (a, s) = (model.adstock(c).name(), model.saturation(c).name());
            if !matches!(a, "geometric" | "weibull") || s != "hill" {
                return Err(Error::Input(format!(
                    "channel {c}: no stated prior for adstock `{a}` with saturation `{s}` \
                     (geometric or Weibull adstock, Hill saturation)"
                )));
            }
        }
        let tf = data.train_weeks;
        let fit = Array2::from_shape_fn((r_n, tf), |(r, t)| {
            data.observed[[r, t]] && data.target[[r, t]].is_finite()
        });
        if !fit.iter().any(|&b| b) {
            return Err(Error::Input(
                "no observed region-week in the training weeks".into(),
            ));
        }
        let media_fit = data
            .media
            .slice(s![.., .., ..tf])
            .as_standard_layout()
            .into_owned();
        let half_saturation_centre = (0..c_n)
            .map(|c| {
                let (sum, n) = media_fit
                    .index_axis(Axis(0), c)
                    .iter()
                    .filter(|v| **v > 0.0)
                    .fold((0.0, 0usize), |(s, n), v| (s + v, n + 1));
                if n > 0 { sum / n as f64 } else { 1.0 }
            })
            .collect();
        let layout = ParamLayout::new(
            r_n,
            c_n,
            model.adstock(0).n_params(),
            model.saturation(0).n_params(),
            f_n,
            k_n,
        );
        Ok(PosteriorModel {
            model,
            data,
            media_fit,
            fit,
            priors,
            half_saturation_centre,
            likelihood,
            layout,
        })
    }

    /// The layout of the unconstrained vector.
    pub fn layout(&self) -> &ParamLayout {
        &self.layout
    }

    /// Dimension of the unconstrained vector.
    pub fn dim(&self) -> usize {
        self.layout.len
    }

    /// The data conditioned on.
    pub fn data(&self) -> &PosteriorData {
        &self.data
    }

    /// The model structure whose transforms are sampled.
    pub fn model(&self) -> &Model {
        &self.model
    }

    /// The priors in force.
    pub fn priors(&self) -> &Priors {
        &self.priors
    }

    /// Prior median of each channel's half-saturation point (its mean positive scaled activity
    /// over the training weeks).
    pub fn half_saturation_centre(&self) -> &[f64] {
        &self.half_saturation_centre
    }

    /// Fresh buffers for [`PosteriorModel::logp_and_grad`].
    pub fn workspace(&self) -> Workspace {
        let (c_n, r_n, tf) = self.media_fit.dim();
        Workspace {
            adstocked: Array3::zeros((c_n, r_n, tf)),
            saturated: Array3::zeros((c_n, r_n, tf)),
            grad_mu: Array2::zeros((r_n, tf)),
            grad_s: Array2::zeros((r_n, tf)),
            grad_a: Array2::zeros((r_n, tf)),
        }
    }

    /// Short names of the coordinates of the unconstrained vector (diagnostics).
    pub fn coordinate_names(&self) -> Vec<String> {
        let l = &self.layout;
        let mut names = vec![String::new(); l.len];
        for c in 0..l.channels {
            for (j, i) in l.adstock_of(c).enumerate() {
                names[i] = format!("adstock[{c}][{j}]");
            }
            for (j, i) in l.saturation_of(c).enumerate() {
                names[i] = format!("saturation[{c}][{j}]");
            }
            names[l.log_effect.start + c] = format!("log_effect[{c}]");
            if !l.log_tau.is_empty() {
                names[l.log_tau.start + c] = format!("log_tau[{c}]");
                for r in 0..l.regions {
                    names[l.eps_at(r, c)] = format!("eps[{r}][{c}]");
                }
            }
        }
        for r in 0..l.regions {
            names[l.base.start + r] = format!("base[{r}]");
            if !l.region_trend.is_empty() {
                names[l.region_trend.start + r] = format!("region_trend[{r}]");
            }
        }
        names[l.trend] = "trend".into();
        for (f, i) in l.season.clone().enumerate() {
            names[i] = format!("season[{f}]");
        }
        for (k, i) in l.gamma.clone().enumerate() {
            names[i] = format!("gamma[{k}]");
        }
        names[l.log_sigma] = "log_sigma".into();
        names
    }

    /// Log posterior density (up to a constant) at the unconstrained `theta`, writing its
    /// gradient into `grad` (overwritten). Non-finite values are returned as they are; the
    /// sampler treats them as divergences.
    pub fn logp_and_grad(&self, theta: &[f64], grad: &mut [f64], ws: &mut Workspace) -> f64 {
        let l = &self.layout;
        assert_eq!(theta.len(), l.len, "theta has the wrong length");
        assert_eq!(grad.len(), l.len, "grad has the wrong length");
        grad.fill(0.0);
        let d = &self.data;
        let (c_n, r_n, tf) = self.media_fit.dim();
        let k_n = l.gamma.len();
        let f_n = l.season.len();
        let beta = self.betas(theta);
        let scale = |r: usize, c: usize| beta[c] * l.eta(theta, r, c).exp();

        // Media transforms over the training weeks.
        for c in 0..c_n {
            let x = self.media_fit.index_axis(Axis(0), c);
            let mut a = ws.adstocked.index_axis_mut(Axis(0), c);
            self.model
                .adstock(c)
                .forward(&theta[l.adstock_of(c)], x, a.view_mut());
            let mut s = ws.saturated.index_axis_mut(Axis(0), c);
            self.model
                .saturation(c)
                .forward(&theta[l.saturation_of(c)], a.view(), s.view_mut());
        }

        // Mean, likelihood and ∂loglik/∂μ.
        let log_sigma = theta[l.log_sigma];
        let sigma = log_sigma.exp();
        let mut loglik = 0.0;
        let mut grad_log_sigma = 0.0;
        ws.grad_mu.fill(0.0);
        for r in 0..r_n {
            let slope = theta[l.trend]
                + if l.region_trend.is_empty() {
                    0.0
                } else {
                    theta[l.region_trend.start + r]
                };
            let scales: Vec<f64> = (0..c_n).map(|c| scale(r, c)).collect();
            for t in 0..tf {
                if !self.fit[[r, t]] {
                    continue;
                }
                let mut mu = theta[l.base.start + r] + d.offset[[r, t]] + slope * d.tau[t];
                for f in 0..f_n {
                    mu += theta[l.season.start + f] * d.fourier[[t, f]];
                }
                for (c, sc) in scales.iter().enumerate() {
                    mu += sc * ws.saturated[[c, r, t]];
                }
                for k in 0..k_n {
                    mu += theta[l.gamma.start + k] * d.controls[[k, r, t]];
                }
                let e = d.target[[r, t]] - mu;
                let (lp, de, dls) = self.likelihood.logp(e, sigma, log_sigma);
                loglik += lp;
                grad_log_sigma += dls;
                // ∂/∂μ = −∂/∂e.
                ws.grad_mu[[r, t]] = -de;
            }
        }
        grad[l.log_sigma] += grad_log_sigma;

        // Back-propagation through the mean.
        for r in 0..r_n {
            let mut g_base = 0.0;
            let mut g_slope = 0.0;
            for t in 0..tf {
                let g = ws.grad_mu[[r, t]];
                if g == 0.0 {
                    continue;
                }
                g_base += g;
                g_slope += g * d.tau[t];
                for f in 0..f_n {
                    grad[l.season.start + f] += g * d.fourier[[t, f]];
                }
                for k in 0..k_n {
                    grad[l.gamma.start + k] += g * d.controls[[k, r, t]];
                }
            }
            grad[l.base.start + r] += g_base;
            grad[l.trend] += g_slope;
            if !l.region_trend.is_empty() {
                grad[l.region_trend.start + r] += g_slope;
            }
        }
        for c in 0..c_n {
            ws.grad_s.fill(0.0);
            for r in 0..r_n {
                let sc = scale(r, c);
                let mut g_scale = 0.0;
                for t in 0..tf {
                    let g = ws.grad_mu[[r, t]];
                    g_scale += g * ws.saturated[[c, r, t]];
                    ws.grad_s[[r, t]] = g * sc;
                }
                // ∂/∂ log β = Σ g·β e^η s; ∂/∂η likewise.
                let g_log = g_scale * sc;
                grad[l.log_effect.start + c] += g_log;
                if !l.log_tau.is_empty() {
                    let tau = theta[l.log_tau.start + c].exp();
                    let eps = theta[l.eps_at(r, c)];
                    grad[l.eps_at(r, c)] += g_log * tau;
                    grad[l.log_tau.start + c] += g_log * tau * eps;
                }
            }
            ws.grad_a.fill(0.0);
            let a = ws.adstocked.index_axis(Axis(0), c);
            self.model.saturation(c).vjp(
                &theta[l.saturation_of(c)],
                a,
                ws.grad_s.view(),
                Some(ws.grad_a.view_mut()),
                &mut grad[l.saturation_of(c)],
            );
            let x = self.media_fit.index_axis(Axis(0), c);
            self.model.adstock(c).vjp(
                &theta[l.adstock_of(c)],
                x,
                ws.grad_a.view(),
                None,
                &mut grad[l.adstock_of(c)],
            );
        }

        let lp = loglik + self.log_prior(theta, &beta, grad);

        // So far grad[log_effect] holds ∂/∂ log β. With v = log β + log Hill(x_ref; u), the map
        // (v, u) → (log β, u) is triangular with unit diagonal (no Jacobian term), and
        // ∂/∂u at fixed v = ∂/∂u at fixed β − ∂/∂ log β · ∂ log Hill(x_ref; u)/∂u.
        for c in 0..c_n {
            let g = grad[l.log_effect.start + c];
            let (_, dlog_h) = self.log_reference_hill(theta, c);
            for (i, d) in l.saturation_of(c).zip(dlog_h) {
                grad[i] -= g * d;
            }
        }
        lp
    }

    /// β_c of every channel at `theta` (module docs of [`ParamLayout::log_effect`]).
    pub fn betas(&self, theta: &[f64]) -> Vec<f64> {
        let l = &self.layout;
        (0..l.channels)
            .map(|c| (theta[l.log_effect.start + c] - self.log_reference_hill(theta, c).0).exp())
            .collect()
    }

    /// log Hill_c(x_ref,c) and its gradient with respect to channel c's saturation parameters
    /// (through the transform's own `vjp`).
    fn log_reference_hill(&self, theta: &[f64], c: usize) -> (f64, Vec<f64>) {
        let l = &self.layout;
        let sat = self.model.saturation(c);
        let sp = &theta[l.saturation_of(c)];
        let x = Array2::from_elem((1, 1), self.half_saturation_centre[c]);
        let h = sat.eval(sp, x[[0, 0]]);
        let mut grad = vec![0.0; sp.len()];
        sat.vjp(
            sp,
            x.view(),
            Array2::from_elem((1, 1), 1.0 / h).view(),
            None,
            &mut grad,
        );
        (h.ln(), grad)
    }

    /// Log prior density of `theta` including the log-Jacobians of the constraining maps; its
    /// gradient is ADDED to `grad`.
    /// The gradient with respect to each β_c goes to its `log_effect` slot as ∂/∂ log β_c
    /// (the caller maps it to the sampled coordinates).
    fn log_prior(&self, theta: &[f64], beta: &[f64], grad: &mut [f64]) -> f64 {
        let l = &self.layout;
        let p = &self.priors;
        let mut lp = 0.0;
        let mut add = |i: usize, (v, g): (f64, f64)| {
            lp += v;
            grad[i] += g;
        };
        for (c, b) in beta.iter().enumerate() {
            let ar = l.adstock_of(c);
            match self.model.adstock(c).name() {
                "geometric" => {
                    let (a, b) = p.geometric_decay;
                    add(ar.start, beta_logp(theta[ar.start], a, b));
                }
                _ => {
                    let (m, sd) = p.weibull_shape;
                    add(ar.start, lognormal_softplus(theta[ar.start], m.ln(), sd));
                    let (m, sd) = p.weibull_scale;
                    add(
                        ar.start + 1,
                        lognormal_softplus(theta[ar.start + 1], m.ln(), sd),
                    );
                }
            }
            let sr = l.saturation_of(c);
            let centre = (self.half_saturation_centre[c] * p.half_saturation.0).ln();
            add(
                sr.start,
                lognormal_softplus(theta[sr.start], centre, p.half_saturation.1),
            );
            let (m, sd) = p.hill_slope;
            add(
                sr.start + 1,
                lognormal_softplus(theta[sr.start + 1], m.ln(), sd),
            );
            // β ~ HalfNormal(s), as a density of log β: −β²/(2s²) + log β.
            add(
                l.log_effect.start + c,
                half_normal_log(b.ln(), p.beta_scale),
            );
            if !l.log_tau.is_empty() {
                let i = l.log_tau.start + c;
                add(i, half_normal_log(theta[i], p.region_scale));
                for r in 0..l.regions {
                    let i = l.eps_at(r, c);
                    add(i, normal_logp(theta[i], 0.0, 1.0));
                }
            }
        }
        for r in 0..l.regions {
            let i = l.base.start + r;
            add(i, normal_logp(theta[i], p.base.0, p.base.1));
            if !l.region_trend.is_empty() {
                let i = l.region_trend.start + r;
                add(i, normal_logp(theta[i], 0.0, p.region_trend_scale));
            }
        }
        add(l.trend, normal_logp(theta[l.trend], 0.0, p.trend_scale));
        for i in l.season.clone() {
            add(i, normal_logp(theta[i], 0.0, p.season_scale));
        }
        for i in l.gamma.clone() {
            add(i, normal_logp(theta[i], 0.0, p.control_scale));
        }
        add(
            l.log_sigma,
            half_normal_log(theta[l.log_sigma], p.sigma_scale),
        );
        lp
    }
}

/// A half-normal(scale) prior on e^v, as a density of v (Jacobian included): value and d/dv.
fn half_normal_log(v: f64, scale: f64) -> (f64, f64) {
    let x = v.exp();
    let z = x / scale;
    (-0.5 * z * z + v, -z * z + 1.0)
}
