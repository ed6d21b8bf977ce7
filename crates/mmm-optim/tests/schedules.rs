//! Gradient clipping, the plateau learning-rate schedule, and early stopping.

use mmm_optim::{
    EarlyStopping, Error, ReduceOnPlateau, StopDecision, clip_global_norm, global_norm,
};
use mmm_testkit::seeded_uniform;
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::with_cases(16) })]

    #[test]
    fn clipping_leaves_small_gradients_untouched(seed in 0u64..1000, n in 1usize..20) {
        let g = seeded_uniform(seed, n, -1.0, 1.0);
        let norm = g.iter().map(|v| v * v).sum::<f64>().sqrt();
        let mut clipped = g.clone();
        let before = clip_global_norm(&mut clipped, norm * 1.5);
        prop_assert_eq!(&clipped, &g);
        prop_assert!((before - norm).abs() <= 1e-15 * norm);
        // Exactly at the threshold: untouched too.
        let before = clip_global_norm(&mut clipped, before);
        prop_assert_eq!(&clipped, &g);
        prop_assert!(before > 0.0);
    }

    #[test]
    fn clipping_scales_large_gradients_to_max_norm(seed in 0u64..1000, n in 1usize..20, max in 1e-3f64..0.5) {
        let g = seeded_uniform(seed, n, -10.0, 10.0);
        let norm = global_norm(&g);
        prop_assume!(norm > max);
        let mut clipped = g.clone();
        let before = clip_global_norm(&mut clipped, max);
        prop_assert!((before - norm).abs() <= 1e-15 * norm);
        let after = global_norm(&clipped);
        prop_assert!((after - max).abs() <= 4.0 * f64::EPSILON * max, "{} vs {}", after, max);
        // Direction preserved: every component scaled by the same factor.
        for (c, o) in clipped.iter().zip(&g) {
            prop_assert!((c - o * max / norm).abs() <= 1e-15 * o.abs());
        }
    }
}

#[test]
fn global_norm_handles_extreme_magnitudes() {
    assert_eq!(global_norm(&[]), 0.0);
    assert_eq!(global_norm(&[3.0, 4.0]), 5.0);
    assert!((global_norm(&[3e200, 4e200]) / 5e200 - 1.0).abs() < 1e-15);
    assert!((global_norm(&[3e-200, 4e-200]) / 5e-200 - 1.0).abs() < 1e-15);
    assert!(global_norm(&[1.0, f64::NAN]).is_nan());
    assert_eq!(global_norm(&[1.0, f64::INFINITY]), f64::INFINITY);
}

#[test]
fn clipping_leaves_non_finite_gradients_alone() {
    let mut g = vec![1e3, f64::NAN];
    assert!(clip_global_norm(&mut g, 1.0).is_nan());
    assert_eq!(g[0], 1e3);
}

#[test]
fn plateau_lowers_the_lr_after_patience_bad_observations() {
    let mut p = ReduceOnPlateau::new(0.5, 3)
        .unwrap()
        .threshold(0.0)
        .unwrap();
    let mut lr = 1.0;
    for m in [10.0, 9.0, 8.0] {
        lr = p.observe(m, lr);
        assert_eq!(lr, 1.0);
    }
    // Two non-improving observations: not yet.
    lr = p.observe(8.0, lr);
    lr = p.observe(8.5, lr);
    assert_eq!(lr, 1.0);
    assert_eq!(p.num_bad_observations(), 2);
    // The third one triggers the reduction.
    lr = p.observe(8.1, lr);
    assert_eq!(lr, 0.5);
    assert_eq!(p.reductions(), 1);
    // An improvement resets the counter.
    lr = p.observe(9.0, lr);
    lr = p.observe(7.0, lr);
    lr = p.observe(7.5, lr);
    lr = p.observe(7.5, lr);
    assert_eq!(lr, 0.5);
    lr = p.observe(7.5, lr);
    assert_eq!(lr, 0.25);
    assert_eq!(p.best(), 7.0);
}

#[test]
fn plateau_uses_a_relative_threshold() {
    let mut p = ReduceOnPlateau::new(0.1, 1)
        .unwrap()
        .threshold(0.01)
        .unwrap();
    let lr = p.observe(100.0, 1.0);
    // 99.5 is better but by less than 1 %: counts as a plateau.
    let lr = p.observe(99.5, lr);
    assert!((lr - 0.1).abs() < 1e-15);
    // 98.0 improves by 2 % over the best (100): improvement, no reduction.
    let lr2 = p.observe(98.0, lr);
    assert_eq!(lr2, lr);
    // Negative metrics: improvement means more negative by 1 % of |best|.
    let mut q = ReduceOnPlateau::new(0.5, 1)
        .unwrap()
        .threshold(0.01)
        .unwrap();
    let lr = q.observe(-100.0, 1.0);
    assert_eq!(q.observe(-101.5, lr), 1.0);
    assert_eq!(q.observe(-102.0, lr), 0.5);
}

