//! Ground-truth simulator for marketing-mix models.
//!
//! [`simulate`] draws a region × week panel from a known data-generating process — region sizes,
//! baseline, trend, calendar-aligned seasonality, controls with known effects, planned media with
//! realistic flighting and confounding, a true channel DAG on activity, per-channel adstock
//! (geometric, delayed, Weibull from `mmm-transforms`) and saturation (Hill, or any family of the
//! transform registry through [`simulate_with`]), region effect
//! multipliers, a zero-effect channel, Gaussian or heavy-tailed noise, late-starting regions — and
//! computes the exact truth an MMM should recover: direct and total (DAG-mediated) contributions,
//! ROI and marginal ROI, response curves with carryover, the DAG and every parameter.
//!
//! ```no_run
//! use mmm_sim::{Scenario, simulate};
//! let scenario = Scenario::named("geo")?;
//! let sim = simulate(&scenario, 42)?;
//! sim.write(std::path::Path::new("out/geo"))?; // panel.csv, truth.json, truth_contributions.csv
//! println!("TV ROI: {}", sim.truth().channel("tv").unwrap().roi);
//! // Score an allocation under the TRUE response: double every channel's planned spend.
//! let doubled = sim.planned_spend() * 2.0;
//! let outcome = sim.true_outcome(&doubled)?;
//! # Ok::<(), mmm_sim::Error>(())
//! ```
//!
//! The process and every truth quantity are specified in `docs/simulator.md`; the media mechanism
//! is in [`media`]-module docs, the scenario knobs in [`scenario`].

mod generate;
pub mod media;
pub mod scenario;
pub mod truth;

pub use generate::{curve_multipliers, simulate, simulate_with};
pub use media::MAX_LAG;
pub use scenario::{NoiseKind, NoiseSpec, SCENARIO_NAMES, Scenario};
pub use truth::{
    ChannelCurve, ChannelParams, ChannelTruth, ControlParams, Edge, ResponseCurves, TrueAdstock,
    TrueDag, TrueParams, Truth,
};

use media::MediaDgp;
use mmm_data::{ColumnSpec, Week};
use ndarray::{Array2, Array3};
use std::path::{Path, PathBuf};

/// Errors of the simulator.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// No built-in scenario of this name.
    #[error("unknown scenario `{0}` (built-in: national, geo, paper, large)")]
    UnknownScenario(String),
    /// The scenario TOML does not parse.
    #[error("scenario TOML: {0}")]
    Toml(String),
    /// A scenario value is out of range.
    #[error("invalid scenario: {0}")]
    InvalidScenario(String),
    /// A spend array given to [`Simulation::true_outcome`] is unusable.
    #[error("invalid spend array: {0}")]
    InvalidSpend(String),
    /// Writing an output file failed.
    #[error("writing {path}: {message}")]
    Write {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
}

/// Result alias of this crate.
pub type Result<T> = std::result::Result<T, Error>;

/// A simulated panel together with its truth. Arrays are `[region, week]` or
/// `[region, week, channel/control]` over the full calendar; region-weeks before a late region's
/// start are not observed (see [`Simulation::observed`]) and are absent from `panel.csv`.
#[derive(Debug)]
pub struct Simulation {
    scenario: Scenario,
    regions: Vec<String>,
    weeks: Vec<Week>,
    channels: Vec<String>,
    controls: Vec<String>,
    impressions: Vec<bool>,
    start: Vec<usize>,
    sales: Array2<f64>,
    media: Array3<f64>,
    spend: Array3<f64>,
    planned_spend: Array3<f64>,
    control_values: Array3<f64>,
    components: Array3<f64>,
    component_names: Vec<String>,
    cost: Vec<Option<Array2<f64>>>,
    per_spend: Vec<f64>,
    expected_base: f64,
    dgp: MediaDgp,
    truth: Truth,
}

impl Simulation {
    /// The scenario this was simulated from.
    pub fn scenario(&self) -> &Scenario {
        &self.scenario
    }

    /// The ground truth.
    pub fn truth(&self) -> &Truth {
        &self.truth
    }

    /// Region names (`["national"]` for one region).
    pub fn regions(&self) -> &[String] {
        &self.regions
    }

