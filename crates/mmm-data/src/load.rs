//! Loading a long-format CSV panel (one row per region × week) into a dense [`Panel`].
//!
//! Steps: read the header (rejecting empty files, duplicate names and non-comma delimiters), resolve
//! column roles (globs for media/controls), parse every row (numbers must be finite, media and spend
//! non-negative, time cells ISO dates or integers of one kind), reject duplicate (region, week),
//! derive the calendar step as the most common distance between consecutive distinct weeks (every
//! distance must be a multiple of it), then fill the dense arrays and the observation mask.
//!
//! Unobserved region-weeks (a region starting late, gaps, early ends) are masked: target NaN,
//! media/spend 0, controls forward-filled then back-filled within the region. Everything done and
//! every warning (negative targets, constant region targets, all-zero channels, non-weekly dates) is
//! recorded in the [`LoadReport`].

use crate::error::{Error, Result};
use crate::panel::Panel;
use crate::spec::{ColumnSpec, TIME_COLUMN_CANDIDATES};
use crate::week::{Week, parse_week};
use ndarray::{Array2, Array3};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

/// Longest calendar accepted (in steps), a guard against absurd integer week columns.
pub const MAX_CALENDAR_WEEKS: usize = 10_000;

/// A non-fatal finding about the data.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Warning {
    /// A channel is zero in every observed region-week.
    AllZeroChannel {
        /// The channel (media column).
        channel: String,
    },
    /// Some observed target cells are negative (corrections); allowed.
    NegativeTarget {
        /// How many cells.
        count: usize,
        /// The first line holding one.
        first_line: u64,
    },
    /// A region's observed target is constant (e.g. all zero): it carries no signal, and the target
    /// scaler fails if its mean is not positive.
    ConstantRegionTarget {
        /// The region.
        region: String,
        /// The constant value.
        value: f64,
    },
    /// Date weeks are not 7 days apart.
    NotWeekly {
        /// The step in days.
        step_days: i64,
    },
    /// Two channels are strongly correlated (set by the summary, not the loader).
    Collinear {
        /// First channel.
        a: String,
        /// Second channel.
        b: String,
        /// Pearson correlation over observed region-weeks.
        corr: f64,
    },
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Warning::AllZeroChannel { channel } => {
                write!(
                    f,
                    "channel `{channel}` is zero in every observed region-week"
                )
            }
            Warning::NegativeTarget { count, first_line } => write!(
                f,
                "{count} target cell(s) are negative (first on line {first_line}); kept as corrections"
            ),
            Warning::ConstantRegionTarget { region, value } => {
                write!(
                    f,
                    "region `{region}` has a constant target ({value}) in every observed week"
                )
            }
            Warning::NotWeekly { step_days } => {
                write!(f, "dates are {step_days} days apart, not weekly")
            }
            Warning::Collinear { a, b, corr } => {
                write!(
                    f,
                    "channels `{a}` and `{b}` are collinear (correlation {corr:.3})"
                )
            }
        }
    }
}

/// What the loader found and did.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LoadReport {
    /// The file.
    pub path: PathBuf,
    /// Data rows read.
    pub n_rows: usize,
    /// The target column.
    pub target_column: String,
    /// The resolved time column.
    pub time_column: String,
    /// The resolved region column (`None`: national).
    pub region_column: Option<String>,
    /// Resolved media columns (channel order).
    pub media_columns: Vec<String>,
    /// Resolved control columns.
    pub control_columns: Vec<String>,
    /// Resolved spend columns per channel (`None`: the media column is spend).
    pub spend_columns: Vec<Option<String>>,
    /// Calendar step (days for dates, index units otherwise).
    pub week_step: i64,
    /// Region-weeks of the calendar absent from the file (masked).
    pub missing_region_weeks: usize,
    /// Regions whose first observed week is after the calendar start.
    pub late_start_regions: Vec<String>,
    /// Calendar weeks no region observed.
    pub empty_weeks: usize,
    /// Warnings.
    pub warnings: Vec<Warning>,
    /// Human-readable list of what was done to the data.
    pub actions: Vec<String>,
}

