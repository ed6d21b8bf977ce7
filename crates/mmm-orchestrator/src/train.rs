//! The training loop: full-batch Adam over all regions, global-norm clipping, a learning-rate
//! schedule and early stopping driven by a validation slice cut from the END of the training
//! weeks — the holdout is never seen here.
//!
//! Two stages (the second optional, on by default):
//! 1. fit on the training weeks minus the validation slice; after every epoch, score the
//!    validation slice; reduce the learning rate on plateaus and stop early on that score;
//!    remember the best epoch and the learning rate of every epoch;
//! 2. refit from the same initial parameters on all training weeks for exactly the best number
//!    of epochs, replaying the recorded learning rates. The validation weeks thus inform *how
//!    long* to train, and the final model still learns from the most recent weeks, which matter
//!    most for a forecast.
//!
//! Validation folds (`validation_folds` = K > 1, rolling origin): stage 1 runs K times, fold k
//! validating on the k-th slice counted back from the end of the training weeks and learning from
//! the weeks before it; stage 2 trains for the epoch count with the lowest *mean* validation loss
//! over the epochs every fold reached, replaying the learning rates of fold 0 (the latest slice).
//! One slice of one region is a handful of noisy weeks; averaging K of them steadies the choice
//! (docs/model.md, *Defaults and how they were chosen* measures it).
//!
//! Determinism: the gradient is computed by the model with fixed-order reductions, so the same
//! seed gives the same parameters whatever the number of rayon threads.

use crate::{Error, Result};
use mmm_fitted::{EpochRecord, TrainConfig};
use mmm_model::{Model, ModelInputs};
use mmm_optim::{Adam, EarlyStopping, Optimizer, ReduceOnPlateau, clip_global_norm};
use ndarray::Array2;
use serde::{Deserialize, Serialize};

/// What the training produced.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TrainOutcome {
    /// Final parameters.
    pub params: Vec<f64>,
    /// Every epoch of both stages.
    pub history: Vec<EpochRecord>,
    /// Number of epochs selected by validation (all epochs when there is no validation).
    pub best_epochs: usize,
    /// Whether stage 1 stopped before `epochs`.
    pub stopped_early: bool,
    /// Validation data loss at the selected epoch (the mean over the folds); `None` without
    /// validation. Comparable between fits of the same inputs and weights, whatever their
    /// structure: `fit_panel` chooses the media path by it.
    #[serde(default)]
    pub validation_loss: Option<f64>,
    /// Stage-1 parameters of the latest validation slice (fold 0) at its best epoch: the model
    /// that forecast that slice without having seen it; `None` without validation.
    #[serde(default)]
    pub validation_params: Option<Vec<f64>>,
}

/// Progress events for a progress bar (the library never prints).
#[derive(Debug, Clone, Copy)]
pub struct Progress {
    /// Current stage (1 or 2).
    pub stage: u8,
    /// Validation fold of stage 1 (0 = the latest slice; always 0 in stage 2).
    pub fold: usize,
    /// Epochs done in this stage.
    pub epoch: usize,
    /// Planned epochs of this stage (an upper bound in stage 1).
    pub planned: usize,
    /// Latest training loss.
    pub train_loss: f64,
    /// Latest validation loss, if any.
    pub validation_loss: Option<f64>,
}

