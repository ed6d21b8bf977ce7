//! Training-loop tests: the loss falls, the holdout cannot influence the result, and the result
//! does not depend on the number of threads.

use super::*;
use mmm_fitted::{EpochRecord, TrainConfig};
use mmm_model::{Model, ModelConfig, ModelInputs};
use mmm_testkit::seeded_uniform;
use ndarray::{Array2, Array3};

/// A small panel whose target is a known additive function of two media and a control.
fn panel(seed: u64, r_n: usize, t_n: usize) -> (Array3<f64>, Array3<f64>, Array2<f64>, Vec<f64>) {
    let media =
        Array3::from_shape_vec((r_n, t_n, 2), seeded_uniform(seed, r_n * t_n * 2, 0.0, 2.0))
            .unwrap();
    let controls = Array3::from_shape_vec(
        (r_n, t_n, 1),
        seeded_uniform(seed + 1, r_n * t_n, -1.0, 1.0),
    )
    .unwrap();
    let noise = seeded_uniform(seed + 2, r_n * t_n, -0.02, 0.02);
    let year: Vec<f64> = (0..t_n).map(|t| (t as f64 / 52.0).fract()).collect();
    let target = Array2::from_shape_fn((r_n, t_n), |(r, t)| {
        let m0 = media[[r, t, 0]] / (media[[r, t, 0]] + 1.0);
        let m1 = media[[r, t, 1]] / (media[[r, t, 1]] + 0.5);
        0.7 + 0.2 * m0
            + 0.1 * m1
            + 0.05 * controls[[r, t, 0]]
            + 0.05 * (2.0 * std::f64::consts::PI * year[t]).sin()
            + noise[r * t_n + t]
    });
    (media, controls, target, year)
}

fn inputs(
    target: &Array2<f64>,
    seed: u64,
    r_n: usize,
    t_n: usize,
    train_end: usize,
) -> ModelInputs {
    let (media, controls, _, year) = panel(seed, r_n, t_n);
    let observed = Array2::from_elem((r_n, t_n), true);
    ModelInputs::new(
        &media,
        &controls,
        target,
        &observed,
        &year,
        train_end - 1,
        1,
    )
    .unwrap()
}

fn small_config() -> (ModelConfig, TrainConfig) {
    let model = ModelConfig {
        hidden: 4,
        fourier_harmonics: 1,
        ..ModelConfig::default()
    };
    let train = TrainConfig {
        epochs: 60,
        validation_weeks: Some(6),
        patience: 20,
        ..TrainConfig::default()
    };
    (model, train)
}

#[test]
fn training_lowers_the_loss_and_records_history() {
    let (r_n, t_n, train_end) = (4, 60, 50);
    let (_, _, target, _) = panel(1, r_n, t_n);
    let inp = inputs(&target, 1, r_n, t_n, train_end);
    let (mcfg, tcfg) = small_config();
    let model = Model::new(mcfg, r_n, 2, 1).unwrap();
    let w = vec![1.0; r_n];
    let mut calls = 0;
    let out = train(&model, &inp, 0..train_end, &w, &tcfg, &mut |_| calls += 1).unwrap();
    assert_eq!(calls, out.history.len());
    let first = out.history.first().unwrap().train_loss;
    let stage1_last = out.history.iter().rfind(|h| h.stage == 1).unwrap();
    assert!(
        stage1_last.train_loss < 0.5 * first,
        "loss {first} -> {}",
        stage1_last.train_loss
    );
    assert!(stage1_last.validation_loss.is_some());
    let stage2 = out.history.iter().filter(|h| h.stage == 2).count();
    assert_eq!(
        stage2, out.best_epochs,
        "the refit runs exactly the selected number of epochs"
    );
}

#[test]
fn a_converged_config_trains_every_epoch_without_validation() {
    let (r_n, t_n, train_end) = (2, 40, 34);
    let (_, _, target, _) = panel(3, r_n, t_n);
    let inp = inputs(&target, 1, r_n, t_n, train_end);
    let (mcfg, tcfg) = small_config();
    // Patience far below the epoch count: early stopping would end a validated run sooner.
    let tcfg = TrainConfig {
        patience: 2,
        plateau_patience: 2,
        ..tcfg
    }
    .converged();
    let model = Model::new(mcfg, r_n, 2, 1).unwrap();
    let out = train(
        &model,
        &inp,
        0..train_end,
        &vec![1.0; r_n],
        &tcfg,
        &mut |_| {},
    )
    .unwrap();
    assert_eq!(out.history.len(), tcfg.epochs);
    assert_eq!(out.best_epochs, tcfg.epochs);
    assert!(out.history.iter().all(|h| h.validation_loss.is_none()));
}

#[test]
fn holdout_targets_cannot_change_the_fit() {
    let (r_n, t_n, train_end) = (3, 50, 40);
    let (_, _, target, _) = panel(2, r_n, t_n);
    let mut scrambled = target.clone();
    for r in 0..r_n {
        for t in train_end..t_n {
            scrambled[[r, t]] = 1e6 * (t as f64 + 1.0); // absurd holdout values
        }
    }
    let (mcfg, tcfg) = small_config();
    let model = Model::new(mcfg, r_n, 2, 1).unwrap();
    let w = vec![1.0; r_n];
    let a = train(
        &model,
        &inputs(&target, 2, r_n, t_n, train_end),
        0..train_end,
        &w,
        &tcfg,
        &mut |_| {},
    )
    .unwrap();
    let b = train(
        &model,
        &inputs(&scrambled, 2, r_n, t_n, train_end),
        0..train_end,
        &w,
        &tcfg,
        &mut |_| {},
    )
    .unwrap();
    assert_eq!(a.params, b.params);
    assert_eq!(a.best_epochs, b.best_epochs);
}

