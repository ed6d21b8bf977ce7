//! `FittedModel::activity_variation` on fits of panels with steady, flighted and dark channels.

use crate::fit_panel;
use crate::fit_tests::quick_config;
use mmm_data::{ColumnSpec, Panel, Week};
use ndarray::{Array2, Array3};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Channel 0 runs in bursts, channel 1 at a steady level with 10 % weekly noise that follows
/// the season, channel 2 is dark.
fn panel(r_n: usize, t_n: usize, seed: u64) -> Panel {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let season = |t: usize| 1.0 + 0.3 * (std::f64::consts::TAU * t as f64 / 52.0).cos();
    let media = Array3::from_shape_fn((r_n, t_n, 3), |(r, t, c)| match c {
        0 if rng.random::<f64>() < 0.3 => 50.0,
        0 => 0.0,
        1 => (10.0 + r as f64) * season(t) * (1.0 + 0.1 * (rng.random::<f64>() - 0.5) * 3.46),
        _ => 0.0,
    });
    let target = Array2::from_shape_fn((r_n, t_n), |(r, t)| {
        (100.0 + 10.0 * r as f64) * season(t) + 0.2 * media[[r, t, 0]] + 0.5 * media[[r, t, 1]]
    });
    Panel {
        regions: (0..r_n).map(|r| format!("r{r}")).collect(),
        weeks: (0..t_n).map(|t| Week::Index(t as i64)).collect(),
        channels: vec!["tv".into(), "display".into(), "dark".into()],
        controls: vec![],
        target,
        media,
        spend: None,
        controls_data: Array3::zeros((r_n, t_n, 0)),
        observed: Array2::from_elem((r_n, t_n), true),
    }
}

fn fit(p: &Panel) -> mmm_fitted::FittedModel {
    // The shared small-fit configuration; two epochs are enough: only the history is read.
    let mut cfg = quick_config();
    cfg.train.epochs = 2;
    cfg.train.validation_weeks = Some(4);
    let spec = ColumnSpec {
        target: "sales".into(),
        ..ColumnSpec::default()
    };
    fit_panel(p, &spec, &cfg, &mut |_| {}).unwrap()
}

#[test]
fn steady_channels_are_named_and_flighted_ones_are_not() {
    let fitted = fit(&panel(4, 70, 1));
    let v = fitted.activity_variation().unwrap();
    let (bursts, steady) = (v[0].unwrap(), v[1].unwrap());
    assert!(bursts > 1.0, "bursts {bursts}");
    // Uniform noise of ±17 % has a standard deviation of 10 % of the level.
    assert!((steady - 0.1).abs() < 0.02, "steady {steady}");
    assert_eq!(v[2], None, "a dark channel has no variation to measure");
    let note = fitted
        .low_variation_note()
        .unwrap()
        .expect("display is named");
    assert!(note.contains("display (0.1"), "{note}");
    assert!(!note.contains("tv") && !note.contains("dark"), "{note}");
}

#[test]
fn regions_with_too_few_training_weeks_measure_nothing() {
    // 40 weeks − 8 holdout = 32 training weeks, but in the fitted history every region
    // starts at week 20: 12 observed training weeks each, not more than
    // mmm_linear::MIN_WEEKS. (A fit of such a panel is refused: no region has
    // MIN_REGION_FIT_WEEKS before the validation slice; a saved model's history is read.)
    let mut fitted = fit(&panel(2, 40, 2));
    for row in &mut fitted.history.target {
        row[..20].fill(None);
    }
    assert_eq!(fitted.activity_variation().unwrap(), vec![None; 3]);
    assert_eq!(fitted.low_variation_note().unwrap(), None);
}
