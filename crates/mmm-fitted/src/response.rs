//! The media response of a fitted model: the one place where a channel's contribution is taken
//! apart into the factor k and its saturated activity, for the marginal ROI of the attribution,
//! the response curves of the analysis and the report.
//!
//! Channel c's direct contribution in region r, week t is (target units)
//!
//! ```text
//! contribution_c[r,t] = k[c,r,t] · s_c(a[c,r,t])      k = β_c · exp(η_{r,c}) · m_c[r,t] · ȳ_r
//! ```
//!
//! with a the adstocked scaled activity and s_c the channel's saturation (docs/model.md, *Outcome
//! equation*). The factor k does not depend on the media — the GRU that sets the effectiveness m
//! reads none — and adstock is linear (adstock(m·x) = m·adstock(x)), so a change of activity is
//! priced exactly without re-running the model:
//!
//! ```text
//! direct_c(m) = Σ_{r,t} k_{c,r,t} · s_c(m · a_{c,r,t})
//! total_c(m)  = Σ_j Σ_{r,t} k_{j,r,t} · [s_j(adstock_j(x'_j)) − s_j(a_j)],   x' = x̃ with x̃_c ← m·x̃_c
//!               propagated along the channel DAG, minus the same with x̃_c ← 0
//! slope_c     = d direct_c / dm at m = 1 = Σ_{r,t} k_{c,r,t} · s'_c(a_{c,r,t}) · a_{c,r,t}
//! ```
//!
//! Sums run over the cells a caller names (the observed region-weeks of the history for the
//! attribution and the report, every outcome week for the analysis).

use crate::Result;
use crate::model::FittedModel;
use mmm_data::Panel;
use mmm_model::{Model, ModelInputs};
use ndarray::{Array2, Array3, ArrayView2, Axis};

/// The media part of a fitted model on a panel (module docs).
#[derive(Debug)]
pub struct MediaResponse<'a> {
    fitted: &'a FittedModel,
    /// The model structure.
    pub model: Model,
    /// The panel's scaled inputs.
    pub inputs: ModelInputs,
    /// Adstocked scaled activity a, `[channel, region, week]`.
    pub adstocked: Array3<f64>,
    /// The factor k of the saturated activity, target units, `[channel, region, week]`.
    pub factor: Array3<f64>,
}

impl FittedModel {
    /// The media response of this model on `panel` (its history, or history + future weeks).
    ///
    /// # Errors
    /// The panel does not fit the model's scalers, or the configuration is invalid.
    pub fn media_response(&self, panel: &Panel) -> Result<MediaResponse<'_>> {
        let model = self.model()?;
        let inputs = self.inputs_for(panel)?;
        let tape = model.forward(&self.params, &inputs);
        let means = &self.target_scaler.means;
        let mut factor = model.media_factor(&self.params, &tape);
        // k = k̃ · ȳ_r.
        for ((_, r, _), k) in factor.indexed_iter_mut() {
            *k *= means[r];
        }
        let adstocked = mmm_model::causal::adstock_all(&model, &self.params, &inputs);
        Ok(MediaResponse {
            fitted: self,
            model,
            inputs,
            adstocked,
            factor,
        })
    }
}

impl MediaResponse<'_> {
    /// s_c(a): channel `c`'s saturation at adstocked activity `a`.
    pub fn saturate(&self, c: usize, a: f64) -> f64 {
        self.model
            .saturation(c)
            .eval(self.model.saturation_params(&self.fitted.params, c), a)
    }

    /// s'_c(a): the slope of channel `c`'s saturation at adstocked activity `a`.
    pub fn saturation_slope(&self, c: usize, a: f64) -> f64 {
        self.model
            .saturation(c)
            .derivative(self.model.saturation_params(&self.fitted.params, c), a)
    }

    /// Channel `c`'s adstock of the scaled activity `x` (`[region, week]`).
    pub fn adstock(&self, c: usize, x: ArrayView2<f64>) -> Array2<f64> {
        let mut a = Array2::zeros(x.dim());
        self.model.adstock(c).forward(
            self.model.adstock_params(&self.fitted.params, c),
            x,
            a.view_mut(),
        );
        a
    }

    /// The derivative of each channel's direct contribution in each region-week with respect to
    /// a common multiplier m on its activity in every week, at m = 1, target units, `[channel,
    /// region, week]`. Exact: adstock is linear, so d/dm s(adstock(m·x)) = s'(a)·a.
    pub fn slopes(&self) -> Array3<f64> {
        Array3::from_shape_fn(self.factor.dim(), |(c, r, t)| {
            let a = self.adstocked[[c, r, t]];
            // Without activity the term is 0 (a curve may be infinitely steep at 0).
            if a > 0.0 {
                self.factor[[c, r, t]] * self.saturation_slope(c, a) * a
            } else {
                0.0
            }
        })
    }

    /// direct_c(m) over the `cells` (`[region, week]`, module docs): channel `c`'s direct
    /// contribution with its activity scaled by `m` in every week.
    pub fn direct(&self, c: usize, m: f64, cells: ArrayView2<bool>) -> f64 {
        let a = self.adstocked.index_axis(Axis(0), c);
        let k = self.factor.index_axis(Axis(0), c);
        a.iter()
            .zip(k.iter())
            .zip(cells.iter())
            .filter(|(_, in_cells)| **in_cells)
            .map(|((&av, &kv), _)| kv * self.saturate(c, m * av))
            .sum()
    }

    /// total_c(m) over the `cells` for every multiplier of `multipliers` (module docs): the
    /// direct and DAG-mediated contribution of channel `c`'s activity scaled by m, relative to
    /// no activity of `c`. Equals the direct curve for a channel without downstream edges.
    pub fn total(&self, c: usize, multipliers: &[f64], cells: ArrayView2<bool>) -> Vec<f64> {
        let dag = &self.fitted.dag;
        if dag.weights[c].iter().all(|&w| w == 0.0) {
            return multipliers
                .iter()
                .map(|&m| self.direct(c, m, cells))
                .collect();
        }
        let media = &self.inputs.media;
        let own = media.index_axis(Axis(0), c).to_owned();
        let scenario = |activity: &Array2<f64>| {
            dag.intervene(
                &self.model,
                &self.fitted.params,
                media,
                &self.adstocked,
                c,
                activity.view(),
            )
        };
        // The change of every channel's contribution the changed media make.
        let change = |changed: &Array3<f64>| -> f64 {
            let mut sum = 0.0;
            for j in 0..media.dim().0 {
                let xj = changed.index_axis(Axis(0), j);
                if xj == media.index_axis(Axis(0), j) {
                    continue; // unchanged: no change of its contribution
                }
                let aj = self.adstock(j, xj);
                let old = self.adstocked.index_axis(Axis(0), j);
                let kj = self.factor.index_axis(Axis(0), j);
                for (((&a_new, &a_old), &kv), _) in aj
                    .iter()
                    .zip(old.iter())
                    .zip(kj.iter())
                    .zip(cells.iter())
                    .filter(|(_, in_cells)| **in_cells)
                {
                    sum += kv * (self.saturate(j, a_new) - self.saturate(j, a_old));
                }
            }
            sum
        };
        let zero = change(&scenario(&Array2::zeros(own.dim())));
        multipliers
            .iter()
            .map(|&m| change(&scenario(&(&own * m))) - zero)
            .collect()
    }
}
