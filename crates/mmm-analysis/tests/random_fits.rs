//! Randomised end-to-end fits: small random panels (1–8 regions, 20–80 weeks, 1–6 channels, 0–2
//! controls, all-zero and constant channels, regions that start late, target and media scales from
//! 1e-6 to 1e9) go through the library's fit, prediction (history and a forecast), response curves
//! and budget optimiser. Each step either returns a typed error or finite results whose
//! decomposition sums to the prediction; the curve and allocation files it writes hold no NaN or
//! infinity; nothing panics.
//!
//! `DCMMM_RANDOM_FITS=N` runs N panels (default 24, a few seconds); CI fixes the draw with
//! `PROPTEST_RNG_SEED`.

use mmm_analysis::plan::extend_panel;
use mmm_analysis::{CurveConfig, OptimizeConfig, optimize, response_curves};
use mmm_data::{ColumnSpec, Panel, Week};
use mmm_fitted::{FitConfig, FittedModel, TrainConfig};
use mmm_orchestrator::fit_panel;
use ndarray::{Array2, Array3, Axis};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use std::path::Path;

/// One random panel.
#[derive(Clone, Debug)]
struct Draw {
    regions: usize,
    weeks: usize,
    channels: usize,
    controls: usize,
    /// Decimal exponents of the target's and of the media's scale.
    target_scale: i32,
    media_scale: i32,
    /// Channel 0 is zero everywhere.
    zero_channel: bool,
    /// The last channel is one constant.
    constant_channel: bool,
    /// How many regions start late, and how late at most (weeks).
    late_regions: usize,
    late_by: usize,
    holdout: usize,
    validation: usize,
    seed: u64,
}

fn draw() -> impl Strategy<Value = Draw> {
    (
        (1usize..=8, 20usize..=80, 1usize..=6, 0usize..=2),
        (-6i32..=9, -6i32..=9, any::<bool>(), any::<bool>()),
        (
            0usize..=3,
            1usize..=80,
            0usize..=8,
            0usize..=6,
            any::<u64>(),
        ),
    )
        .prop_map(
            |(
                (regions, weeks, channels, controls),
                (target_scale, media_scale, zero_channel, constant_channel),
                (late_regions, late_by, holdout, validation, seed),
            )| Draw {
                regions,
                weeks,
                channels,
                controls,
                target_scale,
                media_scale,
                zero_channel,
                constant_channel,
                late_regions: late_regions.min(regions),
                late_by,
                holdout,
                validation,
                seed,
            },
        )
}

/// Uniform numbers in [0, 1) from a counter (splitmix64).
fn uniform(seed: u64, i: u64) -> f64 {
    let mut z = seed ^ i.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
}

/// The panel of `d` as `load_panel` would give it: unobserved weeks before a late region's start
/// have a NaN target and zero media, controls back-filled.
fn panel(d: &Draw) -> Panel {
    let (r_n, t_n, c_n, k_n) = (d.regions, d.weeks, d.channels, d.controls);
    let u = |i: usize| uniform(d.seed, i as u64);
    let start: Vec<usize> = (0..r_n)
        .map(|r| {
            if r + d.late_regions >= r_n && r > 0 {
                1 + (u(r) * d.late_by as f64) as usize % (t_n - 1)
            } else {
                0
            }
        })
        .collect();
    let observed = Array2::from_shape_fn((r_n, t_n), |(r, t)| t >= start[r]);
    let media_scale = 10f64.powi(d.media_scale);
    let media = Array3::from_shape_fn((r_n, t_n, c_n), |(r, t, c)| {
        if !observed[[r, t]] || (d.zero_channel && c == 0) {
            0.0
        } else if d.constant_channel && c == c_n - 1 && !(d.zero_channel && c == 0) {
            media_scale
        } else {
            let burst = if (t + 3 * c) % (2 + c) == 0 { 4.0 } else { 0.3 };
            media_scale * burst * u(1000 + (r * t_n + t) * c_n + c)
        }
    });
    let controls = Array3::from_shape_fn((r_n, t_n, k_n), |(r, t, k)| {
        10.0 + u(900_000 + (r * t_n + t.max(start[r])) * 3 + k)
    });
    let target_scale = 10f64.powi(d.target_scale);
    let target = Array2::from_shape_fn((r_n, t_n), |(r, t)| {
        if !observed[[r, t]] {
            return f64::NAN;
        }
        let media_part: f64 = (0..c_n)
            .map(|c| {
                let x = media[[r, t, c]] / media_scale;
                0.2 * x / (x + 1.0)
            })
            .sum();
        let control_part: f64 = (0..k_n).map(|k| 0.01 * controls[[r, t, k]]).sum();
        target_scale
            * (1.0 + r as f64)
            * (1.0 + media_part + control_part + 0.1 * u(500_000 + r * t_n + t))
    });
    Panel {
        regions: (0..r_n).map(|r| format!("r{r}")).collect(),
        weeks: (0..t_n)
            .map(|t| Week::Date(19_358 + 7 * t as i64))
            .collect(),
        channels: (0..c_n).map(|c| format!("m{c}")).collect(),
        controls: (0..k_n).map(|k| format!("x{k}")).collect(),
        target,
        media,
        spend: None,
        controls_data: controls,
        observed,
    }
}

