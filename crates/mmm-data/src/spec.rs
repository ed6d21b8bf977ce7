//! Column roles: which CSV columns are the target, media, controls, region, time and spend.
//!
//! Media and control lists accept glob patterns (`impressions_*`); a plain name must exist exactly.
//! [`DataConfig`] is the `[data]` table of a TOML config holding the same keys as the CLI flags.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// Column names tried, in order, when no time column is given (`time` empty).
pub const TIME_COLUMN_CANDIDATES: [&str; 3] = ["week", "date", "time"];

/// Which columns of the CSV play which role.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ColumnSpec {
    /// The target (KPI) column.
    pub target: String,
    /// Media (activity) columns: names or glob patterns, in channel order.
    pub media: Vec<String>,
    /// Control columns: names or glob patterns.
    pub controls: Vec<String>,
    /// The region column; `None` means one national region.
    pub region: Option<String>,
    /// The time column; empty means auto-detect among [`TIME_COLUMN_CANDIDATES`].
    pub time: String,
    /// `(channel, spend column)` pairs, when media are impressions. Channels without a pair use
    /// their media column as spend.
    pub spend: Vec<(String, String)>,
}

/// The `[data]` table of a TOML config (`fit.toml`); every key is optional and CLI flags override it.
///
/// ```toml
/// [data]
/// path = "panel.csv"
/// target = "sales"
/// media = ["impressions_*"]
/// controls = ["price"]
/// region = "region"
/// time = "week"
/// spend = { tv = "tv_spend" }
/// holdout_weeks = 13
/// ```
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataConfig {
    /// The CSV file (relative paths are relative to the config file).
    pub path: Option<PathBuf>,
    /// The target column.
    pub target: Option<String>,
    /// Media columns or globs.
    pub media: Option<Vec<String>>,
    /// Control columns or globs.
    pub controls: Option<Vec<String>>,
    /// The region column.
    pub region: Option<String>,
    /// The time column.
    pub time: Option<String>,
    /// Channel → spend column.
    pub spend: Option<BTreeMap<String, String>>,
    /// Holdout length in weeks.
    pub holdout_weeks: Option<usize>,
}

impl ColumnSpec {
    /// Parse `channel=column` spend pairs (as given to `--spend tv=tv_spend,search=search_spend`).
    pub fn parse_spend_pairs(items: &[String]) -> crate::Result<Vec<(String, String)>> {
        items
            .iter()
            .map(|item| match item.split_once('=') {
                Some((c, s)) if !c.trim().is_empty() && !s.trim().is_empty() => {
                    Ok((c.trim().to_string(), s.trim().to_string()))
                }
                _ => Err(crate::Error::InvalidSpec(format!(
                    "spend mapping `{item}`: expected CHANNEL=COLUMN"
                ))),
            })
            .collect()
    }
}