/// A panel together with the loader's report.
#[derive(Clone, Debug, PartialEq)]
pub struct LoadedPanel {
    /// The panel.
    pub panel: Panel,
    /// What was found and done.
    pub report: LoadReport,
}

impl LoadedPanel {
    /// Check that the calendar holds at least `holdout + validation + min_train` weeks.
    pub fn check_weeks(&self, holdout: usize, validation: usize, min_train: usize) -> Result<()> {
        crate::split::TimeSplit::new(self.panel.n_weeks(), holdout, validation, min_train)
            .map(|_| ())
            .map_err(|e| match e {
                Error::TooFewWeeks {
                    n_weeks,
                    needed,
                    holdout,
                    validation,
                    min_train,
                    ..
                } => Error::TooFewWeeks {
                    path: self.report.path.clone(),
                    column: self.report.time_column.clone(),
                    n_weeks,
                    needed,
                    holdout,
                    validation,
                    min_train,
                },
                other => other,
            })
    }
}

/// Load a long-format CSV panel from `path` with column roles `spec`.
pub fn load_panel(path: &Path, spec: &ColumnSpec) -> Result<LoadedPanel> {
    let bytes = std::fs::read(path).map_err(|reason| Error::Io {
        path: path.to_path_buf(),
        reason,
    })?;
    parse_panel(path, &bytes, spec)
}

fn is_glob(p: &str) -> bool {
    p.contains(['*', '?', '[', '{'])
}

fn shorten(items: &[String]) -> String {
    let mut s = items
        .iter()
        .take(12)
        .map(|c| format!("`{c}`"))
        .collect::<Vec<_>>()
        .join(", ");
    if items.len() > 12 {
        s.push_str(&format!(", … ({} in all)", items.len()));
    }
    s
}

struct Ctx<'a> {
    path: &'a Path,
    headers: &'a [String],
}

impl Ctx<'_> {
    fn unknown(&self, column: &str, role: &str) -> Error {
        Error::UnknownColumn {
            path: self.path.to_path_buf(),
            line: 1,
            column: column.to_string(),
            role: role.to_string(),
            available: shorten(self.headers),
        }
    }

    fn exact(&self, name: &str, role: &str) -> Result<usize> {
        self.headers
            .iter()
            .position(|h| h == name)
            .ok_or_else(|| self.unknown(name, role))
    }

    /// Expand names and globs; glob matches skip the columns in `taken` (explicit other roles).
    fn expand(&self, patterns: &[String], role: &str, taken: &[usize]) -> Result<Vec<usize>> {
        let mut out: Vec<usize> = Vec::new();
        for p in patterns {
            let p = p.trim();
            if p.is_empty() {
                continue;
            }
            let matched: Vec<usize> = if is_glob(p) {
                let glob = globset::Glob::new(p)
                    .map_err(|e| Error::InvalidSpec(format!("{role} pattern `{p}`: {e}")))?
                    .compile_matcher();
                (0..self.headers.len())
                    .filter(|&i| !taken.contains(&i) && glob.is_match(&self.headers[i]))
                    .collect()
            } else {
                vec![self.exact(p, role)?]
            };
            if matched.is_empty() {
                return Err(self.unknown(p, role));
            }
            for i in matched {
                if !out.contains(&i) {
                    out.push(i);
                }
            }
        }
        Ok(out)
    }
}

/// One parsed data row.
struct Row {
    region: usize,
    week: Week,
    line: u64,
    /// target, media.., spend.. (only given ones), controls..
    values: Vec<f64>,
}

fn csv_line(e: &csv::Error) -> u64 {
    e.position().map(|p| p.line()).unwrap_or(0)
}