fn config(d: &Draw) -> FitConfig {
    let mut cfg = FitConfig {
        holdout_weeks: d.holdout,
        ..FitConfig::default()
    };
    cfg.model.hidden = 4;
    cfg.train = TrainConfig {
        epochs: 20,
        validation_weeks: Some(d.validation),
        seed: d.seed,
        ..TrainConfig::default()
    };
    cfg
}

/// What happened to the panels.
#[derive(Default, Debug)]
struct Tally {
    fitted: usize,
    fit_errors: usize,
    step_errors: usize,
    /// Each error message (numbers blanked) and how often it came.
    messages: std::collections::BTreeMap<String, usize>,
}

impl Tally {
    fn error(&mut self, step: &str, e: &dyn std::fmt::Display) {
        let text: String = e
            .to_string()
            .chars()
            .map(|c| if c.is_ascii_digit() { '#' } else { c })
            .take(120)
            .collect();
        *self.messages.entry(format!("{step}: {text}")).or_default() += 1;
    }
}

/// Fails unless every observed cell of `prediction` is finite and equals the sum of its
/// decomposition (relative 1e-9).
fn check_prediction(
    fitted: &FittedModel,
    panel: &Panel,
    what: &str,
    tally: &mut Tally,
) -> Result<bool, TestCaseError> {
    let (prediction, d) = match fitted.predict(panel) {
        Ok(p) => p,
        Err(e) => {
            tally.error(what, &e);
            return Ok(false);
        }
    };
    for ((r, t), &p) in prediction.indexed_iter() {
        if !panel.observed[[r, t]] {
            continue;
        }
        prop_assert!(p.is_finite(), "{what}: prediction {p} at ({r}, {t})");
        let sum = d.baseline[[r, t]]
            + d.trend[[r, t]]
            + d.seasonality[[r, t]]
            + d.controls.index_axis(Axis(1), r).column(t).sum()
            + d.channels.index_axis(Axis(1), r).column(t).sum();
        prop_assert!(
            (sum - p).abs() <= 1e-9 * p.abs().max(sum.abs()).max(1e-300),
            "{what}: components sum to {sum}, prediction {p} at ({r}, {t})"
        );
    }
    Ok(true)
}

/// Fails if a CSV or JSON file in `dir` holds a NaN or an infinity.
fn check_files(dir: &Path, what: &str) -> Result<(), TestCaseError> {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        let bad = text
            .split(|c: char| c == ',' || c == ':' || c == '[' || c == ']' || c.is_whitespace())
            .find(|t| matches!(t.trim_matches('"'), "NaN" | "inf" | "-inf"));
        prop_assert!(bad.is_none(), "{what}: {bad:?} in {}", path.display());
    }
    Ok(())
}

fn run_one(d: &Draw, tally: &mut Tally) -> Result<(), TestCaseError> {
    let panel = panel(d);
    let spec = ColumnSpec {
        target: "y".into(),
        ..ColumnSpec::default()
    };
    let fitted = match fit_panel(&panel, &spec, &config(d), &mut |_| {}) {
        Ok(f) => f,
        Err(e) => {
            tally.fit_errors += 1;
            tally.error("fit", &e);
            return Ok(());
        }
    };
    tally.fitted += 1;
    let mut ok = check_prediction(&fitted, &panel, "history", tally)?;
    // Six weeks after the history with zero media, every cell forecast.
    let mut future = extend_panel(&panel, 6, None, None);
    future
        .observed
        .slice_mut(ndarray::s![.., d.weeks..])
        .fill(true);
    ok &= check_prediction(&fitted, &future, "forecast", tally)?;

    let dir = std::env::temp_dir().join(format!("dcmmm-random-fits-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    match response_curves(&fitted, &CurveConfig::default()) {
        Ok(curves) => {
            curves.write(&dir.join("curves")).unwrap();
            check_files(&dir.join("curves"), "curves")?;
        }
        Err(e) => {
            tally.error("curves", &e);
            ok = false;
        }
    }
    match optimize(&fitted, &OptimizeConfig::default()) {
        Ok(alloc) => {
            prop_assert!(alloc.outcome_recommended.is_finite() && alloc.budget.is_finite());
            alloc.write(&dir.join("optimize")).unwrap();
            check_files(&dir.join("optimize"), "optimize")?;
        }
        Err(e) => {
            tally.error("optimize", &e);
            ok = false;
        }
    }
    if !ok {
        tally.step_errors += 1;
    }
    Ok(())
}

fn cases() -> u32 {
    std::env::var("DCMMM_RANDOM_FITS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(24)
}

#[test]
fn random_panels_fit_predict_and_decide_without_panics_or_nan() {
    let mut runner = TestRunner::new(Config {
        cases: cases(),
        failure_persistence: None,
        ..Config::default()
    });
    let tally = std::cell::RefCell::new(Tally::default());
    let result = runner.run(&draw(), |d| run_one(&d, &mut tally.borrow_mut()));
    let tally = tally.into_inner();
    eprintln!(
        "{} random panels: {} fitted ({} with a step that returned an error), {} refused by the fit",
        tally.fitted + tally.fit_errors,
        tally.fitted,
        tally.step_errors,
        tally.fit_errors
    );
    for (message, n) in &tally.messages {
        eprintln!("  {n:>4} × {message}");
    }
    if let Err(e) = result {
        panic!("{e}");
    }
}
