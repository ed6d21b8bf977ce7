//! The media screen: every channel's lag kernel, saturation curve and effect size from one
//! linear regression with each region's own level, trend and season partialled out.
//!
//! For channel c with Weibull kernel κ_c = (k_c, λ_c) and Hill curve (K_c, s_c), the regressor is
//! `s_c[r,t] = Hill(adstock(x̃_c; κ_c)[r,t]; K_c, s_c)`, and the regression is
//!
//! ```text
//! ỹ[r,t] = (region r's level, trend, two Fourier pairs) + Σ_k γ_k z̃_k[r,t] + Σ_c β_c s_c[r,t] + ε,
//! β_c ≥ 0,
//! ```
//!
//! on the training cells ([`WithinRegion`]). Half-saturation points are screened relative to the
//! mean of the channel's positive activity on those cells, `K_c = q · x̄⁺_c`, so one grid suits
//! bursty and always-on channels alike. Starting from (k, λ) = (1, 1.2) and q = s = 1 for every
//! channel, each round runs one pass of coordinate descent over the kernels (curves fixed) and one
//! over the curves (kernels fixed) — the same strictly-better rule as [`crate::KernelScreen`] —
//! and stops after `rounds` rounds or a round that changes nothing. The chosen columns then get
//! their non-negative effects and the controls their free coefficients by
//! [`crate::bounded_least_squares`].
//!
//! **Experiments.** A lift test e of channel c measured `lift_e`; the screen's answer is
//! `β_c Σ u_e ⊙ (s_c − s_c^e)` (u_e weighs the measured cells, carryover into them included),
//! where `s_c^e` is the saturated activity the experiment compared the data's with: none
//! (`s_c^e = 0`, the channel's contribution) or the activity times factors f_e (a heavy-up or
//! scale-down test: `s_c^e = Hill(adstock(x̃_c ⊙ f_e))`, the difference a point on the curve's
//! slope). With [`MediaScreen::experiments`] every step — each candidate's score and the final
//! regression — minimises
//!
//! ```text
//! SSE + Σ_e weight_e · (β_c Σ u_e ⊙ (s_c − s_c^e) − lift_e)²,     weight_e = w σ² / se_e²
//! ```
//!
//! i.e. the experiments are extra rows of the regression, `√weight_e · (Σ u_e ⊙ (s_c − s_c^e),
//! lift_e)`, zero in every other column. With σ² the noise variance of a cell, w = 1 is the Gaussian likelihood of
//! the experiment beside that of the data; so a lift test moves both the effect and the choice of
//! the channel's kernel and curve.
//!
//! **Evidence.** The grid's best is chosen whether it is far ahead or one of many near-equal fits,
//! so the final regression also reports, per channel, how much worse the fit gets without the
//! channel, with the default kernel or curve, and how many of the grid's kernels and curves fit
//! about as well ([`Evidence`], in χ² units).
//!
//! Why a linear screen and not gradient training for the media: on the simulations its choice
//! recommended budgets with a fraction of dcmmm's jointly trained regret (docs/model.md, *Defaults and how they were chosen*):
//! gradient training moves a kernel or a curve only locally from where it starts, and the loss is
//! nearly flat along directions that trade one channel against the baseline.

use crate::screen::{Regression, check_shapes, descend};
use crate::{Error, Result, WithinRegion, bounded_least_squares, cross, gram};
use mmm_transforms::{Adstock, Hill, Saturation, WeibullAdstock};
use ndarray::{Array2, ArrayView2, Axis};

use crate::ScreenData;

/// The grids and the number of rounds of the media screen, and the experiments it is calibrated
/// to (see the module docs).
#[derive(Debug, Clone, PartialEq)]
pub struct MediaScreen {
    /// Candidate Weibull kernels `(k, λ)`, λ in weeks.
    pub kernels: Vec<(f64, f64)>,
    /// Candidate Hill curves `(q, s)`: half-saturation `q` times the mean of the channel's
    /// positive activity, slope `s`.
    pub curves: Vec<(f64, f64)>,
    /// Rounds of alternating coordinate descent.
    pub rounds: usize,
    /// Measured effects the regression is calibrated to (none by default).
    pub experiments: Vec<Experiment>,
}

