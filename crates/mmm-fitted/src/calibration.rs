//! Lift tests from the configuration (`[[lift_test]]` tables of `fit.toml`), resolved against a
//! panel into the model's [`Calibration`], and the fitted model's answer to each.
//!
//! A lift test says: channel c, over weeks `start..=end` in `regions` (default all), caused `lift`
//! units of the target, with standard error `se`. The model is asked for the channel's direct
//! contribution over the same region-weeks.
//!
//! A test with a `multiplier` m is a heavy-up (m > 1) or scale-down (m < 1) test: the data hold
//! what ran, m times the usual spend in the tested region-weeks, and `lift` is the outcome with it
//! minus the outcome the usual spend would have given, in the tested regions from `start` to
//! `measured_until` (≥ `end`; default the last week of the data, so that all the carryover after
//! the test counts). The model is asked for the same difference: its direct contribution of the
//! channel minus that with the activity divided by m in the tested region-weeks
//! (`mmm_model::calibration`). Unlike a contribution test, it measures the slope of the
//! channel's curve around the current spend — what a budget decision turns on.
//!
//!
//! How the tests weigh in the training loss is `mmm_orchestrator::calibration`.

use crate::model::FittedModel;
use crate::{Error, Result};
use mmm_data::Panel;
use mmm_model::{Calibration, LiftTest};
use ndarray::Array2;
use serde::{Deserialize, Serialize};

/// A week or region as written in the configuration: text as in the data file (`"2024-03-04"`,
/// `"north"`) or a bare integer (week indices, numeric region codes such as DMA 501).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Label {
    /// An integer (a week index or a numeric region code).
    Index(i64),
    /// The label as in the data file.
    Text(String),
}

impl std::fmt::Display for Label {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Label::Index(i) => write!(f, "{i}"),
            Label::Text(s) => f.write_str(s),
        }
    }
}

/// One experiment as configured (`[[lift_test]]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LiftTestSpec {
    /// The tested media channel (its column name).
    pub channel: String,
    /// First week of the test.
    pub start: Label,
    /// Last week of the test (inclusive).
    pub end: Label,
    /// Tested regions; empty = every region.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub regions: Vec<Label>,
    /// Measured incremental outcome over those region-weeks, target units.
    pub lift: f64,
    /// Standard error of `lift`, target units (> 0).
    pub se: f64,
    /// Spend in the tested region-weeks relative to the usual (> 0, ≠ 1) for a heavy-up or
    /// scale-down test; absent for a test of the channel's contribution (module docs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub multiplier: Option<f64>,
    /// For a test with a multiplier: the last week over which the outcome was measured
    /// (inclusive, not before `end`; default the last week of the data). A test of the
    /// contribution is measured over `start..=end` (module docs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub measured_until: Option<Label>,
}

impl LiftTestSpec {
    /// Why the measured lift looks like a sign error, when it lies more than two standard
    /// errors on the side the model cannot reach: effects are non-negative, so a contribution
    /// and a heavy-up's lift are ≥ 0 in the model and a scale-down's lift is ≤ 0. `None` when
    /// the sign fits (or the lift is within noise of 0).
    pub fn sign_warning(&self) -> Option<String> {
        let (sign, what) = match self.multiplier {
            None => (1.0, "a channel's contribution is ≥ 0"),
            Some(m) if m > 1.0 => (
                1.0,
                "a heavy-up test's lift (the outcome with the extra spend minus with the usual) \
                 is ≥ 0",
            ),
            Some(_) => (
                -1.0,
                "a scale-down test's lift (the outcome with the reduced spend minus with the \
                 usual) is ≤ 0",
            ),
        };
        (sign * self.lift < -2.0 * self.se).then(|| {
            format!(
                "`{}` {} … {}: {what} in the model, but the measured lift {} is {:.1} standard \
                 errors on the other side; check its sign",
                self.channel,
                self.start,
                self.end,
                self.lift,
                (self.lift / self.se).abs()
            )
        })
    }
}

/// The fitted model's answer to one configured lift test.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LiftTestCheck {
    /// The experiment.
    pub test: LiftTestSpec,
    /// The model's answer: its direct contribution of the channel over the tested region-weeks,
    /// or for a test with a multiplier the difference it makes (module docs).
    pub model: f64,
    /// (model − lift) / se.
    pub z: f64,
}

fn week_index(panel: &Panel, label: &Label, which: &str) -> Result<usize> {
    let text = label.to_string();
    panel
        .weeks
        .iter()
        .position(|w| w.to_string() == text)
        .ok_or_else(|| {
            let first = panel.weeks.first().map(ToString::to_string);
            let last = panel.weeks.last().map(ToString::to_string);
            Error::Config(format!(
                "{which} week `{text}` is not a week of the panel (weeks run from {} to {})",
                first.unwrap_or_default(),
                last.unwrap_or_default()
            ))
        })
}

