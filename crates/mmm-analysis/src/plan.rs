//! The panel the analysis runs the model on, and the decision window.
//!
//! * **Carryover.** The model runs over the whole calendar. To count effects that land after the
//!   last week, the history is extended by a *tail* of weeks with zero media (controls held at
//!   each region's last value, target unobserved). The tail is long enough for every channel's
//!   fitted adstock to deliver all but `1e-6` of its weight (at most [`MAX_TAIL_WEEKS`]).
//! * **Historical window** ([`Setup::historical`]): the decisions scale the activity actually run
//!   in a window of the history (default the last 52 weeks), keeping its week-by-week shape.
//! * **Planning horizon** ([`Setup::horizon`]): `H` new weeks after the history whose planned
//!   activity repeats the last `H` historical weeks (each channel's flighting shape per region);
//!   the decisions scale that plan.
//! * **Spend.** The model's input is activity (the media column). With spend columns, spend is
//!   taken as proportional to activity per channel and region over the window (cost per unit =
//!   window spend / window activity); without them the media are spend. Channels marked as
//!   impressions without spend ([`CostBasis::Impressions`]) are measured per 1 000 impressions.

use crate::{Error, Result};
use mmm_data::{Panel, Week};
use mmm_fitted::FittedModel;
use ndarray::{Array2, Array3, Axis, s};
use std::ops::Range;
use std::str::FromStr;

/// Longest carryover tail appended after the last week.
pub const MAX_TAIL_WEEKS: usize = 260;

/// Which weeks of the history a curve or a reallocation covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WindowSpec {
    /// The last `n` weeks (`last-52`).
    Last(usize),
    /// Every week (`all`).
    All,
    /// From one week label to another, both included (`FROM:TO`, labels as in the data file).
    Range(String, String),
}

impl Default for WindowSpec {
    fn default() -> Self {
        WindowSpec::Last(52)
    }
}

impl FromStr for WindowSpec {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        let s = s.trim();
        if s == "all" {
            return Ok(WindowSpec::All);
        }
        if let Some(n) = s.strip_prefix("last-") {
            return match n.parse::<usize>() {
                Ok(n) if n > 0 => Ok(WindowSpec::Last(n)),
                _ => Err(Error::Invalid(format!(
                    "window `{s}`: expected last-N with N ≥ 1, `all` or FROM:TO"
                ))),
            };
        }
        match s.split_once(':') {
            Some((a, b)) if !a.is_empty() && !b.is_empty() => {
                Ok(WindowSpec::Range(a.trim().into(), b.trim().into()))
            }
            _ => Err(Error::Invalid(format!(
                "window `{s}`: expected last-N, `all` or FROM:TO (week labels as in the data)"
            ))),
        }
    }
}

impl std::fmt::Display for WindowSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WindowSpec::Last(n) => write!(f, "last-{n}"),
            WindowSpec::All => write!(f, "all"),
            WindowSpec::Range(a, b) => write!(f, "{a}:{b}"),
        }
    }
}

impl WindowSpec {
    /// The week indices of `weeks` this window covers (`Last(n)` is clipped to the calendar).
    pub fn resolve(&self, weeks: &[Week]) -> Result<Range<usize>> {
        let n = weeks.len();
        match self {
            WindowSpec::All => Ok(0..n),
            WindowSpec::Last(k) => Ok(n.saturating_sub(*k)..n),
            WindowSpec::Range(a, b) => {
                let find = |label: &str| {
                    let wk = mmm_data::parse_week(label).ok_or_else(|| {
                        Error::Invalid(format!("window: `{label}` is not a week label"))
                    })?;
                    weeks.iter().position(|w| *w == wk).ok_or_else(|| {
                        Error::Invalid(format!(
                            "window: week `{label}` is not in the model's calendar ({} to {})",
                            weeks.first().map(ToString::to_string).unwrap_or_default(),
                            weeks.last().map(ToString::to_string).unwrap_or_default()
                        ))
                    })
                };
                let (i, j) = (find(a)?, find(b)?);
                if i > j {
                    return Err(Error::Invalid(format!(
                        "window {a}:{b} ends before it starts"
                    )));
                }
                Ok(i..j + 1)
            }
        }
    }
}

/// What a channel's "spend" is measured in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CostBasis {
    /// Spend (the spend column, or the media column when no spend is given).
    Spend,
    /// Thousands of impressions (media are impressions and no spend is given).
    PerThousandImpressions,
}

