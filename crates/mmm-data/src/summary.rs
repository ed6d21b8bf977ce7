//! The data summary printed by `dcmmm validate` (text or JSON): shape, calendar, missing
//! region-weeks, per-channel totals and zero-week shares, collinear channel pairs and control ranges.
//!
//! All statistics use observed region-weeks only. Channel correlation is Pearson's r pooled over
//! observed region-weeks; pairs with `|r| > 0.9` are reported as collinearity warnings.

use crate::load::{LoadedPanel, Warning};
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;

/// Correlation above which (in absolute value) two channels are reported as collinear.
pub const COLLINEAR_THRESHOLD: f64 = 0.9;

/// Per-channel statistics over observed region-weeks.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChannelSummary {
    /// Channel (media column).
    pub name: String,
    /// Spend column, when one is given.
    pub spend_column: Option<String>,
    /// Total activity (media column).
    pub activity_total: f64,
    /// Total spend (the media column when no spend column is given).
    pub spend_total: f64,
    /// Share of observed region-weeks with zero activity.
    pub zero_week_share: f64,
}

/// A pair of strongly correlated channels.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CollinearPair {
    /// First channel.
    pub a: String,
    /// Second channel.
    pub b: String,
    /// Pearson correlation.
    pub corr: f64,
}

/// A control's range over observed region-weeks.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ControlSummary {
    /// Control column.
    pub name: String,
    /// Minimum.
    pub min: f64,
    /// Maximum.
    pub max: f64,
    /// Mean.
    pub mean: f64,
}

/// The target's range over observed region-weeks.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TargetSummary {
    /// Target column.
    pub name: String,
    /// Minimum.
    pub min: f64,
    /// Maximum.
    pub max: f64,
    /// Mean.
    pub mean: f64,
    /// Number of zero cells.
    pub zeros: usize,
}

/// Everything `dcmmm validate` prints.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DataSummary {
    /// The file.
    pub file: String,
    /// Data rows.
    pub rows: usize,
    /// Number of regions.
    pub regions: usize,
    /// Calendar weeks.
    pub weeks: usize,
    /// First calendar week.
    pub first_week: String,
    /// Last calendar week.
    pub last_week: String,
    /// Calendar step (days for dates).
    pub week_step: i64,
    /// Region-weeks of the calendar absent from the file (masked).
    pub missing_region_weeks: usize,
    /// Regions starting after the first calendar week.
    pub late_start_regions: Vec<String>,
    /// Target statistics.
    pub target: TargetSummary,
    /// Per-channel statistics.
    pub channels: Vec<ChannelSummary>,
    /// Channel pairs with `|corr| > 0.9`.
    pub collinear: Vec<CollinearPair>,
    /// Control ranges.
    pub controls: Vec<ControlSummary>,
    /// Warnings (loader warnings plus collinearity), as text.
    pub warnings: Vec<String>,
    /// What the loader did.
    pub actions: Vec<String>,
}

fn pearson(a: &[f64], b: &[f64]) -> Option<f64> {
    let n = a.len() as f64;
    if a.len() < 2 {
        return None;
    }
    let (ma, mb) = (a.iter().sum::<f64>() / n, b.iter().sum::<f64>() / n);
    let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
    for (x, y) in a.iter().zip(b) {
        sab += (x - ma) * (y - mb);
        saa += (x - ma).powi(2);
        sbb += (y - mb).powi(2);
    }
    (saa > 0.0 && sbb > 0.0).then(|| sab / (saa * sbb).sqrt())
}