/// Parse CSV `bytes` (named `path` in messages) into a panel with column roles `spec`: the steps
/// of the module docs, one function each.
pub fn parse_panel(path: &Path, bytes: &[u8], spec: &ColumnSpec) -> Result<LoadedPanel> {
    let (mut reader, headers) = read_header(path, bytes)?;
    let ctx = Ctx {
        path,
        headers: &headers,
    };
    let roles = resolve_roles(&ctx, spec)?;
    let (rows, regions) = read_rows(&mut reader, &ctx, &roles)?;
    let calendar = calendar(&ctx, &roles, &rows)?;
    let mut dense = dense_arrays(&ctx, &roles, &rows, &regions, &calendar)?;
    let filled = fill_controls(&mut dense, &regions);
    let warnings = check_values(&ctx, &roles, &rows, &regions, &calendar, &dense)?;
    let missing = regions.len() * calendar.weeks.len() - rows.len();
    let actions = actions(&rows, &regions, &roles, &calendar, missing, &filled);
    let spend_columns = roles
        .spend
        .iter()
        .map(|s| s.map(|i| headers[i].clone()))
        .collect();
    let panel = Panel {
        regions,
        weeks: calendar.weeks,
        channels: roles.channels,
        controls: roles.control_names,
        target: dense.target,
        media: dense.media,
        spend: dense.spend,
        controls_data: dense.controls,
        observed: dense.observed,
    };
    let report = LoadReport {
        path: path.to_path_buf(),
        n_rows: rows.len(),
        target_column: headers[roles.target].clone(),
        time_column: headers[roles.time].clone(),
        region_column: roles.region.map(|i| headers[i].clone()),
        media_columns: panel.channels.clone(),
        control_columns: panel.controls.clone(),
        spend_columns,
        week_step: calendar.step,
        missing_region_weeks: missing,
        late_start_regions: filled.late_start,
        empty_weeks: filled.empty_weeks,
        warnings,
        actions,
    };
    Ok(LoadedPanel { panel, report })
}

/// Strips a UTF-8 byte-order mark, rejects an empty file, reads the header (names trimmed) and
/// rejects a non-comma delimiter and duplicate column names.
fn read_header<'b>(path: &Path, bytes: &'b [u8]) -> Result<(csv::Reader<&'b [u8]>, Vec<String>)> {
    let pathbuf = path.to_path_buf();
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(Error::EmptyFile {
            path: pathbuf,
            what: "no header and no data rows".into(),
        });
    }
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_reader(bytes);
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| Error::Csv {
            path: pathbuf.clone(),
            line: csv_line(&e).max(1),
            message: e.to_string(),
        })?
        .iter()
        .map(|h| h.trim().to_string())
        .collect();
    let other_delimiter = [';', '\t', '|']
        .into_iter()
        .find(|c| headers[0].contains(*c));
    if let (1, Some(found)) = (headers.len(), other_delimiter) {
        let header: String = headers[0].chars().take(80).collect();
        return Err(Error::WrongDelimiter {
            path: pathbuf,
            line: 1,
            found,
            header,
        });
    }
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for (i, h) in headers.iter().enumerate() {
        if let Some(&first) = seen.get(h.as_str()) {
            return Err(Error::DuplicateColumn {
                path: pathbuf,
                line: 1,
                column: h.clone(),
                first: first + 1,
                second: i + 1,
            });
        }
        seen.insert(h, i);
    }
    Ok((reader, headers))
}

/// The column of every role (indices into the header).
struct Roles {
    target: usize,
    time: usize,
    region: Option<usize>,
    media: Vec<usize>,
    /// Per channel, its spend column if one is given.
    spend: Vec<Option<usize>>,
    controls: Vec<usize>,
    /// Channel names (the media columns' headers).
    channels: Vec<String>,
    /// Control names.
    control_names: Vec<String>,
}

impl Roles {
    /// Numeric columns in the order of [`Row::values`]: target, media, given spend, controls.
    fn numeric(&self) -> Vec<(usize, &'static str)> {
        let mut numeric: Vec<(usize, &str)> = vec![(self.target, "target")];
        numeric.extend(self.media.iter().map(|&i| (i, "media")));
        numeric.extend(self.spend.iter().flatten().map(|&i| (i, "spend")));
        numeric.extend(self.controls.iter().map(|&i| (i, "control")));
        numeric
    }
}

