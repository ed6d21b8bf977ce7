//! Building a [`PosteriorModel`] from a point fit: the same scaled data, transforms and calendar
//! features as the fit (`FittedModel::inputs_for`), the fit's `[[lift_test]]` experiments as
//! likelihood terms, users' channel priors, and a start for the chains at the point fit.

use crate::density::{EffectPrior, PosteriorData, PosteriorModel};
use crate::priors::{ChannelPrior, Likelihood, Priors};
use crate::{Error, Result};
use mmm_fitted::FittedModel;
use mmm_fitted::attribution::observed_sum;
use mmm_fitted::calibration::resolve_lift_tests;
use ndarray::{Array2, Axis};

/// How to build the posterior from a point fit.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct BuildOptions {
    /// Priors.
    pub priors: Priors,
    /// Noise distribution.
    pub likelihood: Likelihood,
    /// Add the point fit's GRU baseline modulation g[r,t] as a fixed offset (otherwise none).
    pub gru_offset: bool,
    /// Users' priors on channels' ROI or contribution (at most one per channel).
    pub channel_priors: Vec<ChannelPrior>,
}

/// Smallest β a chain starts at (a channel the point fit switched off starts just above zero,
/// where the log scale is still well conditioned).
const MIN_START_BETA: f64 = 1e-3;
/// Where τ_c starts with several regions; ε_{r,c} start at the point fit's η_{r,c} / τ_c.
const START_TAU: f64 = 0.1;

/// The posterior of `fitted`'s interpretable part on its history, and the unconstrained point
/// where the chains start (the point fit's values).
///
/// # Errors
/// When the history cannot be rebuilt or the posterior rejects it ([`PosteriorModel::new`]).
pub fn from_fitted(
    fitted: &FittedModel,
    options: &BuildOptions,
) -> Result<(PosteriorModel, Vec<f64>)> {
    let panel = fitted.history_panel()?;
    let inputs = fitted.inputs_for(&panel)?;
    let model = fitted.model()?;
    let p = &fitted.params;
    let point = model.structural(p);
    let tape = model.forward(p, &inputs);
    let decomposition = model.decompose_tape(p, &inputs, &tape);
    let (r_n, t_n) = inputs.target.dim();
    let offset = if options.gru_offset {
        Array2::from_shape_fn((r_n, t_n), |(r, t)| {
            decomposition.baseline[[r, t]] - point.base[r]
        })
    } else {
        Array2::zeros((r_n, t_n))
    };
    let spend = (0..panel.n_channels())
        .map(|c| observed_sum(&panel, panel.spend_or_media().index_axis(Axis(2), c)))
        .collect();
    let train_weeks = fitted.split.train.end;
    let data = PosteriorData {
        media: inputs.media.clone(),
        controls: inputs.controls.clone(),
        target: inputs.target.clone(),
        observed: inputs.observed.clone(),
        fourier: inputs.fourier.clone(),
        tau: inputs.tau.clone(),
        offset,
        train_weeks,
        region_means: fitted.target_scaler.means.clone(),
        spend,
    };
    // Residual scale of the point fit over the likelihood cells.
    let (mut ss, mut n) = (0.0, 0usize);
    for ((r, t), &obs) in inputs.observed.indexed_iter() {
        if obs && t < train_weeks {
            let e = inputs.target[[r, t]] - tape.prediction[[r, t]];
            ss += e * e;
            n += 1;
        }
    }
    let sigma = if n > 0 {
        (ss / n as f64).sqrt().max(1e-3)
    } else {
        0.1
    };

    let mut posterior =
        PosteriorModel::new(model, data, options.priors.clone(), options.likelihood)?;
    if !fitted.config.lift_tests.is_empty() {
        let tests = resolve_lift_tests(
            &fitted.config.lift_tests,
            &panel,
            &fitted.target_scaler.means,
        )?;
        posterior = posterior.with_lift_tests(tests)?;
    }
    let spend_train: Vec<f64> = (0..panel.n_channels())
        .map(|c| {
            let spend = panel.spend_or_media();
            let mut sum = 0.0;
            for ((r, t), &obs) in inputs.observed.indexed_iter() {
                if obs && t < train_weeks && inputs.target[[r, t]].is_finite() {
                    sum += spend[[r, t, c]];
                }
            }
            sum
        })
        .collect();
    for (c, prior) in resolve_channel_priors(&fitted.channels, &options.channel_priors)? {
        let effect = effect_prior(prior, spend_train[c], posterior.target_total())?;
        posterior.set_effect_prior(c, effect)?;
    }
    let l = posterior.layout().clone();
    let mut init = vec![0.0; l.len];
    for c in 0..l.channels {
        init[l.adstock_of(c)].copy_from_slice(&point.adstock[c]);
        init[l.saturation_of(c)].copy_from_slice(&point.saturation[c]);
        if !l.log_tau.is_empty() {
            init[l.log_tau.start + c] = START_TAU.ln();
            for r in 0..l.regions {
                init[l.eps_at(r, c)] = (point.eta[[r, c]] / START_TAU).clamp(-3.0, 3.0);
            }
        }
    }
    // The effects last: their coordinate depends on the transforms and region multipliers.
    for c in 0..l.channels {
        let beta = point.beta[c].max(MIN_START_BETA);
        init[l.log_effect.start + c] = posterior.log_effect_for(&init, c, beta);
    }
    if !l.region_trend.is_empty() {
        init[l.region_trend.clone()].copy_from_slice(&point.region_trend);
    }
    init[l.trend] = point.trend;
    init[l.season.clone()].copy_from_slice(&point.season);
    init[l.gamma.clone()].copy_from_slice(&point.gamma);
    init[l.log_sigma] = sigma.ln();
    // The region levels last: b̃_r = b_r plus the means of the other terms, which with b̃ = 0 are
    // minus the intercepts.
    for (r, shift) in posterior.intercepts(&init).into_iter().enumerate() {
        init[l.base.start + r] = point.base[r] - shift;
    }
    Ok((posterior, init))
}