impl DataSummary {
    /// Summarise a loaded panel.
    pub fn new(loaded: &LoadedPanel) -> Self {
        let p = &loaded.panel;
        let rep = &loaded.report;
        let obs: Vec<(usize, usize)> = (0..p.n_regions())
            .flat_map(|r| (0..p.n_weeks()).map(move |t| (r, t)))
            .filter(|&(r, t)| p.observed[[r, t]])
            .collect();
        let n_obs = obs.len().max(1) as f64;
        let tv: Vec<f64> = obs.iter().map(|&(r, t)| p.target[[r, t]]).collect();
        let target = TargetSummary {
            name: String::new(),
            min: tv.iter().copied().fold(f64::INFINITY, f64::min),
            max: tv.iter().copied().fold(f64::NEG_INFINITY, f64::max),
            mean: tv.iter().sum::<f64>() / n_obs,
            zeros: tv.iter().filter(|&&v| v == 0.0).count(),
        };
        let spend = p.spend_or_media();
        let series: Vec<Vec<f64>> = (0..p.n_channels())
            .map(|c| obs.iter().map(|&(r, t)| p.media[[r, t, c]]).collect())
            .collect();
        let channels = (0..p.n_channels())
            .map(|c| ChannelSummary {
                name: p.channels[c].clone(),
                spend_column: rep.spend_columns.get(c).cloned().flatten(),
                activity_total: series[c].iter().sum(),
                spend_total: obs.iter().map(|&(r, t)| spend[[r, t, c]]).sum(),
                zero_week_share: series[c].iter().filter(|&&v| v == 0.0).count() as f64 / n_obs,
            })
            .collect();
        let mut collinear = Vec::new();
        for a in 0..p.n_channels() {
            for b in a + 1..p.n_channels() {
                let corr = pearson(&series[a], &series[b]).unwrap_or(0.0);
                if corr.abs() > COLLINEAR_THRESHOLD {
                    collinear.push(CollinearPair {
                        a: p.channels[a].clone(),
                        b: p.channels[b].clone(),
                        corr,
                    });
                }
            }
        }
        let controls = (0..p.n_controls())
            .map(|k| {
                let v: Vec<f64> = obs
                    .iter()
                    .map(|&(r, t)| p.controls_data[[r, t, k]])
                    .collect();
                ControlSummary {
                    name: p.controls[k].clone(),
                    min: v.iter().copied().fold(f64::INFINITY, f64::min),
                    max: v.iter().copied().fold(f64::NEG_INFINITY, f64::max),
                    mean: v.iter().sum::<f64>() / n_obs,
                }
            })
            .collect();
        let mut warnings: Vec<String> = rep.warnings.iter().map(|w| w.to_string()).collect();
        warnings.extend(collinear.iter().map(|c: &CollinearPair| {
            Warning::Collinear {
                a: c.a.clone(),
                b: c.b.clone(),
                corr: c.corr,
            }
            .to_string()
        }));
        DataSummary {
            file: rep.path.display().to_string(),
            rows: rep.n_rows,
            regions: p.n_regions(),
            weeks: p.n_weeks(),
            first_week: p.weeks.first().map(|w| w.to_string()).unwrap_or_default(),
            last_week: p.weeks.last().map(|w| w.to_string()).unwrap_or_default(),
            week_step: rep.week_step,
            missing_region_weeks: rep.missing_region_weeks,
            late_start_regions: rep.late_start_regions.clone(),
            target: TargetSummary {
                name: target_name(loaded),
                ..target
            },
            channels,
            collinear,
            controls,
            warnings,
            actions: rep.actions.clone(),
        }
    }

    /// Human-readable multi-line text.
    pub fn to_text(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "file:     {} ({} rows)", self.file, self.rows);
        let _ = writeln!(s, "regions:  {}", self.regions);
        let _ = writeln!(
            s,
            "weeks:    {} ({} .. {}, step {})",
            self.weeks, self.first_week, self.last_week, self.week_step
        );
        let _ = writeln!(
            s,
            "missing region-weeks: {} (masked; {} late-starting region(s))",
            self.missing_region_weeks,
            self.late_start_regions.len()
        );
        let t = &self.target;
        let _ = writeln!(
            s,
            "target `{}`: min {} max {} mean {} ({} zero cells)",
            t.name,
            num(t.min),
            num(t.max),
            num(t.mean),
            t.zeros
        );
        let _ = writeln!(s, "channels ({}):", self.channels.len());
        for c in &self.channels {
            let spend = match &c.spend_column {
                Some(col) => format!(" spend {} (`{col}`)", num(c.spend_total)),
                None => String::new(),
            };
            let _ = writeln!(
                s,
                "  {}: activity {}{spend}, zero weeks {:.1}%",
                c.name,
                num(c.activity_total),
                100.0 * c.zero_week_share
            );
        }
        if !self.controls.is_empty() {
            let _ = writeln!(s, "controls ({}):", self.controls.len());
            for c in &self.controls {
                let _ = writeln!(
                    s,
                    "  {}: [{}, {}] mean {}",
                    c.name,
                    num(c.min),
                    num(c.max),
                    num(c.mean)
                );
            }
        }
        for a in &self.actions {
            let _ = writeln!(s, "note: {a}");
        }
        for w in &self.warnings {
            let _ = writeln!(s, "warning: {w}");
        }
        s
    }
}

/// Compact number formatting: integers for large magnitudes, 4 significant decimals otherwise.
fn num(v: f64) -> String {
    if v.abs() >= 1e4 {
        format!("{v:.0}")
    } else if v == v.trunc() {
        format!("{v}")
    } else {
        format!("{v:.4}")
    }
}

fn target_name(loaded: &LoadedPanel) -> String {
    loaded.report.target_column.clone()
}
