//! The DeepCausalMMM model: forward pass, hand-written backward pass, loss and additive
//! decomposition. The equations are in `docs/model.md`; in short, for region r, week t:
//!
//! ```text
//! a_c   = adstock_c(x̃_c)                      (per channel, shared across regions)
//! s_c   = sat_c(a_c)                           (Hill by default)
//! h_t   = GRU([z, fourier, τ]_t, h_{t−1})       (no media: see `ModelInputs::gru_input`)
//! m_c   = 1 + κ_m · tanh(V_m h_t + c_m)_c      (bounded effectiveness modulation)
//! g     = κ_b · tanh(v_b·h_t + c_b)            (bounded baseline modulation)
//! ŷ/ȳ_r = b_r + g + (δ + Δδ_r)·τ_t + Σ_f (φ_f + Δφ_{r,f})·F_f(t)
//!         + Σ_c softplus(θ_c)·exp(η_{r,c})·m_c·s_c + Σ_k γ_k·z_k
//! ```
//!
//! Every term is additive, so the decomposition sums exactly to the prediction.

use crate::calibration::Calibration;
use crate::config::{ModelConfig, RegionWeighting};
use crate::inputs::ModelInputs;
use crate::layout::Layout;
use crate::{Error, Result};
use mmm_gru::{Gru, GruTape};
use mmm_transforms::param::{sigmoid, softplus};
use mmm_transforms::{Adstock, Saturation, TransformRegistry};
use ndarray::linalg::{general_mat_mul, general_mat_vec_mul};
use ndarray::{Array1, Array2, Array3, ArrayView2, Axis};
use rayon::prelude::*;
use std::sync::Mutex;

/// The model's structure (sizes, transforms, GRU); parameters live in a separate flat buffer.
#[derive(Debug)]
pub struct Model {
    config: ModelConfig,
    layout: Layout,
    adstock: Vec<Box<dyn Adstock>>,
    /// Initial adstock parameters per channel (the transforms' defaults unless `new` says otherwise).
    adstock_init: Vec<Vec<f64>>,
    saturation: Vec<Box<dyn Saturation>>,
    /// Initial saturation parameters per channel (the transforms' defaults unless set).
    saturation_init: Vec<Vec<f64>>,
    /// Media coefficients β_c of a media part held fixed ([`Model::with_fixed_media`]).
    fixed_effects: Option<Vec<f64>>,
    /// Where the control coefficients γ_k start with a fixed media part.
    control_start: Vec<f64>,
    gru: Gru,
    /// The last training step's tape, whose buffers the next forward pass reuses: on a
    /// 2000-region panel the fresh [C, R, T] and [T, R, 4H] arrays of every epoch cost more
    /// time in page faults than the arithmetic that fills them.
    recycled: Mutex<Option<Tape>>,
}

/// Everything the backward pass needs from a forward pass, and the prediction.
#[derive(Debug, Default)]
pub struct Tape {
    adstocked: Array3<f64>,
    saturated: Array3<f64>,
    gru: GruTape,
    /// tanh(V_m h + c_m), `[week·region, channel]` (row t·R + r).
    effect_tanh: Array2<f64>,
    /// tanh(v_b·h + c_b), `[week·region]`.
    base_tanh: Array1<f64>,
    /// The scaled prediction ŷ/ȳ_r, `[region, week]`.
    pub prediction: Array2<f64>,
}

/// Seeds of [`Model::backward`] from loss terms that read single channels (the lift tests),
/// `[channel, region, week]`.
#[derive(Debug, Clone, PartialEq)]
pub struct ChannelSeeds {
    /// ∂L/∂(channel c's scaled contribution β_c exp(η) m_c s_c).
    pub contribution: Array3<f64>,
    /// ∂L/∂(β_c exp(η) m_c) beyond what reaches it through the contribution (`None`: zero, as
    /// for tests of contributions only).
    pub effect: Option<Array3<f64>>,
}

/// A lift test's counterfactual activity of its channel (`[region, week]`): the media x_c ⊙ f_e
/// and their adstocked and saturated transforms, kept for the backward pass.
struct Counterfactual {
    media: Array2<f64>,
    adstocked: Array2<f64>,
    saturated: Array2<f64>,
}

/// The loss split into its parts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Loss {
    /// Weighted Huber loss of the fitted cells.
    pub data: f64,
    /// Sum of the regularisation penalties.
    pub penalty: f64,
    /// Likelihood term of the lift tests (0 without calibration).
    pub calibration: f64,
}

impl Loss {
    /// Data loss plus penalties plus calibration: what the optimiser minimises.
    pub fn total(&self) -> f64 {
        self.data + self.penalty + self.calibration
    }
}

/// Additive decomposition of the scaled prediction, every array `[.., region, week]`.
#[derive(Debug, Clone)]
pub struct Decomposition {
    /// Region baseline with the GRU's baseline modulation: b_r + g_{r,t}.
    pub baseline: Array2<f64>,
    /// Trend (δ + Δδ_r)·τ_t.
    pub trend: Array2<f64>,
    /// Calendar seasonality Σ_f (φ_f + Δφ_{r,f}) F_f(t).
    pub seasonality: Array2<f64>,
    /// Each control's term γ_k z_k, `[control, region, week]`.
    pub controls: Array3<f64>,
    /// Each channel's direct contribution, `[channel, region, week]`.
    pub channels: Array3<f64>,
}

impl Decomposition {
    /// Sum of all components: equals the forward pass's prediction.
    pub fn total(&self) -> Array2<f64> {
        &self.baseline
            + &self.trend
            + &self.seasonality
            + self.controls.sum_axis(Axis(0))
            + self.channels.sum_axis(Axis(0))
    }
}

fn huber(e: f64, delta: f64) -> (f64, f64) {
    if e.abs() <= delta {
        (0.5 * e * e, e)
    } else {
        (delta * (e.abs() - 0.5 * delta), delta * e.signum())
    }
}

