//! The crate's error type: every variant for bad user input names the file and, where one exists,
//! the line (1-based, the header is line 1) and column, and says what was expected.

use std::path::PathBuf;

/// Result alias for this crate.
pub type Result<T> = std::result::Result<T, Error>;

/// Everything that can go wrong loading, validating, scaling or splitting a panel.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The file could not be read.
    #[error("{path}: cannot read file: {reason}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error (not a `source`, so that it is printed once).
        reason: std::io::Error,
    },
    /// The file is empty or holds only a header.
    #[error("{path}: empty file: {what}")]
    EmptyFile {
        /// The file.
        path: PathBuf,
        /// What is missing (no header, no data rows).
        what: String,
    },
    /// The header has a single column containing another delimiter (the file is not comma-separated).
    #[error(
        "{path}:{line}: wrong delimiter: expected comma-separated columns, found {found:?} in header `{header}`"
    )]
    WrongDelimiter {
        /// The file.
        path: PathBuf,
        /// The header line (1).
        line: u64,
        /// The delimiter found instead of a comma.
        found: char,
        /// The (single) header field, possibly shortened.
        header: String,
    },
    /// The CSV itself is malformed (bad quoting, invalid UTF-8).
    #[error("{path}:{line}: malformed CSV: {message}")]
    Csv {
        /// The file.
        path: PathBuf,
        /// The line where the problem was detected.
        line: u64,
        /// What the CSV reader reported.
        message: String,
    },
    /// A row has a different number of fields than the header.
    #[error("{path}:{line}: expected {expected} fields (as in the header), found {found}")]
    RaggedRow {
        /// The file.
        path: PathBuf,
        /// The line.
        line: u64,
        /// Number of header fields.
        expected: usize,
        /// Number of fields in this row.
        found: usize,
    },
    /// A requested column (or a glob pattern) matches no column of the header.
    #[error(
        "{path}:{line}: unknown {role} column `{column}`: no header column matches (columns: {available})"
    )]
    UnknownColumn {
        /// The file.
        path: PathBuf,
        /// The header line (1).
        line: u64,
        /// The column name or glob pattern asked for.
        column: String,
        /// Its role (target, media, control, region, time, spend).
        role: String,
        /// The header's columns, shortened.
        available: String,
    },
    /// The header holds the same column name twice.
    #[error(
        "{path}:{line}: duplicate column `{column}` in the header (fields {first} and {second})"
    )]
    DuplicateColumn {
        /// The file.
        path: PathBuf,
        /// The header line (1).
        line: u64,
        /// The repeated name.
        column: String,
        /// 1-based field number of the first occurrence.
        first: usize,
        /// 1-based field number of the second occurrence.
        second: usize,
    },
    /// One column is given two roles (e.g. both media and control).
    #[error("{path}:{line}: column `{column}` is given two roles ({first} and {second})")]
    RoleConflict {
        /// The file.
        path: PathBuf,
        /// The header line (1).
        line: u64,
        /// The column.
        column: String,
        /// First role.
        first: String,
        /// Second role.
        second: String,
    },
    /// The column specification itself is unusable (e.g. no media columns, bad spend mapping).
    #[error("invalid column specification: {0}")]
    InvalidSpec(String),
    /// A numeric cell does not parse as a number.
    #[error("{path}:{line}: column `{column}`: expected {expected}, found `{value}`")]
    NonNumeric {
        /// The file.
        path: PathBuf,
        /// The line.
        line: u64,
        /// The column.
        column: String,
        /// The cell text.
        value: String,
        /// What was expected.
        expected: String,
    },
    /// A numeric cell is NaN or infinite.
    #[error("{path}:{line}: column `{column}`: expected a finite number, found `{value}`")]
    NonFinite {
        /// The file.
        path: PathBuf,
        /// The line.
        line: u64,
        /// The column.
        column: String,
        /// The cell text.
        value: String,
    },
    /// A media or spend cell is negative.
    #[error("{path}:{line}: column `{column}` ({role}): expected a value >= 0, found {value}")]
    NegativeValue {
        /// The file.
        path: PathBuf,
        /// The line.
        line: u64,
        /// The column.
        column: String,
        /// Its role (media or spend).
        role: String,
        /// The value.
        value: f64,
    },
    /// The time cell is neither an ISO date nor an integer, or mixes the two kinds.
    #[error("{path}:{line}: column `{column}`: expected {expected}, found `{value}`")]
    BadWeek {
        /// The file.
        path: PathBuf,
        /// The line.
        line: u64,
        /// The time column.
        column: String,
        /// The cell text.
        value: String,
        /// What was expected.
        expected: String,
    },
    /// The region cell is empty.
    #[error("{path}:{line}: column `{column}`: expected a region name, found an empty cell")]
    EmptyRegion {
        /// The file.
        path: PathBuf,
        /// The line.
        line: u64,
        /// The region column.
        column: String,
    },
    /// The same (region, week) appears twice.
    #[error(
        "{path}:{line}: duplicate (region, week) = ({region}, {week}) in columns `{region_column}`/`{time_column}`, first seen on line {first_line}"
    )]
    DuplicateRow {
        /// The file.
        path: PathBuf,
        /// The line of the second occurrence.
        line: u64,
        /// The line of the first occurrence.
        first_line: u64,
        /// The region column (`(none)` for a national panel).
        region_column: String,
        /// The time column.
        time_column: String,
        /// The region.
        region: String,
        /// The week.
        week: String,
    },
    /// Consecutive distinct weeks are not multiples of the panel's step.
    #[error(
        "{path}:{line}: column `{column}`: weeks are not evenly spaced: {week} follows {previous} after {gap} (expected a multiple of the step {step}{unit})"
    )]
    UnevenWeeks {
        /// The file.
        path: PathBuf,
        /// The first line holding the offending week.
        line: u64,
        /// The time column.
        column: String,
        /// The offending week.
        week: String,
        /// The preceding distinct week.
        previous: String,
        /// Their distance.
        gap: i64,
        /// The panel's step (the most common distance).
        step: i64,
        /// `" days"` for dates, empty for integer weeks.
        unit: String,
    },
    /// The calendar spanned by the weeks is absurdly long.
    #[error("{path}:{line}: column `{column}`: the weeks span {n_weeks} steps (more than {max})")]
    CalendarTooLong {
        /// The file.
        path: PathBuf,
        /// A line holding the last week.
        line: u64,
        /// The time column.
        column: String,
        /// Calendar length.
        n_weeks: u64,
        /// The limit.
        max: usize,
    },
    /// The panel has fewer weeks than the holdout plus the minimum training length.
    #[error(
        "{path}: column `{column}`: {n_weeks} weeks is too few: need at least {needed} (holdout {holdout} + validation {validation} + minimum training {min_train})"
    )]
    TooFewWeeks {
        /// The file (empty when not from a file).
        path: PathBuf,
        /// The time column.
        column: String,
        /// Weeks in the calendar.
        n_weeks: usize,
        /// Weeks needed.
        needed: usize,
        /// Holdout weeks.
        holdout: usize,
        /// Validation weeks.
        validation: usize,
        /// Minimum training weeks.
        min_train: usize,
    },
    /// The target is the same value in every observed row.
    #[error(
        "{path}: column `{column}` (target): constant value {value} on every line 2..={last_line}; a constant target cannot be modelled"
    )]
    ConstantTarget {
        /// The file.
        path: PathBuf,
        /// The target column.
        column: String,
        /// The value.
        value: f64,
        /// Last data line.
        last_line: u64,
    },
    /// A region's mean observed training target is not positive, so it cannot be scaled.
    #[error(
        "region `{region}`: mean observed training target is {mean}; the target scaler needs a positive mean"
    )]
    NonPositiveRegionMean {
        /// The region.
        region: String,
        /// Its mean (NaN when it has no observed training week).
        mean: f64,
    },
    /// A channel or control name cannot name a component of the decomposition
    /// (`check_component_names`).
    #[error("{path}: name `{name}`: {problem}")]
    ComponentName {
        /// The file the names come from (the panel or `model.json`).
        path: PathBuf,
        /// The name.
        name: String,
        /// What is wrong with it.
        problem: String,
    },
}
