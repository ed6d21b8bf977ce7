//! Prediction and decomposition of a [`FittedModel`] on its history or on history + future weeks,
//! in target units, and each channel's total (direct + DAG-mediated) contribution and the slope of
//! its direct contribution in its activity.

use crate::model::FittedModel;
use crate::{Error, Result};
use mmm_data::{ControlScaler, MediaScaler, Panel, TargetScaler, TimeSplit};
use mmm_model::{Decomposition, ModelInputs};
use ndarray::{Array2, Array3, ArrayView2, Axis};

impl FittedModel {
    /// Scaled model inputs for a panel with this model's regions, channels and controls whose
    /// calendar starts at the history's first week (the history itself, or history + future).
    pub fn inputs_for(&self, panel: &Panel) -> Result<ModelInputs> {
        self.scaling().inputs_for(panel)
    }

    /// What turns a panel into this model's scaled inputs.
    pub fn scaling(&self) -> Scaling<'_> {
        Scaling {
            target: &self.target_scaler,
            media: &self.media_scaler,
            controls: &self.control_scaler,
            split: &self.split,
            fourier_harmonics: self.config.model.fourier_harmonics,
        }
    }

    /// Prediction (target units, `[region, week]`) and the additive decomposition (target units)
    /// over every week of `panel`.
    pub fn predict(&self, panel: &Panel) -> Result<(Array2<f64>, Decomposition)> {
        let model = self.model()?;
        let inputs = self.inputs_for(panel)?;
        let tape = model.forward(&self.params, &inputs);
        let d = model.decompose_tape(&self.params, &inputs, &tape);
        let scale = |a: &Array2<f64>| self.target_scaler.inverse(a);
        let scale3 = |a: &Array3<f64>| {
            let mut out = a.clone();
            for mut slice in out.outer_iter_mut() {
                let s = scale(&slice.to_owned());
                slice.assign(&s);
            }
            out
        };
        let decomposition = Decomposition {
            baseline: scale(&d.baseline),
            trend: scale(&d.trend),
            seasonality: scale(&d.seasonality),
            controls: scale3(&d.controls),
            channels: scale3(&d.channels),
        };
        let prediction = scale(&tape.prediction);
        self.check_finite(panel, &prediction, &decomposition)?;
        Ok((prediction, decomposition))
    }

    /// The decomposition's components with their names, `[region, week]` each, in a fixed order:
    /// baseline, trend, seasonality, controls, channels (the columns of `contributions.csv`).
    pub fn components<'a>(&'a self, d: &'a Decomposition) -> Vec<(&'a str, ArrayView2<'a, f64>)> {
        let [baseline, trend, seasonality] = mmm_data::RESERVED_COMPONENTS;
        let mut out = vec![
            (baseline, d.baseline.view()),
            (trend, d.trend.view()),
            (seasonality, d.seasonality.view()),
        ];
        for (k, name) in self.controls.iter().enumerate() {
            out.push((name.as_str(), d.controls.index_axis(Axis(0), k)));
        }
        for (c, name) in self.channels.iter().enumerate() {
            out.push((name.as_str(), d.channels.index_axis(Axis(0), c)));
        }
        out
    }

    /// An error naming the first observed region-week of `panel` whose prediction or a component
    /// of whose decomposition is not finite (parameters or data so large that the model
    /// overflows).
    fn check_finite(
        &self,
        panel: &Panel,
        prediction: &Array2<f64>,
        d: &Decomposition,
    ) -> Result<()> {
        let parts = [&d.baseline, &d.trend, &d.seasonality, prediction];
        let cells = d.controls.outer_iter().chain(d.channels.outer_iter());
        let bad = |(r, t): (usize, usize)| {
            panel.observed[[r, t]]
                && (parts.iter().any(|a| !a[[r, t]].is_finite())
                    || cells.clone().any(|a| !a[[r, t]].is_finite()))
        };
        match ndarray::indices(prediction.dim())
            .into_iter()
            .find(|&i| bad(i))
        {
            Some((r, t)) => Err(Error::NonFinitePrediction {
                region: self.regions[r].clone(),
                week: panel.weeks[t].to_string(),
            }),
            None => Ok(()),
        }
    }

    /// Total (direct + DAG-mediated) contribution of each channel over all weeks of `panel`, in
    /// target units: the drop in the prediction when the channel's activity is set to zero and the
    /// change propagates downstream along the channel DAG ([`FittedModel::total_effects`] summed).
    pub fn total_contributions(&self, panel: &Panel) -> Result<Vec<f64>> {
        Ok(self
            .total_effects(panel)?
            .outer_iter()
            .map(|e| e.sum())
            .collect())
    }

    /// Each channel's total (direct + DAG-mediated) effect per region-week of `panel`, target
    /// units, `[channel, region, week]`: the drop in the prediction when the channel's activity is
    /// set to zero and the change propagates downstream along the channel DAG.
    pub fn total_effects(&self, panel: &Panel) -> Result<Array3<f64>> {
        let model = self.model()?;
        let inputs = self.inputs_for(panel)?;
        let base = model.forward(&self.params, &inputs).prediction;
        let adstocked = mmm_model::causal::adstock_all(&model, &self.params, &inputs);
        let zero = Array2::zeros((inputs.n_regions(), inputs.n_weeks()));
        let mut effects = Array3::zeros(inputs.media.dim());
        for (c, mut out) in effects.outer_iter_mut().enumerate() {
            let media = self.dag.intervene(
                &model,
                &self.params,
                &inputs.media,
                &adstocked,
                c,
                zero.view(),
            );
            let cf = model
                .forward(&self.params, &inputs.with_media(media))
                .prediction;
            out.assign(&self.target_scaler.inverse(&(&base - &cf)));
        }
        Ok(effects)
    }

    /// Derivative of each channel's direct contribution (target units, all weeks of `panel`) with
    /// respect to a common multiplier m on its activity in every week, at m = 1
    /// ([`MediaResponse::slopes`](crate::MediaResponse::slopes) summed).
    pub fn contribution_slopes(&self, panel: &Panel) -> Result<Vec<f64>> {
        Ok(self
            .media_response(panel)?
            .slopes()
            .outer_iter()
            .map(|s| s.iter().sum())
            .collect())
    }
}