/// `tanh x = 2σ(2x) − 1`: one `exp` instead of libm's `tanh` (which calls `expm1` and was the
/// largest single item in a profile of a 2000-region fit: the heads evaluate it C + 1 times per
/// region-week). Absolute error ≤ 2⁻⁵², which is all the loss and its gradient see.
#[inline]
fn fast_tanh(x: f64) -> f64 {
    2.0 * sigmoid(2.0 * x) - 1.0
}

/// One finite start per channel, each with its transform's parameter count (`n_params`, channel
/// order); `what` names the transform in the error.
fn check_starts(
    what: &str,
    starts: &[Vec<f64>],
    n_params: impl ExactSizeIterator<Item = usize>,
) -> Result<()> {
    if starts.len() != n_params.len() {
        return Err(Error::Shape(format!(
            "{} {what} starts for {} channels",
            starts.len(),
            n_params.len()
        )));
    }
    for (c, (s, n)) in starts.iter().zip(n_params).enumerate() {
        if s.len() != n || !s.iter().all(|v| v.is_finite()) {
            return Err(Error::Shape(format!(
                "channel {c}'s {what} start {s:?} is not {n} finite parameters"
            )));
        }
    }
    Ok(())
}

impl Model {
    /// A model with the built-in transforms named by `config.adstock` and `config.saturation`
    /// ([`TransformRegistry::with_builtins`]; [`Model::with_registry`] for user transforms).
    ///
    /// # Errors
    /// [`Error::Config`] for an invalid configuration or a transform name that is not built in.
    pub fn new(
        config: ModelConfig,
        regions: usize,
        channels: usize,
        controls: usize,
    ) -> Result<Self> {
        Self::with_registry(
            config,
            regions,
            channels,
            controls,
            &TransformRegistry::with_builtins(),
        )
    }