/// Trains `model` on `inputs`.
///
/// `train_weeks` are the weeks the model may learn from (never the holdout); `region_weight`
/// weights regions in the loss (see [`Model::region_weights`]). `progress` is called after every
/// epoch.
pub fn train(
    model: &Model,
    inputs: &ModelInputs,
    train_weeks: std::ops::Range<usize>,
    region_weight: &[f64],
    cfg: &TrainConfig,
    progress: &mut dyn FnMut(Progress),
) -> Result<TrainOutcome> {
    cfg.validate()?;
    let n_train = train_weeks.len();
    let validation_weeks = cfg.validation_weeks_for(inputs.n_regions());
    let use_validation = validation_weeks > 0 && validation_weeks < n_train;
    let folds = cfg.validation_folds_for(n_train, validation_weeks)?;
    let all_weights = inputs.loss_weights(train_weeks.clone(), region_weight)?;
    let mut history = Vec::new();

    if !use_validation {
        let init = model.init_params(inputs, &all_weights, cfg.seed);
        let lrs = vec![cfg.learning_rate; cfg.epochs];
        let params = run_fixed(
            model,
            inputs,
            &all_weights,
            init,
            &lrs,
            cfg,
            1,
            &mut history,
            progress,
        )?;
        return Ok(TrainOutcome {
            params,
            history,
            best_epochs: cfg.epochs,
            stopped_early: false,
            validation_loss: None,
            validation_params: None,
        });
    }

    // Stage 1, once per validation fold: fold k validates on the k-th slice counted back from the
    // end of the training weeks and learns from the weeks before it.
    let mut runs = Vec::with_capacity(folds);
    for fold in 0..folds {
        let split = train_weeks.end - (fold + 1) * validation_weeks;
        let fit_weights = inputs.loss_weights(train_weeks.start..split, region_weight)?;
        let val_weights = inputs.loss_weights(split..split + validation_weeks, region_weight)?;
        runs.push(stage_one(
            model,
            inputs,
            &fit_weights,
            &val_weights,
            cfg,
            fold,
            &mut history,
            progress,
        )?);
    }
    // Observation k scored the parameters after k updates; with several folds, the epoch with the
    // lowest mean validation loss over the epochs every fold reached.
    let (best, validation_loss) = if folds == 1 {
        (runs[0].stopper.best_epoch(), runs[0].stopper.best_metric())
    } else {
        let reached = runs.iter().map(|r| r.validation.len()).min().unwrap_or(0);
        (0..reached)
            .map(|e| {
                let sum: f64 = runs.iter().map(|r| r.validation[e]).sum();
                (e, sum / folds as f64)
            })
            .filter(|(_, v)| v.is_finite())
            .min_by(|a, b| a.1.total_cmp(&b.1))
            .map_or((None, None), |(e, v)| (Some(e), Some(v)))
    };
    let validation_params = runs[0].stopper.best_params().map(<[f64]>::to_vec);
    let recent = runs.swap_remove(0);
    let stopped_early = recent.stopped_early;
    let lrs = recent.lrs;
    let best_epochs = best
        .map_or(lrs.len(), |e| e)
        .clamp(1.min(lrs.len()), lrs.len());
    let mut params = recent.params;
    if !cfg.refit {
        recent.stopper.restore(&mut params);
        return Ok(TrainOutcome {
            params,
            history,
            best_epochs,
            stopped_early,
            validation_loss,
            validation_params,
        });
    }

    // Stage 2: same start, all training weeks, the recorded learning rates up to the best epoch.
    let init = model.init_params(inputs, &all_weights, cfg.seed);
    let params = run_fixed(
        model,
        inputs,
        &all_weights,
        init,
        &lrs[..best_epochs],
        cfg,
        2,
        &mut history,
        progress,
    )?;
    Ok(TrainOutcome {
        params,
        history,
        best_epochs,
        stopped_early,
        validation_loss,
        validation_params,
    })
}

/// What one stage-1 run (one validation fold) produced.
struct StageOne {
    /// Parameters after the last update.
    params: Vec<f64>,
    /// The early stopper (it holds the best parameters of this fold).
    stopper: EarlyStopping,
    /// Validation loss of the parameters after `k` updates, k = 0, 1, ….
    validation: Vec<f64>,
    /// Learning rate of every update that was not followed by a stop.
    lrs: Vec<f64>,
    /// Whether the run stopped before `epochs`.
    stopped_early: bool,
}

