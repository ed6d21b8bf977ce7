//! The dense panel: regions × calendar weeks × channels/controls, with an observation mask.
//!
//! The calendar runs from the first to the last week of the file in steps of the panel's week
//! step, including weeks no region observed. `observed[r, t]` is false for region-weeks absent from
//! the file (late starts, gaps, early ends); there the target is NaN, media/spend are 0 and controls
//! are forward-/back-filled within the region, so inputs are always finite while losses and metrics
//! must use only observed cells.

use crate::week::Week;
use ndarray::{Array2, Array3};

/// A loaded MMM panel over the full calendar.
#[derive(Clone, Debug, PartialEq)]
pub struct Panel {
    /// Region names in order of first appearance (`["national"]` when there is no region column).
    pub regions: Vec<String>,
    /// The calendar: sorted, evenly spaced, including weeks no region observed.
    pub weeks: Vec<Week>,
    /// Channel names (the media column names, in the order the media list selected them).
    pub channels: Vec<String>,
    /// Control names.
    pub controls: Vec<String>,
    /// Target `[region, week]`; NaN where not observed.
    pub target: Array2<f64>,
    /// Media activity `[region, week, channel]` (impressions or spend); 0 where not observed.
    pub media: Array3<f64>,
    /// Spend `[region, week, channel]` when spend columns are given (else media is spend).
    pub spend: Option<Array3<f64>>,
    /// Controls `[region, week, control]`; filled within the region where not observed.
    pub controls_data: Array3<f64>,
    /// Observation mask `[region, week]`.
    pub observed: Array2<bool>,
}

impl Panel {
    /// Number of regions.
    pub fn n_regions(&self) -> usize {
        self.regions.len()
    }

    /// Number of calendar weeks.
    pub fn n_weeks(&self) -> usize {
        self.weeks.len()
    }

    /// Number of media channels.
    pub fn n_channels(&self) -> usize {
        self.channels.len()
    }

    /// Number of controls.
    pub fn n_controls(&self) -> usize {
        self.controls.len()
    }

    /// Fraction of the calendar year of week `t` in `[0, 1)` (from the date; for integer weeks
    /// `frac(index / 52.1775)`), for calendar-aligned Fourier seasonality.
    pub fn year_fraction(&self, t: usize) -> f64 {
        self.weeks[t].year_fraction()
    }

    /// Spend `[region, week, channel]`: the spend columns when given, else the media themselves.
    pub fn spend_or_media(&self) -> &Array3<f64> {
        self.spend.as_ref().unwrap_or(&self.media)
    }

    /// Number of observed region-weeks.
    pub fn n_observed(&self) -> usize {
        self.observed.iter().filter(|&&o| o).count()
    }

    /// Number of observed region-weeks among calendar weeks `weeks`.
    pub fn n_observed_in(&self, weeks: std::ops::Range<usize>) -> usize {
        self.observed
            .rows()
            .into_iter()
            .map(|row| weeks.clone().filter(|&t| row[t]).count())
            .sum()
    }
}