    /// A model whose channels all use the adstock `config.adstock` and the saturation
    /// `config.saturation` from `transforms`, each starting at its transform's default parameters.
    ///
    /// # Errors
    /// [`Error::Config`] for an invalid configuration or a name `transforms` does not hold.
    pub fn with_registry(
        config: ModelConfig,
        regions: usize,
        channels: usize,
        controls: usize,
        transforms: &TransformRegistry,
    ) -> Result<Self> {
        let named = |key: &str, e: mmm_transforms::Error| Error::Config(format!("`{key}`: {e}"));
        let adstock = (0..channels)
            .map(|_| transforms.adstock(&config.adstock))
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|e| named("adstock", e))?;
        let saturation = (0..channels)
            .map(|_| transforms.saturation(&config.saturation))
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|e| named("saturation", e))?;
        Self::with_transforms(config, regions, controls, adstock, saturation)
    }

    /// A model with the caller's transforms, one adstock and one saturation per channel. All
    /// channels' adstocks must have the same parameter count, likewise the saturations.
    pub fn with_transforms(
        config: ModelConfig,
        regions: usize,
        controls: usize,
        adstock: Vec<Box<dyn Adstock>>,
        saturation: Vec<Box<dyn Saturation>>,
    ) -> Result<Self> {
        config.validate()?;
        let channels = adstock.len();
        if saturation.len() != channels {
            return Err(Error::Shape(
                "one saturation per adstock (channel) is needed".into(),
            ));
        }
        if let Some(split) = &config.initial_media_split
            && split.len() != channels
        {
            return Err(Error::Config(format!(
                "`initial_media_split` has {} weights for {channels} channels",
                split.len()
            )));
        }
        if regions == 0 {
            return Err(Error::Shape("a model needs at least one region".into()));
        }
        let per = |n: Vec<usize>, what: &str| -> Result<usize> {
            match n.first() {
                None => Ok(0),
                Some(&k) if n.iter().all(|&m| m == k) => Ok(k),
                _ => Err(Error::Shape(format!(
                    "all channels' {what} transforms must have the same number of parameters"
                ))),
            }
        };
        let ad_n = per(adstock.iter().map(|a| a.n_params()).collect(), "adstock")?;
        let sat_n = per(
            saturation.iter().map(|s| s.n_params()).collect(),
            "saturation",
        )?;
        let fourier = 2 * config.fourier_harmonics;
        let gru = Gru::new(controls + fourier + 1, config.hidden)
            .map_err(|e| Error::Shape(e.to_string()))?;
        let layout = Layout::new(
            channels,
            regions,
            controls,
            fourier,
            config.hidden,
            ad_n,
            sat_n,
            gru.n_params(),
        );
        Ok(Model {
            config,
            layout,
            adstock_init: adstock.iter().map(|a| a.default_params()).collect(),
            adstock,
            saturation_init: saturation.iter().map(|s| s.default_params()).collect(),
            saturation,
            fixed_effects: None,
            control_start: vec![0.0; controls],
            gru,
            recycled: Mutex::new(None),
        })
    }

    /// The same model with channel c's adstock starting at `starts[c]` (unconstrained
    /// parameters) instead of the family's default: where [`Model::init_params`] puts it.
    ///
    /// # Errors
    /// [`Error::Shape`] unless there is one finite start per channel with its adstock's
    /// parameter count.
    pub fn with_adstock_start(mut self, starts: Vec<Vec<f64>>) -> Result<Self> {
        check_starts(
            "adstock",
            &starts,
            self.adstock.iter().map(|a| a.n_params()),
        )?;
        self.adstock_init = starts;
        Ok(self)
    }

    /// The same model with channel c's saturation starting at `starts[c]` (unconstrained
    /// parameters) instead of the transform's default.
    ///
    /// # Errors
    /// [`Error::Shape`] unless there is one finite start per channel with its saturation's
    /// parameter count.
    pub fn with_saturation_start(mut self, starts: Vec<Vec<f64>>) -> Result<Self> {
        check_starts(
            "saturation",
            &starts,
            self.saturation.iter().map(|t| t.n_params()),
        )?;
        self.saturation_init = starts;
        Ok(self)
    }

    /// The same model with its media part held fixed during training: adstocks and saturations
    /// at their starts ([`Model::with_adstock_start`], [`Model::with_saturation_start`]), media
    /// coefficients β_c = `effects[c]`, region multipliers exp(η) = 1 and effectiveness m = 1
    /// (modulation head at zero). The gradient of every media parameter is zero, so training fits
    /// only the baseline, trend, seasonality and controls around the given media contributions:
    /// the second stage of a two-stage fit (docs/model.md, *Outcome equation*). The control coefficients start at
    /// `control_effects` (the first stage's estimates; they stay trainable), and each region's
    /// level, trend and season at their least-squares fit to what media and controls leave
    /// ([`Model::init_params`]).
    ///
    /// # Errors
    /// [`Error::Shape`] unless there is one finite, non-negative effect per channel and one finite
    /// coefficient per control.
    pub fn with_fixed_media(
        mut self,
        effects: Vec<f64>,
        control_effects: Vec<f64>,
    ) -> Result<Self> {
        if effects.len() != self.layout.channels
            || !effects.iter().all(|b| *b >= 0.0 && b.is_finite())
        {
            return Err(Error::Shape(format!(
                "fixed media effects {effects:?} are not {} finite values ≥ 0",
                self.layout.channels
            )));
        }
        if control_effects.len() != self.layout.controls
            || !control_effects.iter().all(|g| g.is_finite())
        {
            return Err(Error::Shape(format!(
                "control starts {control_effects:?} are not {} finite values",
                self.layout.controls
            )));
        }
        self.fixed_effects = Some(effects);
        self.control_start = control_effects;
        Ok(self)
    }

    /// Whether the media part is held fixed ([`Model::with_fixed_media`]).
    pub fn media_fixed(&self) -> bool {
        self.fixed_effects.is_some()
    }

    /// The configuration the model was built with.
    pub fn config(&self) -> &ModelConfig {
        &self.config
    }

    /// The parameter layout.
    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// Number of parameters.
    pub fn n_params(&self) -> usize {
        self.layout.len
    }

    /// The adstock transform of channel `c`.
    pub fn adstock(&self, c: usize) -> &dyn Adstock {
        self.adstock[c].as_ref()
    }

    /// The saturation transform of channel `c`.
    pub fn saturation(&self, c: usize) -> &dyn Saturation {
        self.saturation[c].as_ref()
    }

    fn check_inputs(&self, inp: &ModelInputs) {
        let l = &self.layout;
        assert_eq!(
            (
                inp.n_regions(),
                inp.n_channels(),
                inp.n_controls(),
                inp.n_fourier()
            ),
            (l.regions, l.channels, l.controls, l.fourier),
            "inputs do not match the model's (regions, channels, controls, fourier) sizes"
        );
    }

    /// Loss weights per region for `weighting`, normalised to mean 1: `size` uses ȳ_r / mean ȳ.
    pub fn region_weights(&self, region_means: &[f64]) -> Vec<f64> {
        let n = region_means.len() as f64;
        match self.config.region_weighting {
            RegionWeighting::Equal => vec![1.0; region_means.len()],
            RegionWeighting::Size => {
                let mean = region_means.iter().sum::<f64>() / n;
                region_means.iter().map(|m| m / mean).collect()
            }
        }
    }

    /// Initial parameters: transforms at their starts, GRU from `seed`, heads at zero (so
    /// modulation starts neutral). With a fixed media part ([`Model::with_fixed_media`]): its
    /// coefficients, the controls at their given start, the shared trend and season and the region
    /// levels by least squares on what media and controls leave. Otherwise: media coefficients
    /// splitting `initial_media_share` of the target across channels (equally, or by
    /// `initial_media_split`) and region baselines at the weighted mean of what the rest of the
    /// model leaves unexplained.
    pub fn init_params(&self, inp: &ModelInputs, weights: &Array2<f64>, seed: u64) -> Vec<f64> {
        self.check_inputs(inp);
        let l = &self.layout;
        let mut p = vec![0.0; l.len];
        for c in 0..l.channels {
            p[l.adstock_of(c)].copy_from_slice(&self.adstock_init[c]);
            p[l.saturation_of(c)].copy_from_slice(&self.saturation_init[c]);
        }
        p[l.gru.clone()].copy_from_slice(&self.gru.init_params(seed));
        if let Some(effects) = &self.fixed_effects {
            let inv = mmm_transforms::param::softplus_inv;
            // softplus never reaches 0: β = 0 is represented by 1e-12.
            for (c, b) in effects.iter().enumerate() {
                p[l.beta.start + c] = inv(b.max(1e-12));
            }
            p[l.gamma.clone()].copy_from_slice(&self.control_start);
            self.fit_region_baselines(&mut p, inp, weights);
            return p;
        }
        self.split_initial_media(&mut p, inp, weights);
        let tape = self.forward(&p, inp);
        for r in 0..l.regions {
            let w = weights.row(r);
            let wsum: f64 = w.sum();
            let resid: f64 = (0..inp.n_weeks())
                .map(|t| w[t] * (inp.target[[r, t]] - tape.prediction[[r, t]]))
                .sum();
            p[l.base.start + r] = if wsum > 0.0 { resid / wsum } else { 1.0 };
        }
        p
    }

    /// The shared trend and seasonality as the mean over regions of each region's least-squares
    /// trend slope and Fourier coefficients on what the rest of `p` leaves of the target (cells
    /// with positive `weights`; regions with too few cells for their terms are left out), and
    /// each region's level as the mean of what then remains. Region deviations stay at zero:
    /// unshrunk per-region trends extrapolated badly into the reference panel's holdout.
    fn fit_region_baselines(&self, p: &mut [f64], inp: &ModelInputs, weights: &Array2<f64>) {
        use faer::Mat;
        use faer::linalg::solvers::Solve;
        let l = &self.layout;
        let tape = self.forward(p, inp);
        let n_terms = 2 + l.fourier;
        let row = |t: usize| {
            let mut x = vec![1.0, inp.tau[t]];
            x.extend((0..l.fourier).map(|f| inp.fourier[[t, f]]));
            x
        };
        let resid = |r: usize, t: usize| inp.target[[r, t]] - tape.prediction[[r, t]];
        let cells: Vec<Vec<usize>> = (0..l.regions)
            .map(|r| {
                (0..inp.n_weeks())
                    .filter(|&t| weights[[r, t]] > 0.0)
                    .collect()
            })
            .collect();
        let mut fitted: Vec<Option<Vec<f64>>> = Vec::with_capacity(l.regions);
        for (r, cells) in cells.iter().enumerate() {
            let resid = |t: usize| resid(r, t);
            if cells.len() <= n_terms + 2 {
                fitted.push(None);
                continue;
            }
            let mut g = Mat::<f64>::zeros(n_terms, n_terms);
            let mut b = Mat::<f64>::zeros(n_terms, 1);
            for &t in cells {
                let x = row(t);
                let e = resid(t);
                for i in 0..n_terms {
                    b[(i, 0)] += x[i] * e;
                    for j in 0..n_terms {
                        g[(i, j)] += x[i] * x[j];
                    }
                }
            }
            for i in 0..n_terms {
                g[(i, i)] += 1e-9 * (1.0 + g[(i, i)]);
            }
            let theta = g.partial_piv_lu().solve(&b);
            let theta: Vec<f64> = (0..n_terms).map(|i| theta[(i, 0)]).collect();
            fitted.push(theta.iter().all(|v| v.is_finite()).then_some(theta));
        }
        let known: Vec<&Vec<f64>> = fitted.iter().flatten().collect();
        let shared: Vec<f64> = (1..n_terms)
            .map(|i| {
                if known.is_empty() {
                    0.0
                } else {
                    known.iter().map(|th| th[i]).sum::<f64>() / known.len() as f64
                }
            })
            .collect();
        p[l.trend.start] = shared[0];
        p[l.season.clone()].copy_from_slice(&shared[1..]);
        // Each region's level: the mean of what is left once the shared trend and season are
        // counted (region deviations start at zero, where their shrinkage pulls them).
        for (r, cells) in cells.iter().enumerate() {
            let n = cells.len();
            p[l.base.start + r] = if n == 0 {
                1.0
            } else {
                cells
                    .iter()
                    .map(|&t| {
                        let x = row(t);
                        resid(r, t) - (1..n_terms).map(|i| shared[i - 1] * x[i]).sum::<f64>()
                    })
                    .sum::<f64>()
                    / n as f64
            };
        }
    }

    /// Media coefficients that together explain `initial_media_share` of the (scaled) target,
    /// split equally (or by the configured weights w_c): β_c = share · w_c / (Σw · weighted mean
    /// of Hill_c), but no more than lets the channel alone explain `initial_media_share` at its
    /// mean training activity (Hill_c(1)): a channel barely active in the weighted weeks (one
    /// launched at their end) would otherwise start with an effect many times the target wherever
    /// it is active (docs/model.md, *Training*). The data move them from there; where
    /// they cannot tell a channel from the baseline, this starting point remains (docs/model.md,
    /// *Defaults and how they were chosen*).
    fn split_initial_media(&self, p: &mut [f64], inp: &ModelInputs, weights: &Array2<f64>) {
        let l = &self.layout;
        let inv = mmm_transforms::param::softplus_inv;
        p[l.beta.clone()].fill(inv(1.0));
        let unit = self.forward(p, inp);
        let wsum = weights.sum();
        let split = self.config.initial_media_fractions(l.channels);
        for c in 0..l.channels {
            let share = self.config.initial_media_share * split[c];
            let sat = unit.saturated.index_axis(Axis(0), c);
            let mean = if wsum > 0.0 {
                sat.iter()
                    .zip(weights.iter())
                    .map(|(s, w)| s * w)
                    .sum::<f64>()
                    / wsum
            } else {
                0.0
            };
            let beta = if mean > 1e-9 { share / mean } else { share };
            // Scaled activity 1 is the channel's mean over the training weeks (*Scaling*).
            let typical = self.saturation[c].eval(&p[l.saturation_of(c)], 1.0);
            let beta = if typical > 1e-9 {
                beta.min(self.config.initial_media_share / typical)
            } else {
                beta
            };
            p[l.beta.start + c] = inv(beta.max(1e-6));
        }
    }

    /// Runs the model over every week of `inp` (training, holdout and forecast weeks alike, so
    /// that adstock and GRU state carry through).
    pub fn forward(&self, p: &[f64], inp: &ModelInputs) -> Tape {
        let reuse = self.recycled.lock().ok().and_then(|mut g| g.take());
        let mut tape = reuse.unwrap_or_default();
        self.forward_into(p, inp, &mut tape);
        tape
    }

    /// Hands a tape back for the next [`Model::forward`] to reuse its buffers.
    fn recycle(&self, tape: Tape) {
        if let Ok(mut slot) = self.recycled.lock() {
            *slot = Some(tape);
        }
    }

    /// [`Model::forward`] into `tape`, reusing its buffers where the shapes match; every value
    /// the backward pass reads is overwritten.
    fn forward_into(&self, p: &[f64], inp: &ModelInputs, tape: &mut Tape) {
        self.check_inputs(inp);
        assert_eq!(
            p.len(),
            self.layout.len,
            "parameter buffer has the wrong length"
        );
        let l = &self.layout;
        let (c_n, r_n, t_n, k_n, f_n, h_n) = (
            l.channels,
            l.regions,
            inp.n_weeks(),
            l.controls,
            l.fourier,
            l.hidden,
        );

        let resize3 = |a: &mut Array3<f64>, dim: (usize, usize, usize)| {
            if a.dim() != dim {
                *a = Array3::zeros(dim);
            }
        };
        resize3(&mut tape.adstocked, (c_n, r_n, t_n));
        resize3(&mut tape.saturated, (c_n, r_n, t_n));
        if tape.effect_tanh.dim() != (t_n * r_n, c_n) {
            tape.effect_tanh = Array2::zeros((t_n * r_n, c_n));
        }
        if tape.base_tanh.len() != t_n * r_n {
            tape.base_tanh = Array1::zeros(t_n * r_n);
        }
        if tape.prediction.dim() != (r_n, t_n) {
            tape.prediction = Array2::zeros((r_n, t_n));
        }

        // 1. Media transforms, channels in parallel (independent, so the result is deterministic),
        //    each writing its own slice.
        tape.adstocked
            .axis_iter_mut(Axis(0))
            .into_par_iter()
            .zip(tape.saturated.axis_iter_mut(Axis(0)).into_par_iter())
            .enumerate()
            .for_each(|(c, (mut a, mut s))| {
                let x = inp.media.index_axis(Axis(0), c);
                self.adstock[c].forward(&p[l.adstock_of(c)], x, a.view_mut());
                self.saturation[c].forward(&p[l.saturation_of(c)], a.view(), s.view_mut());
            });

        // 2. GRU over the fixed input sequence, from the learned initial state.
        let h0 = Array2::from_shape_fn((r_n, h_n), |(_, j)| p[l.h0.start + j]);
        self.gru.forward_into(
            &p[l.gru.clone()],
            inp.gru_input.view(),
            h0.view(),
            &mut tape.gru,
        );
        let hidden = tape.gru.hidden();
        let hflat = hidden
            .to_shape((t_n * r_n, h_n))
            .expect("GRU hidden states are contiguous");

        // 3. Modulation heads.
        let vm = ArrayView2::from_shape((c_n, h_n), &p[l.effect_head.clone()]).expect("head shape");
        let effect_tanh = &mut tape.effect_tanh;
        general_mat_mul(1.0, &hflat, &vm.t(), 0.0, effect_tanh);
        for mut row in effect_tanh.rows_mut() {
            for (c, v) in row.iter_mut().enumerate() {
                *v = fast_tanh(*v + p[l.effect_bias.start + c]);
            }
        }
        let vb = ndarray::ArrayView1::from(&p[l.base_head.clone()]);
        let cb = p[l.base_bias.start];
        let base_tanh = &mut tape.base_tanh;
        general_mat_vec_mul(1.0, &hflat, &vb, 0.0, base_tanh);
        base_tanh.mapv_inplace(|v| fast_tanh(v + cb));
        let (saturated, prediction) = (&tape.saturated, &mut tape.prediction);

        // 4. Additive prediction.
        let (km, kb) = (
            self.config.effect_modulation,
            self.config.baseline_modulation,
        );
        let beta: Vec<f64> = p[l.beta.clone()].iter().map(|&v| softplus(v)).collect();
        let delta = p[l.trend.start];
        for r in 0..r_n {
            let slope = delta + p[l.region_trend.start + r];
            let phi: Vec<f64> = (0..f_n)
                .map(|f| p[l.season.start + f] + p[l.region_season_at(r, f)])
                .collect();
            let scale: Vec<f64> = (0..c_n)
                .map(|c| beta[c] * p[l.eta_at(r, c)].exp())
                .collect();
            for t in 0..t_n {
                let row = t * r_n + r;
                let mut v = p[l.base.start + r] + kb * base_tanh[row] + slope * inp.tau[t];
                for (f, phi_f) in phi.iter().enumerate() {
                    v += phi_f * inp.fourier[[t, f]];
                }
                for c in 0..c_n {
                    v += scale[c] * (1.0 + km * effect_tanh[[row, c]]) * saturated[[c, r, t]];
                }
                for k in 0..k_n {
                    v += p[l.gamma.start + k] * inp.controls[[k, r, t]];
                }
                prediction[[r, t]] = v;
            }
        }
    }

    /// Back-propagates `grad_pred` = ∂L/∂(scaled prediction) `[region, week]` through the forward
    /// pass recorded in `tape`, ACCUMULATING (+=) ∂L/∂θ into `grad`. `grad_channel`, when given,
    /// adds the terms of the loss that read single channels (the lift tests).
    pub fn backward(
        &self,
        p: &[f64],
        inp: &ModelInputs,
        tape: &Tape,
        grad_pred: &Array2<f64>,
        grad_channel: Option<&ChannelSeeds>,
        grad: &mut [f64],
    ) {
        let l = &self.layout;
        let (c_n, r_n, t_n, k_n, f_n, h_n) = (
            l.channels,
            l.regions,
            inp.n_weeks(),
            l.controls,
            l.fourier,
            l.hidden,
        );
        assert_eq!(grad.len(), l.len, "gradient buffer has the wrong length");
        let (km, kb) = (
            self.config.effect_modulation,
            self.config.baseline_modulation,
        );
        let beta: Vec<f64> = p[l.beta.clone()].iter().map(|&v| softplus(v)).collect();

        // Gradients w.r.t. the modulation pre-activations, `[week·region, ·]`.
        let mut g_effect_pre = Array2::<f64>::zeros((t_n * r_n, c_n));
        let mut g_base_pre = Array1::<f64>::zeros(t_n * r_n);
        // ∂L/∂s_c, `[channel, region, week]`.
        let mut g_sat = Array3::<f64>::zeros((c_n, r_n, t_n));
        let mut g_beta = vec![0.0; c_n];
        for r in 0..r_n {
            let eta: Vec<f64> = (0..c_n).map(|c| p[l.eta_at(r, c)].exp()).collect();
            let mut g_slope = 0.0;
            let mut g_base = 0.0;
            for t in 0..t_n {
                let g = grad_pred[[r, t]];
                let seeded = grad_channel.is_some_and(|s| {
                    (0..c_n).any(|c| {
                        s.contribution[[c, r, t]] != 0.0
                            || s.effect.as_ref().is_some_and(|e| e[[c, r, t]] != 0.0)
                    })
                });
                if g == 0.0 && !seeded {
                    continue;
                }
                let row = t * r_n + r;
                g_base += g;
                g_slope += g * inp.tau[t];
                let tb = tape.base_tanh[row];
                g_base_pre[row] = g * kb * (1.0 - tb * tb);
                for f in 0..f_n {
                    let gf = g * inp.fourier[[t, f]];
                    grad[l.season.start + f] += gf;
                    grad[l.region_season_at(r, f)] += gf;
                }
                for c in 0..c_n {
                    let (g, g_effect) = grad_channel.map_or((g, 0.0), |s| {
                        let effect = s.effect.as_ref().map_or(0.0, |e| e[[c, r, t]]);
                        (g + s.contribution[[c, r, t]], effect)
                    });
                    let s = tape.saturated[[c, r, t]];
                    let te = tape.effect_tanh[[row, c]];
                    let m = 1.0 + km * te;
                    // ∂L/∂(β_c exp(η) m): through the contribution, and directly.
                    let g_scale = g * s + g_effect;
                    g_beta[c] += g_scale * eta[c] * m;
                    grad[l.eta_at(r, c)] += g_scale * beta[c] * eta[c] * m;
                    g_effect_pre[[row, c]] = g_scale * beta[c] * eta[c] * km * (1.0 - te * te);
                    g_sat[[c, r, t]] = g * beta[c] * eta[c] * m;
                }
                for k in 0..k_n {
                    grad[l.gamma.start + k] += g * inp.controls[[k, r, t]];
                }
            }
            grad[l.base.start + r] += g_base;
            grad[l.trend.start] += g_slope;
            grad[l.region_trend.start + r] += g_slope;
        }
        for c in 0..c_n {
            grad[l.beta.start + c] += g_beta[c] * sigmoid(p[l.beta.start + c]);
        }

        // Heads: pre = h·Vᵀ + c.
        let hidden = tape.gru.hidden();
        let hflat = hidden
            .to_shape((t_n * r_n, h_n))
            .expect("GRU hidden states are contiguous");
        let g_vm = g_effect_pre.t().dot(&hflat); // [C, H]
        for (i, v) in g_vm.iter().enumerate() {
            grad[l.effect_head.start + i] += v;
        }
        for (c, v) in g_effect_pre.sum_axis(Axis(0)).iter().enumerate() {
            grad[l.effect_bias.start + c] += v;
        }
        let g_vb = hflat.t().dot(&g_base_pre);
        for (j, v) in g_vb.iter().enumerate() {
            grad[l.base_head.start + j] += v;
        }
        grad[l.base_bias.start] += g_base_pre.sum();
        let vm = ArrayView2::from_shape((c_n, h_n), &p[l.effect_head.clone()]).expect("head shape");
        let vb = ndarray::ArrayView1::from(&p[l.base_head.clone()]);
        let mut g_hidden = g_effect_pre.dot(&vm);
        for (mut row, gb) in g_hidden.rows_mut().into_iter().zip(g_base_pre.iter()) {
            row.scaled_add(*gb, &vb);
        }
        let g_hidden = g_hidden
            .into_shape_with_order((t_n, r_n, h_n))
            .expect("shape");

        // GRU backward; the learned h0 is broadcast, so its gradient sums over regions.
        let mut g_h0 = Array2::zeros((r_n, h_n));
        self.gru.backward(
            &p[l.gru.clone()],
            inp.gru_input.view(),
            &tape.gru,
            g_hidden.view(),
            &mut grad[l.gru.clone()],
            None,
            g_h0.view_mut(),
        );
        for (j, v) in g_h0.sum_axis(Axis(0)).iter().enumerate() {
            grad[l.h0.start + j] += v;
        }

        // Media transforms, channel by channel (each writes only its own parameter block).
        let blocks: Vec<(Vec<f64>, Vec<f64>)> = (0..c_n)
            .into_par_iter()
            .map(|c| {
                let mut g_sp = vec![0.0; l.saturation_of(c).len()];
                let mut g_a = Array2::zeros((r_n, t_n));
                self.saturation[c].vjp(
                    &p[l.saturation_of(c)],
                    tape.adstocked.index_axis(Axis(0), c),
                    g_sat.index_axis(Axis(0), c),
                    Some(g_a.view_mut()),
                    &mut g_sp,
                );
                let mut g_ap = vec![0.0; l.adstock_of(c).len()];
                self.adstock[c].vjp(
                    &p[l.adstock_of(c)],
                    inp.media.index_axis(Axis(0), c),
                    g_a.view(),
                    None,
                    &mut g_ap,
                );
                (g_ap, g_sp)
            })
            .collect();
        for (c, (g_ap, g_sp)) in blocks.into_iter().enumerate() {
            for (g, v) in grad[l.adstock_of(c)].iter_mut().zip(g_ap) {
                *g += v;
            }
            for (g, v) in grad[l.saturation_of(c)].iter_mut().zip(g_sp) {
                *g += v;
            }
        }
    }

    /// Weighted Huber data loss of a prediction and its gradient w.r.t. the prediction.
    pub fn data_loss(
        &self,
        prediction: &Array2<f64>,
        inp: &ModelInputs,
        weights: &Array2<f64>,
    ) -> (f64, Array2<f64>) {
        let delta = self.config.huber_delta;
        let mut g = Array2::zeros(prediction.dim());
        let mut loss = 0.0;
        for ((idx, &w), gv) in weights.indexed_iter().zip(g.iter_mut()) {
            if w != 0.0 {
                let (v, d) = huber(prediction[idx] - inp.target[idx], delta);
                loss += w * v;
                *gv = w * d;
            }
        }
        (loss, g)
    }

    /// The regularisation penalty; ACCUMULATES its gradient into `grad`.
    pub fn penalty(&self, p: &[f64], grad: &mut [f64]) -> f64 {
        let l = &self.layout;
        let pen = &self.config.penalties;
        let mut total = 0.0;
        let mut l2 = |range: std::ops::Range<usize>, weight: f64, grad: &mut [f64]| {
            if range.is_empty() || weight == 0.0 {
                return;
            }
            let n = range.len() as f64;
            for i in range {
                total += weight * p[i] * p[i] / n;
                grad[i] += 2.0 * weight * p[i] / n;
            }
        };
        l2(l.eta.clone(), pen.region_effect, grad);
        l2(l.region_trend.clone(), pen.region_trend, grad);
        l2(l.region_season.clone(), pen.region_season, grad);
        l2(l.trend.clone(), pen.trend, grad);
        let gru_n: usize = l.gru_penalised().iter().map(|r| r.len()).sum();
        for range in l.gru_penalised() {
            let share = pen.gru * range.len() as f64 / gru_n as f64;
            l2(range, share, grad);
        }
        if pen.media > 0.0 && l.channels > 0 {
            let n = l.channels as f64;
            for i in l.beta.clone() {
                total += pen.media * softplus(p[i]) / n;
                grad[i] += pen.media * sigmoid(p[i]) / n;
            }
        }
        total
    }

    /// Loss (weighted Huber on the cells with non-zero `weights`, plus penalties) and its
    /// gradient, which OVERWRITES `grad`.
    pub fn loss_and_grad(
        &self,
        p: &[f64],
        inp: &ModelInputs,
        weights: &Array2<f64>,
        grad: &mut [f64],
    ) -> Loss {
        self.loss_grad_and_prediction(p, inp, weights, grad).0
    }

    /// [`Model::loss_and_grad`] that also returns the scaled prediction of the forward pass, so
    /// that a caller can score other cells (e.g. a validation slice) without another forward pass.
    pub fn loss_grad_and_prediction(
        &self,
        p: &[f64],
        inp: &ModelInputs,
        weights: &Array2<f64>,
        grad: &mut [f64],
    ) -> (Loss, Array2<f64>) {
        grad.fill(0.0);
        let tape = self.forward(p, inp);
        let (data, g_pred) = self.data_loss(&tape.prediction, inp, weights);
        let calibration = match &inp.calibration {
            Some(cal) => {
                let counterfactuals = self.counterfactuals(p, inp, cal);
                let answers = self.answers(p, &tape, cal, &counterfactuals);
                let (loss, g) = cal.loss(&answers);
                let seeds = self.lift_seeds(cal, &g, &counterfactuals, inp);
                self.backward(p, inp, &tape, &g_pred, Some(&seeds), grad);
                self.counterfactual_backward(p, &tape, cal, &g, &counterfactuals, grad);
                loss
            }
            None => {
                self.backward(p, inp, &tape, &g_pred, None, grad);
                0.0
            }
        };
        let penalty = self.penalty(p, grad);
        if self.fixed_effects.is_some() {
            for block in self.layout.media() {
                grad[block].fill(0.0);
            }
        }
        let prediction = tape.prediction.clone();
        self.recycle(tape);
        (
            Loss {
                data,
                penalty,
                calibration,
            },
            prediction,
        )
    }

    /// The model's answer to every lift test of `inp` (target units): C_e of
    /// [`crate::calibration`]. Empty without calibration.
    pub fn lift_answers(&self, p: &[f64], inp: &ModelInputs, tape: &Tape) -> Vec<f64> {
        inp.calibration.as_ref().map_or_else(Vec::new, |cal| {
            self.answers(p, tape, cal, &self.counterfactuals(p, inp, cal))
        })
    }

    /// Every test's counterfactual activity of its channel, x_c ⊙ f_e, through the channel's
    /// transforms (`None` for tests without a counterfactual).
    fn counterfactuals(
        &self,
        p: &[f64],
        inp: &ModelInputs,
        cal: &Calibration,
    ) -> Vec<Option<Counterfactual>> {
        let l = &self.layout;
        cal.tests
            .iter()
            .map(|test| {
                let f = test.counterfactual.as_ref()?;
                let c = test.channel;
                let x = &inp.media.index_axis(Axis(0), c) * f;
                let mut a = Array2::zeros(x.dim());
                let mut s = Array2::zeros(x.dim());
                self.adstock[c].forward(&p[l.adstock_of(c)], x.view(), a.view_mut());
                self.saturation[c].forward(&p[l.saturation_of(c)], a.view(), s.view_mut());
                Some(Counterfactual {
                    media: x,
                    adstocked: a,
                    saturated: s,
                })
            })
            .collect()
    }

    /// β_c · exp(η_{r,c}) · m_c[r,t], channel c's effect on its saturated activity.
    fn effect_at(&self, p: &[f64], tape: &Tape, c: usize, r: usize, t: usize) -> f64 {
        let l = &self.layout;
        let m = 1.0 + self.config.effect_modulation * tape.effect_tanh[[t * l.regions + r, c]];
        softplus(p[l.beta.start + c]) * p[l.eta_at(r, c)].exp() * m
    }

    /// C_e of every test given the tests' counterfactuals.
    fn answers(
        &self,
        p: &[f64],
        tape: &Tape,
        cal: &Calibration,
        counterfactuals: &[Option<Counterfactual>],
    ) -> Vec<f64> {
        cal.tests
            .iter()
            .zip(counterfactuals)
            .map(|(test, cf)| {
                let c = test.channel;
                let mut total = 0.0;
                for ((r, t), &u) in test.cells.indexed_iter() {
                    if u != 0.0 {
                        let compared = cf.as_ref().map_or(0.0, |cf| cf.saturated[[r, t]]);
                        let s = tape.saturated[[c, r, t]] - compared;
                        total += u * self.effect_at(p, tape, c, r, t) * s;
                    }
                }
                total
            })
            .collect()
    }

    /// The lift tests' seeds of [`Model::backward`] from ∂loss/∂C_e.
    fn lift_seeds(
        &self,
        cal: &Calibration,
        g_answers: &[f64],
        counterfactuals: &[Option<Counterfactual>],
        inp: &ModelInputs,
    ) -> ChannelSeeds {
        let dim = (self.layout.channels, inp.n_regions(), inp.n_weeks());
        let mut seeds = ChannelSeeds {
            contribution: Array3::zeros(dim),
            effect: counterfactuals
                .iter()
                .any(Option::is_some)
                .then(|| Array3::zeros(dim)),
        };
        for ((test, g), cf) in cal.tests.iter().zip(g_answers).zip(counterfactuals) {
            seeds
                .contribution
                .index_axis_mut(Axis(0), test.channel)
                .scaled_add(*g, &test.cells);
            if let (Some(cf), Some(effect)) = (cf, seeds.effect.as_mut()) {
                effect
                    .index_axis_mut(Axis(0), test.channel)
                    .scaled_add(-*g, &(&test.cells * &cf.saturated));
            }
        }
        seeds
    }

    /// ACCUMULATES into `grad` the gradient of the lift tests' loss through their counterfactual
    /// activity s_c^e (the part of ∂C_e/∂θ that [`Model::backward`] does not see): from
    /// ∂C_e/∂s_c^e = −u_e · β_c exp(η) m_c back through the channel's Hill curve and adstock.
    fn counterfactual_backward(
        &self,
        p: &[f64],
        tape: &Tape,
        cal: &Calibration,
        g_answers: &[f64],
        counterfactuals: &[Option<Counterfactual>],
        grad: &mut [f64],
    ) {
        let l = &self.layout;
        for ((test, g), cf) in cal.tests.iter().zip(g_answers).zip(counterfactuals) {
            let Some(Counterfactual {
                media: x,
                adstocked: a,
                ..
            }) = cf
            else {
                continue;
            };
            let c = test.channel;
            let g_sat = Array2::from_shape_fn(a.dim(), |(r, t)| {
                let u = test.cells[[r, t]];
                if u == 0.0 {
                    0.0
                } else {
                    -g * u * self.effect_at(p, tape, c, r, t)
                }
            });
            let mut g_a = Array2::zeros(a.dim());
            let mut g_sp = vec![0.0; l.saturation_of(c).len()];
            self.saturation[c].vjp(
                &p[l.saturation_of(c)],
                a.view(),
                g_sat.view(),
                Some(g_a.view_mut()),
                &mut g_sp,
            );
            let mut g_ap = vec![0.0; l.adstock_of(c).len()];
            self.adstock[c].vjp(&p[l.adstock_of(c)], x.view(), g_a.view(), None, &mut g_ap);
            for (gi, v) in grad[l.adstock_of(c)].iter_mut().zip(g_ap) {
                *gi += v;
            }
            for (gi, v) in grad[l.saturation_of(c)].iter_mut().zip(g_sp) {
                *gi += v;
            }
        }
    }

    /// Loss without gradient.
    pub fn loss(&self, p: &[f64], inp: &ModelInputs, weights: &Array2<f64>) -> Loss {
        let tape = self.forward(p, inp);
        let (data, _) = self.data_loss(&tape.prediction, inp, weights);
        let calibration = inp
            .calibration
            .as_ref()
            .map_or(0.0, |cal| cal.loss(&self.lift_answers(p, inp, &tape)).0);
        self.recycle(tape);
        let mut scratch = vec![0.0; p.len()];
        Loss {
            data,
            penalty: self.penalty(p, &mut scratch),
            calibration,
        }
    }

    /// The additive decomposition of the scaled prediction.
    pub fn decompose(&self, p: &[f64], inp: &ModelInputs) -> Decomposition {
        let tape = self.forward(p, inp);
        self.decompose_tape(p, inp, &tape)
    }

    /// The additive decomposition from an existing forward pass.
    pub fn decompose_tape(&self, p: &[f64], inp: &ModelInputs, tape: &Tape) -> Decomposition {
        let l = &self.layout;
        let (c_n, r_n, t_n, k_n, f_n) =
            (l.channels, l.regions, inp.n_weeks(), l.controls, l.fourier);
        let (km, kb) = (
            self.config.effect_modulation,
            self.config.baseline_modulation,
        );
        let mut d = Decomposition {
            baseline: Array2::zeros((r_n, t_n)),
            trend: Array2::zeros((r_n, t_n)),
            seasonality: Array2::zeros((r_n, t_n)),
            controls: Array3::zeros((k_n, r_n, t_n)),
            channels: Array3::zeros((c_n, r_n, t_n)),
        };
        for r in 0..r_n {
            let slope = p[l.trend.start] + p[l.region_trend.start + r];
            for t in 0..t_n {
                let row = t * r_n + r;
                d.baseline[[r, t]] = p[l.base.start + r] + kb * tape.base_tanh[row];
                d.trend[[r, t]] = slope * inp.tau[t];
                d.seasonality[[r, t]] = (0..f_n)
                    .map(|f| {
                        (p[l.season.start + f] + p[l.region_season_at(r, f)]) * inp.fourier[[t, f]]
                    })
                    .sum();
                for k in 0..k_n {
                    d.controls[[k, r, t]] = p[l.gamma.start + k] * inp.controls[[k, r, t]];
                }
                for c in 0..c_n {
                    let scale = softplus(p[l.beta.start + c]) * p[l.eta_at(r, c)].exp();
                    d.channels[[c, r, t]] =
                        scale * (1.0 + km * tape.effect_tanh[[row, c]]) * tape.saturated[[c, r, t]];
                }
            }
        }
        d
    }

    /// The media factor k̃[c, r, t] = β_c · exp(η_{r,c}) · m_c[r,t] of a forward pass, `[channel,
    /// region, week]`: channel c's contribution to the scaled prediction is k̃ · s_c(a) with a its
    /// adstocked activity (docs/model.md, *Outcome equation*). It does not depend on the media (the GRU reads
    /// none), so a change of a channel's activity changes its contribution through s_c(a) alone.
    pub fn media_factor(&self, p: &[f64], tape: &Tape) -> Array3<f64> {
        let (r_n, t_n) = tape.prediction.dim();
        Array3::from_shape_fn((self.layout.channels, r_n, t_n), |(c, r, t)| {
            self.effect_at(p, tape, c, r, t)
        })
    }

    /// Channel `c`'s adstock parameters within the model's parameters `p`.
    pub fn adstock_params<'p>(&self, p: &'p [f64], c: usize) -> &'p [f64] {
        &p[self.layout.adstock_of(c)]
    }

    /// Channel `c`'s saturation parameters within the model's parameters `p`.
    pub fn saturation_params<'p>(&self, p: &'p [f64], c: usize) -> &'p [f64] {
        &p[self.layout.saturation_of(c)]
    }

    /// Effectiveness multipliers m_{r,t,c} = 1 + κ_m tanh(·) from a forward pass, `[channel, region, week]`.
    pub fn effectiveness(&self, tape: &Tape) -> Array3<f64> {
        let l = &self.layout;
        let (r_n, t_n) = tape.prediction.dim();
        let km = self.config.effect_modulation;
        Array3::from_shape_fn((l.channels, r_n, t_n), |(c, r, t)| {
            1.0 + km * tape.effect_tanh[[t * r_n + r, c]]
        })
    }

    /// Media coefficient β_c (≥ 0) of each channel.
    pub fn media_coefficients(&self, p: &[f64]) -> Vec<f64> {
        p[self.layout.beta.clone()]
            .iter()
            .map(|&v| softplus(v))
            .collect()
    }
}
