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
//! the training weeks enter the likelihood; lift tests ([`PosteriorModel::with_lift_tests`]) add
//! a Normal likelihood of each measured lift. Each channel's effect is sampled as the log of its
//! contribution fraction f_c ([`ParamLayout::log_effect`]), τ and σ on the log scale, and the
//! others on their transform's own unconstrained scale (adstock and saturation parameters,
//! through `mmm-transforms`' `forward` and `vjp`); every prior is stated on the natural scale
//! and the log-Jacobian of the map is added, so the density is that of the unconstrained vector.

use crate::priors::{Likelihood, Priors, beta_logp, lognormal_softplus, normal_logp};
use crate::{Error, Result};
use mmm_model::{Calibration, LiftTest, Model};
use ndarray::{Array2, Array3, ArrayBase, ArrayView2, ArrayViewMut2, Axis, Data, Ix2, s};
use std::ops::Range;

/// The scaled data the posterior conditions on (docs/model.md, *Scaling*), every array over the weeks
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
    /// log f_c: channel c's contribution over the likelihood cells as a fraction of the
    /// target there, f_c = Σ ȳ_r β_c e^{η_{r,c}} s_c[r,t] / Σ ȳ_r ỹ[r,t] (Meridian's
    /// parameterisation by the quantity priors are stated on); β_c = f_c Y / S_c follows from
    /// it and the transforms' parameters ([`PosteriorModel::betas`]).
    pub log_effect: Range<usize>,
    /// log τ_c, the scale of channel c's region multipliers (empty with one region).
    pub log_tau: Range<usize>,
    /// ε_{r,c}, region-major (empty with one region).
    pub eps: Range<usize>,
    /// b̃_r, each region's mean level over its likelihood cells: the intercept b_r plus the
    /// means there of every other term of the mean (offset, trend, seasonality, media,
    /// controls), so that those enter the likelihood centred and do not trade against the
    /// intercept ([`PosteriorModel::intercepts`] gives b_r, on which the prior is stated).
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
    /// One channel's adstocked activity, `[region, train week]` (forward-pass scratch).
    adstocked: Array2<f64>,
    /// Saturated activity s, `[channel, region, train week]`.
    saturated: Array3<f64>,
    /// ∂s/∂a at every cell, same shape.
    saturated_dx: Array3<f64>,
    /// ∂s/∂u of the saturation parameters, `[channel · parameter, region, train week]`.
    saturated_dp: Array3<f64>,
    /// One region's row over the training weeks: the mean μ, then ∂/∂s (scratch).
    row: Vec<f64>,
    grad_mu: Array2<f64>,
    grad_a: Array2<f64>,
    /// ∂/∂η_{r,c} at fixed β, `[region, channel]`.
    grad_eta: Array2<f64>,
    /// Buffers of each lift test, over its regions × weeks up to its last tested week.
    lift: Vec<LiftBuffers>,
}

/// One lift test's buffers: adstocked and saturated activity as it ran and as compared with.
#[derive(Debug, Clone)]
struct LiftBuffers {
    a: Array2<f64>,
    s: Array2<f64>,
    a_cf: Array2<f64>,
    s_cf: Array2<f64>,
    grad_s: Array2<f64>,
    grad_a: Array2<f64>,
}

/// A lift test in the density: the resolved test and its weeks `0..weeks` (up to its last
/// tested week), with the tested channel's activity as it ran and as compared with.
#[derive(Debug, Clone)]
struct LiftTerm {
    test: LiftTest,
    /// Activity of the tested channel, `[region, week < weeks]`.
    x: Array2<f64>,
    /// The compared activity x ⊙ f (tests with a multiplier).
    x_cf: Option<Array2<f64>>,
    /// Tested cell weights u over the same weeks.
    cells: Array2<f64>,
}

/// Means over each region's likelihood cells (the centring of [`ParamLayout::base`]).
#[derive(Debug, Clone)]
struct CellMeans {
    /// Number of likelihood cells per region.
    cells: Vec<f64>,
    /// Offset ō_r.
    offset: Vec<f64>,
    /// Trend clock τ̄_r.
    tau: Vec<f64>,
    /// Fourier features F̄_{r,f}, `[region, feature]`.
    fourier: Array2<f64>,
    /// Controls z̄_{r,k}, `[region, control]`.
    controls: Array2<f64>,
}

/// A log-normal prior on a channel's contribution fraction f_c (module docs of
/// [`ParamLayout::log_effect`]): log f_c ~ Normal(`mu`, `sigma`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EffectPrior {
    /// Mean of log f_c.
    pub mu: f64,
    /// Standard deviation of log f_c (> 0).
    pub sigma: f64,
}