impl CostBasis {
    /// The label written into outputs.
    pub fn label(self) -> &'static str {
        match self {
            CostBasis::Spend => "spend",
            CostBasis::PerThousandImpressions => "per_1000_impressions",
        }
    }
}

/// A panel to run the model on plus the decision window.
#[derive(Debug, Clone)]
pub struct Setup {
    /// History (+ planned weeks) + carryover tail.
    pub panel: Panel,
    /// Decision weeks (the activity the multipliers scale).
    pub window: Range<usize>,
    /// Number of historical weeks at the start of `panel`.
    pub history_weeks: usize,
    /// Number of zero-media weeks appended at the end.
    pub tail_weeks: usize,
    /// Spend `[region, week, channel]` over `panel`'s weeks, in each channel's [`CostBasis`].
    pub spend: Array3<f64>,
    /// Cost basis per channel.
    pub basis: Vec<CostBasis>,
}

/// Number of carryover weeks after which every channel's fitted adstock has delivered all but
/// `1e-6` of its weight (at most [`MAX_TAIL_WEEKS`]).
pub fn tail_weeks(fitted: &FittedModel) -> Result<usize> {
    let model = fitted.model()?;
    let mut tail = 1;
    for c in 0..fitted.channels.len() {
        let w = model
            .adstock(c)
            .lag_weights(model.adstock_params(&fitted.params, c), MAX_TAIL_WEEKS + 1);
        let total: f64 = w.iter().sum();
        let mut acc = 0.0;
        let mut need = MAX_TAIL_WEEKS;
        for (l, v) in w.iter().enumerate() {
            acc += v;
            if acc >= (1.0 - 1e-6) * total {
                need = l;
                break;
            }
        }
        tail = tail.max(need);
    }
    Ok(tail.min(MAX_TAIL_WEEKS))
}

fn basis_for(fitted: &FittedModel, impressions: &[String]) -> Result<Vec<CostBasis>> {
    for name in impressions {
        if !fitted.channels.contains(name) {
            return Err(Error::Invalid(format!(
                "impressions channel `{name}` is not a model channel ({})",
                fitted.channels.join(", ")
            )));
        }
    }
    Ok(fitted
        .channels
        .iter()
        .map(|c| {
            let has_spend = fitted.columns.spend.iter().any(|(ch, _)| ch == c);
            if impressions.contains(c) && !has_spend {
                CostBasis::PerThousandImpressions
            } else {
                CostBasis::Spend
            }
        })
        .collect())
}

/// `panel` followed by `extra` weeks: media and spend from `plan_media` / `plan_spend`
/// (`[region, week, channel]`, `None` = zero), controls held at each region's last value,
/// target unobserved.
pub fn extend_panel(
    panel: &Panel,
    extra: usize,
    plan_media: Option<&Array3<f64>>,
    plan_spend: Option<&Array3<f64>>,
) -> Panel {
    let (r_n, t_n, c_n) = panel.media.dim();
    let k_n = panel.n_controls();
    let new_t = t_n + extra;
    let last = panel.weeks[t_n - 1];
    let step = if t_n >= 2 {
        panel.weeks[t_n - 1].key() - panel.weeks[t_n - 2].key()
    } else if last.is_date() {
        7
    } else {
        1
    };
    let mut weeks = panel.weeks.clone();
    weeks.extend((1..=extra as i64).map(|i| last.with_key(last.key() + i * step)));
    let mut media = Array3::zeros((r_n, new_t, c_n));
    media.slice_mut(s![.., ..t_n, ..]).assign(&panel.media);
    let spend_src = panel.spend_or_media();
    let mut spend = Array3::zeros((r_n, new_t, c_n));
    spend.slice_mut(s![.., ..t_n, ..]).assign(spend_src);
    if let Some(p) = plan_media {
        let h = p.dim().1.min(extra);
        media
            .slice_mut(s![.., t_n..t_n + h, ..])
            .assign(&p.slice(s![.., ..h, ..]));
        let ps = plan_spend.unwrap_or(p);
        spend
            .slice_mut(s![.., t_n..t_n + h, ..])
            .assign(&ps.slice(s![.., ..h, ..]));
    }
    let mut controls = Array3::zeros((r_n, new_t, k_n));
    controls
        .slice_mut(s![.., ..t_n, ..])
        .assign(&panel.controls_data);
    for r in 0..r_n {
        for t in t_n..new_t {
            for k in 0..k_n {
                controls[[r, t, k]] = panel.controls_data[[r, t_n - 1, k]];
            }
        }
    }
    let mut target = Array2::from_elem((r_n, new_t), f64::NAN);
    target.slice_mut(s![.., ..t_n]).assign(&panel.target);
    let mut observed = Array2::from_elem((r_n, new_t), false);
    observed.slice_mut(s![.., ..t_n]).assign(&panel.observed);
    Panel {
        regions: panel.regions.clone(),
        weeks,
        channels: panel.channels.clone(),
        controls: panel.controls.clone(),
        target,
        media,
        spend: Some(spend),
        controls_data: controls,
        observed,
    }
}

