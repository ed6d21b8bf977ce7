//! Panel data for marketing-mix models: long-format CSV loading, validation with typed errors,
//! scaling and train/validation/holdout splits.
//!
//! * [`load_panel`] reads a long-format CSV (one row per region × week) into a dense [`Panel`]
//!   over the full, evenly spaced calendar; unobserved region-weeks are masked
//!   ([`Panel::observed`]), never zero-filled into the target, and what was done is recorded in the
//!   [`LoadReport`].
//! * Bad input gives an [`Error`] naming the file, line, column and what was expected.
//! * [`TargetScaler`], [`MediaScaler`] and [`ControlScaler`] hold the (serialisable) scaling a model
//!   fits on training weeks and applies to new data; [`TimeSplit`] gives the calendar split.
//! * [`DataSummary`] is the data summary printed by `dcmmm validate`.
//! * [`check_component_names`] keeps channel and control names usable as components of the
//!   decomposition; [`write_atomic`] (and [`write_csv_atomic`]) is how every output file is
//!   written.
//!
//! See `docs/data.md` for the input format, the checks and the scaling formulas.

// Errors carry file/line/column/value for the user; they are built once, on the cold path.
#![allow(clippy::result_large_err)]

mod atomic;
mod error;
mod load;
mod names;
mod panel;
mod scale;
mod spec;
mod split;
mod summary;
mod week;

pub use atomic::{write_atomic, write_csv_atomic};
pub use error::{Error, Result};
pub use load::{
    LoadReport, LoadedPanel, MAX_CALENDAR_WEEKS, Warning, load_panel, load_plan, parse_panel,
};
pub use names::{RESERVED_COMPONENTS, check_component_names};
pub use panel::Panel;
pub use scale::{ControlScaler, MediaScaler, TargetScaler};
pub use spec::{ColumnSpec, DataConfig, TIME_COLUMN_CANDIDATES};
pub use split::{DEFAULT_HOLDOUT_WEEKS, DEFAULT_MIN_TRAIN_WEEKS, TimeSplit};
pub use summary::{ChannelSummary, CollinearPair, ControlSummary, DataSummary, TargetSummary};
pub use week::{MAX_WEEK_INDEX, Week, civil_from_days, days_from_civil, parse_week};
