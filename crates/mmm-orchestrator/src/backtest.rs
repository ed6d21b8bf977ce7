//! Rolling-origin backtests: fit on the weeks before each origin, forecast the next weeks, score
//! the forecast beside the naive baselines on the same cells.
//!
//! Origin `T` is a calendar position: the fit sees the panel as it was known after its first `T`
//! weeks (positions `0 … T−1`) plus the `horizon` weeks it forecasts, which are its holdout — never
//! read by training, early stopping or the choice of media path — and the forecast is warm
//! (adstock and GRU state run through the training weeks). Regions not yet observed by the end of
//! the forecast window are not part of that panel. On a panel of `n` weeks the origin `n − 13`
//! with horizon 13 is the final holdout of `dcmmm fit`.

use crate::train::Progress;
use crate::{Error, Result, fit_panel_with};
use mmm_data::{ColumnSpec, Panel};
use mmm_eval::FitMetrics;
use mmm_fitted::{BaselineScore, FitConfig, PathChoice, Scorecard};
use mmm_transforms::TransformRegistry;
use ndarray::{Axis, s};
use serde::{Deserialize, Serialize};

/// The origins of a backtest: a list (`52,56,60`) or a step (`every 4 from 52`, optionally
/// `… to 96`; without an end, every origin whose forecast window fits the calendar).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Origins {
    /// Explicit calendar positions.
    List(Vec<usize>),
    /// `every step from start [to end]`.
    Every {
        /// Weeks between origins.
        step: usize,
        /// First origin.
        start: usize,
        /// Last origin (inclusive); `None` = as far as the calendar allows.
        end: Option<usize>,
    },
}

impl std::str::FromStr for Origins {
    type Err = Error;

    fn from_str(text: &str) -> Result<Self> {
        let bad = || {
            Error::Config(format!(
                "origins `{text}`: expected a list of week positions like `52,56,60` or \
                 `every 4 from 52` (optionally `to 96`)"
            ))
        };
        let number = |w: &str| w.trim().parse::<usize>().map_err(|_| bad());
        let words: Vec<&str> = text.split_whitespace().collect();
        match words.as_slice() {
            ["every", step, "from", start] => Ok(Origins::Every {
                step: number(step)?,
                start: number(start)?,
                end: None,
            }),
            ["every", step, "from", start, "to", end] => Ok(Origins::Every {
                step: number(step)?,
                start: number(start)?,
                end: Some(number(end)?),
            }),
            _ if text.trim().is_empty() => Err(bad()),
            _ => Ok(Origins::List(
                text.split(',').map(number).collect::<Result<_>>()?,
            )),
        }
    }
}

impl Origins {
    /// The origins on a calendar of `n_weeks` with forecasts of `horizon` weeks, ascending.
    ///
    /// # Errors
    /// A step of 0, an empty list, or an origin whose forecast window runs past the calendar.
    pub fn resolve(&self, n_weeks: usize, horizon: usize) -> Result<Vec<usize>> {
        let last = n_weeks.checked_sub(horizon).ok_or_else(|| {
            Error::Config(format!(
                "a horizon of {horizon} weeks is longer than the calendar ({n_weeks} weeks)"
            ))
        })?;
        let mut origins = match self {
            Origins::List(v) => v.clone(),
            Origins::Every { step: 0, .. } => {
                return Err(Error::Config("origins: the step must be at least 1".into()));
            }
            Origins::Every { step, start, end } => {
                let end = end.unwrap_or(last);
                (*start..=end).step_by(*step).collect()
            }
        };
        origins.sort_unstable();
        origins.dedup();
        if origins.is_empty() {
            return Err(Error::Config("origins: none given".into()));
        }
        if let Some(&o) = origins.iter().find(|&&o| o > last) {
            return Err(Error::Config(format!(
                "origin {o}: its {horizon} forecast weeks run past the calendar's {n_weeks} weeks \
                 (the last possible origin is {last})"
            )));
        }
        Ok(origins)
    }
}