/// A measured effect of one channel (a lift test) that the media screen is calibrated to: the
/// regression minimises `SSE + Σ_e weight_e · (β_c Σ u_e ⊙ (s_c − s_c^e) − lift_e)²` (module
/// docs).
#[derive(Debug, Clone, PartialEq)]
pub struct Experiment {
    /// Index of the tested channel.
    pub channel: usize,
    /// `[region, week]` weights u_e on the screen's panel: the channel's effect on the
    /// experiment is `β_c Σ u_e ⊙ (s_c − s_c^e)` (0 outside the measured cells).
    pub cells: Array2<f64>,
    /// What the experiment compared the data's activity with: `None`, no activity (the answer
    /// is the channel's contribution `β_c Σ u_e ⊙ s_c`); `Some(f)`, the activity times the
    /// `[region, week]` factors f (a heavy-up test that ran m times the usual spend has f = 1/m
    /// on its weeks and 1 elsewhere).
    pub counterfactual: Option<Array2<f64>>,
    /// The measured effect, in the units of `β_c Σ u_e ⊙ (s_c − s_c^e)`.
    pub lift: f64,
    /// Weight of the squared misfit against the sum of squared residuals, ≥ 0: `w σ² / se²`
    /// for noise variance σ² of the regression and standard error se of the lift gives a
    /// Gaussian likelihood weighted w times.
    pub weight: f64,
}

/// What the media screen chose and estimated, per channel.
#[derive(Debug, Clone, PartialEq)]
pub struct ScreenedMedia {
    /// Weibull kernel `(k, λ)` of each channel.
    pub kernels: Vec<(f64, f64)>,
    /// Hill curve `(K, s)` of each channel, K in the scaled activity's units.
    pub curves: Vec<(f64, f64)>,
    /// Effect size `β_c ≥ 0` of each channel (target per unit of saturated activity).
    pub effects: Vec<f64>,
    /// Coefficients of the controls.
    pub controls: Vec<f64>,
    /// Mean of the media part `Σ_c β_c s_c[r,t]` over the training cells: on a target scaled by
    /// each region's training mean, the share of the target the screen gives the media.
    pub media_share: f64,
    /// How strongly the data determine each channel's effect, kernel and curve.
    pub evidence: Vec<Evidence>,
}

/// How strongly the data determine one channel's part of the screen, in χ² units: differences of
/// the residual sum of squares divided by the noise variance σ̂² of the fit (its residual sum of
/// squares over its degrees of freedom), the other channels at their kernels and curves, effects
/// and controls refitted by ordinary least squares (unconstrained, as the screen scores its
/// candidates). Under Gaussian noise a difference of `d` is a likelihood ratio of `exp(d/2)`.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Evidence {
    /// How much worse the fit gets without the channel: ≈ z² of its effect (9 = three standard
    /// errors).
    pub effect: f64,
    /// How much worse the fit gets with the default kernel [`MediaScreen::KERNEL_START`] instead
    /// of the channel's: how clearly the data prefer its carryover (0 when it is the default,
    /// negative when the default fits better — the descent stopped before reaching it).
    pub kernel: f64,
    /// The same for the default curve [`MediaScreen::CURVE_START`].
    pub curve: f64,
    /// Kernels of the grid that fit within [`Evidence::ALIKE`] of the best one (the channel's
    /// own counted if on the grid): how many carryovers the data cannot tell apart.
    pub kernels_alike: usize,
    /// The same for the curves of the grid.
    pub curves_alike: usize,
}

impl Evidence {
    /// The χ² difference within which two kernels or two curves count as alike: 2.3, the 68 %
    /// quantile of χ² with two degrees of freedom (each kernel and each curve has two parameters).
    pub const ALIKE: f64 = 2.3;

    /// One line for people: "effect χ² 12, 15 kernels and 16 curves alike".
    pub fn brief(&self) -> String {
        format!(
            "effect χ² {:.0}, {} kernels and {} curves alike",
            self.effect, self.kernels_alike, self.curves_alike
        )
    }
}

impl MediaScreen {
    /// Weibull shapes k of the default grid.
    pub const SHAPES: [f64; 7] = [0.7, 1.0, 1.5, 2.0, 2.5, 3.0, 4.0];
    /// Weibull scales λ (weeks) of the default grid: the kernel start screen's up to 2.3 weeks
    /// and three longer ones (the simulations' kernels reach λ ≈ 3.8).
    pub const SCALES: [f64; 8] = [0.5, 0.8, 1.2, 1.7, 2.3, 3.2, 4.2, 5.5];
    /// Relative half-saturation points q of the default grid.
    pub const HALF_SATURATIONS: [f64; 6] = [0.3, 0.5, 0.75, 1.0, 1.5, 2.5];
    /// Hill slopes s of the default grid.
    pub const SLOPES: [f64; 3] = [1.0, 1.5, 2.0];
    /// Where every channel starts: a geometric decay (k = 1) with λ = 1.2 weeks.
    pub const KERNEL_START: (f64, f64) = (1.0, 1.2);
    /// Where every channel's curve starts: half-saturation at its mean positive activity, s = 1.
    pub const CURVE_START: (f64, f64) = (1.0, 1.0);