/// Resolves the spec's names and globs to columns, checks that each column has at most one role
/// and that the components' names are usable.
fn resolve_roles(ctx: &Ctx, spec: &ColumnSpec) -> Result<Roles> {
    let headers = ctx.headers;
    if spec.target.trim().is_empty() {
        return Err(Error::InvalidSpec("no target column given".into()));
    }
    let target_idx = ctx.exact(spec.target.trim(), "target")?;
    let time_idx = if spec.time.trim().is_empty() {
        TIME_COLUMN_CANDIDATES
            .iter()
            .find_map(|c| headers.iter().position(|h| h == c))
            .ok_or_else(|| ctx.unknown("week|date|time (no --time given)", "time"))?
    } else {
        ctx.exact(spec.time.trim(), "time")?
    };
    let region_idx = match &spec.region {
        Some(r) if !r.trim().is_empty() => Some(ctx.exact(r.trim(), "region")?),
        _ => None,
    };
    // Explicitly named spend columns are resolved first so that media/control globs skip them.
    let mut taken: Vec<usize> = vec![target_idx, time_idx];
    taken.extend(region_idx);
    for (_, col) in &spec.spend {
        taken.push(ctx.exact(col.trim(), "spend")?);
    }
    let media_idx = ctx.expand(&spec.media, "media", &taken)?;
    if media_idx.is_empty() {
        return Err(Error::InvalidSpec("no media columns given".into()));
    }
    let control_idx = ctx.expand(&spec.controls, "control", &taken)?;
    let channels: Vec<String> = media_idx.iter().map(|&i| headers[i].clone()).collect();
    let control_names: Vec<String> = control_idx.iter().map(|&i| headers[i].clone()).collect();
    let mut spend_idx: Vec<Option<usize>> = vec![None; channels.len()];
    for (ch, col) in &spec.spend {
        let c = channels.iter().position(|n| n == ch).ok_or_else(|| {
            Error::InvalidSpec(format!(
                "spend mapping `{ch}={col}`: `{ch}` is not a media channel (channels: {})",
                shorten(&channels)
            ))
        })?;
        if spend_idx[c].is_some() {
            return Err(Error::InvalidSpec(format!(
                "channel `{ch}` has two spend columns"
            )));
        }
        spend_idx[c] = Some(ctx.exact(col.trim(), "spend")?);
    }

    // Each column has at most one role.
    let mut roles: Vec<(usize, &str)> = vec![(target_idx, "target"), (time_idx, "time")];
    roles.extend(region_idx.map(|i| (i, "region")));
    roles.extend(media_idx.iter().map(|&i| (i, "media")));
    roles.extend(spend_idx.iter().flatten().map(|&i| (i, "spend")));
    roles.extend(control_idx.iter().map(|&i| (i, "control")));
    let mut role_of: HashMap<usize, &str> = HashMap::new();
    for (i, role) in roles {
        if let Some(first) = role_of.insert(i, role) {
            return Err(Error::RoleConflict {
                path: ctx.path.to_path_buf(),
                line: 1,
                column: headers[i].clone(),
                first: first.to_string(),
                second: role.to_string(),
            });
        }
    }

    crate::names::check_component_names(ctx.path, &channels, &control_names)?;
    Ok(Roles {
        target: target_idx,
        time: time_idx,
        region: region_idx,
        media: media_idx,
        spend: spend_idx,
        controls: control_idx,
        channels,
        control_names,
    })
}