/// One origin of a backtest.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OriginScore {
    /// Calendar position of the first forecast week (= the number of training weeks).
    pub origin: usize,
    /// Label of the first forecast week.
    pub first_forecast_week: String,
    /// Forecast weeks.
    pub horizon: usize,
    /// Regions in the panel at this origin (observed by the end of its forecast window).
    pub regions: usize,
    /// The model's forecast of the horizon weeks.
    pub model: FitMetrics,
    /// The naive baselines on the same cells.
    pub baselines: Vec<BaselineScore>,
    /// The media path kept (`two-stage` or `joint`).
    pub path: String,
    /// Both media paths' validation scores when both were trained (`FittedModel::path`).
    pub paths: Option<PathChoice>,
    /// Epochs selected by validation.
    pub epochs: usize,
    /// The fit's self-check warnings.
    pub warnings: Vec<String>,
    /// Regions left out of training.
    pub left_out: Vec<String>,
    /// Wall-clock seconds of the fit.
    pub fit_seconds: f64,
}

impl OriginScore {
    /// The best naive baseline on each metric separately: highest pooled and within-region R²,
    /// lowest wMAPE (possibly three different baselines).
    pub fn best_naive(&self) -> Scores {
        let max = |f: fn(&FitMetrics) -> f64| {
            self.baselines
                .iter()
                .map(|b| f(&b.holdout))
                .filter(|v| v.is_finite())
                .fold(f64::NAN, f64::max)
        };
        Scores {
            r2_pooled: max(|m| m.r2_pooled),
            r2_within: max(|m| m.r2_within),
            wmape: -max(|m| -m.wmape),
        }
    }
}

/// The three headline scores of a forecast: pooled R², within-region R², wMAPE.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Scores {
    /// Pooled R².
    pub r2_pooled: f64,
    /// Within-region R².
    pub r2_within: f64,
    /// wMAPE.
    pub wmape: f64,
}

impl From<&FitMetrics> for Scores {
    fn from(m: &FitMetrics) -> Self {
        Scores {
            r2_pooled: m.r2_pooled,
            r2_within: m.r2_within,
            wmape: m.wmape,
        }
    }
}

impl Scores {
    /// The mean of each score (NaN for no scores).
    fn mean(scores: impl Iterator<Item = Scores>) -> Self {
        let (mut n, mut sum) = (0.0, [0.0; 3]);
        for s in scores {
            n += 1.0;
            sum[0] += s.r2_pooled;
            sum[1] += s.r2_within;
            sum[2] += s.wmape;
        }
        Scores {
            r2_pooled: sum[0] / n,
            r2_within: sum[1] / n,
            wmape: sum[2] / n,
        }
    }
}

/// A rolling-origin backtest.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Backtest {
    /// Forecast weeks per origin.
    pub horizon: usize,
    /// Every origin, ascending.
    pub origins: Vec<OriginScore>,
}

impl Backtest {
    /// The model's mean scores over the origins.
    pub fn model_mean(&self) -> Scores {
        Scores::mean(self.origins.iter().map(|o| Scores::from(&o.model)))
    }

    /// The mean over the origins of each origin's best naive baseline per metric
    /// ([`OriginScore::best_naive`]).
    pub fn best_naive_mean(&self) -> Scores {
        Scores::mean(self.origins.iter().map(OriginScore::best_naive))
    }

    /// The mean scores of the naive baseline `name` over the origins (`None` if an origin lacks
    /// it).
    pub fn baseline_mean(&self, name: &str) -> Option<Scores> {
        let scores: Vec<Scores> = self
            .origins
            .iter()
            .map(|o| {
                o.baselines
                    .iter()
                    .find(|b| b.name == name)
                    .map(|b| (&b.holdout).into())
            })
            .collect::<Option<_>>()?;
        Some(Scores::mean(scores.into_iter()))
    }
}