impl PosteriorModel {
    /// The model's full parameter vector (`mmm_model::Layout`, as `FittedModel::params`) whose
    /// prediction is this posterior's mean at the unconstrained draw `theta`, starting from the
    /// point fit's `point` (docs/model.md, "Posterior"):
    ///
    /// * the sampled blocks take the draw's values: adstock and saturation parameters (the same
    ///   unconstrained scale), β_c (as softplus⁻¹ β_c), η_{r,c} = τ_c ε_{r,c}, b_r, δ, Δδ_r (0 with
    ///   one region, where the posterior has no region trend), φ_f and γ_k;
    /// * what the posterior's mean does not have is switched off: the region seasonal deviations
    ///   Δφ_{r,f} and the effectiveness head (m_c = 1) are zero, and so is the baseline head
    ///   (g = 0) unless the posterior holds the point fit's GRU baseline modulation as its offset,
    ///   which the point fit's own GRU and head then reproduce;
    /// * the GRU weights stay the point fit's (with both heads off they do not reach the
    ///   prediction; with the baseline head on they give the offset).
    ///
    /// # Errors
    /// [`Error::Input`] when `theta` or `point` has the wrong length.
    pub fn model_params(&self, theta: &[f64], point: &[f64]) -> Result<Vec<f64>> {
        let l = self.layout();
        let model = self.model();
        if theta.len() != l.len || point.len() != model.n_params() {
            return Err(crate::Error::Input(format!(
                "a draw has {} coordinates and a model {} parameters; expected {} and {}",
                theta.len(),
                point.len(),
                l.len,
                model.n_params()
            )));
        }
        let mut p = point.to_vec();
        let mut s = model.structural(point);
        s.beta = self.betas(theta);
        for c in 0..l.channels {
            s.adstock[c].copy_from_slice(&theta[l.adstock_of(c)]);
            s.saturation[c].copy_from_slice(&theta[l.saturation_of(c)]);
            for r in 0..l.regions {
                s.eta[[r, c]] = l.eta(theta, r, c);
            }
        }
        // The posterior samples each region's level; the model's b_r is the intercept.
        s.base = self.intercepts(theta);
        s.region_trend = if l.region_trend.is_empty() {
            vec![0.0; l.regions]
        } else {
            theta[l.region_trend.clone()].to_vec()
        };
        s.trend = theta[l.trend];
        s.season.copy_from_slice(&theta[l.season.clone()]);
        s.gamma.copy_from_slice(&theta[l.gamma.clone()]);
        s.region_season.fill(0.0);
        model.set_structural(&mut p, &s);
        let keep_baseline = self.data().offset.iter().any(|&o| o != 0.0);
        model.neutral_modulation(&mut p, keep_baseline);
        Ok(p)
    }
}