    /// The default screen: 56 kernels × 18 curves, two rounds.
    pub fn new() -> Self {
        MediaScreen {
            kernels: Self::SHAPES
                .into_iter()
                .flat_map(|k| Self::SCALES.into_iter().map(move |l| (k, l)))
                .collect(),
            curves: Self::HALF_SATURATIONS
                .into_iter()
                .flat_map(|q| Self::SLOPES.into_iter().map(move |s| (q, s)))
                .collect(),
            rounds: 2,
            experiments: Vec::new(),
        }
    }

    /// Chooses every channel's kernel and curve and estimates the effects (module docs).
    ///
    /// # Errors
    /// [`Error::Screen`] when a grid lacks its start, holds a non-positive value, or `rounds` is 0,
    /// or an experiment names no channel or has a non-finite value or a negative weight;
    /// [`Error::Shape`] when the arrays do not match `within`'s calendar; [`Error::Solver`] when
    /// the final regression fails.
    pub fn fit(&self, within: &WithinRegion, data: &ScreenData) -> Result<ScreenedMedia> {
        let start = |grid: &[(f64, f64)], at: (f64, f64), what: &str| {
            if grid
                .iter()
                .any(|&(a, b)| !(a > 0.0 && b > 0.0 && a.is_finite() && b.is_finite()))
            {
                return Err(Error::Screen(format!(
                    "{what} values must be finite and > 0"
                )));
            }
            grid.iter()
                .position(|&g| g == at)
                .ok_or_else(|| Error::Screen(format!("the {what} grid must hold the start {at:?}")))
        };
        let k0 = start(&self.kernels, Self::KERNEL_START, "kernel")?;
        let q0 = start(&self.curves, Self::CURVE_START, "curve")?;
        if self.rounds == 0 {
            return Err(Error::Screen("needs at least one round".into()));
        }
        self.check_experiments(within, data)?;
        let channels = data.media.dim().0;
        let level = levels(within, data);
        let curve = |c: usize, q: usize| (self.curves[q].0 * level[c], self.curves[q].1);
        // Channel c's regressor under kernel k and curve q, with the region terms partialled out
        // (and its rows of the experiments).
        let column = |c: usize, k: usize, q: usize| {
            let x = data.media.index_axis(Axis(0), c);
            let (kernel, curve) = (self.kernels[k], curve(c, q));
            self.calibrated(c, within, x, &saturate(x, kernel, curve), kernel, curve)
        };
        let extra = self.experiment_targets();
        let mut kernels = vec![k0; channels];
        let mut curves = vec![q0; channels];
        for _ in 0..self.rounds {
            let new_kernels = descend(
                within,
                data,
                self.kernels.len(),
                kernels.clone(),
                1,
                &extra,
                |c, k| column(c, k, curves[c]),
            );
            let new_curves = descend(
                within,
                data,
                self.curves.len(),
                curves.clone(),
                1,
                &extra,
                |c, q| column(c, new_kernels[c], q),
            );
            let changed = new_kernels != kernels || new_curves != curves;
            (kernels, curves) = (new_kernels, new_curves);
            if !changed {
                break;
            }
        }
        let kernels: Vec<(f64, f64)> = kernels.iter().map(|&k| self.kernels[k]).collect();
        let curves: Vec<(f64, f64)> = (0..channels).map(|c| curve(c, curves[c])).collect();
        self.effects(within, data, &kernels, &curves)
    }

    /// Checks the shapes and the experiments against the panel.
    fn check_experiments(&self, within: &WithinRegion, data: &ScreenData) -> Result<()> {
        check_shapes(within, data)?;
        let channels = data.media.dim().0;
        for (i, e) in self.experiments.iter().enumerate() {
            let which = format!("experiment {}", i + 1);
            if e.channel >= channels {
                return Err(Error::Screen(format!(
                    "{which}: channel {} of {channels}",
                    e.channel
                )));
            }
            let shapes = std::iter::once(&e.cells).chain(&e.counterfactual);
            if let Some(bad) = shapes.clone().find(|a| a.dim() != within.shape()) {
                return Err(Error::Shape(format!(
                    "{which}: cells or factors {:?}, panel {:?}",
                    bad.dim(),
                    within.shape()
                )));
            }
            if !(e.lift.is_finite()
                && e.weight.is_finite()
                && e.weight >= 0.0
                && e.cells.iter().all(|u| u.is_finite()))
                || e.counterfactual
                    .iter()
                    .flatten()
                    .any(|f| !(*f >= 0.0 && f.is_finite()))
            {
                return Err(Error::Screen(format!(
                    "{which}: lift, weight and cells must be finite, the weight and the \
                     counterfactual factors finite and ≥ 0"
                )));
            }
        }
        Ok(())
    }