/// Stage 1 on one fold: Adam from the initial parameters for `fit_weights`, scoring
/// `val_weights` every epoch, reducing the learning rate on plateaus and stopping early.
#[allow(clippy::too_many_arguments)]
fn stage_one(
    model: &Model,
    inputs: &ModelInputs,
    fit_weights: &Array2<f64>,
    val_weights: &Array2<f64>,
    cfg: &TrainConfig,
    fold: usize,
    history: &mut Vec<EpochRecord>,
    progress: &mut dyn FnMut(Progress),
) -> Result<StageOne> {
    let mut params = model.init_params(inputs, fit_weights, cfg.seed);
    let mut grad = vec![0.0; params.len()];
    let mut adam = Adam::new(cfg.learning_rate).map_err(|e| Error::Config(e.to_string()))?;
    let mut plateau = ReduceOnPlateau::new(cfg.plateau_factor, cfg.plateau_patience)
        .and_then(|p| p.min_lr(cfg.min_learning_rate))
        .map_err(|e| Error::Config(e.to_string()))?;
    let mut stopper =
        EarlyStopping::new(cfg.patience, 0.0).map_err(|e| Error::Config(e.to_string()))?;
    let mut lrs = Vec::new();
    let mut validation = Vec::new();
    let mut stopped_early = false;
    // The validation loss of the parameters *before* each update comes from the same forward pass
    // as the training gradient, so each epoch costs one forward and one backward pass.
    let mut before = params.clone();
    for epoch in 0..cfg.epochs {
        let (loss, prediction) =
            model.loss_grad_and_prediction(&params, inputs, fit_weights, &mut grad);
        check_finite(loss.total(), epoch, 1)?;
        let val = model.data_loss(&prediction, inputs, val_weights).0;
        validation.push(val);
        before.copy_from_slice(&params);
        let grad_norm = clip_global_norm(&mut grad, cfg.clip_norm);
        let lr = adam.learning_rate();
        adam.step(&mut params, &grad);
        history.push(EpochRecord {
            stage: 1,
            fold,
            epoch,
            train_loss: loss.total(),
            validation_loss: Some(val),
            learning_rate: lr,
            grad_norm,
        });
        progress(Progress {
            stage: 1,
            fold,
            epoch: epoch + 1,
            planned: cfg.epochs,
            train_loss: loss.total(),
            validation_loss: Some(val),
        });
        // `val` scores the parameters of `before`, reached after `epoch` updates.
        if stopper.observe(val, &before).is_stop() {
            stopped_early = epoch + 1 < cfg.epochs;
            break;
        }
        lrs.push(lr);
        let next_lr = plateau.observe(val, lr);
        adam.set_learning_rate(next_lr);
    }
    Ok(StageOne {
        params,
        stopper,
        validation,
        lrs,
        stopped_early,
    })
}

fn check_finite(loss: f64, epoch: usize, stage: u8) -> Result<()> {
    if loss.is_finite() {
        Ok(())
    } else {
        Err(Error::Diverged { epoch, stage })
    }
}

#[allow(clippy::too_many_arguments)]
fn run_fixed(
    model: &Model,
    inputs: &ModelInputs,
    weights: &Array2<f64>,
    mut params: Vec<f64>,
    lrs: &[f64],
    cfg: &TrainConfig,
    stage: u8,
    history: &mut Vec<EpochRecord>,
    progress: &mut dyn FnMut(Progress),
) -> Result<Vec<f64>> {
    let mut grad = vec![0.0; params.len()];
    let mut adam = Adam::new(cfg.learning_rate).map_err(|e| Error::Config(e.to_string()))?;
    for (epoch, &lr) in lrs.iter().enumerate() {
        let loss = model.loss_and_grad(&params, inputs, weights, &mut grad);
        check_finite(loss.total(), epoch, stage)?;
        let grad_norm = clip_global_norm(&mut grad, cfg.clip_norm);
        adam.set_learning_rate(lr);
        adam.step(&mut params, &grad);
        history.push(EpochRecord {
            stage,
            fold: 0,
            epoch,
            train_loss: loss.total(),
            validation_loss: None,
            learning_rate: lr,
            grad_norm,
        });
        progress(Progress {
            stage,
            fold: 0,
            epoch: epoch + 1,
            planned: lrs.len(),
            train_loss: loss.total(),
            validation_loss: None,
        });
    }
    Ok(params)
}