    /// The calendar (Mondays).
    pub fn weeks(&self) -> &[Week] {
        &self.weeks
    }

    /// Channel names.
    pub fn channels(&self) -> &[String] {
        &self.channels
    }

    /// Control names.
    pub fn controls(&self) -> &[String] {
        &self.controls
    }

    /// Whether a region-week is observed (a row of `panel.csv`).
    pub fn observed(&self, region: usize, week: usize) -> bool {
        week >= self.start[region] && week < self.weeks.len()
    }

    /// Sales `[region, week]`.
    pub fn sales(&self) -> &Array2<f64> {
        &self.sales
    }

    /// The media columns `[region, week, channel]`: realised activity (spend, or impressions for
    /// impression channels).
    pub fn media(&self) -> &Array3<f64> {
        &self.media
    }

    /// Realised spend `[region, week, channel]` (equals [`Simulation::media`] for spend channels).
    pub fn spend(&self) -> &Array3<f64> {
        &self.spend
    }

    /// Planned spend `[region, week, channel]` — the input of [`Simulation::true_outcome`] that
    /// reproduces the simulated media exactly.
    pub fn planned_spend(&self) -> &Array3<f64> {
        &self.planned_spend
    }

    /// Control values `[region, week, control]`.
    pub fn control_values(&self) -> &Array3<f64> {
        &self.control_values
    }

    /// Additive components of sales `[region, week, component]`, named by
    /// [`Simulation::component_names`]; they sum to [`Simulation::sales`] exactly (in this order).
    pub fn components(&self) -> &Array3<f64> {
        &self.components
    }

    /// Component names: `baseline, trend, seasonality, <controls>, <channels>, noise`.
    pub fn component_names(&self) -> &[String] {
        &self.component_names
    }

    /// Column roles of `panel.csv` for `dcmmm fit` / `mmm_data::load_panel`.
    pub fn column_spec(&self) -> ColumnSpec {
        ColumnSpec {
            target: "sales".into(),
            media: self.channels.clone(),
            controls: self.controls.clone(),
            region: (self.regions.len() > 1).then(|| "region".to_string()),
            time: "week".into(),
            spend: self
                .channels
                .iter()
                .zip(&self.impressions)
                .filter(|(_, imp)| **imp)
                .map(|(c, _)| (c.clone(), format!("{c}_spend")))
                .collect(),
        }
    }

    /// Expected total sales under the TRUE process for planned spend `spend`
    /// (`[region, week, channel]`, same shape as [`Simulation::planned_spend`]): the noise-free
    /// non-media sales over observed region-weeks plus every channel's media contribution over the
    /// horizon including the carryover tail. Spend on absent channels or before a region's start
    /// has no effect.
    ///
    /// # Errors
    /// [`Error::InvalidSpend`] for a wrong shape or negative / non-finite entries.
    pub fn true_outcome(&self, spend: &Array3<f64>) -> Result<f64> {
        Ok(self.expected_base + self.true_media_outcome(spend)?)
    }

    /// The media part of [`Simulation::true_outcome`]: Σ of all media contributions (with tail).
    ///
    /// # Errors
    /// As [`Simulation::true_outcome`].
    pub fn true_media_outcome(&self, spend: &Array3<f64>) -> Result<f64> {
        self.media_outcome_with_effects(spend, &self.dgp.beta)
    }

    /// [`Simulation::true_outcome`] of the same mechanism (activity, DAG, adstock, saturation,
    /// region multipliers) with every channel's effect size `β_c` replaced by `effects[c]` — the
    /// outcome a model that knows the true structure but estimated the effect sizes would predict.
    /// With the true effect sizes ([`Simulation::unit_contributions`] documents them) it equals
    /// [`Simulation::true_outcome`].
    ///
    /// # Errors
    /// [`Error::InvalidSpend`] as for [`Simulation::true_outcome`], or for a wrong number of
    /// effects or a negative / non-finite one.
    pub fn true_outcome_with_effects(&self, spend: &Array3<f64>, effects: &[f64]) -> Result<f64> {
        if effects.len() != self.dgp.beta.len() {
            return Err(Error::InvalidSpend(format!(
                "{} effect sizes for {} channels",
                effects.len(),
                self.dgp.beta.len()
            )));
        }
        if let Some(v) = effects.iter().find(|v| !v.is_finite() || **v < 0.0) {
            return Err(Error::InvalidSpend(format!(
                "effect sizes must be finite and ≥ 0, found {v}"
            )));
        }
        Ok(self.expected_base + self.media_outcome_with_effects(spend, effects)?)
    }