    /// The experiments' rows of the target: `√weight_e · lift_e`.
    fn experiment_targets(&self) -> Vec<f64> {
        self.experiments
            .iter()
            .map(|e| e.weight.sqrt() * e.lift)
            .collect()
    }

    /// Channel c's column of the calibrated regression: the within-region residuals of its
    /// saturated activity `s` (activity `x` under `kernel` and `curve`), then one row per
    /// experiment, `√weight_e · Σ u_e ⊙ (s − s^e)` for the experiments of c and 0 for the others.
    fn calibrated(
        &self,
        c: usize,
        within: &WithinRegion,
        x: ArrayView2<f64>,
        s: &Array2<f64>,
        kernel: (f64, f64),
        curve: (f64, f64),
    ) -> Vec<f64> {
        let mut column = within.residuals(s.view());
        column.extend(self.experiments.iter().map(|e| {
            if e.channel != c {
                return 0.0;
            }
            let answer = match &e.counterfactual {
                None => (&e.cells * s).sum(),
                Some(f) => (&e.cells * &(s - &saturate((&x * f).view(), kernel, curve))).sum(),
            };
            e.weight.sqrt() * answer
        }));
        column
    }

    /// The effects `β ≥ 0`, the controls' coefficients and the media share of the media part
    /// with the given Weibull kernels `(k, λ)` and Hill curves `(K, s)` (K in the media's units),
    /// one per channel: the screen's final regression, calibrated to [`MediaScreen::experiments`]
    /// (module docs).
    ///
    /// # Errors
    /// [`Error::Screen`] when there is not one kernel and one curve per channel or an experiment
    /// is invalid (as for [`MediaScreen::fit`]); [`Error::Shape`] when the arrays do not match `within`'s calendar; [`Error::Solver`] when
    /// the regression fails.
    pub fn effects(
        &self,
        within: &WithinRegion,
        data: &ScreenData,
        kernels: &[(f64, f64)],
        curves: &[(f64, f64)],
    ) -> Result<ScreenedMedia> {
        self.check_experiments(within, data)?;
        let channels = data.media.dim().0;
        if kernels.len() != channels || curves.len() != channels {
            return Err(Error::Screen(format!(
                "{} kernels and {} curves for {channels} channels",
                kernels.len(),
                curves.len()
            )));
        }
        let saturated: Vec<Array2<f64>> = (0..channels)
            .map(|c| saturate(data.media.index_axis(Axis(0), c), kernels[c], curves[c]))
            .collect();
        let mut y = within.residuals(data.target);
        y.extend(self.experiment_targets());
        let n_experiments = self.experiments.len();
        let columns: Vec<Vec<f64>> = data
            .controls
            .outer_iter()
            .map(|z| {
                let mut column = within.residuals(z);
                column.extend(std::iter::repeat_n(0.0, n_experiments));
                column
            })
            .chain(saturated.iter().enumerate().map(|(c, s)| {
                let x = data.media.index_axis(Axis(0), c);
                self.calibrated(c, within, x, s, kernels[c], curves[c])
            }))
            .collect();
        let columns: Vec<&[f64]> = columns.iter().map(Vec::as_slice).collect();
        let n_controls = data.controls.dim().0;
        let theta = bounded_least_squares(&gram(&columns), &cross(&columns, &y), n_controls)?;
        let effects = &theta[n_controls..];
        let media_total: f64 = effects
            .iter()
            .zip(&saturated)
            .map(|(beta, s)| beta * within.cells().map(|cell| s[cell]).sum::<f64>())
            .sum();
        Ok(ScreenedMedia {
            media_share: media_total / within.n_cells().max(1) as f64,
            kernels: kernels.to_vec(),
            curves: curves.to_vec(),
            effects: effects.to_vec(),
            controls: theta[..n_controls].to_vec(),
            evidence: self.evidence(within, data, &columns[n_controls..], kernels, curves),
        })
    }