/// Reads every data row (skipping blank lines) and returns the rows and the region names in
/// order of first appearance (`national` when there is no region column).
fn read_rows(
    reader: &mut csv::Reader<&[u8]>,
    ctx: &Ctx,
    roles: &Roles,
) -> Result<(Vec<Row>, Vec<String>)> {
    let headers = ctx.headers;
    let numeric = roles.numeric();
    let mut rows: Vec<Row> = Vec::new();
    let mut regions: Vec<String> = Vec::new();
    let mut region_map: HashMap<String, usize> = HashMap::new();
    let mut record = csv::StringRecord::new();
    let mut first_week: Option<Week> = None;
    loop {
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                return Err(Error::Csv {
                    path: ctx.path.to_path_buf(),
                    line: csv_line(&e),
                    message: e.to_string(),
                });
            }
        }
        let line = record.position().map(|p| p.line()).unwrap_or(0);
        if record.len() == 1 && record[0].trim().is_empty() && headers.len() > 1 {
            continue; // blank line
        }
        if record.len() != headers.len() {
            return Err(Error::RaggedRow {
                path: ctx.path.to_path_buf(),
                line,
                expected: headers.len(),
                found: record.len(),
            });
        }
        let week = row_week(ctx, roles.time, &record, line, &mut first_week)?;
        let region = match roles.region {
            Some(ri) => {
                let name = record[ri].trim();
                if name.is_empty() {
                    return Err(Error::EmptyRegion {
                        path: ctx.path.to_path_buf(),
                        line,
                        column: headers[ri].clone(),
                    });
                }
                match region_map.get(name) {
                    Some(&r) => r,
                    None => {
                        regions.push(name.to_string());
                        region_map.insert(name.to_string(), regions.len() - 1);
                        regions.len() - 1
                    }
                }
            }
            None => {
                if regions.is_empty() {
                    regions.push("national".to_string());
                }
                0
            }
        };
        rows.push(Row {
            region,
            week,
            line,
            values: row_values(ctx, &numeric, &record, line)?,
        });
    }
    if rows.is_empty() {
        return Err(Error::EmptyFile {
            path: ctx.path.to_path_buf(),
            what: "a header but no data rows".into(),
        });
    }
    Ok((rows, regions))
}

/// The week of a row's time cell: an ISO date or an integer, of the same kind as the first row's.
fn row_week(
    ctx: &Ctx,
    time_idx: usize,
    record: &csv::StringRecord,
    line: u64,
    first_week: &mut Option<Week>,
) -> Result<Week> {
    let tcell = &record[time_idx];
    let week = parse_week(tcell).ok_or_else(|| Error::BadWeek {
        path: ctx.path.to_path_buf(),
        line,
        column: ctx.headers[time_idx].clone(),
        value: tcell.to_string(),
        expected: "an ISO date (YYYY-MM-DD) or an integer week".into(),
    })?;
    match first_week {
        None => *first_week = Some(week),
        Some(f) if f.is_date() != week.is_date() => {
            return Err(Error::BadWeek {
                path: ctx.path.to_path_buf(),
                line,
                column: ctx.headers[time_idx].clone(),
                value: tcell.to_string(),
                expected: if f.is_date() {
                    "a date like the earlier rows"
                } else {
                    "an integer week like the earlier rows"
                }
                .into(),
            });
        }
        _ => {}
    }
    Ok(week)
}

/// A row's numeric cells (`numeric`: column and role): finite numbers, media and spend not
/// negative.
fn row_values(
    ctx: &Ctx,
    numeric: &[(usize, &str)],
    record: &csv::StringRecord,
    line: u64,
) -> Result<Vec<f64>> {
    let mut values = Vec::with_capacity(numeric.len());
    for &(ci, role) in numeric {
        let cell = record[ci].trim();
        let v: f64 = cell.parse().map_err(|_| Error::NonNumeric {
            path: ctx.path.to_path_buf(),
            line,
            column: ctx.headers[ci].clone(),
            value: cell.to_string(),
            expected: format!("a number ({role})"),
        })?;
        if !v.is_finite() {
            return Err(Error::NonFinite {
                path: ctx.path.to_path_buf(),
                line,
                column: ctx.headers[ci].clone(),
                value: cell.to_string(),
            });
        }
        if (role == "media" || role == "spend") && v < 0.0 {
            return Err(Error::NegativeValue {
                path: ctx.path.to_path_buf(),
                line,
                column: ctx.headers[ci].clone(),
                role: role.to_string(),
                value: v,
            });
        }
        values.push(v);
    }
    Ok(values)
}

/// The panel's calendar: every step from the first to the last week of the file.
struct Calendar {
    weeks: Vec<Week>,
    /// Key of the first week.
    k0: i64,
    /// Distance between consecutive weeks (days for dates).
    step: i64,
    /// Whether the weeks are dates.
    dates: bool,
}