    /// The true effect sizes `β_c` and every channel's contribution per unit of effect size,
    /// `[region, week]` over the calendar (zero on unobserved region-weeks): the regressors of a
    /// model that knows the true activity, DAG, adstock, saturation and region multipliers
    /// (`ρ[r,c] · s_r · hill_c(adstock_c(x̃_c))`). `β_c` times its unit contribution is the
    /// channel's component in [`Simulation::components`]; zero-effect channels have `β_c = 0` and
    /// a non-zero unit contribution.
    pub fn unit_contributions(&self) -> (Vec<f64>, Vec<Array2<f64>>) {
        let real = self.dgp.realise(&self.dgp.planned);
        let (nr, nt) = self.sales.dim();
        let units = (0..self.dgp.n_channels())
            .map(|c| {
                let unit = self.dgp.contribution_with(c, &real.a[c], 1.0);
                Array2::from_shape_fn((nr, nt), |(r, t)| {
                    if self.observed(r, t) {
                        unit[[r, t]]
                    } else {
                        0.0
                    }
                })
            })
            .collect();
        (self.dgp.beta.clone(), units)
    }

    /// Channel `c`'s true direct contribution `[region, week]` over the calendar (zero on
    /// unobserved region-weeks, like its column of [`Simulation::components`]) had its activity
    /// been the simulated one times `factors[r, t]` (the other channels' unchanged): what a
    /// heavy-up or scale-down experiment compares. All factors 1 give the channel's component.
    ///
    /// # Errors
    /// [`Error::InvalidSpend`] for a channel out of range, factors not `[region, week]` of the
    /// calendar, or a negative / non-finite factor.
    pub fn component_with_activity_factors(
        &self,
        c: usize,
        factors: &Array2<f64>,
    ) -> Result<Array2<f64>> {
        let dim = self.sales.dim();
        if c >= self.channels.len() {
            return Err(Error::InvalidSpend(format!(
                "channel {c} of {}",
                self.channels.len()
            )));
        }
        if factors.dim() != dim {
            return Err(Error::InvalidSpend(format!(
                "factors {:?}, expected [regions, weeks] = {dim:?}",
                factors.dim()
            )));
        }
        if let Some(v) = factors.iter().find(|v| !v.is_finite() || **v < 0.0) {
            return Err(Error::InvalidSpend(format!(
                "factors must be finite and ≥ 0, found {v}"
            )));
        }
        let (x, _) = self.dgp.activities(&self.dgp.planned);
        let mut x = x[c].clone();
        x.slice_mut(ndarray::s![.., ..dim.1])
            .zip_mut_with(factors, |v, f| *v *= f);
        let mut a = Array2::zeros(x.dim());
        let (adstock, params) = &self.dgp.adstock[c];
        adstock.forward(params, x.view(), a.view_mut());
        let contribution = self.dgp.contribution(c, &a);
        Ok(Array2::from_shape_fn(dim, |(r, t)| {
            if self.observed(r, t) {
                contribution[[r, t]]
            } else {
                0.0
            }
        }))
    }