    /// Every channel's [`Evidence`] with the given kernels and curves; `chosen` are the channels'
    /// columns of the calibrated regression under them.
    fn evidence(
        &self,
        within: &WithinRegion,
        data: &ScreenData,
        chosen: &[&[f64]],
        kernels: &[(f64, f64)],
        curves: &[(f64, f64)],
    ) -> Vec<Evidence> {
        let regression = Regression::new(within, data, &self.experiment_targets());
        let chosen: Vec<Vec<f64>> = chosen.iter().map(|c| c.to_vec()).collect();
        let level = levels(within, data);
        (0..chosen.len())
            .map(|c| {
                let x = data.media.index_axis(Axis(0), c);
                let column = |kernel, curve| {
                    self.calibrated(c, within, x, &saturate(x, kernel, curve), kernel, curve)
                };
                let relative = |(q, s): (f64, f64)| (q * level[c], s);
                // Residual sums of squares: as given, without the channel, at the defaults.
                let sse = regression.profile(&chosen, c, 4, &|i| match i {
                    0 => chosen[c].clone(),
                    1 => vec![0.0; chosen[c].len()],
                    2 => column(Self::KERNEL_START, curves[c]),
                    _ => column(kernels[c], relative(Self::CURVE_START)),
                });
                let on_kernels = regression.profile(&chosen, c, self.kernels.len(), &|k| {
                    column(self.kernels[k], curves[c])
                });
                let on_curves = regression.profile(&chosen, c, self.curves.len(), &|q| {
                    column(kernels[c], relative(self.curves[q]))
                });
                // An exact fit has σ̂² = 0: then any worse fit is infinitely worse.
                let sigma2 = regression
                    .noise_variance(sse[0], chosen.len())
                    .max(f64::MIN_POSITIVE);
                let tolerance = regression.tolerance();
                let chi2 = |s: f64| {
                    let d = s - sse[0];
                    if d.abs() <= tolerance {
                        0.0
                    } else {
                        d / sigma2
                    }
                };
                let alike = |profile: &[f64]| {
                    let best = profile.iter().fold(sse[0], |m, &s| m.min(s));
                    profile
                        .iter()
                        .filter(|&&s| s - best <= Evidence::ALIKE * sigma2 + tolerance)
                        .count()
                };
                Evidence {
                    effect: chi2(sse[1]),
                    kernel: chi2(sse[2]),
                    curve: chi2(sse[3]),
                    kernels_alike: alike(&on_kernels),
                    curves_alike: alike(&on_curves),
                }
            })
            .collect()
    }
}

/// Mean positive activity of each channel on the training cells (1 when it has none): the unit
/// of the curves' relative half-saturation points.
fn levels(within: &WithinRegion, data: &ScreenData) -> Vec<f64> {
    data.media
        .outer_iter()
        .map(|x| {
            let (sum, n) = within
                .cells()
                .map(|cell| x[cell])
                .filter(|v| *v > 0.0)
                .fold((0.0, 0usize), |(s, n), v| (s + v, n + 1));
            if n > 0 { sum / n as f64 } else { 1.0 }
        })
        .collect()
}

/// Hill(Weibull-adstock(x)) with kernel `(k, λ)` and curve `(K, s)`.
fn saturate(x: ArrayView2<f64>, (k, lambda): (f64, f64), (half, slope): (f64, f64)) -> Array2<f64> {
    let mut a = Array2::zeros(x.dim());
    WeibullAdstock::default().forward(&WeibullAdstock::params_for(k, lambda), x, a.view_mut());
    let mut s = Array2::zeros(a.dim());
    Hill.forward(&Hill::params_for(half, slope), a.view(), s.view_mut());
    s
}

impl Default for MediaScreen {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testdata::{Synthetic, synthetic, synthetic_always_on};

    /// The screen's view of `s`: all weeks, the region terms partialled out.
    fn screen_input(s: &Synthetic) -> Result<(WithinRegion, ScreenData<'_>)> {
        let within = WithinRegion::new(&s.year, s.observed.view(), 0..s.year.len())?;
        let data = ScreenData {
            target: s.target.view(),
            media: s.media.view(),
            controls: s.controls.view(),
        };
        Ok((within, data))
    }

    fn fit(s: &Synthetic, screen: &MediaScreen) -> Result<ScreenedMedia> {
        let (within, data) = screen_input(s)?;
        screen.fit(&within, &data)
    }

    /// The curve a grid point `(q, s)` means for channel c of `s`.
    fn absolute(s: &Synthetic, c: usize, (q, slope): (f64, f64)) -> (f64, f64) {
        let x = s.media.index_axis(Axis(0), c);
        let positive: Vec<f64> = x
            .iter()
            .zip(s.observed.iter())
            .filter(|&(v, o)| *o && *v > 0.0)
            .map(|(v, _)| *v)
            .collect();
        (
            q * positive.iter().sum::<f64>() / positive.len() as f64,
            slope,
        )
    }