/// Derives the calendar step as the most common distance between consecutive distinct weeks
/// (every distance must be a multiple of it) and the calendar from it.
fn calendar(ctx: &Ctx, roles: &Roles, rows: &[Row]) -> Result<Calendar> {
    let time_col = ctx.headers[roles.time].clone();
    let mut keys: Vec<(i64, u64)> = rows.iter().map(|r| (r.week.key(), r.line)).collect();
    keys.sort_unstable();
    keys.dedup_by_key(|k| k.0);
    let kind = rows[0].week;
    let diffs: Vec<i64> = keys.windows(2).map(|w| w[1].0 - w[0].0).collect();
    let step = if diffs.is_empty() {
        if kind.is_date() { 7 } else { 1 }
    } else {
        let mut counts: HashMap<i64, usize> = HashMap::new();
        for &d in &diffs {
            *counts.entry(d).or_default() += 1;
        }
        counts
            .into_iter()
            .max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(&a.0)))
            .map(|(d, _)| d)
            .unwrap_or(1)
    };
    for (i, &d) in diffs.iter().enumerate() {
        if d % step != 0 {
            return Err(Error::UnevenWeeks {
                path: ctx.path.to_path_buf(),
                line: keys[i + 1].1,
                column: time_col,
                week: kind.with_key(keys[i + 1].0).to_string(),
                previous: kind.with_key(keys[i].0).to_string(),
                gap: d,
                step,
                unit: if kind.is_date() {
                    " days".into()
                } else {
                    String::new()
                },
            });
        }
    }
    let (k0, k1) = (keys[0].0, keys[keys.len() - 1].0);
    let n_steps = ((k1 - k0) / step) as u64 + 1;
    if n_steps > MAX_CALENDAR_WEEKS as u64 {
        return Err(Error::CalendarTooLong {
            path: ctx.path.to_path_buf(),
            line: keys[keys.len() - 1].1,
            column: time_col,
            n_weeks: n_steps,
            max: MAX_CALENDAR_WEEKS,
        });
    }
    let weeks: Vec<Week> = (0..n_steps as usize)
        .map(|t| kind.with_key(k0 + t as i64 * step))
        .collect();
    Ok(Calendar {
        weeks,
        k0,
        step,
        dates: kind.is_date(),
    })
}

/// The panel's dense arrays, `[region, week(, column)]`.
struct Dense {
    target: Array2<f64>,
    media: Array3<f64>,
    spend: Option<Array3<f64>>,
    controls: Array3<f64>,
    observed: Array2<bool>,
}

/// Places every row in the dense arrays (rejecting a second row of one region-week); cells
/// without a row stay unobserved: target and controls NaN, media and spend 0.
fn dense_arrays(
    ctx: &Ctx,
    roles: &Roles,
    rows: &[Row],
    regions: &[String],
    calendar: &Calendar,
) -> Result<Dense> {
    let n_r = regions.len();
    let n_w = calendar.weeks.len();
    let n_c = roles.channels.len();
    let n_x = roles.controls.len();
    let n_s = roles.spend.iter().flatten().count();
    let spend_slot: Vec<Option<usize>> = {
        let mut k = 0;
        roles
            .spend
            .iter()
            .map(|s| {
                s.map(|_| {
                    k += 1;
                    k - 1
                })
            })
            .collect()
    };
    let mut target = Array2::from_elem((n_r, n_w), f64::NAN);
    let mut media = Array3::zeros((n_r, n_w, n_c));
    let mut spend = (n_s > 0).then(|| Array3::zeros((n_r, n_w, n_c)));
    let mut controls = Array3::from_elem((n_r, n_w, n_x), f64::NAN);
    let mut observed = Array2::from_elem((n_r, n_w), false);
    let mut line_of = Array2::<u64>::zeros((n_r, n_w));
    for row in rows {
        let t = ((row.week.key() - calendar.k0) / calendar.step) as usize;
        let r = row.region;
        if observed[[r, t]] {
            return Err(Error::DuplicateRow {
                path: ctx.path.to_path_buf(),
                line: row.line,
                first_line: line_of[[r, t]],
                region_column: roles
                    .region
                    .map(|i| ctx.headers[i].clone())
                    .unwrap_or_else(|| "(none)".into()),
                time_column: ctx.headers[roles.time].clone(),
                region: regions[r].clone(),
                week: row.week.to_string(),
            });
        }
        observed[[r, t]] = true;
        line_of[[r, t]] = row.line;
        target[[r, t]] = row.values[0];
        for c in 0..n_c {
            media[[r, t, c]] = row.values[1 + c];
        }
        if let Some(sp) = spend.as_mut() {
            for c in 0..n_c {
                sp[[r, t, c]] = match spend_slot[c] {
                    Some(k) => row.values[1 + n_c + k],
                    None => row.values[1 + c],
                };
            }
        }
        for x in 0..n_x {
            controls[[r, t, x]] = row.values[1 + n_c + n_s + x];
        }
    }
    Ok(Dense {
        target,
        media,
        spend,
        controls,
        observed,
    })
}