impl EffectPrior {
    /// The log-normal with the given mean and standard deviation on the natural scale (moments
    /// matched: σ² = ln(1 + sd²/mean²), μ = ln mean − σ²/2).
    ///
    /// # Errors
    /// [`Error::Prior`] unless mean and sd are finite and > 0.
    pub fn from_mean_sd(mean: f64, sd: f64) -> Result<Self> {
        if !(mean.is_finite() && mean > 0.0 && sd.is_finite() && sd > 0.0) {
            return Err(Error::Prior(format!(
                "a log-normal prior needs a finite mean > 0 and sd > 0, got mean {mean}, sd {sd}"
            )));
        }
        let sigma2 = (1.0 + (sd / mean).powi(2)).ln();
        Ok(EffectPrior {
            mu: mean.ln() - 0.5 * sigma2,
            sigma: sigma2.sqrt(),
        })
    }
}

/// Log posterior density over the model's interpretable part (module docs).
#[derive(Debug)]
pub struct PosteriorModel {
    /// The model structure whose transforms (one adstock and one saturation per channel) are used.
    model: Model,
    data: PosteriorData,
    /// Media of the likelihood weeks, `[channel, region, train week]` (contiguous per channel).
    media_fit: Array3<f64>,
    /// Likelihood cells (observed, finite target, among the training weeks) as weights 1 and 0,
    /// `[region, train week]`.
    fit: Array2<f64>,
    /// The training weeks of the data laid out for passes over the weeks (contiguous rows):
    /// target (0 outside the likelihood cells), offset, controls `[control, region, week]`,
    /// Fourier features `[feature, week]` and the trend clock.
    target_fit: Array2<f64>,
    offset_fit: Array2<f64>,
    controls_fit: Array3<f64>,
    fourier_fit: Array2<f64>,
    tau_fit: Vec<f64>,
    priors: Priors,
    /// Per-channel prior median of the half-saturation point K_c (scaled activity).
    half_saturation_centre: Vec<f64>,
    /// Σ over the likelihood cells of ȳ_r ỹ[r,t]: the training target in target units.
    target_total: f64,
    /// Means over each region's likelihood cells of the data's regressors.
    means: CellMeans,
    /// Prior of each channel's contribution fraction.
    effect_priors: Vec<EffectPrior>,
    /// Whether channel c keeps the default prior (pooled by [`Priors::media_pooling`]); a
    /// user's prior takes it out of the pool.
    pooled: Vec<bool>,
    /// Lift tests entering as likelihood terms.
    lift: Vec<LiftTerm>,
    likelihood: Likelihood,
    layout: ParamLayout,
}