    #[test]
    fn the_screen_recovers_kernels_curves_and_effects_of_a_panel_made_by_its_model() {
        let kernels = [(2.5, 3.2), (1.0, 0.8), (0.7, 1.7)];
        let curves = [(0.5, 2.0), (1.5, 1.0), (0.75, 1.5)];
        let effects = [0.4, 0.3, 0.35];
        let s = synthetic(&kernels, Some(&curves), &effects, 0.0, 5);
        let got = fit(&s, &MediaScreen::new()).unwrap();
        assert_eq!(got.kernels, kernels);
        for c in 0..3 {
            let want = absolute(&s, c, curves[c]);
            assert!((got.curves[c].0 - want.0).abs() < 1e-12 * want.0, "{c}");
            assert_eq!(got.curves[c].1, want.1);
            assert!(
                (got.effects[c] - effects[c]).abs() < 1e-6,
                "{:?}",
                got.effects
            );
        }
        assert!((got.controls[0] - 0.3).abs() < 1e-6, "{:?}", got.controls);
        // The media share is the mean of the true media part over the (observed) cells.
        let made_without_media = synthetic(&kernels, Some(&curves), &[0.0; 3], 0.0, 5);
        let media = &s.target - &made_without_media.target;
        let cells: Vec<f64> = media
            .iter()
            .zip(s.observed.iter())
            .filter(|(_, o)| **o)
            .map(|(v, _)| *v)
            .collect();
        let share = cells.iter().sum::<f64>() / cells.len() as f64;
        assert!(
            (got.media_share - share).abs() < 1e-6 * share,
            "{} vs {share}",
            got.media_share
        );
        // With noise the effects are estimated, not known.
        let s = synthetic(&kernels, Some(&curves), &effects, 0.02, 6);
        let got = fit(&s, &MediaScreen::new()).unwrap();
        for (g, e) in got.effects.iter().zip(&effects).take(3) {
            assert!((g - e).abs() < 0.1 * e, "{:?}", got.effects);
        }
    }

    #[test]
    fn evidence_is_in_chi_square_units_of_what_the_data_tell_apart() {
        // Channel 0: a delayed kernel and a steep curve; 1: made with the defaults; 2: dark.
        let kernels = [(2.5, 3.2), MediaScreen::KERNEL_START, (1.0, 1.2)];
        let curves = [(0.5, 2.0), MediaScreen::CURVE_START, (1.0, 1.0)];
        let effects = [0.4, 0.1, 0.0];
        let evidence = |noise: f64, scale: f64| {
            let mut s = synthetic(&kernels, Some(&curves), &effects, noise, 9);
            s.target *= scale;
            fit(&s, &MediaScreen::new()).unwrap().evidence
        };
        let e = evidence(0.02, 1.0);
        let screen = MediaScreen::new();
        let (all_kernels, all_curves) = (screen.kernels.len(), screen.curves.len());
        // The delayed, steep channel is unmistakable: the defaults fit far worse, few kernels
        // and curves come close.
        assert!(e[0].effect > 1000.0, "{:?}", e[0]);
        assert!(e[0].kernel > 100.0 && e[0].curve > 9.0, "{:?}", e[0]);
        assert!(e[0].kernels_alike < all_kernels / 4, "{:?}", e[0]);
        // The channel made with the defaults keeps them: nothing to prefer over them.
        assert_eq!((e[1].kernel, e[1].curve), (0.0, 0.0), "{:?}", e[1]);
        assert!(e[1].effect > 9.0, "{:?}", e[1]);
        // A dark channel: nothing to tell apart.
        assert_eq!(
            e[2],
            Evidence {
                effect: 0.0,
                kernel: 0.0,
                curve: 0.0,
                kernels_alike: all_kernels,
                curves_alike: all_curves
            }
        );
        // Differences of sums of squares over the noise variance: the target's unit cancels,
        // and half the noise makes the same signal about four times as clear.
        let scaled = evidence(0.02, 3.0);
        for (a, b) in e.iter().zip(&scaled) {
            assert!(
                (a.effect - b.effect).abs() <= 1e-6 * a.effect.max(1.0),
                "{a:?} {b:?}"
            );
            assert!((a.kernel - b.kernel).abs() <= 1e-6 * a.kernel.abs().max(1.0));
            assert_eq!(
                (a.kernels_alike, a.curves_alike),
                (b.kernels_alike, b.curves_alike)
            );
        }
        let quiet = evidence(0.01, 1.0);
        let ratio = quiet[0].effect / e[0].effect;
        assert!((3.0..5.0).contains(&ratio), "{ratio}");
    }

    #[test]
    fn a_harmful_channel_gets_no_effect_and_a_dark_one_keeps_the_start() {
        // Channel 1 lowers the target: the screen cannot say so, its effect is 0, and the other
        // channel's estimate is not disturbed. The dark last channel keeps the starts.
        let s = synthetic(
            &[(2.0, 1.7), (1.0, 0.5), (1.0, 1.2)],
            Some(&[(1.0, 1.0), (1.0, 1.0), (1.0, 1.0)]),
            &[0.3, -0.2, 0.0],
            0.0,
            7,
        );
        let got = fit(&s, &MediaScreen::new()).unwrap();
        assert_eq!(got.effects[1], 0.0);
        assert_eq!(got.effects[2], 0.0);
        assert_eq!(got.kernels[2], MediaScreen::KERNEL_START);
        assert_eq!(got.curves[2], (1.0, 1.0), "a dark channel's level is 1");
        assert!((got.effects[0] - 0.3).abs() < 0.05, "{:?}", got.effects);
    }