/// What [`fill_controls`] found about the unobserved cells.
struct Filled {
    /// Regions without a row in the first calendar week.
    late_start: Vec<String>,
    /// Calendar weeks no region observes.
    empty_weeks: usize,
}

/// Fills the controls of unobserved region-weeks within each region: forward, then backward
/// before the region's first row.
fn fill_controls(dense: &mut Dense, regions: &[String]) -> Filled {
    let (n_r, n_w, n_x) = dense.controls.dim();
    let (observed, controls) = (&dense.observed, &mut dense.controls);
    let mut late_start = Vec::new();
    let mut empty_weeks = 0;
    for t in 0..n_w {
        if (0..n_r).all(|r| !observed[[r, t]]) {
            empty_weeks += 1;
        }
    }
    for r in 0..n_r {
        if !observed[[r, 0]] {
            late_start.push(regions[r].clone());
        }
        for x in 0..n_x {
            let mut last = f64::NAN;
            for t in 0..n_w {
                if observed[[r, t]] {
                    last = controls[[r, t, x]];
                } else {
                    controls[[r, t, x]] = last;
                }
            }
            let first_obs = (0..n_w)
                .find(|&t| observed[[r, t]])
                .expect("every region has a row");
            let v = controls[[r, first_obs, x]];
            for t in 0..first_obs {
                controls[[r, t, x]] = v;
            }
        }
    }
    Filled {
        late_start,
        empty_weeks,
    }
}

/// Rejects a constant target and collects the warnings: non-weekly dates, negative targets,
/// constant region targets, all-zero channels.
fn check_values(
    ctx: &Ctx,
    roles: &Roles,
    rows: &[Row],
    regions: &[String],
    calendar: &Calendar,
    dense: &Dense,
) -> Result<Vec<Warning>> {
    let obs_target: Vec<f64> = rows.iter().map(|r| r.values[0]).collect();
    if obs_target.iter().all(|&v| v == obs_target[0]) && rows.len() > 1 {
        return Err(Error::ConstantTarget {
            path: ctx.path.to_path_buf(),
            column: ctx.headers[roles.target].clone(),
            value: obs_target[0],
            last_line: rows.iter().map(|r| r.line).max().unwrap_or(2),
        });
    }
    let mut warnings = Vec::new();
    if calendar.dates && calendar.step != 7 {
        warnings.push(Warning::NotWeekly {
            step_days: calendar.step,
        });
    }
    let negative: Vec<u64> = rows
        .iter()
        .filter(|r| r.values[0] < 0.0)
        .map(|r| r.line)
        .collect();
    if let Some(&first_line) = negative.iter().min() {
        warnings.push(Warning::NegativeTarget {
            count: negative.len(),
            first_line,
        });
    }
    let n_w = calendar.weeks.len();
    for (r, region) in regions.iter().enumerate() {
        let vals: Vec<f64> = (0..n_w)
            .filter(|&t| dense.observed[[r, t]])
            .map(|t| dense.target[[r, t]])
            .collect();
        if vals.len() > 1 && vals.iter().all(|&v| v == vals[0]) {
            warnings.push(Warning::ConstantRegionTarget {
                region: region.clone(),
                value: vals[0],
            });
        }
    }
    for (c, name) in roles.channels.iter().enumerate() {
        if rows.iter().all(|row| row.values[1 + c] == 0.0) {
            warnings.push(Warning::AllZeroChannel {
                channel: name.clone(),
            });
        }
    }
    Ok(warnings)
}