/// Each user prior with its channel's index.
///
/// # Errors
/// [`Error::Prior`] for an unknown channel or a second prior on the same channel.
fn resolve_channel_priors<'a>(
    channels: &[String],
    priors: &'a [ChannelPrior],
) -> Result<Vec<(usize, &'a ChannelPrior)>> {
    let mut seen = vec![false; channels.len()];
    priors
        .iter()
        .map(|p| {
            let c = channels
                .iter()
                .position(|name| *name == p.channel)
                .ok_or_else(|| {
                    Error::Prior(format!(
                        "channel prior on `{}`, which is not a media channel (channels: {})",
                        p.channel,
                        channels.join(", ")
                    ))
                })?;
            if std::mem::replace(&mut seen[c], true) {
                return Err(Error::Prior(format!(
                    "`{}` has more than one channel prior",
                    p.channel
                )));
            }
            Ok((c, p))
        })
        .collect()
}

/// The prior on f_c that a user's channel prior states: f_c = ROI · spend / Y for an ROI prior
/// (a log-normal scales), the contribution fraction itself otherwise.
///
/// # Errors
/// [`Error::Prior`] unless exactly one of `roi` and `contribution` is given, for an ROI prior on
/// a channel without spend, or for a mean or sd that is not finite and > 0.
fn effect_prior(prior: &ChannelPrior, spend: f64, target_total: f64) -> Result<EffectPrior> {
    match (&prior.roi, &prior.contribution) {
        (Some(roi), None) => {
            if !(spend.is_finite() && spend > 0.0) {
                return Err(Error::Prior(format!(
                    "`{}`: an ROI prior needs spend in the training weeks",
                    prior.channel
                )));
            }
            let k = spend / target_total;
            EffectPrior::from_mean_sd(roi.mean * k, roi.sd * k)
        }
        (None, Some(f)) => EffectPrior::from_mean_sd(f.mean, f.sd),
        _ => Err(Error::Prior(format!(
            "`{}`: a channel prior gives exactly one of `roi` and `contribution`",
            prior.channel
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::priors::MeanSd;

    fn prior(channel: &str, roi: Option<MeanSd>, contribution: Option<MeanSd>) -> ChannelPrior {
        ChannelPrior {
            channel: channel.into(),
            roi,
            contribution,
        }
    }

    #[test]
    fn an_roi_prior_is_a_prior_on_the_contribution_fraction() {
        let ms = |mean, sd| Some(MeanSd { mean, sd });
        // ROI 2 ± 0.5 with spend 100 on a target of 1000: f = 0.2 ± 0.05.
        let from_roi = effect_prior(&prior("tv", ms(2.0, 0.5), None), 100.0, 1000.0).unwrap();
        let direct = effect_prior(&prior("tv", None, ms(0.2, 0.05)), 0.0, 1000.0).unwrap();
        assert!((from_roi.mu - direct.mu).abs() < 1e-12);
        assert!((from_roi.sigma - direct.sigma).abs() < 1e-12);
        for bad in [
            prior("tv", ms(2.0, 0.5), ms(0.2, 0.05)),
            prior("tv", None, None),
            prior("tv", ms(-2.0, 0.5), None),
            prior("tv", None, ms(0.2, 0.0)),
        ] {
            assert!(effect_prior(&bad, 100.0, 1000.0).is_err(), "{bad:?}");
        }
        assert!(effect_prior(&prior("tv", ms(2.0, 0.5), None), 0.0, 1000.0).is_err());
    }

    #[test]
    fn channel_priors_name_known_channels_once() {
        let channels = vec!["tv".to_string(), "search".to_string()];
        let c = |name: &str| prior(name, None, Some(MeanSd { mean: 0.1, sd: 0.1 }));
        let ok = [c("search"), c("tv")];
        let resolved = resolve_channel_priors(&channels, &ok).unwrap();
        assert_eq!(
            resolved.iter().map(|(i, _)| *i).collect::<Vec<_>>(),
            vec![1, 0]
        );
        assert!(resolve_channel_priors(&channels, &[c("radio")]).is_err());
        assert!(resolve_channel_priors(&channels, &[c("tv"), c("tv")]).is_err());
    }
}