    #[test]
    fn effects_at_off_grid_kernels_and_curves_are_recovered() {
        // Kernels and curves the grid does not hold: only the final regression runs.
        let kernels = [(1.8, 2.7), (1.2, 0.6)];
        let curves = [(0.9, 1.3), (0.4, 2.2)];
        let effects = [0.25, 0.45];
        let s = synthetic(&kernels, Some(&curves), &effects, 0.0, 8);
        let (within, data) = screen_input(&s).unwrap();
        let absolute: Vec<(f64, f64)> = (0..2).map(|c| absolute(&s, c, curves[c])).collect();
        let screen = MediaScreen::new();
        let got = screen.effects(&within, &data, &kernels, &absolute).unwrap();
        assert_eq!(
            (got.kernels.as_slice(), got.curves.as_slice()),
            (&kernels[..], &absolute[..])
        );
        for (g, e) in got.effects.iter().zip(&effects).take(2) {
            assert!((g - e).abs() < 1e-6, "{:?}", got.effects);
        }
        assert!((got.controls[0] - 0.3).abs() < 1e-6, "{:?}", got.controls);
        // One kernel and one curve per channel.
        assert!(
            screen
                .effects(&within, &data, &kernels[1..], &absolute)
                .is_err()
        );
        assert!(
            screen
                .effects(&within, &data, &kernels, &absolute[1..])
                .is_err()
        );
    }

    #[test]
    fn experiments_pull_the_effect_toward_the_measured_lift() {
        let kernels = [(2.0, 2.3), (1.0, 1.2)];
        let curves = [(1.0, 1.5), (0.75, 1.0)];
        let effects = [0.3, 0.4];
        let s = synthetic(&kernels, Some(&curves), &effects, 0.02, 9);
        let plain = fit(&s, &MediaScreen::new()).unwrap();
        // An experiment on channel 0 measured over the second half of the weeks in regions 0–5,
        // whose lift says the effect is twice what the data say: a contribution (go-dark) test,
        // and a heavy-up test that ran 1.5 times the usual activity in weeks 60–67.
        let mut cells = Array2::zeros(s.observed.dim());
        cells.slice_mut(ndarray::s![..6, 60..]).fill(1.0);
        let mut heavy_up = Array2::ones(s.observed.dim());
        heavy_up.slice_mut(ndarray::s![..6, 60..68]).fill(1.0 / 1.5);
        for counterfactual in [None, Some(heavy_up)] {
            let x = s.media.index_axis(Axis(0), 0);
            let answer = |m: &ScreenedMedia| {
                let sat = |x: ArrayView2<f64>| saturate(x, m.kernels[0], m.curves[0]);
                let compared = counterfactual
                    .as_ref()
                    .map_or(Array2::zeros(x.dim()), |f| sat((&x * f).view()));
                m.effects[0] * (&cells * &(sat(x) - compared)).sum()
            };
            let lift = 2.0 * answer(&plain);
            let with = |weight: f64| MediaScreen {
                experiments: vec![Experiment {
                    channel: 0,
                    cells: cells.clone(),
                    counterfactual: counterfactual.clone(),
                    lift,
                    weight,
                }],
                ..MediaScreen::new()
            };
            // Weight 0: the plain screen.
            assert_eq!(fit(&s, &with(0.0)).unwrap(), plain);
            // Any weight brings the answer closer to the lift; a dominant experiment is matched.
            let mut last = answer(&plain);
            for weight in [1e-3, 1e-1, 1e1, 1e4] {
                last = answer(&fit(&s, &with(weight)).unwrap());
                assert!(
                    (last - lift).abs() < (answer(&plain) - lift).abs(),
                    "weight {weight}: {last}, plain {}, lift {lift}",
                    answer(&plain)
                );
            }
            assert!((last - lift).abs() < 1e-3 * lift, "{last} vs {lift}");
        }
        // Bad experiments are errors.
        let good = Experiment {
            channel: 0,
            cells,
            counterfactual: None,
            lift: 1.0,
            weight: 1.0,
        };
        let bad = |e: Experiment| {
            let screen = MediaScreen {
                experiments: vec![e],
                ..MediaScreen::new()
            };
            fit(&s, &screen).is_err()
        };
        assert!(!bad(good.clone()));
        for e in [
            Experiment {
                channel: 2,
                ..good.clone()
            },
            Experiment {
                weight: -1.0,
                ..good.clone()
            },
            Experiment {
                lift: f64::NAN,
                ..good.clone()
            },
            Experiment {
                cells: Array2::zeros((2, 2)),
                ..good.clone()
            },
            Experiment {
                counterfactual: Some(Array2::ones((2, 2))),
                ..good.clone()
            },
            Experiment {
                counterfactual: Some(Array2::from_elem(s.observed.dim(), -0.5)),
                ..good
            },
        ] {
            assert!(bad(e));
        }
    }