/// What the loader did, in words, for the [`LoadReport`].
fn actions(
    rows: &[Row],
    regions: &[String],
    roles: &Roles,
    calendar: &Calendar,
    missing: usize,
    filled: &Filled,
) -> Vec<String> {
    let mut actions = vec![format!(
        "read {} rows: {} region(s) x {} calendar weeks (step {}{}), {} channel(s), {} control(s)",
        rows.len(),
        regions.len(),
        calendar.weeks.len(),
        calendar.step,
        if calendar.dates { " days" } else { "" },
        roles.channels.len(),
        roles.controls.len()
    )];
    if missing > 0 {
        actions.push(format!(
            "{missing} region-week(s) absent from the file are masked (observed = false): target left missing \
             (excluded from loss and metrics), media and spend set to 0, controls forward-/back-filled \
             within the region ({} late-starting region(s), {} calendar week(s) with no region)",
            filled.late_start.len(),
            filled.empty_weeks
        ));
    } else {
        actions.push("balanced panel: every region observes every calendar week".into());
    }
    actions
}

/// Load a *plan*: future weeks with planned media (and controls) whose target is unknown.
///
/// The file has the same columns as the fitted panel; the target column may be absent or present.
/// The result is a [`Panel`] whose target is NaN everywhere while `observed` marks the
/// region-weeks present in the file (the weeks to forecast). All other checks are those of
/// [`load_panel`].
pub fn load_plan(path: &Path, spec: &ColumnSpec) -> Result<LoadedPanel> {
    let bytes = std::fs::read(path).map_err(|reason| Error::Io {
        path: path.to_path_buf(),
        reason,
    })?;
    let body = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_reader(body);
    let has_target = reader
        .headers()
        .map(|h| h.iter().any(|c| c.trim() == spec.target.trim()))
        .unwrap_or(true);
    let mut loaded = if has_target {
        parse_panel(path, body, spec)?
    } else {
        // Add a placeholder target (the row number, so it is numeric and not constant); it is
        // discarded below.
        let mut out = csv::Writer::from_writer(Vec::new());
        let header = reader.headers().cloned().map_err(|e| Error::Csv {
            path: path.to_path_buf(),
            line: 1,
            message: e.to_string(),
        })?;
        let mut h: Vec<String> = header.iter().map(str::to_string).collect();
        h.push(spec.target.clone());
        out.write_record(&h).map_err(|e| Error::Csv {
            path: path.to_path_buf(),
            line: 1,
            message: e.to_string(),
        })?;
        for (i, rec) in reader.records().enumerate() {
            let rec = rec.map_err(|e| Error::Csv {
                path: path.to_path_buf(),
                line: csv_line(&e),
                message: e.to_string(),
            })?;
            let mut row: Vec<String> = rec.iter().map(str::to_string).collect();
            row.push((i + 1).to_string());
            out.write_record(&row).map_err(|e| Error::Csv {
                path: path.to_path_buf(),
                line: i as u64 + 2,
                message: e.to_string(),
            })?;
        }
        let bytes = out.into_inner().map_err(|e| Error::Csv {
            path: path.to_path_buf(),
            line: 0,
            message: e.to_string(),
        })?;
        parse_panel(path, &bytes, spec)?
    };
    loaded.panel.target.fill(f64::NAN);
    loaded.report.warnings.retain(|w| {
        !matches!(
            w,
            Warning::NegativeTarget { .. } | Warning::ConstantRegionTarget { .. }
        )
    });
    Ok(loaded)
}
