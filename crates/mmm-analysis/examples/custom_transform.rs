//! A user-defined saturation, end to end through the library:
//!
//! 1. define the transform (`1 − e^{−x/K}`, with its vector-Jacobian product);
//! 2. register it beside the built-ins in a `TransformRegistry`;
//! 3. simulate a regional panel whose true curves are of that family (`mmm_sim::simulate_with`);
//! 4. fit it with `[model] saturation = "exponential"` (`mmm_orchestrator::fit_panel_with`);
//! 5. save `model.json`, reload it through the registry (`FittedModel::load_with`);
//! 6. print every channel's ROI and marginal ROI from the reloaded model (`mmm_analysis`).
//!
//! Run with `cargo run --release --example custom_transform` (about a minute); the test
//! `crates/mmm-analysis/tests/custom_transform.rs` runs the same steps on a smaller panel.

use mmm_analysis::{CurveConfig, Curves, WindowSpec, response_curves};
use mmm_data::Panel;
use mmm_fitted::{FitConfig, FittedModel, TrainConfig};
use mmm_orchestrator::fit_panel_with;
use mmm_sim::{Scenario, Simulation, simulate_with};
use mmm_transforms::{Saturation, TransformRegistry, param};
use ndarray::{ArrayView2, ArrayViewMut2, Zip};
use std::path::{Path, PathBuf};

/// Exponential saturation `f(x) = 1 − e^{−x/K}` with `K = softplus(u)` (negative inputs count
/// as 0). Bounded by 1, concave, slope `1/K` at zero; half saturation at `x = K·ln 2`.
#[derive(Debug, Clone, Copy)]
pub struct ExponentialSaturation;

impl ExponentialSaturation {
    /// The name it is registered and stored under.
    pub const NAME: &str = "exponential";
}

impl Saturation for ExponentialSaturation {
    fn name(&self) -> &str {
        Self::NAME
    }

    fn n_params(&self) -> usize {
        1
    }

    /// `K = 1`: half saturation at 0.69 of the channel's mean scaled activity.
    fn default_params(&self) -> Vec<f64> {
        vec![param::softplus_inv(1.0)]
    }

    fn describe(&self, p: &[f64]) -> Vec<(&'static str, f64)> {
        vec![("scale", param::softplus(p[0]))]
    }

    fn eval(&self, p: &[f64], x: f64) -> f64 {
        -(-x.max(0.0) / param::softplus(p[0])).exp_m1()
    }

    fn derivative(&self, p: &[f64], x: f64) -> f64 {
        if x < 0.0 {
            return 0.0;
        }
        let k = param::softplus(p[0]);
        (-x / k).exp() / k
    }

    /// `1 − e^{−half/K} = ½`: `K = half / ln 2` (one parameter: `slope` is not used).
    fn params_at_half(&self, half: f64, _slope: f64) -> Option<Vec<f64>> {
        let k = half / std::f64::consts::LN_2;
        (k.is_finite() && k > 0.0).then(|| vec![param::softplus_inv(k)])
    }

    fn forward(&self, p: &[f64], x: ArrayView2<f64>, mut out: ArrayViewMut2<f64>) {
        Zip::from(&mut out)
            .and(&x)
            .for_each(|o, &xi| *o = self.eval(p, xi));
    }

    /// `∂f/∂x = e^{−x/K}/K`; `∂f/∂K = −x·e^{−x/K}/K²`, chained through `dK/du = σ(u)`.
    fn vjp(
        &self,
        p: &[f64],
        x: ArrayView2<f64>,
        grad_out: ArrayView2<f64>,
        grad_x: Option<ArrayViewMut2<f64>>,
        grad_params: &mut [f64],
    ) {
        let k = param::softplus(p[0]);
        let dk: f64 = Zip::from(&x).and(&grad_out).fold(0.0, |acc, &xi, &g| {
            let xi = xi.max(0.0);
            acc - g * xi * (-xi / k).exp() / (k * k)
        });
        grad_params[0] += dk * param::softplus_deriv(p[0]);
        if let Some(mut gx) = grad_x {
            Zip::from(&mut gx)
                .and(&x)
                .and(&grad_out)
                .for_each(|gxi, &xi, &g| *gxi += g * self.derivative(p, xi));
        }
    }
}

