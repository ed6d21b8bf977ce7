//! The model's view of a panel: scaled arrays in the layouts the forward pass wants, plus the
//! derived calendar features (Fourier terms, trend clock) and the fixed GRU input sequence.
//!
//! Everything here is data, not parameters: it is built once per fit (or per forecast) and shared
//! by every epoch.

use crate::calibration::Calibration;
use crate::{Error, Result};
use ndarray::{Array2, Array3, Axis};
use std::f64::consts::PI;

/// Weeks per year used by the trend clock (τ is measured in years).
pub const WEEKS_PER_YEAR: f64 = 52.1775;

/// Scaled inputs of one panel, ready for [`crate::Model::forward`].
#[derive(Debug, Clone)]
pub struct ModelInputs {
    /// Scaled media activity, `[channel, region, week]` (each channel's `[region, week]` slice is
    /// contiguous, which is what the transforms read).
    pub media: Array3<f64>,
    /// Scaled controls, `[control, region, week]`.
    pub controls: Array3<f64>,
    /// Scaled target y/ȳ_r, `[region, week]`; any value where `observed` is false.
    pub target: Array2<f64>,
    /// Which region-weeks have an observed target, `[region, week]`.
    pub observed: Array2<bool>,
    /// Fourier features `[week, 2J]`: sin(2πjφ_t), cos(2πjφ_t) for j = 1..J, φ_t the fraction
    /// of the calendar year of week t.
    pub fourier: Array2<f64>,
    /// Trend clock τ_t in years, 0 at the last training week.
    pub tau: Vec<f64>,
    /// The GRU's input sequence `[week, region, input]`: `[clip(z_k, ±5) for k] ++ fourier_t ++ [τ_t]`.
    ///
    /// Media are deliberately *not* GRU inputs: the GRU modulates effectiveness and the baseline,
    /// and if it saw media, part of a channel's effect could travel through the baseline term, so
    /// that a channel's decomposed contribution would differ from the effect of removing it. Without
    /// media in the GRU, removing a channel changes the prediction by exactly its contribution.
    pub gru_input: Array3<f64>,
    /// Lift tests whose likelihood joins the loss ([`crate::calibration`]); `None` = none.
    pub calibration: Option<Calibration>,
}

impl ModelInputs {
    /// Builds the inputs from scaled arrays in the panel's natural layouts.
    ///
    /// * `media`: `[region, week, channel]`, scaled, ≥ 0;
    /// * `controls`: `[region, week, control]`, scaled;
    /// * `target`: `[region, week]`, scaled (NaN allowed where not observed);
    /// * `observed`: `[region, week]`;
    /// * `year_fraction[t]` ∈ [0, 1): position of week t in its calendar year;
    /// * `trend_origin`: index of the last training week (τ = 0 there);
    /// * `harmonics`: number of yearly Fourier harmonics J.
    pub fn new(
        media: &Array3<f64>,
        controls: &Array3<f64>,
        target: &Array2<f64>,
        observed: &Array2<bool>,
        year_fraction: &[f64],
        trend_origin: usize,
        harmonics: usize,
    ) -> Result<Self> {
        let (r_n, t_n, _) = media.dim();
        let k_n = controls.dim().2;
        let shape_err = |what: &str| Err(Error::Shape(what.to_string()));
        if controls.dim().0 != r_n || controls.dim().1 != t_n {
            return shape_err(
                "controls must be [region, week, control] with the media's regions and weeks",
            );
        }
        if target.dim() != (r_n, t_n) || observed.dim() != (r_n, t_n) {
            return shape_err("target and observed must be [region, week] with the media's shape");
        }
        if year_fraction.len() != t_n {
            return shape_err("year_fraction needs one value per week");
        }
        if r_n == 0 || t_n == 0 {
            return shape_err("a panel needs at least one region and one week");
        }
        if let Some(v) = media.iter().find(|v| !(v.is_finite() && **v >= 0.0)) {
            return Err(Error::Input(format!(
                "scaled media must be finite and ≥ 0, found {v}"
            )));
        }
        if let Some(v) = controls.iter().find(|v| !v.is_finite()) {
            return Err(Error::Input(format!(
                "scaled controls must be finite, found {v}"
            )));
        }
        let f_n = 2 * harmonics;
        let fourier = Array2::from_shape_fn((t_n, f_n), |(t, f)| {
            let j = (f / 2 + 1) as f64;
            let angle = 2.0 * PI * j * year_fraction[t];
            if f % 2 == 0 { angle.sin() } else { angle.cos() }
        });
        let tau: Vec<f64> = (0..t_n)
            .map(|t| (t as f64 - trend_origin as f64) / WEEKS_PER_YEAR)
            .collect();
        let n_in = k_n + f_n + 1;
        let mut gru_input = Array3::zeros((t_n, r_n, n_in));
        for t in 0..t_n {
            for r in 0..r_n {
                let mut row = gru_input.index_axis_mut(Axis(0), t);
                let mut row = row.index_axis_mut(Axis(0), r);
                for k in 0..k_n {
                    row[k] = controls[[r, t, k]].clamp(-5.0, 5.0);
                }
                for f in 0..f_n {
                    row[k_n + f] = fourier[[t, f]];
                }
                row[n_in - 1] = tau[t];
            }
        }
        Ok(ModelInputs {
            media: media
                .view()
                .permuted_axes([2, 0, 1])
                .as_standard_layout()
                .into_owned(),
            controls: controls
                .view()
                .permuted_axes([2, 0, 1])
                .as_standard_layout()
                .into_owned(),
            target: target.mapv(|v| if v.is_finite() { v } else { 0.0 }),
            observed: observed & &target.mapv(f64::is_finite),
            fourier,
            tau,
            gru_input,
            calibration: None,
        })
    }