/// `panel` as known after its first `weeks` calendar weeks: those weeks, and the regions observed
/// in them.
fn known_until(panel: &Panel, weeks: usize) -> Panel {
    let regions: Vec<usize> = (0..panel.n_regions())
        .filter(|&r| (0..weeks).any(|t| panel.observed[[r, t]]))
        .collect();
    let cut2 = |a: &ndarray::Array2<f64>| a.slice(s![.., ..weeks]).select(Axis(0), &regions);
    let cut3 = |a: &ndarray::Array3<f64>| a.slice(s![.., ..weeks, ..]).select(Axis(0), &regions);
    Panel {
        regions: regions.iter().map(|&r| panel.regions[r].clone()).collect(),
        weeks: panel.weeks[..weeks].to_vec(),
        channels: panel.channels.clone(),
        controls: panel.controls.clone(),
        target: cut2(&panel.target),
        media: cut3(&panel.media),
        spend: panel.spend.as_ref().map(cut3),
        controls_data: cut3(&panel.controls_data),
        observed: panel
            .observed
            .slice(s![.., ..weeks])
            .select(Axis(0), &regions),
    }
}

/// Runs a rolling-origin backtest of `cfg` on `panel`: for each origin, a fit on the weeks before
/// it with the next `horizon` weeks held out (`cfg.holdout_weeks` is replaced by `horizon`), its
/// warm forecast of them and the naive baselines on the same cells. `progress` receives the
/// origin's index and its training progress. The transforms are the built-ins
/// ([`backtest_with`]).
pub fn backtest(
    panel: &Panel,
    columns: &ColumnSpec,
    cfg: &FitConfig,
    origins: &[usize],
    horizon: usize,
    progress: &mut dyn FnMut(usize, Progress),
) -> Result<Backtest> {
    let builtins = TransformRegistry::with_builtins();
    backtest_with(panel, columns, cfg, &builtins, origins, horizon, progress)
}