/// The lift tests `specs` resolved against `panel`, each with its `[region, week]` cell weights
/// u_e (`levels[r]` = ȳ_r on tested cells).
///
/// # Errors
/// A test names a channel, week or region that is not in the panel, or a value out of range.
pub fn resolve_lift_tests(
    specs: &[LiftTestSpec],
    panel: &Panel,
    levels: &[f64],
) -> Result<Vec<LiftTest>> {
    specs
        .iter()
        .enumerate()
        .map(|(i, spec)| {
            let which = format!("lift_test {}", i + 1);
            let channel = panel
                .channels
                .iter()
                .position(|c| *c == spec.channel)
                .ok_or_else(|| {
                    Error::Config(format!(
                        "{which}: `{}` is not a media channel (channels: {})",
                        spec.channel,
                        panel.channels.join(", ")
                    ))
                })?;
            let start = week_index(panel, &spec.start, &format!("{which}: start"))?;
            let end = week_index(panel, &spec.end, &format!("{which}: end"))?;
            if end < start {
                return Err(Error::Config(format!(
                    "{which}: end week {} is before start week {}",
                    spec.end, spec.start
                )));
            }
            let regions: Vec<usize> = if spec.regions.is_empty() {
                (0..panel.n_regions()).collect()
            } else {
                spec.regions
                    .iter()
                    .map(|label| {
                        let name = label.to_string();
                        panel
                            .regions
                            .iter()
                            .position(|r| *r == name)
                            .ok_or_else(|| {
                                Error::Config(format!(
                                    "{which}: region `{name}` is not in the panel"
                                ))
                            })
                    })
                    .collect::<Result<_>>()?
            };
            if !(spec.lift.is_finite() && spec.se > 0.0 && spec.se.is_finite()) {
                return Err(Error::Config(format!(
                    "{which}: `lift` must be finite and `se` finite and > 0"
                )));
            }
            if let Some(m) = spec.multiplier
                && !(m > 0.0 && m.is_finite() && m != 1.0)
            {
                return Err(Error::Config(format!(
                    "{which}: `multiplier` is the tested spend relative to the usual, finite, \
                     > 0 and not 1 (got {m})"
                )));
            }
            let shape = (panel.n_regions(), panel.n_weeks());
            let measured = match &spec.measured_until {
                // The channel's contribution after `end` comes from spend after the test too,
                // which no experiment of the contribution measures.
                Some(_) if spec.multiplier.is_none() => {
                    return Err(Error::Config(format!(
                        "{which}: `measured_until` is for a test at another spend level \
                         (`multiplier`); a test of the contribution is measured from start to end"
                    )));
                }
                Some(label) => {
                    let until = week_index(panel, label, &format!("{which}: measured_until"))?;
                    if until < end {
                        return Err(Error::Config(format!(
                            "{which}: measured_until week {label} is before end week {}",
                            spec.end
                        )));
                    }
                    until
                }
                // A test with a multiplier is measured through the last week (module docs).
                None if spec.multiplier.is_some() => panel.n_weeks() - 1,
                None => end,
            };
            let mut cells = Array2::zeros(shape);
            let mut counterfactual = spec.multiplier.map(|_| Array2::ones(shape));
            let mut activity = 0.0;
            for &r in &regions {
                for t in start..=measured {
                    cells[[r, t]] = levels[r];
                }
                for t in start..=end {
                    activity += panel.media[[r, t, channel]];
                    if let (Some(f), Some(m)) = (&mut counterfactual, spec.multiplier) {
                        f[[r, t]] = 1.0 / m;
                    }
                }
            }
            // Without activity the model's answer is carryover only; matching a lift would need
            // an absurd coefficient.
            if activity <= 0.0 {
                return Err(Error::Config(format!(
                    "{which}: `{}` has no activity in the tested region-weeks ({} … {})",
                    spec.channel, spec.start, spec.end
                )));
            }
            Ok(LiftTest {
                channel,
                cells,
                counterfactual,
                lift: spec.lift,
                se: spec.se,
            })
        })
        .collect()
}

impl FittedModel {
    /// The model's answer to every configured lift test on `panel` (its history).
    pub fn lift_test_checks(&self, panel: &Panel) -> Result<Vec<LiftTestCheck>> {
        if self.config.lift_tests.is_empty() {
            return Ok(Vec::new());
        }
        let model = self.model()?;
        let tests = resolve_lift_tests(&self.config.lift_tests, panel, &self.target_scaler.means)?;
        let inputs = self
            .inputs_for(panel)?
            .with_calibration(Calibration { tests, scale: 0.0 })?;
        let tape = model.forward(&self.params, &inputs);
        let answers = model.lift_answers(&self.params, &inputs, &tape);
        Ok(self
            .config
            .lift_tests
            .iter()
            .zip(answers)
            .map(|(test, model)| LiftTestCheck {
                z: (model - test.lift) / test.se,
                model,
                test: test.clone(),
            })
            .collect())
    }
}