    /// The same inputs with lift tests in the loss; errors when a test does not fit the inputs.
    pub fn with_calibration(mut self, calibration: Calibration) -> Result<ModelInputs> {
        calibration.validate(self.n_channels(), self.n_regions(), self.n_weeks())?;
        self.calibration = Some(calibration);
        Ok(self)
    }

    /// The same inputs with other scaled media `[channel, region, week]` (a counterfactual).
    pub fn with_media(&self, media: Array3<f64>) -> ModelInputs {
        assert_eq!(
            media.dim(),
            self.media.dim(),
            "counterfactual media must keep the shape"
        );
        ModelInputs {
            media,
            ..self.clone()
        }
    }

    /// Number of regions.
    pub fn n_regions(&self) -> usize {
        self.target.nrows()
    }
    /// Number of weeks (training, holdout and any forecast weeks together).
    pub fn n_weeks(&self) -> usize {
        self.target.ncols()
    }
    /// Number of media channels.
    pub fn n_channels(&self) -> usize {
        self.media.dim().0
    }
    /// Number of controls.
    pub fn n_controls(&self) -> usize {
        self.controls.dim().0
    }
    /// Number of Fourier features 2J.
    pub fn n_fourier(&self) -> usize {
        self.fourier.ncols()
    }
    /// Width of the GRU input.
    pub fn n_gru_inputs(&self) -> usize {
        self.gru_input.dim().2
    }

    /// Loss weights over `[region, week]`: observed cells in `weeks`, region r weighted by
    /// `region_weight[r]`, normalised to sum to 1. Errors when no cell is selected.
    pub fn loss_weights(
        &self,
        weeks: std::ops::Range<usize>,
        region_weight: &[f64],
    ) -> Result<Array2<f64>> {
        let mut w = Array2::zeros(self.target.dim());
        for ((r, t), &obs) in self.observed.indexed_iter() {
            if obs && weeks.contains(&t) {
                w[[r, t]] = region_weight[r];
            }
        }
        let total = w.sum();
        if total.is_nan() || total <= 0.0 {
            return Err(Error::Input(format!(
                "no observed region-weeks in weeks {}..{}",
                weeks.start, weeks.end
            )));
        }
        w /= total;
        Ok(w)
    }
}