#[test]
fn same_seed_same_result_whatever_the_thread_count() {
    // Enough regions for several GRU chunks, so that the parallel reduction is exercised.
    let (r_n, t_n, train_end) = (70, 30, 26);
    let (_, _, target, _) = panel(3, r_n, t_n);
    let inp = inputs(&target, 3, r_n, t_n, train_end);
    let (mcfg, mut tcfg) = small_config();
    tcfg.epochs = 8;
    tcfg.validation_weeks = Some(4);
    let model = Model::new(mcfg, r_n, 2, 1).unwrap();
    let w = vec![1.0; r_n];
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| train(&model, &inp, 0..train_end, &w, &tcfg, &mut |_| {}).unwrap())
    };
    let one = run(1);
    let two = run(2);
    let bits = |p: &[f64]| p.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&one.params), bits(&two.params));
}

#[test]
fn bad_settings_are_named() {
    let cfg = TrainConfig {
        plateau_factor: 1.5,
        ..TrainConfig::default()
    };
    assert!(
        cfg.validate()
            .unwrap_err()
            .to_string()
            .contains("plateau_factor")
    );
    let folds_without_validation = TrainConfig {
        validation_folds: 3,
        ..TrainConfig::default()
    }
    .converged();
    assert!(
        folds_without_validation
            .validate()
            .unwrap_err()
            .to_string()
            .contains("validation_folds")
    );
}

/// Validation loss per stage-1 epoch of one fold, from the training history.
fn fold_curve(history: &[EpochRecord], fold: usize) -> Vec<f64> {
    history
        .iter()
        .filter(|h| h.stage == 1 && h.fold == fold)
        .map(|h| h.validation_loss.unwrap())
        .collect()
}

fn argmin(v: impl Iterator<Item = f64>) -> usize {
    v.enumerate()
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(e, _)| e)
        .unwrap()
}

#[test]
fn validation_folds_choose_the_epochs_with_the_lowest_mean_validation_loss() {
    // One region, a noisy target: the slices disagree on when to stop.
    let (r_n, t_n, train_end) = (1, 90, 80);
    let (_, _, target, _) = panel(4, r_n, t_n);
    let inp = inputs(&target, 4, r_n, t_n, train_end);
    let (mcfg, mut tcfg) = small_config();
    tcfg.epochs = 150;
    tcfg.patience = 30;
    tcfg.validation_weeks = Some(8);
    tcfg.validation_folds = 3;
    let model = Model::new(mcfg, r_n, 2, 1).unwrap();
    let w = vec![1.0; r_n];
    let mut reported = Vec::new();
    let out = train(&model, &inp, 0..train_end, &w, &tcfg, &mut |p| {
        reported.push((p.stage, p.fold))
    })
    .unwrap();
    let recorded: Vec<(u8, usize)> = out.history.iter().map(|h| (h.stage, h.fold)).collect();
    assert_eq!(
        reported, recorded,
        "progress names each epoch's stage and fold"
    );

    let curves: Vec<Vec<f64>> = (0..3).map(|k| fold_curve(&out.history, k)).collect();
    assert!(curves.iter().all(|c| !c.is_empty()), "every fold trains");
    assert!(
        curves[0][0] != curves[1][0] && curves[1][0] != curves[2][0],
        "each fold scores its own slice"
    );
    let reached = curves.iter().map(Vec::len).min().unwrap();
    let mean = (0..reached).map(|e| curves.iter().map(|c| c[e]).sum::<f64>() / 3.0);
    let expected = argmin(mean).max(1);
    assert_eq!(out.best_epochs, expected);
    let own = argmin(curves[0].iter().copied()).max(1);
    assert_ne!(
        own, expected,
        "on this panel the latest slice alone would pick another epoch count"
    );
    let stage2 = out.history.iter().filter(|h| h.stage == 2).count();
    assert_eq!(stage2, out.best_epochs);
}

#[test]
fn validation_folds_are_checked_against_the_training_weeks() {
    let cfg = |folds: usize, refit: bool| TrainConfig {
        validation_folds: folds,
        refit,
        ..TrainConfig::default()
    };
    let err = |c: TrainConfig, n, v| c.validation_folds_for(n, v).unwrap_err().to_string();
    assert!(err(cfg(0, true), 100, 13).contains("validation_folds"));
    assert!(err(cfg(2, false), 100, 13).contains("refit"));
    // 3 slices of 13 weeks leave 61 ≥ 26 training weeks; 6 slices leave 22.
    assert_eq!(cfg(3, true).validation_folds_for(100, 13).unwrap(), 3);
    assert!(err(cfg(6, true), 100, 13).contains("fewer than 26"));
    // Without validation there is nothing to fold.
    assert_eq!(cfg(6, true).validation_folds_for(100, 0).unwrap(), 1);
}