    /// Σ of all media contributions (with tail) for planned spend `spend` and effect sizes
    /// `effects` (checked by the callers).
    fn media_outcome_with_effects(&self, spend: &Array3<f64>, effects: &[f64]) -> Result<f64> {
        let (nr, nt, nc) = self.planned_spend.dim();
        if spend.dim() != (nr, nt, nc) {
            return Err(Error::InvalidSpend(format!(
                "shape {:?}, expected [regions, weeks, channels] = {:?}",
                spend.dim(),
                (nr, nt, nc)
            )));
        }
        if let Some(v) = spend.iter().find(|v| !v.is_finite() || **v < 0.0) {
            return Err(Error::InvalidSpend(format!(
                "entries must be finite and ≥ 0, found {v}"
            )));
        }
        let planned: Vec<Array2<f64>> = (0..nc)
            .map(|c| {
                let mut p = Array2::zeros((nr, self.dgp.horizon()));
                for r in 0..nr {
                    let unit = self.dgp.size[r] * self.dgp.scale[c];
                    for t in 0..nt {
                        let cost = self.cost[c].as_ref().map_or(1.0, |m| m[[r, t]]);
                        p[[r, t]] = spend[[r, t, c]] * self.per_spend[c] / (cost * unit);
                    }
                }
                p
            })
            .collect();
        let (_, adstocked) = self.dgp.activities(&planned);
        Ok(adstocked
            .iter()
            .enumerate()
            .map(|(c, a)| {
                self.dgp
                    .sums(&self.dgp.contribution_with(c, a, effects[c]))
                    .all
            })
            .sum())
    }

    /// Writes `panel.csv` (the `dcmmm fit` input), `truth.json`, `truth_contributions.csv`
    /// (`region,week,component,value`; components sum to `sales`) and `scenario.toml` into `dir`
    /// (created if missing).
    ///
    /// # Errors
    /// [`Error::Write`] naming the file that failed.
    pub fn write(&self, dir: &Path) -> Result<()> {
        let werr = |path: &Path, e: &dyn std::fmt::Display| Error::Write {
            path: path.to_path_buf(),
            message: e.to_string(),
        };
        std::fs::create_dir_all(dir).map_err(|e| werr(dir, &e))?;

        let (nr, nt, nc) = self.media.dim();
        let path = dir.join("panel.csv");
        mmm_data::write_csv_atomic(&path, |w| {
            let national = self.regions.len() == 1;
            let mut header: Vec<String> = Vec::new();
            if !national {
                header.push("region".into());
            }
            header.extend(["week".to_string(), "sales".to_string()]);
            header.extend(self.channels.iter().cloned());
            for (c, imp) in self.channels.iter().zip(&self.impressions) {
                if *imp {
                    header.push(format!("{c}_spend"));
                }
            }
            header.extend(self.controls.iter().cloned());
            w.write_record(&header)?;
            let mut rec: Vec<String> = Vec::with_capacity(header.len());
            for r in 0..nr {
                for t in self.start[r]..nt {
                    rec.clear();
                    if !national {
                        rec.push(self.regions[r].clone());
                    }
                    rec.push(self.weeks[t].to_string());
                    rec.push(self.sales[[r, t]].to_string());
                    rec.extend((0..nc).map(|c| self.media[[r, t, c]].to_string()));
                    for c in (0..nc).filter(|&c| self.impressions[c]) {
                        rec.push(self.spend[[r, t, c]].to_string());
                    }
                    rec.extend(
                        (0..self.controls.len())
                            .map(|k| self.control_values[[r, t, k]].to_string()),
                    );
                    w.write_record(&rec)?;
                }
            }
            Ok(())
        })
        .map_err(|e| werr(&path, &e))?;

        let path = dir.join("truth_contributions.csv");
        mmm_data::write_csv_atomic(&path, |w| {
            w.write_record(["region", "week", "component", "value"])?;
            for r in 0..nr {
                for t in self.start[r]..nt {
                    let week = self.weeks[t].to_string();
                    for (i, name) in self.component_names.iter().enumerate() {
                        let v = self.components[[r, t, i]].to_string();
                        w.write_record([self.regions[r].as_str(), &week, name, &v])?;
                    }
                }
            }
            Ok(())
        })
        .map_err(|e| werr(&path, &e))?;

        let path = dir.join("truth.json");
        let json = serde_json::to_string_pretty(&self.truth).map_err(|e| werr(&path, &e))?;
        mmm_data::write_atomic(&path, |w| w.write_all(json.as_bytes()))
            .map_err(|e| werr(&path, &e))?;

        let path = dir.join("scenario.toml");
        let toml = self.scenario.to_toml();
        mmm_data::write_atomic(&path, |w| w.write_all(toml.as_bytes()))
            .map_err(|e| werr(&path, &e))?;
        Ok(())
    }
}