/// [`backtest`], every origin's fit taking the transforms `cfg.model` names from `transforms`
/// (`crate::fit_panel_with`).
pub fn backtest_with(
    panel: &Panel,
    columns: &ColumnSpec,
    cfg: &FitConfig,
    transforms: &TransformRegistry,
    origins: &[usize],
    horizon: usize,
    progress: &mut dyn FnMut(usize, Progress),
) -> Result<Backtest> {
    if horizon == 0 {
        return Err(Error::Config("the horizon must be at least 1 week".into()));
    }
    let cfg = FitConfig {
        holdout_weeks: horizon,
        ..cfg.clone()
    };
    let mut scores = Vec::with_capacity(origins.len());
    for (i, &origin) in origins.iter().enumerate() {
        let end = origin + horizon;
        if end > panel.n_weeks() {
            return Err(Error::Config(format!(
                "origin {origin}: its {horizon} forecast weeks run past the calendar's {} weeks",
                panel.n_weeks()
            )));
        }
        let known = known_until(panel, end);
        let fitted = fit_panel_with(&known, columns, &cfg, transforms, &mut |p| progress(i, p))?;
        let (prediction, _) = fitted.predict(&known)?;
        let card = Scorecard::compute(&fitted, &known, &prediction)?;
        let model = card.holdout.ok_or_else(|| {
            Error::Config(format!("origin {origin}: no observed week to forecast"))
        })?;
        let two_stage = fitted.screened_media.as_ref().is_some_and(|m| m.used);
        scores.push(OriginScore {
            origin,
            first_forecast_week: panel.weeks[origin].to_string(),
            horizon,
            regions: known.n_regions(),
            model,
            baselines: card.baselines,
            path: if two_stage { "two-stage" } else { "joint" }.into(),
            paths: fitted.path,
            epochs: fitted.best_epochs,
            warnings: fitted.warnings,
            left_out: fitted.left_out,
            fit_seconds: fitted.fit_seconds,
        });
    }
    Ok(Backtest {
        horizon,
        origins: scores,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fit_panel;
    use crate::fit_tests::{panel, quick_config, starting_late};

    #[test]
    fn origins_parse_as_a_list_or_a_step_and_are_checked_against_the_calendar() {
        let parse = |t: &str| t.parse::<Origins>();
        assert_eq!(parse("60, 52,56").unwrap(), Origins::List(vec![60, 52, 56]));
        assert_eq!(
            parse("every 4 from 52").unwrap().resolve(109, 13).unwrap(),
            (52..=96).step_by(4).collect::<Vec<_>>()
        );
        assert_eq!(
            parse("every 4 from 52 to 60")
                .unwrap()
                .resolve(109, 13)
                .unwrap(),
            [52, 56, 60]
        );
        assert_eq!(
            parse("60,52,56,52").unwrap().resolve(109, 13).unwrap(),
            [52, 56, 60]
        );
        for bad in ["", "every x from 52", "52,,56", "every 4 to 52", "-3"] {
            let e = parse(bad).unwrap_err().to_string();
            assert!(e.contains("expected a list"), "{bad}: {e}");
        }
        let e = parse("90,97").unwrap().resolve(109, 13).unwrap_err();
        assert!(e.to_string().contains("last possible origin is 96"), "{e}");
        let e = parse("every 0 from 52")
            .unwrap()
            .resolve(109, 13)
            .unwrap_err();
        assert!(e.to_string().contains("step"), "{e}");
        assert!(parse("1").unwrap().resolve(10, 13).is_err());
    }

    #[test]
    fn each_origin_is_the_fit_of_the_weeks_before_it_scored_beside_the_baselines() {
        // Region 2 starts in week 50: absent at origin 36 (its window ends at week 44), left out
        // of training at origin 44 (its only weeks, 50 and 51, are forecast weeks).
        let p = starting_late(panel(3, 60), 2, 50);
        let spec = ColumnSpec::default();
        let cfg = quick_config();
        let mut seen = Vec::new();
        let bt = backtest(&p, &spec, &cfg, &[36, 44, 52], 8, &mut |i, _| {
            if seen.last() != Some(&i) {
                seen.push(i);
            }
        })
        .unwrap();
        assert_eq!(seen, [0, 1, 2]);
        assert_eq!(bt.origins.len(), 3);
        let regions: Vec<usize> = bt.origins.iter().map(|o| o.regions).collect();
        assert_eq!(regions, [2, 3, 3]);
        assert!(bt.origins[0].left_out.is_empty());
        // Three regions: too few for the media screen, so one path (joint) each time.
        assert!(
            bt.origins
                .iter()
                .all(|o| o.paths.is_none() && o.path == "joint")
        );
        assert_eq!(bt.origins[1].left_out, ["r2"]);
        for o in &bt.origins {
            assert_eq!(o.baselines.len(), 3);
            assert!(o.model.r2_pooled.is_finite() && o.model.wmape.is_finite());
            let best = o.best_naive();
            for b in &o.baselines {
                assert!(best.r2_within >= b.holdout.r2_within);
                assert!(best.wmape <= b.holdout.wmape);
            }
        }
        // The forecast window 44..52 holds 8 weeks of regions 0 and 1 and 2 of region 2.
        assert_eq!(bt.origins[1].model.n, 2 * 8 + 2);
        // The last origin of a 60-week panel with horizon 8 is `dcmmm fit` with 8 holdout weeks.
        let fitted = fit_panel(&p, &spec, &cfg, &mut |_| {}).unwrap();
        let (pred, _) = fitted.predict(&p).unwrap();
        let card = Scorecard::compute(&fitted, &p, &pred).unwrap();
        assert_eq!(bt.origins[2].model, card.holdout.unwrap());
        assert_eq!(bt.origins[2].first_forecast_week, p.weeks[52].to_string());
        // Means over the origins.
        let mean = bt.model_mean();
        let by_hand = bt.origins.iter().map(|o| o.model.wmape).sum::<f64>() / 3.0;
        assert!((mean.wmape - by_hand).abs() < 1e-12);
        let naive = bt.baseline_mean("train_mean").unwrap();
        assert!(bt.best_naive_mean().r2_within >= naive.r2_within);
        assert!(bt.baseline_mean("no such baseline").is_none());
    }

    #[test]
    fn bad_origins_and_horizons_are_errors() {
        let p = panel(3, 60);
        let spec = ColumnSpec::default();
        let cfg = quick_config();
        let run =
            |origins: &[usize], h: usize| backtest(&p, &spec, &cfg, origins, h, &mut |_, _| {});
        assert!(run(&[55], 8).unwrap_err().to_string().contains("run past"));
        assert!(run(&[40], 0).unwrap_err().to_string().contains("horizon"));
        // Too few weeks before the origin for the validation slice and the minimum training span.
        assert!(run(&[20], 8).is_err());
    }
}