impl PosteriorModel {
    /// A posterior over `data` with `model`'s transforms, every channel's contribution fraction
    /// under the default prior ([`Priors::media_contribution`]) and no lift test.
    ///
    /// # Errors
    /// [`Error::Input`] when the shapes disagree, values are not finite, no cell enters the
    /// likelihood, a channel has no activity in the training weeks, the training target does not
    /// sum to a positive total, or a transform has no stated prior (only geometric and Weibull
    /// adstocks and Hill saturation have one); [`Error::Prior`] for invalid prior settings.
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
            || !data.region_means.iter().all(|v| v.is_finite() && *v > 0.0)
        {
            return Err(Error::Input(
                "media must be finite and ≥ 0; controls, offset and calendar finite; region \
                 means finite and > 0"
                    .into(),
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
        let target_total: f64 = fit
            .indexed_iter()
            .filter(|(_, f)| **f)
            .map(|((r, t), _)| data.region_means[r] * data.target[[r, t]])
            .sum();
        if !(target_total.is_finite() && target_total > 0.0) {
            return Err(Error::Input(format!(
                "the training target sums to {target_total}: contribution fractions need a \
                 positive total"
            )));
        }
        let media_fit = data
            .media
            .slice(s![.., .., ..tf])
            .as_standard_layout()
            .into_owned();
        let mut half_saturation_centre = Vec::with_capacity(c_n);
        for c in 0..c_n {
            let (sum, n) = media_fit
                .index_axis(Axis(0), c)
                .iter()
                .filter(|v| **v > 0.0)
                .fold((0.0, 0usize), |(s, n), v| (s + v, n + 1));
            if n == 0 {
                return Err(Error::Input(format!(
                    "channel {c} has no activity in the training weeks: its effect cannot be \
                     sampled"
                )));
            }
            half_saturation_centre.push(sum / n as f64);
        }
        let means = CellMeans::new(&data, &fit);
        let target_fit = Array2::from_shape_fn((r_n, tf), |(r, t)| {
            if fit[[r, t]] {
                data.target[[r, t]]
            } else {
                0.0
            }
        });
        let offset_fit = data.offset.slice(s![.., ..tf]).to_owned();
        let controls_fit = data
            .controls
            .slice(s![.., .., ..tf])
            .as_standard_layout()
            .into_owned();
        let fourier_fit = data
            .fourier
            .slice(s![..tf, ..])
            .t()
            .as_standard_layout()
            .into_owned();
        let tau_fit = data.tau[..tf].to_vec();
        let fit = fit.mapv(|b| if b { 1.0 } else { 0.0 });
        let layout = ParamLayout::new(
            r_n,
            c_n,
            model.adstock(0).n_params(),
            model.saturation(0).n_params(),
            f_n,
            k_n,
        );
        // The prior mean of each f_c is m ((1 − w)/C + w spend_c/Σ spend) (the median e^{−s²/2}
        // times that).
        let (m, sd) = priors.media_contribution;
        let w = priors.media_spend_weight;
        let spend_total: f64 = data.spend.iter().sum();
        let effect_priors = (0..c_n)
            .map(|c| {
                let spend_share = if spend_total > 0.0 {
                    data.spend[c] / spend_total
                } else {
                    1.0 / c_n as f64
                };
                let mean = m * ((1.0 - w) / c_n as f64 + w * spend_share);
                EffectPrior {
                    mu: mean.max(f64::MIN_POSITIVE).ln() - 0.5 * sd * sd,
                    sigma: sd,
                }
            })
            .collect();
        Ok(PosteriorModel {
            model,
            data,
            media_fit,
            fit,
            target_fit,
            offset_fit,
            controls_fit,
            fourier_fit,
            tau_fit,
            priors,
            half_saturation_centre,
            target_total,
            means,
            effect_priors,
            pooled: vec![true; c_n],
            lift: Vec::new(),
            likelihood,
            layout,
        })
    }

    /// Replaces the prior of channel `c`'s contribution fraction (a user's ROI or contribution
    /// prior, docs/model.md "Posterior").
    ///
    /// # Errors
    /// [`Error::Prior`] for an unknown channel or a non-positive or non-finite σ.
    pub fn set_effect_prior(&mut self, c: usize, prior: EffectPrior) -> Result<()> {
        if c >= self.effect_priors.len() || !(prior.sigma.is_finite() && prior.sigma > 0.0) {
            return Err(Error::Prior(format!(
                "channel {c}: a contribution prior needs a channel of the model and a finite \
                 σ > 0, got {prior:?}"
            )));
        }
        if !prior.mu.is_finite() {
            return Err(Error::Prior(format!("channel {c}: μ must be finite")));
        }
        self.effect_priors[c] = prior;
        self.pooled[c] = false;
        Ok(())
    }

    /// Adds lift tests as likelihood terms: each measured lift L ± se is a Normal observation
    /// of the model's answer (`mmm_model::calibration`; the modulation m is 1 here).
    ///
    /// # Errors
    /// [`Error::Input`] when a test does not fit the data's shape (as
    /// `mmm_model::Calibration::validate`).
    pub fn with_lift_tests(mut self, tests: Vec<LiftTest>) -> Result<Self> {
        let (c_n, r_n, t_n) = self.data.media.dim();
        Calibration {
            tests: tests.clone(),
            scale: 0.0,
        }
        .validate(c_n, r_n, t_n)
        .map_err(|e| Error::Input(e.to_string()))?;
        for test in tests {
            let weeks = (0..t_n)
                .rev()
                .find(|&t| (0..r_n).any(|r| test.cells[[r, t]] > 0.0))
                .map_or(0, |t| t + 1);
            let x = self
                .data
                .media
                .slice(s![test.channel, .., ..weeks])
                .to_owned();
            let x_cf = test
                .counterfactual
                .as_ref()
                .map(|f| &x * &f.slice(s![.., ..weeks]));
            let cells = test.cells.slice(s![.., ..weeks]).to_owned();
            self.lift.push(LiftTerm {
                test,
                x,
                x_cf,
                cells,
            });
        }
        Ok(self)
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

    /// The prior of each channel's contribution fraction.
    pub fn effect_priors(&self) -> &[EffectPrior] {
        &self.effect_priors
    }

    /// The training target in target units (Σ over the likelihood cells of ȳ_r ỹ[r,t]): the
    /// denominator of the contribution fractions.
    pub fn target_total(&self) -> f64 {
        self.target_total
    }

    /// Prior median of each channel's half-saturation point (its mean positive scaled activity
    /// over the training weeks).
    pub fn half_saturation_centre(&self) -> &[f64] {
        &self.half_saturation_centre
    }

    /// Fresh buffers for [`PosteriorModel::logp_and_grad`].
    pub fn workspace(&self) -> Workspace {
        let (c_n, r_n, tf) = self.media_fit.dim();
        let ns = self.layout.saturation_per_channel;
        let lift = self
            .lift
            .iter()
            .map(|t| {
                let z = Array2::zeros(t.x.dim());
                LiftBuffers {
                    a: z.clone(),
                    s: z.clone(),
                    a_cf: z.clone(),
                    s_cf: z.clone(),
                    grad_s: z.clone(),
                    grad_a: z,
                }
            })
            .collect();
        Workspace {
            adstocked: Array2::zeros((r_n, tf)),
            saturated: Array3::zeros((c_n, r_n, tf)),
            saturated_dx: Array3::zeros((c_n, r_n, tf)),
            saturated_dp: Array3::zeros((c_n * ns, r_n, tf)),
            row: vec![0.0; tf],
            grad_mu: Array2::zeros((r_n, tf)),
            grad_a: Array2::zeros((r_n, tf)),
            grad_eta: Array2::zeros((r_n, c_n)),
            lift,
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

    /// Adstock then Hill of channel `c` at `theta` over `x` (`[region, week]`), into `a` and `s`.
    fn respond(
        &self,
        theta: &[f64],
        c: usize,
        x: ArrayView2<f64>,
        mut a: ArrayViewMut2<f64>,
        s: ArrayViewMut2<f64>,
    ) {
        let l = &self.layout;
        self.model
            .adstock(c)
            .forward(&theta[l.adstock_of(c)], x, a.view_mut());
        self.model
            .saturation(c)
            .forward(&theta[l.saturation_of(c)], a.view(), s);
    }

    /// Back-propagates `grad_s` = ∂/∂s through [`Self::respond`] into channel `c`'s adstock and
    /// saturation parameters (`grad_a` is scratch of the same shape).
    #[allow(clippy::too_many_arguments)]
    fn respond_vjp(
        &self,
        theta: &[f64],
        c: usize,
        x: ArrayView2<f64>,
        a: ArrayView2<f64>,
        grad_s: ArrayView2<f64>,
        grad_a: &mut Array2<f64>,
        grad: &mut [f64],
    ) {
        let l = &self.layout;
        grad_a.fill(0.0);
        self.model.saturation(c).vjp(
            &theta[l.saturation_of(c)],
            a,
            grad_s,
            Some(grad_a.view_mut()),
            &mut grad[l.saturation_of(c)],
        );
        self.model.adstock(c).vjp(
            &theta[l.adstock_of(c)],
            x,
            grad_a.view(),
            None,
            &mut grad[l.adstock_of(c)],
        );
    }

    /// S_rc = ȳ_r e^{η_{r,c}} Σ_{t: likelihood cell} s[r,t] from the saturated activity of the
    /// likelihood weeks, `[region, channel]`.
    fn exposure(&self, theta: &[f64], saturated: &Array3<f64>) -> Array2<f64> {
        let (c_n, r_n, _) = saturated.dim();
        let l = &self.layout;
        Array2::from_shape_fn((r_n, c_n), |(r, c)| {
            let sum = dot(row(&self.fit, r), row(&saturated.index_axis(Axis(0), c), r));
            self.data.region_means[r] * l.eta(theta, r, c).exp() * sum
        })
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
        let (c_n, r_n, _) = self.media_fit.dim();
        let k_n = l.gamma.len();
        let f_n = l.season.len();

        // Media transforms over the training weeks, with the saturation's local derivatives
        // (the backward pass below needs no second evaluation of the curves).
        let ns = l.saturation_per_channel;
        for c in 0..c_n {
            let x = self.media_fit.index_axis(Axis(0), c);
            self.model
                .adstock(c)
                .forward(&theta[l.adstock_of(c)], x, ws.adstocked.view_mut());
            self.model.saturation(c).forward_partials(
                &theta[l.saturation_of(c)],
                ws.adstocked.view(),
                ws.saturated.index_axis_mut(Axis(0), c),
                ws.saturated_dx.index_axis_mut(Axis(0), c),
                ws.saturated_dp.slice_mut(s![c * ns..(c + 1) * ns, .., ..]),
            );
        }
        // β_c = f_c Y / S_c (module docs of `ParamLayout::log_effect`).
        let exposure = self.exposure(theta, &ws.saturated);
        let totals: Vec<f64> = (0..c_n).map(|c| exposure.column(c).sum()).collect();
        let beta: Vec<f64> = (0..c_n)
            .map(|c| theta[l.log_effect.start + c].exp() * self.target_total / totals[c])
            .collect();
        let scale = |r: usize, c: usize| beta[c] * l.eta(theta, r, c).exp();
        let intercepts = self.intercepts_from(theta, &exposure, &totals);

        // Mean, likelihood and ∂loglik/∂μ, one region's weeks at a time. Cells outside the
        // likelihood have weight 0 (and target 0, so that they stay finite).
        let log_sigma = theta[l.log_sigma];
        let sigma = log_sigma.exp();
        let mut loglik = 0.0;
        let mut grad_log_sigma = 0.0;
        for r in 0..r_n {
            let slope = theta[l.trend]
                + if l.region_trend.is_empty() {
                    0.0
                } else {
                    theta[l.region_trend.start + r]
                };
            let mu = &mut ws.row[..];
            for ((m, o), tau) in mu
                .iter_mut()
                .zip(row(&self.offset_fit, r))
                .zip(&self.tau_fit)
            {
                *m = intercepts[r] + o + slope * tau;
            }
            for f in 0..f_n {
                axpy(theta[l.season.start + f], row(&self.fourier_fit, f), mu);
            }
            for c in 0..c_n {
                axpy(
                    scale(r, c),
                    row(&ws.saturated.index_axis(Axis(0), c), r),
                    mu,
                );
            }
            for k in 0..k_n {
                let z = self.controls_fit.index_axis(Axis(0), k);
                axpy(theta[l.gamma.start + k], row(&z, r), mu);
            }
            let g_mu = ws
                .grad_mu
                .row_mut(r)
                .into_slice()
                .expect("workspace rows are contiguous");
            for (((g, m), y), w) in g_mu
                .iter_mut()
                .zip(mu.iter())
                .zip(row(&self.target_fit, r))
                .zip(row(&self.fit, r))
            {
                let (lp, de, dls) = self.likelihood.logp(y - m, sigma, log_sigma);
                loglik += w * lp;
                grad_log_sigma += w * dls;
                // ∂/∂μ = −∂/∂e.
                *g = -w * de;
            }
        }
        grad[l.log_sigma] += grad_log_sigma;

        // Back-propagation through the mean: baseline terms. With b_r = b̃_r − Σ_j θ_j x̄_{r,j}
        // (module docs of `ParamLayout::base`), ∂/∂b̃_r = ∂/∂b_r =: D_r (likelihood and the
        // prior on b_r) and every regressor j gains −D_r x̄_{r,j}.
        let p = &self.priors;
        let m = &self.means;
        let mut d_base = vec![0.0; r_n];
        let mut base_lp = 0.0;
        for r in 0..r_n {
            let (lp, g_prior) = normal_logp(intercepts[r], p.base.0, p.base.1);
            base_lp += lp;
            let g = row(&ws.grad_mu, r);
            let g_base = g_prior + g.iter().sum::<f64>();
            for f in 0..f_n {
                grad[l.season.start + f] +=
                    dot(g, row(&self.fourier_fit, f)) - g_base * m.fourier[[r, f]];
            }
            for k in 0..k_n {
                let z = self.controls_fit.index_axis(Axis(0), k);
                grad[l.gamma.start + k] += dot(g, row(&z, r)) - g_base * m.controls[[r, k]];
            }
            let g_slope = dot(g, &self.tau_fit) - g_base * m.tau[r];
            d_base[r] = g_base;
            grad[l.base.start + r] += g_base;
            grad[l.trend] += g_slope;
            if !l.region_trend.is_empty() {
                grad[l.region_trend.start + r] += g_slope;
            }
        }

        // Partial derivatives at fixed β: ∂/∂ log β_c into `g_log_beta`, ∂/∂η into
        // `ws.grad_eta`; the lift tests back-propagate their ∂/∂s themselves.
        let mut g_log_beta = vec![0.0; c_n];
        ws.grad_eta.fill(0.0);
        let lift_lp = self.lift_terms(theta, &beta, &mut g_log_beta, grad, ws);
        for c in 0..c_n {
            let s_c = ws.saturated.index_axis(Axis(0), c);
            for r in 0..r_n {
                // The media's mean over the region's cells, s̄ = S_rc / (ȳ_r e^η n_r), is
                // centred out of the mean (module docs of `ParamLayout::base`).
                let g_scale = dot(row(&ws.grad_mu, r), row(&s_c, r));
                let g = g_scale * scale(r, c)
                    - d_base[r] * beta[c] * exposure[[r, c]] / (d.region_means[r] * m.cells[r]);
                g_log_beta[c] += g;
                ws.grad_eta[[r, c]] += g;
            }
        }

        // The sampled coordinate is w_c = log β_c + log S_c − log Y: at fixed w, log β moves
        // by −∂ log S_c, so every ∂/∂ log β_c also reaches S_c's arguments (η and s). ∂/∂s then
        // runs through the saturation's stored local derivatives and the adstock's VJP.
        let mut g_sat = vec![0.0; ns];
        for c in 0..c_n {
            let gb = g_log_beta[c];
            grad[l.log_effect.start + c] += gb;
            g_sat.fill(0.0);
            let dx = ws.saturated_dx.index_axis(Axis(0), c);
            for r in 0..r_n {
                let sc = scale(r, c);
                let via_total = gb * d.region_means[r] * l.eta(theta, r, c).exp() / totals[c];
                let via_mean = d_base[r] * sc / m.cells[r];
                let shift = via_total + via_mean;
                let g_s = &mut ws.row[..];
                for ((gs, gm), w) in g_s
                    .iter_mut()
                    .zip(row(&ws.grad_mu, r))
                    .zip(row(&self.fit, r))
                {
                    *gs = gm * sc - w * shift;
                }
                let g_a = ws
                    .grad_a
                    .row_mut(r)
                    .into_slice()
                    .expect("workspace rows are contiguous");
                for ((ga, gs), dx) in g_a.iter_mut().zip(g_s.iter()).zip(row(&dx, r)) {
                    *ga = gs * dx;
                }
                for (j, gp) in g_sat.iter_mut().enumerate() {
                    *gp += dot(
                        g_s,
                        row(&ws.saturated_dp.index_axis(Axis(0), c * ns + j), r),
                    );
                }
                ws.grad_eta[[r, c]] -= gb * exposure[[r, c]] / totals[c];
            }
            for (g, gp) in grad[l.saturation_of(c)].iter_mut().zip(&g_sat) {
                *g += gp;
            }
            self.model.adstock(c).vjp(
                &theta[l.adstock_of(c)],
                self.media_fit.index_axis(Axis(0), c),
                ws.grad_a.view(),
                None,
                &mut grad[l.adstock_of(c)],
            );
            if !l.log_tau.is_empty() {
                let tau = theta[l.log_tau.start + c].exp();
                for r in 0..r_n {
                    let g = ws.grad_eta[[r, c]];
                    grad[l.eps_at(r, c)] += g * tau;
                    grad[l.log_tau.start + c] += g * tau * theta[l.eps_at(r, c)];
                }
            }
        }

        loglik + lift_lp + base_lp + self.log_prior(theta, grad)
    }

    /// b_r = b̃_r − ō_r − (δ + Δδ_r) τ̄_r − Σ_f φ_f F̄_{r,f} − Σ_c β_c e^{η} s̄_{r,c} − Σ_k γ_k z̄_{r,k}
    /// given the media's exposures S_rc and their totals S_c.
    fn intercepts_from(&self, theta: &[f64], exposure: &Array2<f64>, totals: &[f64]) -> Vec<f64> {
        let l = &self.layout;
        let m = &self.means;
        let d = &self.data;
        (0..l.regions)
            .map(|r| {
                let slope = theta[l.trend]
                    + if l.region_trend.is_empty() {
                        0.0
                    } else {
                        theta[l.region_trend.start + r]
                    };
                let mut level = m.offset[r] + slope * m.tau[r];
                for f in 0..l.season.len() {
                    level += theta[l.season.start + f] * m.fourier[[r, f]];
                }
                for k in 0..l.gamma.len() {
                    level += theta[l.gamma.start + k] * m.controls[[r, k]];
                }
                for c in 0..l.channels {
                    // β_c e^η s̄_rc = f_c Y (S_rc / S_c) / (ȳ_r n_r).
                    let f = theta[l.log_effect.start + c].exp();
                    level += f * self.target_total * exposure[[r, c]]
                        / totals[c]
                        / (d.region_means[r] * m.cells[r]);
                }
                theta[l.base.start + r] - level
            })
            .collect()
    }

    /// The region intercepts b_r at `theta` ([`ParamLayout::base`] holds the region levels b̃_r).
    pub fn intercepts(&self, theta: &[f64]) -> Vec<f64> {
        let (exposure, totals) = self.exposures(theta);
        self.intercepts_from(theta, &exposure, &totals)
    }

    /// S_rc and S_c at `theta` (one pass of the transforms).
    fn exposures(&self, theta: &[f64]) -> (Array2<f64>, Vec<f64>) {
        let (c_n, r_n, tf) = self.media_fit.dim();
        let mut a = Array2::zeros((r_n, tf));
        let mut saturated = Array3::zeros((c_n, r_n, tf));
        for c in 0..c_n {
            let x = self.media_fit.index_axis(Axis(0), c);
            self.respond(
                theta,
                c,
                x,
                a.view_mut(),
                saturated.index_axis_mut(Axis(0), c),
            );
        }
        let exposure = self.exposure(theta, &saturated);
        let totals = (0..c_n).map(|c| exposure.column(c).sum()).collect();
        (exposure, totals)
    }

    /// The lift tests' Gaussian log-likelihood; adds ∂/∂ log β_c to `g_log_beta`, ∂/∂η to
    /// `ws.grad_eta` and back-propagates ∂/∂s into the transforms' parameters in `grad`.
    fn lift_terms(
        &self,
        theta: &[f64],
        beta: &[f64],
        g_log_beta: &mut [f64],
        grad: &mut [f64],
        ws: &mut Workspace,
    ) -> f64 {
        let l = &self.layout;
        let mut lp = 0.0;
        for (term, buf) in self.lift.iter().zip(ws.lift.iter_mut()) {
            let c = term.test.channel;
            self.respond(theta, c, term.x.view(), buf.a.view_mut(), buf.s.view_mut());
            if let Some(x_cf) = &term.x_cf {
                self.respond(
                    theta,
                    c,
                    x_cf.view(),
                    buf.a_cf.view_mut(),
                    buf.s_cf.view_mut(),
                );
            }
            // Per region: Σ_t u (s − s_cf), and the answer A = Σ_r β e^η (that).
            let r_n = term.cells.nrows();
            let per_region: Vec<f64> = (0..r_n)
                .map(|r| {
                    let u = term.cells.row(r);
                    let s = buf.s.row(r);
                    let mut v: f64 = u.iter().zip(s).map(|(u, s)| u * s).sum();
                    if term.x_cf.is_some() {
                        v -= u
                            .iter()
                            .zip(buf.s_cf.row(r))
                            .map(|(u, s)| u * s)
                            .sum::<f64>();
                    }
                    v
                })
                .collect();
            let answer: f64 = (0..r_n)
                .map(|r| beta[c] * l.eta(theta, r, c).exp() * per_region[r])
                .sum();
            let z = (answer - term.test.lift) / term.test.se;
            lp -= 0.5 * z * z;
            let d_answer = -z / term.test.se;
            g_log_beta[c] += d_answer * answer;
            for (r, v) in per_region.iter().enumerate() {
                let k = beta[c] * l.eta(theta, r, c).exp();
                ws.grad_eta[[r, c]] += d_answer * k * v;
                for (g, u) in buf.grad_s.row_mut(r).iter_mut().zip(term.cells.row(r)) {
                    *g = d_answer * k * u;
                }
            }
            self.respond_vjp(
                theta,
                c,
                term.x.view(),
                buf.a.view(),
                buf.grad_s.view(),
                &mut buf.grad_a,
                grad,
            );
            if let Some(x_cf) = &term.x_cf {
                buf.grad_s.mapv_inplace(|g| -g);
                self.respond_vjp(
                    theta,
                    c,
                    x_cf.view(),
                    buf.a_cf.view(),
                    buf.grad_s.view(),
                    &mut buf.grad_a,
                    grad,
                );
            }
        }
        lp
    }

    /// β_c of every channel at `theta` (module docs of [`ParamLayout::log_effect`]).
    pub fn betas(&self, theta: &[f64]) -> Vec<f64> {
        let l = &self.layout;
        let (_, totals) = self.exposures(theta);
        (0..l.channels)
            .map(|c| theta[l.log_effect.start + c].exp() * self.target_total / totals[c])
            .collect()
    }

    /// The `log_effect` coordinate of channel `c` that gives it effect size `beta` at `theta`'s
    /// other coordinates: log(β S_c / Y) (the inverse of [`PosteriorModel::betas`]).
    pub fn log_effect_for(&self, theta: &[f64], c: usize, beta: f64) -> f64 {
        let l = &self.layout;
        let x = self.media_fit.index_axis(Axis(0), c);
        let (_, r_n, tf) = self.media_fit.dim();
        let mut a = Array2::zeros((r_n, tf));
        let mut s = Array2::zeros((r_n, tf));
        self.respond(theta, c, x, a.view_mut(), s.view_mut());
        let total: f64 = (0..r_n)
            .map(|r| {
                let sum = dot(row(&self.fit, r), row(&s, r));
                self.data.region_means[r] * l.eta(theta, r, c).exp() * sum
            })
            .sum();
        (beta * total / self.target_total).ln()
    }

    /// Log prior density of `theta` including the log-Jacobians of the constraining maps; its
    /// gradient is ADDED to `grad`.
    fn log_prior(&self, theta: &[f64], grad: &mut [f64]) -> f64 {
        let l = &self.layout;
        let p = &self.priors;
        let mut lp = 0.0;
        let mut add = |i: usize, (v, g): (f64, f64)| {
            lp += v;
            grad[i] += g;
        };
        for (c, prior) in self.effect_priors.iter().enumerate() {
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
            // log f_c ~ Normal(μ_c, σ_c): a log-normal prior on the contribution fraction (the
            // pooled channels' joint prior below).
            if !self.pooled[c] || p.media_pooling == 0.0 {
                let i = l.log_effect.start + c;
                add(i, normal_logp(theta[i], prior.mu, prior.sigma));
            }
            if !l.log_tau.is_empty() {
                let i = l.log_tau.start + c;
                add(i, half_normal_log(theta[i], p.region_scale));
                for r in 0..l.regions {
                    let i = l.eps_at(r, c);
                    add(i, normal_logp(theta[i], 0.0, 1.0));
                }
            }
        }
        // The prior on the intercepts b_r is in `logp_and_grad` (they depend on the other
        // coordinates).
        for r in 0..l.regions {
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
        if p.media_pooling > 0.0 {
            lp += self.pooled_effect_prior(theta, grad);
        }
        lp
    }
}

impl PosteriorModel {
    /// The joint prior of the pooled channels' log f_c (x_c = log f_c − μ_c, n of them):
    /// MVN(0, Σ), Σ = s²((1 − ρ) I + ρ 1 1ᵀ), Σ⁻¹ = a (I − b 1 1ᵀ) with a = 1/(s²(1 − ρ)),
    /// b = ρ/(1 − ρ + nρ): −½ a (Σ x_c² − b (Σ x_c)²), constants dropped; its gradient
    /// −a (x_c − b Σ x) is ADDED to `grad`.
    pub(crate) fn pooled_effect_prior(&self, theta: &[f64], grad: &mut [f64]) -> f64 {
        let l = &self.layout;
        let rho = self.priors.media_pooling;
        let s = self.priors.media_contribution.1;
        let pooled: Vec<usize> = (0..l.channels).filter(|&c| self.pooled[c]).collect();
        let n = pooled.len() as f64;
        let x = |c: usize| theta[l.log_effect.start + c] - self.effect_priors[c].mu;
        let a = 1.0 / (s * s * (1.0 - rho));
        let b = rho / (1.0 - rho + n * rho);
        let sum: f64 = pooled.iter().map(|&c| x(c)).sum();
        let sq: f64 = pooled.iter().map(|&c| x(c) * x(c)).sum();
        for &c in &pooled {
            grad[l.log_effect.start + c] -= a * (x(c) - b * sum);
        }
        -0.5 * a * (sq - b * sum * sum)
    }
}

/// A half-normal(scale) prior on e^v, as a density of v (Jacobian included): value and d/dv.
fn half_normal_log(v: f64, scale: f64) -> (f64, f64) {
    let x = v.exp();
    let z = x / scale;
    (-0.5 * z * z + v, -z * z + 1.0)
}

impl CellMeans {
    fn new(data: &PosteriorData, fit: &Array2<bool>) -> Self {
        let (r_n, tf) = fit.dim();
        let (k_n, f_n) = (data.controls.dim().0, data.fourier.ncols());
        let mut m = CellMeans {
            cells: vec![0.0; r_n],
            offset: vec![0.0; r_n],
            tau: vec![0.0; r_n],
            fourier: Array2::zeros((r_n, f_n)),
            controls: Array2::zeros((r_n, k_n)),
        };
        for r in 0..r_n {
            for t in (0..tf).filter(|&t| fit[[r, t]]) {
                m.cells[r] += 1.0;
                m.offset[r] += data.offset[[r, t]];
                m.tau[r] += data.tau[t];
                for f in 0..f_n {
                    m.fourier[[r, f]] += data.fourier[[t, f]];
                }
                for k in 0..k_n {
                    m.controls[[r, k]] += data.controls[[k, r, t]];
                }
            }
            // A region without likelihood cells keeps zero means (it has no intercept data).
            let n = m.cells[r].max(1.0);
            m.cells[r] = n;
            m.offset[r] /= n;
            m.tau[r] /= n;
            m.fourier.row_mut(r).mapv_inplace(|v| v / n);
            m.controls.row_mut(r).mapv_inplace(|v| v / n);
        }
        m
    }
}

/// Row `r` of a standard-layout array as a slice.
fn row<S: Data<Elem = f64>>(a: &ArrayBase<S, Ix2>, r: usize) -> &[f64] {
    a.row(r)
        .to_slice()
        .expect("rows of the density's arrays are contiguous")
}

/// Σ a_i b_i in four interleaved partial sums (independent dependency chains).
fn dot(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len(), "dot: lengths differ");
    let mut acc = [0.0; 4];
    let (ca, cb) = (a.chunks_exact(4), b.chunks_exact(4));
    let tail: f64 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in ca.zip(cb) {
        for i in 0..4 {
            acc[i] += x[i] * y[i];
        }
    }
    (acc[0] + acc[1]) + (acc[2] + acc[3]) + tail
}

/// y += a·x.
fn axpy(a: f64, x: &[f64], y: &mut [f64]) {
    assert_eq!(x.len(), y.len(), "axpy: lengths differ");
    for (yi, xi) in y.iter_mut().zip(x) {
        *yi += a * xi;
    }
}