/// The built-in transforms plus [`ExponentialSaturation`].
pub fn registry() -> TransformRegistry {
    let mut registry = TransformRegistry::with_builtins();
    registry
        .register_saturation(ExponentialSaturation::NAME, || {
            Box::new(ExponentialSaturation)
        })
        .expect("`exponential` is not a built-in name");
    registry
}

/// The size of the example.
pub struct Settings {
    /// Regions, weeks and channels of the simulated panel.
    pub regions: usize,
    /// Weeks of the panel.
    pub weeks: usize,
    /// Channels of the panel.
    pub channels: usize,
    /// Training epochs (at most).
    pub epochs: usize,
    /// Where the panel and `model.json` are written.
    pub dir: PathBuf,
}

/// What the example produced.
pub struct Outcome {
    /// The simulation (with its truth).
    pub simulation: Simulation,
    /// The panel as loaded from `panel.csv`.
    pub panel: Panel,
    /// The fit.
    pub fitted: FittedModel,
    /// The fit as reloaded from `model.json`.
    pub reloaded: FittedModel,
    /// The reloaded model's response curves, ROI and marginal ROI per channel over every week.
    pub curves: Curves,
}

/// Simulates, fits, saves, reloads and analyses (the module docs' steps 2–6).
pub fn run(settings: &Settings) -> Result<Outcome, Box<dyn std::error::Error>> {
    let registry = registry();
    let mut scenario = Scenario::named("geo")?;
    scenario.regions = settings.regions;
    scenario.weeks = settings.weeks;
    scenario.channels = settings.channels;
    scenario.controls = 2;
    scenario.dag_edges = 1;
    scenario.saturation = ExponentialSaturation::NAME.into();
    let simulation = simulate_with(&scenario, 11, &registry)?;
    std::fs::create_dir_all(&settings.dir)?;
    simulation.write(&settings.dir)?;
    let columns = simulation.column_spec();
    let panel = mmm_data::load_panel(&settings.dir.join("panel.csv"), &columns)?.panel;

    let mut cfg = FitConfig::default();
    cfg.model.saturation = ExponentialSaturation::NAME.into();
    cfg.model.hidden = 8;
    cfg.train = TrainConfig {
        epochs: settings.epochs,
        ..TrainConfig::default()
    };
    let fitted = fit_panel_with(&panel, &columns, &cfg, &registry, &mut |_| {})?;
    let path = settings.dir.join("model.json");
    fitted.save(&path)?;
    let reloaded = FittedModel::load_with(&path, &registry)?;
    // Over every week, as the truth's ROI is (which adds no carryover after the panel).
    let curves = response_curves(
        &reloaded,
        &CurveConfig {
            window: WindowSpec::All,
            ..CurveConfig::default()
        },
    )?;
    Ok(Outcome {
        simulation,
        panel,
        fitted,
        reloaded,
        curves,
    })
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::temp_dir().join(format!("dcmmm-custom-transform-{}", std::process::id()));
    let out = run(&Settings {
        regions: 20,
        weeks: 104,
        channels: 4,
        epochs: 400,
        dir: dir.clone(),
    })?;
    let model = &out.reloaded.config.model;
    println!(
        "fitted {} regions × {} weeks with adstock `{}` and saturation `{}` \
         ({} epochs kept); model.json reloaded from {}",
        out.panel.n_regions(),
        out.panel.n_weeks(),
        model.adstock,
        model.saturation,
        out.reloaded.best_epochs,
        Path::new(&dir).join("model.json").display()
    );
    for note in &out.reloaded.warnings {
        println!("note: {note}");
    }
    println!(
        "{:<10} {:>10} {:>10} {:>10}",
        "channel", "ROI", "true ROI", "mROI"
    );
    for (c, ch) in out.curves.channels.iter().enumerate() {
        let truth = &out.simulation.truth().channel_truth[c];
        let show = |v: Option<f64>| v.map_or_else(|| "–".into(), |v| format!("{v:.3}"));
        println!(
            "{:<10} {:>10} {:>10.3} {:>10}",
            ch.channel,
            show(ch.national.roi_direct),
            truth.roi,
            show(ch.national.mroi_direct)
        );
    }
    Ok(())
}