    #[test]
    fn experiments_at_two_spend_levels_tell_the_curve_the_data_leave_open() {
        // An always-on channel (activity between 1 and 2 every week) bends its curve over a
        // narrow range; with noise the screen cannot tell its curve. Two exact experiments —
        // a heavy-up (1.5×) and a scale-down (0.5×) in half the regions each — measure two
        // slopes of it, and the screen's curve then has them.
        let kernels = [(1.0, 1.2), (1.5, 0.8)];
        let curves = [(0.5, 2.0), (1.0, 1.0)];
        let effects = [0.3, 0.3];
        let noise = 0.1;
        let s = synthetic_always_on(&kernels, Some(&curves), &effects, noise, 4);
        let plain = fit(&s, &MediaScreen::new()).unwrap();
        let truth = absolute(&s, 0, curves[0]);
        assert_ne!(
            plain.curves[0], truth,
            "the data alone should leave the curve open"
        );
        assert!(
            plain.evidence[0].curves_alike > 1,
            "{:?}",
            plain.evidence[0]
        );
        let x = s.media.index_axis(Axis(0), 0);
        let experiment = |regions: std::ops::Range<usize>, weeks: usize, multiplier: f64| {
            let mut cells = Array2::zeros(s.observed.dim());
            cells
                .slice_mut(ndarray::s![regions.clone(), weeks..])
                .fill(1.0);
            let mut factors = Array2::ones(s.observed.dim());
            factors
                .slice_mut(ndarray::s![regions, weeks..weeks + 8])
                .fill(1.0 / multiplier);
            let sat = |x: ArrayView2<f64>| saturate(x, kernels[0], truth);
            let lift = effects[0] * (&cells * &(sat(x) - sat((&x * &factors).view()))).sum();
            let se = 0.01 * lift.abs();
            Experiment {
                channel: 0,
                cells,
                counterfactual: Some(factors),
                lift,
                weight: noise * noise / (se * se),
            }
        };
        let screen = MediaScreen {
            experiments: vec![experiment(0..6, 60, 1.5), experiment(6..12, 80, 0.5)],
            ..MediaScreen::new()
        };
        let calibrated = fit(&s, &screen).unwrap();
        // What the experiments measure and the optimiser needs: how the channel's outcome
        // changes as all its activity is scaled from m₀ to m₁ (its level is a region intercept's).
        let step = |kernel, curve, beta: f64, (m0, m1): (f64, f64)| {
            let at = |m: f64| saturate((&x * m).view(), kernel, curve).sum();
            beta * (at(m1) - at(m0))
        };
        let up = (1.0, 1.5);
        let (t, p) = (
            step(kernels[0], truth, effects[0], up),
            step(plain.kernels[0], plain.curves[0], plain.effects[0], up),
        );
        assert!(
            (p - t).abs() > 0.2 * t,
            "the data alone miss the heavy-up: {p} vs {t}"
        );
        for steps in [(0.5, 1.0), up] {
            let t = step(kernels[0], truth, effects[0], steps);
            let c = step(
                calibrated.kernels[0],
                calibrated.curves[0],
                calibrated.effects[0],
                steps,
            );
            assert!(
                (c - t).abs() < 0.05 * t,
                "{steps:?}: truth {t}, calibrated {c}"
            );
        }
    }

    #[test]
    fn a_screen_that_cannot_run_is_an_error() {
        let s = synthetic(&[(1.0, 1.2)], None, &[0.3], 0.0, 8);
        let no_start = MediaScreen {
            kernels: vec![(2.0, 2.0)],
            ..MediaScreen::new()
        };
        let negative = MediaScreen {
            curves: vec![(1.0, 1.0), (-1.0, 1.0)],
            ..MediaScreen::new()
        };
        let no_rounds = MediaScreen {
            rounds: 0,
            ..MediaScreen::new()
        };
        for bad in [no_start, negative, no_rounds] {
            assert!(matches!(fit(&s, &bad), Err(Error::Screen(_))), "{bad:?}");
        }
    }
}