#[test]
fn plateau_respects_min_lr_and_cooldown() {
    let mut p = ReduceOnPlateau::new(0.1, 1)
        .unwrap()
        .min_lr(0.05)
        .unwrap()
        .cooldown(2);
    let mut lr = p.observe(1.0, 1.0);
    lr = p.observe(2.0, lr);
    assert!((lr - 0.1).abs() < 1e-15);
    // Cool-down: two bad observations are ignored.
    lr = p.observe(2.0, lr);
    lr = p.observe(2.0, lr);
    assert!((lr - 0.1).abs() < 1e-15);
    // Then the next bad one reduces again, clamped at min_lr.
    lr = p.observe(2.0, lr);
    assert_eq!(lr, 0.05);
    // At the floor it stays there.
    for _ in 0..10 {
        lr = p.observe(3.0, lr);
        assert_eq!(lr, 0.05);
    }
    assert_eq!(p.reductions(), 2);
}

#[test]
fn plateau_treats_nan_as_not_improving() {
    let mut p = ReduceOnPlateau::new(0.5, 2).unwrap();
    let lr = p.observe(f64::NAN, 1.0);
    assert_eq!(p.best(), f64::INFINITY);
    let lr = p.observe(f64::NAN, lr);
    assert_eq!(lr, 0.5);
}

#[test]
fn plateau_rejects_bad_configuration() {
    for f in [0.0, 1.0, -0.5, f64::NAN] {
        assert!(matches!(
            ReduceOnPlateau::new(f, 3),
            Err(Error::InvalidParameter { name: "factor", .. })
        ));
    }
    assert!(ReduceOnPlateau::new(0.5, 3).unwrap().min_lr(-1.0).is_err());
    assert!(
        ReduceOnPlateau::new(0.5, 3)
            .unwrap()
            .threshold(f64::INFINITY)
            .is_err()
    );
}

#[test]
fn early_stopping_stops_after_patience_and_restores_the_best() {
    let mut es = EarlyStopping::new(3, 0.0).unwrap();
    assert_eq!(es.best_params(), None);
    let metrics = [5.0, 4.0, 3.0, 3.5, 3.0, 4.0, 2.0];
    let mut decisions = Vec::new();
    for (epoch, &m) in metrics.iter().enumerate() {
        let params = vec![epoch as f64, -(epoch as f64)];
        decisions.push(es.observe(m, &params));
        if decisions.last() == Some(&StopDecision::Stop) {
            break;
        }
    }
    // Epoch 2 is the best (3.0); epochs 3, 4 (equal, not better), 5 do not improve → stop at 5.
    assert_eq!(decisions.len(), 6);
    assert!(decisions[..5].iter().all(|d| *d == StopDecision::Continue));
    assert!(decisions[5].is_stop());
    assert_eq!(es.best_epoch(), Some(2));
    assert_eq!(es.best_metric(), Some(3.0));
    assert_eq!(es.best_params(), Some(&[2.0, -2.0][..]));
    let mut params = vec![9.0, 9.0];
    assert!(es.restore(&mut params));
    assert_eq!(params, vec![2.0, -2.0]);
    // Still Stop afterwards, unless the metric improves again.
    assert!(es.observe(3.0, &params).is_stop());
    assert_eq!(es.observe(1.0, &[7.0, 7.0]), StopDecision::Continue);
    assert_eq!(es.best_epoch(), Some(7));
}

#[test]
fn early_stopping_min_delta_and_nan() {
    let mut es = EarlyStopping::new(2, 0.1).unwrap();
    assert_eq!(es.observe(f64::NAN, &[0.0]), StopDecision::Continue);
    assert_eq!(es.best_epoch(), None);
    assert!(!es.restore(&mut [1.0]));
    es.observe(1.0, &[1.0]);
    // Improves by less than min_delta: not an improvement.
    es.observe(0.95, &[2.0]);
    assert!(es.observe(f64::NAN, &[3.0]).is_stop());
    assert_eq!(es.best_params(), Some(&[1.0][..]));
    assert_eq!(es.best_metric(), Some(1.0));
    assert!(matches!(
        EarlyStopping::new(2, -0.1),
        Err(Error::InvalidParameter { .. })
    ));
}

#[test]
fn early_stopping_with_zero_patience_stops_at_the_first_bad_epoch() {
    let mut es = EarlyStopping::new(0, 0.0).unwrap();
    assert_eq!(es.observe(1.0, &[0.0]), StopDecision::Continue);
    assert!(es.observe(1.0, &[0.0]).is_stop());
}