impl Setup {
    /// Decisions on the activity run in `window` of the history (carryover tail appended).
    /// `impressions` names channels whose media are impressions without a spend column.
    pub fn historical(
        fitted: &FittedModel,
        window: &WindowSpec,
        impressions: &[String],
    ) -> Result<Setup> {
        let history = fitted.history_panel()?;
        let window = window.resolve(&history.weeks)?;
        if window.is_empty() {
            return Err(Error::Invalid("the window holds no weeks".into()));
        }
        let tail = tail_weeks(fitted)?;
        let panel = extend_panel(&history, tail, None, None);
        Self::finish(fitted, panel, window, history.n_weeks(), tail, impressions)
    }

    /// Decisions on a plan of `weeks` new weeks after the history whose activity repeats the
    /// last `weeks` historical weeks (carryover from the history into the plan and from the plan
    /// into the tail both counted).
    pub fn horizon(fitted: &FittedModel, weeks: usize, impressions: &[String]) -> Result<Setup> {
        if weeks == 0 {
            return Err(Error::Invalid(
                "the planning horizon needs at least one week".into(),
            ));
        }
        if weeks > mmm_data::MAX_CALENDAR_WEEKS {
            return Err(Error::Invalid(format!(
                "a planning horizon of {weeks} weeks is longer than the {} weeks a calendar may \
                 have",
                mmm_data::MAX_CALENDAR_WEEKS
            )));
        }
        let history = fitted.history_panel()?;
        let t_n = history.n_weeks();
        let h = weeks.min(t_n);
        // Repeat the last h weeks' pattern (cyclically when the horizon exceeds the history).
        let src = |a: &Array3<f64>| {
            Array3::from_shape_fn((a.dim().0, weeks, a.dim().2), |(r, t, c)| {
                a[[r, t_n - h + t % h, c]]
            })
        };
        let plan_media = src(&history.media);
        let plan_spend = src(history.spend_or_media());
        let tail = tail_weeks(fitted)?;
        let panel = extend_panel(&history, weeks + tail, Some(&plan_media), Some(&plan_spend));
        Self::finish(fitted, panel, t_n..t_n + weeks, t_n, tail, impressions)
    }

    fn finish(
        fitted: &FittedModel,
        panel: Panel,
        window: Range<usize>,
        history_weeks: usize,
        tail_weeks: usize,
        impressions: &[String],
    ) -> Result<Setup> {
        let basis = basis_for(fitted, impressions)?;
        let mut spend = panel.spend_or_media().clone();
        for (c, b) in basis.iter().enumerate() {
            if *b == CostBasis::PerThousandImpressions {
                let act = panel.media.index_axis(Axis(2), c).mapv(|v| v / 1000.0);
                spend.index_axis_mut(Axis(2), c).assign(&act);
            }
        }
        Ok(Setup {
            panel,
            window,
            history_weeks,
            tail_weeks,
            spend,
            basis,
        })
    }

    /// Spend in the window per channel and region, `[channel, region]`.
    pub fn window_spend(&self) -> Array2<f64> {
        let (r_n, _, c_n) = self.spend.dim();
        Array2::from_shape_fn((c_n, r_n), |(c, r)| {
            self.window.clone().map(|t| self.spend[[r, t, c]]).sum()
        })
    }

    /// Window activity per channel and region, `[channel, region]` (media units).
    pub fn window_activity(&self) -> Array2<f64> {
        let (r_n, _, c_n) = self.panel.media.dim();
        Array2::from_shape_fn((c_n, r_n), |(c, r)| {
            self.window
                .clone()
                .map(|t| self.panel.media[[r, t, c]])
                .sum()
        })
    }

    /// Weeks whose prediction is counted as the outcome: from the window's start to the end of
    /// the tail.
    pub fn outcome_weeks(&self) -> Range<usize> {
        self.window.start..self.panel.n_weeks()
    }
}