/// What turns a panel into the model's scaled inputs: the scalers fitted on the training weeks and
/// the split, whose last training week is the trend's origin. A fit trains on the inputs it makes
/// (`mmm_orchestrator::fit_panel`); the fitted model predicts from them
/// ([`FittedModel::inputs_for`]).
#[derive(Debug, Clone, Copy)]
pub struct Scaling<'a> {
    /// Target scaler (ȳ_r).
    pub target: &'a TargetScaler,
    /// Media scaler.
    pub media: &'a MediaScaler,
    /// Control scaler.
    pub controls: &'a ControlScaler,
    /// The calendar split.
    pub split: &'a TimeSplit,
    /// Fourier harmonics of the seasonality (`[model] fourier_harmonics`).
    pub fourier_harmonics: usize,
}

impl Scaling<'_> {
    /// Scaled model inputs of `panel`, whose calendar starts at the history's first week.
    ///
    /// # Errors
    /// The panel's shapes disagree with the scalers'.
    pub fn inputs_for(&self, panel: &Panel) -> Result<ModelInputs> {
        let year: Vec<f64> = (0..panel.n_weeks())
            .map(|t| panel.year_fraction(t))
            .collect();
        let media = self.media.transform(&panel.media);
        let controls = self.controls.transform(&panel.controls_data);
        let target = self.target.transform(&panel.target);
        let trend_origin = self.split.train.end.saturating_sub(1);
        Ok(ModelInputs::new(
            &media,
            &controls,
            &target,
            &panel.observed,
            &year,
            trend_origin,
            self.fourier_harmonics,
        )?)
    }
}
