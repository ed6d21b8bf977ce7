//! Attribution stability: refits from random starting points of the media coefficients, so that
//! users see how much of the channel split the data pin down.
//!
//! The loss is nearly flat along directions that trade one channel against another or against the
//! baseline (docs/model.md, *Defaults and how they were chosen*), so a fit ends near where its media coefficients started wherever the
//! data cannot tell the channels apart. [`assess_stability`] refits the same panel with the same
//! configuration from `n` other starts: restart k uses seed `seed + k` and draws
//!
//! ```text
//! split_c  = e_c / Σ e,        e_c ~ Exp(1)          (uniform on the simplex: Dirichlet(1, …, 1))
//! share    = s₀ · 2^u,         u ~ U(−1, 1)          (s₀ = initial_media_share, clamped to [0.02, 0.9])
//! ```
//!
//! from a generator seeded by (seed, k). Every fit reports its channels' shares, ROI and marginal
//! ROI and its best validation loss; per channel, [`ChannelStability`] gives the minimum, median and
//! maximum over the configured fit and the restarts. A narrow range means the data decide that
//! channel's number; a wide one means the number mostly reflects the starting point (the prior).
//! The range is a sensitivity interval, not a confidence interval: it says nothing about sampling
//! noise in the data.
//!
//! A two-stage fit (`media_fit = "screen"`, docs/model.md, *Outcome equation*) has no starting point for its media
//! part: the media screen chooses kernels, curves and effects from the data alone. Its restarts
//! therefore resample the data instead: restart k runs the media screen on a bootstrap resample of
//! the regions (as many draws as regions, with replacement, from a generator seeded by
//! `seed + k`; a region drawn twice enters the screen's regression twice, each copy with its own
//! level, trend and season) and fits the rest of the model on the whole panel around that media
//! part. Regions are the resampled unit because they are the panel's independent replicates
//! (weeks are not: they share national flighting, season and autocorrelated noise). The range
//! over those fits is then a rough sampling interval of the screened attribution (min–max of a
//! few bootstrap fits, not a calibrated confidence level).

use crate::fit::fit_panel_screening;
use crate::train::Progress;
use crate::{Error, Result};
use mmm_data::{ColumnSpec, Panel};
use mmm_fitted::{
    ChannelStability, ChannelSummary, FitConfig, FittedModel, Spread, Stability, StabilityFit,
    Start,
};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::Exp1;

/// The configuration of restart `k` (k ≥ 1) of `base` for a panel with `channels` channels.
pub fn restart_config(base: &FitConfig, channels: usize, k: usize) -> FitConfig {
    let seed = base.train.seed.wrapping_add(k as u64);
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x5eed_57ab_1117);
    let split: Vec<f64> = (0..channels)
        .map(|_| rng.sample::<f64, _>(Exp1).max(1e-6))
        .collect();
    let u: f64 = rng.random_range(-1.0..1.0);
    let share = (base.model.initial_media_share * 2f64.powf(u)).clamp(0.02, 0.9);
    let mut cfg = base.clone();
    cfg.train.seed = seed;
    cfg.model.initial_media_share = share;
    cfg.model.initial_media_split = Some(split);
    cfg
}

fn start_of(fitted: &FittedModel) -> Start {
    let m = &fitted.config.model;
    Start {
        seed: fitted.config.train.seed,
        media_share: m.initial_media_share,
        media_split: m.initial_media_fractions(fitted.channels.len()),
    }
}

/// `n` region indices drawn uniformly with replacement, from a generator seeded by `seed`.
pub(crate) fn bootstrap_regions(n: usize, seed: u64) -> Vec<usize> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0xb007_5742_e610);
    (0..n).map(|_| rng.random_range(0..n)).collect()
}

fn summarise(
    fitted: &FittedModel,
    panel: &Panel,
    screen_sample: Option<&[usize]>,
) -> Result<StabilityFit> {
    let (_, decomposition) = fitted.predict(panel)?;
    Ok(StabilityFit {
        start: start_of(fitted),
        screen_regions: screen_sample
            .map(|sample| sample.iter().map(|&r| panel.regions[r].clone()).collect()),
        best_validation_loss: fitted
            .training
            .iter()
            .filter(|e| e.stage == 1 && e.fold == 0)
            .filter_map(|e| e.validation_loss)
            .min_by(f64::total_cmp),
        best_epochs: fitted.best_epochs,
        channels: fitted.channel_summaries(panel, &decomposition)?,
    })
}

/// Refits `panel` from `restarts` random starts (module docs) and summarises the attribution of
/// `fitted` (the fit with the configuration `cfg`, on the same panel) and of every restart.
/// `progress` receives the restart number (1-based) and its training progress.
pub fn assess_stability(
    panel: &Panel,
    columns: &ColumnSpec,
    cfg: &FitConfig,
    fitted: &FittedModel,
    restarts: usize,
    progress: &mut dyn FnMut(usize, Progress),
) -> Result<Stability> {
    if fitted.channels != panel.channels || fitted.regions != panel.regions {
        return Err(Error::Config(
            "the stability assessment needs the fit of the same panel".into(),
        ));
    }
    let two_stage = fitted.screened_media.as_ref().is_some_and(|m| m.used);
    let mut fits = vec![summarise(fitted, panel, None)?];
    for k in 1..=restarts {
        let mut cfg_k = restart_config(cfg, panel.n_channels(), k);
        // Refits take the path the fit took (not both again).
        cfg_k.model.media_fit = if two_stage {
            mmm_model::MediaFit::Screen
        } else {
            mmm_model::MediaFit::Joint
        };
        let sample = two_stage.then(|| bootstrap_regions(panel.n_regions(), cfg_k.train.seed));
        let refit = fit_panel_screening(
            panel,
            columns,
            &cfg_k,
            &fitted.transforms,
            sample.as_deref(),
            &mut |p| progress(k, p),
        )?;
        fits.push(summarise(&refit, panel, sample.as_deref())?);
    }
    let channels = panel
        .channels
        .iter()
        .enumerate()
        .map(|(c, name)| {
            let pick = |f: &dyn Fn(&ChannelSummary) -> Option<f64>| {
                Spread::of(fits.iter().map(|fit| f(&fit.channels[c])))
            };
            ChannelStability {
                channel: name.clone(),
                share: pick(&|s| Some(s.share)).unwrap_or(Spread {
                    min: f64::NAN,
                    median: f64::NAN,
                    max: f64::NAN,
                }),
                roi: pick(&|s| s.roi),
                mroi: pick(&|s| s.mroi),
            }
        })
        .collect();
    Ok(Stability { fits, channels })
}
